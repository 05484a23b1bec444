"""The built-in request handlers: an uppercase echo, for stream and datagram servers.

They are the course's running example, written the way the source's example
should have been: the stream handler stops when the client closes (reading
``b''``), instead of looping forever on an empty read.
"""

import socketserver

from .kinds import STREAM_KINDS
from .stopping import work


class UpperEchoHandler(socketserver.StreamRequestHandler):
    """Answer each line uppercased, until the client closes its side.

    Before each answer it spends ``server.socklab_work`` seconds: sleeping,
    or computing when ``server.socklab_cpu`` is true.
    """

    def handle(self):
        for line in self.rfile:  # the loop ends at end of stream: the client closed
            work(self.server.socklab_work, cpu=self.server.socklab_cpu)
            self.wfile.write(line.upper())


class UpperDatagramHandler(socketserver.BaseRequestHandler):
    """Answer each datagram uppercased, after the same work as above.

    For a datagram server ``self.request`` is a pair: the datagram's bytes and
    the server's socket, which is how the answer goes back.
    """

    def handle(self):
        data, sock = self.request
        work(self.server.socklab_work, cpu=self.server.socklab_cpu)
        sock.sendto(data.upper(), self.client_address)


def default_handler(kind):
    """The built-in handler that suits a server of this kind."""
    return UpperEchoHandler if kind in STREAM_KINDS else UpperDatagramHandler
