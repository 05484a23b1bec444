"""Who ran when: workers that record the moments they really ran, and a chart of them.

Notebook 08 (Processes and threads) races threads against processes. Timing the
whole race says *how long*; the spans say *why*: a computing thread under the
GIL runs in short stripes, taking turns, while processes run side by side on
free cores. So every worker records the stretches it actually ran::

    from socklab import spans
    threads = spans.run_workers(4, cpu=True, runner="threads")
    processes = spans.run_workers(4, cpu=True, runner="processes")
    spans.plot_spans({"4 threads": threads, "4 processes": processes}, title="CPU work")

Times come from ``time.monotonic()``, one clock for the whole machine, so spans
recorded in forked children line up with the parent's.
"""

from __future__ import annotations

import os
import threading
import time
from typing import NamedTuple

from .children import Child, start_child  # noqa: F401  (notebook 08 forks with spans.start_child)
from .display import describe
from .stopping import burn

COLORS = {"computing": "tab:blue", "waiting": "tab:orange"}
PAUSE = 0.0005  # a gap longer than this between two slices of work: the worker was paused


class Span(NamedTuple):
    """A stretch one worker spent computing or waiting, in ``time.monotonic()`` seconds."""

    worker: str
    start: float
    end: float
    what: str  # "computing" or "waiting"


def _seconds(value, name="seconds", most=60):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, e.g. {name}=0.25; got {value!r}")
    if not 0 < value <= most:
        raise ValueError(f"{name} must be above 0 and at most {most}, e.g. {name}=0.25; got {value!r}")


def compute(seconds: float, worker: str = "worker") -> list:
    """Compute until this thread has used ``seconds`` of CPU time; return when it ran.

    CPU time (``time.thread_time``) is a fixed amount of work, however many
    others compete for the CPU or the GIL. The wall clock is checked after each
    few microseconds of arithmetic: a gap means someone else ran meanwhile, so
    the work comes back as several spans, each a stretch this thread really ran.
    """
    _seconds(seconds)
    found = []
    start = last = time.monotonic()

    def notice_a_pause():
        nonlocal start, last
        now = time.monotonic()
        if now - last > PAUSE:
            found.append(Span(worker, start, last, "computing"))
            start = now
        last = now

    burn(seconds, notice_a_pause)
    found.append(Span(worker, start, last, "computing"))
    return found


def wait(seconds: float, worker: str = "worker") -> list:
    """Sleep, standing for I/O (a reply from a server, a disk); return the one span."""
    _seconds(seconds)
    start = time.monotonic()
    time.sleep(seconds)
    return [Span(worker, start, time.monotonic(), "waiting")]


