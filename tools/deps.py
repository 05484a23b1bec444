"""Write the dependency files from pyproject.toml, where the course declares its packages once.

    python tools/deps.py            rewrite the files below from pyproject.toml and requirements.lock
    python tools/deps.py --check    exit 1 if one of them, or the lock, is out of date
    python tools/deps.py --lock     resolve pyproject.toml's ranges again into requirements.lock
                                    (uv pip compile --universal; make lock installs uv first),
                                    then rewrite the files below

pyproject.toml's [project] dependencies are what socklab and the notebooks import;
its extras are "course" (JupyterLab, a kernel, otter for the labs), "classroom" (what a
JupyterHub adds: jupyterhub-singleuser, nbgitpuller) and "test".
From them:

    requirements.txt                        every package (pip install -r, a JupyterHub image)
    environment.yml                         conda: the course's packages from conda-forge, the tests' from pip
    labs/source/requirements-autograder.txt what the Docker autograder installs besides
                                            otter-grader: the dependencies only, pinned
                                            to requirements.lock's versions

requirements.lock pins every package, and the packages they need, to one version (per
Python version where one version cannot serve 3.11 to 3.14): make lab and make test
install from it, so every learner, CI run and grader gets the versions the saved outputs
came from. Its header records a digest of what it was resolved from (the ranges, the
oldest Python, tools/lock-constraints.txt); lock_problems() says when it is stale or
breaks a range.

Edit pyproject.toml, then run this; never edit the generated files by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("course", "classroom", "test")
# conda-forge's Python for the course: the versions README promises, 3.11 to 3.14
CONDA_PYTHON = "python>=3.11,<3.15"
LOCK = "requirements.lock"
LOCK_CONSTRAINTS = "tools/lock-constraints.txt"
# uv resolves for every Python from this one up (pyproject's requires-python), writing
# markers where versions differ; the course promises 3.11 to 3.14 on Linux and macOS.
LOCK_PYTHON = "3.11"
LOCK_TARGETS = [{"sys_platform": system, "platform_system": name, "platform_machine": machine,
                 "os_name": "posix", "python_version": python, "python_full_version": f"{python}.{patch}",
                 "implementation_name": "cpython", "platform_python_implementation": "CPython"}
                for system, name in (("linux", "Linux"), ("darwin", "Darwin"))
                for machine in (("x86_64", "aarch64") if system == "linux" else ("x86_64", "arm64"))
                for python in ("3.11", "3.12", "3.13", "3.14") for patch in (0, 2, 99)]
HEADER = "# Generated from pyproject.toml by tools/deps.py: edit pyproject.toml, then run python tools/deps.py\n"


def declared(pyproject: Path = ROOT / "pyproject.toml") -> dict:
    """{"dependencies": [...], "course": [...], "test": [...]}, as pyproject.toml lists them."""
    project = tomllib.loads(pyproject.read_text())["project"]
    groups = {"dependencies": list(project["dependencies"])}
    for extra in EXTRAS:
        groups[extra] = list(project["optional-dependencies"][extra])
    return groups


def everything(groups: dict) -> list:
    return groups["dependencies"] + [r for extra in EXTRAS for r in groups[extra]]


def name_of(requirement: str) -> str:
    """A requirement's project name, normalised as PEP 503 says ("Foo_bar>=1" -> "foo-bar")."""
    return re.sub(r"[-_.]+", "-", re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1)).lower()


def lock_digest(groups: dict, root: Path = ROOT) -> str:
    """What the lock is resolved from: the declared ranges, the oldest Python, the constraints."""
    inputs = {"groups": groups, "python": LOCK_PYTHON, "constraints": (root / LOCK_CONSTRAINTS).read_text()}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def lock_header(digest: str) -> str:
    return ("# The course's packages pinned: what make lab and make test install (pip install -r requirements.lock).\n"
            "# Resolved by `make lock` (tools/deps.py --lock: uv pip compile --universal) from pyproject.toml's\n"
            f"# ranges, for Linux and macOS, Python {LOCK_PYTHON} and up. Never edit by hand: edit pyproject.toml, then run make lock.\n"
            f"# resolved from: sha256 {digest}\n")


