"""What socklab adds to a genuine socketserver class: records, kept errors, tracked workers.

socklab does not reimplement socketserver. It builds each server class from the
stdlib's own pieces, with one mix-in in front::

    LabThreadingTCPServer                 server_class("tcp", "threading")
     ├── LabMixIn         this module: hooks that run first, then call super()
     ├── ThreadingMixIn   socketserver: a thread per request (LabMixIn starts them itself)
     └── TCPServer        socketserver: bind, listen, accept
          └── BaseServer  socketserver: handle_request and the request's life

Python's own ``ThreadingTCPServer`` is exactly ``ThreadingMixIn`` + ``TCPServer``.
For each request, socklab's serve loop calls socketserver's own
``_handle_request_noblock()``, which calls, in this order: ``get_request``
(accept or recvfrom), ``verify_request`` and ``process_request``, all in the
serve loop. ``process_request`` hands the request to its worker: it calls
``finish_request`` right there (serial), in a new thread (threading) or in a
forked child (forking), and ``finish_request`` calls the handler class.
LabMixIn overrides:

* ``get_request``: notes when the request was accepted;
* ``process_request``: starts handler threads itself, so that ``stop()`` can
  find them;
* ``finish_request``: times the handler, keeps its error, records the request;
* ``handle_error``: keeps a traceback instead of printing it into some cell;
* ``shutdown``: says to use ``stop()`` (socklab never runs ``serve_forever``).

The socklab ``Server`` that owns this server is ``self.lab`` (socklab.servers).
"""

from __future__ import annotations

import io
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import warnings
from contextlib import nullcontext

from .children import die_with_thread, kept_in_children
from .errors import SocklabError
from .kinds import SOCKETSERVER_MODES, check_kind_mode, format_address
from .records import Request
from .stopping import Stopped, stoppable
from .tracebacks import handler_traceback, summary

# When this thread's request was accepted: get_request() runs in the serve loop,
# and the handler may run in another thread, so the time is handed over.
_accepted = threading.local()


