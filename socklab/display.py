"""Figures in notebooks: socklab draws on plain matplotlib Figures, and IPython shows them.

Only the plotting functions import this, so ``import socklab`` never loads
matplotlib: a forked server child stays a small copy of the kernel.
"""

from __future__ import annotations

import sys


def show_in_notebooks():
    """Let IPython display the figures socklab returns as PNG images.

    socklab draws on a plain ``matplotlib.figure.Figure`` (not pyplot's global
    state), so returning a figure from a cell shows it exactly once. IPython
    only knows how to show such a figure once pyplot's inline backend has been
    loaded; register the same PNG formatter here, unless one is already set.
    """
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        from IPython.core.pylabtools import print_figure

        formatter.for_type(Figure, lambda fig: print_figure(fig, "png", dpi=100))
