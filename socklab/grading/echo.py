"""Lab 01's checks: ``UpperHandler`` (a line echo server's handler) and ``talk()`` (its client)."""

from __future__ import annotations

import gc
import socket
import socketserver
import time
import warnings

from ..clients import ask
from ..errors import HandlerError
from ..registry import serve
from .common import (WAIT, call, check_part, clients, connect, handler_error, loopback_socket, need_function,
                     need_handler, raise_handler_errors, read_all, receive, until)

ECHO_EOF_HINT = ("the handler must stop when the client closes: readline() returns b'' then "
                 "(or loop with `for line in self.rfile:`, which stops by itself)")
ECHO_LOOP_HINT = ("the handler must loop, answering line after line until the client closes: "
                  "`for line in self.rfile:` around the write")


def _only_the_first_line(reply, expected) -> bool:
    """The reply is the answer to the first line and nothing more: a handler without a loop."""
    first = expected[:expected.index(b"\n") + 1]
    return reply == first and reply != expected


def check_upper_handler(handler, part: str = "basic") -> None:
    """Lab 01, ``UpperHandler`` on a ThreadingTCPServer.

    basic: two lines in one piece are answered uppercased, and the handler
    returns once the client closes. pieces: lines cut anywhere, even one byte
    at a time, are answered whole, and nothing is answered before its newline.
    interleaved: two clients send lines in pieces at the same time, and each
    gets its own lines back (no buffer shared between clients).
    clients: five clients at once, each answered its own lines.
    """
    check_part(part, ("basic", "pieces", "interleaved", "clients"))
    need_handler(handler, "UpperHandler")
    with serve(handler, mode="threading", name="lab01-check") as server:
        try:
            _upper_handler_part(server, part)
        except OSError as exc:  # the handler closed the connection early, most likely because it raised
            raise_handler_errors(server, "UpperHandler")
            raise AssertionError(f"the connection failed ({type(exc).__name__}: {exc}): the handler must keep "
                                 "reading until the client closes") from None


def _upper_handler_part(server, part):
    if part == "basic":
        _two_lines(server)
    elif part == "pieces":
        _lines_in_pieces(server)
    elif part == "interleaved":
        _interleaved_clients(server)
    else:
        _five_clients(server)


def _two_lines(server):
    try:
        reply = ask(server, b"hello\nsockets\n", timeout=WAIT)
    except HandlerError as exc:
        error = handler_error(exc)
        hint = ": write bytes, not str (line.upper() of the bytes line)" if "bytes-like" in error else ""
        raise AssertionError(f"UpperHandler raised {error}{hint}") from None
    except TimeoutError:
        raise AssertionError(f"the conversation had not ended {WAIT:g} s after the client closed: "
                             f"{ECHO_EOF_HINT}") from None
    assert reply != b"", ("the handler sent nothing back: read each line (for line in self.rfile) and "
                          "write it back with self.wfile.write(line.upper())")
    assert not _only_the_first_line(reply, b"HELLO\nSOCKETS\n"), (
        f"for b'hello\\nsockets\\n' the answer was {reply!r}, only the first line: {ECHO_LOOP_HINT}")
    assert reply == b"HELLO\nSOCKETS\n", (
        f"for b'hello\\nsockets\\n' the answer was {reply!r}, expected b'HELLO\\nSOCKETS\\n': "
        "write each line back with .upper(), newline included")


