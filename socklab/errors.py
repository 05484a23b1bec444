"""The exceptions socklab raises.

Every error says, in one line, what went wrong and what to do about it, so a
learner reading a traceback in a notebook sees the fix in the last line.
"""


class SocklabError(Exception):
    """Base class of socklab's own errors."""


class HandlerError(SocklabError):
    """A request handler raised while serving a client.

    The handler ran in a background thread or a forked child, where a traceback
    would be lost or printed into the wrong cell. socklab keeps it and raises
    this error from the cell that asks (``server.check()``, ``ask()``,
    ``load()``), with the handler's own traceback in the message.
    """

    def __init__(self, message, tracebacks=()):
        super().__init__(message)
        self.tracebacks = list(tracebacks)


class StopTimeout(SocklabError):
    """Raised when something still ran after ``stop()`` had done all it could."""
