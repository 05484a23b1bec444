"""The checks behind the labs' autograder tests.

Each ``check_*`` function tries a learner's code against live servers and
clients on loopback, and either returns quietly or raises ``AssertionError``
with one message that says what went wrong and what to change. Every check is
bounded in time: a handler that hangs is stopped by socklab's ``stop()``, and a
client function that hangs is interrupted by ``within()``; neither freezes the
kernel. The lab notebooks call these from their test cells, so otter-grader's
``grader.check("q1")`` shows the message.

``part`` picks one aspect to check; the public tests use some parts, the hidden
tests the others.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import warnings

from .clients import ask
from .errors import HandlerError
from .registry import serve

WAIT = 3.0  # seconds: the most any one check waits for a learner's code
FAST = 1.0  # seconds: lab 02's recv_msg of 4 MiB (a right answer takes about 0.01 s)


class _TimeUp(BaseException):
    """Raised by the alarm; a BaseException, so ``except Exception`` in a learner's code lets it through."""


def within(seconds: float, func, *args, what: str = "", hint: str = "", **kwargs):
    """Call ``func(*args, **kwargs)`` and return its result, or fail after ``seconds``.

    In the main thread (a notebook cell, an otter run) an alarm signal
    interrupts the call, even inside a blocking ``recv``. Elsewhere the call
    runs in a daemon thread that is abandoned if it does not return.
    """
    name = what or f"{getattr(func, '__name__', 'the function')}()"
    message = f"{name} did not return within {seconds:g} s" + (f": {hint}" if hint else "")
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def alarm(signum, frame):
            raise _TimeUp()

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return func(*args, **kwargs)
        except _TimeUp:
            pass  # raised below, outside this block, so that the interrupted frames (and their sockets) are freed
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        raise AssertionError(message)
    outcome = {}

    def run():
        try:
            outcome["value"] = func(*args, **kwargs)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="socklab-grading-call")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise AssertionError(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _run(seconds, func, *args, what="", hint="", expect=(), **kwargs):
    """``within``, and a learner's unexpected exception becomes a failure that names the call."""
    try:
        return within(seconds, func, *args, what=what, hint=hint, **kwargs)
    except AssertionError:
        raise
    except expect:
        raise
    except Exception as exc:
        name = what or f"{getattr(func, '__name__', 'the function')}()"
        raise AssertionError(f"{name} raised {_exception_name(exc)}: {exc}" + (f"; {hint}" if hint else "")) from None


def _exception_name(exc) -> str:
    """``TypeError``, but ``struct.error`` rather than a bare ``error``."""
    kind = type(exc)
    module = getattr(kind, "__module__", "builtins")
    return kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"


def _need_handler(handler, name, base=socketserver.BaseRequestHandler):
    """The learner's class exists and has the right base (a handler, or a server for lab 04)."""
    if handler is Ellipsis or handler is None:
        raise AssertionError(f"{name} is not written yet: replace the ... with your class")
    if not isinstance(handler, type) or not issubclass(handler, base):
        raise AssertionError(f"{name} must be a class that inherits from socketserver.{base.__name__}, "
                             f"got {handler!r}")


def _need_function(func, name):
    if func is Ellipsis or func is None:
        raise AssertionError(f"{name} is not written yet: replace the ... with your function")
    if not callable(func):
        raise AssertionError(f"{name} must be a function, got {func!r}")


def _handler_error(exc: HandlerError) -> str:
    last = exc.tracebacks[0].strip().splitlines()[-1] if exc.tracebacks else str(exc)
    return last


def _parts(part, known):
    if part not in known:
        raise ValueError(f"part must be one of {', '.join(known)}, got {part!r}")


def _connect(address, timeout=WAIT):
    conn = socket.create_connection(address, timeout=timeout)
    return conn


def _read_all(conn):
    """Everything until the peer closes; None if it has not closed within the socket's timeout."""
    chunks = []
    while True:
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            return None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


# ---------------------------------------------------------------- lab 01: echo

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
    _parts(part, ("basic", "pieces", "interleaved", "clients"))
    _need_handler(handler, "UpperHandler")
    with serve(handler, mode="threading", name="lab01-check") as server:
        try:
            _upper_handler_part(server, part)
        except OSError as exc:  # the handler closed the connection early, most likely because it raised
            _raise_handler_errors(server, "UpperHandler")
            raise AssertionError(f"the connection failed ({type(exc).__name__}: {exc}): the handler must keep "
                                 "reading until the client closes") from None


def _upper_handler_part(server, part):
    if part == "basic":
        try:
            reply = ask(server, b"hello\nsockets\n", timeout=WAIT)
        except HandlerError as exc:
            error = _handler_error(exc)
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
    elif part == "pieces":
        with _connect(server.address) as conn:
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
            reply = _read_all(conn)
            assert reply is not None, (f"the conversation had not ended {WAIT:g} s after the client closed: "
                                       f"{ECHO_EOF_HINT}")
        _raise_handler_errors(server, "UpperHandler")
        assert not _only_the_first_line(reply, b"HELLO\nWORLD\n"), (
            f"for b'hello\\nworld\\n' sent in pieces the answer was {reply!r}, only the first line: "
            f"{ECHO_LOOP_HINT}")
        assert reply == b"HELLO\nWORLD\n", (
            f"for b'hello\\nworld\\n' sent in pieces the answer was {reply!r}, expected b'HELLO\\nWORLD\\n': "
            "answer each whole line once")
    elif part == "interleaved":
        _interleaved_clients(server)
    else:
        conns = [_connect(server.address) for _ in range(5)]
        try:
            for round_ in range(2):
                for i, conn in enumerate(conns):
                    conn.sendall(f"client {i} line {round_}\n".encode())
            for conn in conns:
                conn.shutdown(socket.SHUT_WR)
            replies = [_read_all(conn) for conn in conns]
            assert None not in replies, (f"five clients at once: one conversation had not ended {WAIT:g} s "
                                         f"after its client closed; {ECHO_EOF_HINT}")
        finally:
            for conn in conns:
                conn.close()
        _raise_handler_errors(server, "UpperHandler")
        for i, reply in enumerate(replies):
            expected = f"CLIENT {i} LINE 0\nCLIENT {i} LINE 1\n".encode()
            assert reply == expected, (
                f"with five clients at once, client {i} got {reply!r}, expected {expected!r}: keep what "
                "belongs to one client on self (or in local variables), never on the class")


def _read_line(conn):
    """Bytes up to and including the first newline; less if the peer closes or the socket times out."""
    line = b""
    while not line.endswith(b"\n"):
        try:
            byte = conn.recv(1)
        except socket.timeout:
            break
        if not byte:
            break
        line += byte
    return line


def _interleaved_clients(server):
    """Two clients, each with a handler running, send their lines in pieces taking turns."""
    a, b = _connect(server.address), _connect(server.address)
    try:
        for conn, line in ((a, b"a ready\n"), (b, b"b ready\n")):
            conn.sendall(line)
            answer = _read_line(conn)
            if answer != line.upper():
                _raise_handler_errors(server, "UpperHandler")
            assert answer == line.upper(), (
                f"two clients at once: a client sent {line!r} and got {answer!r}, expected {line.upper()!r}: "
                "answer each line as soon as it is complete, whoever else is connected")
        for conn, piece in ((a, b"hel"), (b, b"wor"), (a, b"lo\n"), (b, b"ld\n")):
            conn.sendall(piece)
            time.sleep(0.05)  # each piece arrives on its own, while the other client's line is unfinished
        for conn in (a, b):
            conn.shutdown(socket.SHUT_WR)
        replies = [_read_all(a), _read_all(b)]
        assert None not in replies, (f"two clients at once: one conversation had not ended {WAIT:g} s after its "
                                     f"client closed; {ECHO_EOF_HINT}")
    finally:
        a.close()
        b.close()
    _raise_handler_errors(server, "UpperHandler")
    for who, reply, expected in (("A", replies[0], b"HELLO\n"), ("B", replies[1], b"WORLD\n")):
        assert reply == expected, (
            f"two clients sent lines in pieces, taking turns (A b'hel', B b'wor', A b'lo\\n', B b'ld\\n'), "
            f"and client {who} got {reply!r}, expected {expected!r}: keep each client's unfinished line in the "
            "handler (on self or in a local variable), never in a global or on the class")


def _raise_handler_errors(server, name):
    try:
        server.check()
    except HandlerError as exc:
        raise AssertionError(f"{name} raised {_handler_error(exc)}") from None


class _PiecewiseUpper(socketserver.StreamRequestHandler):
    """Answers each line uppercased, a few bytes at a time, to test a client's reading."""

    def handle(self):
        for line in self.rfile:
            answer = line.upper()
            for i in range(0, len(answer), 2):
                self.wfile.write(answer[i:i + 2])
                time.sleep(0.002)


def check_talk(talk, part: str = "basic") -> None:
    """Lab 01, ``talk(address, lines) -> list[bytes]``.

    basic: two lines, two answers, in order. once: one connection for all the
    lines, closed by talk() itself at the end. pieces: answers that arrive a
    few bytes at a time are returned whole; no lines, no answers. timeout: a
    server that accepts and never answers makes talk() raise TimeoutError
    within its 2 s timeout.
    """
    _parts(part, ("basic", "once", "pieces", "timeout"))
    _need_function(talk, "talk")
    if part == "timeout":
        _check_talk_times_out(talk)
        return
    hint = ("read until each answer's newline, and close the connection at the end "
            "(a `with` block does it)")
    handler = _PiecewiseUpper if part == "pieces" else None
    with serve(handler, mode="threading", name="lab01-talk") as server:
        if part == "pieces":
            lines = [f"line number {i}\n".encode() for i in range(20)]
            got = _run(WAIT, talk, server.address, lines, what="talk()", hint=hint)
            expected = [line.upper() for line in lines]
            assert got == expected, (
                f"when each answer arrives a few bytes at a time, talk() returned {got[:3]!r}..., expected "
                f"{expected[:3]!r}...: one recv() is not one answer; collect bytes until the newline "
                "(conn.makefile('rb').readline() does it)")
            empty = _run(WAIT, talk, server.address, [], what="talk(address, [])", hint=hint)
            assert empty == [], f"talk(address, []) returned {empty!r}, expected []"
            return
        lines = [b"one\n", b"two\n"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            got = _run(WAIT, talk, server.address, lines, what="talk()", hint=hint)
            gc.collect()  # a socket talk() dropped without closing is closed, with a warning, when collected
        unclosed = [w for w in caught if issubclass(w.category, ResourceWarning) and "socket" in str(w.message)]
        assert isinstance(got, list), f"talk() must return a list of answers (bytes), got {type(got).__name__}"
        assert got == [b"ONE\n", b"TWO\n"], (
            f"talk(address, [b'one\\n', b'two\\n']) returned {got!r}, expected [b'ONE\\n', b'TWO\\n']: "
            "send each line, read its answer (up to and including the newline), keep them in order")
        if part == "once":
            deadline = time.monotonic() + 1.0
            while not server.requests and time.monotonic() < deadline:
                time.sleep(0.01)
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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        try:
            got = _run(WAIT, talk, silent.getsockname(), [b"hello\n"], what="talk() to a server that never answers",
                       hint="connect with a timeout, socket.create_connection(address, timeout=2), so that a "
                            "silent server makes talk() raise TimeoutError instead of waiting forever",
                       expect=(OSError,))
        except OSError:
            return  # TimeoutError (socket.timeout), as the timeout makes it
    raise AssertionError(f"talk() to a server that never answers returned {got!r}: let the TimeoutError out "
                         "(do not catch it), so that the caller knows no answer came")


# ------------------------------------------------------------ lab 02: framing

HEADER = struct.Struct(">I")


def _frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def check_framing(send_msg, recv_msg, part: str = "roundtrip") -> None:
    """Lab 02, ``send_msg(sock, payload)`` and ``recv_msg(sock)``.

    send_msg alone: prefix: a 4-byte big-endian length, then the payload.
    whole: all of a 4 MiB payload leaves (sendall, not send).
    recv_msg alone, fed by a correct sender: roundtrip: a message and an empty
    one arrive intact. pieces: a message sent one byte at a time. many: three
    messages sent in one piece come out as three. fast: 4 MiB within 1 s (a
    right answer takes about 0.01 s; one byte per recv, or bytes += on small
    pieces, takes many seconds). big: 16 MiB. closed: a peer that closes
    mid-message makes recv_msg raise ConnectionError.
    """
    _parts(part, ("prefix", "whole", "roundtrip", "pieces", "many", "fast", "big", "closed"))
    if part in ("prefix", "whole"):
        _need_function(send_msg, "send_msg")
    else:
        _need_function(recv_msg, "recv_msg")
    left, right = socket.socketpair()
    left.settimeout(WAIT * 2)
    right.settimeout(WAIT * 2)
    recv_hint = ("read exactly 4 bytes, unpack the length with struct.unpack('>I', ...), then read exactly "
                 "that many bytes, calling recv in a loop and asking for no more than you still need; "
                 "raise ConnectionError if recv returns b'' first")
    try:
        if part == "roundtrip":
            for payload in (b"hello, framing", b""):
                left.sendall(_frame(payload))
                got = _run(WAIT, recv_msg, right, what="recv_msg()", hint=recv_hint)
                assert got == payload, f"sent {payload!r}, recv_msg returned {got!r}: {recv_hint}"
        elif part == "whole":
            payload = bytes(range(256)) * (4 * 1024 * 1024 // 256)
            sender = threading.Thread(target=_quietly, args=(send_msg, left, payload), daemon=True)
            sender.start()
            wire = bytearray()
            deadline = time.monotonic() + WAIT
            right.settimeout(0.2)
            while len(wire) < len(payload) + 4 and time.monotonic() < deadline:
                try:
                    chunk = right.recv(1 << 20)
                except socket.timeout:
                    if not sender.is_alive():
                        break
                    continue
                if not chunk:
                    break
                wire += chunk
            sender.join(WAIT)
            assert len(wire) == len(payload) + 4, (
                f"send_msg of 4 MiB put {len(wire):,} of {len(payload) + 4:,} bytes on the wire: use sendall, "
                "not send (one send may send only part, and returns how much)")
            assert bytes(wire[:4]) != struct.pack("<I", len(payload)), (
                f"send_msg of 4 MiB sent the length prefix {bytes(wire[:4])!r}, little-endian: pack it big-endian, "
                "struct.pack('>I', len(payload))")
            assert bytes(wire[4:]) == payload and wire[:4] == HEADER.pack(len(payload)), (
                "send_msg of 4 MiB sent the right number of bytes, but not the length prefix followed by the "
                "payload: send struct.pack('>I', len(payload)), then the payload")
        elif part == "prefix":
            _run(WAIT, send_msg, left, b"hi", what="send_msg()")
            left.shutdown(socket.SHUT_WR)
            raw = _read_all(right)
            assert raw == b"\x00\x00\x00\x02hi", (
                f"send_msg(sock, b'hi') wrote {raw!r}, expected b'\\x00\\x00\\x00\\x02hi': the length as 4 bytes, "
                "big-endian (struct.pack('>I', len(payload))), then the payload, with sendall")
        elif part == "pieces":
            payload = b"one byte at a time"
            writer = _writer(left, _frame(payload), step=1, pause=0.002)
            got = _run(WAIT, recv_msg, right, what="recv_msg() of a message sent one byte at a time", hint=recv_hint)
            writer.join(WAIT)
            assert got == payload, (f"for a message that arrived one byte at a time recv_msg returned {got!r}: "
                                    f"{recv_hint}")
        elif part == "many":
            payloads = [b"first", b"", b"third message"]
            left.sendall(b"".join(_frame(p) for p in payloads))
            many_hint = ("read exactly the length the prefix gives, no more; the rest belongs to the next message")
            got = [_run(WAIT, recv_msg, right, what="recv_msg() of three messages sent in one piece", hint=many_hint)
                   for _ in payloads]
            assert got == payloads, (f"three messages sent in one piece came out as {got!r}: read exactly the "
                                     "length the prefix gives, no more; the rest belongs to the next message")
        elif part == "fast":
            payload = bytes(range(256)) * (4 * 1024 * 1024 // 256)
            sender = _writer(left, _frame(payload), step=len(payload) + 4, pause=0)
            got = _run(FAST, recv_msg, right, what="recv_msg() of a 4 MiB message",
                       hint="ask recv for all the bytes you still need (sock.recv(n - len(data))), not 1 byte at a "
                            "time, and collect the pieces in a bytearray or a list (bytes += copies everything "
                            "received so far, every time)")
            sender.join(WAIT)
            assert got == payload, (f"a 4 MiB message came out as {len(got):,} bytes"
                                    f"{'' if len(got) != len(payload) else ', different'}: call recv until you "
                                    "have every byte; one recv returns at most what has arrived")
        elif part == "big":
            payload = bytes(range(256)) * (16 * 1024 * 1024 // 256)
            sender = _writer(left, _frame(payload), step=len(payload) + 4, pause=0)
            got = _run(WAIT * 4, recv_msg, right, what="recv_msg() of 16 MiB",
                       hint="call recv until you have every byte; one recv returns at most what has arrived")
            sender.join(WAIT)
            assert got == payload, (f"a 16 MiB message came out as {len(got):,} bytes"
                                    f"{'' if len(got) != len(payload) else ', different'}: call recv until you "
                                    "have every byte; one recv returns at most what has arrived")
        else:
            cuts = ((HEADER.pack(10) + b"abc", "a header saying 10 bytes, then 3 of them,",
                     "your read of the 4-byte header returned more than 4 bytes: ask recv for no more than you "
                     "still need (sock.recv(n - len(data))), so that reading n bytes returns exactly n"),
                    (b"\x00\x00", "2 of the header's 4 bytes",
                     "your read of the 4-byte header returned fewer than 4 bytes: when recv returns b'' before "
                     "you have all n bytes, raise ConnectionError"))
            for cut, sent, fix in cuts:
                a, b = socket.socketpair()
                b.settimeout(WAIT)
                try:
                    a.sendall(cut)
                    a.close()
                    try:
                        got = _run(WAIT, recv_msg, b, what="recv_msg()",
                                   hint="when recv returns b'' the peer has closed: raise ConnectionError",
                                   expect=(ConnectionError, struct.error))
                    except ConnectionError:
                        continue
                    except struct.error as exc:
                        raise AssertionError(f"the peer sent {sent} and closed, and recv_msg() raised struct.error "
                                             f"({exc}): {fix}") from None
                    raise AssertionError(
                        f"the peer closed after sending {cut!r}, and recv_msg returned {got!r}: raise "
                        "ConnectionError when recv returns b'' before the message is complete")
                finally:
                    a.close()
                    b.close()
    finally:
        left.close()
        right.close()


def _writer(sock, data, step, pause):
    def write():
        try:
            for i in range(0, len(data), step):
                sock.sendall(data[i:i + step])
                time.sleep(pause)
        except OSError:
            pass

    thread = threading.Thread(target=write, daemon=True, name="socklab-grading-writer")
    thread.start()
    return thread


def _quietly(func, *args):
    try:
        func(*args)
    except Exception:
        pass


def check_is_int(value, name: str) -> None:
    """An answer that must be a whole number (lab 02's ``largest``): an ``int``, and not ``True`` or ``False``."""
    if value is Ellipsis or value is None:
        raise AssertionError(f"{name} is not set yet: replace the ... with a number")
    if isinstance(value, bool):
        raise AssertionError(f"{name} is {value!r}, a bool: set it to a number (an int such as 10 ** 6), "
                             "not True or False")
    if not isinstance(value, int):
        raise AssertionError(f"{name} must be an int, got {value!r} ({type(value).__name__}): use whole-number "
                             "arithmetic such as 2 ** 10 (not 2e10 or /, which give a float)")


# ---------------------------------------------------------------- lab 03: UDP

def check_datagram_handler(handler, part: str = "basic") -> None:
    """Lab 03, ``DatagramUpperHandler`` on a UDPServer.

    basic: one datagram is answered uppercased. bytes: any bytes, not only
    text, and several clients each get their own answer.
    """
    _parts(part, ("basic", "bytes"))
    _need_handler(handler, "DatagramUpperHandler")
    with serve(handler, kind="udp", name="lab03-check") as server:
        cases = [b"hello"] if part == "basic" else [b"\xff\x00abc", b"x" * 1000, b"client two"]
        for payload in cases:
            try:
                reply = ask(server, payload, timeout=WAIT)
            except HandlerError as exc:
                error = _handler_error(exc)
                if "tuple" in error:
                    hint = "self.request is a pair: data, sock = self.request"
                elif "Destination address required" in error or "not connected" in error:
                    hint = "answer with sock.sendto(reply, self.client_address): a datagram needs its address"
                elif "decode" in error or "Unicode" in error:
                    hint = "work on the bytes (data.upper()), without decoding them"
                else:
                    hint = "answer with sock.sendto(data.upper(), self.client_address)"
                raise AssertionError(f"DatagramUpperHandler raised {error}: {hint}") from None
            except TimeoutError:
                raise AssertionError(f"no answer within {WAIT:g} s: send it back with "
                                     "sock.sendto(data.upper(), self.client_address)") from None
            assert reply == payload.upper(), (f"for {payload[:20]!r} the answer was {reply[:20]!r}, expected "
                                              f"{payload.upper()[:20]!r}: answer with data.upper(), one datagram")


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
    _parts(part, ("basic", "retry", "gives_up", "stranger", "deadline", "refused"))
    _need_function(request, "request")
    if part == "deadline":
        return _check_deadline_per_try(request)
    if part == "refused":
        return _check_closed_port(request)
    if part == "basic":
        with serve(kind="udp", name="lab03-request") as server:
            got = _run(WAIT, request, server.address, b"ping", what="request()",
                         hint="set a timeout on the socket, and return the first reply")
            assert got == b"PING", f"request(address, b'ping') returned {got!r}, expected b'PING'"
    elif part == "retry":
        with serve(_Lossy, kind="udp", name="lab03-lossy") as server:
            server.socketserver.seen, server.socketserver.drop = 0, 2
            try:
                got = _run(WAIT, request, server.address, b"again", timeout=0.2, retries=3, what="request()",
                           expect=(TimeoutError,))
            except TimeoutError:
                raise AssertionError("the server lost the first 2 datagrams and request(..., retries=3) gave up: "
                                     "after a socket.timeout, send the datagram again, up to `retries` "
                                     "sends in all") from None
            assert got == b"AGAIN", f"after two lost datagrams request() returned {got!r}, expected b'AGAIN'"
            sent = server.socketserver.seen
            assert sent == 3, f"the server received {sent} datagrams, expected 3: send again only after a timeout"
    elif part == "gives_up":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))
            start = time.monotonic()
            try:
                got = _run(WAIT, request, silent.getsockname(), b"anyone?", timeout=0.1, retries=3,
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
    else:
        _check_ignores_strangers(request)


@contextlib.contextmanager
def _server_and_stranger():
    """Two UDP sockets on loopback for lab 03's checks: the server request() talks to, and a
    stranger on another port; both closed when the block ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
         socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        server.bind(("127.0.0.1", 0))
        stranger.bind(("127.0.0.1", 0))
        server.settimeout(WAIT)
        yield server, stranger


def _check_ignores_strangers(request):
    with _server_and_stranger() as (server, stranger):
        _ignores_strangers(request, server, stranger)


def _ignores_strangers(request, server, stranger):
    def answer():
        try:
            data, client = server.recvfrom(65536)
            stranger.sendto(b"NOT FROM THE SERVER", client)  # first, from another port
            time.sleep(0.05)
            server.sendto(data.upper(), client)
        except OSError:
            pass

    thread = threading.Thread(target=answer, daemon=True, name="socklab-grading-server")
    thread.start()
    try:
        try:
            got = _run(WAIT, request, server.getsockname(), b"real", timeout=0.5, retries=1, what="request()",
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


def _check_deadline_per_try(request):
    with _server_and_stranger() as (server, stranger):
        _deadline_per_try(request, server, stranger)


def _deadline_per_try(request, server, stranger):
    done = threading.Event()

    def chatter():
        try:
            _, client = server.recvfrom(65536)  # the request; the server never answers it
            while not done.wait(0.2):
                stranger.sendto(b"CHATTER", client)
        except OSError:
            pass

    thread = threading.Thread(target=chatter, daemon=True, name="socklab-grading-stranger")
    thread.start()
    start = time.monotonic()
    try:
        try:
            got = within(1.5, request, server.getsockname(), b"hello?", timeout=0.5, retries=1)
        except AssertionError:
            raise AssertionError("the server never answered and a stranger sent a datagram every 0.2 s: "
                                 "request(timeout=0.5, retries=1) was still waiting after 1.5 s; "
                                 + DEADLINE_HINT) from None
        except TimeoutError:
            elapsed = time.monotonic() - start
            assert elapsed < 1.0, (f"with a stranger sending every 0.2 s, request(timeout=0.5, retries=1) gave up "
                                   f"after {elapsed:.2f} s, not about 0.5 s: " + DEADLINE_HINT)
            return
        except Exception as exc:
            raise AssertionError(f"request() raised {_exception_name(exc)}: {exc}; ignore a stranger's datagram "
                                 "and raise TimeoutError when the try's time is up") from None
        raise AssertionError(f"the server never answered, yet request() returned {got!r}: ignore datagrams whose "
                             "address is not the server's, and raise TimeoutError after the last try")
    finally:
        done.set()
        thread.join(WAIT)


def _check_closed_port(request):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        address = probe.getsockname()  # closed when the block ends: nobody listens there
    try:
        got = within(WAIT, request, address, b"anyone?", timeout=0.1, retries=3,
                     what="request() to a closed port", hint="give up after `retries` tries and raise TimeoutError")
    except TimeoutError:
        return
    except ConnectionRefusedError:
        raise AssertionError("request() to a closed port raised ConnectionRefusedError: a connected UDP socket "
                             "reports the port unreachable this way; catch ConnectionRefusedError around the "
                             "send and the recv, count it as a lost try, and raise TimeoutError after the last "
                             "try") from None
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"request() to a closed port raised {_exception_name(exc)}: {exc}; count it as a "
                             "lost try and raise TimeoutError after the last try") from None
    raise AssertionError(f"nobody listens on that port, yet request() returned {got!r}: raise TimeoutError "
                         "after the last try")


# --------------------------------------------------------------- lab 04: chat

class _ChatRun:
    """A learner's ChatServer serving in a thread, with its handler errors kept."""

    def __init__(self, server_class):
        _need_handler(server_class, "ChatServer", base=socketserver.ThreadingTCPServer)
        try:
            self.server = _run(WAIT, server_class, ("127.0.0.1", 0), what="ChatServer(('127.0.0.1', 0))",
                               expect=(TypeError,))
        except TypeError as exc:
            raise AssertionError(f"ChatServer(('127.0.0.1', 0)) failed ({exc}): its __init__ takes the address "
                                 "only, and passes its own handler class to ThreadingTCPServer") from None
        self.errors = []

        def keep(request, client_address):
            import traceback

            self.errors.append(traceback.format_exc())

        self.server.handle_error = keep
        # A learner's own threads (a writer per client) report here too, not on stderr.
        self._hook = threading.excepthook

        def hook(args):
            if args.thread is not None and args.thread.name.startswith("socklab-"):
                return self._hook(args)
            import traceback

            self.errors.append("".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                                  args.exc_traceback)))

        threading.excepthook = hook
        self._serving = serving(self.server)
        self._serving.__enter__()
        self.clients = []

    def connect(self, n):
        new = []
        for _ in range(n):
            conn = socket.create_connection(self.server.server_address, timeout=WAIT)
            new.append(conn)
        self.clients += new
        return new

    def check_errors(self):
        if self.errors:
            last = self.errors[0].strip().splitlines()[-1]
            if "changed size during iteration" in last:
                hint = ("a client joined or left while a handler looped over members: hold self.lock while "
                        "you loop over members (to copy it), and while you add or remove one (setup, finish)")
            elif "writer thread stopped early" in last:
                hint = ("write_lines() stopped before finish() put None, leaving its queue full: after an "
                        "OSError, call self.disconnect() and keep going (no break or return), so the writer keeps "
                        "emptying the queue until it takes None")
            elif "Full" in last:
                hint = ("send() let queue.Full escape: put with a timeout, self.outbox.put(line, "
                        "timeout=SEND_TIMEOUT), and on queue.Full call self.disconnect()")
            elif "closed file" in last:
                hint = ("a thread wrote to a client after its wfile was closed: in finish(), stop the "
                        "writer thread (put None in its queue, then join it) before super().finish()")
            else:
                hint = ("when a client leaves, remove it (in finish(), holding the lock), and skip clients "
                        "whose socket fails (catch OSError around the write)")
            raise AssertionError(f"a chat handler raised {last}: {hint}")

    def close(self):
        for conn in self.clients:
            conn.close()
        try:
            self._serving.__exit__(None, None, None)
        finally:
            threading.excepthook = self._hook


def _stop_lingering_handlers(threads_before, grace: float = 0.5) -> int:
    """Stop socketserver handler threads started since ``threads_before`` that will not end.

    A handler that never returns (a loop that ignores end of stream) would burn
    a core in the learner's kernel until it restarts. Give each a moment to end
    by itself, then raise an exception inside it. Returns how many were stopped.
    """
    from .stopping import Stopped as _Stopped, interrupt_thread as _interrupt_thread

    lingering = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()
                 and "process_request" in t.name]
    deadline = time.monotonic() + grace
    for thread in lingering:
        thread.join(max(0.0, deadline - time.monotonic()))
    lingering = [t for t in lingering if t.is_alive()]
    if not lingering:
        return 0
    previous = threading.excepthook

    def quiet(args):
        if not issubclass(args.exc_type, _Stopped):
            previous(args)

    threading.excepthook = quiet
    try:
        for thread in lingering:
            _interrupt_thread(thread)
        for thread in lingering:
            thread.join(1.0)
    finally:
        threading.excepthook = previous
    return len(lingering)


@contextlib.contextmanager
def serving(server):
    """Serve a ``socketserver`` server you built yourself, in the background, for a ``with`` block.

    On leaving the block: shut it down, close it, and stop any handler thread
    that is still running (a handler that never returns), saying so.
    """
    if not isinstance(server, socketserver.BaseServer):
        raise TypeError(f"serving() takes a socketserver server object, such as ChatServer(('127.0.0.1', 0)), "
                        f"got {server!r}")
    threads_before = set(threading.enumerate())
    server.daemon_threads = True
    server.block_on_close = False
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                            name="socklab-serving")
    loop.start()
    try:
        yield server
    finally:
        stopper = threading.Thread(target=server.shutdown, daemon=True, name="socklab-serving-stop")
        stopper.start()
        stopper.join(WAIT)
        server.server_close()
        loop.join(WAIT)
        stopped = _stop_lingering_handlers(threads_before)
        if stopped:
            print(f"(stopped {stopped} handler thread{'s' if stopped > 1 else ''} still running after "
                  "the server closed: a handler must return when its client closes)")