def _lines_in_pieces(server):
    with connect(server.address) as conn:
        conn.sendall(b"hel")
        conn.settimeout(0.2)
        try:
            early = conn.recv(100)
        except socket.timeout:
            early = None
        assert early != b"", ("the handler closed the connection in the middle of a line: keep reading "
                              "lines until the client closes")
        assert early is None, (
            f"the handler answered {early!r} before the line was complete: read whole lines "
            "(self.rfile.readline() or `for line in self.rfile`), not what one recv returns")
        conn.settimeout(WAIT)
        conn.sendall(b"lo\nwor")
        time.sleep(0.05)
        for byte in b"ld\n":
            conn.sendall(bytes([byte]))
            time.sleep(0.01)
        conn.shutdown(socket.SHUT_WR)
        reply = read_all(conn)
        assert reply is not None, (f"the conversation had not ended {WAIT:g} s after the client closed: "
                                   f"{ECHO_EOF_HINT}")
    raise_handler_errors(server, "UpperHandler")
    assert not _only_the_first_line(reply, b"HELLO\nWORLD\n"), (
        f"for b'hello\\nworld\\n' sent in pieces the answer was {reply!r}, only the first line: "
        f"{ECHO_LOOP_HINT}")
    assert reply == b"HELLO\nWORLD\n", (
        f"for b'hello\\nworld\\n' sent in pieces the answer was {reply!r}, expected b'HELLO\\nWORLD\\n': "
        "answer each whole line once")


def _five_clients(server):
    with clients(server.address, 5) as conns:
        for round_ in range(2):
            for i, conn in enumerate(conns):
                conn.sendall(f"client {i} line {round_}\n".encode())
        for conn in conns:
            conn.shutdown(socket.SHUT_WR)
        replies = [read_all(conn) for conn in conns]
        assert None not in replies, (f"five clients at once: one conversation had not ended {WAIT:g} s "
                                     f"after its client closed; {ECHO_EOF_HINT}")
    raise_handler_errors(server, "UpperHandler")
    for i, reply in enumerate(replies):
        expected = f"CLIENT {i} LINE 0\nCLIENT {i} LINE 1\n".encode()
        assert reply == expected, (
            f"with five clients at once, client {i} got {reply!r}, expected {expected!r}: keep what "
            "belongs to one client on self (or in local variables), never on the class")


def _read_line(conn):
    """Bytes up to and including the first newline, read one at a time so none of the next line is taken;
    less if the peer closes or the socket times out."""
    return receive(conn, lambda data: data.endswith(b"\n"), size=1)[0]


def _interleaved_clients(server):
    """Two clients, each with a handler running, send their lines in pieces taking turns."""
    with clients(server.address, 2) as (a, b):
        for conn, line in ((a, b"a ready\n"), (b, b"b ready\n")):
            conn.sendall(line)
            answer = _read_line(conn)
            if answer != line.upper():
                raise_handler_errors(server, "UpperHandler")
            assert answer == line.upper(), (
                f"two clients at once: a client sent {line!r} and got {answer!r}, expected {line.upper()!r}: "
                "answer each line as soon as it is complete, whoever else is connected")
        for conn, piece in ((a, b"hel"), (b, b"wor"), (a, b"lo\n"), (b, b"ld\n")):
            conn.sendall(piece)
            time.sleep(0.05)  # each piece arrives on its own, while the other client's line is unfinished
        for conn in (a, b):
            conn.shutdown(socket.SHUT_WR)
        replies = [read_all(a), read_all(b)]
        assert None not in replies, (f"two clients at once: one conversation had not ended {WAIT:g} s after its "
                                     f"client closed; {ECHO_EOF_HINT}")
    raise_handler_errors(server, "UpperHandler")
    for who, reply, expected in (("A", replies[0], b"HELLO\n"), ("B", replies[1], b"WORLD\n")):
        assert reply == expected, (
            f"two clients sent lines in pieces, taking turns (A b'hel', B b'wor', A b'lo\\n', B b'ld\\n'), "
            f"and client {who} got {reply!r}, expected {expected!r}: keep each client's unfinished line in the "
            "handler (on self or in a local variable), never in a global or on the class")


class _PiecewiseUpper(socketserver.StreamRequestHandler):
    """Answers each line uppercased, a few bytes at a time, to test a client's reading."""

    def handle(self):
        for line in self.rfile:
            answer = line.upper()
            for i in range(0, len(answer), 2):
                self.wfile.write(answer[i:i + 2])
                time.sleep(0.002)


