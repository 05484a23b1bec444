"""What this machine offers the course: address families, fork, cores.

Every check tries the real thing (creating or binding a socket, forking a
child) rather than trusting a constant: ``socket.AF_CAN`` can exist while the
kernel module behind it is missing.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from dataclasses import dataclass

from .servers import ipv6_available


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _try_socket(family_name, type_name="SOCK_STREAM"):
    family = getattr(socket, family_name, None)
    kind = getattr(socket, type_name, None)
    if family is None or kind is None:
        return False, f"socket.{family_name if family is None else type_name} does not exist in this Python"
    try:
        socket.socket(family, kind).close()
        return True, f"socket({family_name}, {type_name}) works"
    except OSError as exc:
        return False, f"the constant exists, but the kernel says: {exc.strerror or exc}"


def _fork_works():
    if not hasattr(os, "fork"):
        return False, "os.fork does not exist (Windows): forking servers are not available"
    try:
        pid = os.fork()
    except OSError as exc:
        return False, f"fork failed: {exc.strerror}"
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
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


def free_cores(seconds: float = 0.1) -> float:
    """How many cores this program can compute on right now, measured.

    ``os.cpu_count()`` says how many cores exist, not how many are free: another
    busy program takes one away. This forks one child per core, each computing
    for ``seconds`` of CPU time, and divides the work done by the time it took.
    2 cores, both idle: about 2.0; one of them busy elsewhere: about 1.0 to 1.5.
    """
    from .servers import work

    usable, _ = _cores()
    if not hasattr(os, "fork") or usable < 2:
        return 1.0
    start = time.monotonic()
    children = []
    for _ in range(usable):
        pid = os.fork()
        if pid == 0:  # compute, then leave without running any of the parent's clean-up
            try:
                work(seconds, cpu=True)
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
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
        Check("abstract namespace", sys.platform.startswith("linux"),
              "Linux: Unix sockets can have names that are not files" if sys.platform.startswith("linux")
              else "only Linux has abstract Unix socket names"),
        Check("fork", *_fork_works()),
        Check("SOCK_SEQPACKET", *_try_socket("AF_UNIX", "SOCK_SEQPACKET")),
        Check("AF_CAN", *_try_socket("AF_CAN", "SOCK_RAW")),
        Check("AF_RDS", *_try_socket("AF_RDS", "SOCK_SEQPACKET")),
        Check("AF_TIPC (SOCK_RDM)", *_try_socket("AF_TIPC", "SOCK_RDM")),
    ]
    return Environment(tuple(checks), usable)
