"""Look inside socketserver: one request traced through its handler, and the class diagram.

``trace_request`` sends one request to a live server whose handler records
which of ``setup``, ``handle`` and ``finish`` ran, and what it was given
(``self.request``, ``self.client_address``, ``self.server``). It can make one
step raise on purpose, to show what the others do then.

``plot_classes`` draws socketserver's server classes from the classes
themselves (their ``__bases__``), so the diagram is true for the Python that
runs it: 3.12 added forking Unix servers, and they appear there.
"""

from __future__ import annotations

import html
import socketserver
from dataclasses import dataclass, field
from typing import Optional

from .clients import exchange
from .display import describe
from .errors import HandlerError
from .kinds import KINDS, STREAM_KINDS, format_address, normalise
from .registry import serve
from .tracebacks import last_line

HANDLER_BASES = {
    "BaseRequestHandler": socketserver.BaseRequestHandler,
    "StreamRequestHandler": socketserver.StreamRequestHandler,
    "DatagramRequestHandler": socketserver.DatagramRequestHandler,
}
STEPS = ("setup", "handle", "finish")


class Planned(Exception):
    """The error a traced step raises on purpose."""


@dataclass
class Trace:
    """What one request went through, as its handler saw it."""

    kind: str
    base: str
    raises: Optional[str]
    steps: list = field(default_factory=list)  #: [(step, "returned" | "raised ...")], in order
    request: str = ""  #: what ``self.request`` was
    client_address: str = ""  #: ``self.client_address``, formatted
    server: str = ""  #: the class of ``self.server``
    sent: bytes = b""  #: what the client sent
    reply: Optional[bytes] = None  #: what came back (None: nothing, before the timeout)
    error: str = ""  #: the handler's error as the asking cell saw it, one line

    @property
    def ran(self) -> list:
        """The steps that ran, in order."""
        return [name for name, _ in self.steps]

    def _rows(self):
        outcome = dict(self.steps)
        for name in STEPS:
            yield name, outcome.get(name, "did not run")

    def _title(self) -> str:
        return f"{self.base} on a {self.kind} server" + (f", {self.raises}() raising" if self.raises else "")

    def _handler_saw(self) -> list:
        return [("self.request", self.request or "-"),
                ("self.client_address", self.client_address or "-"),
                ("self.server", self.server or "-")]

    def _got_back(self) -> str:
        return "nothing" if self.reply is None else repr(self.reply)

    def __str__(self):
        lines = [self._title()]
        lines += [f"  {name:<7} {what}" for name, what in self._rows()]
        lines += [f"  {label:<20}{value}" for label, value in self._handler_saw()]
        lines.append(f"  client sent {self.sent!r}, got back {self._got_back()}")
        if self.error:
            lines.append(f"  socklab reported: {self.error}")
        return "\n".join(lines)

    def _repr_html_(self):
        def colour(what):
            good = what == "returned"
            return "#1a7f37" if good else ("#777" if what == "did not run" else "#b3261e")

        rows = "".join(
            f"<tr><td><code>{name}()</code></td><td style='color:{colour(what)}'>{html.escape(what)}</td></tr>"
            for name, what in self._rows()
        )
        facts = self._handler_saw() + [("client sent", repr(self.sent)), ("client got back", self._got_back())]
        if self.error:
            facts.append(("socklab reported", self.error))
        rows += "".join(f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v)}</code></td></tr>" for k, v in facts)
        return f"<b>{html.escape(self._title())}</b><table>{rows}</table>"


def _describe_request(request) -> str:
    if isinstance(request, tuple):
        data, sock = request
        return f"a pair: ({bytes(data)!r}, {type(sock).__module__}.{type(sock).__name__})"
    return f"{type(request).__module__}.{type(request).__name__} (connected to the client)"