def _wait_joined(run, talker, listeners):
    """Send pings from ``talker`` until every listener has heard one: then all have joined."""
    heard = set()
    deadline = time.monotonic() + WAIT
    buffers = {id(c): b"" for c in listeners}
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
                buffers[id(conn)] += data
                heard.add(id(conn))
    # let the pings drain, then empty every buffer
    time.sleep(0.1)
    for conn in listeners + [talker]:
        _drain(conn)
        conn.settimeout(WAIT)


def _drain(conn):
    conn.settimeout(0.05)
    got = b""
    while True:
        try:
            data = conn.recv(65536)
        except socket.timeout:
            return got
        if not data:
            return got
        got += data


def _lines_until(conn, count, seconds):
    """Read until ``count`` lines have arrived or ``seconds`` have passed."""
    data = b""
    deadline = time.monotonic() + seconds
    while data.count(b"\n") < count and time.monotonic() < deadline:
        conn.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    time.sleep(0.05)
    data += _drain(conn)
    return [line for line in data.split(b"\n") if line and line != b"ping"]


class _Collector(threading.Thread):
    """Reads one client's connection in the background and keeps every byte, until stopped or closed."""

    def __init__(self, conn, name):
        super().__init__(daemon=True, name=f"socklab-grading-{name}")
        self.conn, self.data, self.closed = conn, bytearray(), False
        self._stop_reading = threading.Event()
        self.start()

    def run(self):
        import select

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


