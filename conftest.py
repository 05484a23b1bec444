"""For every pytest run in this repository, the notebooks' kernels included.

socklab.check raises for a claim that did not hold when SOCKLAB_STRICT=1,
where a learner's notebook prints it and goes on. Set here, at the root, so
that every kernel a test starts is strict (they inherit this process's
environment), and so is nbval run by hand on one notebook:
`pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/NN.ipynb`.
"""

import os

import pytest

os.environ["SOCKLAB_STRICT"] = "1"


# pytest-xdist: plain `pytest` (make test) runs on several workers, each test a unit of
# its own, except that the tests of these modules share one worker, in their order:
# test_browser.py's tests share one JupyterLab and one Chromium, test_site.py's one build of
# the website, and the tests of one notebook share its Run All. The two Chromium modules run
# one after the other on the same worker: side by side, the website's audit slowed the
# forking server in notebook 06's Run All in JupyterLab until its timing claim failed (CI).
# (xdist's own --dist loadgroup does not group with pytest 9.2's node ids:
# pytest-dev/pytest-xdist#1386. This scheduler asks nothing of them.)
ONE_WORKER = {"tests/test_browser.py": "chromium", "tests/test_site.py": "chromium"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None  # another --dist asked for on the command line: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class ModulesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            module = nodeid.split("::", 1)[0]
            # nbval run by hand (pytest --nbval notebooks/...): a notebook's cells share one kernel
            if module in ONE_WORKER:
                return ONE_WORKER[module]
            return module if module.endswith(".ipynb") else nodeid

    return ModulesTogether(config, log)
