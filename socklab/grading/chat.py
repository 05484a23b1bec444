"""Lab 04's checks: ``ChatServer``, a threaded chat room that sends each line to every other client."""

from __future__ import annotations

import queue
import socket
import sys
import threading
import time

from .chatroom import ChatRun, Collector, lines_until, wait_joined
from .common import WAIT, check_part, connect, start_thread, until

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
    check_part(part, ("broadcast", "pieces", "ten", "leave", "churn", "slow"))
    run = ChatRun(server_class)
    try:
        {"broadcast": _chat_broadcast, "pieces": _chat_pieces, "ten": _chat_ten, "leave": _chat_leave,
         "churn": _chat_churn, "slow": _chat_slow}[part](run)
    except OSError as exc:
        time.sleep(0.1)
        run.check_errors()  # the handler's own error says more than the client's broken connection
        raise AssertionError(f"talking to the chat server failed ({type(exc).__name__}: {exc}): handle() must "
                             "keep reading lines until its client closes") from None
    finally:
        run.close()


def _chat_broadcast(run):
    a, b, c = run.connect(3)
    wait_joined(a, [b, c])
    b.sendall(b"hello from b\n")
    got_a, got_c = lines_until(a, 1, WAIT), lines_until(c, 1, WAIT)
    got_b = lines_until(b, 1, 0.2)
    assert got_a == [b"hello from b"] and got_c == [b"hello from b"], (
        f"b sent one line; a received {got_a!r} and c received {got_c!r}, expected [b'hello from b'] each: "
        "send each line to every other connected client")
    assert got_b == [], f"b received its own line back ({got_b!r}): send to every client except the sender"


def _chat_ten(run):
    clients = run.connect(10)
    wait_joined(clients[0], clients[1:])
    barrier = threading.Barrier(10)
    results = {}

    def speak(i, conn):
        barrier.wait(WAIT)
        for k in range(5):
            conn.sendall(f"{i}:{k}\n".encode())

    def read(i, conn):
        results[i] = lines_until(conn, 45, WAIT)

    speakers = [start_thread(f"speak-{i}", speak, i, c) for i, c in enumerate(clients)]
    readers = [start_thread(f"read-{i}", read, i, c) for i, c in enumerate(clients)]
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


def _chat_pieces(run):
    slow, t1, t2, listener = run.connect(4)
    wait_joined(t1, [slow, t2, listener])
    names = {"slow": slow, "t1": t1, "t2": t2, "listener": listener}
    collectors = {name: Collector(conn, f"read-{name}") for name, conn in names.items()}
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
        until(lambda: all(collectors[n].count() >= len(expected[n]) for n in names), WAIT)
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


def _chat_leave(run):
    clients = run.connect(10)
    wait_joined(clients[0], clients[1:])
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
    received = [lines_until(conn, 3, max(0.1, deadline - time.monotonic())) for conn in staying[1:]]
    run.check_errors()
    for got in received:
        assert got == [f"still here {k}".encode() for k in range(3)], (
            f"after five clients left, a client received {got!r} instead of the three lines sent: keep "
            "broadcasting to the clients that remain")
    run.check_errors()
    run.all_leave()
    members = getattr(run.server, "members", None)
    if hasattr(members, "__len__"):
        assert len(members) == 0, (
            f"every client left, yet members still holds {len(members)}: when a client leaves, remove it "
            "from members in finish(), holding the lock")


def _chat_churn(run):
    """Clients join and leave over and over while three others talk to five listeners: without the
    lock, a loop over members meets a set that changed size (RuntimeError) in some handler."""
    clients = run.connect(CHURN_TALKERS + CHURN_LISTENERS)
    talkers = clients[:CHURN_TALKERS]
    wait_joined(clients[0], clients[1:])
    collectors = [Collector(conn, f"read-{i}") for i, conn in enumerate(clients)]
    done = threading.Event()
    churned = []

    def churn():
        while not done.is_set():
            try:
                conns = [connect(run.server.server_address) for _ in range(2)]
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

    # Switch threads far more often than every 5 ms, as a busy server's scheduler might: a loop over
    # members that a join or a leave can interrupt is then interrupted in every run, not in one of ten.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        churners = [start_thread(f"churn-{i}", churn) for i in range(CHURNERS)]
        speakers = [start_thread(f"speak-{i}", talk, i, conn) for i, conn in enumerate(talkers)]
        for thread in speakers:
            thread.join(2 * WAIT)
        done.set()
        for thread in churners:
            thread.join(WAIT)
        sys.setswitchinterval(interval)
        expected_count = [CHURN_LINES * (CHURN_TALKERS - (i < CHURN_TALKERS)) for i in range(len(clients))]
        until(lambda: all(c.count() >= n or c.closed for c, n in zip(collectors, expected_count)) or run.errors,
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
    run.all_leave()


def _chat_slow(run):
    """One client never reads while two others exchange 4 MB each."""
    a, b = run.connect(2)
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    run.clients.append(slow)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: its buffers fill sooner
    slow.settimeout(WAIT)
    slow.connect(run.server.server_address)
    wait_joined(a, [b, slow])
    collectors = [Collector(a, "read-a"), Collector(b, "read-b")]
    pad = b"." * (SLOW_LINE - 16)

    def talk(name, conn):
        try:
            for k in range(SLOW_LINES):
                conn.sendall(b"%s %06d %s\n" % (name, k, pad))
        except OSError:
            pass

    try:
        speakers = [start_thread(f"speak-{i}", talk, name, conn) for i, (name, conn) in enumerate(((b"a", a),
                                                                                                   (b"b", b)))]
        until(lambda: all(c.count() >= SLOW_LINES or c.closed for c in collectors) or run.errors, SLOW_WAIT)
        for thread in speakers:
            thread.join(0.5)
        time.sleep(0.05)
    finally:
        for collector in collectors:
            collector.stop()
    run.check_errors()
    for collector, other in zip(collectors, (b"b", b"a")):
        got, _ = collector.lines()
        wanted = [b"%s %06d %s" % (other, k, pad) for k in range(SLOW_LINES)]
        assert got == wanted, (
            f"while one client never read, a client received {len(got)} of the {SLOW_LINES} lines another sent "
            f"within {SLOW_WAIT:g} s: {_slow_fix(run.server)}")
    assert _dropped(slow), (
        f"a client that never read was still connected after {SLOW_LINES * SLOW_LINE * 2 / 1e6:g} MB were sent "
        "to it: bound its queue (queue.Queue(maxsize=QUEUE_SIZE)) and disconnect the client when its queue "
        "stays full")
    run.check_errors()
    run.all_leave(after="after every client left, one of them dropped for not reading")


def _slow_fix(server):
    """The fix when talkers starved beside a client that never read: it depends on whether clients have queues."""
    members = getattr(server, "members", ())
    try:
        queued = any(isinstance(getattr(m, "outbox", None), queue.Queue) for m in list(members))
    except TypeError:
        queued = False
    if queued:
        return ("a speaker's thread waited on the silent client's full queue: in send(), put with a timeout, "
                "self.outbox.put(line, timeout=SEND_TIMEOUT), and on queue.Full disconnect that client "
                "(self.disconnect()) rather than drop the line, so it leaves and no one waits on it again")
    return ("give each client a bounded queue and a writer thread of its own, so no handler waits on a slow "
            "client for long")


def _dropped(slow) -> bool:
    """The client that never read now reads what the server buffered for it: does the stream end (dropped)?"""
    slow.settimeout(0.2)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if not slow.recv(1 << 20):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False