def _traced_handler(base_class, raises, trace: Trace):
    """A handler class that answers uppercased and notes each step in ``trace``."""

    def step(name, body):
        if raises == name:
            trace.steps.append((name, "raised Planned"))
            raise Planned(f"{name}() failed on purpose")
        try:
            body()
        except Exception as exc:
            trace.steps.append((name, f"raised {type(exc).__name__}: {exc}"))
            raise
        trace.steps.append((name, "returned"))

    class Traced(base_class):
        def __init__(self, request, client_address, server):
            # Noted on arrival, as BaseRequestHandler.__init__ sets them before setup().
            trace.request = _describe_request(request)
            trace.client_address = repr(client_address) if client_address == "" else format_address(client_address)
            stdlib = next(c for c in type(server).__mro__ if c.__module__ == "socketserver")
            trace.server = f"{type(server).__name__}, a socketserver.{stdlib.__name__}"
            super().__init__(request, client_address, server)

        def setup(self):
            step("setup", super().setup)

        def handle(self):
            step("handle", self._answer)

        def _answer(self):
            if hasattr(self, "rfile"):  # Stream- and DatagramRequestHandler
                for line in self.rfile:
                    self.wfile.write(line.upper())
            elif isinstance(self.request, tuple):  # datagram, BaseRequestHandler
                data, sock = self.request
                sock.sendto(data.upper(), self.client_address)
            else:  # stream, BaseRequestHandler: read until the client closes
                while True:
                    data = self.request.recv(65536)
                    if not data:
                        break
                    self.request.sendall(data.upper())

        def finish(self):
            step("finish", super().finish)

    Traced.__name__ = Traced.__qualname__ = f"Traced{base_class.__name__}"
    return Traced


def check_base(base, kind):
    if base is None:
        return "StreamRequestHandler" if kind in STREAM_KINDS else "DatagramRequestHandler"
    if isinstance(base, type) and base in HANDLER_BASES.values():
        return base.__name__
    if isinstance(base, str) and base in HANDLER_BASES:
        return base
    raise ValueError(f"base must be one of {', '.join(HANDLER_BASES)}, got {base!r}")


def check_raises(raises):
    if raises is not None and raises not in STEPS:
        raise ValueError(f"raises must be None or one of {', '.join(STEPS)}, got {raises!r}")
    return raises


def trace_request(kind: str = "tcp", base=None, raises: Optional[str] = None, data: bytes = b"hello\n",
                  timeout: float = 1.0) -> Trace:
    """Serve one request with a traced handler and return what happened.

    ``base`` is the handler's base class (a name or the class): by default
    StreamRequestHandler for stream kinds, DatagramRequestHandler for datagram
    kinds. ``raises`` makes one step ("setup", "handle" or "finish") raise.
    """
    kind = normalise(kind)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    base = check_base(base, kind)
    raises = check_raises(raises)
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes, like b'hello\\n', not {type(data).__name__}")
    trace = Trace(kind, base, raises, sent=bytes(data))
    handler = _traced_handler(HANDLER_BASES[base], raises, trace)
    with serve(handler, kind=kind, name=f"trace-{kind}") as server:
        # What ask() does, keeping the reply even when the handler then raises.
        result = exchange(0, kind, server.address, bytes(data), timeout, server.has_new_errors)
        if not result.error:
            server.wait_for([result.address])
        if kind in STREAM_KINDS or not result.error:
            # b"" on a stream: the server closed without a word; on a datagram
            # socket: an empty datagram. None: no datagram came at all.
            trace.reply = result.reply
        try:
            server.check()
        except HandlerError as exc:
            last = last_line(exc.tracebacks[0]) if exc.tracebacks else str(exc)
            trace.error = f"HandlerError, whose last line is {last}"
        if result.error and not trace.error:
            trace.error = result.error
    return trace


# ---------------------------------------------------------------------------
# The class diagram


