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
    assert python == ">=3.11,<3.15", "environment.yml allows the Pythons the course supports, 3.11 to 3.14"


SUPPORTED = (3, 11), (3, 14)


def test_every_file_promises_the_same_pythons():
    """README, pyproject, Makefile and environment.yml all say 3.11 to 3.14."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject
    makefile = (ROOT / "Makefile").read_text()
    assert "sys.version_info < (3, 11)" in makefile and "3.11 to 3.14" in makefile
    for doc in ("README.md", "labs/README.md"):
        text = (ROOT / doc).read_text()
        assert "Python 3.11 to 3.14" in text, f"{doc} names the supported Pythons"
        assert not re.search(r"Python 3\.(9|10)\b", text), f"{doc} still promises an end-of-life Python"


def test_this_python_is_supported():
    assert SUPPORTED[0] <= sys.version_info[:2] <= SUPPORTED[1], f"tests run on {sys.version}, outside 3.11 to 3.14"


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
