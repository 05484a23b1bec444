"""What every lab's checks share: the time limits, calling a learner's code, and loopback sockets.

* ``call`` runs a learner's function bounded in time (``within``) and turns an
  exception it did not expect into a failure that names the call.
* ``need_handler``, ``need_function``, ``check_part`` refuse what cannot be
  checked (a ``...`` left in the notebook, a part that does not exist).
* ``handler_error``, ``raise_handler_errors``: the last line of a learner's
  handler traceback, which is what a message quotes.
* ``connect``, ``clients``, ``loopback_socket``, ``receive`` (the one loop
  that reads), ``read_all``, ``start_thread``, ``until``: the client side of a
  check, each wait bounded.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time

from ..errors import HandlerError
from ..timeouts import within
from ..tracebacks import last_line

WAIT = 3.0  # seconds: the most any one check waits for a learner's code
FAST = 1.0  # seconds: lab 02's recv_msg of 4 MiB (a right answer takes about 0.01 s)


def exception_name(exc) -> str:
    """``TypeError``, but ``struct.error`` rather than a bare ``error``."""
    kind = type(exc)
    module = getattr(kind, "__module__", "builtins")
    return kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"


def call(seconds, func, *args, what="", hint="", expect=(), fix=None, **kwargs):
    """``within``, and a learner's unexpected exception becomes a failure that names the call.

    An ``AssertionError`` (``within``'s ``TookTooLong`` among them) and the
    exceptions in ``expect`` pass through; any other says "NAME raised KIND:
    TEXT; FIX", where ``fix`` defaults to ``hint`` (``hint`` ends the message
    of a call that did not return in time).
    """
    try:
        return within(seconds, func, *args, what=what, hint=hint, **kwargs)
    except AssertionError:
        raise
    except expect:
        raise
    except Exception as exc:
        name = what or f"{getattr(func, '__name__', 'the function')}()"
        fix = hint if fix is None else fix
        raise AssertionError(f"{name} raised {exception_name(exc)}: {exc}" + (f"; {fix}" if fix else "")) from None


def need_handler(handler, name, base=socketserver.BaseRequestHandler):
    """The learner's class exists and has the right base (a handler, or a server for lab 04)."""
    if handler is Ellipsis or handler is None:
        raise AssertionError(f"{name} is not written yet: replace the ... with your class")
    if not isinstance(handler, type) or not issubclass(handler, base):
        raise AssertionError(f"{name} must be a class that inherits from socketserver.{base.__name__}, "
                             f"got {handler!r}")


def need_function(func, name):
    if func is Ellipsis or func is None:
        raise AssertionError(f"{name} is not written yet: replace the ... with your function")
    if not callable(func):
        raise AssertionError(f"{name} must be a function, got {func!r}")


def check_part(part, known):
    if part not in known:
        raise ValueError(f"part must be one of {', '.join(known)}, got {part!r}")


def handler_error(exc: HandlerError) -> str:
    """The last line of the first traceback a learner's handler left (socklab keeps them on the error)."""
    return last_line(exc.tracebacks[0]) if exc.tracebacks else str(exc)


def raise_handler_errors(server, name):
    """Fail with the first error the learner's handler raised on this socklab server, if any."""
    try:
        server.check()
    except HandlerError as exc:
        raise AssertionError(f"{name} raised {handler_error(exc)}") from None


def connect(address):
    """A TCP client connected to ``address``, each wait bounded by ``WAIT``."""
    return socket.create_connection(address, timeout=WAIT)


@contextlib.contextmanager
def clients(address, n):
    """``n`` connected clients (``connect``) for a ``with`` block, all closed when it ends."""
    conns = []
    try:
        for _ in range(n):
            conns.append(connect(address))
        yield conns
    finally:
        for conn in conns:
            conn.close()


def loopback_socket(kind=socket.SOCK_DGRAM):
    """A socket bound to a free port on loopback (use it in a ``with``): a server, a stranger or a silent peer."""
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.bind(("127.0.0.1", 0))
    except OSError:
        sock.close()
        raise
    return sock


def receive(conn, enough=None, size=65536, seconds=None) -> tuple:
    """``(data, closed)``: the bytes received until ``enough(data)`` holds, the peer closes (``closed`` is
    True), or a recv waits out the socket's timeout; with ``seconds``, for that long at the most."""
    data = bytearray()
    deadline = None if seconds is None else time.monotonic() + seconds
    while enough is None or not enough(data):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn.settimeout(max(0.01, left))
        try:
            chunk = conn.recv(size)
        except socket.timeout:
            break
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


def read_all(conn):
    """Everything until the peer closes; None if it has not closed within the socket's timeout."""
    data, closed = receive(conn)
    return data if closed else None


def start_thread(name, target, *args) -> threading.Thread:
    """Run ``target(*args)`` in a started daemon thread, ``socklab-grading-NAME`` (not a learner's thread)."""
    thread = threading.Thread(target=target, args=args, daemon=True, name=f"socklab-grading-{name}")
    thread.start()
    return thread


def until(condition, seconds):
    """Wait until ``condition()`` holds or ``seconds`` pass; return whether it held."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
