"""Wrong arguments to socklab's public functions fail at once, with the fix in the message.

One table: each case is a call, the exception it must raise, and a part of the
message that tells a learner what to do instead. Every call must raise within
2 s (nothing may hang waiting on a socket), and must leave no server running.
"""

from __future__ import annotations

import math
import os
import socket
import socketserver
import threading
import time

import pytest

import socklab
from socklab import SocklabError

pytestmark = pytest.mark.timeout(60)

FAST = 2.0  # seconds: a wrong argument must be reported at once


class NotAHandler:
    def handle(self):
        pass


class LineHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline())


class PacketHandler(socketserver.DatagramRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.read())


def plain_function(request, client_address, server):
    pass


class Resources:
    """Things some cases need, prepared before the call is timed, released after."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self._sockets = []

    def stopped_server(self):
        server = socklab.serve(name="bad-input-stopped")
        server.stop()
        return server

    def closed_port(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def busy_port(self):
        """The port of a live TCP listening socket."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sockets.append(sock)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        return sock.getsockname()[1]

    def tcp_socket(self):
        """An unconnected TCP socket, closed after the test."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sockets.append(sock)
        return sock

    def busy_udp_port(self):
        """The port of a live, bound UDP socket."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sockets.append(sock)
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

    def existing_file(self):
        path = self.tmp_path / "notes.txt"
        path.write_text("not a socket\n")
        return str(path)

    def foreign_host(self):
        with socket.socket() as probe:
            try:
                probe.bind(("192.0.2.1", 0))
            except OSError:
                return "192.0.2.1"
        pytest.skip("192.0.2.1 is an address of this machine")

    def close(self):
        for sock in self._sockets:
            sock.close()


def case(call, exc, fix, id, needs=None):
    """``call(res, prepared)`` must raise ``exc`` whose message contains ``fix``.

    ``needs(res)`` runs before the timer starts; its value is ``prepared``.
    """
    return pytest.param(call, exc, fix, needs, id=id)


