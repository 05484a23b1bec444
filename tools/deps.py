"""Write the dependency files from pyproject.toml, where the course declares its packages once.

    python tools/deps.py            rewrite the files below from pyproject.toml
    python tools/deps.py --check    exit 1 if one of them differs from what pyproject.toml gives

pyproject.toml's [project] dependencies are what socklab and the notebooks import;
its extras are "course" (JupyterLab, a kernel, otter for the labs) and "test".
From them:

    requirements.txt                        every package (pip install -r, a JupyterHub image)
    environment.yml                         the same, from conda-forge (conda, mamba, Binder)
    labs/source/requirements-autograder.txt what the Docker autograder installs besides
                                            otter-grader: the dependencies only

Edit pyproject.toml, then run this; never edit the generated files by hand.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("course", "test")
# conda-forge's Python for the course: the versions README promises, 3.11 to 3.14
CONDA_PYTHON = "python>=3.11,<3.15"
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


def files(groups: dict) -> dict:
    """{path relative to the repository: its text}."""
    requirements = (HEADER + "# Everything the course and its tests need: pip install -r requirements.txt && pip install -e .\n"
                    + "".join(f"{r}\n" for r in everything(groups)))
    environment = (HEADER + "# conda / mamba / Binder: the same packages as requirements.txt, from conda-forge.\n"
                   "#   conda env create -f environment.yml && conda activate socklab\n"
                   "name: socklab\nchannels:\n  - conda-forge\ndependencies:\n"
                   f"  - {CONDA_PYTHON}\n  - pip\n"
                   + "".join(f"  - {r}\n" for r in everything(groups))
                   + "  - pip:\n      - -e .\n")
    autograder = (HEADER + "# What the Docker autograder (otter grade, Gradescope) installs besides otter-grader.\n"
                  "# socklab itself travels inside the autograder zip (labs/source/socklab links to it).\n"
                  + "".join(f"{r}\n" for r in groups["dependencies"]))
    return {"requirements.txt": requirements, "environment.yml": environment,
            "labs/source/requirements-autograder.txt": autograder}


def stale(root: Path = ROOT) -> list:
    """The generated files that differ from what pyproject.toml gives."""
    return [name for name, text in files(declared(root / "pyproject.toml")).items()
            if not (root / name).exists() or (root / name).read_text() != text]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is out of date")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        if problems:
            print(f"out of date with pyproject.toml: {', '.join(problems)}; run python tools/deps.py")
            return 1
        print("requirements.txt, environment.yml and the autograder's requirements match pyproject.toml")
        return 0
    for name, text in files(declared()).items():
        (ROOT / name).write_text(text)
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
