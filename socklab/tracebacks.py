"""A handler's error, told the way a learner wants to read it.

A handler runs in another thread or process, so its traceback is kept as text
and shown later, from the cell that asks. These functions write that text:
only the learner's own frames, notebook cells named as IPython names them, and
a one-line summary for messages.
"""

from __future__ import annotations

import os
import socketserver
import traceback

_PLUMBING = (os.path.abspath(socketserver.__file__), os.path.dirname(os.path.abspath(__file__)))


def summary(exc: BaseException) -> str:
    """``ValueError: bad input``: the exception's type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def last_line(text: str, default: str = "an error") -> str:
    """The last line of a traceback's text: the exception and its message."""
    lines = text.strip().splitlines()
    return lines[-1] if lines else default


def _cell_name(filename: str) -> str:
    """'Cell In[9]' for code typed in a notebook cell, as IPython shows it."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        name = shell.compile.format_code_name(filename) if shell is not None else None
        if name:
            return " ".join(name)
    except Exception:
        pass
    return f'File "{filename}"'


def handler_traceback(exc: BaseException) -> str:
    """The traceback of a handler's error, as a learner wants to read it.

    socketserver's and socklab's own frames are left out (they are the same for
    every error and hide the handler's line), and notebook cells are named
    ``Cell In[9]`` as IPython names them.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not os.path.abspath(f.filename).startswith(_PLUMBING)]
    lines = ["Traceback (most recent call last):"]
    for frame in mine or frames:
        lines.append(f"  {_cell_name(frame.filename)}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc)]
    return "\n".join(lines) + "\n"
