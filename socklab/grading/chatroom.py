"""The room lab 04's checks talk in: a learner's ``ChatServer`` serving, and the clients' side of it.

``ChatRun`` builds the learner's server, serves it (``serving``), connects
clients, keeps every error its handlers or their writer threads raise, and
turns the first into a message with the fix. The reading helpers
(``wait_joined``, ``lines_until``, ``drain``, ``Collector``) never wait longer
than ``WAIT``; ``threads_end`` checks that nothing the learner started is left.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
import time
import traceback

from .background import serving
from ..tracebacks import last_line
from .common import WAIT, call, connect, need_handler, receive, until

LEAVE_HINT = ("a handler must return when its client closes (readline() returns b''), and finish() must stop "
              "its writer thread (put None in its queue, then join it)")


class ChatRun:
    """A learner's ChatServer serving in a thread, with its handler errors kept."""

    def __init__(self, server_class):
        self.threads_before = set(threading.enumerate())
        need_handler(server_class, "ChatServer", base=socketserver.ThreadingTCPServer)
        try:
            self.server = call(WAIT, server_class, ("127.0.0.1", 0), what="ChatServer(('127.0.0.1', 0))",
                               expect=(TypeError,))
        except TypeError as exc:
            raise AssertionError(f"ChatServer(('127.0.0.1', 0)) failed ({exc}): its __init__ takes the address "
                                 "only, and passes its own handler class to ThreadingTCPServer") from None
        self.errors = []

        def keep(request, client_address):
            self.errors.append(traceback.format_exc())

        self.server.handle_error = keep
        # A learner's own threads (a writer per client) report here too, not on stderr.
        self._hook = threading.excepthook

        def hook(args):
            if args.thread is not None and args.thread.name.startswith("socklab-"):
                return self._hook(args)
            self.errors.append("".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                                  args.exc_traceback)))

        threading.excepthook = hook
        self._serving = serving(self.server)
        self._serving.__enter__()
        self.clients = []

    def connect(self, n):
        new = [connect(self.server.server_address) for _ in range(n)]
        self.clients += new
        return new

    def check_errors(self):
        if self.errors:
            last = last_line(self.errors[0])
            raise AssertionError(f"a chat handler raised {last}: {_fix_for(last)}")

    def all_leave(self, after="after every client left"):
        """Every client closes; then every thread the learner's server started must end, and no handler raise."""
        for conn in self.clients:
            conn.close()
        self.clients = []
        threads_end(self.threads_before, "{n} threads still ran " + f"{WAIT:g} s {after}: {LEAVE_HINT}")
        self.check_errors()

    def close(self):
        for conn in self.clients:
            conn.close()
        try:
            self._serving.__exit__(None, None, None)
        finally:
            threading.excepthook = self._hook


def _fix_for(last):
    """What to change, for the last line of a chat handler's traceback."""
    if "changed size during iteration" in last:
        return ("a client joined or left while a handler looped over members: hold self.lock while "
                "you loop over members (to copy it), and while you add or remove one (setup, finish)")
    if "writer thread stopped early" in last:
        return ("write_lines() stopped before finish() put None, leaving its queue full: after an "
                "OSError, call self.disconnect() and keep going (no break or return), so the writer keeps "
                "emptying the queue until it takes None")
    if "Full" in last:
        return ("send() let queue.Full escape: put with a timeout, self.outbox.put(line, "
                "timeout=SEND_TIMEOUT), and on queue.Full call self.disconnect()")
    if "closed file" in last:
        return ("a thread wrote to a client after its wfile was closed: in finish(), stop the "
                "writer thread (put None in its queue, then join it) before super().finish()")
    return ("when a client leaves, remove it (in finish(), holding the lock), and skip clients "
            "whose socket fails (catch OSError around the write)")


def wait_joined(talker, listeners):
    """Send pings from ``talker`` until every listener has heard one: then all have joined."""
    heard = set()
    deadline = time.monotonic() + WAIT
    while len(heard) < len(listeners):
        if time.monotonic() > deadline:
            raise AssertionError(f"after {WAIT:g} s only {len(heard)} of {len(listeners)} other clients received a "
                                 "line: send each line to every other connected client")
        talker.sendall(b"ping\n")
        for conn in listeners:
            if id(conn) in heard:
                continue
            conn.settimeout(0.05)
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            if data:
                heard.add(id(conn))
    # let the pings drain, then empty every buffer
    time.sleep(0.1)
    for conn in listeners + [talker]:
        drain(conn)
        conn.settimeout(WAIT)


def drain(conn):
    """What has arrived on ``conn``, read until it stays quiet for 0.05 s or the peer closes."""
    conn.settimeout(0.05)
    return receive(conn)[0]


def lines_until(conn, count, seconds):
    """Read until ``count`` lines have arrived or ``seconds`` have passed; then what follows at once."""
    data, _ = receive(conn, lambda data: data.count(b"\n") >= count, seconds=seconds)
    time.sleep(0.05)
    data += drain(conn)
    return [line for line in data.split(b"\n") if line and line != b"ping"]


class Collector(threading.Thread):
    """Reads one client's connection in the background and keeps every byte, until stopped or closed."""

    def __init__(self, conn, name):
        super().__init__(daemon=True, name=f"socklab-grading-{name}")
        self.conn, self.data, self.closed = conn, bytearray(), False
        self._stop_reading = threading.Event()
        self.start()

    def run(self):
        while not self._stop_reading.is_set():
            try:
                ready, _, _ = select.select([self.conn], [], [], 0.05)
                if not ready:
                    continue
                chunk = self.conn.recv(1 << 16)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                self.closed = True
                return
            self.data += chunk

    def count(self):
        return self.data.count(b"\n")

    def lines(self):
        """The whole lines received (pings left out), and what came after the last newline."""
        *whole, rest = bytes(self.data).split(b"\n")
        return [line for line in whole if line != b"ping"], rest

    def stop(self):
        self._stop_reading.set()
        self.join(WAIT)


def threads_end(threads_before, message):
    """Every thread the learner's server started (handlers, writers) ends within WAIT, or fail with ``message``."""
    def lingering():
        return [t for t in threading.enumerate() if t not in threads_before and not t.name.startswith("socklab-")]

    if not until(lambda: not lingering(), WAIT):
        raise AssertionError(message.format(n=len(lingering())))
