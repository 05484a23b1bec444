"""The labs: generated files match their sources, solutions earn every point (hidden
tests included), untouched student notebooks run cleanly and earn none, nothing of
the solutions or hidden tests reaches a learner, and the instructor tools work.

The checks themselves are proven against wrong answers in test_grading.py.
"""

import csv
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import labs  # noqa: E402

LABS = labs.lab_names()
pytestmark = pytest.mark.timeout(600)
# otter assign, otter run, or a lab notebook in a Jupyter kernel: make test, not make check
slow = pytest.mark.slow


def test_the_five_labs_exist():
    assert LABS == ["lab01_echo", "lab02_framing", "lab03_udp", "lab04_chat", "lab05_concurrency"]


@slow
def test_generated_files_are_current():
    problems = labs.stale()
    assert problems == [], "run `make labs`: " + "; ".join(problems)


def _solution_lines(name):
    """Every line a source notebook marks as solution."""
    nb = nbformat.read(ROOT / "labs" / "source" / f"{name}.ipynb", as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped == "# BEGIN SOLUTION":
                inside = True
            elif stripped == "# END SOLUTION":
                inside = False
            elif inside and stripped and not stripped.startswith("#"):
                lines.append(stripped)
            elif stripped.endswith("# SOLUTION"):
                lines.append(stripped[: -len("# SOLUTION")].strip())
    return lines


@pytest.mark.parametrize("name", LABS)
def test_no_solution_or_hidden_test_reaches_a_learner(name):
    folder = ROOT / "labs" / name
    student = (folder / f"{name}.ipynb").read_text()
    student_code = "\n".join(c.source for c in nbformat.reads(student, as_version=4).cells if c.cell_type == "code")
    solution = _solution_lines(name)
    assert solution, "the source marks no solution"
    # Prompts may name an API the solution uses; the code cells a learner gets must not contain the solution.
    leaked = [line for line in solution if len(line) > 12 and line in student_code]
    assert leaked == [], f"solution lines in the student notebook: {leaked}"
    assert "BEGIN SOLUTION" not in student and "# HIDDEN" not in student
    public = {p.name: p.read_text() for p in (folder / "tests").glob("*.py")}
    assert public, "the student folder has the public tests"
    for text in public.values():
        assert "'hidden': True" not in text
    graded = [p.read_text() for p in (ROOT / "labs" / "autograder" / name / "tests").glob("*.py")]
    assert sum(t.count("'hidden': True") for t in graded) >= 1, "the autograder has hidden tests"
    # What a run leaves (otter's .OTTER_LOG after an instructor tries a check) is not
    # committed and not copied for a class; a local run must not fail this test.
    tracked = _tracked(f"labs/{name}")
    if tracked is not None:
        litter = [p for p in tracked if labs.is_litter(Path(p).name)]
        assert litter == [], f"files from a run are committed: {litter}; git rm --cached them"


def _tracked(folder):
    """The files git tracks under folder, or None outside a git checkout."""
    done = subprocess.run(["git", "ls-files", "--", folder], cwd=ROOT, capture_output=True, text=True, timeout=30)
    return done.stdout.split() if done.returncode == 0 else None


@pytest.mark.parametrize("name", LABS)
def test_no_expected_answer_is_readable_in_a_student_copy(name):
    """A choice or a number a learner sets (b_is = "...") is checked for its form in
    public and for its value only in hidden tests: otter prints a failing public
    test's code, so a value there would give the answer away."""
    import ast

    answers = {}  # variable -> the ways an expected value could be written
    for line in _solution_lines(name):
        try:
            node = ast.parse(line.split("  #")[0]).body[0]
        except (SyntaxError, IndexError):
            continue
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        if not all(isinstance(n, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop))
                   for n in ast.walk(node.value)):
            continue  # computed from the learner's code, not an answer to a question
        value = eval(compile(ast.Expression(node.value), "<answer>", "eval"), {"__builtins__": {}})
        answers[node.targets[0].id] = {ast.unparse(node.value), repr(value), f'"{value}"'}
    public = []
    for path in (ROOT / "labs" / name / "tests").glob("*.py"):
        scope = {}
        exec(path.read_text(), scope)  # otter's test file: test = {"suites": [{"cases": [{"code": ...}]}]}
        public += [case["code"] for suite in scope["test"]["suites"] for case in suite["cases"]]
    public += [c.source for c in nbformat.read(ROOT / "labs" / name / f"{name}.ipynb", as_version=4).cells]
    public = "\n".join(public)
    assert answers, f"{name}: no question asks for a value"
    for variable, shown in answers.items():
        for text in shown:
            assert f"{variable} == {text}" not in public, f"{name}: the public tests give away {variable} = {text}"


