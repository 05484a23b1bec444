"""A small, deterministic scheduler simulator for the operating-system history notebook (07).

The machine has one CPU and one I/O device (card reader, tape, disk: it serves
one request at a time, first come first served). A job is a list of bursts that
alternate between computing and I/O:

    Job("A", [("cpu", 10), ("io", 20), ("cpu", 10)], arrival=0, deadline=None)

``simulate(jobs, policy)`` runs the jobs under one of four policies, one per era:

* ``"serial"``: uniprogramming. One job owns the machine until it ends; the CPU
  idles during its I/O. ``setup=`` is the time spent loading each job: a human
  operator in manual operation, a quicker batch monitor later.
* ``"multiprogramming"``: several jobs in memory. A job keeps the CPU until it
  starts I/O (no preemption); then the CPU runs another ready job.
* ``"round-robin"``: time-sharing. A job runs at most ``quantum`` time units,
  then goes to the back of the ready queue.
* ``"edf"``: real-time, earliest deadline first. The ready job with the earliest
  deadline runs, and an arriving job with an earlier deadline preempts it.

``overhead=`` (all but serial) is the cost of a context switch, paid whenever the
CPU passes from one job to a different one. The first job of a run follows no
other job, so it starts without a switch; a job that gets the CPU back (after
its own I/O, or with nobody else ready) pays none either.

``sweep(jobs, quanta, overheads)`` runs round robin for every pair and plots how
long chosen jobs waited for their answers, and how much time went to switching.

Time is in abstract units (the notebook calls them ms). Arithmetic is exact
(fractions), so the same input always gives the same schedule and a tie is a
tie. Ties at one instant follow a fixed rule: jobs that finish I/O join the
ready queue first, then new arrivals (in the order given), then the job whose
time slice just ended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from .display import describe

__all__ = ["Job", "Segment", "Result", "POLICIES", "simulate", "plot_schedule", "compare_schedules", "sweep"]

POLICIES = ("serial", "multiprogramming", "round-robin", "edf")
OVERHEADS = {"setup": "setup (loading the next job)", "switch": "context switch"}  # time no job advances


def _exact(value, what: str, zero_ok: bool = False) -> Fraction:
    """A number as an exact fraction (0.1 + 0.2 == 0.3 here), or an error naming the fix."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise TypeError(f"{what} must be a number of time units, e.g. 10; got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of time units, got {value!r}")
    exact = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    if exact < 0 or (exact == 0 and not zero_ok):
        raise ValueError(f"{what} must be {'>= 0' if zero_ok else '> 0'}, got {value!r}")
    return exact


def _plain(value: Fraction):
    """Back to an int when whole (10, not Fraction(10, 1)), else a float."""
    return int(value) if value.denominator == 1 else float(value)


@dataclass(frozen=True)
class Job:
    """A job: a name, its bursts ``("cpu" | "io", length)`` alternating, its arrival and (absolute) deadline."""

    name: str
    bursts: tuple
    arrival: float = 0
    deadline: Optional[float] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"a job's name is a non-empty str, e.g. Job('A', [('cpu', 10)]); got {self.name!r}")
        if not isinstance(self.bursts, (list, tuple)) or not self.bursts:
            raise ValueError(f"job {self.name!r} needs a non-empty list of bursts, e.g. [('cpu', 10), ('io', 5)]")
        for burst in self.bursts:
            if not isinstance(burst, (list, tuple)) or len(burst) != 2:
                raise TypeError(f"job {self.name!r}: a burst is a pair like ('cpu', 10) or ('io', 5), got {burst!r}")
            if burst[0] not in ("cpu", "io"):
                raise ValueError(f"job {self.name!r}: a burst is 'cpu' or 'io', got {burst[0]!r}; "
                                 f"write ('io', {burst[1]!r}) for any device")
            _exact(burst[1], f"job {self.name!r}: a burst's length")
        object.__setattr__(self, "bursts", tuple(tuple(b) for b in self.bursts))
        for (kind, first), (again, second) in zip(self.bursts, self.bursts[1:]):
            if kind == again:
                raise ValueError(f"job {self.name!r}: bursts must alternate cpu and io; merge ({kind!r}, {first}) "
                                 f"and ({again!r}, {second}) into ({kind!r}, {first + second})")
        if all(kind == "io" for kind, _ in self.bursts):
            raise ValueError(f"job {self.name!r} needs at least one ('cpu', n) burst")
        arrival = _exact(self.arrival, f"job {self.name!r}: arrival", zero_ok=True)
        if self.deadline is not None and _exact(self.deadline, f"job {self.name!r}: deadline") <= arrival:
            raise ValueError(f"job {self.name!r}: the deadline {self.deadline} must come after the arrival "
                             f"{self.arrival}: it is a time on the clock, not a duration")

    def total(self, kind: str):
        """Total length of its bursts of one kind, "cpu" or "io"."""
        return sum(length for k, length in self.bursts if k == kind)


