"""The repository's promises to newcomers, instructors and CI."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pip_requirements() -> dict:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", line).groups()
            out[name.lower()] = spec.replace(" ", "")
    return out


def conda_dependencies() -> dict:
    out, in_deps = {}, False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        match = re.match(r"  - ([A-Za-z0-9_.-]+)\s*(\S*)$", line)
        if in_deps and match:
            out[match.group(1).lower()] = match.group(2).replace(" ", "")
    return out


def test_environment_yml_and_requirements_agree():
    conda = conda_dependencies()
    python = conda.pop("python")
    conda.pop("pip")
    assert conda == pip_requirements(), "environment.yml and requirements.txt must list the same packages and ranges"
    assert python == f"={sys.version_info.major}.{sys.version_info.minor}", \
        "environment.yml pins the Python version CI tests"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", ci, re.M)
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_readme_course_map_lists_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"notebooks/{notebook.name}" in readme, f"README's course map misses {notebook.name}"


def test_readme_links_point_to_files_that_exist():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def test_lab_serves_loopback_only():
    makefile = (ROOT / "Makefile").read_text()
    assert "--ip=127.0.0.1" in makefile
    assert "00_start_here.ipynb" in makefile