@pytest.mark.parametrize("name", LABS)
def test_each_lab_says_what_it_practises_and_how_long_it_takes(name):
    nb = nbformat.read(ROOT / "labs" / name / f"{name}.ipynb", as_version=4)
    opening = next(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**Practises:** notebook" in opening
    for number in re.findall(r"notebooks? (\d\d)", opening):
        assert list((ROOT / "notebooks").glob(f"{number}_*.ipynb")) or "planned" in opening, number
    minutes = [int(m) for m in re.search(r"\*\*Time:\*\* (\d+) to (\d+) minutes", opening).groups()]
    assert 30 <= minutes[0] <= minutes[1] <= 60, minutes


def _grade(name, folder, timeout=240):
    """Grade a folder of submissions as an instructor would, with tools/labs.py's grade
    (in this process, so that its otter assign is the shared one below):
    {submission: its row of grades.csv}."""
    out = folder / "grades.csv"
    labs.grade(name, folder, out, timeout)
    with open(out) as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def _grade_with_the_tool(name, folder, timeout):
    """The same, through the command line an instructor types: python tools/labs.py grade ..."""
    out = folder / "grades.csv"
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "labs.py"), "grade", name, str(folder),
                           "--out", str(out), "--timeout", str(timeout)], capture_output=True, text=True,
                          timeout=max(120, timeout * 2.5))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout, done.stdout
    with open(out) as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="session", autouse=True)
def assign_once_per_run(once_per_run):
    """``otter assign`` takes seconds a lab and gives the same bytes every time (tools/labs.py
    fixes its ids and dates: the currency check relies on it). Run it once per lab for the
    whole test run, every xdist worker included, and hand each later caller of labs.assign
    (stale, autograder_zip, grade) a copy of that output. The tests of the command line
    run it themselves, in the tool's own process."""
    real = labs.assign

    def assign(name, out, run_tests=False):
        if run_tests:
            return real(name, out, run_tests=True)
        with once_per_run(f"otter-assign-{name}") as (store, empty):
            if empty:
                real(name, store)
        shutil.copytree(store / name, out / name, symlinks=True)
        return out / name

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(labs, "assign", assign)
        yield


def _hand_in(folder):
    """Lab 01 as a learner hands it in, into folder: the student folder with a finished
    notebook (the solution), every cell run in a kernel as in JupyterLab, export cell last.
    The notebook as run goes to folder/ran.ipynb; the zip its export cell wrote stays."""
    name = LABS[0]
    home = folder / name
    shutil.copytree(ROOT / "labs" / name, home)
    shutil.copy(ROOT / "labs" / "autograder" / name / f"{name}.ipynb", home / f"{name}.ipynb")
    nb = nbformat.read(home / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(home)}}).execute()
    nbformat.write(nb, folder / "ran.ipynb")


@pytest.fixture
def handed_in(once_per_run):
    """(lab 01's notebook as a learner ran it, the zips its export cell wrote): once per run."""
    with once_per_run("handed-in") as (folder, empty):
        if empty:
            _hand_in(folder)
    return nbformat.read(folder / "ran.ipynb", as_version=4), sorted((folder / LABS[0]).glob(f"{LABS[0]}_*.zip"))