@dataclass(frozen=True)
class Segment:
    """One bar of a Gantt chart: ``lane`` "CPU" or "I/O"; ``kind`` cpu, io, setup or switch."""

    lane: str
    start: float
    end: float
    job: str
    kind: str

    @property
    def length(self):
        return self.end - self.start


@dataclass(frozen=True)
class JobStats:
    """What happened to one job. Turnaround: arrival to finish. Response: arrival to first
    computation. Waiting: turnaround minus its own CPU and I/O time (queues, operator)."""

    name: str
    arrival: float
    first_run: float
    finish: float
    deadline: Optional[float]
    turnaround: float
    response: float
    waiting: float
    met_deadline: Optional[bool]  # None: no deadline


@dataclass(frozen=True)
class Result:
    """A finished simulation: the bars, per-job numbers, and whole-machine numbers."""

    label: str
    jobs: tuple
    segments: tuple
    stats: dict  # job name -> JobStats

    @property
    def makespan(self):
        """From the first arrival to the last finish."""
        return max(s.finish for s in self.stats.values()) - min(j.arrival for j in self.jobs)

    def busy(self, kind: str):
        """Total time of the segments of one kind: cpu, io, setup or switch."""
        return sum(s.length for s in self.segments if s.kind == kind)

    @property
    def cpu_utilisation(self):
        """Share of the makespan the CPU did jobs' work (setup and switching are not work)."""
        return self.busy("cpu") / self.makespan

    @property
    def io_utilisation(self):
        return self.busy("io") / self.makespan

    @property
    def throughput(self):
        """Jobs finished per time unit."""
        return len(self.jobs) / self.makespan

    def __str__(self):
        deadlines = any(s.deadline is not None for s in self.stats.values())  # the column only when it says something
        rows = [f"{self.label}: makespan {self.makespan:g} ms, CPU busy {self.cpu_utilisation:.0%}, I/O busy "
                f"{self.io_utilisation:.0%}, throughput {self.throughput * 1000:.1f} jobs per 1000 ms",
                f"  {'job':<5} {'arrives':>7} {'1st run':>7} {'finish':>6} {'turnaround':>10} {'response':>8} "
                f"{'waiting':>7}" + ("  deadline" if deadlines else "")]
        for s in self.stats.values():
            deadline = "" if s.deadline is None else f"  {s.deadline:g} {'met' if s.met_deadline else 'MISSED'}"
            rows.append(f"  {s.name:<5} {s.arrival:>7g} {s.first_run:>7g} {s.finish:>6g} {s.turnaround:>10g} "
                        f"{s.response:>8g} {s.waiting:>7g}" + (deadline if deadlines else ""))
        return "\n".join(rows)


def _check(jobs, policy, setup, quantum, overhead):
    """Every mistake caught before the run, each with a message that names the fix."""
    if not isinstance(jobs, (list, tuple)) or not jobs or not all(isinstance(j, Job) for j in jobs):
        raise TypeError(f"simulate takes a non-empty list of Job(...), e.g. [Job('A', [('cpu', 10)])]; got {jobs!r}")
    names = [job.name for job in jobs]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"job names must be unique: two jobs are called {name!r}; rename one")
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}: choose one of {', '.join(POLICIES)}")
    if (policy == "round-robin") != (quantum is not None):
        raise ValueError("round-robin needs a time slice, e.g. quantum=10" if quantum is None else
                         "quantum= is for policy='round-robin' only: drop it, or choose round-robin")
    if setup and policy != "serial":
        raise ValueError("setup= is for policy='serial' only; for the cost of switching between jobs use overhead=")
    if overhead and policy == "serial":
        raise ValueError("serial never switches between jobs, so it takes no overhead=: use setup=")
    return (_exact(setup, "setup", zero_ok=True), None if quantum is None else _exact(quantum, "quantum"),
            _exact(overhead, "overhead", zero_ok=True))


