"""socklab: the helper library of "Sockets and Concurrency in Python".

It keeps the plumbing out of the notebooks, so they can show socket code:

    import socklab
    server = socklab.serve(mode="threading", work=0.2)   # a live server, loopback, port 0
    socklab.ask(server, b"hello\\n")                       # -> b'HELLO\\n'
    run = socklab.load(server, clients=8)                 # eight clients at once
    socklab.plot_timeline(run)                            # who waited, who was served, by whom
    server.stop()                                         # milliseconds; nothing left behind

How a live server works: read ``servers`` and ``mixin`` (about 600 lines), with
``stopping`` (how a running handler is stopped) beside them.

The modules, in layers, one row each: a module imports only from the rows
below its own, so any module can be read knowing only what is under it
(tests/test_architecture.py reads this picture and checks every import)::

    widgets  grading  cli           quizzes and experiments; the labs' checks (a package, a
                                    module per lab); python -m socklab
    inside                          one request traced through setup, handle, finish;
                                    the class diagram
    clients  environment  spans     ask and load; what this machine offers; notebook 08's workers
    registry  timeline  sched       serve() by name, running(), stop_all(); Gantt charts;
                                    notebook 07's scheduler
    eventloop                       the selectors and asyncio servers: one thread, every client
    servers                         Server: the serve loop in a thread, and a stop() that
                                    leaves nothing behind
    mixin                           LabMixIn: what socklab adds to a socketserver class
    records  handlers  children     what each request did; the built-in echo; forked children
    kinds  stopping  tracebacks  display  timeouts  checks  pairs
                                    kinds, modes, addresses; work() and stopping a handler;
                                    a handler's error as a learner reads it; figures in
                                    notebooks; a call bounded in time; a claim checked live;
                                    a connected TCP pair
    errors                          the exceptions, each naming its fix
"""

from .checks import check
from .clients import ClientResult, LoadResult, ask, load
from .environment import environment, free_cores, gil_enabled, needs
from .errors import HandlerError, SocklabError, StopTimeout
from .handlers import UpperDatagramHandler, UpperEchoHandler
from .inside import Trace, plot_classes, server_classes, trace_request
from .kinds import KINDS, MODES, format_address
from .mixin import server_class
from .pairs import connected_pair, wait_until_queued
from .records import Request
from .registry import running, serve, stop_all
from .servers import Server
from .stopping import work
from .timeline import compare, plot_timeline


def __getattr__(name):
    # ipywidgets loads only when a notebook asks for a quiz: a server started
    # from the command line, or forked from this process, stays small.
    if name in ("quiz", "explorer", "lifecycle", "experiment"):
        from . import widgets

        return getattr(widgets, name)
    # notebook 07's scheduler simulator, notebook 08's workers, the labs' checks
    # (socklab.grading.check_...(...) in one line): loaded on first use.
    if name in ("sched", "spans", "grading"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'socklab' has no attribute {name!r}")

__version__ = "1.0.0"

__all__ = [
    "KINDS", "MODES", "ClientResult", "HandlerError", "LoadResult", "Request", "Server", "SocklabError",
    "StopTimeout", "UpperDatagramHandler", "UpperEchoHandler", "ask", "check", "connected_pair", "wait_until_queued", "compare", "environment", "free_cores", "gil_enabled", "needs",
    "format_address", "load", "plot_timeline", "running", "serve", "server_class", "stop_all", "work",
    "Trace", "trace_request", "plot_classes", "server_classes",
]
