"""What this machine offers the course: address families, fork, cores.

Every check tries the real thing (creating or binding a socket, forking a
child) rather than trusting a constant: ``socket.AF_CAN`` can exist while the
kernel module behind it is missing.

Two ways to ask:

    socklab.environment()          # the table notebook 00 shows
    if socklab.needs("procfs", shows="the range of ephemeral ports, 32768 to 60999 by default"):
        ...                        # a cell that reads Linux's /proc

``needs`` returns True where the machine has the feature; elsewhere (macOS,
an ordinary user, a kernel without a module) it prints one line saying what
is missing and what the cell shows where it is present, and returns False,
so a cell never raises for what a learner's machine lacks.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from dataclasses import dataclass

from .children import start_child
from .kinds import ipv6_available
from .stopping import burn


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _try_socket(family_name, type_name="SOCK_STREAM", proto_name=None):
    """Create and close one socket.

    On Linux the first try asks for the family's module (``net-pf-N``): it loads
    where the module is installed, declares that alias (CAN and SCTP do; TIPC
    does not, so it needs ``modprobe tipc``) and no configuration blocks it
    (several distributions block RDS).
    """
    names = [family_name, type_name] + ([proto_name] if proto_name else [])
    values = [getattr(socket, name, None) for name in names]
    if None in values:
        return False, f"socket.{names[values.index(None)]} does not exist in this Python"
    call = f"socket({', '.join(names)})"
    try:
        socket.socket(*values).close()
        return True, f"{call} works"
    except PermissionError:
        return False, f"{call}: not permitted for this account, which needs root or CAP_NET_RAW"
    except OSError as exc:
        return False, f"the constant exists, but the kernel says: {exc.strerror or exc}"


def _abstract_names():
    """Bind a Unix socket to an abstract name (a leading zero byte): Linux only."""
    import secrets

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.bind(b"\0socklab-probe-" + secrets.token_hex(4).encode())
        return True, "Unix sockets can have names that are not files (Linux)"
    except (OSError, AttributeError) as exc:
        return False, f"binding an abstract name fails with {getattr(exc, 'strerror', None) or exc}: only Linux has them"


def _procfs():
    if os.path.isdir("/proc/self/fd") and os.path.exists("/proc/net/tcp"):
        return True, "/proc shows the kernel's tables (Linux)"
    return False, "no /proc/net here: only Linux shows its sockets and settings as files in /proc"


def _loopback_block():
    """All of 127.0.0.0/8 answers on Linux; macOS configures only 127.0.0.1."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.42.0.7", 0))
        return True, "every 127.x.y.z address is this machine"
    except OSError as exc:
        return False, f"127.42.0.7 cannot be bound, {exc.strerror or exc}: only 127.0.0.1 is loopback here"


def _peer_credentials():
    if not hasattr(socket, "SO_PEERCRED"):
        return False, "socket.SO_PEERCRED does not exist here: it is Linux's, and macOS has LOCAL_PEERCRED"
    return True, "a Unix socket can ask the kernel which process is at the other end"


def _root():
    if os.geteuid() == 0:
        return True, "this kernel runs as root (user id 0)"
    return False, f"this kernel runs as an ordinary user, user id {os.geteuid()}, not root"


# What a cell can ask ``needs`` for: a name, and the check that tries it.
FEATURES = {
    "procfs": _procfs,
    "abstract names": _abstract_names,
    "127/8 loopback": _loopback_block,
    "IPv6 loopback": lambda: ((True, "IPv6 loopback ::1 can be bound") if ipv6_available()
                              else (False, "this machine has no IPv6 loopback: ::1 cannot be bound")),
    "SO_PEERCRED": _peer_credentials,
    "SO_PROTOCOL": lambda: ((True, "getsockopt can report a socket's protocol") if hasattr(socket, "SO_PROTOCOL")
                            else (False, "socket.SO_PROTOCOL does not exist here")),
    "SOCK_SEQPACKET": lambda: _try_socket("AF_UNIX", "SOCK_SEQPACKET"),
    "raw sockets": lambda: _try_socket("AF_INET", "SOCK_RAW", "IPPROTO_ICMP"),
    "root": _root,
    "fork": lambda: _fork_works(),
    "linux": lambda: ((True, f"Linux (sys.platform is {sys.platform!r})") if sys.platform.startswith("linux")
                      else (False, f"this is {platform.system() or sys.platform}, not Linux")),
}