def simulate(jobs, policy: str = "serial", *, setup=0, quantum=None, overhead=0, label: Optional[str] = None):
    """Run ``jobs`` under ``policy`` (see the module's docstring) and return a ``Result``."""
    setup, quantum, overhead = _check(jobs, policy, setup, quantum, overhead)
    if policy == "serial":
        segments, first_run, finish = _serial(jobs, setup)
    else:
        segments, first_run, finish = _Machine(jobs, policy, quantum, overhead).run()
    stats = {}
    for job in jobs:
        start, end = _plain(first_run[job.name]), _plain(finish[job.name])
        turnaround = end - job.arrival
        stats[job.name] = JobStats(job.name, job.arrival, start, end, job.deadline, turnaround, start - job.arrival,
                                   turnaround - job.total("cpu") - job.total("io"),
                                   None if job.deadline is None else end <= job.deadline)
    extras = [f"{name} {_plain(value):g}" for name, value in
              (("setup", setup), ("quantum", quantum), ("switch", overhead)) if value]
    label = label or policy + (f" ({', '.join(extras)})" if extras else "")
    segments = sorted(segments, key=lambda s: (s.start, s.lane != "CPU"))  # in time order
    return Result(label, tuple(jobs), tuple(segments), stats)


def _serial(jobs, setup):
    """Uniprogramming: each job, in order of arrival, owns the whole machine until it ends.

    Nothing overlaps, so no queue is needed: during an I/O burst the CPU simply
    has nothing to do. The setup (loading the job) comes before each job.
    """
    segments, first_run, finish, t = [], {}, {}, Fraction(0)
    for job in sorted(jobs, key=lambda j: Fraction(str(j.arrival))):  # sorted() is stable: ties keep list order
        t = max(t, Fraction(str(job.arrival)))
        if setup:
            segments.append(Segment("CPU", _plain(t), _plain(t + setup), job.name, "setup"))
            t += setup
        for kind, length in job.bursts:
            if kind == "cpu":
                first_run.setdefault(job.name, t)
            end = t + Fraction(str(length))
            segments.append(Segment("CPU" if kind == "cpu" else "I/O", _plain(t), _plain(end), job.name, kind))
            t = end
        finish[job.name] = t
    return segments, first_run, finish


class _Progress:
    """Where one job is: which burst, and how much of it is left."""

    def __init__(self, job: Job, order: int):
        self.job, self.name, self.order = job, job.name, order
        self.arrival = Fraction(str(job.arrival))
        self.deadline = math.inf if job.deadline is None else Fraction(str(job.deadline))  # EDF: none means last
        self.bursts = [(kind, Fraction(str(length))) for kind, length in job.bursts]
        self.step, self.left = 0, self.bursts[0][1]

    @property
    def kind(self):
        return self.bursts[self.step][0]

    def next_burst(self) -> bool:
        """Move on to the next burst; False when the job has none left."""
        self.step += 1
        if self.step < len(self.bursts):
            self.left = self.bursts[self.step][1]
        return self.step < len(self.bursts)


