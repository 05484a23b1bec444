"""How a handler is stopped: pauses that ``stop()`` can cut short, and a last resort.

A server's ``stop()`` must end handlers that are still running. It cannot kill a
thread, so it asks: it sets the server's stop event, and code running in the
handler's thread notices.

* ``work(seconds)`` is a pause that notices. Sleeping work waits on the stop
  event instead of ``time.sleep``; computing work checks it between slices.
  Either way the handler leaves with ``Stopped`` as soon as the server stops.
* ``interrupt_thread(thread)`` is the last resort for a handler stuck in a
  Python loop: ``Stopped`` is raised inside that thread the next time it runs
  Python code. It cannot cut short a C call such as ``time.sleep``.

Which event to watch is per thread: a server's worker thread runs its handler
inside ``stoppable(event)``. Outside any server, ``work`` simply sleeps or computes.
"""

from __future__ import annotations

import ctypes
import threading
import time
from contextlib import contextmanager


class Stopped(BaseException):
    """Raised inside a handler that was still running when its server stopped.

    A BaseException, so a handler's own ``except Exception`` cannot swallow it.
    """


_local = threading.local()


@contextmanager
def stoppable(event: threading.Event):
    """Run the body with ``event`` as this thread's stop event (what ``work`` watches)."""
    _local.stopping = event
    try:
        yield
    finally:
        _local.stopping = None


def burn(seconds: float, pause=None) -> None:
    """Compute until this thread has used ``seconds`` of CPU time.

    CPU time (``time.thread_time``) is a fixed amount of work, however many
    others compete for the CPU or the interpreter lock. After each slice of a
    few microseconds of pure-Python arithmetic, ``pause()`` is called if given
    (to notice a stop, or to see whether this thread was paused).
    """
    budget = time.thread_time() + seconds
    while time.thread_time() < budget:
        for i in range(200):  # a few microseconds of pure-Python arithmetic
            i * i
        if pause is not None:
            pause()


def check_seconds(seconds, name: str = "work") -> None:
    """One rule for an amount of work: a number of seconds, 0 or more."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds != seconds or seconds < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {seconds!r}")


def work(seconds: float, cpu: bool = False) -> None:
    """Spend ``seconds`` on the current request, sleeping or computing.

    Sleeping stands for I/O (a database, a disk, another server): the worker
    waits and the CPU is free. ``cpu=True`` computes instead, until this thread
    has used ``seconds`` of CPU time, which is a fixed amount of work: threads
    that must share one interpreter lock then take turns and finish later,
    which is exactly what the course sets out to show.

    Inside a socklab server, prefer this to ``time.sleep``: ``stop()`` can
    interrupt it, so the server stops in milliseconds.
    """
    check_seconds(seconds)
    stopping = getattr(_local, "stopping", None)
    if not cpu:
        if stopping is None:
            time.sleep(seconds)
        elif stopping.wait(seconds):
            raise Stopped("the server stopped while this request was sleeping")
        return

    def notice_a_stop():
        if stopping is not None and stopping.is_set():
            raise Stopped("the server stopped while this request was computing")

    burn(seconds, notice_a_stop)


def interrupt_thread(thread: threading.Thread) -> None:
    """Raise ``Stopped`` inside ``thread`` the next time it runs Python code.

    The last resort for a handler stuck in a Python loop. It cannot interrupt a
    C call such as ``time.sleep``; that is why handlers should use ``work()``.
    """
    if thread.ident is not None and thread.is_alive():
        ident = ctypes.c_ulong(thread.ident)
        if ctypes.pythonapi.PyThreadState_SetAsyncExc(ident, ctypes.py_object(Stopped)) > 1:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ident, None)  # the C API asks: undo, it hit several
