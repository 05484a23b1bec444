"""What a server can be, and where it listens: kinds, modes and addresses.

The checks here turn a wrong argument into one line that names the fix, before
any socket is made. Nothing here starts anything.
"""

from __future__ import annotations

import errno
import os
import re
import socket

from .errors import SocklabError

#: The kinds of server socklab can start, and the stdlib class each builds on.
KINDS = ("tcp", "tcp6", "udp", "udp6", "unix", "unix-dgram")
#: How a server handles requests: one at a time, a thread each, a process each
#: (socketserver's three); or one event-loop thread for all (see socklab.eventloop).
MODES = ("serial", "threading", "forking", "selectors", "asyncio")
SOCKETSERVER_MODES = MODES[:3]

STREAM_KINDS = ("tcp", "tcp6", "unix")
UNIX_KINDS = ("unix", "unix-dgram")


def normalise(value):
    """' TCP ' -> 'tcp': kinds and modes are matched without case or spaces."""
    return value.strip().lower() if isinstance(value, str) else value


def check_kind_mode(kind, mode) -> None:
    """Raise one line naming the fix unless this machine can run ``kind`` in ``mode``."""
    if kind not in KINDS:
        hint = ""
        if kind in MODES:
            hint = f" ({kind!r} is a mode: the order is serve(handler, kind, mode); write mode={kind!r})"
        raise ValueError(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}{hint}")
    if mode not in MODES:
        hint = f" ({mode!r} is a kind: write kind={mode!r})" if mode in KINDS else ""
        raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}{hint}")
    if mode not in SOCKETSERVER_MODES and kind not in ("tcp", "tcp6"):
        raise ValueError(f"mode={mode!r} is an event loop, which socklab offers for TCP only: use kind='tcp'")
    if kind in UNIX_KINDS and not hasattr(socket, "AF_UNIX"):
        raise SocklabError(f"kind={kind!r} needs AF_UNIX sockets, which this platform lacks: use kind='tcp' instead")
    if kind in ("tcp6", "udp6") and not ipv6_available():
        raise SocklabError(f"kind={kind!r} needs IPv6 on loopback (::1), which this machine lacks: use kind='{kind[:3]}'")
    if mode == "forking" and not hasattr(os, "fork"):
        raise SocklabError("mode='forking' needs os.fork(), which this platform lacks (Windows): use mode='threading'")


def check_timeout(timeout) -> None:
    """One rule for every timeout socklab takes: seconds, above 0, under an hour."""
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < 3600:
        raise ValueError(f"timeout must be a number of seconds above 0, got {timeout!r}")


_ipv6 = None


def ipv6_available() -> bool:
    """True when this machine can bind a socket to IPv6 loopback (::1)."""
    global _ipv6
    if _ipv6 is None:
        _ipv6 = False
        if socket.has_ipv6:
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
                    probe.bind(("::1", 0))
                _ipv6 = True
            except OSError:
                pass
    return _ipv6


def format_address(address) -> str:
    """One readable string for any socket address.

    ``("127.0.0.1", 5000)`` -> ``127.0.0.1:5000``; IPv6 gets brackets,
    ``[::1]:5000``; a Unix path stays a path; Linux's abstract names (which
    start with a NUL byte) are shown with a leading ``@`` as ``ss`` does.
    """
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(address, bytes):
        if address.startswith(b"\0"):
            return "@" + address[1:].decode("ascii", "backslashreplace")
        address = address.decode("utf-8", "backslashreplace")
    if isinstance(address, str):
        if address.startswith("\0"):
            return "@" + address[1:]
        return address or "(unnamed)"
    return str(address)


def socket_filename(name: str) -> str:
    """A file name made from a server's name, for its Unix socket."""
    return (re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:40] or "server") + ".sock"


def bind_error(exc: OSError, kind: str, address) -> SocklabError:
    """What a failed bind() means, and what to do instead, in one line."""
    where = format_address(address) if not isinstance(address, str) else address
    if exc.errno == errno.EADDRINUSE:
        if kind in UNIX_KINDS:
            return SocklabError(
                f"cannot bind {where}: a file already exists at that path; remove it, or leave path unset "
                "so socklab picks a fresh one"
            )
        return SocklabError(
            f"cannot bind {where}: the port is already in use; stop the server using it, "
            "or pass port=0 to let the operating system choose a free port"
        )
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return SocklabError(f"cannot bind {where}: that is not an address of this machine; use host='127.0.0.1'")
    if exc.errno == errno.EACCES:
        return SocklabError(
            f"cannot bind {where}: permission denied (ports below 1024 need privileges); use port=0 or a port >= 1024"
        )
    if isinstance(exc, socket.gaierror):
        host = address[0] if isinstance(address, tuple) else address
        if exc.errno in (getattr(socket, "EAI_ADDRFAMILY", None), socket.EAI_FAMILY):
            if kind in ("tcp6", "udp6"):
                return SocklabError(f"cannot bind {where}: {host!r} is not an IPv6 address; for kind={kind!r} "
                                    f"use host='::1', or use kind={kind[:3]!r} for an IPv4 address")
            return SocklabError(f"cannot bind {where}: {host!r} is not an IPv4 address; for kind={kind!r} use "
                                f"host='127.0.0.1', or use kind='{kind}6' for an IPv6 address")
        return SocklabError(f"cannot bind {where}: the host name {host!r} does not resolve; use host='127.0.0.1'")
    return SocklabError(f"cannot bind {where}: {exc.strerror or exc}")
