"""Lab 03's checks: ``DatagramUpperHandler`` (a UDP server's handler) and ``request()`` (a client that retries)."""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time

from ..clients import ask
from ..errors import HandlerError
from ..registry import serve
from ..timeouts import TookTooLong
from .common import WAIT, call, check_part, handler_error, loopback_socket, need_function, need_handler, start_thread


def check_datagram_handler(handler, part: str = "basic") -> None:
    """Lab 03, ``DatagramUpperHandler`` on a UDPServer.

    basic: one datagram is answered uppercased. bytes: any bytes, not only
    text, and several clients each get their own answer.
    """
    check_part(part, ("basic", "bytes"))
    need_handler(handler, "DatagramUpperHandler")
    with serve(handler, kind="udp", name="lab03-check") as server:
        cases = [b"hello"] if part == "basic" else [b"\xff\x00abc", b"x" * 1000, b"client two"]
        for payload in cases:
            try:
                reply = ask(server, payload, timeout=WAIT)
            except HandlerError as exc:
                error = handler_error(exc)
                raise AssertionError(f"DatagramUpperHandler raised {error}: {_datagram_hint(error)}") from None
            except TimeoutError:
                raise AssertionError(f"no answer within {WAIT:g} s: send it back with "
                                     "sock.sendto(data.upper(), self.client_address)") from None
            assert reply == payload.upper(), (f"for {payload[:20]!r} the answer was {reply[:20]!r}, expected "
                                              f"{payload.upper()[:20]!r}: answer with data.upper(), one datagram")


def _datagram_hint(error: str) -> str:
    """The fix for the error a datagram handler raised (the last line of its traceback)."""
    if "tuple" in error:
        return "self.request is a pair: data, sock = self.request"
    if "Destination address required" in error or "not connected" in error:
        return "answer with sock.sendto(reply, self.client_address): a datagram needs its address"
    if "decode" in error or "Unicode" in error:
        return "work on the bytes (data.upper()), without decoding them"
    return "answer with sock.sendto(data.upper(), self.client_address)"


class _Lossy(socketserver.BaseRequestHandler):
    """Drops the first ``server.drop`` datagrams, answers the rest uppercased."""

    def handle(self):
        data, sock = self.request
        self.server.seen += 1
        if self.server.seen > self.server.drop:
            sock.sendto(data.upper(), self.client_address)


def check_request(request, part: str = "basic") -> None:
    """Lab 03, ``request(address, payload, timeout=0.5, retries=3) -> bytes``.

    basic: a server that answers. retry: a server that loses the first two
    datagrams. gives_up: a server that never answers (TimeoutError after
    ``retries`` tries). stranger: a reply from another address is ignored.
    deadline: a stranger chattering every 0.2 s does not stretch a try beyond
    its ``timeout``. refused: a closed port (a connected socket's
    ConnectionRefusedError) counts as a lost try, so TimeoutError at the end.
    """
    check_part(part, ("basic", "retry", "gives_up", "stranger", "deadline", "refused"))
    need_function(request, "request")
    if part == "basic":
        with serve(kind="udp", name="lab03-request") as server:
            got = call(WAIT, request, server.address, b"ping", what="request()",
                       hint="set a timeout on the socket, and return the first reply")
            assert got == b"PING", f"request(address, b'ping') returned {got!r}, expected b'PING'"
    elif part == "retry":
        _check_retries(request)
    elif part == "gives_up":
        _check_gives_up(request)
    elif part == "stranger":
        with _server_and_stranger() as (server, stranger):
            _ignores_strangers(request, server, stranger)
    elif part == "deadline":
        with _server_and_stranger() as (server, stranger):
            _deadline_per_try(request, server, stranger)
    else:
        _check_closed_port(request)


def _check_retries(request):
    with serve(_Lossy, kind="udp", name="lab03-lossy") as server:
        server.socketserver.seen, server.socketserver.drop = 0, 2
        try:
            got = call(WAIT, request, server.address, b"again", timeout=0.2, retries=3, what="request()",
                       expect=(TimeoutError,))
        except TimeoutError:
            raise AssertionError("the server lost the first 2 datagrams and request(..., retries=3) gave up: "
                                 "after a socket.timeout, send the datagram again, up to `retries` "
                                 "sends in all") from None
        assert got == b"AGAIN", f"after two lost datagrams request() returned {got!r}, expected b'AGAIN'"
        sent = server.socketserver.seen
        assert sent == 3, f"the server received {sent} datagrams, expected 3: send again only after a timeout"