def _until(condition, seconds):
    """Wait until ``condition()`` holds or ``seconds`` pass; return whether it held."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _threads_end(threads_before, message):
    """Every thread the learner's server started (handlers, writers) ends within WAIT, or fail with ``message``."""
    def lingering():
        return [t for t in threading.enumerate() if t not in threads_before and not t.name.startswith("socklab-")]

    if not _until(lambda: not lingering(), WAIT):
        raise AssertionError(message.format(n=len(lingering())))


LEAVE_HINT = ("a handler must return when its client closes (readline() returns b''), and finish() must stop "
              "its writer thread (put None in its queue, then join it)")

SLOW_LINE = 1000          # bytes in each line of the slow-reader part
SLOW_LINES = 4000         # lines each of two talkers sends: 8 MB in all reach the client that never reads
SLOW_WAIT = 2 * WAIT      # seconds the two talkers have to receive each other's 4 MB
SWITCH_INTERVAL = 1e-5    # seconds between forced thread switches while clients churn (Python's default: 0.005)
CHURN_TALKERS, CHURN_LISTENERS, CHURN_LINES, CHURNERS = 3, 5, 400, 3


def check_chat_server(server_class, part: str = "broadcast") -> None:
    """Lab 04, ``ChatServer``.

    broadcast: three clients; a line from one reaches the other two, not
    itself. pieces: one client sends a line in pieces, with pauses, while two
    others talk; everyone receives only whole lines, each one that was sent.
    ten: ten clients each send five lines at once; everyone gets the other
    45, each sender's in order. leave: half the clients leave; the rest still
    talk, no handler raises, the departed are forgotten, and every thread
    ends after its client leaves. churn: clients join and leave over and over
    while three others talk; no handler raises (a loop over ``members``
    without the lock does), and every line arrives. slow: one client never
    reads while two others exchange 4 MB each; they still receive
    everything in time, the slow client is disconnected, and every thread
    ends once all have left.
    """
    _parts(part, ("broadcast", "pieces", "ten", "leave", "churn", "slow"))
    threads_before = set(threading.enumerate())
    run = _ChatRun(server_class)
    try:
        _chat_part(run, part, threads_before)
    except OSError as exc:
        time.sleep(0.1)
        run.check_errors()  # the handler's own error says more than the client's broken connection
        raise AssertionError(f"talking to the chat server failed ({type(exc).__name__}: {exc}): handle() must "
                             "keep reading lines until its client closes") from None
    finally:
        run.close()


