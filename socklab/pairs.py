"""Two small tools for watching TCP bytes by hand, used by notebooks 02 to 04.

    client, server = socklab.connected_pair()        # both ends of one loopback connection
    client.sendall(b"hello"); client.sendall(b"world")
    socklab.wait_until_queued(server, 10)            # both sends have arrived; nothing read yet
    server.recv(1024)                                # -> b'helloworld'

``wait_until_queued`` peeks (``MSG_PEEK``) rather than sleeping for a guess,
so a demonstration does not depend on how fast the machine is.
"""

from __future__ import annotations

import selectors
import socket
import time

from .errors import SocklabError


def _seconds(timeout, call):
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise SocklabError(f"{call}: timeout must be a number of seconds > 0, such as timeout=2")
    return timeout


def connected_pair(timeout: float = 2.0) -> tuple[socket.socket, socket.socket]:
    """Open a TCP connection on loopback; return its two ends (client, server), each with a timeout."""
    _seconds(timeout, "connected_pair()")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(timeout)
        client = socket.create_connection(listener.getsockname(), timeout=timeout)
        try:
            while True:
                server, peer = listener.accept()
                if peer == client.getsockname():  # ours, not another program's that found the port
                    break
                server.close()
        except BaseException:
            client.close()  # no pair after all: leave nothing open
            raise
    server.settimeout(timeout)
    return client, server


def wait_until_queued(sock: socket.socket, n: int, timeout: float = 2.0) -> None:
    """Return once at least n bytes wait on the stream socket sock, without reading them.

    Raises TimeoutError after ``timeout`` seconds, and ConnectionError if the
    peer closed before sending anything.
    """
    if not isinstance(sock, socket.socket) or sock.type != socket.SOCK_STREAM:
        raise SocklabError("wait_until_queued(sock, n): sock is a connected stream socket, such as an end of "
                           "socklab.connected_pair()")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SocklabError(f"wait_until_queued(sock, n): n is how many bytes to wait for, an int >= 1, not {n!r}")
    _seconds(timeout, "wait_until_queued()")
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"only {len(seen)} of {n} bytes arrived within {timeout} s")
            if selector.select(min(remaining, 0.05)):  # something to read: recv will not wait
                seen = sock.recv(n, socket.MSG_PEEK)    # MSG_PEEK: look without taking
                if len(seen) >= n:
                    return
                if not seen:
                    raise ConnectionError(f"the peer closed before sending any of the {n} bytes")
                time.sleep(0.001)  # some have arrived: wait a moment for the rest
