"""Timelines: what happened to each request, as Gantt charts.

A lane per client. Each lane shows two things the course is about:

* waiting: the client has asked, and no worker has started on it yet (it sits
  in the kernel's accept queue, or in the socket's receive buffer);
* being served: a worker (the serve loop, a thread, a process) runs the handler.

The dashed line marks the makespan: the time from the first client's start to
the last client's answer. Serial servers stack the served bars like stairs;
concurrent ones line them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .display import describe, show_in_notebooks

# matplotlib is imported inside the drawing functions: a server started from the
# command line (or forked from this process) should not pay for it.

WAITING = "#f6b26b"  # light orange
SERVED = "#1f5fa8"  # deep blue
FAILED = "#cc0000"
UNKNOWN = "#9e9e9e"  # an outside server: the client saw only the round trip


@dataclass(frozen=True)
class Visit:
    """One client's exchange, in seconds since the first client started."""

    index: int
    start: float
    served_from: Optional[float]
    served_to: Optional[float]
    end: float
    worker: Optional[str]
    error: Optional[str]

    @property
    def waited(self) -> Optional[float]:
        """Seconds between asking and a worker starting on this request."""
        return None if self.served_from is None else self.served_from - self.start


def _short_workers(records) -> dict:
    """'serve loop' -> 'loop', 'event loop' -> 'events', threads -> T1, T2 ...,
    processes -> P1, P2 ...
    numbered in the order they first started work."""
    names, counts = {}, {"thread": 0, "process": 0}
    for record in sorted(records, key=lambda r: r.started):
        if record.worker in names:
            continue
        kind = record.worker.split()[0]
        if kind in counts:
            counts[kind] += 1
            names[record.worker] = f"{kind[0].upper()}{counts[kind]}"
        elif record.worker == "event loop":
            names[record.worker] = "events"
        else:
            names[record.worker] = "loop"
    return names


def visits(result) -> list:
    """Join a ``LoadResult``'s client timings to its server records: one ``Visit`` per client."""
    t0 = min(c.start for c in result.clients)
    short = _short_workers(result.requests)
    by_client = {}
    for record in result.requests:
        by_client[record.client] = record  # the latest record for that address
    out = []
    for client in result.clients:
        record = by_client.get(client.address)
        out.append(
            Visit(
                index=client.index,
                start=client.start - t0,
                served_from=None if record is None else record.started - t0,
                served_to=None if record is None else record.ended - t0,
                end=client.end - t0,
                worker=None if record is None else short[record.worker],
                error=client.error or (record.error if record is not None else None),
            )
        )
    return out


def _order(lanes) -> list:
    """Lanes top to bottom in the order a worker started on them, so a serial
    server draws a staircase; clients never served come last."""
    return sorted(lanes, key=lambda s: (s.served_from is None, s.served_from or 0.0, s.start, s.index))


def _most_at_once(lanes) -> int:
    """The most clients being served at the same moment."""
    events = sorted((t, change) for s in lanes if s.served_from is not None
                    for t, change in ((s.served_from, 1), (s.served_to, -1)))
    running = most = 0
    for _, change in events:  # at a tie, an end (-1) sorts first: back to back is not at once
        running += change
        most = max(most, running)
    return most


def summary(result, name: Optional[str] = None) -> str:
    """One run in words, as a figure's text alternative says it: how long it took, how many
    requests were in progress at once, how long each took to serve, the waits, failures."""
    lanes = visits(result)
    served = _order([s for s in lanes if s.served_from is not None])
    parts = [f"{name or result.label}: {len(lanes)} clients, done after {result.makespan:.2f} s"]
    if served:
        most = _most_at_once(served)
        parts.append("one served at a time" if most == 1 else f"up to {most} in progress at once")
        took = sorted(f"{s.served_to - s.served_from:.2f}" for s in served)
        parts.append(f"each took {took[0]} s to serve" if took[0] == took[-1]
                     else f"each took {took[0]} to {took[-1]} s to serve")
        waits = [s.waited for s in served]
        if max(waits) < 0.05:
            parts.append("no client waited more than 0.05 s")
        elif len(waits) <= 8:
            parts.append("waits before service, in the order served: " + ", ".join(f"{w:.2f}" for w in waits) + " s")
        else:
            parts.append(f"the longest wait was {max(waits):.2f} s")
    failed = sum(1 for s in lanes if s.error)
    if failed:
        parts.append(f"{failed} failed")
    return "; ".join(parts)


