"""Tests for socklab.spans (notebook 08): spans recorded, children reaped, nothing left running, wrong arguments refused.

No timing asserts except wide ratios: the machine may be busy with other programs.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from socklab import spans

parent = os.getpid()


@pytest.fixture(autouse=True)
def leaves_nothing():
    threads = set(threading.enumerate())
    yield
    assert psutil.Process().children(recursive=True) == [], "a child process was left running"
    assert set(threading.enumerate()) <= threads, "a thread was left running"


@pytest.mark.parametrize("runner", ["threads", "processes"])
def test_computing_workers_record_the_stretches_they_ran(runner):
    found = spans.run_workers(3, cpu=True, runner=runner, seconds=0.05)
    assert all(isinstance(s, spans.Span) for s in found)
    noun = runner[:-2] if runner == "processes" else runner[:-1]
    assert list(dict.fromkeys(s.worker for s in found)) == [f"{noun} {i}" for i in (1, 2, 3)]
    assert {s.what for s in found} == {"computing"}
    assert all(s.start <= s.end for s in found)
    for worker in {s.worker for s in found}:
        mine = [s for s in found if s.worker == worker]
        assert mine == sorted(mine, key=lambda s: s.start), "a worker's spans come in time order"
        assert all(a.end <= b.start for a, b in zip(mine, mine[1:])), "a worker's spans do not overlap"


@pytest.mark.parametrize("runner", ["threads", "processes"])
def test_sleeping_workers_wait_once_each_and_overlap(runner):
    found = spans.run_workers(4, cpu=False, runner=runner, seconds=0.2)
    assert [s.what for s in found] == ["waiting"] * 4
    assert spans.makespan(found) < 0.6 * 4 * 0.2  # about one sleep, not four
    assert spans.overlap(found) > 0.5


def test_computing_threads_take_turns():
    found = spans.run_workers(3, cpu=True, runner="threads", seconds=0.1)
    assert spans.makespan(found) >= 0.8 * 3 * 0.1  # the GIL: about the sum, or more on a busy machine
    assert spans.overlap(found) < 0.1


def test_processes_are_reaped_and_their_spans_come_from_other_pids():
    before = psutil.Process().children()
    found = spans.run_workers(2, cpu=False, runner="processes", seconds=0.05)
    assert len(found) == 2 and before == [] and psutil.Process().children() == []


def test_start_child_returns_the_answer_and_exit_code():
    assert spans.start_child(lambda: ("from the child", os.getpid() != parent)).finish() == (("from the child", True), 0)
    assert spans.start_child(sys.exit, 7).finish() == (None, 7)
    assert spans.start_child(lambda: 1 / 0).finish() == (None, 1)


def test_start_child_kills_a_child_that_outlives_its_timeout():
    child = spans.start_child(time.sleep, 30)
    began = time.monotonic()
    assert child.finish(timeout=0.2) == (None, -9)
    assert time.monotonic() - began < 5
    assert not psutil.pid_exists(child.pid) or psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE
    assert child.finish() == (None, -9), "finishing twice gives the same result"


def test_start_child_carries_large_answers():
    answer, code = spans.start_child(lambda: b"x" * 1_000_000).finish()
    assert code == 0 and len(answer) == 1_000_000


def test_makespan_and_overlap_of_spans_built_by_hand():
    two = [spans.Span("a", 0.0, 2.0, "computing"), spans.Span("b", 1.0, 3.0, "computing")]
    assert spans.makespan(two) == 3.0
    assert spans.overlap(two) == pytest.approx(1 / 3)
    assert spans.overlap([spans.Span("a", 0.0, 1.0, "computing"), spans.Span("b", 1.0, 2.0, "waiting")]) == 0.0


def test_plot_spans_draws_one_panel_per_label_and_one_lane_per_worker():
    found = [spans.Span("thread 1", 10.0, 10.5, "computing"), spans.Span("thread 2", 10.2, 11.0, "waiting")]
    fig = spans.plot_spans({"first": found, "second": found[:1]}, title="Who ran when")
    first, second = fig.axes
    assert [t.get_text() for t in first.get_yticklabels()] == ["thread 1", "thread 2"]
    assert "first" in first.get_title() and "second" in second.get_title()
    assert "(s)" in second.get_xlabel()
    assert fig._suptitle.get_text() == "Who ran when"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["computing", "waiting"]
    assert min(first.get_xlim()) <= 0.0 < 1.0 <= max(first.get_xlim()), "time starts at 0"


def test_creation_time_of_a_thread_and_a_fork():
    thread, fork = spans.creation_time("thread", tries=5), spans.creation_time("fork", tries=3)
    assert 0 < thread < fork  # a fork does far more work


def test_creation_time_of_spawn_in_a_short_lived_python():
    code = "import json; from socklab import spans; print(json.dumps(spans.creation_time('spawn', tries=1)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(spans.__file__))})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) > 0


@pytest.mark.parametrize("call, error, words", [
    (lambda: spans.run_workers(0), ValueError, "n must be from 1"),
    (lambda: spans.run_workers("4"), TypeError, "n=4"),
    (lambda: spans.run_workers(True), TypeError, "whole number"),
    (lambda: spans.run_workers(2, cpu="yes"), TypeError, "True (computing) or False (sleeping)"),
    (lambda: spans.run_workers(2, runner="thread"), ValueError, "'threads' or 'processes'"),
    (lambda: spans.run_workers(2, seconds=-1), ValueError, "above 0"),
    (lambda: spans.run_workers(2, seconds="0.1"), TypeError, "seconds=0.25"),
    (lambda: spans.run_workers(2, timeout=0), ValueError, "timeout"),
    (lambda: spans.compute(0), ValueError, "above 0"),
    (lambda: spans.start_child("not a function"), TypeError, "function"),
    (lambda: spans.makespan([]), TypeError, "non-empty list of Span"),
    (lambda: spans.overlap([(0, 1)]), TypeError, "Span"),
    (lambda: spans.plot_spans([]), TypeError, "dict"),
    (lambda: spans.plot_spans({"x": [1, 2]}), TypeError, "Span"),
    (lambda: spans.creation_time("forkserver"), ValueError, "'thread', 'fork' or 'spawn'"),
    (lambda: spans.creation_time("thread", tries=0), ValueError, "tries"),
])
def test_wrong_arguments_are_refused_at_once_with_the_fix(call, error, words):
    began = time.monotonic()
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert time.monotonic() - began < 0.5, "refused before doing any work"


def test_an_interrupted_run_leaves_no_child_behind():
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.3)  # as a notebook's timeout, or the learner's stop button, would
    try:
        began = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            spans.run_workers(3, cpu=False, runner="processes", seconds=20)
        assert time.monotonic() - began < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # the fixture checks that no child is left
