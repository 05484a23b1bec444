"""Figures in notebooks: socklab draws on plain matplotlib Figures, and IPython shows them.

Every figure socklab draws carries a text alternative: a sentence or two that
says what the picture shows (who waited, how long a run took), for a screen
reader, a text-only export, or the course's website. ``describe(figure, text)``
attaches it; IPython then shows the figure as one output whose ``image/png`` is
the picture, whose ``text/plain`` is the text, and whose metadata gives the
same text as the image's ``alt``::

    {"image/png": "<the PNG>", "text/plain": "serial: 5 clients, done after 2.51 s; ..."}
    metadata: {"image/png": {"alt": "serial: 5 clients, done after 2.51 s; ..."}}

Only the plotting functions import this, so ``import socklab`` never loads
matplotlib: a forked server child stays a small copy of the kernel.
"""

from __future__ import annotations

import sys

__all__ = ["describe", "text_alternative", "show_in_notebooks"]


def describe(figure, text: str):
    """Attach ``text`` to ``figure`` as its text alternative, and return the figure.

    A figure you draw yourself gets one the same way::

        fig, ax = plt.subplots()
        ...
        describe(fig, "Two lines: threads finish in 0.5 s, processes in 0.6 s.")
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a figure's text alternative is a non-empty sentence, e.g. "
                         "describe(fig, 'serial: done after 2.5 s; client 5 waited longest')")
    figure.text_alternative = " ".join(text.split())  # one paragraph: alt text has no line breaks
    show_in_notebooks()
    return figure


def text_alternative(figure):
    """The text attached by ``describe``, or None."""
    return getattr(figure, "text_alternative", None)


def _bundle(figure):
    text = text_alternative(figure)
    if text is None:
        return None  # IPython's usual formatters: a PNG, and "<Figure size ...>" as text
    return {"text/plain": text}, {"image/png": {"alt": text}}


def show_in_notebooks():
    """Let IPython display the figures socklab returns: a PNG, with the text alternative.

    socklab draws on a plain ``matplotlib.figure.Figure`` (not pyplot's global
    state), so returning a figure from a cell shows it exactly once. IPython
    only knows how to show such a figure once pyplot's inline backend has been
    loaded; register the same PNG formatter here, unless one is already set.
    The text and the ``alt`` come from a mime-bundle formatter, which IPython
    asks first; the PNG still comes from the PNG formatter (the inline
    backend's, when pyplot is in use, so its settings hold).
    """
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter
    png = formatters.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        from IPython.core.pylabtools import print_figure

        png.for_type(Figure, lambda fig: print_figure(fig, "png", dpi=100))
    formatters.mimebundle_formatter.for_type(Figure, _bundle)
