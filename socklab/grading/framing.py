"""Lab 02's checks: ``send_msg`` and ``recv_msg`` (length-prefixed messages), and whole-number answers."""

from __future__ import annotations

import socket
import struct
import time

from .common import FAST, WAIT, call, check_part, need_function, read_all, start_thread

HEADER = struct.Struct(">I")

RECV_HINT = ("read exactly 4 bytes, unpack the length with struct.unpack('>I', ...), then read exactly "
             "that many bytes, calling recv in a loop and asking for no more than you still need; "
             "raise ConnectionError if recv returns b'' first")
EVERY_BYTE = "call recv until you have every byte; one recv returns at most what has arrived"


def _frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


def _mebibytes(n: int) -> bytes:
    """``n`` MiB of every byte value in turn: a payload in which a lost or repeated piece shows."""
    return bytes(range(256)) * (n * 1024 * 1024 // 256)


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
    check_part(part, ("prefix", "whole", "roundtrip", "pieces", "many", "fast", "big", "closed"))
    if part in ("prefix", "whole"):
        need_function(send_msg, "send_msg")
    else:
        need_function(recv_msg, "recv_msg")
    if part == "closed":
        _check_closed_mid_message(recv_msg)
        return
    left, right = socket.socketpair()
    left.settimeout(WAIT * 2)
    right.settimeout(WAIT * 2)
    try:
        if part == "prefix":
            _check_prefix(send_msg, left, right)
        elif part == "whole":
            _check_whole(send_msg, left, right)
        elif part == "roundtrip":
            for payload in (b"hello, framing", b""):
                left.sendall(_frame(payload))
                got = call(WAIT, recv_msg, right, what="recv_msg()", hint=RECV_HINT)
                assert got == payload, f"sent {payload!r}, recv_msg returned {got!r}: {RECV_HINT}"
        elif part == "pieces":
            payload = b"one byte at a time"
            writer = _writer(left, _frame(payload), step=1, pause=0.002)
            got = call(WAIT, recv_msg, right, what="recv_msg() of a message sent one byte at a time", hint=RECV_HINT)
            writer.join(WAIT)
            assert got == payload, (f"for a message that arrived one byte at a time recv_msg returned {got!r}: "
                                    f"{RECV_HINT}")
        elif part == "many":
            payloads = [b"first", b"", b"third message"]
            left.sendall(b"".join(_frame(p) for p in payloads))
            many_hint = "read exactly the length the prefix gives, no more; the rest belongs to the next message"
            got = [call(WAIT, recv_msg, right, what="recv_msg() of three messages sent in one piece", hint=many_hint)
                   for _ in payloads]
            assert got == payloads, f"three messages sent in one piece came out as {got!r}: {many_hint}"
        elif part == "fast":
            _check_large(recv_msg, left, right, 4, FAST, what="recv_msg() of a 4 MiB message",
                         hint="ask recv for all the bytes you still need (sock.recv(n - len(data))), not 1 byte at "
                              "a time, and collect the pieces in a bytearray or a list (bytes += copies everything "
                              "received so far, every time)")
        else:
            _check_large(recv_msg, left, right, 16, WAIT * 4, what="recv_msg() of 16 MiB", hint=EVERY_BYTE)
    finally:
        left.close()
        right.close()


def _check_prefix(send_msg, left, right):
    call(WAIT, send_msg, left, b"hi", what="send_msg()")
    left.shutdown(socket.SHUT_WR)
    raw = read_all(right)
    assert raw == b"\x00\x00\x00\x02hi", (
        f"send_msg(sock, b'hi') wrote {raw!r}, expected b'\\x00\\x00\\x00\\x02hi': the length as 4 bytes, "
        "big-endian (struct.pack('>I', len(payload))), then the payload, with sendall")


def _check_whole(send_msg, left, right):
    payload = _mebibytes(4)
    sender = start_thread("sender", _quietly, send_msg, left, payload)
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


def _check_large(recv_msg, left, right, mib, seconds, what, hint):
    """A message of ``mib`` MiB, sent in one piece, comes out whole within ``seconds``."""
    payload = _mebibytes(mib)
    sender = _writer(left, _frame(payload), step=len(payload) + 4, pause=0)
    got = call(seconds, recv_msg, right, what=what, hint=hint)
    sender.join(WAIT)
    assert got == payload, (f"a {mib} MiB message came out as {len(got):,} bytes"
                            f"{'' if len(got) != len(payload) else ', different'}: {EVERY_BYTE}")


def _check_closed_mid_message(recv_msg):
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
                got = call(WAIT, recv_msg, b, what="recv_msg()",
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


def _writer(sock, data, step, pause):
    """Send ``data`` in pieces of ``step`` bytes, ``pause`` seconds apart, from a thread of its own."""
    def write():
        try:
            for i in range(0, len(data), step):
                sock.sendall(data[i:i + step])
                time.sleep(pause)
        except OSError:
            pass

    return start_thread("writer", write)


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