class LabMixIn:
    """What a classroom adds to any socketserver server (see the module's docstring)."""

    # A serial server that is busy leaves new connections in the kernel's
    # accept queue. With the stdlib's 5, Linux queues six, so the eighth client
    # of a busy server has its SYN dropped and retries a second later. Demos
    # pass ``backlog=`` to show that effect on purpose.
    request_queue_size = 128
    # Rebinding a fixed port right after a stop must not fail on TIME_WAIT.
    allow_reuse_address = True
    # Read by the stdlib's server_close(): never wait for handler threads or
    # children there (socklab starts its threads itself, as daemons, and stop()
    # ends the children): every wait is socklab's own, and bounded. Notebook 05
    # compares these settings with the stdlib's.
    daemon_threads = True
    block_on_close = False
    # Read by the built-in echo handlers.
    socklab_work = 0.0
    socklab_cpu = False
    #: The socklab Server this server belongs to (set when it is made).
    lab = None

    def get_request(self):
        got = super().get_request()
        _accepted.at = time.monotonic()
        return got

    def shutdown(self):
        # BaseServer.shutdown() waits for serve_forever() to say it has stopped.
        # socklab runs this server's loop itself and never calls serve_forever(),
        # so the stdlib's shutdown() would wait forever: say what to do instead.
        raise SocklabError(f"server {self.lab.name!r} is run by socklab, not by serve_forever(), so shutdown() "
                           "would wait forever: stop it with its socklab Server's stop() (or socklab.stop_all())")

    def process_request(self, request, client_address):
        if self.lab.mode == "threading":
            # ThreadingMixIn.process_request, plus tracking: stop() must be able
            # to wait for (and give up on) each handler thread.
            thread = threading.Thread(
                target=self._serve_in_thread,
                args=(request, client_address, _accepted.at),
                name=f"socklab-{self.lab.name}-handler",
                daemon=True,
            )
            self.lab.add_worker(thread)
            thread.start()
        elif self.lab.mode == "forking":
            # A Jupyter kernel always runs several threads, and Python 3.12+
            # warns that fork() then copies only the forking thread (shown
            # where DeprecationWarnings are, as under pytest). socklab's part of
            # the child takes no lock: it runs the handler, sends its record
            # over a socket and leaves with os._exit(). A handler that takes a
            # lock another thread held at the fork would hang (notebook 06).
            # (catch_warnings changes process-wide state: two forking servers
            # starting children at the same moment may show the warning.)
            # A datagram server's child answers through the server's socket.
            with warnings.catch_warnings(), kept_in_children(None if self.lab.is_stream else self.socket):
                warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork")
                super().process_request(request, client_address)
        else:
            super().process_request(request, client_address)

    def _serve_in_thread(self, request, client_address, accepted):
        _accepted.at = accepted
        try:
            self.finish_request(request, client_address)
        except Stopped:
            pass
        except BaseException:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def _become_child(self):
        """First thing a forked child does: be a well-behaved, short-lived process."""
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        die_with_thread(parent_pid=self.lab.pid)
        # The child must not write into the kernel's output streams; what it
        # prints travels back inside its record instead.
        sys.stdout = sys.stderr = io.StringIO()
        # The listening socket, the parent's business, is closed already
        # (children.close_in_children); a datagram server's is kept to reply.

    def finish_request(self, request, client_address):
        lab = self.lab
        in_child = os.getpid() != lab.pid
        if in_child:
            self._become_child()
        accepted = getattr(_accepted, "at", None) or time.monotonic()
        started = time.monotonic()
        client = format_address(client_address)
        error = None
        try:
            # stop() shuts down the connection of a handler still running, and
            # Server.in_progress counts it; neither can reach into a child.
            tracked = nullcontext() if in_child else lab.handling(request if lab.is_stream else None)
            with tracked, stoppable(lab.stopping):
                super().finish_request(request, client_address)
        except Stopped:
            error = "stopped: the server stopped while this request was being handled"
            raise
        except BaseException as exc:
            error = summary(exc)
            # Report before the record below is written: a client that already
            # has its reply waits for that record, then checks for errors.
            lab.recorder.report_error(client, handler_traceback(exc))
            try:
                exc._socklab_reported = True
            except AttributeError:  # an exception class with __slots__: handle_error reports it again
                pass
            raise
        finally:
            if lab.recording or error:
                if in_child:
                    worker = f"process {os.getpid()}"
                elif lab.mode == "threading":
                    worker = f"thread {threading.get_native_id()}"
                else:
                    worker = "serve loop"
                output = sys.stdout.getvalue() if in_child and isinstance(sys.stdout, io.StringIO) else ""
                lab.recorder.record(Request(client, worker, accepted, started, time.monotonic(), error, output))

    def handle_error(self, request, client_address):
        """Keep the traceback instead of printing it into some other cell."""
        exc = sys.exc_info()[1]
        if isinstance(exc, Stopped) or getattr(exc, "_socklab_reported", False):
            return
        self.lab.recorder.report_error(format_address(client_address), handler_traceback(exc))


class TCP6Server(socketserver.TCPServer):
    """A TCPServer on IPv6."""

    address_family = socket.AF_INET6


class UDP6Server(socketserver.UDPServer):
    """A UDPServer on IPv6."""

    address_family = socket.AF_INET6


_BASES = {
    "tcp": socketserver.TCPServer,
    "tcp6": TCP6Server,
    "udp": socketserver.UDPServer,
    "udp6": UDP6Server,
    "unix": getattr(socketserver, "UnixStreamServer", None),
    "unix-dgram": getattr(socketserver, "UnixDatagramServer", None),
}
_MIXINS = {"serial": (), "threading": (socketserver.ThreadingMixIn,), "forking": (socketserver.ForkingMixIn,)}
_classes: dict = {}


def server_class(kind: str, mode: str) -> type:
    """The socketserver class socklab uses for ``kind`` and ``mode``.

    Built from the stdlib's own pieces, so its ``__mro__`` reads like the
    socketserver documentation: for threading TCP it is ``LabMixIn``,
    ``ThreadingMixIn``, ``TCPServer``, ``BaseServer``.
    """
    check_kind_mode(kind, mode)
    if mode not in SOCKETSERVER_MODES:
        raise ValueError(f"mode={mode!r} is an event loop, not a socketserver class: see socklab.eventloop")
    if (kind, mode) not in _classes:
        base = _BASES[kind]
        prefix = {"serial": "", "threading": "Threading", "forking": "Forking"}[mode]
        _classes[kind, mode] = type(f"Lab{prefix}{base.__name__}", (LabMixIn, *_MIXINS[mode], base),
                                    {"__module__": __name__})
    return _classes[kind, mode]
