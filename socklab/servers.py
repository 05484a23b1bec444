"""Run real socketserver servers in the background of a notebook, and stop them fast.

A notebook cell must return, so a server has to run in a background thread.
That raises four problems this module solves, and each is worth knowing:

1. Stopping is slow. ``BaseServer.serve_forever()`` only notices ``shutdown()``
   between polls, every ``poll_interval`` (0.5 s), so a plain ``shutdown()``
   takes up to half a second. socklab's loop waits on the listening socket *and*
   on a wake-up socket; ``stop()`` writes one byte to the wake-up socket and the
   loop returns at once.
2. Things get left behind. Handler threads, forked children, the listening
   socket and Unix socket files must all go when the server stops, even when a
   handler is stuck waiting for a client that never speaks. ``stop()`` closes the
   connections under such handlers, ends forked children, and bounds every wait.
3. Errors get lost. A handler runs in another thread or process, where a
   traceback is printed into whichever cell ran last (or nowhere). socklab keeps
   each traceback and raises it from the cell that asks: ``server.check()``.
4. Nobody sees what happened. Every request is recorded (which worker served
   it, when it was accepted, started and ended), and forked children send their
   records back to the notebook over a socket, never by printing.

The server object you get back is a thin handle. The real server, an instance
of a genuine ``socketserver`` class such as ``ThreadingMixIn`` + ``TCPServer``,
is ``server.socketserver``; its class's ``__mro__`` is the class diagram of
``socketserver``'s design.
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import io
import json
import os
import re
import selectors
import shutil
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import deque
from dataclasses import asdict, dataclass
from typing import Optional

from .errors import HandlerError, SocklabError, StopTimeout
from .stopping import Stopped as _Stopped, interrupt_thread as _interrupt_thread, stoppable, work  # noqa: F401

#: The kinds of server socklab can start, and the stdlib class each builds on.
KINDS = ("tcp", "tcp6", "udp", "udp6", "unix", "unix-dgram")
#: How a server handles requests: one at a time, a thread each, a process each
#: (socketserver's three); or one event-loop thread for all (see socklab.eventloop).
MODES = ("serial", "threading", "forking", "selectors", "asyncio")
SOCKETSERVER_MODES = MODES[:3]

STREAM_KINDS = ("tcp", "tcp6", "unix")
UNIX_KINDS = ("unix", "unix-dgram")

# Records kept per server; older ones are dropped so a long session stays small.
MAX_RECORDS = 100_000


@dataclass(frozen=True)
class Request:
    """What happened to one request, as the server saw it.

    Times are ``time.monotonic()`` seconds, the same clock in the notebook and
    in forked children, so records from both line up on one timeline.
    """

    client: str  #: the client's address, formatted by ``format_address``
    worker: str  #: "serve loop", "thread <id>" or "process <pid>"
    accepted: float  #: accept() returned (stream) or the datagram was read
    started: float  #: the handler class was called
    ended: float  #: the handler (setup, handle, finish) returned or raised
    error: Optional[str] = None  #: "ValueError: bad input" if it raised
    output: str = ""  #: what a forked child printed (children cannot print)

    @property
    def duration(self) -> float:
        """Seconds the handler ran."""
        return self.ended - self.started


def format_address(address) -> str:
    """One readable string for any socket address.

    ``("127.0.0.1", 5000)`` -> ``127.0.0.1:5000``; IPv6 gets brackets,
    ``[::1]:5000``; a Unix path stays a path; Linux's abstract names (which
    start with a NUL byte) are shown with a leading ``@`` as ``ss`` does.
    """
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(address, bytes):
        if address.startswith(b"\0"):
            return "@" + address[1:].decode("ascii", "backslashreplace")
        address = address.decode("utf-8", "backslashreplace")
    if isinstance(address, str):
        if address.startswith("\0"):
            return "@" + address[1:]
        return address or "(unnamed)"
    return str(address)


_local = threading.local()


def _summary(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _worker_label(mode: str, in_child: bool) -> str:
    if in_child:
        return f"process {os.getpid()}"
    if mode == "threading":
        return f"thread {threading.get_native_id()}"
    return "serve loop"


class TCP6Server(socketserver.TCPServer):
    """A TCPServer on IPv6."""

    address_family = socket.AF_INET6


class UDP6Server(socketserver.UDPServer):
    """A UDPServer on IPv6."""

    address_family = socket.AF_INET6


def _base_class(kind: str):
    if kind == "tcp":
        return socketserver.TCPServer
    if kind == "udp":
        return socketserver.UDPServer
    if kind == "tcp6":
        return TCP6Server
    if kind == "udp6":
        return UDP6Server
    if kind == "unix":
        return socketserver.UnixStreamServer
    return socketserver.UnixDatagramServer


class LabMixIn:
    """What a classroom adds to any socketserver server.

    It comes first in the class's bases, so its methods run before the
    stdlib's and then hand over to them with ``super()``. socketserver calls,
    in this order for each request: ``get_request`` (accept or recvfrom),
    ``verify_request``, ``process_request`` (serially, in a thread, or in a
    forked child), and there ``finish_request``, which calls the handler class.
    """

    # A serial server that is busy leaves new connections in the kernel's
    # accept queue. The stdlib's 5 is so small that the ninth client of a busy
    # server has its SYN dropped and retries a second later. Demos pass
    # ``backlog=`` to show that effect on purpose.
    request_queue_size = 128
    # Rebinding a fixed port right after a stop must not fail on TIME_WAIT.
    allow_reuse_address = True
    # socklab bounds every wait itself in stop(); the stdlib's would be unbounded.
    block_on_close = False
    daemon_threads = True
    # Read by the built-in echo handlers.
    socklab_work = 0.0
    socklab_cpu = False

    def get_request(self):
        got = super().get_request()
        _local.accepted = time.monotonic()
        return got

    def shutdown(self):
        # BaseServer.shutdown() waits for serve_forever() to say it has stopped.
        # socklab runs this server's loop itself and never calls serve_forever(),
        # so the stdlib's shutdown() would wait forever: say what to do instead.
        raise SocklabError(f"server {self._lab.name!r} is run by socklab, not by serve_forever(), so shutdown() "
                           "would wait forever: stop it with its socklab Server's stop() (or socklab.stop_all())")

    def process_request(self, request, client_address):
        lab = self._lab
        if lab.mode == "threading":
            # ThreadingMixIn.process_request, plus tracking: stop() must be able
            # to wait for (and give up on) each handler thread.
            accepted = _local.accepted
            thread = threading.Thread(
                target=self._serve_in_thread,
                args=(request, client_address, accepted),
                name=f"socklab-{lab.name}-handler",
                daemon=True,
            )
            lab._add_worker(thread)
            thread.start()
        elif lab.mode == "forking":
            # A Jupyter kernel always runs several threads, and Python 3.12+
            # warns that fork() then copies only the forking thread. The child
            # below never touches locks those threads might hold: it runs the
            # handler, sends its record over a socket and leaves with os._exit().
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork")
                super().process_request(request, client_address)
        else:
            super().process_request(request, client_address)

    def _serve_in_thread(self, request, client_address, accepted):
        _local.accepted = accepted
        try:
            self.finish_request(request, client_address)
        except _Stopped:
            pass
        except BaseException:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def finish_request(self, request, client_address):
        lab = self._lab
        in_child = os.getpid() != lab.pid
        if in_child:
            lab._become_child(self)
        accepted = getattr(_local, "accepted", None) or time.monotonic()
        started = time.monotonic()
        error = None
        conn = request if lab.is_stream else None
        if conn is not None and not in_child:
            lab._active.add(conn)
        token = object()
        if not in_child:
            lab._in_flight[token] = started
        try:
            with stoppable(lab._stopping):
                super().finish_request(request, client_address)
        except _Stopped:
            error = "stopped: the server stopped while this request was being handled"
            raise
        except BaseException as exc:
            error = _summary(exc)
            # Report before the record below is written: a client that already
            # has its reply waits for that record, then checks for errors.
            lab._report_error(format_address(client_address), handler_traceback(exc))
            try:
                exc._socklab_reported = True
            except AttributeError:  # an exception class with __slots__: handle_error reports it again
                pass
            raise
        finally:
            lab._active.discard(conn)
            lab._in_flight.pop(token, None)
            output = ""
            if in_child and isinstance(sys.stdout, io.StringIO):
                output = sys.stdout.getvalue()
            if lab.recording or error:
                lab._record(
                    Request(
                        client=format_address(client_address),
                        worker=_worker_label(lab.mode, in_child),
                        accepted=accepted,
                        started=started,
                        ended=time.monotonic(),
                        error=error,
                        output=output,
                    )
                )

    def handle_error(self, request, client_address):
        """Keep the traceback instead of printing it into some other cell."""
        exc = sys.exc_info()[1]
        if isinstance(exc, _Stopped) or getattr(exc, "_socklab_reported", False):
            return
        self._lab._report_error(format_address(client_address), handler_traceback(exc))


def _cell_name(filename: str) -> str:
    """'Cell In[9]' for code typed in a notebook cell, as IPython shows it."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        name = shell.compile.format_code_name(filename) if shell is not None else None
        if name:
            return " ".join(name)
    except Exception:
        pass
    return f'File "{filename}"'


