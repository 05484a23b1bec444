"""socklab: the helper library of "Sockets and Concurrency in Python".

It keeps the plumbing out of the notebooks, so they can show socket code:

    import socklab
    server = socklab.serve(mode="threading", work=0.2)   # a live server, loopback, port 0
    socklab.ask(server, b"hello\\n")                       # -> b'HELLO\\n'
    run = socklab.load(server, clients=8)                 # eight clients at once
    socklab.plot_timeline(run)                            # who waited, who was served, by whom
    server.stop()                                         # milliseconds; nothing left behind

Modules: ``servers`` (start and stop), ``handlers`` (the built-in echo),
``clients`` (ask and load), ``timeline`` (Gantt charts), ``environment``
(what this machine offers), ``inside`` (a request traced, the class diagram),
``widgets`` (quizzes, explorers, experiments), ``sched`` (the scheduler
simulator of notebook 07: ``socklab.sched.simulate(jobs, policy)``),
``checks`` (a claim checked live, printed with the value it saw),
``pairs`` (a connected TCP pair and waiting for bytes, notebooks 02 to 04),
``spans`` (notebook 08: threads and processes that record when they ran,
and the chart of it), ``cli`` (``python -m socklab``).
"""

from .checks import check
from .clients import ClientResult, LoadResult, ask, load
from .environment import environment, free_cores, gil_enabled, needs
from .errors import HandlerError, SocklabError, StopTimeout
from .handlers import UpperDatagramHandler, UpperEchoHandler
from .inside import Trace, plot_classes, server_classes, trace_request
from .pairs import connected_pair, wait_until_queued
from .servers import KINDS, MODES, Request, Server, format_address, running, serve, server_class, stop_all, work
from .timeline import compare, plot_timeline


def __getattr__(name):
    # ipywidgets loads only when a notebook asks for a quiz: a server started
    # from the command line, or forked from this process, stays small.
    if name in ("quiz", "explorer", "lifecycle", "experiment"):
        from . import widgets

        return getattr(widgets, name)
    if name in ("sched", "spans"):  # notebook 07's scheduler simulator, notebook 08's workers: loaded on first use
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "grading":  # the labs' checks: socklab.grading.check_...(...) in one line
        import importlib

        return importlib.import_module(".grading", __name__)
    raise AttributeError(f"module 'socklab' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "KINDS", "MODES", "ClientResult", "HandlerError", "LoadResult", "Request", "Server", "SocklabError",
    "StopTimeout", "UpperDatagramHandler", "UpperEchoHandler", "ask", "check", "connected_pair", "wait_until_queued", "compare", "environment", "free_cores", "gil_enabled", "needs",
    "format_address", "load", "plot_timeline", "quiz", "explorer", "lifecycle", "experiment", "running", "serve", "server_class", "stop_all", "work",
    "Trace", "trace_request", "plot_classes", "server_classes",
]