class _Machine:
    """One CPU and one first-come-first-served I/O device, advanced from event to event.

    At each instant the events are handled in a fixed order (I/O ends, arrivals,
    the CPU's phase ends, preemption, I/O starts, dispatch): that is what makes
    the schedule reproducible, and lets the tests work it out by hand.
    """

    def __init__(self, jobs, policy, quantum, overhead):
        self.policy, self.quantum, self.overhead = policy, quantum, overhead
        self.pending = sorted((_Progress(job, i) for i, job in enumerate(jobs)), key=lambda p: (p.arrival, p.order))
        self.unfinished, self.ready, self.io_queue = len(jobs), [], []
        self.cpu = self.phase = self.phase_start = self.phase_end = None  # phase: "switch" or "run"
        self.device = self.device_start = None
        self.last = None  # the job that had the CPU most recently; None until the first one
        self.segments, self.first_run, self.finish, self.t = [], {}, {}, Fraction(0)

    def run(self):
        while self.unfinished:
            for step in (self._end_io, self._arrive, self._end_cpu_phase, self._preempt, self._start_io,
                         self._dispatch):
                step()
            if self.unfinished:  # jump to the next instant something happens
                times = [t for t in (self.phase_end, self._device_end()) if t is not None]
                self.t = min(times + [p.arrival for p in self.pending[:1]])
        return self.segments, self.first_run, self.finish

    def _device_end(self):
        return None if self.device is None else self.device_start + self.device.left

    def _route(self, progress):
        """After a burst ends: to the ready queue, the I/O queue, or done."""
        if progress.step == len(progress.bursts):
            self.finish[progress.name] = self.t
            self.unfinished -= 1
        else:
            (self.ready if progress.kind == "cpu" else self.io_queue).append(progress)

    def _end_io(self):
        if self.device is not None and self._device_end() == self.t:
            progress, self.device = self.device, None
            self.segments.append(Segment("I/O", _plain(self.device_start), _plain(self.t), progress.name, "io"))
            progress.next_burst()
            self._route(progress)

    def _arrive(self):
        while self.pending and self.pending[0].arrival <= self.t:
            self._route(self.pending.pop(0))

    def _end_cpu_phase(self):
        if self.cpu is None or self.phase_end != self.t:
            return
        if self.phase == "switch":  # the switch is done: the job computes from now on
            return self._start_running()
        progress = self._stop_running()
        if progress.left > 0:  # its time slice ran out: to the back of the queue, behind new arrivals
            self.ready.append(progress)
        else:
            progress.next_burst()
            self._route(progress)

    def _start_running(self):
        slice_ = self.cpu.left if self.quantum is None else min(self.cpu.left, self.quantum)
        self.phase, self.phase_start, self.phase_end = "run", self.t, self.t + slice_

    def _stop_running(self):
        """Take the running job off the CPU now, recording what it computed."""
        progress = self.cpu
        if self.t > self.phase_start:  # preempted the instant it started: it did not compute, nothing to draw
            self.first_run.setdefault(progress.name, self.phase_start)
            self.segments.append(Segment("CPU", _plain(self.phase_start), _plain(self.t), progress.name, "cpu"))
        progress.left -= self.t - self.phase_start
        self.cpu = self.phase = self.phase_start = self.phase_end = None
        return progress

    def _preempt(self):
        """EDF only: a ready job with an earlier deadline takes the CPU (a switch in progress finishes first)."""
        if self.policy == "edf" and self.phase == "run" and self.ready:
            if min(p.deadline for p in self.ready) < self.cpu.deadline:
                self.ready.append(self._stop_running())

    def _start_io(self):
        if self.device is None and self.io_queue:
            self.device, self.device_start = self.io_queue.pop(0), self.t

    def _dispatch(self):
        """Give a free CPU to the next ready job, paying the switch if another job had the CPU last.

        The very first job follows no other, so it starts at once: there is no job to save.
        """
        if self.cpu is not None or not self.ready:
            return
        edf = self.policy == "edf"
        self.cpu = min(self.ready, key=lambda p: p.deadline) if edf else self.ready[0]  # min: first of equals
        self.ready.remove(self.cpu)
        switch = self.last is not None and self.cpu is not self.last
        self.last = self.cpu
        if self.overhead and switch:
            self.segments.append(Segment("CPU", _plain(self.t), _plain(self.t + self.overhead), self.cpu.name,
                                         "switch"))
            self.phase, self.phase_start, self.phase_end = "switch", self.t, self.t + self.overhead
        else:
            self._start_running()


# Drawing: matplotlib is imported inside, so importing socklab stays light. -----------------------------

OVERHEAD_STYLE = {"facecolor": "#c8c8c8", "hatch": "///", "edgecolor": "#707070", "linewidth": 0.5}
HATCHED = "hatched = no job runs; not counted as busy"  # what a hatched bar means, in the legend
MARK_STEP = 0.3  # height of one marked job's row above the CPU lane
DPI = 100  # pixels per inch of a figure of its own: sharp enough to read on a laptop, small enough to save
TEXT = 9.5  # points: labels on bars, legends, tick labels (matplotlib's 10 pt default, a notch smaller)
TITLE = 11  # points: each panel's title; the figure's own title is a little larger


def _marked(results, mark):
    """The names in ``mark`` as a tuple, each checked against the jobs of every result."""
    if isinstance(mark, str):
        mark = (mark,)
    names = tuple(m.name if isinstance(m, Job) else m for m in mark)
    for r in results:
        known = {job.name for job in r.jobs}
        for name in names:
            if name not in known:
                raise ValueError(f"mark= names jobs to follow, but {r.label!r} has no job {name!r}; "
                                 f"choose from {', '.join(sorted(known))}")
    return names