def handler_traceback(exc: BaseException) -> str:
    """The traceback of a handler's error, as a learner wants to read it.

    socketserver's and socklab's own frames are left out (they are the same for
    every error and hide the handler's line), and notebook cells are named
    ``Cell In[9]`` as IPython names them.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    plumbing = (os.path.abspath(socketserver.__file__), os.path.dirname(os.path.abspath(__file__)))
    mine = [f for f in frames if not os.path.abspath(f.filename).startswith(plumbing)]
    lines = ["Traceback (most recent call last):"]
    for frame in mine or frames:
        lines.append(f"  {_cell_name(frame.filename)}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc)]
    return "\n".join(lines) + "\n"


_classes: dict = {}


def server_class(kind: str, mode: str) -> type:
    """The socketserver class socklab uses for ``kind`` and ``mode``.

    Built from the stdlib's own pieces, so its ``__mro__`` reads like the
    socketserver documentation: for threading TCP it is ``LabMixIn``,
    ``ThreadingMixIn``, ``TCPServer``, ``BaseServer``. Python's own
    ``ThreadingTCPServer`` is exactly ``ThreadingMixIn`` + ``TCPServer``.
    """
    _check_kind_mode(kind, mode)
    if mode not in SOCKETSERVER_MODES:
        raise ValueError(f"mode={mode!r} is an event loop, not a socketserver class: see socklab.eventloop")
    key = (kind, mode)
    if key not in _classes:
        base = _base_class(kind)
        mixins = {
            "serial": (),
            "threading": (socketserver.ThreadingMixIn,),
            "forking": (socketserver.ForkingMixIn,),
        }[mode]
        prefix = {"serial": "", "threading": "Threading", "forking": "Forking"}[mode]
        _classes[key] = type(f"Lab{prefix}{base.__name__}", (LabMixIn, *mixins, base), {"__module__": __name__})
    return _classes[key]


def _normalise(value):
    return value.strip().lower() if isinstance(value, str) else value


def _check_kind_mode(kind, mode):
    if kind not in KINDS:
        hint = ""
        if kind in MODES:
            hint = f" ({kind!r} is a mode: the order is serve(handler, kind, mode); write mode={kind!r})"
        raise ValueError(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}{hint}")
    if mode not in MODES:
        hint = f" ({mode!r} is a kind: write kind={mode!r})" if mode in KINDS else ""
        raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}{hint}")
    if mode not in SOCKETSERVER_MODES and kind not in ("tcp", "tcp6"):
        raise ValueError(f"mode={mode!r} is an event loop, which socklab offers for TCP only: use kind='tcp'")
    if kind in UNIX_KINDS and not hasattr(socket, "AF_UNIX"):
        raise SocklabError(f"kind={kind!r} needs AF_UNIX sockets, which this platform lacks: use kind='tcp' instead")
    if kind in ("tcp6", "udp6") and not ipv6_available():
        raise SocklabError(f"kind={kind!r} needs IPv6 on loopback (::1), which this machine lacks: use kind='{kind[:3]}'")
    if mode == "forking" and not hasattr(os, "fork"):
        raise SocklabError("mode='forking' needs os.fork(), which this platform lacks (Windows): use mode='threading'")


_ipv6 = None


def ipv6_available() -> bool:
    """True when this machine can bind a socket to IPv6 loopback (::1)."""
    global _ipv6
    if _ipv6 is None:
        _ipv6 = False
        if socket.has_ipv6:
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
                    probe.bind(("::1", 0))
                _ipv6 = True
            except OSError:
                pass
    return _ipv6


def _pdeathsig():
    """On Linux, ask the kernel to kill this child if its parent dies."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


