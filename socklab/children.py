"""Forked children that never outlive their parent: start one, and end and reap them all.

A Jupyter kernel runs several threads, and ``fork()`` copies only the calling
thread, with every lock as it was at that moment. So a child does as little as
possible: it runs one function, hands back its answer, and leaves with
``os._exit()``, without the parent's clean-up and without printing.

Every child is reaped (``waitpid``), or it would stay in the process table as a
zombie. A child that will not end is sent SIGTERM, then SIGKILL::

    start_child(f) ──fork──▶ child: f() ──pickle──▶ pipe ──▶ Child.finish(): answer, exit code
    end_processes(pids, deadline): SIGTERM ─ wait ─ SIGKILL ─ waitpid
"""

from __future__ import annotations

import ctypes
import os
import pickle
import select
import signal
import sys
import time


def die_with_parent() -> None:
    """In a child, on Linux: ask the kernel to kill this process if its parent dies."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _seconds(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, e.g. {name}=10; got {value!r}")
    if not 0 < value <= 3600:
        raise ValueError(f"{name} must be above 0 and at most 3600, e.g. {name}=10; got {value!r}")


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
        _seconds(timeout, "timeout")
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