@pytest.fixture
def graded(once_per_run, notebook_slot, request):
    """graded(name): a lab's solution and untouched student notebook (and for lab 01, beside
    them, the zip a learner exported), graded as an instructor would, once per run:
    {submission: its row}."""
    def grade(name):
        with once_per_run(f"graded-{name}") as (folder, empty):
            if empty:
                shutil.copy(ROOT / "labs" / "autograder" / name / f"{name}.ipynb", folder / "solution.ipynb")
                shutil.copy(ROOT / "labs" / name / f"{name}.ipynb", folder / "untouched.ipynb")
                if name == LABS[0]:
                    _, zips = request.getfixturevalue("handed_in")
                    assert len(zips) == 1, f"the export cell writes one zip, not {zips}"
                    shutil.copy(zips[0], folder / "ada.zip")
                # Lab 05's checks measure concurrency itself (how many cores a
                # computing run used): no course notebook may run meanwhile.
                with notebook_slot(every=(name == "lab05_concurrency")):
                    _grade(name, folder)
        with open(folder / "grades.csv") as handle:
            return {row["submission"]: row for row in csv.DictReader(handle)}

    return grade


@slow
@pytest.mark.parametrize("name", LABS)
def test_the_solution_earns_every_point(name, graded):
    row = graded(name)["solution.ipynb"]
    assert row["error"] == "", row["error"]
    assert float(row["total"]) == float(row["possible"]) > 0, row


@slow
@pytest.mark.parametrize("name", LABS)
def test_an_untouched_student_notebook_earns_nothing(name, graded):
    row = graded(name)["untouched.ipynb"]
    assert row["error"] == "", row["error"]
    questions = [k for k in row if re.fullmatch(r"q\d+", k)]
    assert questions and all(float(row[q]) == 0 for q in questions), row


@slow
@pytest.mark.parametrize("name", LABS)
def test_the_student_notebook_runs_top_to_bottom_and_fails_its_checks(name, tmp_path):
    folder = tmp_path / name
    shutil.copytree(ROOT / "labs" / name, folder)
    nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    checks = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{cell.source[:60]!r} raised {output.get('ename')}"
            assert output.get("name") != "stderr", f"{cell.source[:60]!r} wrote to stderr: {output.get('text')}"
        if re.fullmatch(r'grader\.check\("q\d+"\)', cell.source.strip()):
            checks += 1
            shown = "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
            assert "❌ Test case failed" in shown and "All test cases passed" not in shown, shown[:300]
    assert checks >= 2


@slow
def test_grading_a_folder_reports_a_notebook_that_never_finishes(tmp_path):
    name = LABS[0]
    nb = nbformat.read(ROOT / "labs" / name / f"{name}.ipynb", as_version=4)
    # stuck as a learner's notebook gets stuck: a server waiting for a client that never comes
    # (blocked, not spinning: the 20 s it waits leave the machine's cores to the other tests)
    nb.cells.insert(2, nbformat.v4.new_code_cell(
        "import socket\nwaiting = socket.create_server(('127.0.0.1', 0))\nwaiting.accept()"))
    nbformat.write(nb, tmp_path / "stuck.ipynb")
    (row,) = _grade_with_the_tool(name, tmp_path, timeout=20).values()
    assert row["total"] == "0" and "did not finish" in row["error"], row


