"""The checks behind the labs' autograder tests.

Each ``check_*`` function tries a learner's code against live servers and
clients on loopback, and either returns quietly or raises ``AssertionError``
with one message that says what went wrong and what to change. Every check is
bounded in time: a handler that hangs is stopped by socklab's ``stop()``, and a
client function that hangs is interrupted by ``within()``; neither freezes the
kernel. The lab notebooks call these from their test cells, so otter-grader's
``grader.check("q1")`` shows the message.

``part`` picks one aspect to check; the public tests use some parts, the hidden
tests the others.

One module a lab, over one of shared helpers::

    echo.py         lab 01   check_upper_handler, check_talk
    framing.py      lab 02   check_framing, check_is_int
    udp.py          lab 03   check_datagram_handler, check_request
    chat.py         lab 04   check_chat_server
      chatroom.py            the learner's ChatServer running, its clients, its errors
      background.py          serving(server): a socketserver object served for a with block
    concurrency.py  lab 05   check_predictions, check_measure, check_results
    common.py                WAIT, FAST, call() (within, and a learner's exception named),
                             the checks of a missing answer, loopback clients
    ../timeouts.py           within() and TookTooLong, which the widgets use too
"""

from ..timeouts import TookTooLong, within
from .background import serving
from .chat import check_chat_server
from .common import FAST, WAIT
from .concurrency import check_measure, check_predictions, check_results
from .echo import check_talk, check_upper_handler
from .framing import check_framing, check_is_int
from .udp import check_datagram_handler, check_request

__all__ = [
    "FAST", "WAIT", "TookTooLong", "check_chat_server", "check_datagram_handler", "check_framing", "check_is_int",
    "check_measure", "check_predictions", "check_request", "check_results", "check_talk", "check_upper_handler",
    "serving", "within",
]