TALK_HINT = "read until each answer's newline, and close the connection at the end (a `with` block does it)"


def check_talk(talk, part: str = "basic") -> None:
    """Lab 01, ``talk(address, lines) -> list[bytes]``.

    basic: two lines, two answers, in order. once: one connection for all the
    lines, closed by talk() itself at the end. pieces: answers that arrive a
    few bytes at a time are returned whole; no lines, no answers. timeout: a
    server that accepts and never answers makes talk() raise TimeoutError
    within its 2 s timeout.
    """
    check_part(part, ("basic", "once", "pieces", "timeout"))
    need_function(talk, "talk")
    if part == "timeout":
        _check_talk_times_out(talk)
        return
    handler = _PiecewiseUpper if part == "pieces" else None
    with serve(handler, mode="threading", name="lab01-talk") as server:
        if part == "pieces":
            _talk_in_pieces(talk, server)
        else:
            _talk_two_lines(talk, server, once=part == "once")


def _talk_in_pieces(talk, server):
    lines = [f"line number {i}\n".encode() for i in range(20)]
    got = call(WAIT, talk, server.address, lines, what="talk()", hint=TALK_HINT)
    expected = [line.upper() for line in lines]
    assert got == expected, (
        f"when each answer arrives a few bytes at a time, talk() returned {got[:3]!r}..., expected "
        f"{expected[:3]!r}...: one recv() is not one answer; collect bytes until the newline "
        "(conn.makefile('rb').readline() does it)")
    empty = call(WAIT, talk, server.address, [], what="talk(address, [])", hint=TALK_HINT)
    assert empty == [], f"talk(address, []) returned {empty!r}, expected []"


def _talk_two_lines(talk, server, once):
    lines = [b"one\n", b"two\n"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        got = call(WAIT, talk, server.address, lines, what="talk()", hint=TALK_HINT)
        gc.collect()  # a socket talk() dropped without closing is closed, with a warning, when collected
    unclosed = [w for w in caught if issubclass(w.category, ResourceWarning) and "socket" in str(w.message)]
    assert isinstance(got, list), f"talk() must return a list of answers (bytes), got {type(got).__name__}"
    assert got == [b"ONE\n", b"TWO\n"], (
        f"talk(address, [b'one\\n', b'two\\n']) returned {got!r}, expected [b'ONE\\n', b'TWO\\n']: "
        "send each line, read its answer (up to and including the newline), keep them in order")
    if not once:
        return
    until(lambda: server.requests, 1.0)
    connections = len(server.requests)
    assert connections >= 1, ("talk() left its connection open: the server never saw it close; "
                              "close the socket at the end (a `with` block does it)")
    time.sleep(0.05)
    connections = len(server.requests)
    assert connections == 1, (
        f"talk() opened {connections} connections for 2 lines: connect once, before the loop, "
        "and send every line on that one connection")
    assert not unclosed, ("talk() returned without closing its connection (Python closed it later, when "
                          "it threw the socket away): close it yourself at the end; a `with` block does it")


def _check_talk_times_out(talk):
    """A server that accepts (the kernel does, from the backlog) and never answers."""
    with loopback_socket(socket.SOCK_STREAM) as silent:
        silent.listen(8)
        try:
            got = call(WAIT, talk, silent.getsockname(), [b"hello\n"], what="talk() to a server that never answers",
                       hint="connect with a timeout, socket.create_connection(address, timeout=2), so that a "
                            "silent server makes talk() raise TimeoutError instead of waiting forever",
                       expect=(OSError,))
        except OSError:
            return  # TimeoutError (socket.timeout), as the timeout makes it
    raise AssertionError(f"talk() to a server that never answers returned {got!r}: let the TimeoutError out "
                         "(do not catch it), so that the caller knows no answer came")