def _chat_part(run, part, threads_before):
    if part == "broadcast":
        a, b, c = run.connect(3)
        _wait_joined(run, a, [b, c])
        b.sendall(b"hello from b\n")
        got_a, got_c = _lines_until(a, 1, WAIT), _lines_until(c, 1, WAIT)
        got_b = _lines_until(b, 1, 0.2)
        assert got_a == [b"hello from b"] and got_c == [b"hello from b"], (
            f"b sent one line; a received {got_a!r} and c received {got_c!r}, expected [b'hello from b'] each: "
            "send each line to every other connected client")
        assert got_b == [], f"b received its own line back ({got_b!r}): send to every client except the sender"
    elif part == "pieces":
        _chat_pieces(run)
    elif part == "ten":
        clients = run.connect(10)
        _wait_joined(run, clients[0], clients[1:])
        barrier = threading.Barrier(10)

        def speak(i, conn):
            barrier.wait(WAIT)
            for k in range(5):
                conn.sendall(f"{i}:{k}\n".encode())

        speakers = [threading.Thread(target=speak, args=(i, c), daemon=True, name=f"socklab-grading-speak-{i}")
                    for i, c in enumerate(clients)]
        for s in speakers:
            s.start()
        results = {}
        readers = [threading.Thread(target=lambda i=i, c=c: results.__setitem__(i, _lines_until(c, 45, WAIT)),
                                    daemon=True, name=f"socklab-grading-read-{i}") for i, c in enumerate(clients)]
        for r in readers:
            r.start()
        for t in speakers + readers:
            t.join(WAIT * 2)
        run.check_errors()
        for i in range(10):
            lines = results.get(i, [])
            others = [line.decode() for line in lines]
            expected = sorted(f"{j}:{k}" for j in range(10) if j != i for k in range(5))
            assert sorted(others) == expected, (
                f"with ten clients each sending 5 lines at once, client {i} received {len(others)} lines "
                f"(expected the other clients' 45){'' if len(others) != 45 else ', not the right ones'}: "
                "send every line to every other client; protect the set of clients with a lock")
            for j in range(10):
                theirs = [line for line in others if line.startswith(f"{j}:")]
                assert theirs == sorted(theirs), f"client {i} received client {j}'s lines out of order: {theirs}"
    elif part == "leave":
        _chat_leave(run, threads_before)
    elif part == "churn":
        _chat_churn(run, threads_before)
    else:
        _chat_slow(run, threads_before)