CASES = [
    # ------------------------------------------------------------ serve: kind, mode, handler
    case(lambda r, p: socklab.serve(kind="tpc"), ValueError, "choose one of tcp, tcp6, udp", "serve-kind-typo"),
    case(lambda r, p: socklab.serve(kind=None), ValueError, "choose one of tcp", "serve-kind-none"),
    case(lambda r, p: socklab.serve(mode="forked"), ValueError, "choose one of serial, threading, forking",
         "serve-bad-mode"),
    case(lambda r, p: socklab.serve(object.__new__(socklab.UpperEchoHandler)), TypeError,
         "not serve(MyHandler())", "serve-handler-instance"),
    case(lambda r, p: socklab.serve(plain_function), TypeError,
         "define class MyHandler(socketserver.BaseRequestHandler)", "serve-handler-function"),
    case(lambda r, p: socklab.serve(NotAHandler), TypeError, "subclass socketserver.BaseRequestHandler",
         "serve-handler-not-subclass"),
    case(lambda r, p: socklab.serve(LineHandler, kind="udp"), TypeError,
         "subclass DatagramRequestHandler or BaseRequestHandler, or use kind='tcp'", "serve-stream-handler-on-udp"),
    case(lambda r, p: socklab.serve(PacketHandler, kind="tcp"), TypeError,
         "subclass StreamRequestHandler, or use kind='udp'", "serve-datagram-handler-on-tcp"),
    # ------------------------------------------------------------ serve: work, backlog, name
    case(lambda r, p: socklab.serve(work=-1), ValueError, "work must be a number of seconds >= 0",
         "serve-negative-work"),
    case(lambda r, p: socklab.serve(work=math.nan), ValueError, "work must be a number of seconds >= 0",
         "serve-nan-work"),
    case(lambda r, p: socklab.serve(work="0.5"), ValueError, "work must be a number of seconds >= 0",
         "serve-str-work"),
    case(lambda r, p: socklab.serve(backlog=-1), ValueError, "backlog must be an int >= 0", "serve-negative-backlog"),
    case(lambda r, p: socklab.serve(backlog="5"), ValueError, "backlog must be an int >= 0", "serve-str-backlog"),
    case(lambda r, p: socklab.serve(name=""), TypeError, "name must be a non-empty string", "serve-empty-name"),
    case(lambda r, p: socklab.serve(name=7), TypeError, "name must be a non-empty string", "serve-int-name"),
    # ------------------------------------------------------------ serve: where to listen
    case(lambda r, p: socklab.serve(port=-1), ValueError, "port must be an int from 0 to 65535 (0 lets the OS choose)",
         "serve-port-negative"),
    case(lambda r, p: socklab.serve(port=70000), ValueError, "port must be an int from 0 to 65535",
         "serve-port-too-big"),
    case(lambda r, p: socklab.serve(port="80"), ValueError, "port must be an int from 0 to 65535", "serve-port-str"),
    case(lambda r, p: socklab.serve(host=123), TypeError, "host must be a string such as '127.0.0.1'",
         "serve-host-int"),
    case(lambda r, p: socklab.serve(host=p), SocklabError, "not an address of this machine; use host='127.0.0.1'",
         "serve-foreign-host", needs=Resources.foreign_host),
    case(lambda r, p: socklab.serve(kind="unix", port=5000), ValueError, "pass path= or nothing", "serve-unix-port"),
    case(lambda r, p: socklab.serve(kind="unix", host="127.0.0.1"), ValueError, "pass path= or nothing",
         "serve-unix-host"),
    case(lambda r, p: socklab.serve(kind="tcp", path="/tmp/x.sock"), ValueError, "use kind='unix' for a socket file",
         "serve-tcp-path"),
    case(lambda r, p: socklab.serve(kind="unix", path=42), TypeError, "path must be a string", "serve-unix-path-int"),
    case(lambda r, p: socklab.serve(port=p), SocklabError, "pass port=0", "serve-port-in-use",
         needs=Resources.busy_port),
    case(lambda r, p: socklab.serve(kind="udp", port=p), SocklabError, "pass port=0", "serve-udp-port-in-use",
         needs=Resources.busy_udp_port),
    case(lambda r, p: socklab.serve(kind="unix", path=p), SocklabError, "remove it, or leave path unset",
         "serve-unix-existing-file", needs=Resources.existing_file),
    # ------------------------------------------------------------ ask
    case(lambda r, p: socklab.ask(("127.0.0.1", 1), "hello\n"), TypeError, "write b'hello\\n' or 'hello\\n'.encode()",
         "ask-str-data"),
    case(lambda r, p: socklab.ask(("127.0.0.1", 1), 42), TypeError, "data must be bytes", "ask-int-data"),
    case(lambda r, p: socklab.ask(p), SocklabError, "start it again with socklab.serve(...)", "ask-stopped-server",
         needs=Resources.stopped_server),
    case(lambda r, p: socklab.ask(42), TypeError, "pass a socklab server, a (host, port) tuple", "ask-bad-target"),
    case(lambda r, p: socklab.ask(("127.0.0.1", 0)), ValueError, "port must be from 1 to 65535", "ask-port-0"),
    case(lambda r, p: socklab.ask(("127.0.0.1", 1), kind="tpc"), ValueError, "choose one of tcp", "ask-bad-kind"),
    case(lambda r, p: socklab.ask("/tmp/x.sock", kind="tcp"), ValueError, "needs kind 'unix' or 'unix-dgram'",
         "ask-path-with-tcp"),
    case(lambda r, p: socklab.ask(("127.0.0.1", 1), timeout=0), ValueError,
         "timeout must be a number of seconds above 0", "ask-timeout-0"),
    case(lambda r, p: socklab.ask(("127.0.0.1", p)), ConnectionRefusedError, "start the server first",
         "ask-closed-port", needs=Resources.closed_port),
    case(lambda r, p: socklab.ask(str(r.tmp_path / "nobody.sock")), ConnectionRefusedError, "start the server first",
         "ask-missing-unix-path"),
    # ------------------------------------------------------------ load
    case(lambda r, p: socklab.load(("127.0.0.1", 1), clients=0), ValueError, "clients must be an int from 1 to 5000",
         "load-zero-clients"),
    case(lambda r, p: socklab.load(("127.0.0.1", 1), clients="8"), ValueError, "clients must be an int from 1 to 5000",
         "load-str-clients"),
    case(lambda r, p: socklab.load(("127.0.0.1", 1), message="work\n"), TypeError,
         "write b'work\\n' or 'work\\n'.encode()", "load-str-message"),
    case(lambda r, p: socklab.load(("127.0.0.1", 1), timeout=-1), ValueError,
         "timeout must be a number of seconds above 0", "load-negative-timeout"),
    case(lambda r, p: socklab.load(p, clients=2), SocklabError, "start it again with socklab.serve(...)",
         "load-stopped-server", needs=Resources.stopped_server),
    # ------------------------------------------------------------ timelines
    case(lambda r, p: socklab.plot_timeline({"clients": []}), TypeError, "expected the result of socklab.load()",
         "plot-timeline-non-result"),
    case(lambda r, p: socklab.compare([]), ValueError, "compare needs at least one result from socklab.load()",
         "compare-empty"),
    case(lambda r, p: socklab.compare({}), ValueError, "compare needs at least one result from socklab.load()",
         "compare-empty-dict"),
    case(lambda r, p: socklab.compare([42]), TypeError, "expected the result of socklab.load()",
         "compare-non-result"),
    # ------------------------------------------------------------ work
    case(lambda r, p: socklab.work(-1), ValueError, "work must be a number of seconds >= 0", "work-negative"),
    case(lambda r, p: socklab.work(math.nan), ValueError, "work must be a number of seconds >= 0", "work-nan"),
    case(lambda r, p: socklab.work("1"), ValueError, "work must be a number of seconds >= 0", "work-str"),
    # ------------------------------------------------------------ the rest of the public functions
    case(lambda r, p: socklab.check("", True, "1"), SocklabError, "claim is the sentence being checked", "check-empty-claim"),
    case(lambda r, p: socklab.check("x", True, 3), SocklabError, "measured is what was seen, as text", "check-int-measured"),
    case(lambda r, p: socklab.check("x", "False", "3"), SocklabError, "holds is a comparison", "check-str-holds"),
    case(lambda r, p: socklab.connected_pair(timeout=0), SocklabError, "timeout must be a number of seconds > 0",
         "pair-zero-timeout"),
    case(lambda r, p: socklab.connected_pair(timeout="2"), SocklabError, "timeout must be a number of seconds > 0",
         "pair-str-timeout"),
    case(lambda r, p: socklab.wait_until_queued(b"data", 1), SocklabError, "sock is a connected stream socket",
         "queued-not-a-socket"),
    case(lambda r, p: socklab.wait_until_queued(p, 0), SocklabError, "n is how many bytes to wait for",
         "queued-zero-bytes", needs=lambda r: r.tcp_socket()),
    case(lambda r, p: socklab.server_class("tpc", "serial"), ValueError, "choose one of tcp", "server-class-kind"),
    case(lambda r, p: socklab.server_class("tcp", "forked"), ValueError, "choose one of serial", "server-class-mode"),
    case(lambda r, p: socklab.stop_all(timeout=-1), ValueError, "timeout must be a number of seconds above 0",
         "stop-all-negative-timeout"),
    case(lambda r, p: socklab.explorer(clients=0, run=False), ValueError, "clients must be an int from 1 to 16",
         "explorer-no-clients"),
    case(lambda r, p: socklab.explorer(work=2, run=False), ValueError, "work must be from 0.05 to 0.5 seconds",
         "explorer-too-much-work"),
    case(lambda r, p: socklab.explorer(modes=["parallel"], run=False), ValueError, "modes must be a non-empty list",
         "explorer-bad-mode"),
    case(lambda r, p: socklab.plot_timeline(socklab.LoadResult("x", True, [], []), by="lane"), ValueError,
         "by must be 'client' or 'worker'", "plot-timeline-bad-by"),
    case(lambda r, p: socklab.serve(work=0.1, cpu="computing"), TypeError,
         "cpu must be True (computing) or False (sleeping)", "serve-cpu-not-bool"),
    case(lambda r, p: socklab.experiment(42, n=(1, 2)), TypeError, "experiment needs a function to run",
         "experiment-not-callable"),
    case(lambda r, p: socklab.experiment(lambda n=1: n), ValueError, "name at least one control",
         "experiment-no-controls"),
    case(lambda r, p: socklab.experiment(lambda n=1: n, m=(1, 2)), TypeError, "has no argument 'm'",
         "experiment-unknown-control"),
    case(lambda r, p: socklab.experiment(lambda n=1: n, n=(5, 1)), ValueError, "needs min < max and step > 0",
         "experiment-backwards-range"),
    case(lambda r, p: socklab.experiment(lambda n=9: n, n=(1, 5)), ValueError, "must lie within (1, 5)",
         "experiment-default-outside"),
    case(lambda r, p: socklab.experiment(lambda n="a": n, n=["b", "c"]), ValueError, "must be one of ['b', 'c']",
         "experiment-default-not-a-choice"),
    case(lambda r, p: socklab.experiment(lambda n=1: n, n="big"), TypeError, "a list of choices, or True/False",
         "experiment-bad-spec"),
    case(lambda r, p: socklab.experiment(lambda n=1: n, n=(1, 2), timeout=0), ValueError,
         "timeout must be a number of seconds above 0", "experiment-timeout-0"),
    case(lambda r, p: socklab.trace_request("tpc"), ValueError, "kind must be one of tcp", "trace-bad-kind"),
    case(lambda r, p: socklab.trace_request("tcp", base="Handler"), ValueError,
         "base must be one of BaseRequestHandler", "trace-bad-base"),
    case(lambda r, p: socklab.trace_request("tcp", raises="teardown"), ValueError,
         "raises must be None or one of setup, handle, finish", "trace-bad-step"),
    case(lambda r, p: socklab.trace_request("tcp", data="hello"), TypeError, "data must be bytes, like b'hello",
         "trace-str-data"),
    case(lambda r, p: socklab.trace_request("udp", base="StreamRequestHandler"), TypeError,
         "subclass DatagramRequestHandler or BaseRequestHandler", "trace-stream-handler-on-udp"),
    case(lambda r, p: socklab.lifecycle(kind="tcp6", run=False), ValueError,
         "kind must be one of tcp, udp, unix, unix-dgram", "lifecycle-bad-kind"),
    case(lambda r, p: socklab.lifecycle(kind="tcp", base="DatagramRequestHandler", run=False), ValueError,
         "a tcp server takes a StreamRequestHandler or a BaseRequestHandler", "lifecycle-mismatched-base"),
    case(lambda r, p: socklab.lifecycle(raises="close", run=False), ValueError,
         "raises must be None or one of setup, handle, finish", "lifecycle-bad-step"),
    case(lambda r, p: socklab.plot_classes(42), TypeError, "module must be socketserver", "plot-classes-not-a-module"),
    case(lambda r, p: socklab.server_classes(socket), TypeError, "module must be socketserver",
         "server-classes-wrong-module"),
    case(lambda r, p: socklab.needs("ipx", shows="an IPX socket"), ValueError, "use one of 'procfs'", "needs-unknown"),
    case(lambda r, p: socklab.needs("procfs", shows=""), ValueError, "shows='what the cell shows",
         "needs-empty-shows"),
    case(lambda r, p: socklab.quiz(), ValueError, "(prompt, [options], answer_index, why)", "quiz-empty"),
    case(lambda r, p: socklab.quiz(("q?", ["a", "b"], 5, "why")), ValueError, "answer must index one of",
         "quiz-answer-out-of-range"),
]

