"""Clients for a live server: one question (``ask``), or many clients (``load``).

Each client keeps its own clock readings: when it started to connect, when it
was connected, and when the whole answer had arrived. The server only learns
about a connection when it accepts it, so the time a client spends waiting in
the kernel's queue of a busy server is visible only from the client's side.
``load`` joins both views, so a timeline can show waiting and being served.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Optional

from .errors import SocklabError
from .kinds import KINDS, STREAM_KINDS, check_timeout, format_address
from .registry import stop_all_after_interrupt
from .servers import Server
from .timeline import plot_timeline, visits

_FAMILIES = {
    "tcp": socket.AF_INET,
    "udp": socket.AF_INET,
    "tcp6": socket.AF_INET6,
    "udp6": socket.AF_INET6,
    "unix": getattr(socket, "AF_UNIX", None),
    "unix-dgram": getattr(socket, "AF_UNIX", None),
}


@dataclass(frozen=True)
class ClientResult:
    """One client's view of one exchange. Times are ``time.monotonic()``."""

    index: int  #: 0, 1, 2 ... in the order the clients were created
    address: str  #: the client's own address, as the server sees it
    start: float  #: just before connect() (stream) or sendto() (datagram)
    connected: Optional[float]  #: connect() returned (stream only)
    end: float  #: the whole reply had arrived, or the exchange failed
    reply: bytes
    error: Optional[str] = None
    errno: Optional[int] = None  #: the OS error number, when the exchange failed with one


def _resolve(target, kind):
    """Turn a server, ``(host, port)`` or socket path into (kind, address, server)."""
    if isinstance(target, Server):
        if not target.running:
            raise SocklabError(f"server {target.name!r} is stopped: start it again with socklab.serve(...)")
        return target.kind, target.address, target
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}")
    if isinstance(target, tuple) and len(target) >= 2 and isinstance(target[0], str) and isinstance(target[1], int):
        if not 0 < target[1] <= 65535:
            raise ValueError(f"port must be from 1 to 65535, got {target[1]}")
        kind = kind or ("tcp6" if ":" in target[0] else "tcp")
        if kind in ("unix", "unix-dgram"):
            raise ValueError(f"a (host, port) address needs kind tcp, tcp6, udp or udp6, not {kind!r}")
        return kind, target[:2], None
    if isinstance(target, str) and not os.path.exists(target):
        import re

        match = re.fullmatch(r"\[?([\w.:-]+?)\]?:(\d{1,5})", target)
        if match and kind not in ("unix", "unix-dgram"):
            raise TypeError(
                f"{target!r} is a string, which socklab takes as a Unix socket path: for a host and port "
                f"pass a tuple, ({match.group(1)!r}, {int(match.group(2))})"
            )
    if isinstance(target, (str, os.PathLike)) and os.fspath(target):
        kind = kind or "unix"
        if kind not in ("unix", "unix-dgram"):
            raise ValueError(f"a socket path needs kind 'unix' or 'unix-dgram', not {kind!r}")
        return kind, os.fspath(target), None
    raise TypeError(
        f"cannot reach {target!r}: pass a socklab server, a (host, port) tuple such as ('127.0.0.1', 5000), "
        "or a Unix socket path"
    )


def _check_bytes(data, what="data"):
    if isinstance(data, str):
        raise TypeError(f"{what} must be bytes, not str: write b{data!r} or {data!r}.encode()")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, got {type(data).__name__}")


def _bind_unix_client(sock):
    """Give a Unix client socket a name, so the server can tell clients apart
    (and, for datagrams, answer at all). Linux picks a unique abstract name
    when asked to bind to ""; elsewhere a file in a temporary folder is used."""
    if sys.platform.startswith("linux"):
        sock.bind("")
        return None
    folder = tempfile.mkdtemp(prefix="socklab-client-")
    sock.bind(os.path.join(folder, "c.sock"))
    return folder