def _chat_pieces(run):
    slow, t1, t2, listener = run.connect(4)
    _wait_joined(run, t1, [slow, t2, listener])
    names = {"slow": slow, "t1": t1, "t2": t2, "listener": listener}
    collectors = {name: _Collector(conn, f"read-{name}") for name, conn in names.items()}
    pieces = [b"a slow line, ", b"sent in ", b"four pieces ", b"with pauses\n"]
    sent = {"slow": [b"".join(pieces)[:-1]], "t1": [], "t2": []}
    try:
        for k, piece in enumerate(pieces):
            slow.sendall(piece)
            time.sleep(0.05)
            for name in ("t1", "t2"):
                line = f"{name} says {k}".encode()
                names[name].sendall(line + b"\n")
                sent[name].append(line)
            time.sleep(0.05)
        expected = {name: sorted(line for sender, lines in sent.items() if sender != name for line in lines)
                    for name in names}
        _until(lambda: all(collectors[n].count() >= len(expected[n]) for n in names), WAIT)
        time.sleep(0.1)
    finally:
        for collector in collectors.values():
            collector.stop()
    run.check_errors()
    everything = {line for lines in sent.values() for line in lines}
    for name in names:
        lines, rest = collectors[name].lines()
        broken = [line for line in lines + ([rest] if rest else []) if line not in everything]
        assert not broken, (
            f"a line sent in four pieces, while others talked, reached a client as {broken[0]!r}: forward "
            "whole lines (for line in self.rfile), never what one recv() returned")
        assert sorted(lines) == expected[name], (
            f"with one client sending a line in pieces, the {name} client received {len(lines)} whole lines, "
            f"expected {len(expected[name])}: send every whole line, once, to every other client")