def _legend_handles(lanes) -> list:
    from matplotlib.patches import Patch

    handles = [Patch(color=WAITING, label="waiting (asked, not yet served)"),
               Patch(color=SERVED, label="being served (worker named in the bar)")]
    if any(s.error for s in lanes):
        handles.append(Patch(color=FAILED, label="failed"))
    if any(s.served_from is None and not s.error for s in lanes):
        handles.append(Patch(color=UNKNOWN, label="round trip (no server records)"))
    return handles


def _draw_by_worker(ax, result, title=None):
    """A lane per worker: what each thread, process or loop did, and when."""
    served = [s for s in visits(result) if s.served_from is not None]
    workers = sorted({s.worker for s in served}, key=lambda w: min(s.served_from for s in served if s.worker == w))
    n = len(workers)
    for row, worker in enumerate(workers):
        y = n - 1 - row
        for span in (s for s in served if s.worker == worker):
            ax.barh(y, span.served_to - span.served_from, left=span.served_from, height=0.7,
                    color=FAILED if span.error else SERVED)
            if n <= 40:
                ax.text((span.served_from + span.served_to) / 2, y, f"c{span.index + 1}", ha="center",
                        va="center", color="white", fontsize=8, fontweight="bold", clip_on=True)
    makespan = result.makespan
    ax.axvline(makespan, color="black", linestyle="--", linewidth=1)
    ax.text(makespan, n - 0.45, f" makespan {makespan:.2f} s", va="bottom", ha="left", fontsize=9)
    ax.set_yticks(range(n))
    ax.set_yticklabels(workers[::-1])
    ax.set_ylim(-0.6, n + 0.5)
    ax.set_ylabel("worker")
    ax.set_xlabel("time since the first client started (s)")
    ax.set_xlim(0, max(ax.get_xlim()[1], makespan * 1.22))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or f"{result.label}: {len(workers)} worker(s) for {len(result.clients)} clients, "
                 f"makespan {makespan:.2f} s", fontsize=11)
    return served


def _draw(ax, result, title=None, show_workers=True):
    lanes = _order(visits(result))
    n = len(lanes)
    height = 0.7
    for row, span in enumerate(lanes):
        y = n - 1 - row  # first served at the top
        if span.served_from is None:
            ax.barh(y, span.end - span.start, left=span.start, height=height,
                    color=FAILED if span.error else UNKNOWN)
            continue
        ax.barh(y, max(span.served_from - span.start, 0), left=span.start, height=height, color=WAITING)
        ax.barh(y, span.served_to - span.served_from, left=span.served_from, height=height,
                color=FAILED if span.error else SERVED)
        if show_workers and span.worker and n <= 40:
            ax.text((span.served_from + span.served_to) / 2, y, span.worker, ha="center", va="center",
                    color="white", fontsize=8, fontweight="bold", clip_on=True)
    makespan = result.makespan
    ax.axvline(makespan, color="black", linestyle="--", linewidth=1)
    ax.text(makespan, n - 0.45, f" makespan {makespan:.2f} s", va="bottom", ha="left", fontsize=9)
    labels = [f"client {span.index + 1}" for span in lanes]
    if n > 16:  # keep every few labels, or they overlap
        step = -(-n // 8)
        labels = [label if row % step == 0 else "" for row, label in enumerate(labels)]
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels[::-1])
    ax.set_ylim(-0.6, n + 0.5)
    ax.set_ylabel("client (in the order served)")
    ax.set_xlabel("time since the first client started (s)")
    left, right = ax.get_xlim()
    ax.set_xlim(0, max(right, makespan * 1.22))  # room for the makespan label
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or f"{result.label}: {n} clients, makespan {makespan:.2f} s", fontsize=11)
    return lanes


