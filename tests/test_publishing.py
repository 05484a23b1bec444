"""What lets others reuse, cite and follow the course: licences, one version, a citation."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import socklab

ROOT = Path(__file__).resolve().parent.parent


def versions(root=ROOT) -> dict:
    """The version each file states: they must be one and the same."""
    changelog = (root / "CHANGELOG.md").read_text()
    released = re.findall(r"^## (\d+\.\d+\.\d+) \(\d{4}-\d\d-\d\d\)$", changelog, re.M)
    citation = re.search(r'^version: "([^"]+)"$', (root / "CITATION.cff").read_text(), re.M)
    init = re.search(r'^__version__ = "([^"]+)"$', (root / "socklab/__init__.py").read_text(), re.M)
    return {"pyproject.toml": tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"],
            "socklab/__init__.py": init and init.group(1),
            "CITATION.cff": citation and citation.group(1),
            "CHANGELOG.md (newest release)": released[0] if released else None}


def test_one_version_everywhere():
    found = versions()
    assert len(set(found.values())) == 1, f"versions disagree: {found}"
    assert socklab.__version__ == found["pyproject.toml"]


def test_the_version_check_sees_a_file_left_behind(tmp_path):
    for name in ("CHANGELOG.md", "CITATION.cff", "pyproject.toml", "socklab/__init__.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text())
    assert len(set(versions(tmp_path).values())) == 1
    citation = tmp_path / "CITATION.cff"
    citation.write_text(re.sub(r'^version: "[^"]+"$', 'version: "0.9.9"', citation.read_text(), flags=re.M))
    assert versions(tmp_path)["CITATION.cff"] == "0.9.9" and len(set(versions(tmp_path).values())) == 2


def test_the_citation_is_valid_citation_file_format(tmp_path):
    run = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                          "vendor.citation-file-format", str(ROOT / "CITATION.cff")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    broken = tmp_path / "CITATION.cff"  # the check can fail: a reference without authors
    broken.write_text(re.sub(r"    authors:\n      - alias: .*\n", "", (ROOT / "CITATION.cff").read_text()))
    run = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                          "vendor.citation-file-format", str(broken)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "'authors' is a required property" in run.stdout


def test_the_licences_are_the_ones_the_readme_names():
    code = (ROOT / "LICENSE").read_text()
    text = (ROOT / "LICENSE-CC-BY-4.0.txt").read_text()
    assert code.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in code
    assert text.startswith("Attribution 4.0 International\n")
    assert "Creative Commons Attribution 4.0 International Public License" in text
    assert len(text) > 18000, "the whole legal code, not a summary"
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Licence"):]
    section = section[:section.find("\n## ", 1) if "\n## " in section[1:] else None]
    for named in ("[MIT licence](LICENSE)", "[CC BY 4.0](LICENSE-CC-BY-4.0.txt)", "Socket编程进阶",
                  "CITATION.cff"):
        assert named in section, f"the README's licence section should name {named}"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pyproject["license"] == "MIT AND CC-BY-4.0"


@pytest.mark.parametrize("name", ["CHANGELOG.md", "CONTRIBUTING.md", "CITATION.cff"])
def test_the_readme_links_the_project_files(name):
    assert f"]({name})" in (ROOT / "README.md").read_text()


@pytest.mark.slow
def test_a_built_wheel_carries_all_of_socklab_and_both_licences(tmp_path, notebook_slot):
    """A hub's image, Binder and the classroom environment install socklab without -e: the
    wheel must hold every module (the labs' checks in socklab/grading too) and both licences.
    Built from a copy without socklab.egg-info: the editable install's list of files would
    otherwise fill in what pyproject.toml forgot, as on no fresh machine."""
    import shutil
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "artifacts", "*.egg-info",
                                                                 "node_modules", "__pycache__"))
    with notebook_slot(every=True):  # pip and setuptools take a core for seconds: no timed notebook meanwhile
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
                        "-w", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("socklab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "socklab").rglob("*.py")}
    assert modules - names == set(), f"the wheel lacks {sorted(modules - names)}: list them in pyproject.toml"
    assert {name.rsplit("/", 1)[-1] for name in names if "/licenses/" in name} >= {"LICENSE", "LICENSE-CC-BY-4.0.txt"}