def server_classes(module=socketserver) -> list:
    """socketserver's public server classes and mix-ins, bases before subclasses."""
    if not isinstance(getattr(module, "BaseServer", None), type):
        raise TypeError(f"module must be socketserver (or a module with a BaseServer class), got {module!r}")
    found = [obj for name, obj in vars(module).items()
             if isinstance(obj, type) and not name.startswith("_")
             and (issubclass(obj, module.BaseServer) or name.endswith("MixIn"))]
    return sorted(found, key=lambda c: (_depth(c, found), c.__name__))


def _depth(cls, among) -> int:
    bases = [b for b in cls.__bases__ if b in among]
    return 1 + max((_depth(b, among) for b in bases), default=-1)


def _subtree_size(cls, classes) -> int:
    return 1 + sum(_subtree_size(c, classes) for c in classes if cls in c.__bases__)


def _tree_layout(classes) -> dict:
    """{class: (row, column)}: one row per class, each child below its parent.

    A parent's largest subtree continues straight down, in the parent's column;
    its other children come first, one column to the right, each reached by a
    branch off that straight line. No line then has to pass another class's row
    on the side where its ready-made classes are drawn.
    """
    place = {}

    def visit(cls, column):
        place[cls] = (len(place), column)
        children = sorted((c for c in classes if cls in c.__bases__ and c not in place),
                          key=lambda c: (_subtree_size(c, classes), c.__name__))
        for child in children[:-1]:
            visit(child, column + 1)
        if children:
            visit(children[-1], column)

    for root in (c for c in classes if not any(b in classes for b in c.__bases__)):
        visit(root, 0)
    return place


def _is_mixin(cls) -> bool:
    return cls.__name__.endswith("MixIn")


