"""For every pytest run in this repository, the notebooks' kernels included.

socklab.check raises for a claim that did not hold when SOCKLAB_STRICT=1,
where a learner's notebook prints it and goes on. Set here, at the root, so
that `pytest notebooks/NN.ipynb --nbval` alone is as strict as `make test`:
the kernels nbval starts inherit this process's environment.
"""

import os

os.environ["SOCKLAB_STRICT"] = "1"