def _chat_leave(run, threads_before):
    clients = run.connect(10)
    _wait_joined(run, clients[0], clients[1:])
    leaving, staying = clients[5:], clients[:5]
    for conn in leaving:
        conn.close()
    run.clients = staying
    time.sleep(0.2)
    for k in range(3):
        staying[0].sendall(f"still here {k}\n".encode())
    time.sleep(0.3)
    run.check_errors()  # a broadcast to a departed client fails at once
    deadline = time.monotonic() + WAIT
    received = [_lines_until(conn, 3, max(0.1, deadline - time.monotonic())) for conn in staying[1:]]
    run.check_errors()
    for got in received:
        assert got == [f"still here {k}".encode() for k in range(3)], (
            f"after five clients left, a client received {got!r} instead of the three lines sent: keep "
            "broadcasting to the clients that remain")
    run.check_errors()
    for conn in staying:
        conn.close()
    run.clients = []
    _threads_end(threads_before, "{n} threads still ran " + f"{WAIT:g} s after every client left: {LEAVE_HINT}")
    run.check_errors()
    members = getattr(run.server, "members", None)
    if hasattr(members, "__len__"):
        assert len(members) == 0, (
            f"every client left, yet members still holds {len(members)}: when a client leaves, remove it "
            "from members in finish(), holding the lock")