def _recv_until(sock, deadline, poll):
    """Call ``sock.recv()`` until it returns, in slices of 50 ms when ``poll`` is
    given, so a caller can stop waiting early (a handler that raised sends nothing)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        sock.settimeout(min(left, 0.05) if poll else left)
        try:
            return sock.recv(65536)
        except socket.timeout:
            if poll is not None and poll():
                raise _Abandoned() from None
            if time.monotonic() >= deadline:
                raise


class _Abandoned(Exception):
    """The server reported an error; the answer will never come."""


def exchange(index, kind, address, data, timeout, poll=None) -> ClientResult:
    """Send ``data`` and read the whole reply; never raises, never waits past ``timeout``."""
    stream = kind in STREAM_KINDS
    family = _FAMILIES[kind]
    start = time.monotonic()
    deadline = start + timeout
    connected = None
    me = "?"
    chunks = []
    error = number = None
    folder = None
    sock = socket.socket(family, socket.SOCK_STREAM if stream else socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        if family == getattr(socket, "AF_UNIX", None):
            folder = _bind_unix_client(sock)
        if stream:
            sock.connect(address)
            connected = time.monotonic()
            me = format_address(sock.getsockname())
            sock.sendall(data)
            # Half-close: "I have said everything". A handler reading until end
            # of stream can now finish, and its closing tells us the reply is whole.
            sock.shutdown(socket.SHUT_WR)
            while True:
                chunk = _recv_until(sock, deadline, poll)
                if not chunk:
                    break
                chunks.append(chunk)
        else:
            # connect() on a datagram socket fixes its peer: the kernel picks our
            # local address (so the server's view of us matches getsockname())
            # and drops datagrams from anyone else.
            sock.connect(address)
            me = format_address(sock.getsockname())
            sock.send(data)
            chunks.append(_recv_until(sock, deadline, poll))
    except _Abandoned:
        error = "HandlerError: the handler raised"
    except socket.timeout:
        error = f"TimeoutError: no complete reply within {timeout} s"
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc.strerror or exc}"
        number = exc.errno
    finally:
        sock.close()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    return ClientResult(index, me, start, connected, time.monotonic(), b"".join(chunks), error, number)


def _busy_hint(server) -> str:
    if server is None:
        return ""
    busy = server.in_progress
    if not busy:
        return ""
    serial = " a serial server answers no one else meanwhile;" if server.mode == "serial" else ""
    return (f" Server {server.name!r} is still busy with {len(busy)} request{'s' if len(busy) > 1 else ''} "
            f"(the oldest for {busy[0]:.1f} s):{serial} stop it with .stop() (or let its with block end), "
            "fix the handler, and start it again.")


def _raise_for(result: ClientResult, where: str, data: bytes, timeout: float, kind: str, server=None):
    import errno as E

    error = result.error or ""
    stream = kind in STREAM_KINDS
    if error.startswith("TimeoutError"):
        if stream:
            advice = (f"the handler may still be working, or waiting for more data after {data!r}; "
                      "check its loop, or pass a larger timeout=")
        else:
            advice = ("the handler may not have sent a reply (sock.sendto(reply, self.client_address)), "
                      "or it is still working; pass a larger timeout= if it is slow")
        raise TimeoutError(f"no complete reply from {where} within {timeout} s: {advice}.{_busy_hint(server)}")
    if result.errno in (E.ECONNREFUSED, E.ENOENT):
        hint = ""
        if server is None and kind in ("tcp", "tcp6"):
            hint = " If it is a UDP server, pass kind='udp' (or pass the server object itself)."
        raise ConnectionRefusedError(
            f"nothing is listening at {where}: start the server first (socklab.serve), or check the address.{hint}"
        )
    if result.errno in (E.ENOTCONN, E.ECONNRESET, E.EPIPE):
        raise ConnectionError(
            f"the server at {where} closed the connection without answering: does the handler read the "
            "request and write a reply before handle() returns?"
        )
    if result.errno == E.EMSGSIZE:
        raise ValueError(
            f"{len(data)} bytes do not fit in one datagram (at most 65,507 bytes over IPv4 UDP, less on "
            "Unix sockets): send less, or use a stream socket"
        )
    raise ConnectionError(f"the exchange with {where} failed ({error}): check that the server is running")


def ask(target, data: bytes = b"hello\n", *, kind: Optional[str] = None, timeout: float = 2.0) -> bytes:
    """Send ``data`` to a server and return its whole reply.

    On a stream socket the client sends, then closes its sending side and reads
    until the server closes: that works with any handler that answers and
    returns. On a datagram socket it returns the first datagram from the server.
    If the target is a socklab server whose handler raised, the handler's
    error is raised here.
    """
    _check_bytes(data)
    check_timeout(timeout)
    kind, address, server = _resolve(target, kind)
    poll = (lambda: server.has_new_errors()) if server is not None else None
    try:
        result = exchange(0, kind, address, bytes(data), timeout, poll)
    except KeyboardInterrupt:
        stop_all_after_interrupt()
        raise
    if server is not None:
        if not result.error:
            server.wait_for([result.address])
        server.check()
    if result.error:
        _raise_for(result, format_address(address), data, timeout, kind, server)
    return result.reply



@dataclass
class LoadResult:
    """What ``load`` measured: each client's own timings, and the server's records."""

    label: str
    concurrent: bool
    clients: list
    requests: list  #: the server's records for these clients (empty for an outside server)

    @property
    def makespan(self) -> float:
        """Seconds from the first client's start to the last client's answer."""
        return max(c.end for c in self.clients) - min(c.start for c in self.clients)

    @property
    def failed(self) -> list:
        return [c for c in self.clients if c.error]

    def visits(self) -> list:
        """Each client's visit: its timings joined to the server's record, in seconds from the first start."""
        return visits(self)

    def plot(self, **options):
        """A Gantt chart of this run; see ``socklab.plot_timeline``."""
        return plot_timeline(self, **options)

    def __repr__(self):
        rows = [f"{self.label}: {len(self.clients)} clients {'at once' if self.concurrent else 'one after another'}, "
                f"makespan {self.makespan:.3f} s"]
        rows.append(f"  {'client':>6}  {'waited s':>8}  {'served s':>8}  {'done at s':>9}  worker")
        for span in self.visits():
            waited = f"{span.waited:8.3f}" if span.served_from is not None else "       ?"
            served = f"{span.served_to - span.served_from:8.3f}" if span.served_from is not None else "       ?"
            rows.append(f"  {span.index + 1:>6}  {waited}  {served}  {span.end:9.3f}  {span.worker or '?'}"
                        + (f"  FAILED {span.error}" if span.error else ""))
        return "\n".join(rows)


def load(
    target,
    clients: int = 8,
    *,
    concurrent: bool = True,
    message: bytes = b"work\n",
    kind: Optional[str] = None,
    timeout: float = 10.0,
    strict: bool = True,
    label: Optional[str] = None,
) -> LoadResult:
    """Run ``clients`` clients against a server, all at once or one after another.

    Each client connects, sends ``message``, reads the whole reply and closes.
    Concurrent clients wait at a barrier, so they all start within a
    millisecond. Every exchange is bounded by ``timeout``.

    ``strict`` (the default) raises if any client failed; pass ``strict=False``
    to keep failures in the result, for a demo where failing is the point.
    """
    if not isinstance(clients, int) or isinstance(clients, bool) or not 1 <= clients <= 5000:
        raise ValueError(f"clients must be an int from 1 to 5000, got {clients!r}")
    _check_bytes(message, "message")
    check_timeout(timeout)
    kind, address, server = _resolve(target, kind)
    message = bytes(message)
    if server is not None and server.in_progress:
        import warnings

        busy = server.in_progress
        warnings.warn(
            f"server {server.name!r} is still busy with {len(busy)} earlier request(s), the oldest for "
            f"{busy[0]:.1f} s: this run will include that wait. Re-run the cell that starts the server "
            "for a clean measurement.", RuntimeWarning, stacklevel=2)
    results = [None] * clients
    if concurrent:
        barrier = threading.Barrier(clients + 1)
        interrupted = threading.Event()

        def run(i):
            try:
                barrier.wait(timeout)
            except threading.BrokenBarrierError:
                pass
            if not interrupted.is_set():
                results[i] = exchange(i, kind, address, message, timeout)

        threads = [threading.Thread(target=run, args=(i,), name=f"socklab-client-{i}", daemon=True)
                   for i in range(clients)]
        try:
            for thread in threads:
                thread.start()
            try:
                barrier.wait(timeout)
            except threading.BrokenBarrierError:
                pass
            deadline = time.monotonic() + 2 * timeout + 1
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            interrupted.set()
            barrier.abort()
            stop_all_after_interrupt()  # closes the clients' connections, so their threads end too
            for thread in threads:
                thread.join(1.0)
            raise
    else:
        try:
            for i in range(clients):
                results[i] = exchange(i, kind, address, message, timeout)
        except KeyboardInterrupt:
            stop_all_after_interrupt()
            raise
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:  # cannot happen unless a thread could not even start
        raise SocklabError(f"{len(missing)} client thread(s) did not finish: the machine may be overloaded")
    requests = []
    if server is not None:
        first = min(r.start for r in results)
        mine = {r.address for r in results}
        server.wait_for({r.address for r in results if not r.error})
        requests = [q for q in server.requests if q.client in mine and q.accepted >= first - 0.001]
        server.check()
    if label is None:
        label = f"{server.mode} {server.kind}" if server is not None else f"{kind} {format_address(address)}"
    result = LoadResult(label, concurrent, results, requests)
    if strict and result.failed:
        bad = result.failed[0]
        after = (" The server may still be working through the abandoned requests: re-run the cell "
                 "that starts it before measuring again.") if server is not None else ""
        raise SocklabError(
            f"{len(result.failed)} of {clients} clients failed, the first with {bad.error}: check the server, "
            f"raise timeout=, or pass strict=False to keep failures in the result.{after}"
        )
    return result
