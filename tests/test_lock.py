"""requirements.lock: the versions every learner, CI run and grader installs (make lab, make test).

pyproject.toml declares ranges; `make lock` resolves them (uv pip compile --universal) into
requirements.lock; tools/deps.py says when the lock breaks a range or is stale. Offline: the
lock is read, never resolved, here.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import deps  # noqa: E402

# make -n must see the Makefile's defaults, not a DEPS the weekly CI run exported
MAKE_ENV = {k: v for k, v in os.environ.items() if k not in ("DEPS", "MAKEFLAGS", "MFLAGS")}


def test_the_lock_pins_every_range_and_is_fresh():
    """Every package pyproject.toml declares is pinned with ==, inside its range, once on each
    supported machine (Linux and macOS, x86_64 and arm, Python 3.11 to 3.14), and the lock was
    resolved from today's ranges."""
    assert deps.lock_problems() == []
    locked = deps.pins((ROOT / deps.LOCK).read_text())
    names = {name for name, _, _ in locked}
    assert {deps.name_of(r) for r in deps.everything(deps.declared())} <= names
    assert "socklab" not in names, "socklab itself is installed from the checkout (pip install --no-deps -e .)"
    assert len(locked) > 100, "the lock pins what the packages need too, not only the declared ones"


def _copy(tmp_path):
    for name in ("pyproject.toml", deps.LOCK, deps.LOCK_CONSTRAINTS, *deps.files(deps.declared())):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    assert deps.lock_problems(tmp_path) == [] and deps.stale(tmp_path) == []
    return tmp_path / "pyproject.toml", tmp_path / deps.LOCK


def _replace(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def _pin(name):
    (version,) = {v for n, v, _ in deps.pins((ROOT / deps.LOCK).read_text()) if n == name}
    return f"\n{name}=={version}\n"


@pytest.mark.parametrize("breakage, expected", [
    # a pin outside its range (an old psutil put back by hand)
    (lambda pyproject, lock: _replace(lock, _pin("psutil"), "\npsutil==5.9.8\n"),
     "pins psutil==5.9.8, outside pyproject.toml's psutil<8,>=6.0"),
    # a declared package missing
    (lambda pyproject, lock: _replace(lock, _pin("nbval"), "\n"),
     "does not pin nbval"),
    # a range, not a pin
    (lambda pyproject, lock: _replace(lock, _pin("pytest"), "\npytest>=8.3\n"),
     "line"),
    # a marker that leaves Python 3.14 without matplotlib
    (lambda pyproject, lock: _replace(lock, _pin("matplotlib"),
                                      _pin("matplotlib").rstrip("\n") + " ; python_full_version < '3.14'\n"),
     "gives matplotlib 0 versions on linux x86_64 Python 3.14.0"),
    # two versions of one package for the same machine
    (lambda pyproject, lock: _replace(lock, _pin("tornado"), _pin("tornado") + "tornado==6.4.2\n"),
     "gives tornado 2 versions on linux x86_64 Python 3.11.0"),
    # a range narrowed in pyproject.toml after the lock was made: stale, and now outside it
    (lambda pyproject, lock: _replace(pyproject, '"psutil>=6.0,<8"', '"psutil>=6.0,<7"'),
     "resolved from other ranges than pyproject.toml's"),
    # a range widened: the pins still satisfy it, but the lock is stale
    (lambda pyproject, lock: _replace(pyproject, '"nbval>=0.11,<0.12"', '"nbval>=0.11,<0.13"'),
     "resolved from other ranges than pyproject.toml's"),
])
def test_a_lock_that_breaks_a_range_or_is_stale_is_caught(tmp_path, breakage, expected):
    """The check above can fail: each breakage in a copy gives a one-line problem naming make lock."""
    pyproject, lock = _copy(tmp_path)
    breakage(pyproject, lock)
    problems = deps.lock_problems(tmp_path)
    assert any(expected in p for p in problems), problems
    assert all("make lock" in p or "not pinned with ==" in p for p in problems), problems


def test_a_narrowed_range_is_reported_against_the_pin_too(tmp_path):
    pyproject, _ = _copy(tmp_path)
    _replace(pyproject, '"psutil>=6.0,<8"', '"psutil>=6.0,<7"')
    assert any("outside pyproject.toml's psutil<7,>=6.0" in p for p in deps.lock_problems(tmp_path))


def test_the_autograder_grades_with_the_learners_versions(tmp_path):
    """otter installs labs/source/requirements-autograder.txt: the dependencies at the lock's
    versions. A new lock (make lock) makes the file stale until it is rewritten."""
    text = (ROOT / "labs/source/requirements-autograder.txt").read_text()
    for requirement in deps.declared()["dependencies"]:
        assert _pin(deps.name_of(requirement)).strip() in text.splitlines()
    _, lock = _copy(tmp_path)
    _replace(lock, _pin("ipywidgets"), "\nipywidgets==8.1.5\n")
    assert deps.stale(tmp_path) == ["labs/source/requirements-autograder.txt"]


def _make_n(*args, cwd=ROOT):
    return subprocess.run(["make", "-n", "-B", "setup", *args], cwd=cwd, env=MAKE_ENV,
                          capture_output=True, text=True, timeout=60)


def test_make_installs_from_the_lock_and_newest_on_request():
    locked = _make_n()
    assert locked.returncode == 0, locked.stderr
    assert "install -r requirements.lock" in locked.stdout and "install --no-deps -e ." in locked.stdout
    assert ".[course,classroom,test]" not in locked.stdout
    newest = _make_n("DEPS=newest")
    assert newest.returncode == 0, newest.stderr
    assert "install --upgrade --upgrade-strategy eager -e '.[course,classroom,test]'" in newest.stdout
    assert "requirements.lock" not in newest.stdout
    # the weekly CI run exports DEPS: make takes it from the environment as well
    from_env = subprocess.run(["make", "-n", "-B", "setup"], cwd=ROOT, env={**MAKE_ENV, "DEPS": "newest"},
                              capture_output=True, text=True, timeout=60)
    assert "--upgrade-strategy eager" in from_env.stdout
    wrong = _make_n("DEPS=latest")
    assert wrong.returncode != 0 and "DEPS=latest is not a choice: DEPS=locked" in wrong.stderr


def test_make_without_the_lock_says_how_to_make_it(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    done = subprocess.run(["make", "setup", "VENV=venv"], cwd=tmp_path, env=MAKE_ENV,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "requirements.lock is missing: run make lock" in done.stdout
    assert not (tmp_path / "venv").exists(), "nothing is installed without the lock"
