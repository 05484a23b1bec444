"""Two small tools for watching TCP bytes by hand, used by notebooks 02 to 04.

    client, server = socklab.connected_pair()        # both ends of one loopback connection
    client.sendall(b"hello"); client.sendall(b"world")
    socklab.wait_until_queued(server, 10)            # both sends have arrived; nothing read yet
    server.recv(1024)                                # -> b'helloworld'

``wait_until_queued`` peeks (``MSG_PEEK``) rather than sleeping for a guess,
so a demonstration does not depend on how fast the machine is.
"""

from __future__ import annotations

import socket
import time


def connected_pair(timeout: float = 2.0) -> tuple[socket.socket, socket.socket]:
    """Open a TCP connection on loopback; return its two ends (client, server), each with a timeout."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(timeout)
        client = socket.create_connection(listener.getsockname(), timeout=timeout)
        try:
            server, _ = listener.accept()
        except BaseException:
            client.close()  # no pair after all: leave nothing open
            raise
    server.settimeout(timeout)
    return client, server


def wait_until_queued(sock: socket.socket, n: int, timeout: float = 2.0) -> None:
    """Return once n bytes are waiting on sock, without reading them; TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    saved = sock.gettimeout()
    sock.setblocking(False)  # look, and return at once: the socket's own timeout must not hold us
    try:
        while True:
            try:
                if len(sock.recv(n, socket.MSG_PEEK)) >= n:  # MSG_PEEK: look without taking
                    return
            except BlockingIOError:
                pass  # nothing has arrived yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {n} bytes arrived within {timeout} s")
            time.sleep(0.001)
    finally:
        sock.settimeout(saved)