def _chat_churn(run, threads_before):
    """Clients join and leave over and over while three others talk to five listeners: without the
    lock, a loop over members meets a set that changed size (RuntimeError) in some handler."""
    clients = run.connect(CHURN_TALKERS + CHURN_LISTENERS)
    talkers = clients[:CHURN_TALKERS]
    _wait_joined(run, clients[0], clients[1:])
    collectors = [_Collector(conn, f"read-{i}") for i, conn in enumerate(clients)]
    done = threading.Event()
    churned = []

    def churn():
        while not done.is_set():
            try:
                conns = [socket.create_connection(run.server.server_address, timeout=WAIT) for _ in range(2)]
            except OSError:
                return
            try:
                time.sleep(0.002)
                for conn in conns:  # leave politely: a close with lines unread would reset the connection
                    conn.shutdown(socket.SHUT_WR)
                for conn in conns:
                    conn.settimeout(WAIT)
                    while conn.recv(1 << 16):
                        pass
            except OSError:
                pass
            finally:
                for conn in conns:
                    conn.close()
            churned.append(len(conns))

    def talk(i, conn):
        try:
            for k in range(CHURN_LINES):
                conn.sendall(f"{i}:{k}\n".encode())
                if k % 5 == 4:
                    time.sleep(0.001)
        except OSError:
            pass

    churners = [threading.Thread(target=churn, daemon=True, name=f"socklab-grading-churn-{i}")
                for i in range(CHURNERS)]
    speakers = [threading.Thread(target=talk, args=(i, conn), daemon=True, name=f"socklab-grading-speak-{i}")
                for i, conn in enumerate(talkers)]
    # Switch threads far more often than every 5 ms, as a busy server's scheduler might: a loop over
    # members that a join or a leave can interrupt is then interrupted in every run, not in one of ten.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        for thread in churners + speakers:
            thread.start()
        for thread in speakers:
            thread.join(2 * WAIT)
        done.set()
        for thread in churners:
            thread.join(WAIT)
        sys.setswitchinterval(interval)
        expected_count = [CHURN_LINES * (CHURN_TALKERS - (i < CHURN_TALKERS)) for i in range(len(clients))]
        _until(lambda: all(c.count() >= n or c.closed for c, n in zip(collectors, expected_count)) or run.errors,
               WAIT)
        time.sleep(0.1)
    finally:
        sys.setswitchinterval(interval)
        done.set()
        for collector in collectors:
            collector.stop()
    run.check_errors()
    for i, collector in enumerate(collectors):
        got, _ = collector.lines()
        expected = sorted(f"{j}:{k}".encode() for j in range(CHURN_TALKERS) if j != i for k in range(CHURN_LINES))
        assert sorted(got) == expected, (
            f"while {sum(churned)} clients joined and left, a client received {len(got)} of the "
            f"{len(expected)} lines the others sent: send every line to every other client, holding "
            "self.lock while you copy members")
    for conn in clients:
        conn.close()
    run.clients = []
    _threads_end(threads_before, "{n} threads still ran " + f"{WAIT:g} s after every client left: {LEAVE_HINT}")
    run.check_errors()


def _chat_slow(run, threads_before):
    """One client never reads while two others exchange 4 MB each."""
    a, b = run.connect(2)
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    run.clients.append(slow)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: its buffers fill sooner
    slow.settimeout(WAIT)
    slow.connect(run.server.server_address)
    _wait_joined(run, a, [b, slow])
    collectors = [_Collector(a, "read-a"), _Collector(b, "read-b")]
    pad = b"." * (SLOW_LINE - 16)

    def talk(name, conn):
        try:
            for k in range(SLOW_LINES):
                conn.sendall(b"%s %06d %s\n" % (name, k, pad))
        except OSError:
            pass

    speakers = [threading.Thread(target=talk, args=(name, conn), daemon=True, name=f"socklab-grading-speak-{i}")
                for i, (name, conn) in enumerate(((b"a", a), (b"b", b)))]
    try:
        for thread in speakers:
            thread.start()
        _until(lambda: all(c.count() >= SLOW_LINES or c.closed for c in collectors) or run.errors, SLOW_WAIT)
        for thread in speakers:
            thread.join(0.5)
        time.sleep(0.05)
    finally:
        for collector in collectors:
            collector.stop()
    run.check_errors()
    megabytes = SLOW_LINES * SLOW_LINE * 2 / 1e6
    members = getattr(run.server, "members", ())
    try:
        queued = any(isinstance(getattr(m, "outbox", None), queue.Queue) for m in list(members))
    except TypeError:
        queued = False
    if queued:
        fix = ("a speaker's thread waited on the silent client's full queue: in send(), put with a timeout, "
               "self.outbox.put(line, timeout=SEND_TIMEOUT), and on queue.Full disconnect that client "
               "(self.disconnect()) rather than drop the line, so it leaves and no one waits on it again")
    else:
        fix = ("give each client a bounded queue and a writer thread of its own, so no handler waits on a slow "
               "client for long")
    for collector, other in zip(collectors, (b"b", b"a")):
        got, _ = collector.lines()
        wanted = [b"%s %06d %s" % (other, k, pad) for k in range(SLOW_LINES)]
        assert got == wanted, (
            f"while one client never read, a client received {len(got)} of the {SLOW_LINES} lines another sent "
            f"within {SLOW_WAIT:g} s: {fix}")
    # The slow client now reads: what the server had buffered for it, then the end of the stream.
    slow.settimeout(0.2)
    deadline = time.monotonic() + WAIT
    dropped = False
    while time.monotonic() < deadline:
        try:
            if not slow.recv(1 << 20):
                dropped = True
                break
        except socket.timeout:
            break
        except OSError:
            dropped = True
            break
    assert dropped, (
        f"a client that never read was still connected after {megabytes:g} MB were sent to it: bound its queue "
        "(queue.Queue(maxsize=QUEUE_SIZE)) and disconnect the client when its queue stays full")
    run.check_errors()
    for conn in (a, b, slow):
        conn.close()
    run.clients = []
    _threads_end(threads_before, "{n} threads still ran " + f"{WAIT:g} s after every client left, one of them "
                 f"dropped for not reading: {LEAVE_HINT}")
    run.check_errors()


