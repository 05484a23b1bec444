"""What a server saw: one record per request, and the errors its handlers raised.

A handler runs in the serve loop's thread, in a thread of its own, or in a
forked child. All three write to the server's ``Recorder``::

    handler thread ──record()──▶ Recorder (lock, records, errors) ◀──drain()── datagram socket
    forked child ────record()──────────────── one JSON datagram each ──────────────┘

A child is a copy of the notebook's process: what it appends to its own copy
of the records is lost when it exits. So in a child, ``record()`` and
``report_error()`` send a datagram to the parent instead, and the parent reads
them whenever anyone looks (``requests``, ``errors``, ``wait_for``, ``check``).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Optional

from .errors import HandlerError
from .tracebacks import last_line

# Records kept per server; older ones are dropped so a long session stays small.
MAX_RECORDS = 100_000
# The most bytes one child's message may take: a datagram must fit the socket's
# send buffer and the parent's receive call. Longer texts are cut to fit.
MAX_MESSAGE = 60_000


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


def _fitted(message: dict) -> bytes:
    """The message as JSON bytes that fit one datagram of MAX_MESSAGE bytes.

    What a child printed and a traceback can be of any length, and JSON can take
    twelve bytes for one character; a message too long keeps the first and the
    last KEEP characters of each long text (a traceback's last line matters most).
    """
    data = json.dumps(message).encode()
    if len(data) <= MAX_MESSAGE:
        return data
    return json.dumps(_cut(message)).encode()


KEEP = 1_000  # characters: 4 texts x 2 x 1,000 x 12 bytes at worst stays under MAX_MESSAGE
CUT = "\n[... cut: too long to send from a forked child ...]\n"


def _cut(value):
    if isinstance(value, str) and len(value) > 2 * KEEP + len(CUT):
        return value[:KEEP] + CUT + value[-KEEP:]
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    return value


class Recorder:
    """The records and errors of one server, safe to write from threads and children."""

    def __init__(self, name: str, children: bool = False):
        self.name = name
        self.pid = os.getpid()
        self.lock = threading.RLock()
        self._recorded = threading.Condition(self.lock)
        self._records = deque(maxlen=MAX_RECORDS)
        self._errors: list = []
        self._reported = 0
        self._inbox = self._outbox = None
        if children:  # forked children send their records here, one datagram each
            self._inbox, self._outbox = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._inbox.setblocking(False)

    @property
    def inbox(self):
        """The socket children's records arrive on (for the serve loop to watch), or None."""
        return self._inbox

    # ---------------------------------------------------------------- writing
    def record(self, request: Request) -> None:
        if os.getpid() != self.pid:
            self._send_to_parent({"request": asdict(request)})
        else:
            with self.lock:
                self._records.append(request)
                self._recorded.notify_all()

    def report_error(self, client: str, text: str) -> None:
        if os.getpid() != self.pid:
            self._send_to_parent({"error": [client, text]})
        else:
            with self.lock:
                self._errors.append((client, text))

    def _send_to_parent(self, message) -> None:
        data = _fitted(message)
        try:
            self._outbox.send(data)
        except OSError:
            pass  # the parent has stopped listening; nothing is waiting for this

    def drain(self) -> None:
        """Take in every record and error children have sent so far."""
        if self._inbox is None:
            return
        while True:
            try:
                data = self._inbox.recv(2 * MAX_MESSAGE)
            except OSError:  # nothing more waiting (BlockingIOError), or closed
                return
            try:
                message = json.loads(data)
            except ValueError:  # cannot happen with _fitted; never let it stop the serve loop
                continue
            with self.lock:
                if "request" in message:
                    self._records.append(Request(**message["request"]))
                else:
                    self._errors.append(tuple(message["error"]))
                self._recorded.notify_all()

    def close(self) -> None:
        self.drain()
        for sock in (self._inbox, self._outbox):
            if sock is not None:
                sock.close()

    # ---------------------------------------------------------------- reading
    @property
    def requests(self) -> list:
        with self.lock:
            self.drain()
            return list(self._records)

    @property
    def errors(self) -> list:
        with self.lock:
            self.drain()
            return list(self._errors)

    def counts(self) -> tuple:
        """(records, errors) so far."""
        with self.lock:
            return len(self._records), len(self._errors)

    def wait_for(self, clients, timeout: float, stopped=lambda: False) -> bool:
        wanted = set(clients)
        deadline = time.monotonic() + timeout
        with self._recorded:
            while True:
                self.drain()
                if wanted <= {r.client for r in self._records}:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or stopped():
                    return False
                self._recorded.wait(min(left, 0.01))

    def clear(self) -> None:
        with self.lock:
            self.drain()
            self._records.clear()
            self._errors.clear()
            self._reported = 0

    def has_new_errors(self) -> bool:
        with self.lock:
            self.drain()
            return len(self._errors) > self._reported

    def check(self) -> None:
        with self.lock:
            self.drain()
            new = self._errors[self._reported :]
            self._reported = len(self._errors)
        if new:
            client, text = new[0]
            raise HandlerError(
                f"the handler of server {self.name!r} raised while serving {client} "
                f"({len(new)} error{'s' if len(new) > 1 else ''} since the last one reported): {last_line(text)}\n"
                f"Fix the handler class and re-run the cell that starts the server. "
                f"The handler's traceback:\n{text}",
                [t for _, t in new],
            )
