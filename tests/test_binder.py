"""binder/: what Binder (repo2docker) builds the course from. repo2docker itself needs a
Docker engine, which this machine lacks; these tests check what can be checked without
it: the files repo2docker reads, and binder/postBuild run against a stand-in environment."""

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def test_binder_installs_the_pinned_packages():
    """repo2docker reads binder/ instead of the root (whose environment.yml it would install
    without socklab, repo2docker issue 1265): requirements.txt there is the lock, by a -r
    that pip resolves next to the file, which also makes repo2docker copy the repository
    before installing it."""
    assert sorted(p.name for p in BINDER.iterdir()) == ["postBuild", "requirements.txt", "runtime.txt"], \
        "an environment.yml, Pipfile or setup.py here would make repo2docker build another way"
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines == ["-r ../requirements.lock"]
    assert (BINDER / "../requirements.lock").resolve() == ROOT / "requirements.lock"
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime in {f"python-3.{minor}" for minor in (11, 12, 13, 14)}, runtime


def _stand_in(tmp_path, overrides=None):
    """A repository with binder/postBuild, and an environment whose python records its calls."""
    repo, prefix = tmp_path / "repo", tmp_path / "env"
    (repo / "binder").mkdir(parents=True)
    shutil.copy2(BINDER / "postBuild", repo / "binder" / "postBuild")
    if overrides is not None:
        (repo / "jupyter" / "lab" / "settings").mkdir(parents=True)
        (repo / "jupyter" / "lab" / "settings" / "overrides.json").write_text(overrides)
    (prefix / "bin").mkdir(parents=True)
    python = prefix / "bin" / "python"
    python.write_text('#!/bin/sh\necho "$PWD|$*" >> "$CALLS"\n[ "$1" = -c ] && echo 1.0.0\nexit 0\n')
    python.chmod(0o755)
    return repo, prefix


def _post_build(repo, prefix, calls, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("NB_PYTHON_PREFIX", "KERNEL_PYTHON_PREFIX")}
    # from another folder: postBuild finds the repository from its own path
    return subprocess.run([str(repo / "binder" / "postBuild")], cwd=repo.parent, capture_output=True, text=True, timeout=60,
                          env={**base, "CALLS": str(calls), **({"NB_PYTHON_PREFIX": str(prefix)} | env)})


def test_post_build_installs_socklab_and_the_jupyterlab_settings(tmp_path):
    settings = json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}})
    repo, prefix = _stand_in(tmp_path, overrides=settings)
    calls = tmp_path / "calls"
    done = _post_build(repo, prefix, calls)
    assert done.returncode == 0, done.stderr
    install, version = calls.read_text().splitlines()
    assert install == f"{repo}|-m pip install --no-cache-dir --no-deps --quiet -e .", \
        "socklab from the checkout, editable, its dependencies from the lock"
    assert version.endswith("|-c import importlib.metadata as m; print(m.version(\"socklab\"))")
    copied = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert copied.read_text() == settings
    assert "installed jupyter/lab/settings/overrides.json" in done.stdout


def test_post_build_without_settings_installs_socklab_only(tmp_path):
    repo, prefix = _stand_in(tmp_path)
    calls = tmp_path / "calls"
    done = _post_build(repo, prefix, calls)
    assert done.returncode == 0, done.stderr
    assert "--no-deps --quiet -e ." in calls.read_text()
    assert not (prefix / "share").exists()


def test_post_build_outside_repo2docker_says_what_is_missing(tmp_path):
    repo, prefix = _stand_in(tmp_path)
    calls = tmp_path / "calls"
    done = subprocess.run([str(repo / "binder" / "postBuild")], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "NB_PYTHON_PREFIX"})
    assert done.returncode != 0 and "NB_PYTHON_PREFIX is unset" in done.stderr
    assert not calls.exists(), "nothing installed"


def test_the_readme_opens_binder_on_notebook_00():
    readme = (ROOT / "README.md").read_text()
    assert "urlpath=lab/tree/notebooks/00_start_here.ipynb" in readme
    assert (ROOT / "notebooks" / "00_start_here.ipynb").exists()
    assert "the Binder badge has not been built here" in readme