def _check_gives_up(request):
    with loopback_socket() as silent:
        start = time.monotonic()
        try:
            got = call(WAIT, request, silent.getsockname(), b"anyone?", timeout=0.1, retries=3,
                       what="request() to a server that never answers",
                       hint="give up after `retries` timeouts and raise TimeoutError", expect=(TimeoutError,))
        except TimeoutError:
            elapsed = time.monotonic() - start
        else:
            raise AssertionError(f"no server answered, yet request() returned {got!r}: raise TimeoutError "
                                 "after the last try")
        silent.settimeout(0)
        received = 0
        while True:
            try:
                silent.recv(65536)
                received += 1
            except BlockingIOError:
                break
        assert received == 3, (f"with retries=3 the silent server received {received} datagrams, expected 3: "
                               "send once per try, `retries` tries in all")
        assert 0.25 <= elapsed < 2.0, (f"request(timeout=0.1, retries=3) gave up after {elapsed:.2f} s, "
                                       "expected about 0.3 s: wait `timeout` seconds per try")


@contextlib.contextmanager
def _server_and_stranger():
    """Two UDP sockets on loopback for lab 03's checks: the server request() talks to, and a
    stranger on another port; both closed when the block ends."""
    with loopback_socket() as server, loopback_socket() as stranger:
        server.settimeout(WAIT)
        yield server, stranger


def _ignores_strangers(request, server, stranger):
    def answer():
        try:
            data, client = server.recvfrom(65536)
            stranger.sendto(b"NOT FROM THE SERVER", client)  # first, from another port
            time.sleep(0.05)
            server.sendto(data.upper(), client)
        except OSError:
            pass

    thread = start_thread("server", answer)
    try:
        try:
            got = call(WAIT, request, server.getsockname(), b"real", timeout=0.5, retries=1, what="request()",
                       expect=(TimeoutError,))
        except TimeoutError:
            raise AssertionError("a stranger's datagram came first, then the server's answer, and request() gave "
                                 "up: after ignoring a stranger, keep waiting for the rest of this try's timeout "
                                 "(or connect() the socket to the server)") from None
        assert got == b"REAL", (f"a stranger answered first and request() returned {got!r}: ignore a reply whose "
                                "address is not the server's (compare what recvfrom returns), or connect() the "
                                "socket to the server so the kernel drops the rest")
    finally:
        thread.join(WAIT)


DEADLINE_HINT = ("keep a deadline per try (deadline = time.monotonic() + timeout after each send) and, before "
                 "each recvfrom, settimeout to the time left until it, so datagrams from strangers cannot stretch "
                 "the try")


def _deadline_per_try(request, server, stranger):
    done = threading.Event()

    def chatter():
        try:
            _, client = server.recvfrom(65536)  # the request; the server never answers it
            while not done.wait(0.2):
                stranger.sendto(b"CHATTER", client)
        except OSError:
            pass

    thread = start_thread("stranger", chatter)
    start = time.monotonic()
    try:
        try:
            got = call(1.5, request, server.getsockname(), b"hello?", timeout=0.5, retries=1, what="request()",
                       fix="ignore a stranger's datagram and raise TimeoutError when the try's time is up",
                       expect=(TimeoutError,))
        except TookTooLong:
            raise AssertionError("the server never answered and a stranger sent a datagram every 0.2 s: "
                                 "request(timeout=0.5, retries=1) was still waiting after 1.5 s; "
                                 + DEADLINE_HINT) from None
        except TimeoutError:
            elapsed = time.monotonic() - start
            assert elapsed < 1.0, (f"with a stranger sending every 0.2 s, request(timeout=0.5, retries=1) gave up "
                                   f"after {elapsed:.2f} s, not about 0.5 s: " + DEADLINE_HINT)
            return
        raise AssertionError(f"the server never answered, yet request() returned {got!r}: ignore datagrams whose "
                             "address is not the server's, and raise TimeoutError after the last try")
    finally:
        done.set()
        thread.join(WAIT)


def _check_closed_port(request):
    with loopback_socket() as probe:
        address = probe.getsockname()  # closed when the block ends: nobody listens there
    try:
        got = call(WAIT, request, address, b"anyone?", timeout=0.1, retries=3, what="request() to a closed port",
                   hint="give up after `retries` tries and raise TimeoutError",
                   fix="count it as a lost try and raise TimeoutError after the last try",
                   expect=(TimeoutError, ConnectionRefusedError))
    except TimeoutError:
        return
    except ConnectionRefusedError:
        raise AssertionError("request() to a closed port raised ConnectionRefusedError: a connected UDP socket "
                             "reports the port unreachable this way; catch ConnectionRefusedError around the "
                             "send and the recv, count it as a lost try, and raise TimeoutError after the last "
                             "try") from None
    raise AssertionError(f"nobody listens on that port, yet request() returned {got!r}: raise TimeoutError "
                         "after the last try")
