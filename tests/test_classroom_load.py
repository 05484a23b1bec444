"""tools/classroom_load.py: two learners on lab 05, one right and one wrong, at once.

The tool must count what passed and what failed (a wrong answer's checks as
failed, with their one-line messages), in class and at grading, report the
measurements and the machine, and leave nothing running: every process it
started carries a mark in its environment, and none may be left when it ends.
"""

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "classroom_load.py"
SOLUTION = ROOT / "labs" / "autograder" / "lab05_concurrency" / "lab05_concurrency.ipynb"
QUESTIONS = ["q1", "q2", "q3", "q4"]


def marked(mark):
    """Processes whose environment carries ``mark``: everything the tool started, and theirs."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("CLASSROOM_LOAD_TEST") == mark:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wrong_measure(folder: Path) -> Path:
    """The solution, but measure() ignores mode: every server is serial."""
    nb = nbformat.read(SOLUTION, as_version=4)
    cells = [c for c in nb.cells if "socklab.serve(mode=mode," in c.source]
    assert len(cells) == 1, "the solution's measure() changed: update this test's wrong answer"
    cells[0].source = cells[0].source.replace("socklab.serve(mode=mode,", 'socklab.serve(mode="serial",')
    path = folder / "lab05_concurrency.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory, notebook_slot):
    """The tool's report for 2 learners (the solution, then the wrong answer), and what was left."""
    folder = tmp_path_factory.mktemp("classroom")
    tmp = folder / "tmp"
    tmp.mkdir()
    mark = uuid.uuid4().hex
    out = folder / "report.json"
    command = [sys.executable, str(TOOL), "lab05", "--learners", "2", "--notebook", str(SOLUTION),
               "--notebook", str(wrong_measure(folder)), "--json", str(out),
               "--timeout", "150", "--cell-timeout", "60", "--grade-timeout", "90"]
    # two learners computing at once take both cores: no course notebook meanwhile
    with notebook_slot(every=True):
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "CLASSROOM_LOAD_TEST": mark, "TMPDIR": str(tmp)},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            printed, _ = proc.communicate(timeout=200)
        finally:
            _stop(proc)
    left = marked(mark)
    for p in left:
        p.kill()
    assert proc.returncode == 0, printed
    return {"report": json.loads(out.read_text()), "printed": printed, "left": left, "tmp": sorted(tmp.iterdir())}


def _stop(proc):
    if proc.poll() is None:  # stuck: stop it the way Ctrl-C would, then for good
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_the_report_says_where_and_what(run):
    report = run["report"]
    assert report["lab"] == "lab05_concurrency" and report["learners_asked"] == 2
    machine = report["machine"]
    assert machine["cores"] == os.cpu_count()
    assert len(machine["loadavg"]) == 3 and "load average" in machine["uptime"]
    assert [learner["learner"] for learner in report["learners"]] == [1, 2]
    for learner in report["learners"]:
        assert 0 < learner["busy_seconds"] <= learner["wall_seconds"] < 150
        assert learner["cells_run"] == learner["cells"] and not learner["errors"], learner["errors"]
        assert [c["question"] for c in learner["checks"] if c["via"] == "check"] == QUESTIONS
        assert [c["question"] for c in learner["checks"] if c["via"] == "check_all"] == QUESTIONS
        assert sorted((mode, kind) for mode, kind, _ in learner["results"]) == sorted(
            (m, k) for m in ("serial", "threading", "forking") for k in ("sleeping", "computing"))
        assert isinstance(learner["cores_free"], float)
    right = report["learners"][0]
    assert set(right["ratios"]) == {"threading/serial sleeping", "forking/serial sleeping",
                                    "threading/serial computing", "forking/threading computing"}
    # what the checks measured themselves: measure('serial', False) and measure('threading', False)
    inside = {(m["by"], m["mode"]) for m in right["measurements"] if m["by"].startswith("check_measure")}
    assert inside == {("check_measure(sleeping)", "serial"), ("check_measure(sleeping)", "threading"),
                      ("check_measure(stops)", "threading")}
    outside = [m for m in right["measurements"] if m["by"] == "notebook"]
    assert len(outside) == 6 and all(m["makespan"] > 0.1 for m in outside)
    assert "hidden_cpu_in_class" in right


def test_a_right_answer_passes_and_a_wrong_one_fails_with_its_message(run):
    right, wrong = run["report"]["learners"]
    assert all(c["passed"] for c in right["checks"]), right["checks"]
    verdicts = {c["question"]: c for c in wrong["checks"] if c["via"] == "check"}
    assert [q for q in QUESTIONS if verdicts[q]["passed"]] == ["q1", "q4"]
    assert "pass mode to socklab.serve" in verdicts["q2"]["failed_cases"][0]["message"]
    # on a quiet machine the fix itself; on a busy one (another test beside it) the check says it
    # cannot judge and ends with the fix: a failure either way, never a pass
    said = verdicts["q3"]["failed_cases"][0]["message"]
    assert "threads should overlap the waits" in said or "the machine was too busy to judge" in said, said
    for check in wrong["checks"]:
        for case in check["failed_cases"]:
            assert case["message"].startswith("AssertionError: ") and "\n" not in case["message"]
    failed_calls = [c["check"] for c in wrong["check_calls"] if not c["passed"]]
    assert "check_measure(sleeping)" in failed_calls and "check_results(sleeping)" in failed_calls
    # the wrong measure() served serial for every mode: the tool records what was served
    assert {m["mode"] for m in wrong["measurements"]} == {"serial"}
    totals = run["report"]["totals"]
    assert totals["grader.check"]["q2"] == {"passed": 1, "failed": 1}
    assert totals["grader.check"]["q1"] == {"passed": 2, "failed": 0}
    assert totals["learners with every check passed"] == 1
    assert "FAILED q2: AssertionError: measure('threading', False) returned" in run["printed"]


def test_grading_counts_the_same(run):
    right, wrong = run["report"]["grading"]
    assert right["total"] == right["possible"] == 10 and right["failed"] == []
    assert wrong["total"] < wrong["possible"]
    assert [f["question"] for f in wrong["failed"]] == ["q2", "q3"]
    assert "pass mode to socklab.serve" in wrong["failed"][0]["message"]
    assert run["report"]["totals"]["graded"] == {"full marks": 1, "not full": 1, "not graded": 0}


def test_nothing_is_left_running_or_lying_around(run):
    assert run["left"] == [], f"still running after the tool ended: {run['left']}"
    assert run["report"]["left_running"] == []
    assert run["tmp"] == [], f"left in its temporary folder: {run['tmp']}"