def plot_timeline(result, *, title: Optional[str] = None, ax=None, show_workers: bool = True,
                  by: str = "client"):
    """Draw one ``LoadResult`` as a Gantt chart and return the figure.

    ``by="client"``: a lane per client, waiting in orange, being served in blue
    with the worker's short name (loop, T1, P1 ...) inside the bar.
    ``by="worker"``: a lane per worker, each bar a client it served (c1, c2 ...).
    The makespan is dashed. Pass ``ax`` to draw into an existing matplotlib Axes.
    """
    if by not in ("client", "worker"):
        raise ValueError(f"by must be 'client' or 'worker', got {by!r}")
    from matplotlib.figure import Figure

    _check_result(result)
    show_in_notebooks()
    own = ax is None
    if own:
        n = len(result.clients) if by == "client" else max(1, len({r.worker for r in result.requests}))
        fig = Figure(figsize=(9, min(2.0 + 0.32 * n, 12)), layout="constrained")
        ax = fig.add_subplot()
    if by == "worker":
        lanes = _draw_by_worker(ax, result, title=title)
    else:
        lanes = _draw(ax, result, title=title, show_workers=show_workers)
    if by == "worker":
        from matplotlib.patches import Patch

        handles = [Patch(color=SERVED, label="serving a client (c3: client 3)")]
        if any(s.error for s in lanes):
            handles.append(Patch(color=FAILED, label="failed"))
    else:
        handles = _legend_handles(lanes)
    if own:  # below the chart, where it covers neither bars nor the makespan label
        ax.figure.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=9)
        text = (f"{title}. " if title else "") + summary(result) + "."
        if by == "worker":
            counts = {}
            for lane in lanes:
                counts[lane.worker] = counts.get(lane.worker, 0) + 1
            text += (" Lanes are workers: " + ", ".join(f"{w} served {c}" for w, c in counts.items()) + ".")
        describe(ax.figure, text)
    else:
        ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.95)
    return ax.figure


def compare(results, *, title: Optional[str] = None):
    """Several runs stacked on one shared time axis, e.g. serial / threading / forking.

    ``results`` is a list of ``LoadResult`` or a dict ``{label: LoadResult}``.
    """
    from matplotlib.figure import Figure

    if isinstance(results, dict):
        items = list(results.items())
    else:
        items = [(None, r) for r in results]
    if not items:
        raise ValueError("compare needs at least one result from socklab.load()")
    for _, result in items:
        _check_result(result)
    n = max(len(r.clients) for _, r in items)
    per = 0.9 + 0.26 * n
    fig = Figure(figsize=(9, min(0.8 + per * len(items), 16)), layout="constrained")
    axes = fig.subplots(len(items), 1, sharex=True, squeeze=False)[:, 0]
    lanes = []
    for i, (ax, (label, result)) in enumerate(zip(axes, items)):
        name = label or result.label
        lanes += _draw(ax, result, title=f"{name}: makespan {result.makespan:.2f} s")
        ax.set_ylabel("")  # one label for the whole figure: per-plot ones collide
        if i < len(items) - 1:
            ax.set_xlabel("")
    fig.supylabel("client (in the order served)", fontsize=10)
    fig.legend(handles=_legend_handles(lanes), loc="outside lower center", ncols=4, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=12)
    return describe(fig, (f"{title}. " if title else "")
                    + ". ".join(summary(result, label) for label, result in items) + ".")


def _check_result(result):
    # Duck-typed: socklab.clients imports this module, not the other way round.
    if not all(hasattr(result, name) for name in ("clients", "requests", "makespan", "label")):
        raise TypeError(f"expected the result of socklab.load(), got {type(result).__name__}")
