"""``serve()`` starts a server by name; ``running()`` and ``stop_all()`` find them again.

A notebook re-runs cells. Starting a server under a name that is already
running stops that one first, so re-running a cell never meets "Address
already in use", and ``stop_all()`` (also called at exit, and when the learner
interrupts a socklab call) leaves nothing behind. The arguments are checked
before anything starts, and a wrong one gets one line that names the fix.
"""

from __future__ import annotations

import atexit
import difflib
import os
import socketserver
import sys
import threading
import warnings
from typing import Optional

from .errors import StopTimeout
from .eventloop import EventLoopServer
from .handlers import default_handler
from .kinds import KINDS, MODES, SOCKETSERVER_MODES, STREAM_KINDS, UNIX_KINDS, check_kind_mode, check_timeout, normalise
from .servers import Server
from .stopping import check_seconds

_registry: dict = {}  # name -> the Server started under that name (stopped ones are forgotten)
_registry_lock = threading.RLock()


def serve(
    handler=None,
    kind: str = "tcp",
    mode: str = "serial",
    *,
    host: Optional[str] = None,
    port: int = 0,
    path: Optional[str] = None,
    name: Optional[str] = None,
    backlog: Optional[int] = None,
    work: float = 0.0,
    cpu: bool = False,
    record: bool = True,
) -> Server:
    """Start a socketserver server in the background and return its handle.

    handler  a ``socketserver.BaseRequestHandler`` subclass (the class, not an
             instance). Leave it out for the built-in uppercase echo, which
             answers each line (or datagram) uppercased after ``work`` seconds of
             sleep, or of CPU work with ``cpu=True``.
    kind     tcp, tcp6, udp, udp6, unix (stream) or unix-dgram.
    mode     serial (one request at a time), threading or forking.
    host, port   default to loopback and port 0: the OS picks a free port, and
             nothing outside this machine can connect. Name another host only
             when you mean it.
    path     for unix kinds; default: a fresh file in a temporary folder.
    name     starting a server under a name that is running stops that one
             first, so re-running a cell never meets "Address already in use".
             Default: handler name, kind and mode.
    backlog  the listen() queue of a stream server (socklab's default is 128;
             the stdlib's is 5).
    record   keep a record of every request (default). ``record=False`` is
             for measuring what recording costs; errors are recorded anyway.
    mode="selectors" or "asyncio" starts an event-loop server instead (TCP,
    built-in echo only): one thread serves every client; see socklab.eventloop.
    """
    kind, mode = normalise(kind), normalise(mode)
    if isinstance(handler, str) and normalise(handler) in KINDS + MODES:
        what = "kind" if normalise(handler) in KINDS else "mode"
        raise TypeError(
            f"the first argument is the handler class, got {handler!r}: write serve({what}={handler!r}) "
            "for the built-in echo, or serve(MyHandler, ...)"
        )
    check_kind_mode(kind, mode)
    handler = _checked_handler(handler, kind, mode)
    check_seconds(work)
    if not isinstance(cpu, bool):
        raise TypeError(f"cpu must be True (computing) or False (sleeping), got {cpu!r}")
    if backlog is not None and (not isinstance(backlog, int) or isinstance(backlog, bool) or backlog < 0):
        raise ValueError(f"backlog must be an int >= 0, got {backlog!r}")
    address = _checked_address(kind, host, port, path)
    if name is None:
        name = f"{handler.__name__}-{kind}-{mode}"
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")

    cls = Server if mode in SOCKETSERVER_MODES else EventLoopServer
    server = cls(handler, kind, mode, address, name, backlog, float(work), bool(cpu), bool(record))
    with _registry_lock:
        old = _registry.pop(name, None)
        if old is not None:
            try:
                old.stop()
            except StopTimeout as exc:
                warnings.warn(str(exc), RuntimeWarning, stacklevel=2)
        server.start()
        _registry[name] = server
    return server


