"""Lab 05's checks: the predictions, ``measure()``, and the six measurements of serial, threads and processes."""

from __future__ import annotations

from ..registry import running
from .common import WAIT, call, check_part, need_function

_EXPERIMENTS = [(m, k) for m in ("serial", "threading", "forking") for k in ("sleeping", "computing")]


def check_predictions(predicted) -> None:
    """Lab 05, ``predicted``: {(mode, kind): seconds}, a positive number for each of the six experiments."""
    if not isinstance(predicted, dict):
        raise AssertionError(f"predicted must be the dictionary the cell builds, got {type(predicted).__name__}: "
                             "keep the line predicted = {}")
    for key in _EXPERIMENTS:
        if key not in predicted:
            raise AssertionError(f"predicted has no {key}: keep the six lines as given and put a number on each")
        value = predicted[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise AssertionError(f"predicted[{key!r}] is {value!r}: replace it with the number of seconds you "
                                 "expect, such as 0.5")
    extra = [key for key in predicted if key not in _EXPERIMENTS]
    if extra:
        raise AssertionError(f"predicted has keys {extra} that are not experiments: keep the six keys as given")


def _makespan_message(expression, value):
    """A wrong return value of measure(): the fix first, then a short repr."""
    shown = repr(value).splitlines()[0] if value is not None else "None"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return (f"{expression} must return the makespan in seconds, a float (result.makespan); it returned "
            f"{type(value).__name__} {shown}")


def check_measure(measure, part: str = "sleeping") -> None:
    """Lab 05, ``measure(mode, cpu) -> float``: the makespan of 4 clients with
    0.2 s of work each, on a fresh socklab server that is stopped afterwards.

    sleeping: serial about 0.8 s, threading about 0.2 s. stops: no server
    is left running.
    """
    check_part(part, ("sleeping", "stops"))
    need_function(measure, "measure")
    if part == "stops":
        before = {id(s) for s in running()}
        value = call(WAIT * 3, measure, "threading", False, what="measure('threading', False)")
        assert isinstance(value, float), _makespan_message("measure('threading', False)", value)
        left = [s.name for s in running() if id(s) not in before]
        assert not left, (f"measure() left {left} running: use `with socklab.serve(...) as server:` so the "
                          "server stops when the block ends")
        return
    serial = call(WAIT * 3, measure, "serial", False, what="measure('serial', False)")
    threaded = call(WAIT * 3, measure, "threading", False, what="measure('threading', False)")
    for name, value in (("serial", serial), ("threading", threaded)):
        assert isinstance(value, float), _makespan_message(f"measure('{name}', False)", value)
    assert 0.9 * 0.8 <= serial < 0.8 * 2.5, (
        f"measure('serial', False) returned {serial:.2f} s; 4 clients x 0.2 s one after another should take "
        "about 0.8 s: serve with work=0.2, and load 4 clients at once")
    assert 0.2 <= threaded and threaded * 2 < serial, (
        f"measure('threading', False) returned {threaded:.2f} s against serial {serial:.2f} s; threads should "
        "overlap the waits, about 0.2 s: pass mode to socklab.serve, and let the 4 clients arrive at once "
        "(socklab.load's default, concurrent=True)")


def check_results(results, part: str = "complete", cores_free: float | None = None) -> None:
    """Lab 05, ``results``: {(mode, kind): seconds} for the three modes and two kinds.

    complete: all six numbers. sleeping: threads and processes overlap
    waiting work. cpu: threads do not speed up computing; processes do, when
    two cores are free. On a free-threaded build without the GIL, threads
    compute in parallel too, and the cpu part checks that instead.
    ``cores_free`` is how many cores were idle while the results were
    measured (the lab records it); without it, the grader's own load decides.
    """
    # Looked up at each call, in the module: a test can stand in for free_cores() there.
    from ..environment import free_cores, gil_enabled

    check_part(part, ("complete", "sleeping", "cpu"))
    if cores_free is not None and not isinstance(cores_free, (int, float)):
        raise AssertionError(f"cores_free is {cores_free!r}: keep the lines that set it with socklab.free_cores()")
    free = (lambda: cores_free) if cores_free is not None else free_cores
    if results is Ellipsis or results is None:
        raise AssertionError("results is not filled in yet: replace the ... with the dictionary of measurements")
    given = results if isinstance(results, dict) else {}
    missing = [key for key in _EXPERIMENTS if not isinstance(given.get(key), (int, float))]
    assert not missing, f"results has no number for {missing}: measure each (mode, kind) pair"
    r = results
    if part == "sleeping":
        assert r[("threading", "sleeping")] * 2.5 < r[("serial", "sleeping")], (
            f"threading took {r[('threading', 'sleeping')]:.2f} s and serial {r[('serial', 'sleeping')]:.2f} s for "
            "sleeping work; threads should overlap the waits: did you pass cpu=False for 'sleeping'?")
        assert r[("forking", "sleeping")] * 2 < r[("serial", "sleeping")], (
            f"forking took {r[('forking', 'sleeping')]:.2f} s and serial {r[('serial', 'sleeping')]:.2f} s for "
            "sleeping work; processes should overlap the waits")
    elif part == "cpu" and not gil_enabled():
        # A free-threaded build (3.13t, 3.14t) has no GIL: threads compute in
        # parallel as processes do, so "threads do not speed up computing" is
        # false there, and a right answer must not fail on it.
        if free() >= 1.5:
            for mode in ("threading", "forking"):
                assert r[(mode, "computing")] < 0.85 * r[("serial", "computing")], (
                    f"{mode} took {r[(mode, 'computing')]:.2f} s and serial {r[('serial', 'computing')]:.2f} s for "
                    "computing work, with two cores free and no GIL (a free-threaded Python): both threads and "
                    "processes should compute in parallel here: measure again with nothing else running")
    elif part == "cpu":
        assert r[("threading", "computing")] > 0.7 * r[("serial", "computing")], (
            f"threading took {r[('threading', 'computing')]:.2f} s and serial {r[('serial', 'computing')]:.2f} s "
            "for computing work; threads cannot compute at once under the GIL: did you pass cpu=True?")
        if free() >= 1.5:
            assert r[("forking", "computing")] < 0.85 * r[("threading", "computing")], (
                f"forking took {r[('forking', 'computing')]:.2f} s and threading "
                f"{r[('threading', 'computing')]:.2f} s for computing work, with two cores free; processes "
                "should compute in parallel: measure again with nothing else running")