# Public functions that need no row: they take no arguments, or accept anything by design.
NO_WRONG_ARGUMENTS = {
    "environment": "takes no arguments",
    "free_cores": "takes a duration only, and measures",
    "gil_enabled": "takes no arguments",
    "running": "takes no arguments",
    "format_address": "formats any object it is given, for display",
}


def test_every_public_function_has_a_row():
    """A new public function must come with its wrong-argument cases."""
    import inspect
    from pathlib import Path

    source = Path(__file__).read_text()
    missing = [name for name in socklab.__all__
               if inspect.isfunction(getattr(socklab, name)) and name not in NO_WRONG_ARGUMENTS
               and f"socklab.{name}(" not in source]
    assert missing == [], f"add wrong-argument cases for {missing} to CASES"


def _socklab_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("socklab-") and t.is_alive()]


@pytest.fixture
def resources(sock_dir):
    res = Resources(sock_dir)
    try:
        yield res
    finally:
        res.close()
        socklab.stop_all()


@pytest.mark.parametrize("call, exc, fix, needs", CASES)
def test_bad_input(resources, call, exc, fix, needs):
    before = {s.name for s in socklab.running()}
    prepared = needs(resources) if needs is not None else None
    t0 = time.monotonic()
    with pytest.raises(exc) as caught:
        call(resources, prepared)
    elapsed = time.monotonic() - t0
    assert elapsed < FAST, f"took {elapsed:.2f} s to report a wrong argument"
    assert type(caught.value) is exc or exc is SocklabError, type(caught.value)
    message = str(caught.value)
    assert fix in message, f"the message does not name the fix {fix!r}: {message!r}"
    assert "\n" not in message, f"the message should be one line: {message!r}"
    # A call that failed started nothing, and stopped nothing it was not asked to.
    assert {s.name for s in socklab.running()} == before
    deadline = time.monotonic() + 1
    while _socklab_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _socklab_threads() == []


