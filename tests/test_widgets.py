"""Quizzes give instant feedback, and a readable page where widgets cannot run."""

import pytest

import socklab


def make():
    return socklab.quiz(
        ("Port 0 means?", ["every port", "any free port"], 1, "The OS picks one."),
        ("b'' from recv means?", ["closed", "no data yet"], 0, "End of stream."),
    )


def test_feedback_is_instant_and_right():
    quiz = make()
    assert "Not quite" in quiz.choose(0, 0)
    assert quiz.score == 0
    assert "Right" in quiz.choose(0, 1) and "The OS picks one." in quiz.choose(0, 1)
    quiz.choose(1, 0)
    assert quiz.score == 2


def test_static_result_is_readable_without_widgets():
    bundle = make()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Port 0 means?" in bundle["text/plain"] and "( ) any free port" in bundle["text/plain"]
    html = bundle["text/html"]
    assert "<details><summary>Show answers</summary>" in html
    assert html.index("Show answers") < html.index("The OS picks one."), "answers are folded away"


@pytest.mark.parametrize("bad", [(), (("q", ["only one"], 0),), (("q", ["a", "b"], 2),), ("not a tuple",)])
def test_bad_questions_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        socklab.quiz(*bad)


def test_explorer_static_result_shows_its_last_timeline():
    import socklab

    box = socklab.explorer(clients=2, work=0.05, modes=("serial", "threading"))
    html = box._repr_mimebundle_()["text/html"]
    assert "<img src='data:image/png;base64," in html and "{image}" not in html
    assert "serial" in box._repr_mimebundle_()["text/plain"]
    socklab.stop_all()