def _draw(ax, result: Result, colours: dict, title: Optional[str], span: float, mark: tuple = ()):
    """The CPU lane (top) and the I/O lane of one result on ``ax``; above them, a row per marked job
    from its arrival (|) to its finish (dot), so a job with tiny bars can still be found."""
    for seg in result.segments:
        y = 1 if seg.lane == "CPU" else 0
        if seg.kind in OVERHEADS:
            ax.barh(y, seg.length, left=seg.start, height=0.6, **OVERHEAD_STYLE)
            continue
        ax.barh(y, seg.length, left=seg.start, height=0.6, color=colours[seg.job], edgecolor="white", linewidth=0.8)
        if seg.length >= span * (0.012 * len(seg.job) + 0.006):  # name the bar where the name fits
            ax.text(seg.start + seg.length / 2, y, seg.job, ha="center", va="center", color="white",
                    fontsize=TEXT - 1, fontweight="bold", clip_on=True)
    top = 1.65 + MARK_STEP * len(mark)
    for row, name in enumerate(mark):
        y, stats, colour = 1.5 + MARK_STEP * row, result.stats[name], colours[name]
        ax.plot([stats.arrival, stats.finish], [y, y], color=colour, linewidth=1.5)
        ax.plot([stats.arrival], [y], marker="|", markersize=9, markeredgewidth=2, color=colour)
        ax.plot([stats.finish], [y], marker="o", markersize=4, color=colour)
        ax.text(stats.finish, y, f" {name}", color=colour, fontsize=TEXT, va="center", ha="left")
    for job in result.jobs:
        if job.deadline is not None:
            ax.axvline(job.deadline, color=colours[job.name], linestyle=":", linewidth=2)
            right = job.deadline > 0.6 * span  # label on the side with room
            ax.text(job.deadline, top - 0.2, f" {job.name}'s deadline ", color=colours[job.name], fontsize=TEXT,
                    va="center", ha="right" if right else "left")
    end = max(s.finish for s in result.stats.values())
    ax.axvline(end, color="black", linestyle="--", linewidth=1)
    ax.text(end, -0.5, f" all done at {end:g}", fontsize=TEXT, va="center")
    ticks, labels = [1, 0], ["CPU", "I/O device"]
    if mark:
        ticks.append(1.5 + MARK_STEP * (len(mark) - 1) / 2)
        labels.append("arrives → done")
    ax.set_yticks(ticks, labels)
    ax.tick_params(labelsize=TEXT)
    ax.set_ylim(-0.7, top)
    ax.set_xlim(0, span * 1.15)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or f"{result.label} (makespan {result.makespan:g} ms, CPU busy {result.cpu_utilisation:.0%})",
                 fontsize=TITLE)


def _legend_handles(results, colours, mark=()):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=colour, label=f"job {name}") for name, colour in colours.items()]
    kinds = {seg.kind for r in results for seg in r.segments}
    handles += [Patch(label=f"{text}: {HATCHED}", **OVERHEAD_STYLE) for kind, text in OVERHEADS.items()
                if kind in kinds]
    if mark:
        handles.append(Line2D([], [], color="black", marker="o", markersize=4, linewidth=1.5,
                              label="marked job: arrives (|) to done (●)"))
    if any(job.deadline is not None for r in results for job in r.jobs):
        handles.append(Line2D([], [], color="black", linestyle=":", linewidth=2, label="deadline (job's colour)"))
    return handles + [Line2D([], [], color="black", linestyle="--", linewidth=1, label="last job done")]


def _colours_and_span(results):
    """One colour per job name, the same in every chart of a comparison; a time axis that shows everything."""
    from matplotlib import colormaps

    names = list(dict.fromkeys(job.name for r in results for job in r.jobs))
    palette = colormaps["tab10"].colors
    span = max([s.end for r in results for s in r.segments] + [j.deadline or 0 for r in results for j in r.jobs])
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}, span


