"""Forked children that never outlive their parent: start one, and end and reap them all.

A Jupyter kernel runs several threads, and ``fork()`` copies only the calling
thread, with every lock as it was at that moment. So a child does as little as
possible: it runs one function, hands back its answer, and leaves with
``os._exit()``, without the parent's clean-up and without printing.

Every child is reaped (``waitpid``), or it would stay in the process table as a
zombie. A child that will not end is sent SIGTERM, then SIGKILL::

    start_child(f) ──fork──▶ child: f() ──pickle──▶ pipe ──▶ Child.finish(): answer, exit code
    end_processes(pids, deadline): SIGTERM ─ wait ─ SIGKILL ─ waitpid

A child is a copy of the parent, descriptors included: it would keep every
server's listening socket open, and so its port, for as long as it runs. So
each listening socket is registered with ``close_in_children``, and closed in
every child right after any ``fork()``.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import select
import signal
import sys
import threading
import time
import weakref
from contextlib import contextmanager

from .kinds import check_timeout

_closed_in_children = weakref.WeakSet()
_kept = threading.local()


def close_in_children(sock) -> None:
    """Close ``sock`` in every child forked from now on (the parent's copy stays open)."""
    _closed_in_children.add(sock)


@contextmanager
def kept_in_children(sock):
    """Forks in this block keep ``sock`` open in the child: a forking datagram server's
    child answers through the server's own socket."""
    _kept.sock = sock
    try:
        yield
    finally:
        _kept.sock = None


def _close_in_this_child():
    keep = getattr(_kept, "sock", None)  # thread-local: the forking thread is the child's only thread
    for sock in list(_closed_in_children):
        if sock is not keep:
            sock.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_this_child)


def die_with_thread(parent_pid: int) -> None:
    """In a forked child, on Linux: be killed (SIGKILL) when the thread that forked it ends.

    prctl(2)'s PR_SET_PDEATHSIG watches the *thread* that created the child, not
    the whole parent process: for a forking server, that is its serve loop, so
    no child outlives the loop (stop() ends the loop before it reaps). If the
    parent died before this call, the child leaves at once.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent process died before prctl: nothing would kill this child
        os._exit(1)


class Child:
    """A forked child running one function; its return value comes back pickled, down a pipe.

    Made by ``start_child()``; ``finish()`` waits for the answer and reaps the child.
    """

    def __init__(self, function, args):
        if not hasattr(os, "fork"):
            raise RuntimeError("this system has no fork() (Windows): use runner='threads'")
        reader, writer = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child
            code = 0
            try:
                os.close(reader)
                data = pickle.dumps(function(*args))
                while data:
                    data = data[os.write(writer, data):]
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - no traceback: a child must not print into the notebook
                code = 1
            finally:
                os._exit(code)
        os.close(writer)
        self._reader, self.exit_code, self._answer = reader, None, None

    def finish(self, timeout: float = 10):
        """Wait for the answer and reap the child; return ``(answer, exit code)``.

        The answer is ``None`` if the child sent none. A child still running
        after ``timeout`` seconds is killed. The exit code is the one the child
        chose, or minus the signal number that ended it (-9 for SIGKILL).
        """
        check_timeout(timeout)
        if self.exit_code is not None:  # finished already
            return self._answer, self.exit_code
        deadline = time.monotonic() + timeout
        chunks, reaped = [], 0
        try:
            while select.select([self._reader], [], [], max(0.0, deadline - time.monotonic()))[0]:
                chunk = os.read(self._reader, 65536)
                if not chunk:  # end of file: the child has closed its end
                    break
                chunks.append(chunk)
            while time.monotonic() < deadline:
                reaped, status = os.waitpid(self.pid, os.WNOHANG)
                if reaped:
                    break
                time.sleep(0.002)
        finally:  # timed out, or interrupted: the child must not outlive the call
            os.close(self._reader)
            if not reaped:
                reaped, status = os.waitpid(self.pid, os.WNOHANG)
                if not reaped:
                    os.kill(self.pid, signal.SIGKILL)
                    _, status = os.waitpid(self.pid, 0)
            self.exit_code = os.waitstatus_to_exitcode(status)
        self._answer = pickle.loads(b"".join(chunks)) if chunks and self.exit_code == 0 else None
        return self._answer, self.exit_code


def start_child(function, *args) -> Child:
    """Fork a child that runs ``function(*args)``; ``.finish()`` returns ``(answer, exit code)``.

    Nothing is pickled on the way in: the child is a copy of this process, so
    any function works, even a lambda defined in a notebook cell.
    """
    if not callable(function):
        raise TypeError(f"start_child needs a function to run, got {function!r}")
    return Child(function, args)


def end_processes(pids, deadline: float) -> list:
    """SIGTERM each child, wait for them until a short grace (or ``deadline``), then
    SIGKILL and reap the rest. Returns "process <pid>" for any that could not be ended."""
    children = set(pids)
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    grace = min(deadline, time.monotonic() + 0.5)
    while children:
        for pid in list(children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                children.discard(pid)
        if not children or time.monotonic() > grace:
            break
        time.sleep(0.0005)
    left = []
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        except OSError:
            left.append(f"process {pid}")
    return left
