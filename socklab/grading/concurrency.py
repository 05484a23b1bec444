"""Lab 05's checks: the predictions, ``measure()``, and the six measurements of serial, threads and processes."""

from __future__ import annotations

from ..registry import running
from .common import WAIT, call, check_part, need_function

_EXPERIMENTS = [(m, k) for m in ("serial", "threading", "forking") for k in ("sleeping", "computing")]

# A class runs the same cell at the same moment: ten learners on two cores each get a
# fifth of a core. Sleeping work hardly notices; computing work and starting processes
# do. Serial computing and serial sleeping are the same 4 x 0.2 s of work, so when
# computing took more than BUSY times as long, others had the cores while the results
# were measured (10 learners on 2 cores: 5 to 7 times; a quiet machine: 1.0 to 1.1).
BUSY = 1.5
# On such a machine, a mode overlapped the waits if it took under this share of serial
# (measured with 10 learners on 2 cores: forking 0.37 to 0.63 of serial, threading up to
# 0.29; a mode that does not overlap takes about as long as serial, or longer).
OVERLAPPED = 0.75


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


def _slowdown(r) -> float | None:
    """How many times longer serial computing took than serial sleeping, if more than BUSY; else None."""
    sleeping = r[("serial", "sleeping")]
    slowdown = r[("serial", "computing")] / sleeping if sleeping > 0 else 0.0
    return slowdown if slowdown > BUSY else None


def _too_busy(said, slowdown, r, fix) -> str:
    return (f"{said}, but the machine was too busy to judge: serial computing took {r[('serial', 'computing')]:.2f} s, "
            f"{slowdown:.1f} times serial sleeping for the same work, so other programs had the cores; re-run the "
            "cell that fills results when the machine is quieter (the grader runs your notebook again and judges "
            f"its own measurements); if it still fails then: {fix}")


def check_results(results, part: str = "complete", cores_free: float | None = None) -> None:
    """Lab 05, ``results``: {(mode, kind): seconds} for the three modes and two kinds.

    complete: all six numbers. sleeping: threads and processes overlap
    waiting work; on a machine too busy for the usual margins (serial computing
    took more than BUSY times serial sleeping), overlapping is enough, and a
    result that still fails says the machine was too busy to judge. cpu: threads
    do not speed up computing; processes do, when two cores are free. On a
    free-threaded build without the GIL, threads compute in parallel too, and
    the cpu part checks that instead.
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
        slowdown = _slowdown(r)
        for mode, factor, fix in (("threading", 2.5, "threads should overlap the waits: did you pass cpu=False "
                                                     "for 'sleeping'?"),
                                  ("forking", 2, "processes should overlap the waits")):
            took, serial = r[(mode, "sleeping")], r[("serial", "sleeping")]
            if took * factor < serial:
                continue
            said = f"{mode} took {took:.2f} s and serial {serial:.2f} s for sleeping work"
            assert slowdown is not None, f"{said}; {fix}"
            if took < OVERLAPPED * serial:
                continue  # the waits overlapped; starting the workers was slow on a busy machine
            raise AssertionError(_too_busy(said, slowdown, r, fix))
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
        # Threads computing 4 x 0.2 s under the GIL take 0.8 s or more of wall time, however
        # busy the machine; serial computing, measured at another moment, may have been
        # slowed more by others. On a busy machine, compare with serial sleeping (the same
        # 0.8 s of work, which the others' load hardly slows) instead.
        serial = r[("serial", "computing")] if _slowdown(r) is None else r[("serial", "sleeping")]
        assert r[("threading", "computing")] > 0.7 * serial, (
            f"threading took {r[('threading', 'computing')]:.2f} s and serial {r[('serial', 'computing')]:.2f} s "
            "for computing work; threads cannot compute at once under the GIL: did you pass cpu=True?")
        if free() >= 1.5:
            assert r[("forking", "computing")] < 0.85 * r[("threading", "computing")], (
                f"forking took {r[('forking', 'computing')]:.2f} s and threading "
                f"{r[('threading', 'computing')]:.2f} s for computing work, with two cores free; processes "
                "should compute in parallel: measure again with nothing else running")