def test_unix_existing_file_raises(resources):
    path = resources.existing_file()
    with pytest.raises(SocklabError, match="already exists"):
        socklab.serve(kind="unix", path=path)


def test_unix_existing_file_is_left_alone(resources):
    """The error tells the learner to remove the file: socklab must not remove it itself."""
    path = resources.existing_file()
    with pytest.raises(SocklabError):
        socklab.serve(kind="unix", path=path)
    assert os.path.exists(path), "socklab deleted a file it could not bind"


def test_port_in_use_by_a_live_server(resources):
    """The same, when the port is held by another socklab server."""
    first = socklab.serve(name="holder")
    port = first.address[1]
    t0 = time.monotonic()
    with pytest.raises(SocklabError, match="port=0") as caught:
        socklab.serve(name="intruder", port=port)
    assert time.monotonic() - t0 < FAST
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert first.running and socklab.ask(first, b"still here\n") == b"STILL HERE\n"
    assert [s.name for s in socklab.running()] == ["holder"]


def test_failed_serve_allows_a_good_one(resources):
    """After a wrong call, the right call works: nothing half-started is in the way."""
    with pytest.raises(ValueError):
        socklab.serve(kind="tpc", name="retry")
    with socklab.serve(name="retry") as server:
        assert socklab.ask(server, b"ok\n") == b"OK\n"


def test_ipv4_host_on_tcp6_names_a_real_fix(resources):
    from socklab.kinds import ipv6_available

    if not ipv6_available():
        pytest.skip("this machine cannot bind IPv6 loopback (::1)")
    with pytest.raises(SocklabError) as caught:
        socklab.serve(kind="tcp6", host="127.0.0.1")
    message = str(caught.value)
    assert "use host='127.0.0.1'" not in message, f"the advice repeats the failing call: {message!r}"
    assert "kind='tcp'" in message or "host='::1'" in message, message
