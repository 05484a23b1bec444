"""The command line: serve a demo server from a terminal.

    python -m socklab serve --kind tcp --mode threading --work 0.5

prints one line, ``listening on 127.0.0.1:PORT`` (or the socket path), then
serves the uppercase echo until Ctrl-C (SIGINT) or SIGTERM, and exits 0 after
stopping everything it started. Talk to it from another terminal:

    nc 127.0.0.1 PORT            (type lines; Ctrl-D to close)
    nc -u 127.0.0.1 PORT         (udp)
    nc -U /tmp/socklab-.../x.sock (unix)
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from .errors import SocklabError
from .kinds import KINDS, MODES, format_address
from .registry import serve, stop_all


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
    sub.add_parser("bench", help="measure the helpers and the course on this machine (--help for options)",
                   add_help=False)
    return parser


class _Stop(Exception):
    """Raised by the signal handler to end the wait in main()."""


def _raise_stop(signum, frame):
    # Raising is all a handler may safely do here: setting a threading.Event
    # from a signal handler can deadlock if the signal lands while the main
    # thread holds that Event's lock inside wait().
    raise _Stop


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from .bench import main as bench

        return bench(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    unix = args.kind in ("unix", "unix-dgram")
    mismatch = None
    if unix and (args.port or args.host):
        mismatch = f"--kind {args.kind} serves on a socket file: use --path, not --host or --port"
    elif not unix and args.path:
        mismatch = f"--kind {args.kind} serves on a host and port: use --host/--port, or --kind unix for --path"
    if mismatch:
        print(f"socklab: {mismatch}", file=sys.stderr)
        return 2
    previous = {signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server = serve(kind=args.kind, mode=args.mode, work=args.work, cpu=args.cpu, host=args.host,
                           port=args.port, path=args.path, name="cli", backlog=args.backlog,
                           record=not args.no_record)
        except (SocklabError, ValueError, TypeError) as exc:
            print(f"socklab: {exc}", file=sys.stderr)
            return 2
        address = server.address
        print(f"listening on {address if isinstance(address, str) else format_address(address)}", flush=True)
        while True:
            time.sleep(3600)  # a signal interrupts the sleep and raises _Stop
    except _Stop:
        return 0
    finally:
        for signum in previous:  # a second Ctrl-C must not interrupt the clean-up
            signal.signal(signum, signal.SIG_IGN)
        stop_all()