def needs(feature: str, shows: str) -> bool:
    """True if this machine offers ``feature``; otherwise print what is missing and what the cell would show.

    ``shows`` completes the sentence "Where it is available, this cell shows ...".
    The check runs every time (it is cheap), so a cell gives the same answer
    however often it is re-run.
    """
    if feature not in FEATURES:
        raise ValueError(f"needs() knows no feature {feature!r}: use one of {', '.join(map(repr, FEATURES))}")
    if not isinstance(shows, str) or not shows.strip():
        raise ValueError("needs() takes shows='what the cell shows where the feature exists', a sentence")
    ok, detail = FEATURES[feature]()
    if not ok:
        print(f"(skipped: {detail}. Where it is available, this cell shows {shows.strip().rstrip('.')}.)")
    return ok


def _fork_works():
    if not hasattr(os, "fork"):
        return False, "os.fork does not exist (Windows): forking servers are not available"
    try:
        _, code = start_child(os.getpid).finish(timeout=10)
    except OSError as exc:
        return False, f"fork failed: {exc.strerror}"
    if code != 0:
        return False, f"a forked child failed (exit code {code}): forking servers may not work"
    return True, "os.fork() works: forking servers are available"


def _cores():
    total = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    return usable, total


@dataclass(frozen=True)
class Environment:
    """The result of ``socklab.environment()``: a list of checks, shown as a table."""

    checks: tuple
    cores: int

    def __getitem__(self, name):
        for check in self.checks:
            if check.name == name:
                return check.ok
        raise KeyError(name)

    def __repr__(self):
        width = max(len(c.name) for c in self.checks)
        return "\n".join(f"{c.name:<{width}}  {'yes' if c.ok else 'no ':<3}  {c.detail}" for c in self.checks)

    def _repr_html_(self):
        # Plain coloured words, not emoji: not every machine has an emoji font.
        cell = "<td style='text-align:left'>{}</td>"
        rows = "".join(
            "<tr>" + cell.format(f"<code>{c.name}</code>")
            + cell.format(f"<b style='color:{'#1a7f37' if c.ok else '#b3261e'}'>{'yes' if c.ok else 'no'}</b>")
            + cell.format(c.detail) + "</tr>"
            for c in self.checks
        )
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("check", "here", "what it means"))
        return f"<table><tr>{head}</tr>{rows}</table>"


def gil_enabled() -> bool:
    """False on a free-threaded build running without the GIL (3.13t, 3.14t); True elsewhere.

    ``sys._is_gil_enabled`` exists from Python 3.13; before it every build had the GIL.
    """
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def free_cores(seconds: float = 0.1) -> float:
    """How many cores this program can compute on right now, measured.

    ``os.cpu_count()`` says how many cores exist, not how many are free: another
    busy program takes one away. This forks one child per core, each computing
    for ``seconds`` of CPU time, and divides the work done by the time it took.
    2 cores, both idle: about 2.0; one of them busy elsewhere: about 1.0 to 1.5.
    """
    usable, _ = _cores()
    if not hasattr(os, "fork") or usable < 2:
        return 1.0
    start = time.monotonic()
    children = [start_child(burn, seconds) for _ in range(usable)]
    for child in children:
        child.finish(timeout=min(3600, 10 + 100 * seconds))  # reaped; killed if it somehow runs on
    return round(usable * seconds / (time.monotonic() - start), 2)


def environment() -> Environment:
    """Check, live, what this machine offers for the course."""
    usable, total = _cores()
    checks = [
        Check("python", True, f"Python {platform.python_version()} on {sys.platform} ({platform.machine()})"),
        Check("cores", usable >= 2, f"{usable} usable of {total}: "
              + ("processes can run in parallel" if usable >= 2 else "processes cannot run in parallel here")),
        Check("AF_INET", *_try_socket("AF_INET")),
        Check("AF_INET6", ipv6_available(),
              "IPv6 loopback ::1 can be bound" if ipv6_available() else "no IPv6 loopback: tcp6/udp6 demos are skipped"),
        Check("AF_UNIX", *_try_socket("AF_UNIX")),
        Check("abstract namespace", *_abstract_names()),
        Check("fork", *_fork_works()),
        Check("SOCK_SEQPACKET", *_try_socket("AF_UNIX", "SOCK_SEQPACKET")),
        Check("AF_CAN", *_try_socket("AF_CAN", "SOCK_RAW", "CAN_RAW")),   # protocol 0 is refused even with CAN
        Check("AF_RDS", *_try_socket("AF_RDS", "SOCK_SEQPACKET")),
        Check("AF_TIPC (SOCK_RDM)", *_try_socket("AF_TIPC", "SOCK_RDM")),
    ]
    return Environment(tuple(checks), usable)
