"""The repository's promises to newcomers, instructors and CI."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


sys.path.insert(0, str(ROOT / "tools"))
import deps  # noqa: E402


def test_dependency_files_are_generated_from_pyproject():
    """pyproject.toml declares the packages once; requirements.txt, environment.yml and
    the autograder's requirements are written from it by tools/deps.py."""
    assert deps.stale() == [], "run `make deps` (python tools/deps.py) after editing pyproject.toml"
    groups = deps.declared()
    assert set(groups) == {"dependencies", "course", "classroom", "test"}
    names = [re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in deps.everything(groups)]
    assert len(names) == len(set(names)), f"a package is declared twice: {names}"
    assert all(re.search(r">=[\d.]+,<[\d.]+$", r) for r in deps.everything(groups)), \
        "every package has a range: a floor the course was tested with and the next major version excluded"
    environment = (ROOT / "environment.yml").read_text()
    assert "  - python>=3.11,<3.15\n" in environment, "conda gets the Pythons the course supports, 3.11 to 3.14"


def test_a_changed_range_makes_the_generated_files_stale(tmp_path):
    """The check above can fail: change one range in a copy of pyproject.toml, and every
    file that lists that package is reported out of date, until tools/deps.py runs."""
    for name in ("pyproject.toml", deps.LOCK, *deps.files(deps.declared())):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text())
    assert deps.stale(tmp_path) == []
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"psutil>=6.0,<8"', '"psutil>=6.1,<8"'))
    # the autograder's file pins the lock's versions: it follows the lock (tests/test_lock.py)
    assert deps.stale(tmp_path) == ["requirements.txt", "environment.yml"]
    pyproject.write_text(pyproject.read_text().replace('"nbval>=0.11,<0.12"', '"nbval>=0.11,<0.13"'))
    for name, text in deps.files(deps.declared(pyproject), deps.locked_versions(tmp_path)).items():
        (tmp_path / name).write_text(text)
    assert deps.stale(tmp_path) == []
    assert "nbval>=0.11,<0.13" in (tmp_path / "requirements.txt").read_text()
    assert "nbval" not in (tmp_path / "environment.yml").read_text(), "conda takes the test tools from pip: -e .[test]"
    assert "nbval" not in (tmp_path / "labs/source/requirements-autograder.txt").read_text()


def test_make_installs_from_pyproject():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(STAMP): pyproject.toml $(if $(filter locked,$(DEPS)),$(LOCK))" in makefile, \
        "the install step reruns when pyproject.toml or the lock changes"
    assert "install -r $(LOCK)" in makefile and "-e '.[course,classroom,test]'" in makefile


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
    """make lab runs tools/lab.py (as the first-start browser test does): JupyterLab on
    127.0.0.1 only, with a token, opening notebook 00."""
    import lab

    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: setup\n\t@exec \$\(BIN\)/python tools/lab.py --port \$\(PORT\)$", makefile, re.M)
    line = lab.command(8888, "0" * 32)
    assert "--ip=127.0.0.1" in line and "--IdentityProvider.token=" + "0" * 32 in line
    assert line[-1] == "notebooks/00_start_here.ipynb"


def test_lab_refuses_a_bad_port_and_a_wrong_folder_in_one_line(tmp_path):
    import subprocess

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_start_here.ipynb").write_text("{}")
    for args, cwd, says in ((["--port", "70000"], tmp_path, "--port must be from 1 to 65535, got 70000"),
                            (["--port", "http"], tmp_path, "invalid int value: 'http'"),
                            ([], tmp_path / "notebooks", "run this from the course's folder")):
        run = subprocess.run([sys.executable, str(ROOT / "tools" / "lab.py"), *args], cwd=cwd,
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 2 and run.stdout == "", run
        assert says in run.stderr.splitlines()[-1], run.stderr


def test_the_course_jupyterlab_settings_are_real_settings():
    """jupyter/lab/settings/overrides.json names settings JupyterLab has, with values its
    schemas accept: a misspelt one would be ignored without a word, and the news question
    would be back. make setup copies the file where JupyterLab reads it."""
    import json

    import jsonschema

    overrides = json.loads((ROOT / "jupyter" / "lab" / "settings" / "overrides.json").read_text())
    schemas = Path(sys.prefix, "share", "jupyter", "lab", "schemas")
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        unknown = set(values) - set(schema["properties"])
        assert not unknown, f"{plugin} has no setting {unknown}"
        jsonschema.validate(values, {**schema, "required": []})
    makefile = (ROOT / "Makefile").read_text()
    assert "LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json" in makefile
    assert "$(LAB_SETTINGS): jupyter/lab/settings/overrides.json $(STAMP)" in makefile
    assert "setup: $(STAMP) $(LAB_SETTINGS)" in makefile and "test: setup chromium" in makefile
