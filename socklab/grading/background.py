"""``serving(server)``: a ``socketserver`` server a learner built, served in the background for a ``with`` block.

Lab 04's learners write a whole server class (``ChatServer``), not only a
handler, so socklab's ``serve()`` cannot build it; ``serving`` runs the object
they built instead, and on leaving the block leaves nothing behind: the loop
shut down, the socket closed, and any handler thread that will not end (a
loop that ignores end of stream) stopped from outside.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time

from ..stopping import Stopped, interrupt_thread
from .common import WAIT


def stop_lingering_handlers(threads_before, grace: float = 0.5) -> int:
    """Stop socketserver handler threads started since ``threads_before`` that will not end.

    A handler that never returns (a loop that ignores end of stream) would burn
    a core in the learner's kernel until it restarts. Give each a moment to end
    by itself, then raise an exception inside it. Returns how many were stopped.
    """
    lingering = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()
                 and "process_request" in t.name]
    deadline = time.monotonic() + grace
    for thread in lingering:
        thread.join(max(0.0, deadline - time.monotonic()))
    lingering = [t for t in lingering if t.is_alive()]
    if not lingering:
        return 0
    previous = threading.excepthook

    def quiet(args):
        if not issubclass(args.exc_type, Stopped):
            previous(args)

    threading.excepthook = quiet
    try:
        for thread in lingering:
            interrupt_thread(thread)
        for thread in lingering:
            thread.join(1.0)
    finally:
        threading.excepthook = previous
    return len(lingering)


@contextlib.contextmanager
def serving(server):
    """Serve a ``socketserver`` server you built yourself, in the background, for a ``with`` block.

    On leaving the block: shut it down, close it, and stop any handler thread
    that is still running (a handler that never returns), saying so.
    """
    if not isinstance(server, socketserver.BaseServer):
        raise TypeError(f"serving() takes a socketserver server object, such as ChatServer(('127.0.0.1', 0)), "
                        f"got {server!r}")
    threads_before = set(threading.enumerate())
    server.daemon_threads = True
    server.block_on_close = False
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                            name="socklab-serving")
    loop.start()
    try:
        yield server
    finally:
        stopper = threading.Thread(target=server.shutdown, daemon=True, name="socklab-serving-stop")
        stopper.start()
        stopper.join(WAIT)
        server.server_close()
        loop.join(WAIT)
        stopped = stop_lingering_handlers(threads_before)
        if stopped:
            print(f"(stopped {stopped} handler thread{'s' if stopped > 1 else ''} still running after "
                  "the server closed: a handler must return when its client closes)")
