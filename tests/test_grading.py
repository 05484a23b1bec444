"""The labs' checks pass right answers, fail wrong ones with a message naming the fix, and never hang.

Each wrong answer below is a mistake learners make. A check that passed one of
them would be a test that cannot fail; a check that hung on one would freeze a
learner's kernel.
"""

import queue
import socket
import socketserver
import struct
import threading
import sys
import time

import pytest

import socklab
from socklab import grading

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("no_leaks")]

BOUND = 12.0  # seconds: the most any check may take, even on a hanging answer


def within_bound(func, *args):
    start = time.monotonic()
    try:
        return func(*args)
    finally:
        assert time.monotonic() - start < BOUND, f"{func.__name__} took {time.monotonic() - start:.1f} s"


def fails_with(fragment, func, *args):
    start = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        func(*args)
    elapsed = time.monotonic() - start
    assert elapsed < BOUND, f"took {elapsed:.1f} s to fail"
    message = str(caught.value)
    assert fragment in message, message
    assert "\n" not in message, f"one line, please: {message!r}"
    return message


# ------------------------------------------------------------------ lab 01

class UpperHandler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())


class SpinsAtEndOfStream(socketserver.BaseRequestHandler):
    def handle(self):
        while True:  # the source's bug: no check for b""
            data = self.request.recv(1024)
            self.request.sendall(data.upper())


class Chunkwise(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(1024):
            self.request.sendall(data.upper())


class SharedOnTheClass(socketserver.StreamRequestHandler):
    lines = []

    def handle(self):
        for line in self.rfile:
            SharedOnTheClass.lines.append(line.upper())
        time.sleep(0.05)
        self.wfile.write(b"".join(SharedOnTheClass.lines))
        SharedOnTheClass.lines = []


class OneLineOnly(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline().upper())  # one readline(), no loop


SHARED_BUFFER = bytearray()


class SharedBuffer(socketserver.BaseRequestHandler):
    """Collects bytes until a newline, in a buffer all clients share (a global)."""

    def handle(self):
        while data := self.request.recv(1024):
            SHARED_BUFFER.extend(data)
            while b"\n" in SHARED_BUFFER:
                end = SHARED_BUFFER.index(b"\n") + 1
                line = bytes(SHARED_BUFFER[:end])
                del SHARED_BUFFER[:end]
                self.request.sendall(line.upper())


class Raises(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline().decode().upper())  # str, not bytes


def talk(address, lines):
    with socket.create_connection(address, timeout=2) as conn:
        replies = conn.makefile("rb")
        answers = []
        for line in lines:
            conn.sendall(line)
            answers.append(replies.readline())
        return answers


def talk_reconnecting(address, lines):
    answers = []
    for line in lines:
        with socket.create_connection(address, timeout=2) as conn:
            conn.sendall(line)
            conn.shutdown(socket.SHUT_WR)
            answers.append(conn.recv(1024))
    return answers


def talk_one_recv(address, lines):
    with socket.create_connection(address, timeout=2) as conn:
        answers = []
        for line in lines:
            conn.sendall(line)
            answers.append(conn.recv(1024))
        return answers


LEFT_OPEN = []


def talk_never_closes(address, lines):
    conn = socket.create_connection(address, timeout=2)
    LEFT_OPEN.append(conn)
    replies = conn.makefile("rb")
    answers = []
    for line in lines:
        conn.sendall(line)
        answers.append(replies.readline())
    return answers


def talk_no_close(address, lines):
    conn = socket.create_connection(address, timeout=2)  # never closed: Python closes it when it is dropped
    replies = conn.makefile("rb")
    answers = []
    for line in lines:
        conn.sendall(line)
        answers.append(replies.readline())
    return answers


def talk_no_timeout(address, lines):
    with socket.create_connection(address) as conn:  # waits forever for a server that never answers
        replies = conn.makefile("rb")
        answers = []
        for line in lines:
            conn.sendall(line)
            answers.append(replies.readline())
        return answers


def talk_swallows_timeout(address, lines):
    try:
        return talk(address, lines)
    except TimeoutError:
        return []


def talk_hangs(address, lines):
    with socket.create_connection(address) as conn:  # no timeout, and reads to the end that never comes
        for line in lines:
            conn.sendall(line)
        return [conn.recv(1 << 20)] + [conn.recv(1 << 20) for _ in range(100)]


@pytest.mark.parametrize("part", ["basic", "pieces", "interleaved", "clients"])
def test_lab01_right_handler_passes(part):
    within_bound(grading.check_upper_handler, UpperHandler, part)


@pytest.mark.parametrize("wrong, part, fragment", [
    (..., "basic", "not written yet"),
    (SpinsAtEndOfStream, "basic", "must stop when the client closes"),
    (Raises, "basic", "UpperHandler raised TypeError"),
    (Chunkwise, "pieces", "before the line was complete"),
    (SharedOnTheClass, "clients", "never on the class"),
    (Raises, "pieces", "UpperHandler raised TypeError"),
    (OneLineOnly, "basic", "only the first line: the handler must loop, answering line after line until the client "
                           "closes: `for line in self.rfile:` around the write"),
    (OneLineOnly, "pieces", "the handler must keep reading until the client closes"),
    (Raises, "interleaved", "UpperHandler raised TypeError"),
    (SharedOnTheClass, "interleaved", "a client sent b'a ready\\n' and got b'', expected b'A READY\\n': answer each "
                                      "line as soon as it is complete"),
    (SharedBuffer, "interleaved", "client A got b'HELWORLO\\n', expected b'HELLO\\n': keep each client's unfinished "
                                  "line in the handler (on self or in a local variable), never in a global or on "
                                  "the class"),
    (object, "basic", "must be a class that inherits from socketserver.BaseRequestHandler"),
])
def test_lab01_wrong_handler_fails_with_the_fix(wrong, part, fragment):
    fails_with(fragment, grading.check_upper_handler, wrong, part)


def test_lab01_a_shared_buffer_passes_the_one_client_checks():
    """Why lab 01 has the interleaved check: a buffer shared by all clients is right for one client at a time."""
    for part in ("basic", "pieces"):
        within_bound(grading.check_upper_handler, SharedBuffer, part)


@pytest.mark.parametrize("part", ["basic", "once", "pieces", "timeout"])
def test_lab01_right_talk_passes(part):
    within_bound(grading.check_talk, talk, part)


@pytest.mark.parametrize("wrong, part, fragment", [
    (..., "basic", "not written yet"),
    (talk_reconnecting, "once", "connect once"),
    (talk_never_closes, "once", "left its connection open"),
    (talk_one_recv, "pieces", "one recv() is not one answer"),
    (talk_hangs, "basic", "talk() did not return within 3 s"),
    (talk_no_close, "once", "talk() returned without closing its connection (Python closed it later, when it threw "
                            "the socket away): close it yourself at the end; a `with` block does it"),
    (talk_no_timeout, "timeout", "talk() to a server that never answers did not return within 3 s: connect with a "
                                 "timeout, socket.create_connection(address, timeout=2)"),
    (talk_swallows_timeout, "timeout", "talk() to a server that never answers returned []: let the TimeoutError "
                                       "out"),
])
def test_lab01_wrong_talk_fails_with_the_fix(wrong, part, fragment):
    try:
        fails_with(fragment, grading.check_talk, wrong, part)
    finally:
        for conn in LEFT_OPEN:
            conn.close()
        LEFT_OPEN.clear()


# ------------------------------------------------------------------ lab 02

def send_msg(sock, payload):
    sock.sendall(struct.pack(">I", len(payload)) + payload)


def recv_exactly(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), 1 << 20))
        if not chunk:
            raise ConnectionError("the peer closed mid-message")
        data += chunk
    return bytes(data)


