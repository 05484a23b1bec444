"""Self-check quizzes: instant feedback in JupyterLab, a readable page everywhere else.

A quiz is an ipywidgets box of radio buttons. Choosing an option shows at once
whether it is right and why. Where no widget can run (a forge's notebook
viewer, a PDF, nbval), the same quiz appears as plain HTML, with the answers
folded away under "Show answers".
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; ``answer`` is the index of the right option."""

    prompt: str
    options: tuple
    answer: int
    why: str = ""
    hint: str = ""  #: shown after a wrong answer: where in the notebook to look

    def __post_init__(self):
        if len(self.options) < 2:
            raise ValueError(f"a question needs at least two options: {self.prompt!r}")
        if not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer must index one of the {len(self.options)} options: {self.prompt!r}")


def _feedback(question: Question, choice: int) -> str:
    if choice == question.answer:
        return f"<b style='color:#1a7f37'>✔ Right.</b> {html.escape(question.why)}"
    hint = html.escape(question.hint) if question.hint else "Try another option."
    return f"<b style='color:#b3261e'>✘ Not quite.</b> {hint}"


class Quiz(widgets.VBox):
    """A list of questions with instant feedback. Build it with ``quiz()``."""

    def __init__(self, questions, title="Self-check"):
        self.questions = tuple(questions)
        self.title = title
        self._radios, self._notes = [], []
        children = [widgets.HTML(f"<h3>{html.escape(title)}</h3>")]
        for number, question in enumerate(self.questions, 1):
            radio = widgets.RadioButtons(
                options=[(text, i) for i, text in enumerate(question.options)],
                value=None,
                layout=widgets.Layout(width="auto"),
            )
            note = widgets.HTML()
            radio.observe(self._answered, names="value")
            self._radios.append(radio)
            self._notes.append(note)
            children += [widgets.HTML(f"<b>{number}. {html.escape(question.prompt)}</b>"), radio, note]
        self._score = widgets.HTML()
        children.append(self._score)
        super().__init__(children)

    def _answered(self, change):
        index = self._radios.index(change["owner"])
        if change["new"] is not None:
            self._notes[index].value = _feedback(self.questions[index], change["new"])
        right = sum(r.value == q.answer for r, q in zip(self._radios, self.questions))
        done = sum(r.value is not None for r in self._radios)
        self._score.value = f"<i>{right} of {len(self.questions)} right ({done} answered)</i>"

    def choose(self, question: int, option: int) -> str:
        """Answer ``question`` (0-based) as a learner would; return the feedback shown."""
        self._radios[question].value = option
        return self._notes[question].value

    @property
    def score(self) -> int:
        return sum(r.value == q.answer for r, q in zip(self._radios, self.questions))

    def _static_html(self) -> str:
        parts = [f"<h3>{html.escape(self.title)}</h3>", "<ol>"]
        for question in self.questions:
            options = "".join(f"<li>{html.escape(o)}</li>" for o in question.options)
            parts.append(f"<li><b>{html.escape(question.prompt)}</b><ul>{options}</ul></li>")
        parts.append("</ol><details><summary>Show answers</summary><ol>")
        for question in self.questions:
            parts.append(f"<li>{html.escape(question.options[question.answer])}: {html.escape(question.why)}</li>")
        parts.append("</ol></details><p><i>Run this notebook in JupyterLab to answer with instant feedback.</i></p>")
        return "".join(parts)

    def _static_text(self) -> str:
        lines = [self.title]
        for number, question in enumerate(self.questions, 1):
            lines.append(f"{number}. {question.prompt}")
            lines += [f"   ( ) {o}" for o in question.options]
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = self._static_text()
        data["text/html"] = self._static_html()
        return data


def quiz(*questions, title: str = "Self-check") -> Quiz:
    """Build a quiz from ``(prompt, [options], answer_index, why, hint)`` tuples.

    ``why`` is shown after a right answer; ``hint`` (optional) after a wrong one,
    and should say where in the notebook to look, not give the answer away.
    """
    if not questions:
        raise ValueError("quiz needs at least one question: (prompt, [options], answer_index, why)")
    built = []
    for q in questions:
        if isinstance(q, Question):
            built.append(q)
        elif isinstance(q, (tuple, list)) and len(q) in (3, 4, 5):
            built.append(Question(q[0], tuple(q[1]), *q[2:]))
        else:
            raise TypeError(f"each question is (prompt, [options], answer_index, why[, hint]), got {q!r}")
    return Quiz(built, title=title)
