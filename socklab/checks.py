"""A claim of the course, checked on the machine at hand, with the number it saw.

    socklab.check("fewer than 10 of the 100 datagrams arrived", len(arrived) < 10,
                  f"{len(arrived)} of 100 arrived",
                  varies="how much memory a datagram costs the buffer differs between systems")

prints ``checked: fewer than 10 of the 100 datagrams arrived (measured: 4 of 100 arrived)``.

Two kinds of claim:

- ``varies=None``: the claim always holds (a rule of the socket API, a
  count that cannot differ). If it fails, something is wrong: it raises
  ``AssertionError("failed: ...")``.
- ``varies="why"``: the claim depends on timing or on the machine (a busy
  laptop, another system). If it fails, the cell prints what it saw and why
  it can vary, and the notebook goes on: Run All does not stop on a learner's
  slow machine. The course's tests set ``SOCKLAB_STRICT=1`` in the kernel's
  environment, and there it raises, so a claim that stops holding fails CI.

The measured value is printed inside ``(measured: ...)``; the tests replace
that parenthesis before they compare outputs, as they do ``(on this machine: ...)``.
"""

from __future__ import annotations

import os

from .errors import SocklabError

STRICT = "SOCKLAB_STRICT"


def check(claim: str, holds: bool, measured: str, *, varies: str | None = None) -> None:
    """Print the claim and the measured value.

    Returns None, so a cell that ends with a check shows no stray ``True``;
    test ``holds`` yourself where a cell must branch on it.
    """
    if not isinstance(claim, str) or not claim.strip() or "\n" in claim:
        raise SocklabError("check(claim, holds, measured): claim is the sentence being checked, on one line, e.g. "
                           "'every datagram arrived'")
    if not isinstance(measured, str) or not measured.strip():
        raise SocklabError("check(claim, holds, measured): measured is what was seen, as text, e.g. "
                           "f'{n} of 100 arrived'")
    if "(" in measured or ")" in measured or "\n" in measured:
        raise SocklabError("check(): write measured without parentheses or newlines, e.g. '4 of 100, 0.21 s'")
    if varies is not None and (not isinstance(varies, str) or not varies.strip() or "\n" in varies):
        raise SocklabError("check(..., varies=...): say on one line why the result can differ on another machine, "
                           "or leave it out")
    if holds is None or isinstance(holds, (str, bytes)):  # "False" would count as true
        raise SocklabError(f"check(): holds is a comparison that is True or False, not {type(holds).__name__}")
    if holds:
        print(f"checked: {claim} (measured: {measured})")
        return
    if varies is None:
        raise AssertionError(f"failed: {claim} (measured: {measured}). This always holds: something is wrong")
    report = f"did not hold on this run: {claim} (measured: {measured})"
    if os.environ.get(STRICT) == "1":
        raise AssertionError(report)
    print(f"{report}. This can vary: {varies}.")
