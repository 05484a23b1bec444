"""Event-loop servers: one thread, many clients, no socketserver.

socketserver gives each client a worker (the serve loop, a thread, a process)
that may block. An event loop turns that around: one thread watches every
socket at once and does, for each, only what can be done without waiting.
Two versions of the course's uppercase echo, with the same ``work`` option as
the other servers:

* ``selectors``: the loop written out by hand, with non-blocking sockets, the
  ``selectors`` module and a heap of timers for the sleeping work;
* ``asyncio``: the same with ``asyncio.start_server``, where ``await`` marks
  every place the handler may wait.

Sleeping work (``await asyncio.sleep``, or a timer) lets the loop serve other
clients meanwhile; CPU work (``cpu=True``) blocks the one thread, and every
client waits. Start them with ``socklab.serve(mode="selectors")`` or
``mode="asyncio"``; they are TCP only and use the built-in echo.
"""

from __future__ import annotations

import asyncio
import errno
import heapq
import selectors
import socket
import threading
import time
import traceback

from .children import close_in_children
from .kinds import bind_error, format_address
from .records import Request
from .servers import Server
from .stopping import Stopped, stoppable, work

WORKER = "event loop"
ACCEPT_RETRY = 1.0  # seconds without accepting after running out of descriptors (asyncio waits as long)