def recv_msg(sock):
    (length,) = struct.unpack(">I", recv_exactly(sock, 4))
    return recv_exactly(sock, length)


def send_little_endian(sock, payload):
    sock.sendall(struct.pack("<I", len(payload)) + payload)


def send_with_send(sock, payload):
    sock.send(struct.pack(">I", len(payload)))
    sock.send(payload)


def recv_one_recv(sock):
    (length,) = struct.unpack(">I", sock.recv(4))
    return sock.recv(length)


def recv_greedy(sock):
    data = sock.recv(65536)
    (length,) = struct.unpack(">I", data[:4])
    return data[4:4 + length]


def recv_loops_on_close(sock):
    data = b""
    while len(data) < 4:
        data += sock.recv(4 - len(data))
    (length,) = struct.unpack(">I", data)
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return body


def recv_byte_by_byte(sock):
    """The learner's try: right, but one recv per byte and bytes += (about 20 s for 1 MiB)."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(1)
            if not chunk:
                raise ConnectionError("the peer closed mid-message")
            data += chunk
        return data

    (length,) = struct.unpack(">I", exactly(4))
    return exactly(length)


def recv_byte_by_byte_bytearray(sock):
    """One recv per byte, even into a bytearray: about 1 s per MiB."""
    def exactly(n):
        data = bytearray()
        while len(data) < n:
            chunk = sock.recv(1)
            if not chunk:
                raise ConnectionError("the peer closed mid-message")
            data += chunk
        return bytes(data)

    (length,) = struct.unpack(">I", exactly(4))
    return exactly(length)


def recv_over_reads(sock):
    """Raises ConnectionError on b'', but asks recv for 1024 bytes whatever it still needs."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(1024)
            if not chunk:
                raise ConnectionError("the peer closed mid-message")
            data += chunk
        return data

    (length,) = struct.unpack(">I", exactly(4))
    return exactly(length)


