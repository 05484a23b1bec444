"""For every pytest run in this repository, the notebooks' kernels included.

socklab.check raises for a claim that did not hold when SOCKLAB_STRICT=1,
where a learner's notebook prints it and goes on. Set here, at the root, so
that every kernel a test starts is strict (they inherit this process's
environment), and so is nbval run by hand on one notebook:
`pytest -n 0 --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/NN.ipynb`.
"""

import os

os.environ["SOCKLAB_STRICT"] = "1"