def test_the_classroom_copy_has_no_solutions(tmp_path):
    # an instructor tried a check in the checkout: the class must not get the log
    litter = ROOT / "labs" / LABS[0] / ".OTTER_LOG"
    made = not litter.exists()
    if made:
        litter.write_bytes(b"from a local run")
    dest = tmp_path / "classroom"
    try:
        labs.classroom(dest)
    finally:
        if made:
            litter.unlink()
    assert not list(dest.rglob(".OTTER_LOG")), "what a local run left is not copied to learners"
    assert not (dest / "labs" / "source").exists() and not (dest / "labs" / "autograder").exists()
    for name in LABS:
        assert (dest / "labs" / name / f"{name}.ipynb").exists()
        assert (dest / "labs" / name / "tests").is_dir()
    texts = [p.read_text(errors="replace") for p in dest.rglob("*") if p.is_file() and p.suffix in (".ipynb", ".py")]
    assert not any("BEGIN SOLUTION" in t or "'hidden': True" in t for t in texts)
    assert (dest / "socklab" / "grading" / "__init__.py").exists(), "the checks ship with the course"
    assert (dest / "requirements.lock").exists(), "make lab in the copy installs the pinned versions"
    assert (dest / "tools" / "lab.py").exists() and "tools/lab.py" in (dest / "Makefile").read_text(), \
        "make lab in the copy runs tools/lab.py"
    for needed in ("binder/postBuild", "binder/requirements.txt", "jupyter/lab/settings/overrides.json",
                   "LICENSE", "LICENSE-CC-BY-4.0.txt"):
        assert (dest / needed).exists(), f"repo2docker (Binder, a hub's image) and attribution need {needed}"


def test_collect_takes_each_learners_newest_hand_in(tmp_path, capsys):
    """On a hub: the newest export zip wherever nbgitpuller put the course, else the saved notebook."""
    import os

    lab = LABS[0]
    ada = tmp_path / "home" / "ada" / "any-folder" / "labs" / lab
    grace = tmp_path / "home" / "grace" / "labs" / lab
    for folder in (ada, grace, tmp_path / "home" / "alan"):
        folder.mkdir(parents=True)
    (ada / f"{lab}.ipynb").write_text("saved")
    for age, stamp in ((200, "old"), (100, "new")):
        (ada / f"{lab}_{stamp}.zip").write_text(stamp)
        os.utime(ada / f"{lab}_{stamp}.zip", (time.time() - age,) * 2)
    (grace / f"{lab}.ipynb").write_text("grace's")
    # what collect, run as root, must not follow: a link to another's hand-in (newest of all),
    # a linked folder, a device, a pipe
    (ada / f"{lab}_zlink.zip").symlink_to(grace / f"{lab}.ipynb")
    (tmp_path / "home" / "ada" / "linked").mkdir()
    (tmp_path / "home" / "ada" / "linked" / "labs").symlink_to(grace.parent)
    (ada / f"{lab}_zdevice.zip").symlink_to("/dev/zero")
    os.mkfifo(ada / f"{lab}_zpipe.zip")
    homes = sorted((tmp_path / "home").iterdir())
    taken = labs.collect(lab, tmp_path / "out", homes)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ada.zip", "grace.ipynb"]
    assert (tmp_path / "out" / "ada.zip").read_text() == "new" and set(taken) == {"ada", "grace"}
    shown = capsys.readouterr().out
    assert "alan: nothing to collect" in shown
    assert shown.count("a symbolic link") == 3 and "_zpipe.zip: not a regular file" in shown, shown
    with pytest.raises(SystemExit, match="is not empty"):
        labs.collect(lab, tmp_path / "out", homes)
    with pytest.raises(SystemExit, match="no Unix group 'no-such-class-group'"):
        labs.group_homes("no-such-class-group")
    root_group = __import__("grp").getgrgid(0).gr_name
    assert Path(__import__("pwd").getpwuid(0).pw_dir) in labs.group_homes(root_group)


def test_the_labs_tool_explains_a_wrong_command():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "labs.py"), "grade", "lab99", "."],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no lab 'lab99'; the labs are lab01_echo" in done.stderr