def recv_short_header(sock):
    """Stops quietly at b'', so a header cut short reaches struct.unpack."""
    def upto(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    (length,) = struct.unpack(">I", upto(4))
    body = upto(length)
    if len(body) < length:
        raise ConnectionError("the peer closed mid-message")
    return body


def recv_returns_short(sock):
    (length,) = struct.unpack(">I", recv_exactly(sock, 4))
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            return body
        body += chunk
    return body


@pytest.mark.parametrize("part", ["prefix", "whole", "roundtrip", "pieces", "many", "fast", "big", "closed"])
def test_lab02_right_framing_passes(part):
    within_bound(grading.check_framing, send_msg, recv_msg, part)


@pytest.mark.parametrize("sender, receiver, part, fragment", [
    (..., recv_msg, "prefix", "send_msg is not written yet"),
    (send_msg, ..., "roundtrip", "recv_msg is not written yet"),
    (send_little_endian, recv_msg, "prefix", "big-endian"),
    (send_with_send, recv_msg, "whole", "use sendall, not send"),
    (send_msg, recv_greedy, "big", "call recv until you have every byte"),
    (send_msg, recv_one_recv, "pieces", "one byte at a time"),
    (send_msg, recv_greedy, "many", "no more; the rest belongs to the next message"),
    (send_msg, recv_loops_on_close, "closed", "recv_msg() did not return within 3 s"),
    (send_msg, recv_returns_short, "closed", "raise ConnectionError when recv returns b''"),
    (send_little_endian, recv_msg, "whole", "sent the length prefix b'\\x00\\x00@\\x00', little-endian: pack it "
                                            "big-endian, struct.pack('>I', len(payload))"),
    (send_msg, recv_byte_by_byte, "fast", "recv_msg() of a 4 MiB message did not return within 1 s: ask recv for all "
                                          "the bytes you still need (sock.recv(n - len(data))), not 1 byte at a time, "
                                          "and collect the pieces in a bytearray or a list"),
    (send_msg, recv_byte_by_byte_bytearray, "fast", "recv_msg() of a 4 MiB message did not return within 1 s"),
    (send_msg, recv_over_reads, "closed", "the peer sent a header saying 10 bytes, then 3 of them, and closed, and "
                                          "recv_msg() raised struct.error (unpack requires a buffer of 4 bytes): "
                                          "your read of the 4-byte header returned more than 4 bytes: ask recv for "
                                          "no more than you still need"),
    (send_msg, recv_short_header, "closed", "the peer sent 2 of the header's 4 bytes and closed, and recv_msg() "
                                            "raised struct.error (unpack requires a buffer of 4 bytes): your read of "
                                            "the 4-byte header returned fewer than 4 bytes: when recv returns b'' "
                                            "before you have all n bytes, raise ConnectionError"),
    (send_msg, recv_over_reads, "roundtrip", "recv_msg() raised struct.error: unpack requires a buffer of 4 bytes"),
])
def test_lab02_wrong_framing_fails_with_the_fix(sender, receiver, part, fragment):
    fails_with(fragment, grading.check_framing, sender, receiver, part)


def test_lab02_the_per_byte_answer_passes_the_small_checks():
    """Why lab 02 has the public 4 MiB check: reading one byte per recv is right, only slow."""
    for part in ("roundtrip", "pieces", "many", "closed"):
        within_bound(grading.check_framing, send_msg, recv_byte_by_byte, part)


@pytest.mark.parametrize("value", [2 ** 32 - 1, 10 ** 6, 0])
def test_lab02_an_int_passes_the_form_check(value):
    grading.check_is_int(value, "largest")


@pytest.mark.parametrize("wrong, fragment", [
    (True, "largest is True, a bool: set it to a number (an int such as 10 ** 6), not True or False"),
    (False, "largest is False, a bool"),
    (4.3e9, "largest must be an int, got 4300000000.0 (float): use whole-number arithmetic"),
    ("4294967295", "largest must be an int, got '4294967295' (str)"),
    (..., "largest is not set yet: replace the ... with a number"),
])
def test_lab02_a_non_int_fails_the_form_check(wrong, fragment):
    fails_with(fragment, grading.check_is_int, wrong, "largest")


# ------------------------------------------------------------------ lab 03

class DatagramUpperHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data.upper(), self.client_address)


class DecodesText(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data.decode().upper().encode(), self.client_address)


class NeverAnswers(socketserver.BaseRequestHandler):
    def handle(self):
        pass


def request(address, payload, timeout=0.5, retries=3):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(retries):
            sock.sendto(payload, address)
            deadline = time.monotonic() + timeout
            try:
                while True:
                    sock.settimeout(max(deadline - time.monotonic(), 0.001))
                    data, sender = sock.recvfrom(65536)
                    if sender == address:
                        return data
            except socket.timeout:
                continue
        raise TimeoutError(f"no answer from {address} after {retries} tries")


def request_connected(address, payload, timeout=0.5, retries=3):
    """The lab's other way: connect(), and a refused port counts as a lost try."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        for _ in range(retries):
            deadline = time.monotonic() + timeout
            try:
                sock.send(payload)
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                return sock.recv(65536)
            except (socket.timeout, ConnectionRefusedError):
                time.sleep(max(deadline - time.monotonic(), 0))
        raise TimeoutError(f"no answer from {address} after {retries} tries")


def request_timeout_per_recv(address, payload, timeout=0.5, retries=3):
    """Each recvfrom gets the whole timeout: a stranger's datagram restarts the wait."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for _ in range(retries):
            sock.sendto(payload, address)
            try:
                while True:
                    data, sender = sock.recvfrom(65536)
                    if sender == address:
                        return data
            except socket.timeout:
                continue
        raise TimeoutError(f"no answer from {address} after {retries} tries")


