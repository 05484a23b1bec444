"""Make this Linux kernel look like a learner's Mac, for the guard tests.

No Mac is available to the tests, so this hides, inside one Jupyter kernel,
what a macOS learner (an ordinary user) does not have:

- Linux's ``/proc`` and ``/sys`` (reading them raises FileNotFoundError);
- Linux-only socket constants (``SO_PEERCRED``, ``SO_PROTOCOL``, ``AF_PACKET``...);
- abstract Unix names and loopback beyond 127.0.0.1 (``bind`` fails as on macOS);
- raw sockets and root (the account is an ordinary user, uid 501);
- ``SOCK_SEQPACKET`` for ``AF_UNIX`` (macOS offers only streams and datagrams);
- Linux itself: ``sys.platform`` is "darwin" and ``platform.system()`` "Darwin";
- ``os.sched_getaffinity`` and ``select.epoll``;
- ``psutil``'s connection tables (macOS answers AccessDenied to ordinary users);
- multiprocessing's "fork" default (macOS starts processes with "spawn").

A notebook cell that uses one of these without asking ``socklab.needs`` first
raises here, and the test that runs every notebook this way fails.

Run in a kernel:  ``import elsewhere; elsewhere.hide_linux()``.
"""

import builtins
import errno
import io
import os
import socket
import sys

HIDDEN_PATHS = ("/proc", "/sys")
HIDDEN_CONSTANTS = ("SO_PEERCRED", "SO_PROTOCOL", "SO_PASSCRED", "SCM_CREDENTIALS", "SO_BINDTODEVICE", "SO_MARK",
                    "AF_PACKET", "AF_NETLINK", "AF_CAN", "AF_RDS", "AF_TIPC", "AF_BLUETOOTH", "AF_ALG", "AF_VSOCK",
                    "TCP_INFO", "TCP_QUICKACK", "TCP_CORK", "IP_RECVERR", "SOCK_NONBLOCK", "SOCK_CLOEXEC",
                    "CAN_RAW", "TIPC_ADDR_NAME")
ORDINARY_UID = 501  # the first account on a Mac


def _hidden(path) -> bool:
    if isinstance(path, int):
        return False
    try:
        text = os.fsdecode(path)
    except TypeError:
        return False
    text = os.path.abspath(text) if text.startswith(("/proc", "/sys")) else text
    if not any(text == p or text.startswith(p + "/") for p in HIDDEN_PATHS):
        return False
    # psutil has its own (sysctl) ways on macOS: let it read what it needs
    caller = sys._getframe(2).f_globals.get("__name__", "")
    return not caller.startswith("psutil")


def _refuse(function):
    def wrapper(path, *args, **kwargs):
        if _hidden(path):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory (hidden: this imitates macOS)", path)
        return function(path, *args, **kwargs)

    wrapper.__name__ = function.__name__
    return wrapper


def hide_linux():
    # files
    for module, name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "listdir"), (os, "scandir"),
                         (os, "readlink"), (os, "stat"), (os, "lstat")):
        setattr(module, name, _refuse(getattr(module, name)))
    try:  # IPython puts its own open() into a notebook's namespace
        shell = get_ipython()  # noqa: F821 (defined in a kernel)
        shell.user_ns["open"] = _refuse(shell.user_ns.get("open", builtins.open))
    except NameError:
        pass
    # constants and calls macOS does not have
    for name in HIDDEN_CONSTANTS:
        if hasattr(socket, name):
            delattr(socket, name)
    for name in ("sched_getaffinity", "sched_setaffinity", "pidfd_open", "memfd_create", "eventfd"):
        if hasattr(os, name):
            delattr(os, name)
    if hasattr(os, "process_cpu_count"):  # 3.13+: Linux's calls sched_getaffinity; a Mac's is cpu_count
        os.process_cpu_count = os.cpu_count
    import select

    if hasattr(select, "epoll"):
        del select.epoll
    os.geteuid = os.getuid = lambda: ORDINARY_UID

    # binding: abstract names and 127.x beyond 127.0.0.1 fail, as on macOS
    plain_bind = socket.socket.bind

    def bind(self, address):
        if self.family == socket.AF_UNIX and isinstance(address, (bytes, str)) and address[:1] in (b"\0", "\0"):
            raise OSError(errno.EINVAL, "Invalid argument (no abstract names: this imitates macOS)")
        if self.family == socket.AF_INET and isinstance(address, tuple) and str(address[0]).startswith("127.") \
                and address[0] != "127.0.0.1":
            raise OSError(errno.EADDRNOTAVAIL, "Can't assign requested address (this imitates macOS)")
        return plain_bind(self, address)

    socket.socket.bind = bind

    # raw sockets: an ordinary user may not open them
    plain_init = socket.socket.__init__

    def init(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None and type == socket.SOCK_RAW:
            raise PermissionError(errno.EPERM, "Operation not permitted (an ordinary user: this imitates macOS)")
        if fileno is None and family == socket.AF_UNIX and type == socket.SOCK_SEQPACKET:
            raise OSError(errno.EPROTONOSUPPORT, "Protocol not supported (this imitates macOS)")
        return plain_init(self, family, type, proto, fileno)

    socket.socket.__init__ = init
    plain_socketpair = socket.socketpair

    def socketpair(family=socket.AF_UNIX, type=socket.SOCK_STREAM, proto=0):
        if family == socket.AF_UNIX and type == socket.SOCK_SEQPACKET:
            raise OSError(errno.EPROTONOSUPPORT, "Protocol not supported (this imitates macOS)")
        return plain_socketpair(family, type, proto)

    socket.socketpair = socketpair

    import platform

    sys.platform = "darwin"
    platform.system = lambda: "Darwin"

    # psutil's connection tables need root on macOS
    import psutil

    def denied(*args, **kwargs):
        raise psutil.AccessDenied(msg="ordinary users cannot list connections on macOS (imitated)")

    psutil.net_connections = denied
    psutil.Process.net_connections = denied
    if hasattr(psutil.Process, "connections"):
        psutil.Process.connections = denied

    import multiprocessing

    multiprocessing.set_start_method("spawn", force=True)