def _summary(result: Result, label: Optional[str], mark=()) -> str:
    """A schedule in words (a text alternative): the end, the CPU's time, marked jobs, deadlines."""
    stats, end = sorted(result.stats.values(), key=lambda s: s.finish), max(s.finish for s in result.stats.values())
    idle = end - min(j.arrival for j in result.jobs) - result.busy("cpu") - sum(result.busy(k) for k in OVERHEADS)
    parts = [f"{label or result.label}: all done at {end:g} ms, the CPU computing {result.cpu_utilisation:.0%} of the "
             "time", *(f"{text} {result.busy(k):g} ms" for k, text in OVERHEADS.items() if result.busy(k)),
             f"CPU idle {idle:g} ms"] + (["done " + ", ".join(f"{s.name} at {s.finish:g}" for s in stats) + " ms"]
                                          if 1 < len(stats) <= 4 and not mark else [])
    parts += [f"{s.name} arrived at {s.arrival:g} ms, done at {s.finish:g} ms ({s.turnaround:g} ms later)"
              for name in mark for s in [result.stats[name]]]
    parts += [f"{s.name}, deadline {s.deadline:g} ms, done at {s.finish:g} ms: {'met' if s.met_deadline else 'missed'}"
              for s in stats if s.deadline is not None]
    return "; ".join(parts)


def compare_schedules(results, *, title: Optional[str] = None, mark=(), figsize=None):
    """Several results stacked on one shared time axis: a list, or a dict ``{label: Result}``.
    ``mark=["U1", ...]`` adds a row per named job, from its arrival to its finish;
    ``figsize=(width, height)`` in inches (by default 8 wide, taller with each result)."""
    from matplotlib.figure import Figure

    items = list(results.items()) if isinstance(results, dict) else [(None, r) for r in results]
    if not items or not all(isinstance(r, Result) for _, r in items):
        raise TypeError("compare_schedules takes a non-empty list (or dict) of results of sched.simulate(...)")
    mark = _marked([r for _, r in items], mark)
    colours, span = _colours_and_span([r for _, r in items])
    fig = Figure(figsize=figsize or (8, 1.6 + (1.5 + 0.3 * len(mark)) * len(items)), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(items), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (label, r) in zip(axes, items):
        _draw(ax, r, colours, label and f"{label} (makespan {r.makespan:g} ms, CPU busy {r.cpu_utilisation:.0%})",
              span, mark)
    axes[-1].set_xlabel("time (ms)", fontsize=TEXT + 0.5)
    handles = _legend_handles([r for _, r in items], colours, mark)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3), fontsize=TEXT)
    if title:
        fig.suptitle(title, fontsize=TITLE + 2)
    return describe(fig, (f"{title}. " if title else "") + ". ".join(_summary(r, lb, mark) for lb, r in items) + ".")


def plot_schedule(result: Result, ax=None, *, title: Optional[str] = None, mark=(), figsize=None):
    """A Gantt chart of one result: CPU lane above, I/O device below. Returns the figure;
    pass ``ax`` to draw into an existing matplotlib Axes (the legend goes to its right).
    ``mark=["U1", ...]`` adds a row per named job, from its arrival to its finish;
    ``figsize=(width, height)`` in inches, for a figure of its own."""
    if not isinstance(result, Result):
        raise TypeError(f"plot_schedule takes a result of sched.simulate(...), got {type(result).__name__}")
    if ax is None:
        return compare_schedules({title: result} if title else [result], mark=mark, figsize=figsize)
    mark = _marked([result], mark)
    colours, span = _colours_and_span([result])
    _draw(ax, result, colours, title, span, mark)
    ax.set_xlabel("time (ms)")
    ax.legend(handles=_legend_handles([result], colours, mark), loc="upper left", bbox_to_anchor=(1.01, 1),
              fontsize=TEXT - 1)
    return ax.figure


def _mean_answer(result: Result, names):
    """The mean turnaround (time to answer) of the named jobs, exact until the end."""
    return _plain(sum(Fraction(str(result.stats[n].turnaround)) for n in names) / len(names))


