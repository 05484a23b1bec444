"""The command line: serve a demo server from a terminal, or from another process.

    python -m socklab serve --kind tcp --mode threading --work 0.5

prints one line, ``listening on 127.0.0.1:PORT`` (or the socket file's
absolute path), then serves the uppercase echo until Ctrl-C (SIGINT) or
SIGTERM, and exits 0 after stopping everything it started. Talk to it from
another terminal:

    nc 127.0.0.1 PORT            (type lines; Ctrl-D to close)
    nc -u 127.0.0.1 PORT         (udp)
    nc -U /tmp/socklab-.../x.sock (unix)

From Python, ``spawn_server`` runs that command in a process of its own, so
the server's threads, memory and CPU time are its own and can be measured:

    with spawn_server(mode="asyncio", work=0.1) as server:   # waits (bounded) for its line
        socklab.load(server.address, clients=100)
        psutil.Process(server.pid).num_threads()
    # here the process has had SIGTERM, exited 0 and been reaped

The benchmark (tools/bench.py), notebook 09 and tests/test_cli.py start their
servers this way.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import weakref

from .errors import SocklabError
from .kinds import KINDS, MODES, format_address
from .registry import serve, stop_all
from .stopping import check_seconds

PREFIX = "listening on "  # the first line the command prints: PREFIX + the address
_UNIX_KINDS = ("unix", "unix-dgram")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _parser():
    parser = argparse.ArgumentParser(prog="python -m socklab", description="socklab: the course's helper tools")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the uppercase echo until Ctrl-C or SIGTERM")
    s.add_argument("--kind", choices=KINDS, default="tcp", help="socket kind (default tcp)")
    s.add_argument("--mode", choices=MODES, default="serial", help="how requests are handled (default serial)")
    s.add_argument("--work", type=float, default=0.0, metavar="SECONDS", help="work per line or datagram")
    s.add_argument("--cpu", action="store_true", help="compute instead of sleeping during the work")
    s.add_argument("--host", default=None, help="address to bind (default loopback)")
    s.add_argument("--port", type=int, default=0, help="port to bind (default 0: the OS picks one)")
    s.add_argument("--path", default=None, help="socket file for unix kinds (default: a temporary one)")
    s.add_argument("--backlog", type=int, default=None, help="listen() queue length (default 128)")
    s.add_argument("--no-record", action="store_true", help="keep no per-request records (for benchmarks)")
    return parser


class _Stop(Exception):
    """Raised by the signal handler to end the wait in main()."""


def _raise_stop(signum, frame):
    # Raising is all a handler may safely do here: setting a threading.Event
    # from a signal handler can deadlock if the signal lands while the main
    # thread holds that Event's lock inside wait().
    raise _Stop


_serving = False  # main() is serving: its handlers must not reach a forked child


def _forget_stop_handlers():
    """In a child forked while main() serves: the default SIGTERM and SIGINT. The
    signals arrive blocked (see main), so one sent early waits until this point."""
    if _serving:
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_stop_handlers)


def main(argv=None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    unix = args.kind in _UNIX_KINDS
    mismatch = None
    if unix and (args.port or args.host):
        mismatch = f"--kind {args.kind} serves on a socket file: use --path, not --host or --port"
    elif not unix and args.path:
        mismatch = f"--kind {args.kind} serves on a host and port: use --host/--port, or --kind unix for --path"
    if mismatch:
        print(f"socklab: {mismatch}", file=sys.stderr)
        return 2
    if unix and args.path and len(os.fsencode(os.path.abspath(args.path))) > 100:
        print(f"socklab: --path {args.path} is {len(os.fsencode(os.path.abspath(args.path)))} bytes as a full path; "
              "Unix socket paths must stay under about 100 bytes: use a shorter one such as /tmp/lab.sock, "
              "or leave --path unset", file=sys.stderr)
        return 2
    # The kernel hands a signal to any thread that does not block it, but only the
    # main thread runs Python's handlers: a main thread asleep in time.sleep() did
    # not wake when the serve loop's thread caught SIGTERM. So the server's threads
    # start with SIGTERM and SIGINT blocked (a thread inherits its creator's mask),
    # and only the main thread takes them; forked children unblock them at once.
    global _serving
    _serving = True
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _raise_stop)
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        try:
            server = serve(kind=args.kind, mode=args.mode, work=args.work, cpu=args.cpu, host=args.host,
                           port=args.port, path=args.path, name="cli", backlog=args.backlog,
                           record=not args.no_record)
        except (SocklabError, ValueError, TypeError) as exc:
            print(f"socklab: {exc}", file=sys.stderr)
            return 2
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # the main thread's own mask only
        address = server.address
        if isinstance(address, str) and not address.startswith("\0"):
            address = os.path.abspath(address)  # usable from any working directory
        print(f"{PREFIX}{format_address(address)}", flush=True)
        while True:
            time.sleep(3600)  # a signal interrupts the sleep, and its handler raises _Stop
    except _Stop:
        return 0
    finally:
        for signum in _STOP_SIGNALS:  # a second Ctrl-C must not interrupt the clean-up
            signal.signal(signum, signal.SIG_IGN)
        stop_all()
        _serving = False
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


# --------------------------------------------------- the server in another process
class ServerProcessError(SocklabError):
    """A ``python -m socklab serve`` process did not start, or did not stop, as it should."""


def address_from_line(line: str):
    """The address in the command's first line: ``(host, port)``, or a socket file's path.

    ``"listening on 127.0.0.1:5000"`` -> ``("127.0.0.1", 5000)``;
    ``"listening on [::1]:5000"`` -> ``("::1", 5000)``;
    ``"listening on /tmp/socklab-x/a.sock"`` -> ``"/tmp/socklab-x/a.sock"``.
    Anything else raises ValueError naming the line.
    """
    text = line[:-1] if line.endswith("\n") else line
    where = text[len(PREFIX):] if text.startswith(PREFIX) else ""
    if where and where == where.strip():
        if where.startswith("/"):
            return where
        match = re.fullmatch(r"\[([^\[\]\s]+)\]:(\d+)|([^:\[\]\s/]+):(\d+)", where)
        if match:
            host = match.group(1) or match.group(3)
            port = int(match.group(2) or match.group(4))
            if 0 < port < 65536:
                return host, port
    raise ValueError(f"expected 'listening on HOST:PORT' or 'listening on /PATH', got {line!r}")


class ServerProcess:
    """``python -m socklab serve ARGS`` running in a process of its own.

    ``spawn_server()`` makes one and waits for its address; tests that need the
    raw command line (bad arguments, say) make one directly and call
    ``wait_for_address()``. ``stop()``, or the end of a ``with`` block, ends
    the process and reaps it. Every wait is bounded.

    address   ``(host, port)`` or a socket path, once the first line is read
    pid       the process id (``psutil.Process(server.pid)`` to measure it)
    line      the first line it printed, without its newline
    stdout    everything it printed so far (the whole of it after it ended)
    stderr    everything it wrote to stderr (kept in a temporary file, so a
              chatty server can never block on a full pipe)
    returncode  its exit code once it ended, else None
    """

    def __init__(self, *args: str, cwd=None, env=None):
        self.args = tuple(str(arg) for arg in args)
        self.command = " ".join(("python -m socklab serve", *self.args))
        self.address = self.line = self.returncode = None
        self._out = b""
        self._ended_stdout = False
        self._err_file = tempfile.TemporaryFile()
        self._err = None
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "socklab", "serve", *self.args], bufsize=0,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._err_file, cwd=cwd, env=env)
        except BaseException:
            self._err_file.close()
            raise
        _live.add(self)

    def __repr__(self):
        state = "running" if self.returncode is None else f"exited {self.returncode}"
        where = format_address(self.address) if self.address is not None else "no address yet"
        return f"<socklab serve process {self.pid}: {where}, {state}>"

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:  # the block's own error is the one to see: stop quietly
            with contextlib.suppress(ServerProcessError):
                self.stop()
            return
        code = self.stop()
        if code != 0:
            raise ServerProcessError(f"{self.command} {_ended(code)}: {self._last_error()}")
        if self.stderr.strip():
            raise ServerProcessError(f"{self.command} wrote to stderr: {self._last_error()}")

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stdout(self) -> str:
        return self._out.decode(errors="replace")

    @property
    def stderr(self) -> str:
        if self._err is not None:
            return self._err
        size = os.fstat(self._err_file.fileno()).st_size
        # pread leaves alone the file offset the child shares with us
        return os.pread(self._err_file.fileno(), size, 0).decode(errors="replace")

    def _last_error(self) -> str:
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else "nothing on stderr"

    def _read_stdout(self, deadline: float, enough) -> None:
        """Read stdout into self._out until enough() or its end, or until the deadline."""
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while not (enough() or self._ended_stdout):
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return
                chunk = os.read(fd, 65536)
                self._out += chunk
                self._ended_stdout = not chunk

    def wait_for_address(self, timeout: float = 30.0):
        """Read the first line (within ``timeout`` seconds) and return the address in it.

        Raises ServerProcessError, in one line, if the process ends first (with
        the last line of its stderr: the reason) or prints no line in time.
        """
        if self.address is not None:
            return self.address
        self._read_stdout(time.monotonic() + timeout, lambda: b"\n" in self._out)
        if b"\n" not in self._out:
            if self._ended_stdout or self.process.poll() is not None:
                try:
                    code = self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = "unknown: it still runs"
                raise ServerProcessError(f"{self.command} {_ended(code)} before printing its address: "
                                         f"{self._last_error()}")
            raise ServerProcessError(f"{self.command} printed no address within {timeout:g} s: on a busy "
                                     f"machine pass a longer timeout, e.g. timeout={2 * timeout:g}")
        self.line = self._out.split(b"\n", 1)[0].decode(errors="replace")
        try:
            self.address = address_from_line(self.line)
        except ValueError as exc:
            raise ServerProcessError(f"{self.command}: {exc}") from None
        return self.address

    def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for the process to end by itself; return its exit code.

        subprocess.TimeoutExpired if it still runs then (it is left running: stop() it).
        """
        if self.returncode is None:
            self.process.wait(timeout)
            self._collect()
        return self.returncode

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Send ``signum`` (SIGTERM: socklab stops everything and exits 0), reap the
        process and return its exit code (negative: the signal that ended it).

        If it still runs ``timeout`` seconds later, it is killed and reaped, and
        ServerProcessError says so. Stopping a stopped process returns its code.
        """
        if self.returncode is not None:
            return self.returncode
        try:
            if self.process.poll() is None:
                self.process.send_signal(signum)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._kill()
                    raise ServerProcessError(f"{self.command} still ran {timeout:g} s after "
                                             f"{signal.Signals(signum).name}: killed it") from None
            return self._collect()
        except BaseException:  # a second Ctrl-C while waiting: nothing may be left open
            if self.returncode is None:
                self._kill()
            raise

    def _kill(self):
        self.process.kill()
        self.process.wait(10)
        with contextlib.suppress(ServerProcessError):
            self._collect()
        _live.discard(self)

    def _collect(self, timeout: float = 5.0) -> int:
        """After the exit: the rest of stdout and all of stderr; close both; the exit code."""
        self._read_stdout(time.monotonic() + timeout, lambda: False)
        self.returncode = self.process.returncode
        self.process.stdout.close()
        self._err = self.stderr
        self._err_file.close()
        _live.discard(self)
        if not self._ended_stdout:
            raise ServerProcessError(f"{self.command} exited, but its stdout stayed open {timeout:g} s: a process "
                                     "it started still runs; look for it with ps and end it (kill PID)")
        return self.returncode


def _ended(code) -> str:
    """'exited with code 2', or 'was killed by SIGKILL (from outside, or the out-of-memory killer)'."""
    if isinstance(code, int) and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        why = " (killed from outside, or by the out-of-memory killer)" if code == -signal.SIGKILL else ""
        return f"was ended by {name}{why}"
    return f"exited with code {code}"


_live = weakref.WeakSet()  # server processes not yet reaped: stopped when Python exits


@atexit.register
def _stop_live_processes():
    for server in list(_live):
        with contextlib.suppress(Exception):
            server.stop(timeout=1.0)


def spawn_server(*, kind: str = "tcp", mode: str = "serial", work: float = 0.0, cpu: bool = False,
                 host=None, port: int = 0, path=None, backlog=None, record: bool = True,
                 timeout: float = 30.0) -> ServerProcess:
    """Start ``python -m socklab serve`` in a process of its own; return it once it listens.

    The options are ``serve()``'s, for the built-in uppercase echo. ``timeout``
    bounds the wait for the address line (starting Python and importing socklab
    takes about a second, more on a busy machine). The returned ServerProcess
    has ``.address`` and ``.pid``; ``stop()`` or the end of its ``with`` block
    sends SIGTERM, reaps it and, in a ``with`` block, raises if it did not exit
    0 or wrote to stderr. If the process ends before printing its address
    (a wrong option: the command's own one-line error) or prints nothing in
    time, it is stopped and ServerProcessError says so in one line.
    """
    check_seconds(work)
    for name, value in (("cpu", cpu), ("record", record)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    args = ["--kind", kind, "--mode", mode]
    if work:
        args += ["--work", str(work)]
    if cpu:
        args.append("--cpu")
    for option, value in (("--host", host), ("--port", port or None), ("--path", path), ("--backlog", backlog)):
        if value is not None:
            args += [option, str(value)]
    if not record:
        args.append("--no-record")
    server = ServerProcess(*args)
    try:
        server.wait_for_address(timeout)
    except BaseException:
        with contextlib.suppress(ServerProcessError):
            server.stop(signal.SIGKILL)
        raise
    return server