@slow
def test_the_autograder_zip_carries_every_test_and_socklab(tmp_path):
    archive = labs.autograder_zip(LABS[0], tmp_path)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        tests = "".join(zipped.read(n).decode() for n in names if n.startswith("tests/"))
        environment = zipped.read("environment.yml").decode()
    modules = {f"files/{path.relative_to(ROOT).as_posix()}" for path in (ROOT / "socklab").rglob("*.py")}
    assert "files/socklab/grading/__init__.py" in modules, "the checks travel with the zip"
    assert modules <= set(names), f"missing from the zip: {sorted(modules - set(names))}"
    assert "'hidden': True" in tests
    assert "python=3.11" in environment and "psutil" in environment


def test_otter_config_of_every_lab_is_pdf_free():
    for name in LABS:
        config = json.loads((ROOT / "labs" / "autograder" / name / "otter_config.json").read_text())
        assert config.get("pdf") in (None, False), config


@pytest.mark.parametrize("name", LABS)
def test_each_student_notebook_ends_with_an_export_cell_that_needs_no_pdf_tooling(name):
    nb = nbformat.read(ROOT / "labs" / name / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    export = code[-1].splitlines()[-1]
    assert export.startswith("grader.export(") and "pdf=False" in export, code[-1]
    assert "run_tests=True" not in export, "the export must not run the notebook a second time"
    assert any(f"{name}_DATE.zip" in c.source for c in nb.cells if c.cell_type == "markdown"), "say what it writes"


@slow
def test_a_learner_exports_a_zip_that_grades_to_full_marks(handed_in, graded):
    """A learner's hand-in, end to end: the student folder with a finished notebook (the
    solution), every cell run in a kernel as in JupyterLab, export cell last; the zip it
    writes, collected into a folder with a notebook handed in as it is, and graded by
    tools/labs.py's grade, earns every point."""
    name = LABS[0]
    nb, zips = handed_in
    export = nb.cells[[i for i, c in enumerate(nb.cells) if c.cell_type == "code"][-1]]
    assert "grader.export(" in export.source
    for output in export.outputs:
        assert output.output_type != "error", f"the export cell raised {output.get('ename')}: {output.get('evalue')}"
        assert output.get("name") != "stderr", f"the export cell wrote to stderr: {output.get('text')}"
    shown = "".join(o.get("data", {}).get("text/html", "") for o in export.outputs)
    (zipped,) = zips
    assert zipped.name in shown, "the export cell shows a link to the zip"
    with zipfile.ZipFile(zipped) as archive:
        names = archive.namelist()
    assert f"{name}.ipynb" in names, names
    assert not [n for n in names if n.endswith(".pdf") or n == ".OTTER_LOG"], names
    # the instructor's side: one zip per learner in a folder, with notebooks handed in as they are
    rows = graded(name)
    assert set(rows) == {"ada.zip", "solution.ipynb", "untouched.ipynb"}, rows
    assert rows["ada.zip"]["error"] == "", rows["ada.zip"]["error"]
    assert float(rows["ada.zip"]["total"]) == float(rows["ada.zip"]["possible"]) > 0, rows["ada.zip"]
    assert float(rows["untouched.ipynb"]["total"]) == 0, rows["untouched.ipynb"]


def test_an_export_left_in_a_lab_folder_is_litter(tmp_path):
    """An instructor who tries the export cell in the checkout leaves LAB_DATE.zip in the
    lab's folder: `check` must not call the lab stale, and the class copy must not get it."""
    assert labs.is_litter("lab01_echo_2025_01_31T09_00_00_000000.zip")
    assert not labs.is_litter("lab01_echo.ipynb") and not labs.is_litter("q1.py")
    left, right = tmp_path / "built", tmp_path / "committed"
    left.mkdir()
    (left / "lab.ipynb").write_text("{}")
    shutil.copytree(left, right)
    (right / "lab_2025_01_31T09_00_00_000000.zip").write_bytes(b"PK")
    assert labs._differences(left, right) == []


@slow
def test_grading_an_empty_folder_says_so(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "labs.py"), "grade", LABS[0], str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "holds no submissions: no .ipynb and no .zip files" in done.stderr, done.stderr