def run_workers(n: int = 4, cpu: bool = True, runner: str = "threads", seconds: float = 0.25,
                timeout: float = 30) -> list:
    """Run ``n`` workers at once, each computing or sleeping ``seconds``; return their spans.

    ``cpu=True`` computes (``compute()``), ``cpu=False`` sleeps (``wait()``),
    as ``socklab.serve(cpu=...)`` does.
    ``runner="threads"`` starts threads in this process, sharing its GIL;
    ``runner="processes"`` forks children, each with its own interpreter and GIL.
    All are started before any is waited for, and every one is waited for
    (children reaped) within ``timeout`` seconds. Workers are named "thread 1"...
    or "process 1"...; the spans come back in that order.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be a whole number of workers, e.g. n=4; got {n!r}")
    if not 1 <= n <= 32:
        raise ValueError(f"n must be from 1 to 32 workers, e.g. n=4; got {n}")
    if not isinstance(cpu, bool):
        raise TypeError(f"cpu must be True (computing) or False (sleeping), got {cpu!r}")
    if runner not in ("threads", "processes"):
        raise ValueError(f"runner must be 'threads' or 'processes', got {runner!r}")
    _seconds(seconds)
    _seconds(timeout, "timeout", most=3600)
    job = compute if cpu else wait
    deadline = time.monotonic() + timeout
    if runner == "processes":
        children = []
        try:
            for i in range(n):
                children.append(start_child(job, seconds, f"process {i + 1}"))
            results = [child.finish(max(0.1, deadline - time.monotonic())) for child in children]
        finally:  # a fork failed, or the call was interrupted: no child may outlive it
            for child in children:
                child.finish(0.01)  # kills and reaps it, unless it has finished already
        failed = [f"process {i + 1} (exit code {code})" for i, (found, code) in enumerate(results) if found is None]
        if failed:
            raise RuntimeError(f"no spans from {', '.join(failed)}: raise timeout, or lower n or seconds")
        return [span for found, _ in results for span in found]
    results = [None] * n

    def run(i):
        results[i] = job(seconds, f"thread {i + 1}")

    threads = [threading.Thread(target=run, args=(i,), name=f"spans worker {i + 1}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):  # a thread cannot be killed; it ends when its work does
        raise TimeoutError(f"the threads did not finish within {timeout} s: raise timeout, or lower n or seconds")
    return [span for found in results for span in found]


def _checked(spans, name="spans"):
    spans = list(spans) if isinstance(spans, (list, tuple)) else spans
    if not isinstance(spans, list) or not spans or not all(isinstance(s, Span) for s in spans):
        raise TypeError(f"{name} must be a non-empty list of Span, as run_workers() returns; got {type(spans).__name__}")
    return spans


def makespan(spans) -> float:
    """Seconds from the first worker's start to the last one's end."""
    spans = _checked(spans)
    return max(s.end for s in spans) - min(s.start for s in spans)


def overlap(spans) -> float:
    """The share of the makespan (0 to 1) during which two or more of ``spans`` overlapped:
    pass only the computing spans to ask how long two computed at once."""
    spans = _checked(spans)
    events = sorted((t, change) for s in spans for t, change in ((s.start, +1), (s.end, -1)))
    running, last, together = 0, events[0][0], 0.0
    for t, change in events:
        if running >= 2:
            together += t - last
        running, last = running + change, t
    return together / makespan(spans) if makespan(spans) > 0 else 0.0


def creation_time(kind: str, tries: int = 10) -> float:
    """The best of ``tries`` times, in seconds, to make one worker: create it, start it,
    let it run ``os.getpid`` (a built-in, so even a spawned child can find it), wait for it.

    ``kind`` is "thread", "fork" or "spawn" (a multiprocessing start method).
    The best time counts because a busy machine only ever makes things slower.
    "spawn" starts multiprocessing's resource tracker, a helper process that
    lives as long as the caller: measure it from a short-lived Python.
    """
    if kind not in ("thread", "fork", "spawn"):
        raise ValueError(f"kind must be 'thread', 'fork' or 'spawn', got {kind!r}")
    if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
        raise ValueError(f"tries must be a whole number from 1, e.g. tries=10; got {tries!r}")
    if kind == "thread":
        make = lambda: threading.Thread(target=os.getpid)  # noqa: E731
    else:
        import multiprocessing

        context = multiprocessing.get_context(kind)
        make = lambda: context.Process(target=os.getpid)  # noqa: E731
    best = float("inf")
    for _ in range(tries):
        began = time.perf_counter()
        worker = make()
        worker.start()
        worker.join(30)
        best = min(best, time.perf_counter() - began)
    return best


def plot_spans(spans_by_label: dict, *, title: str = "Who ran when"):
    """A Gantt chart of who ran when: one panel per label, one lane per worker.

    ``spans_by_label`` maps a panel's label to a list of spans (from
    ``run_workers``, or built by hand from ``Span``). Each panel starts at 0,
    its first worker's start, on a time axis shared by all panels, so their
    lengths compare at a glance. Returns a matplotlib Figure.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if not isinstance(spans_by_label, dict) or not spans_by_label:
        raise TypeError("plot_spans needs a dict {label: spans}, e.g. plot_spans({'4 threads': spans})")
    panels = {str(label): _checked(found, f"the spans for {label!r}") for label, found in spans_by_label.items()}
    lanes = sum(len({s.worker for s in found}) for found in panels.values())
    fig = Figure(figsize=(9, 1.3 + 0.45 * lanes + 0.6 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    shown = set()
    for ax, (label, found) in zip(axes, panels.items()):
        t0 = min(s.start for s in found)
        workers = list(dict.fromkeys(s.worker for s in found))  # in order of appearance
        for y, worker in enumerate(workers):
            for what, color in COLORS.items():
                bars = [(s.start - t0, s.end - s.start) for s in found if s.worker == worker and s.what == what]
                if bars:
                    ax.broken_barh(bars, (y - 0.35, 0.7), color=color)
                    shown.add(what)
        ax.set_yticks(range(len(workers)), workers)
        ax.set_ylim(len(workers) - 0.4, -0.6)  # first worker on top
        ax.set_title(f"{label}: done after {makespan(found):.2f} s", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel("time since the panel's first worker started (s)")
    fig.supylabel("worker", fontsize=10)
    fig.legend(handles=[Patch(color=COLORS[w], label=w) for w in COLORS if w in shown],
               loc="outside lower center", ncols=2, fontsize=9)
    fig.suptitle(title, fontsize=12)
    said = []
    for label, found in panels.items():
        workers, computing = len({s.worker for s in found}), [s for s in found if s.what == "computing"]
        text = f"{label}: {workers} worker{'s' if workers != 1 else ''}, done after {makespan(found):.2f} s"
        if computing:
            text += f", computing {sum(s.end - s.start for s in computing):.2f} s in all"
        if workers > 1 and computing:
            text += f", two or more computing at the same instant {overlap(computing):.0%} of the time"
        said.append(text)
    return describe(fig, f"{title}. One lane per worker. " + ". ".join(said) + ".")