class EventLoopServer(Server):
    """A ``Server`` whose requests are all handled by one event-loop thread."""

    _loop_grace = 1.0  # closing a thousand connections is not being stuck (see Server.stop)
    _thread_role = "loop"

    def _listen(self):
        host, port = self._bind_address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(self._backlog if self._backlog is not None else 128)
        except OSError as exc:
            sock.close()
            raise bind_error(exc, self.kind, (host, port)) from None
        sock.setblocking(False)
        close_in_children(sock)  # a forked child must not keep this port
        self._listener = sock
        self._address = sock.getsockname()

    def _run(self):
        with stoppable(self.stopping):  # work() in this thread notices stop()
            if self.mode == "selectors":
                self._run_selectors()
            else:
                asyncio.run(self._asyncio_main())

    def _close_listener(self):
        self._listener.close()

    def _record_connection(self, address, accepted, started, replied, error=None):
        """One record per connection, like socketserver's: served from when the loop
        started on its first line to when its last answer was handed to the socket.
        (Time the connection merely stayed open is not service.)"""
        now = time.monotonic()
        self.recorder.record(Request(format_address(address), WORKER, accepted, started or now, replied or now, error))

    # ------------------------------------------------------------ selectors
    def _run_selectors(self):
        listener = self._listener
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, None)
        selector.register(self._wake_in, selectors.EVENT_READ, "wake")
        timers = []  # (due, sequence, connection): a request whose sleeping work ends at ``due``
        sequence = 0
        connections = set()
        try:
            while not self.stopping.is_set():
                timeout = max(0.0, timers[0][0] - time.monotonic()) if timers else None
                for key, events in selector.select(timeout):
                    if key.data == "wake":
                        return
                    if key.data is None:
                        if not self._accept(listener, selector, connections):
                            # Out of descriptors: the waiting connections keep the listener
                            # readable, so watching it would spin the loop. Stop for a second,
                            # as asyncio does, then try again.
                            selector.unregister(listener)
                            sequence += 1
                            heapq.heappush(timers, (time.monotonic() + ACCEPT_RETRY, sequence, None))
                    else:
                        sequence = self._service(key.data, events, selector, timers, sequence, connections)
                now = time.monotonic()
                while timers and timers[0][0] <= now:
                    _, _, conn = heapq.heappop(timers)
                    if conn is None:  # the pause after running out of descriptors is over
                        selector.register(listener, selectors.EVENT_READ, None)
                        continue
                    conn.finish_work()
                    sequence = self._advance(conn, selector, timers, sequence, connections)
        except Stopped:
            pass
        finally:
            for conn in list(connections):
                conn.sock.close()
            selector.close()

    def _accept(self, listener, selector, connections) -> bool:
        """Accept every connection waiting (up to a batch), not just one per wake-up.

        Returns False when the process is out of descriptors (EMFILE, ENFILE)."""
        for _ in range(256):
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return True
            except ConnectionAbortedError:  # reset before it was accepted (macOS reports it): take the next
                continue
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return False  # leave the rest queued
                continue  # Linux passes on a network error of the new connection: take the next
            sock.setblocking(False)
            conn = _Connection(sock, address, time.monotonic())
            connections.add(conn)
            selector.register(sock, selectors.EVENT_READ, conn)
        return True

    def _service(self, conn, events, selector, timers, sequence, connections):
        try:
            if events & selectors.EVENT_READ:
                data = conn.sock.recv(65536)
                if data:
                    conn.inbox += data
                else:
                    conn.eof = True
            if events & selectors.EVENT_WRITE:
                conn.flush()
        except OSError as exc:
            conn.error = f"{type(exc).__name__}: {exc.strerror or exc}"
            conn.eof, conn.outbox = True, b""
        return self._advance(conn, selector, timers, sequence, connections)

    def _advance(self, conn, selector, timers, sequence, connections):
        """Do everything this connection allows now, without waiting."""
        # a whole line, or what is left once the client has closed; one request at a time
        while conn.waiting_until is None and (b"\n" in conn.inbox or (conn.eof and conn.inbox)):
            line, sep, rest = conn.inbox.partition(b"\n")
            conn.inbox = rest
            conn.current = line + sep
            if conn.started is None:
                conn.started = time.monotonic()
            if self._cpu:
                work(self._work, cpu=True)  # computing blocks the loop: every client waits
            elif self._work > 0:
                sequence += 1
                conn.waiting_until = time.monotonic() + self._work
                heapq.heappush(timers, (conn.waiting_until, sequence, conn))
                break
            conn.finish_work()
        try:
            conn.flush()
        except OSError as exc:
            conn.error = f"{type(exc).__name__}: {exc.strerror or exc}"
            conn.eof, conn.outbox, conn.inbox = True, b"", b""
        if conn.eof and not conn.inbox and not conn.outbox and conn.waiting_until is None:
            _watch(selector, conn, 0)
            conn.sock.close()
            connections.discard(conn)
            self._record_connection(conn.address, conn.accepted, conn.started, conn.replied, conn.error)
        else:
            wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outbox else 0)
            if conn.eof:
                wanted &= ~selectors.EVENT_READ
            # Nothing to wait for (the client has closed its side and the work is still
            # sleeping): stop watching the socket until the timer fires. A socket at end of
            # stream is always readable, so leaving it registered would spin the loop.
            _watch(selector, conn, wanted)
        return sequence

    # -------------------------------------------------------------- asyncio
    async def _asyncio_main(self):
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        tasks = set()
        loop.add_reader(self._wake_in, stop.set)

        async def handle(reader, writer):
            tasks.add(asyncio.current_task())
            accepted = time.monotonic()
            address = writer.get_extra_info("peername")
            error = started = replied = None
            try:
                while True:
                    line = await reader.readline()
                    if not line:
                        break
                    if started is None:
                        started = time.monotonic()
                    if self._cpu:
                        work(self._work, cpu=True)  # blocks the loop, on purpose
                    elif self._work > 0:
                        await asyncio.sleep(self._work)  # the loop serves others meanwhile
                    writer.write(line.upper())
                    await writer.drain()
                    replied = time.monotonic()
            except (asyncio.CancelledError, Stopped):
                error = "stopped: the server stopped while this request was being handled"
            except Exception as exc:  # noqa: BLE001 - reported to the notebook, not printed
                error = f"{type(exc).__name__}: {exc}"
                self.recorder.report_error(format_address(address), traceback.format_exc())
            finally:
                writer.close()
                self._record_connection(address, accepted, started, replied, error)
                tasks.discard(asyncio.current_task())

        server = await asyncio.start_server(handle, sock=self._listener,
                                            backlog=self._backlog if self._backlog is not None else 128)
        try:
            await stop.wait()
        finally:
            loop.remove_reader(self._wake_in)
            server.close()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _watch(selector, conn, events) -> None:
    """Make the selector wait for ``events`` on this connection's socket (0: not at all)."""
    try:
        selector.get_key(conn.sock)
        registered = True
    except KeyError:
        registered = False
    if events and registered:
        selector.modify(conn.sock, events, conn)
    elif events:
        selector.register(conn.sock, events, conn)
    elif registered:
        selector.unregister(conn.sock)


class _Connection:
    """What the selectors loop knows about one client."""

    __slots__ = ("sock", "address", "accepted", "inbox", "outbox", "current", "eof", "waiting_until", "error",
                 "started", "replied")

    def __init__(self, sock, address, accepted):
        self.sock, self.address, self.accepted = sock, address, accepted
        self.inbox = self.outbox = self.current = b""
        self.eof = False
        self.waiting_until = None
        self.error = None
        self.started = self.replied = None

    def finish_work(self):
        self.outbox += self.current.upper()
        self.current = b""
        self.waiting_until = None
        self.replied = time.monotonic()

    def flush(self):
        while self.outbox:
            try:
                sent = self.sock.send(self.outbox)
            except (BlockingIOError, InterruptedError):
                return
            self.outbox = self.outbox[sent:]
