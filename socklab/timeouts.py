"""A call bounded in time: ``within(seconds, func, ...)``, which raises ``TookTooLong`` if it is late.

The labs' checks (``socklab.grading``) call a learner's code through it, and so
do the notebooks' experiment widgets (``socklab.widgets``): code that waits
forever must not freeze the kernel.

    within(2, conn.recv, 10, what="recv()", hint="set a timeout")
        -> what recv returned, or, 2 s later,
           TookTooLong: recv() did not return within 2 s: set a timeout

``TookTooLong`` is an ``AssertionError``, so a grader counts it as a failed
check, and deliberately not a ``TimeoutError``: a learner's own TimeoutError is
often the right answer (a client that gives up on a silent server), and must
not be confused with the check giving up on the learner's code.
"""

from __future__ import annotations

import signal
import threading


class TookTooLong(AssertionError):
    """``within()``'s call did not return in time; the message names the call and the fix."""


class _TimeUp(BaseException):
    """Raised by the alarm; a BaseException, so ``except Exception`` in a learner's code lets it through."""


def within(seconds: float, func, *args, what: str = "", hint: str = "", **kwargs):
    """Call ``func(*args, **kwargs)`` and return its result, or raise ``TookTooLong`` after ``seconds``.

    In the main thread (a notebook cell, an otter run) an alarm signal
    interrupts the call, even inside a blocking ``recv``. Elsewhere the call
    runs in a daemon thread that is abandoned if it does not return.
    ``what`` names the call in the message (``func()`` by default), ``hint``
    says what to change.
    """
    name = what or f"{getattr(func, '__name__', 'the function')}()"
    message = f"{name} did not return within {seconds:g} s" + (f": {hint}" if hint else "")
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def alarm(signum, frame):
            raise _TimeUp()

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return func(*args, **kwargs)
        except _TimeUp:
            pass  # raised below, outside this block, so that the interrupted frames (and their sockets) are freed
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        raise TookTooLong(message)
    outcome = {}

    def run():
        try:
            outcome["value"] = func(*args, **kwargs)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="socklab-grading-call")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TookTooLong(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