def pins(text: str) -> list:
    """[(name, version, marker or None)] for every requirement line of a lock; ValueError on a line
    that is not `name==version` with an optional `; marker`."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)(?:\s*;\s*(.+))?", line.strip())
        if not match:
            raise ValueError(f"{LOCK} line {number} is not pinned with ==: {line.strip()}")
        found.append((name_of(match.group(1)), match.group(2), match.group(3)))
    return found


def locked_versions(root: Path = ROOT) -> dict:
    """{name: version} for the packages the lock pins once for every Python (the dependencies are)."""
    path = root / LOCK
    if not path.exists():
        return {}
    versions = {}
    for name, version, _ in pins(path.read_text()):
        versions.setdefault(name, set()).add(version)
    return {name: found.pop() for name, found in versions.items() if len(found) == 1}


def lock_problems(root: Path = ROOT) -> list:
    """Why requirements.lock cannot be trusted for pyproject.toml's ranges (an empty list: it can).
    Every declared package pinned with == inside its range, exactly one pin for it on each
    supported machine (Linux and macOS, x86_64 and arm, Python 3.11 to 3.14), and the digest
    of what it was resolved from matching today's ranges."""
    from packaging.markers import Marker
    from packaging.requirements import Requirement

    path = root / LOCK
    if not path.exists():
        return [f"{LOCK} is missing: run make lock"]
    text = path.read_text()
    groups = declared(root / "pyproject.toml")
    problems = []
    if f"# resolved from: sha256 {lock_digest(groups, root)}\n" not in text:
        problems.append(f"{LOCK} was resolved from other ranges than pyproject.toml's (or other constraints): run make lock")
    try:
        locked = pins(text)
    except ValueError as exc:
        return problems + [str(exc)]
    for requirement in map(Requirement, everything(groups)):
        name = name_of(requirement.name)
        mine = [(version, marker) for other, version, marker in locked if other == name]
        if not mine:
            problems.append(f"{LOCK} does not pin {name} ({requirement}): run make lock")
        for version, _ in mine:
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{LOCK} pins {name}=={version}, outside pyproject.toml's {requirement}: run make lock")
    # On every supported machine: one version of each declared package, at most one of the rest.
    needed = {name_of(r) for r in everything(groups)}
    for name in sorted({name for name, _, _ in locked}):
        mine = [(version, marker) for other, version, marker in locked if other == name]
        for target in LOCK_TARGETS:
            chosen = [version for version, marker in mine if marker is None or Marker(marker).evaluate(target)]
            if len(chosen) > 1 or (name in needed and not chosen):
                where = f"{target['sys_platform']} {target['platform_machine']} Python {target['python_full_version']}"
                problems.append(f"{LOCK} gives {name} {len(chosen)} versions on {where}: {chosen}; run make lock")
                break
    return problems


def write_lock(root: Path = ROOT) -> None:
    """Resolve pyproject.toml's ranges into requirements.lock with uv (installed by make lock)."""
    digest = lock_digest(declared(root / "pyproject.toml"), root)
    command = [sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml", "--no-config", "--universal",
               "--python-version", LOCK_PYTHON, *[f"--extra={extra}" for extra in EXTRAS],
               "--constraint", LOCK_CONSTRAINTS, "--no-header", "--quiet"]
    try:
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise SystemExit(f"{sys.executable} cannot run uv: run make lock (it installs uv into .venv)")
    if done.returncode != 0 or not pins(done.stdout):
        raise SystemExit(f"uv pip compile failed: {(done.stderr or done.stdout).strip() or 'no pins'}")
    (root / LOCK).write_text(lock_header(digest) + done.stdout)
    print(f"wrote {LOCK}: {len(pins(done.stdout))} pins")


def files(groups: dict, locked: dict | None = None) -> dict:
    """{path relative to the repository: its text}; locked: {name: version} from requirements.lock."""
    locked = locked_versions() if locked is None else locked
    requirements = (HEADER + "# Everything the course and its tests need: pip install -r requirements.txt && pip install -e .\n"
                    + "".join(f"{r}\n" for r in everything(groups)))
    # conda-forge has what the course runs on; the test tools (some only on PyPI, such as
    # axe-playwright-python) come from pip, through the test extra.
    environment = (HEADER + "# conda / mamba: the course's packages from conda-forge, the test tools from PyPI.\n"
                   "#   conda env create -f environment.yml && conda activate socklab\n"
                   "name: socklab\nchannels:\n  - conda-forge\ndependencies:\n"
                   f"  - {CONDA_PYTHON}\n  - pip\n"
                   + "".join(f"  - {r}\n" for r in groups["dependencies"] + groups["course"])
                   + "  - pip:\n      - -e .[classroom,test]\n")
    # The dependencies pinned as learners have them, so grading runs the same psutil, matplotlib
    # and ipywidgets; what they need in turn is left to pip beside otter-grader[grading,plugins],
    # which otter adds to the same install and the lock did not resolve.
    autograder = (HEADER + "# What the Docker autograder (otter grade, Gradescope) installs besides otter-grader:\n"
                  "# the dependencies, at requirements.lock's versions (make lock rewrites this file).\n"
                  "# socklab itself travels inside the autograder zip (labs/source/socklab links to it).\n"
                  + "".join(f"{pinned(r, locked)}\n" for r in groups["dependencies"]))
    return {"requirements.txt": requirements, "environment.yml": environment,
            "labs/source/requirements-autograder.txt": autograder}


def pinned(requirement: str, locked: dict) -> str:
    """psutil>=6.0,<8 -> psutil==7.2.2 when the lock has it; the range while there is no lock."""
    version = locked.get(name_of(requirement))
    return f"{name_of(requirement)}=={version}" if version else requirement


def stale(root: Path = ROOT) -> list:
    """The generated files that differ from what pyproject.toml and requirements.lock give."""
    return [name for name, text in files(declared(root / "pyproject.toml"), locked_versions(root)).items()
            if not (root / name).exists() or (root / name).read_text() != text]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file or the lock is out of date")
    parser.add_argument("--lock", action="store_true", help="resolve the ranges into requirements.lock (needs uv), then write the rest")
    args = parser.parse_args(argv)
    if args.check:
        problems = lock_problems()
        if stale():
            problems.append(f"out of date with pyproject.toml: {', '.join(stale())}; run python tools/deps.py")
        for problem in problems:
            print(problem)
        if problems:
            return 1
        print("requirements.lock, requirements.txt, environment.yml and the autograder's requirements match pyproject.toml")
        return 0
    if args.lock:
        write_lock()
    for name, text in files(declared()).items():
        (ROOT / name).write_text(text)
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