def sweep(jobs, quanta, overheads=(0,), *, users=None, baseline: Optional[Result] = None,
          title: Optional[str] = None):
    """Round robin on ``jobs`` for every quantum in ``quanta`` and every switch cost in ``overheads``.

    It measures what people waiting at terminals feel, the mean time to answer (turnaround)
    of the jobs named in ``users`` (all jobs when None), and what the machine pays, the
    share of the makespan spent switching. Returns ``(figure, numbers)``, where
    ``numbers[overhead][quantum]`` is ``(mean time to answer, switching share)``. The figure
    plots both against the quantum (log scale), a line per switch cost and a dot on each
    line's lowest wait; ``baseline=`` (a result, e.g. a batch run of the same jobs) adds its
    users' mean time to answer as a dashed line."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    quanta, overheads = list(quanta), list(overheads)
    if not quanta or not overheads:
        raise ValueError("sweep needs at least one quantum and one overhead, e.g. quanta=range(1, 61), "
                         "overheads=[0, 1]")
    _check(jobs, "round-robin", 0, quanta[0], overheads[0])  # the jobs, and one pair, before the long run
    names = [job.name for job in jobs] if users is None else [u.name if isinstance(u, Job) else u for u in users]
    if not names:
        raise ValueError("users= names at least one job whose time to answer to measure, e.g. users=['U1']")
    missing = [n for n in names if n not in {job.name for job in jobs}]
    if missing:
        raise ValueError(f"users= names jobs of the list, but there is no job {missing[0]!r}")
    if baseline is not None and (not isinstance(baseline, Result) or any(n not in baseline.stats for n in names)):
        raise TypeError("baseline= takes a result of sched.simulate(...) on jobs that include the users")
    numbers = {}
    for overhead in overheads:
        numbers[overhead] = {}
        for quantum in quanta:
            r = simulate(jobs, "round-robin", quantum=quantum, overhead=overhead)
            numbers[overhead][quantum] = (_mean_answer(r, names), float(r.busy("switch") / r.makespan))

    fig = Figure(figsize=(9.5, 3.9), dpi=DPI, layout="constrained")
    wait_ax, switch_ax = fig.subplots(1, 2)
    low, high, said = min(quanta), max(quanta), []
    for i, overhead in enumerate(overheads):
        rows, colour = numbers[overhead], f"C{i % 10}"
        wait_ax.plot(quanta, [rows[q][0] for q in quanta], color=colour, label=f"switch {overhead:g} ms")
        best = min(quanta, key=lambda q: rows[q][0])  # the first of equals
        wait_ax.plot([best], [rows[best][0]], "o", color=colour)
        said.append(f"with switches of {overhead:g} ms, the mean time to answer is lowest, {rows[best][0]:.1f} ms, at "
                    f"a quantum of {best:g} ms, and {rows[high][0]:.1f} ms at {high:g} ms" + (
                        f"; {rows[best][1]:.0%} of the CPU time goes to switches at {best:g} ms, {rows[low][1]:.0%} "
                        f"at {low:g} ms" if overhead else ""))
        switch_ax.plot(quanta, [100 * rows[q][1] for q in quanta], color=colour, label=f"switch {overhead:g} ms")
    extra = [Line2D([], [], color="black", marker="o", linestyle="none", label="lowest wait on each line")]
    if baseline is not None:
        level = _mean_answer(baseline, names)
        wait_ax.axhline(level, color="black", linestyle="--", linewidth=1)
        extra.append(Line2D([], [], color="black", linestyle="--", linewidth=1,
                            label=f"{baseline.label}: {level:.3g} ms"))
    who = "all jobs" if users is None else ", ".join(names)
    wait_ax.set_title(f"Mean time to answer ({who})", fontsize=TITLE)
    wait_ax.set_ylabel("mean time to answer (ms)", fontsize=TEXT + 0.5)
    switch_ax.set_title("CPU time lost to context switches", fontsize=TITLE)
    switch_ax.set_ylabel("share of the makespan (%)", fontsize=TEXT + 0.5)
    handles, _ = wait_ax.get_legend_handles_labels()  # the same lines in both panels: one legend below
    fig.legend(handles=handles + extra, loc="outside lower center", ncols=len(handles) + len(extra), fontsize=TEXT)
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if low <= t <= high]
    for ax in (wait_ax, switch_ax):
        ax.set_xlabel("time slice, quantum (ms), logarithmic scale" if high >= 10 * low
                      else "time slice, quantum (ms)", fontsize=TEXT + 0.5)
        ax.tick_params(labelsize=TEXT)
        if high >= 10 * low:  # a log scale spreads out the short slices
            ax.set_xscale("log")
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=TITLE + 2)
    said = "; ".join(said) + (f"; {baseline.label} (dashed line): {level:.1f} ms" if baseline is not None else "")
    describe(fig, (title or f"Round robin with quanta from {low:g} to {high:g} ms") + f". Left: mean time to answer of "
             f"{who}; right: share of the CPU time lost to switches. {said[0].upper()}{said[1:]}.")
    return fig, numbers