def _checked_handler(handler, kind, mode):
    """The handler class to use, or one line saying what is wrong with the one given."""
    if mode not in SOCKETSERVER_MODES and handler is not None:
        raise TypeError(
            f"mode={mode!r} runs the built-in echo only: a socketserver handler class needs mode "
            "'serial', 'threading' or 'forking'"
        )
    if handler is None:
        return default_handler(kind)
    if not isinstance(handler, type):
        if isinstance(handler, socketserver.BaseRequestHandler):
            raise TypeError(
                "handler must be the class itself, not an instance: serve(MyHandler), not serve(MyHandler())"
            )
        raise TypeError(
            f"handler must be a socketserver.BaseRequestHandler subclass, got {handler!r}: "
            "define class MyHandler(socketserver.BaseRequestHandler) with a handle() method"
        )
    if not issubclass(handler, socketserver.BaseRequestHandler):
        raise TypeError(
            f"handler {handler.__name__} is not a request handler: subclass socketserver.BaseRequestHandler "
            "(or StreamRequestHandler / DatagramRequestHandler) and write handle()"
        )
    if kind in STREAM_KINDS and issubclass(handler, socketserver.DatagramRequestHandler):
        raise TypeError(
            f"{handler.__name__} is a DatagramRequestHandler, which a {kind} (stream) server cannot use: "
            "subclass StreamRequestHandler, or use kind='udp'"
        )
    if kind not in STREAM_KINDS and issubclass(handler, socketserver.StreamRequestHandler):
        raise TypeError(
            f"{handler.__name__} is a StreamRequestHandler, which a {kind} (datagram) server cannot use: "
            "subclass DatagramRequestHandler or BaseRequestHandler, or use kind='tcp'"
        )
    if handler.handle is socketserver.BaseRequestHandler.handle:
        near = [n for n in vars(handler) if callable(vars(handler)[n]) and
                difflib.SequenceMatcher(None, n, "handle").ratio() > 0.7]
        hint = f" (is {near[0]!r} meant to be 'handle'?)" if near else ""
        raise TypeError(
            f"{handler.__name__} has no handle() method{hint}: the server calls handle() once per "
            "request; without it every client is hung up on without an answer"
        )
    return handler


def _checked_address(kind, host, port, path):
    """Where to bind: a path for unix kinds (None: socklab picks one), else (host, port)."""
    if kind in UNIX_KINDS:
        if host is not None or port:
            raise ValueError(f"a {kind} server has a socket path, not a host and port: pass path= or nothing")
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a string, got {path!r}")
        address = os.fspath(path) if path is not None else None
        if address is not None and len(os.fsencode(address)) > 100:
            raise ValueError(
                f"socket path is {len(os.fsencode(address))} bytes; Unix socket paths must stay under about "
                "100 bytes: choose a shorter path, or leave path unset"
            )
        return address
    if path is not None:
        raise ValueError(f"a {kind} server has a host and port, not a path: use kind='unix' for a socket file")
    if host is None:
        host = "::1" if kind in ("tcp6", "udp6") else "127.0.0.1"
    if not isinstance(host, str):
        raise TypeError(f"host must be a string such as '127.0.0.1', got {host!r}")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int from 0 to 65535 (0 lets the OS choose), got {port!r}")
    return (host, port)


def running() -> list:
    """The servers socklab is running now (those whose ``.running`` is True)."""
    with _registry_lock:
        for name in [n for n, s in _registry.items() if not s.running]:
            del _registry[name]
        return list(_registry.values())


def stop_all(timeout: float = 2.0) -> int:
    """Stop every server socklab started; return how many there were."""
    check_timeout(timeout)
    servers = running()
    problems = []
    for server in servers:
        try:
            server.stop(timeout)
        except StopTimeout as exc:
            problems.append(str(exc))
    if problems:
        raise StopTimeout("; ".join(problems))
    return len(servers)


def stop_all_after_interrupt() -> int:
    """Called when the learner interrupts a socklab call: stop every server, so
    an interrupted demo leaves nothing running, and say what happened."""
    count = len(running())
    try:
        stop_all(timeout=1.0)
    except StopTimeout:
        pass
    if count:
        print(f"Interrupted: socklab stopped its {count} server{'s' if count != 1 else ''} so nothing keeps "
              "running. Re-run the cells that start them to go on.", file=sys.stderr)
    return count


def _stop_all_at_exit():
    try:
        stop_all(timeout=1.0)
    except Exception:
        pass


atexit.register(_stop_all_at_exit)