# -------------------------------------------------------- lab 05: concurrency

_EXPERIMENTS = [(m, k) for m in ("serial", "threading", "forking") for k in ("sleeping", "computing")]


def check_predictions(predicted) -> None:
    """Lab 05, ``predicted``: {(mode, kind): seconds}, a positive number for each of the six experiments."""
    if not isinstance(predicted, dict):
        raise AssertionError(f"predicted must be the dictionary the cell builds, got {type(predicted).__name__}: "
                             "keep the line predicted = {}")
    for key in _EXPERIMENTS:
        if key not in predicted:
            raise AssertionError(f"predicted has no {key}: keep the six lines as given and put a number on each")
        value = predicted[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise AssertionError(f"predicted[{key!r}] is {value!r}: replace it with the number of seconds you "
                                 "expect, such as 0.5")
    extra = [key for key in predicted if key not in _EXPERIMENTS]
    if extra:
        raise AssertionError(f"predicted has keys {extra} that are not experiments: keep the six keys as given")


def _makespan_message(call, value):
    """A wrong return value of measure(): the fix first, then a short repr."""
    shown = repr(value).splitlines()[0] if value is not None else "None"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return (f"{call} must return the makespan in seconds, a float (result.makespan); it returned "
            f"{type(value).__name__} {shown}")

def check_measure(measure, part: str = "sleeping") -> None:
    """Lab 05, ``measure(mode, cpu) -> float``: the makespan of 4 clients with
    0.2 s of work each, on a fresh socklab server that is stopped afterwards.

    sleeping: serial about 0.8 s, threading about 0.2 s. stops: no server
    is left running.
    """
    from .registry import running

    _parts(part, ("sleeping", "stops"))
    _need_function(measure, "measure")
    if part == "stops":
        before = {id(s) for s in running()}
        value = _run(WAIT * 3, measure, "threading", False, what="measure('threading', False)")
        assert isinstance(value, float), _makespan_message("measure('threading', False)", value)
        left = [s.name for s in running() if id(s) not in before]
        assert not left, (f"measure() left {left} running: use `with socklab.serve(...) as server:` so the "
                          "server stops when the block ends")
        return
    serial = _run(WAIT * 3, measure, "serial", False, what="measure('serial', False)")
    threaded = _run(WAIT * 3, measure, "threading", False, what="measure('threading', False)")
    for name, value in (("serial", serial), ("threading", threaded)):
        assert isinstance(value, float), _makespan_message(f"measure('{name}', False)", value)
    assert 0.9 * 0.8 <= serial < 0.8 * 2.5, (
        f"measure('serial', False) returned {serial:.2f} s; 4 clients x 0.2 s one after another should take "
        "about 0.8 s: serve with work=0.2, and load 4 clients at once")
    assert 0.2 <= threaded and threaded * 2 < serial, (
        f"measure('threading', False) returned {threaded:.2f} s against serial {serial:.2f} s; threads should "
        "overlap the waits, about 0.2 s: pass mode to socklab.serve, and let the 4 clients arrive at once "
        "(socklab.load's default, concurrent=True)")


def check_results(results, part: str = "complete", cores_free: float | None = None) -> None:
    """Lab 05, ``results``: {(mode, kind): seconds} for the three modes and two kinds.

    complete: all six numbers. sleeping: threads and processes overlap
    waiting work. cpu: threads do not speed up computing; processes do, when
    two cores are free. On a free-threaded build without the GIL, threads
    compute in parallel too, and the cpu part checks that instead.
    ``cores_free`` is how many cores were idle while the results were
    measured (the lab records it); without it, the grader's own load decides.
    """
    from .environment import free_cores, gil_enabled

    _parts(part, ("complete", "sleeping", "cpu"))
    if cores_free is not None and not isinstance(cores_free, (int, float)):
        raise AssertionError(f"cores_free is {cores_free!r}: keep the lines that set it with socklab.free_cores()")
    free = (lambda: cores_free) if cores_free is not None else free_cores
    if results is Ellipsis or results is None:
        raise AssertionError("results is not filled in yet: replace the ... with the dictionary of measurements")
    wanted = [(m, k) for m in ("serial", "threading", "forking") for k in ("sleeping", "computing")]
    missing = [key for key in wanted if not isinstance(results.get(key) if isinstance(results, dict) else None,
                                                       (int, float))]
    assert not missing, f"results has no number for {missing}: measure each (mode, kind) pair"
    r = results
    if part == "sleeping":
        assert r[("threading", "sleeping")] * 2.5 < r[("serial", "sleeping")], (
            f"threading took {r[('threading', 'sleeping')]:.2f} s and serial {r[('serial', 'sleeping')]:.2f} s for "
            "sleeping work; threads should overlap the waits: did you pass cpu=False for 'sleeping'?")
        assert r[("forking", "sleeping")] * 2 < r[("serial", "sleeping")], (
            f"forking took {r[('forking', 'sleeping')]:.2f} s and serial {r[('serial', 'sleeping')]:.2f} s for "
            "sleeping work; processes should overlap the waits")
    elif part == "cpu" and not gil_enabled():
        # A free-threaded build (3.13t, 3.14t) has no GIL: threads compute in
        # parallel as processes do, so "threads do not speed up computing" is
        # false there, and a right answer must not fail on it.
        if free() >= 1.5:
            for mode in ("threading", "forking"):
                assert r[(mode, "computing")] < 0.85 * r[("serial", "computing")], (
                    f"{mode} took {r[(mode, 'computing')]:.2f} s and serial {r[('serial', 'computing')]:.2f} s for "
                    "computing work, with two cores free and no GIL (a free-threaded Python): both threads and "
                    "processes should compute in parallel here: measure again with nothing else running")
    elif part == "cpu":
        assert r[("threading", "computing")] > 0.7 * r[("serial", "computing")], (
            f"threading took {r[('threading', 'computing')]:.2f} s and serial {r[('serial', 'computing')]:.2f} s "
            "for computing work; threads cannot compute at once under the GIL: did you pass cpu=True?")
        if free() >= 1.5:
            assert r[("forking", "computing")] < 0.85 * r[("threading", "computing")], (
                f"forking took {r[('forking', 'computing')]:.2f} s and threading "
                f"{r[('threading', 'computing')]:.2f} s for computing work, with two cores free; processes "
                "should compute in parallel: measure again with nothing else running")
