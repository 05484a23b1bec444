"""Run real socketserver servers in the background of a notebook, and stop them fast.

A notebook cell must return, so a server runs in a background thread. That
raises four problems, and each is worth knowing. This module and
``socklab.mixin`` (about 600 lines together) are how socklab solves them::

    serve() ─────▶ Server ────────────── owns ──────────▶ a socketserver server
    (registry)      │  serve loop thread:                  (mixin.server_class)
                    │    selector on [listening socket,      LabMixIn hooks:
                    │               wake-up socket,           accepted / handled /
                    │               children's records]       recorded per request
                    │  Recorder (records, errors) ◀──────────┘
                    └─ stop(): wake the loop ─▶ shut connections ─▶ join the loop
                               ─▶ end children ─▶ interrupt stuck threads ─▶ close, unlink

1. Stopping is slow. ``BaseServer.serve_forever()`` only notices ``shutdown()``
   between polls, every ``poll_interval`` (0.5 s). socklab's loop waits on the
   listening socket *and* on a wake-up socket; ``stop()`` writes one byte to
   the wake-up socket and the loop returns at once.
2. Things get left behind. Handler threads, forked children, the listening
   socket and Unix socket files must all go when the server stops, even when a
   handler is stuck waiting for a client that never speaks. ``stop()`` shuts
   down the connections under such handlers, ends forked children (on Linux
   the kernel kills them when the serve loop's thread ends, see
   socklab.children; elsewhere SIGTERM, then SIGKILL), and bounds every wait.
3. Errors get lost. A handler runs in another thread or process, where a
   traceback is printed into whichever cell ran last (or nowhere). socklab
   keeps each traceback (socklab.records) and raises it from the cell that
   asks: ``server.check()``.
4. Nobody sees what happened. Every request is recorded (which worker served
   it, when it was accepted, started and ended); forked children send their
   records back over a socket, never by printing.

For the socketserver modes (serial, threading, forking), the real server, an
instance of a genuine ``socketserver`` class, is ``server.socketserver``; its
class's ``__mro__`` is the class diagram of socketserver's design. The event
loops (socklab.eventloop) are ``Server`` subclasses with a loop of their own and
no socketserver server (``server.socketserver`` is None).
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager

from .children import close_in_children, end_processes
from .errors import StopTimeout
from .kinds import STREAM_KINDS, UNIX_KINDS, bind_error, check_timeout, format_address, socket_filename
from .mixin import server_class
from .records import Recorder
from .stopping import Stopped, interrupt_thread


class Server:
    """A live server running in the background. Made by ``socklab.serve()``.

    Use ``address`` to reach it, ``requests`` to see what it did, ``check()``
    to raise any handler error here, and ``stop()`` (or a ``with`` block) to
    end it. Stopping leaves no thread, process, descriptor or socket file.
    """

    # How long the serve loop may take to return after it is woken, before it is
    # taken for stuck and interrupted. socketserver's loop returns at once; an
    # event loop first closes every connection it holds (see EventLoopServer).
    _loop_grace = 0.1
    _thread_role = "serve"  # the loop thread is named socklab-<name>-serve

    def __init__(self, handler, kind, mode, address, name, backlog, work_seconds, cpu, record=True):
        self.handler = handler
        self.kind = kind
        self.mode = mode
        self.name = name
        self.is_stream = kind in STREAM_KINDS
        #: The process that started the server; a forked child has another pid.
        self.pid = os.getpid()
        #: Keep a record of every request (errors are recorded anyway).
        self.recording = record
        #: Records and errors; forked children send theirs over its socket.
        self.recorder = Recorder(name, children=(mode == "forking"))
        #: Set when stop() begins: socklab.work() in a handler notices it.
        self.stopping = threading.Event()
        #: The genuine socketserver server (None for an event loop).
        self.socketserver = None
        self._bind_address = address
        self._backlog = backlog
        self._work = work_seconds
        self._cpu = cpu
        self._address = None
        self._lock = threading.Lock()
        self._workers: list = []
        self._prune_at = 64  # forget finished threads when the list reaches this length
        # Changed by handler threads without the lock: one add or discard on a
        # set or dict is atomic (the GIL; per-object locks on free-threaded builds).
        self._active: set = set()  # connections of handlers running now: stop() shuts them down
        self._in_flight: dict = {}  # token -> when a running handler started: in_progress
        self._stopped = False
        self._tempdir = None
        self._socket_file = None  # the file our bind() created, and so ours to remove
        self._thread = None

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Bind, listen and start the serve loop's thread (serve() calls this)."""
        try:
            self._listen()
        except BaseException:
            self.recorder.close()
            raise
        self._wake_in, self._wake_out = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name=f"socklab-{self.name}-{self._thread_role}", daemon=True)
        self._thread.start()

    def _listen(self):
        cls = server_class(self.kind, self.mode)
        address = self._bind_address
        if self.kind in UNIX_KINDS and address is None:
            self._tempdir = tempfile.mkdtemp(prefix="socklab-")
            address = os.path.join(self._tempdir, socket_filename(self.name))
        srv = cls(address, self.handler, bind_and_activate=False)
        srv.lab = self
        srv.socklab_work = self._work
        srv.socklab_cpu = self._cpu
        if self._backlog is not None:
            srv.request_queue_size = self._backlog
        try:
            srv.server_bind()
            if self.kind in UNIX_KINDS and isinstance(address, str) and not address.startswith("\0"):
                self._socket_file = address
            srv.server_activate()
        except OSError as exc:
            srv.server_close()
            self._remove_files()  # only what bind() created: a file that was already there stays
            raise bind_error(exc, self.kind, address) from None
        close_in_children(srv.socket)  # a forked child must not keep this port
        self.socketserver = srv
        self._address = srv.server_address

    def _run(self):
        """The serve loop: wait for a request, a wake-up byte or a child's record."""
        srv = self.socketserver
        selector = selectors.DefaultSelector()
        selector.register(srv.socket, selectors.EVENT_READ, "request")
        selector.register(self._wake_in, selectors.EVENT_READ, "wake")
        if self.recorder.inbox is not None:
            selector.register(self.recorder.inbox, selectors.EVENT_READ, "records")
        try:
            while not self.stopping.is_set():
                # Forked children that exited are reaped within 50 ms; with no
                # children the loop sleeps until something happens.
                timeout = 0.05 if getattr(srv, "active_children", None) else None
                for key, _ in selector.select(timeout):
                    if self.stopping.is_set() or key.data == "wake":
                        return
                    if key.data == "records":
                        self.recorder.drain()
                        continue
                    try:
                        srv._handle_request_noblock()  # socketserver's own step: accept, verify, process
                    except Stopped:
                        return
                    except BaseException as exc:  # SystemExit from a serial handler
                        if not getattr(exc, "_socklab_reported", False):
                            self.recorder.report_error("?", traceback.format_exc())
                if not self.stopping.is_set():
                    # Reaps forked children that have exited. socketserver's own
                    # step: with max_children running it waits for any child of
                    # the process, even one that is not its own (notebook 06).
                    srv.service_actions()
        except Stopped:
            pass
        finally:
            selector.close()

    def _close_listener(self):
        self.socketserver.server_close()

    # ------------------------------------------------------- for the handlers
    def add_worker(self, thread: threading.Thread) -> None:
        """Track a handler thread, so that stop() can wait for it (and give up on it)."""
        with self._lock:
            if len(self._workers) >= self._prune_at:  # forget finished threads, now and then
                self._workers = [t for t in self._workers if t.is_alive()]
                self._prune_at = max(64, 2 * len(self._workers))
            self._workers.append(thread)

    @contextmanager
    def handling(self, conn=None):
        """Around one handler call: ``in_progress`` counts it, and ``stop()`` can shut
        down its connection ``conn`` so that a handler blocked in recv() returns."""
        token = object()
        self._in_flight[token] = time.monotonic()
        if conn is not None:
            self._active.add(conn)
            if self.stopping.is_set():  # stop() began, and may have shut the others down already
                _shut(conn)
        try:
            yield
        finally:
            self._active.discard(conn)
            self._in_flight.pop(token, None)

    # ----------------------------------------------------------------- public
    @property
    def address(self):
        """Where clients connect: ``(host, port)``, or a socket path."""
        address = self._address
        return address[:2] if isinstance(address, tuple) else address

    @property
    def in_progress(self) -> list:
        """Seconds each request still being handled has been running (oldest first).

        Forked children are not counted: the notebook process cannot see inside them.
        """
        now = time.monotonic()
        return sorted((now - t for t in list(self._in_flight.values())), reverse=True)

    @property
    def running(self) -> bool:
        """True until stop() has finished (socklab.running() lists the servers for which it holds)."""
        return not self._stopped

    @property
    def requests(self) -> list:
        """Every request this server recorded so far, oldest first."""
        return self.recorder.requests

    @property
    def errors(self) -> list:
        """``(client, traceback)`` for every handler error so far."""
        return self.recorder.errors

    def wait_for(self, clients, timeout: float = 1.0) -> bool:
        """Wait until a request from each client address has been recorded.

        A datagram handler sends its answer inside handle(), so a client can
        have its reply before the server has finished recording the request;
        ``load`` and ``ask`` call this before they read the records.
        """
        return self.recorder.wait_for(clients, timeout, stopped=lambda: self._stopped)

    def clear(self) -> None:
        """Forget the recorded requests and errors (the server keeps running)."""
        self.recorder.clear()

    def has_new_errors(self) -> bool:
        """True if a handler raised since the last ``check()``."""
        return self.recorder.has_new_errors()

    def check(self) -> None:
        """Raise ``HandlerError`` here if a handler raised since the last error reported."""
        self.recorder.check()

    # ------------------------------------------------------------------- stop
    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving and clean up everything, within about ``timeout`` seconds.

        The loop is woken at once; connections still open are shut down, so a
        handler blocked in ``recv`` returns; forked children are ended. A
        handler thread that still runs after all that is interrupted when it
        next runs Python code, and ``StopTimeout`` says so.
        """
        check_timeout(timeout)
        if self._stopped:
            return
        deadline = time.monotonic() + timeout
        self.stopping.set()
        try:
            self._wake_out.send(b"!")
        except OSError:
            pass
        for conn in list(self._active):
            _shut(conn)
        leftovers = []
        # The serve loop first: after it returns, nothing else touches the
        # server's sockets or its list of children.
        # Handlers blocked on a closed connection or in work() return at once; a
        # handler still running after a short grace is stuck in a loop.
        grace = min(0.1, timeout / 4)
        loop_grace = min(self._loop_grace, timeout / 2)
        self._thread.join(max(0.0, min(loop_grace, deadline - time.monotonic())))
        if self._thread.is_alive():  # a serial handler stuck in a Python loop
            interrupt_thread(self._thread)
            self._thread.join(max(0.05, deadline - time.monotonic()) / 2)  # half of what is left: the rest is for the workers
        if self.mode == "forking":
            children = self.socketserver.active_children or set()
            leftovers += end_processes(children, deadline)
            children.clear()
        with self._lock:
            threads = [t for t in self._workers if t.is_alive()]
            self._workers = []
        grace_end = time.monotonic() + grace
        for thread in threads:
            thread.join(max(0.0, min(grace_end, deadline) - time.monotonic()))
        for thread in threads + [self._thread]:
            if thread.is_alive():
                interrupt_thread(thread)
                thread.join(max(0.05, deadline - time.monotonic()))
                if thread.is_alive():
                    leftovers.append(f"thread {thread.name}")
        self._close_listener()
        self.recorder.close()
        for sock in (self._wake_in, self._wake_out):
            sock.close()
        self._remove_files()
        self._stopped = True
        if leftovers:
            raise StopTimeout(
                f"server {self.name!r} stopped, but {', '.join(leftovers)} still ran after {timeout} s: "
                "a handler is probably in time.sleep() or a long C call. It ends when that call "
                "returns; use socklab.work() for pauses inside handlers so stop() can interrupt them."
            )

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
        n, e = self.recorder.counts()
        where = format_address(self.address) if self.address is not None else "?"
        return (
            f"<socklab server {self.name!r}: {self.kind} {self.mode} on {where}, {state}, "
            f"{n} request{'s' if n != 1 else ''}, {e} error{'s' if e != 1 else ''}>"
        )


def _shut(conn) -> None:
    """Shut a connection down both ways: a handler blocked in recv() gets b"" at once."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