def plot_classes(module=socketserver, title: Optional[str] = None):
    """Draw the server classes as boxes, an arrow from each base to its subclass.

    The middle is the tree of the basic servers, from ``__bases__``: one row
    per class, each under its own parent (a second child sits to the right, on
    a branch). Each ready-made class (a mix-in plus a basic server) sits in its
    server's row, on the side of its mix-in, whose line runs down the edge.
    Where a line must pass a row (Python 3.12 adds ForkingUnixStreamServer),
    it passes over that row's arrow with a visible gap, and no line crosses a
    box. On a newer Python, more ready-made classes appear; nothing here names them.
    """
    import platform

    from matplotlib import patheffects
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch


    classes = server_classes(module)
    mixins = sorted((c for c in classes if _is_mixin(c)), key=lambda c: c.__name__)
    combos = [c for c in classes if any(_is_mixin(b) for b in c.__bases__)]
    place = _tree_layout([c for c in classes if c not in mixins and c not in combos])  # BaseServer, basic servers
    row = {c: r for c, (r, _) in place.items()}
    shift = 1.25                                   # how far right a side branch sits
    widest = max(col for _, col in place.values()) * shift
    side = {m: (-1 if i % 2 == 0 else 1) * (1 + i // 2) for i, m in enumerate(mixins)}
    # ready-made classes: left of the tree, or right of its widest branch; each mix-in's line beyond them
    column = {-1: -2.6, 1: widest + 2.6}
    bus = {-1: -4.6, 1: widest + 4.6}

    figure = Figure(figsize=(11, 0.75 * len(place) + 2.2), layout="constrained")
    axes = figure.add_subplot()
    colours = {"core": "#cfe2f3", "mixin": "#fdd9a8", "combo": "#e6e6e6"}
    boxes = {}

    def box(cls, x, y, colour):
        boxes[cls] = axes.text(x, y, cls.__name__, ha="center", va="center", fontsize=9, zorder=3,
                               bbox=dict(boxstyle="round,pad=0.35", facecolor=colour, edgecolor="#444"))

    def arrow(source, target, xy_from=None, connection="arc3", halo=False):
        drawn = axes.annotate("", xy=boxes[target].get_position(), xytext=xy_from or boxes[source].get_position(),
                              arrowprops=dict(arrowstyle="-|>", color="#555", lw=1,
                                              patchA=None if xy_from else boxes[source].get_bbox_patch(),
                                              patchB=boxes[target].get_bbox_patch(), connectionstyle=connection,
                                              shrinkA=0 if xy_from else 2),
                              zorder=2.5 if halo else 2)
        if halo:  # a white edge: a line it passes over shows a gap, so the two do not read as joined
            drawn.arrow_patch.set_path_effects([patheffects.withStroke(linewidth=5, foreground="white")])

    for cls, (r, col) in place.items():
        box(cls, col * shift, -r, colours["core"])
    for mixin in mixins:
        box(mixin, bus[side[mixin]], 0.9, colours["mixin"])
    for cls in combos:
        mixin = next(b for b in cls.__bases__ if b in mixins)
        server = next(b for b in cls.__bases__ if b in row)
        box(cls, column[side[mixin]], -row[server], colours["combo"])
    # The basic servers' tree: straight down to the child in the same column; a child one column
    # to the right is reached by a branch that leaves the straight line just above the child's row.
    for cls, (r, col) in place.items():
        for base in cls.__bases__:
            if base not in place:
                continue
            base_row, base_col = place[base]
            if col == base_col:
                arrow(base, cls, halo=r - base_row > 1)
            else:
                start = (base_col * shift, -r + 0.5)
                axes.plot(*start, marker="o", markersize=4, color="#555", zorder=3)   # where the branch leaves
                arrow(base, cls, xy_from=start, connection="angle,angleA=0,angleB=90,rad=0")
    for cls in combos:
        mixin = next(b for b in cls.__bases__ if b in mixins)
        server = next(b for b in cls.__bases__ if b in row)
        arrow(server, cls)
        arrow(mixin, cls, xy_from=(bus[side[mixin]], -row[server]))
    for mixin in mixins:  # each mix-in's line down the edge, to its lowest class
        lowest = min((boxes[c].get_position()[1] for c in combos if mixin in c.__bases__), default=0.9)
        axes.add_line(Line2D([bus[side[mixin]]] * 2, [0.9, lowest], color="#555", lw=1, zorder=1))

    axes.set_xlim(bus[-1] - 0.9, bus[1] + 0.9)
    axes.set_ylim(-len(place) + 0.5, 1.4)
    axes.axis("off")
    axes.set_title(title or f"socketserver's server classes on Python {platform.python_version()}, "
                            "read from their __bases__: each arrow points from a base to a subclass", fontsize=11)
    figure.legend(handles=[Patch(facecolor=colours["core"], edgecolor="#444", label="BaseServer and the basic servers"),
                           Patch(facecolor=colours["mixin"], edgecolor="#444", label="mix-ins"),
                           Patch(facecolor=colours["combo"], edgecolor="#444", label="ready-made: mix-in + server")],
                  loc="outside lower center", ncols=3, frameon=False, fontsize=9)
    children = {}
    for cls in place:
        for base in cls.__bases__:
            if base in place:
                children.setdefault(base, []).append(cls.__name__)
    tree = "; ".join(f"{base.__name__} is the base of {' and '.join(names)}" for base, names in children.items())
    made = "; ".join(f"{m.__name__} combines with {', '.join(next(b for b in c.__bases__ if b is not m).__name__ for c in mine)} "
                     f"into {', '.join(c.__name__ for c in mine)}"
                     for m in mixins if (mine := [c for c in combos if m in c.__bases__]))
    # Which classes exist depends on the Python (3.12 adds ForkingUnixStreamServer ...): a fact
    # of the machine at hand, said inside "(on this machine: ...)", with no parentheses inside.
    return describe(figure, f"socketserver's server classes, each arrow from a base to a subclass (on this machine: "
                            f"Python {platform.python_version()}; {tree}; the ready-made classes, each a mix-in plus a "
                            f"basic server: {made}).")