def request_connected_refused(address, payload, timeout=0.5, retries=3):
    """connect() without catching ConnectionRefusedError."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        for _ in range(retries):
            sock.send(payload)
            try:
                return sock.recv(65536)
            except socket.timeout:
                continue
        raise TimeoutError(f"no answer from {address} after {retries} tries")


def request_no_retry(address, payload, timeout=0.5, retries=3):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(payload, address)
        try:
            return sock.recvfrom(65536)[0]
        except socket.timeout:
            raise TimeoutError("no answer") from None


def request_trusting(address, payload, timeout=0.5, retries=3):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for _ in range(retries):
            sock.sendto(payload, address)
            try:
                return sock.recvfrom(65536)[0]
            except socket.timeout:
                continue
        raise TimeoutError("no answer")


def request_one_try_too_many(address, payload, timeout=0.5, retries=3):
    return request(address, payload, timeout, retries + 1)


def request_returns_none(address, payload, timeout=0.5, retries=3):
    try:
        return request(address, payload, timeout, retries)
    except TimeoutError:
        return None


def request_no_timeout(address, payload, timeout=0.5, retries=3):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, address)
        return sock.recvfrom(65536)[0]


@pytest.mark.parametrize("part", ["basic", "bytes"])
def test_lab03_right_handler_passes(part):
    within_bound(grading.check_datagram_handler, DatagramUpperHandler, part)


@pytest.mark.parametrize("wrong, part, fragment", [
    (DecodesText, "bytes", "without decoding them"),
    (NeverAnswers, "basic", "sock.sendto(data.upper(), self.client_address)"),
    (..., "basic", "not written yet"),
])
def test_lab03_wrong_handler_fails_with_the_fix(wrong, part, fragment):
    fails_with(fragment, grading.check_datagram_handler, wrong, part)


@pytest.mark.parametrize("part", ["basic", "retry", "gives_up", "stranger", "deadline", "refused"])
@pytest.mark.parametrize("right", [request, request_connected])
def test_lab03_right_request_passes(right, part):
    within_bound(grading.check_request, right, part)


@pytest.mark.parametrize("wrong, part, fragment", [
    (request_no_retry, "retry", "send the datagram again"),
    (request_trusting, "stranger", "ignore a reply whose address is not the server's"),
    (request_one_try_too_many, "gives_up", "received 4 datagrams, expected 3"),
    (request_returns_none, "gives_up", "raise TimeoutError after the last try"),
    (request_no_timeout, "gives_up", "did not return within 3 s"),
    (request_timeout_per_recv, "deadline", "was still waiting after 1.5 s; keep a deadline per try"),
    (request_connected_refused, "refused", "catch ConnectionRefusedError around the send and the recv, count it "
                                           "as a lost try"),
])
def test_lab03_wrong_request_fails_with_the_fix(wrong, part, fragment):
    fails_with(fragment, grading.check_request, wrong, part)


# ------------------------------------------------------------------ lab 04

QUEUE_SIZE = 100    # lines waiting for one client
SEND_TIMEOUT = 1.0  # seconds a full queue may stay full before its client is disconnected


class ChatHandler(socketserver.StreamRequestHandler):
    """The lab's solution: whole lines, a lock around members, a bounded queue and a writer thread per client."""

    def setup(self):
        super().setup()
        self.outbox = queue.Queue(maxsize=QUEUE_SIZE)
        self.writer = threading.Thread(target=self.write_lines, daemon=True)
        self.writer.start()
        with self.server.lock:
            self.server.members.add(self)

    def handle(self):
        for line in self.rfile:
            self.server.broadcast(line, sender=self)

    def finish(self):
        with self.server.lock:
            self.server.members.discard(self)
        self.disconnect()
        try:
            self.outbox.put(None, timeout=SEND_TIMEOUT)
            self.writer.join(SEND_TIMEOUT)
        except queue.Full:
            raise RuntimeError("the writer thread stopped early and its queue stayed full") from None
        finally:
            super().finish()

    def send(self, line):
        try:
            self.outbox.put(line, timeout=SEND_TIMEOUT)
        except queue.Full:
            self.disconnect()

    def write_lines(self):
        while True:
            line = self.outbox.get()
            if line is None:
                return
            try:
                self.wfile.write(line)
            except OSError:
                self.disconnect()

    def disconnect(self):
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ChatServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, address):
        super().__init__(address, ChatHandler)
        self.members = set()
        self.lock = threading.Lock()

    def broadcast(self, line, sender):
        with self.lock:
            others = [member for member in self.members if member is not sender]
        for member in others:
            member.send(line)