class Server:
    """A live server running in the background. Made by ``socklab.serve()``.

    Use ``address`` to reach it, ``requests`` to see what it did, ``check()``
    to raise any handler error here, and ``stop()`` (or a ``with`` block) to
    end it. Stopping leaves no thread, process, descriptor or socket file.
    """

    def __init__(self, handler, kind, mode, address, name, backlog, work_seconds, cpu, record=True):
        self.handler = handler
        self.kind = kind
        self.mode = mode
        self.name = name
        self.is_stream = kind in STREAM_KINDS
        self.pid = os.getpid()
        self._bind_address = address
        self._backlog = backlog
        self._work = work_seconds
        self._cpu = cpu
        self.recording = record
        self._lock = threading.RLock()
        self._recorded = threading.Condition(self._lock)
        self._records = deque(maxlen=MAX_RECORDS)
        self._errors: list = []
        self._reported = 0
        self._workers: list = []
        self._active: set = set()
        self._in_flight: dict = {}
        self.replaced = False
        self._stopping = threading.Event()
        self._stopped = False
        self._tempdir = None
        self._socket_file = None  # the file our bind() created, and so ours to remove
        self._channel = None
        self._channel_out = None
        self.socketserver = None
        self._thread = None

    # ------------------------------------------------------------------ start
    def _start(self):
        cls = server_class(self.kind, self.mode)
        address = self._bind_address
        if self.kind in UNIX_KINDS and address is None:
            self._tempdir = tempfile.mkdtemp(prefix="socklab-")
            address = os.path.join(self._tempdir, _safe_filename(self.name) + ".sock")
        srv = cls(address, self.handler, bind_and_activate=False)
        srv._lab = self
        srv.socklab_work = self._work
        srv.socklab_cpu = self._cpu
        if self._backlog is not None:
            srv.request_queue_size = self._backlog
        self.socketserver = srv
        try:
            srv.server_bind()
            if self.kind in UNIX_KINDS and isinstance(address, str) and not address.startswith("\0"):
                self._socket_file = address
            srv.server_activate()
        except OSError as exc:
            srv.server_close()
            self._remove_files()  # only what bind() created: a file that was already there stays
            raise _bind_error(exc, self.kind, address) from None
        self._wake_in, self._wake_out = socket.socketpair()
        if self.mode == "forking":
            # Children send their records here, one datagram each.
            self._channel, self._channel_out = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._channel.setblocking(False)
        self._thread = threading.Thread(target=self._serve, name=f"socklab-{self.name}-serve", daemon=True)
        self._thread.start()

    def _serve(self):
        """The serve loop: wait for a request, a wake-up byte or a child's record."""
        srv = self.socketserver
        selector = selectors.DefaultSelector()
        selector.register(srv.socket, selectors.EVENT_READ, "request")
        selector.register(self._wake_in, selectors.EVENT_READ, "wake")
        if self._channel is not None:
            selector.register(self._channel, selectors.EVENT_READ, "records")
        try:
            while not self._stopping.is_set():
                # Forked children that exited are reaped within 50 ms; with no
                # children the loop sleeps until something happens.
                timeout = 0.05 if getattr(srv, "active_children", None) else None
                for key, _ in selector.select(timeout):
                    if self._stopping.is_set() or key.data == "wake":
                        return
                    if key.data == "records":
                        self._drain_channel()
                    else:
                        try:
                            srv._handle_request_noblock()
                        except _Stopped:
                            return
                        except BaseException:  # SystemExit from a serial handler
                            self._report_error("?", traceback.format_exc())
                if not self._stopping.is_set():
                    srv.service_actions()
        except _Stopped:
            pass
        finally:
            selector.close()

    # ---------------------------------------------------------------- records
    def _add_worker(self, thread):
        with self._lock:
            self._workers = [t for t in self._workers if t.is_alive()]
            self._workers.append(thread)

    def _become_child(self, srv):
        """First thing a forked child does: be a well-behaved, short-lived process."""
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _pdeathsig()
        # The child must not write into the kernel's output streams; what it
        # prints travels back inside its record instead.
        sys.stdout = sys.stderr = io.StringIO()
        if self.is_stream:
            srv.socket.close()  # the listening socket is the parent's business

    def _record(self, request: Request):
        if os.getpid() != self.pid:
            self._send_to_parent({"request": asdict(request)})
        else:
            with self._lock:
                self._records.append(request)
                self._recorded.notify_all()

    def _report_error(self, client: str, text: str):
        if os.getpid() != self.pid:
            self._send_to_parent({"error": [client, text[-30000:]]})
        else:
            with self._lock:
                self._errors.append((client, text))

    def _send_to_parent(self, message):
        try:
            self._channel_out.send(json.dumps(message).encode())
        except OSError:
            pass  # the parent has stopped listening; nothing is waiting for this

    def _drain_channel(self):
        channel = self._channel
        if channel is None:
            return
        while True:
            try:
                data = channel.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            message = json.loads(data)
            with self._lock:
                if "request" in message:
                    self._records.append(Request(**message["request"]))
                else:
                    self._errors.append(tuple(message["error"]))
                self._recorded.notify_all()

    # ----------------------------------------------------------------- public
    @property
    def address(self):
        """Where clients connect: ``(host, port)``, or a socket path."""
        if self.socketserver is None:
            return None
        address = self.socketserver.server_address
        if isinstance(address, tuple):
            return address[:2]
        return address

    @property
    def busy(self) -> list:
        """Seconds each request still being handled has been running (oldest first).

        Forked children are not counted: the notebook process cannot see inside them.
        """
        now = time.monotonic()
        return sorted((now - t for t in list(self._in_flight.values())), reverse=True)

    @property
    def running(self) -> bool:
        return not self._stopped

    @property
    def requests(self) -> list:
        """Every request this server recorded so far, oldest first."""
        with self._lock:
            self._drain_channel()
            return list(self._records)

    @property
    def errors(self) -> list:
        """``(client, traceback)`` for every handler error so far."""
        with self._lock:
            self._drain_channel()
            return list(self._errors)

    def wait_for(self, clients, timeout: float = 1.0) -> bool:
        """Wait until a request from each client address has been recorded.

        A datagram handler sends its answer inside handle(), so a client can
        have its reply before the server has finished recording the request;
        ``load`` and ``ask`` call this before they read the records.
        """
        wanted = set(clients)
        deadline = time.monotonic() + timeout
        with self._recorded:
            while True:
                self._drain_channel()
                if wanted <= {r.client for r in self._records}:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self._stopped:
                    return False
                self._recorded.wait(min(left, 0.01))

    def clear(self) -> None:
        """Forget the recorded requests and errors (the server keeps running)."""
        with self._lock:
            self._drain_channel()
            self._records.clear()
            self._errors.clear()
            self._reported = 0

    def has_new_errors(self) -> bool:
        """True if a handler raised since the last ``check()``."""
        with self._lock:
            self._drain_channel()
            return len(self._errors) > self._reported

    def check(self) -> None:
        """Raise ``HandlerError`` here if a handler raised since the last error reported."""
        with self._lock:
            self._drain_channel()
            new = self._errors[self._reported :]
            self._reported = len(self._errors)
        if new:
            client, text = new[0]
            last = text.strip().splitlines()[-1] if text.strip() else "an error"
            raise HandlerError(
                f"the handler of server {self.name!r} raised while serving {client} "
                f"({len(new)} error{'s' if len(new) > 1 else ''} since the last one reported): {last}\n"
                f"Fix the handler class and re-run the cell that starts the server. "
                f"The handler's traceback:\n{text}",
                [t for _, t in new],
            )

    # How long the serve loop may take to return after it is woken, before it is
    # taken for stuck and interrupted. socketserver's loop returns at once; an
    # event loop first closes every connection it holds, which with a thousand
    # clients takes longer, and an interrupt landing in asyncio's own callbacks
    # would print a traceback into some cell (EventLoopServer raises it).
    _loop_grace = 0.1

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving and clean up everything, within about ``timeout`` seconds.

        The loop is woken at once; connections still open are shut down, so a
        handler blocked in ``recv`` returns; forked children get SIGTERM, then
        SIGKILL. A handler thread that still runs after all that is interrupted
        when it next runs Python code, and ``StopTimeout`` says so.
        """
        check_timeout(timeout)
        if self._stopped:
            return
        deadline = time.monotonic() + timeout
        self._stopping.set()
        try:
            self._wake_out.send(b"!")
        except OSError:
            pass
        for conn in list(self._active):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        srv = self.socketserver
        leftovers = []
        # The serve loop first: after it returns, nothing else touches the
        # server's sockets or its list of children.
        # Handlers blocked on a closed connection or in work() return at once; a
        # handler still running after a short grace is stuck in a loop.
        grace = min(0.1, timeout / 4)
        loop_grace = min(self._loop_grace, timeout / 2)
        self._thread.join(max(0.0, min(loop_grace, deadline - time.monotonic())))
        if self._thread.is_alive():  # a serial handler stuck in a Python loop
            _interrupt_thread(self._thread)
            self._thread.join(max(0.05, deadline - time.monotonic()) / 2)
        if self.mode == "forking":
            leftovers += self._end_children(deadline)
        with self._lock:
            threads = [t for t in self._workers if t.is_alive()]
            self._workers = []
        grace_end = time.monotonic() + grace
        for thread in threads:
            thread.join(max(0.0, min(grace_end, deadline) - time.monotonic()))
        for thread in threads + [self._thread]:
            if thread.is_alive():
                _interrupt_thread(thread)
                thread.join(max(0.05, deadline - time.monotonic()))
                if thread.is_alive():
                    leftovers.append(f"thread {thread.name}")
        self._drain_channel()
        srv.server_close()
        for sock in (self._wake_in, self._wake_out, self._channel, self._channel_out):
            if sock is not None:
                sock.close()
        self._remove_files()
        self._stopped = True
        _unregister(self)
        if leftovers:
            raise StopTimeout(
                f"server {self.name!r} stopped, but {', '.join(leftovers)} still ran after {timeout} s: "
                "a handler is probably in time.sleep() or a long C call. It ends when that call "
                "returns; use socklab.work() for pauses inside handlers so stop() can interrupt them."
            )

    def _end_children(self, deadline) -> list:
        """SIGTERM every forked child, wait briefly, then SIGKILL and reap."""
        srv = self.socketserver
        children = set(getattr(srv, "active_children", None) or ())
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        grace = min(deadline, time.monotonic() + 0.5)
        while children:
            for pid in list(children):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    children.discard(pid)
            if not children or time.monotonic() > grace:
                break
            time.sleep(0.0005)
        left = []
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            except OSError:
                left.append(f"process {pid}")
        if srv.active_children:
            srv.active_children.clear()
        return left

    def _remove_files(self):
        if self._socket_file:
            try:
                os.unlink(self._socket_file)
            except FileNotFoundError:
                pass
            self._socket_file = None
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = "running" if not self._stopped else "stopped"
        with self._lock:
            n, e = len(self._records), len(self._errors)
        where = format_address(self.address) if self.address is not None else "?"
        return (
            f"<socklab server {self.name!r}: {self.kind} {self.mode} on {where}, {state}, "
            f"{n} request{'s' if n != 1 else ''}, {e} error{'s' if e != 1 else ''}>"
        )


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:40] or "server"


def _bind_error(exc: OSError, kind: str, address) -> SocklabError:
    where = format_address(address) if not isinstance(address, str) else address
    if exc.errno == errno.EADDRINUSE:
        if kind in UNIX_KINDS:
            return SocklabError(
                f"cannot bind {where}: a file already exists at that path; remove it, or leave path unset "
                "so socklab picks a fresh one"
            )
        return SocklabError(
            f"cannot bind {where}: the port is already in use; stop the server using it, "
            "or pass port=0 to let the operating system choose a free port"
        )
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return SocklabError(f"cannot bind {where}: that is not an address of this machine; use host='127.0.0.1'")
    if exc.errno == errno.EACCES:
        return SocklabError(
            f"cannot bind {where}: permission denied (ports below 1024 need privileges); use port=0 or a port >= 1024"
        )
    if isinstance(exc, socket.gaierror):
        host = address[0] if isinstance(address, tuple) else address
        if exc.errno in (getattr(socket, "EAI_ADDRFAMILY", None), socket.EAI_FAMILY):
            if kind in ("tcp6", "udp6"):
                return SocklabError(f"cannot bind {where}: {host!r} is not an IPv6 address; for kind={kind!r} "
                                    f"use host='::1', or use kind={kind[:3]!r} for an IPv4 address")
            return SocklabError(f"cannot bind {where}: {host!r} is not an IPv4 address; for kind={kind!r} use "
                                f"host='127.0.0.1', or use kind='{kind}6' for an IPv6 address")
        return SocklabError(f"cannot bind {where}: the host name {host!r} does not resolve; use host='127.0.0.1'")
    return SocklabError(f"cannot bind {where}: {exc.strerror or exc}")


# --------------------------------------------------------------------- registry
_registry: dict = {}
_registry_lock = threading.RLock()


def _unregister(server: Server):
    with _registry_lock:
        if _registry.get(server.name) is server:
            del _registry[server.name]


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
    from .handlers import default_handler

    kind, mode = _normalise(kind), _normalise(mode)
    if isinstance(handler, str) and _normalise(handler) in KINDS + MODES:
        what = "kind" if _normalise(handler) in KINDS else "mode"
        raise TypeError(
            f"the first argument is the handler class, got {handler!r}: write serve({what}={handler!r}) "
            "for the built-in echo, or serve(MyHandler, ...)"
        )
    _check_kind_mode(kind, mode)
    if mode not in SOCKETSERVER_MODES and handler is not None:
        raise TypeError(
            f"mode={mode!r} runs the built-in echo only: a socketserver handler class needs mode "
            "'serial', 'threading' or 'forking'"
        )
    if handler is None:
        handler = default_handler(kind)
    elif not isinstance(handler, type):
        if isinstance(handler, socketserver.BaseRequestHandler):
            raise TypeError(
                "handler must be the class itself, not an instance: serve(MyHandler), not serve(MyHandler())"
            )
        raise TypeError(
            f"handler must be a socketserver.BaseRequestHandler subclass, got {handler!r}: "
            "define class MyHandler(socketserver.BaseRequestHandler) with a handle() method"
        )
    elif not issubclass(handler, socketserver.BaseRequestHandler):
        raise TypeError(
            f"handler {handler.__name__} is not a request handler: subclass socketserver.BaseRequestHandler "
            "(or StreamRequestHandler / DatagramRequestHandler) and write handle()"
        )
    elif kind in STREAM_KINDS and issubclass(handler, socketserver.DatagramRequestHandler):
        raise TypeError(
            f"{handler.__name__} is a DatagramRequestHandler, which a {kind} (stream) server cannot use: "
            "subclass StreamRequestHandler, or use kind='udp'"
        )
    elif kind not in STREAM_KINDS and issubclass(handler, socketserver.StreamRequestHandler):
        raise TypeError(
            f"{handler.__name__} is a StreamRequestHandler, which a {kind} (datagram) server cannot use: "
            "subclass DatagramRequestHandler or BaseRequestHandler, or use kind='tcp'"
        )
    if handler.handle is socketserver.BaseRequestHandler.handle:
        import difflib

        near = [n for n in vars(handler) if callable(vars(handler)[n]) and
                difflib.SequenceMatcher(None, n, "handle").ratio() > 0.7]
        hint = f" (is {near[0]!r} meant to be 'handle'?)" if near else ""
        raise TypeError(
            f"{handler.__name__} has no handle() method{hint}: the server calls handle() once per "
            "request; without it every client is hung up on without an answer"
        )
    if not isinstance(work, (int, float)) or isinstance(work, bool) or work != work or work < 0:
        raise ValueError(f"work must be a number of seconds >= 0, got {work!r}")
    if not isinstance(cpu, bool):
        raise TypeError(f"cpu must be True (computing) or False (sleeping), got {cpu!r}")
    if backlog is not None and (not isinstance(backlog, int) or isinstance(backlog, bool) or backlog < 0):
        raise ValueError(f"backlog must be an int >= 0, got {backlog!r}")
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
    else:
        if path is not None:
            raise ValueError(f"a {kind} server has a host and port, not a path: use kind='unix' for a socket file")
        if host is None:
            host = "::1" if kind in ("tcp6", "udp6") else "127.0.0.1"
        if not isinstance(host, str):
            raise TypeError(f"host must be a string such as '127.0.0.1', got {host!r}")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int from 0 to 65535 (0 lets the OS choose), got {port!r}")
        address = (host, port)
    if name is None:
        name = f"{handler.__name__}-{kind}-{mode}"
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")

    cls = Server
    if mode not in SOCKETSERVER_MODES:
        from .eventloop import EventLoopServer as cls
    server = cls(handler, kind, mode, address, name, backlog, float(work), bool(cpu), bool(record))
    with _registry_lock:
        old = _registry.get(name)
        if old is not None:
            old.replaced = True
            try:
                old.stop()
            except StopTimeout as exc:
                warnings.warn(str(exc), RuntimeWarning, stacklevel=2)
        server._start()
        _registry[name] = server
    return server


def running() -> list:
    """The servers socklab is running now."""
    with _registry_lock:
        return list(_registry.values())


def check_timeout(timeout):
    """One rule for every timeout socklab takes: seconds, above 0, under an hour."""
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < 3600:
        raise ValueError(f"timeout must be a number of seconds above 0, got {timeout!r}")


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