def _server(handler, broadcast=None, name="WrongChat"):
    """A ChatServer whose handler class, and perhaps broadcast, are replaced."""
    body = {"__init__": lambda self, address: (ChatServer.__init__(self, address),
                                               setattr(self, "RequestHandlerClass", handler))[0]}
    if broadcast is not None:
        body["broadcast"] = broadcast
    return type(name, (ChatServer,), body)


def _echoes_to_sender(self, line, sender):
    with self.lock:
        everyone = list(self.members)
    for member in everyone:
        member.send(line)


EchoesToSender = _server(ChatHandler, _echoes_to_sender, "EchoesToSender")


class ForgetfulHandler(ChatHandler):
    def finish(self):  # never removes its client from members
        self.disconnect()
        self.outbox.put(None)
        self.writer.join()
        socketserver.StreamRequestHandler.finish(self)


NeverForgets = _server(ForgetfulHandler, name="NeverForgets")


class SpinningChatHandler(ChatHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if line:
                self.server.broadcast(line, sender=self)


SpinningChat = _server(SpinningChatHandler, name="SpinningChat")


class ChunkForwardingHandler(ChatHandler):
    def handle(self):  # forwards what each recv returns: part of a line, or several
        while True:
            chunk = self.request.recv(1024)
            if not chunk:
                break
            self.server.broadcast(chunk, sender=self)


ChunkForwarding = _server(ChunkForwardingHandler, name="ChunkForwarding")


class LocklessHandler(ChatHandler):
    def setup(self):
        socketserver.StreamRequestHandler.setup(self)
        self.outbox = queue.Queue(maxsize=QUEUE_SIZE)
        self.writer = threading.Thread(target=self.write_lines, daemon=True)
        self.writer.start()
        self.server.members.add(self)

    def finish(self):
        self.server.members.discard(self)
        self.disconnect()
        self.outbox.put(None)
        self.writer.join()
        socketserver.StreamRequestHandler.finish(self)


def _lockless_broadcast(self, line, sender):
    for member in self.members:  # the live set, while other threads add and remove clients
        if member is not sender:
            member.send(line)


Lockless = _server(LocklessHandler, _lockless_broadcast, "Lockless")


class DirectHandler(socketserver.StreamRequestHandler):
    """The lab's first reference: every handler thread writes to the other clients' sockets itself."""

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.members.add(self.wfile)

    def handle(self):
        for line in self.rfile:
            self.server.broadcast(line, sender=self.wfile)

    def finish(self):
        with self.server.lock:
            self.server.members.discard(self.wfile)
        super().finish()


def _direct_broadcast(self, line, sender):
    with self.lock:
        others = [member for member in self.members if member is not sender]
    for member in others:
        try:
            member.write(line)
        except OSError:
            pass


DirectWrites = _server(DirectHandler, _direct_broadcast, "DirectWrites")


def _lockless_direct_broadcast(self, line, sender):
    for member in self.members:
        if member is not sender:
            try:
                member.write(line)
            except OSError:
                pass


class LocklessDirectHandler(DirectHandler):
    def setup(self):
        socketserver.StreamRequestHandler.setup(self)
        self.server.members.add(self.wfile)

    def finish(self):
        self.server.members.discard(self.wfile)
        socketserver.StreamRequestHandler.finish(self)


LocklessDirect = _server(LocklessDirectHandler, _lockless_direct_broadcast, "LocklessDirect")


class UnboundedHandler(ChatHandler):
    """Never drops a client that does not read: its queue grows without end."""

    def setup(self):
        socketserver.StreamRequestHandler.setup(self)
        self.outbox = queue.Queue()
        self.writer = threading.Thread(target=self.write_lines, daemon=True)
        self.writer.start()
        with self.server.lock:
            self.server.members.add(self)


Unbounded = _server(UnboundedHandler, name="Unbounded")


class WriterLeftRunningHandler(ChatHandler):
    left = []  # the test stops their writers afterwards: a thread blocked in queue.get() cannot be interrupted

    def finish(self):  # removes the client but never stops its writer thread
        with self.server.lock:
            self.server.members.discard(self)
        WriterLeftRunningHandler.left.append(self)
        socketserver.StreamRequestHandler.finish(self)


WriterLeftRunning = _server(WriterLeftRunningHandler, name="WriterLeftRunning")


class PutWithoutTimeoutHandler(ChatHandler):
    def send(self, line):
        self.outbox.put(line)


class DropsTheLineHandler(ChatHandler):
    def send(self, line):
        try:
            self.outbox.put(line, timeout=SEND_TIMEOUT)
        except queue.Full:
            pass  # drops the line but keeps the client


class PutNowaitHandler(ChatHandler):
    def send(self, line):
        self.outbox.put_nowait(line)


class WriterBreaksHandler(ChatHandler):
    def write_lines(self):
        while True:
            line = self.outbox.get()
            if line is None:
                return
            try:
                self.wfile.write(line)
            except OSError:
                self.disconnect()
                break  # stops emptying the queue


PutWithoutTimeout = _server(PutWithoutTimeoutHandler, name="PutWithoutTimeout")
DropsTheLine = _server(DropsTheLineHandler, name="DropsTheLine")
PutNowait = _server(PutNowaitHandler, name="PutNowait")
WriterBreaks = _server(WriterBreaksHandler, name="WriterBreaks")


class WrongInit(socketserver.ThreadingTCPServer):
    def __init__(self, address, handler):
        super().__init__(address, handler)


CHAT_PARTS = ["broadcast", "pieces", "ten", "leave", "churn", "slow"]


@pytest.mark.parametrize("part", CHAT_PARTS)
def test_lab04_right_chat_passes(part):
    within_bound(grading.check_chat_server, ChatServer, part)


@pytest.mark.parametrize("wrong, part, fragment", [
    (..., "broadcast", "not written yet"),
    (socketserver.TCPServer, "broadcast", "must be a class that inherits from socketserver.ThreadingTCPServer"),
    (WrongInit, "broadcast", "its __init__ takes the address only"),
    (EchoesToSender, "broadcast", "except the sender"),
    (ChunkForwarding, "pieces", "forward whole lines (for line in self.rfile)"),
    (NeverForgets, "leave", "remove it from members in finish(), holding the lock"),
    (SpinningChat, "leave", "threads still ran"),
    (Lockless, "churn", "hold self.lock while you loop over members"),
    (LocklessDirect, "churn", "hold self.lock while you loop over members"),
    (DirectWrites, "slow", "give each client a bounded queue and a writer thread of its own"),
    (Unbounded, "slow", "disconnect the client when its queue stays full"),
    (PutWithoutTimeout, "slow", "put with a timeout, self.outbox.put(line, timeout=SEND_TIMEOUT), and on queue.Full "
                                "disconnect that client"),
    (DropsTheLine, "slow", "disconnect that client (self.disconnect()) rather than drop the line"),
    (PutNowait, "slow", "send() let queue.Full escape: put with a timeout"),
    (WriterBreaks, "slow", "call self.disconnect() and keep going (no break or return)"),
])
def test_lab04_wrong_chat_fails_with_the_fix(wrong, part, fragment):
    fails_with(fragment, grading.check_chat_server, wrong, part)


def test_lab04_a_writer_thread_left_running_fails():
    try:
        fails_with("finish() must stop its writer thread", grading.check_chat_server, WriterLeftRunning, "leave")
    finally:
        for handler in WriterLeftRunningHandler.left:
            handler.outbox.put(None)
            handler.writer.join(1.0)
        WriterLeftRunningHandler.left.clear()


def test_lab04_the_old_reference_passed_every_part_but_slow():
    """The parts the first reference passed, so the slow part is what tells it apart."""
    for part in CHAT_PARTS[:-1]:
        within_bound(grading.check_chat_server, DirectWrites, part)


# ------------------------------------------------------------------ lab 05

def measure(mode, cpu, clients=4, work=0.2):
    with socklab.serve(mode=mode, work=work, cpu=cpu, name=f"measure-{mode}") as server:
        return socklab.load(server, clients=clients).makespan


def measure_leaves_server(mode, cpu, clients=4, work=0.2):
    server = socklab.serve(mode=mode, work=work, cpu=cpu, name=f"left-{mode}")
    return socklab.load(server, clients=clients).makespan


def measure_ignores_mode(mode, cpu, clients=4, work=0.2):
    return measure("serial", cpu, clients, work)


def measure_one_by_one(mode, cpu, clients=4, work=0.2):
    with socklab.serve(mode=mode, work=work, cpu=cpu, name=f"measure-{mode}") as server:
        return socklab.load(server, clients=clients, concurrent=False).makespan


def measure_load_result(mode, cpu, clients=4, work=0.2):
    with socklab.serve(mode=mode, work=work, cpu=cpu, name=f"measure-{mode}") as server:
        return socklab.load(server, clients=clients)


def _predicted(**changes):
    predicted = {(m, k): 0.5 for m in ("serial", "threading", "forking") for k in ("sleeping", "computing")}
    predicted.update(changes)
    return predicted


def test_lab05_predictions_check_names_the_missing_key():
    grading.check_predictions(_predicted())
    missing = _predicted()
    del missing[("forking", "computing")]
    fails_with("predicted has no ('forking', 'computing'): keep the six lines", grading.check_predictions, missing)
    fails_with("predicted[('threading', 'sleeping')] is Ellipsis: replace it with the number of seconds",
               grading.check_predictions, {**_predicted(), ("threading", "sleeping"): ...})
    fails_with("keys [('forking', 'cpu')] that are not experiments", grading.check_predictions,
               {**_predicted(), ("forking", "cpu"): 0.4})
    fails_with("predicted must be the dictionary", grading.check_predictions, ...)


def test_lab05_right_measure_passes():
    within_bound(grading.check_measure, measure, "sleeping")
    within_bound(grading.check_measure, measure, "stops")


@pytest.mark.parametrize("wrong, part, fragment", [
    (measure_leaves_server, "stops", "use `with socklab.serve(...) as server:`"),
    (lambda mode, cpu: None, "stops", "must return the makespan in seconds, a float (result.makespan); it returned NoneType"),
    (lambda mode, cpu: measure_load_result(mode, cpu), "sleeping", "must return the makespan in seconds, a float (result.makespan); it returned LoadResult"),
    (measure_ignores_mode, "sleeping", "pass mode to socklab.serve"),
    (measure_one_by_one, "sleeping", "pass mode to socklab.serve"),
])
def test_lab05_wrong_measure_fails_with_the_fix(wrong, part, fragment):
    fails_with(fragment, grading.check_measure, wrong, part)


def _results(**changes):
    results = {("serial", "sleeping"): 0.8, ("threading", "sleeping"): 0.2, ("forking", "sleeping"): 0.22,
               ("serial", "computing"): 0.8, ("threading", "computing"): 0.82, ("forking", "computing"): 0.42}
    for key, value in changes.items():
        mode, kind = key.split("_")
        results[(mode, kind)] = value
    return results


def test_lab05_results_checks():
    grading.check_results(_results(), "complete")
    grading.check_results(_results(), "sleeping")
    fails_with("has no number for [('forking', 'computing')]", grading.check_results,
               {k: v for k, v in _results().items() if k != ("forking", "computing")}, "complete")
    fails_with("did you pass cpu=False", grading.check_results, _results(threading_sleeping=0.8), "sleeping")
    inverted = _results(serial_sleeping=0.8, threading_sleeping=0.82, forking_sleeping=0.42,
                        serial_computing=0.8, threading_computing=0.2, forking_computing=0.22)
    fails_with("did you pass cpu=False for 'sleeping'", grading.check_results, inverted, "sleeping")
    all_ones = {key: 1.0 for key in _results()}
    fails_with("threads should overlap the waits", grading.check_results, all_ones, "sleeping")
    fails_with("did you pass cpu=True", grading.check_results, _results(threading_computing=0.21), "cpu")
    fails_with("not filled in yet", grading.check_results, ..., "complete")


def test_lab05_cpu_check_uses_the_cores_free_when_measured(monkeypatch):
    """A grader busy at check time must not fail results measured on two free cores,
    and results measured on one free core are not held to the parallel claim."""
    no_parallel_gain = _results(forking_computing=0.8)
    monkeypatch.setattr(sys.modules["socklab.environment"], "free_cores", lambda seconds=0.1: 0.3)  # busy now
    fails_with("processes should compute in parallel", grading.check_results, no_parallel_gain, "cpu", 2.0)
    grading.check_results(_results(), "cpu", cores_free=2.0)        # measured in parallel, graded on a busy machine
    grading.check_results(no_parallel_gain, "cpu", cores_free=1.0)  # one core was free: no gain expected
    fails_with("keep the lines that set it", grading.check_results, _results(), "cpu", "two")


def test_lab05_cpu_check_follows_the_gil(monkeypatch):
    """A free-threaded Python computes in parallel with threads: the right answer there must pass,
    and the GIL answer must not pass there."""
    free_threaded = _results(threading_computing=0.42)
    # two free cores, as measured (the module, not socklab.environment the function)
    monkeypatch.setattr(sys.modules["socklab.environment"], "free_cores", lambda seconds=0.1: 2.0)
    fails_with("did you pass cpu=True", grading.check_results, free_threaded, "cpu")     # with the GIL: wrong
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    grading.check_results(free_threaded, "cpu")                                          # without it: right
    fails_with("no GIL (a free-threaded Python)", grading.check_results, _results(), "cpu")


# What the solution measured with ten learners running the same cell at once on two cores
# (tools/classroom_load.py lab05 --learners 10): the waits overlapped, but forking was slow
# to start its processes, and computing took five to seven times as long as sleeping.
CLASS_OF_TEN = {("serial", "sleeping"): 0.81, ("threading", "sleeping"): 0.21, ("forking", "sleeping"): 0.51,
                ("serial", "computing"): 4.6, ("threading", "computing"): 4.8, ("forking", "computing"): 5.4}


def _in_class(**changes):
    results = dict(CLASS_OF_TEN)
    for key, value in changes.items():
        mode, kind = key.split("_")
        results[(mode, kind)] = value
    return results


def test_lab05_sleeping_check_holds_for_a_class_on_one_machine():
    """The solution's results from a class of ten on two cores pass (they failed with 'processes
    should overlap the waits' before the check looked at how busy the machine was)."""
    grading.check_results(CLASS_OF_TEN, "sleeping")
    grading.check_results(_in_class(forking_sleeping=0.6, threading_sleeping=0.3), "sleeping")


def test_lab05_sleeping_check_says_when_the_machine_is_too_busy_to_judge():
    message = fails_with("but the machine was too busy to judge: serial computing took 4.60 s, 5.7 times serial "
                         "sleeping", grading.check_results, _in_class(forking_sleeping=0.7), "sleeping")
    assert "re-run the cell that fills results when the machine is quieter" in message
    assert "the grader runs your notebook again" in message


def test_lab05_sleeping_check_still_fails_wrong_answers_quiet_or_busy():
    # a quiet machine (serial computing as long as serial sleeping): the margins are as strict as before
    fails_with("forking took 0.51 s and serial 0.80 s for sleeping work; processes should overlap the waits",
               grading.check_results, _results(forking_sleeping=0.51), "sleeping")
    fails_with("; threads should overlap the waits", grading.check_results, _results(threading_sleeping=0.35),
               "sleeping")
    # busy: a mode that does not overlap is never passed, and the message keeps the fix
    no_overlap = fails_with("too busy to judge", grading.check_results, _in_class(forking_sleeping=0.82), "sleeping")
    assert no_overlap.endswith("if it still fails then: processes should overlap the waits")
    computing = fails_with("did you pass cpu=False for 'sleeping'?", grading.check_results,
                           _in_class(threading_sleeping=4.8), "sleeping")
    assert "too busy" in computing
    # cpu=True for every experiment: serial sleeping computes too, so the machine does not look busy
    every_cpu = _in_class(serial_sleeping=4.6, threading_sleeping=4.8, forking_sleeping=5.4)
    message = fails_with("threads should overlap the waits: did you pass cpu=False for 'sleeping'?",
                         grading.check_results, every_cpu, "sleeping")
    assert "too busy" not in message


def test_lab05_cpu_check_on_a_busy_machine():
    """Threads computing under the GIL take at least serial sleeping's 0.8 s however busy the machine;
    serial computing may have been measured while the class was busier (it failed before)."""
    grading.check_results(_in_class(threading_computing=2.9), "cpu", cores_free=0.14)
    fails_with("did you pass cpu=True", grading.check_results, _in_class(threading_computing=0.21), "cpu", 0.14)
    fails_with("did you pass cpu=True", grading.check_results, _results(threading_computing=0.5), "cpu", 0.14)
    # not busy (serial computing under 1.5 times serial sleeping): compared with serial computing, as before
    fails_with("threading took 0.70 s and serial 1.10 s", grading.check_results,
               _results(serial_computing=1.1, threading_computing=0.7), "cpu", 0.14)


def test_within_interrupts_a_blocking_call_and_restores_the_alarm():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    a, b = socket.socketpair()
    try:
        start = time.monotonic()
        with pytest.raises(AssertionError, match="recv\\(\\) did not return within 0.3 s: say so"):
            grading.within(0.3, b.recv, 10, what="recv()", hint="say so")
        assert time.monotonic() - start < 1.0
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert signal.getsignal(signal.SIGALRM) is before
        a.sendall(b"ok")
        assert grading.within(1, b.recv, 10) == b"ok"
    finally:
        a.close()
        b.close()


def test_within_works_off_the_main_thread():
    result = {}

    def run():
        try:
            grading.within(0.2, time.sleep, 0.5, what="sleep()")
        except AssertionError as exc:
            result["message"] = str(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(3)
    assert result["message"] == "sleep() did not return within 0.2 s"
    time.sleep(0.5)  # the abandoned call ends on its own


def test_within_raises_its_own_type_a_failed_check_not_a_timeout_error():
    """The check giving up is TookTooLong, an AssertionError a grader counts as a failure; a learner's own
    TimeoutError (often the right answer) comes through as it was raised, never mistaken for it."""
    from socklab.timeouts import TookTooLong

    assert grading.TookTooLong is TookTooLong
    a, b = socket.socketpair()
    try:
        with pytest.raises(TookTooLong, match="recv\\(\\) did not return within 0.2 s") as caught:
            grading.within(0.2, b.recv, 10)
        assert isinstance(caught.value, AssertionError) and not isinstance(caught.value, TimeoutError)
        b.settimeout(0.05)
        with pytest.raises(TimeoutError) as caught:
            grading.within(1, b.recv, 10)
        assert not isinstance(caught.value, TookTooLong)
    finally:
        a.close()
        b.close()


class SpinningHandler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            self.rfile.readline()  # b"" forever once the client has gone


def test_serving_runs_a_server_and_stops_handlers_that_never_return(capsys):
    with grading.serving(socketserver.ThreadingTCPServer(("127.0.0.1", 0), UpperHandler)) as server:
        with socket.create_connection(server.server_address, timeout=2) as conn:
            conn.sendall(b"hi\n")
            assert conn.recv(10) == b"HI\n"
    assert capsys.readouterr().out == ""
    start = time.monotonic()
    with grading.serving(socketserver.ThreadingTCPServer(("127.0.0.1", 0), SpinningHandler)) as server:
        socket.create_connection(server.server_address, timeout=2).close()
        time.sleep(0.1)
    assert time.monotonic() - start < 3
    assert "stopped 1 handler thread still running" in capsys.readouterr().out
    with pytest.raises(TypeError, match="takes a socketserver server object"):
        with grading.serving(UpperHandler):
            pass
