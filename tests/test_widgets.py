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
    from socklab.timeline import summary  # the image's alt is the timeline's text alternative

    assert f"alt='2 clients, 0.05 s of sleeping each. {summary(box.results['serial'], 'serial')}" in html
    socklab.stop_all()


def _split(buffer=64, family="pair", show=True):
    """A real experiment: 100 bytes sent, one recv of ``buffer`` bytes."""
    import socket

    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"x" * 100)
        got = len(b.recv(buffer))
    if show:
        print(f"one recv({buffer}) took {got} of 100 bytes")
    return None


def test_experiment_runs_at_once_and_again_when_a_control_moves():
    box = socklab.experiment(_split, buffer=(16, 256, 16), family=["pair"], show=True)
    assert box.text == "one recv(64) took 64 of 100 bytes\n", "the function's default is the start value"
    box.controls["buffer"].value = 32
    assert box.text == "one recv(32) took 32 of 100 bytes\n"
    box.controls["show"].value = False
    assert box.text == "" and box.settings == {"buffer": 32, "family": "pair", "show": False}
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Experiment: _split (ran with buffer=32, family='pair', show=False)")


def test_experiment_static_result_is_the_last_output():
    box = socklab.experiment(_split, buffer=(16, 256, 16), title="Where a message splits")
    bundle = box._repr_mimebundle_()
    assert bundle["text/plain"] == ("Where a message splits (ran with buffer=64)\n"
                                    "one recv(64) took 64 of 100 bytes")
    assert "<pre>one recv(64) took 64 of 100 bytes\n</pre>" in bundle["text/html"]


def test_experiment_shows_a_figure_as_an_image_and_closes_it():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def draw(n=3):
        figure, axes = plt.subplots()
        axes.plot(range(n))
        axes.set_title(f"{n} points")
        return figure

    before = len(plt.get_fignums())
    box = socklab.experiment(draw, n=(2, 9))
    assert "<img src='data:image/png;base64," in box._repr_mimebundle_()["text/html"]
    assert "[figure: 3 points]" in box.text
    assert len(plt.get_fignums()) == before, "the figure is closed once drawn"


def test_experiment_that_hangs_is_stopped_and_reported_in_the_widget():
    import time

    def stuck(seconds=5):
        time.sleep(seconds)

    box = socklab.experiment(stuck, seconds=(1, 9), start=False, timeout=0.3)
    started = time.monotonic()
    box.controls["seconds"].value = 6  # a callback: reported in the widget, not raised
    assert time.monotonic() - started < 2
    assert "TimeoutError: stuck() did not return within 0.3 s" in box.status.value
    with pytest.raises(TimeoutError, match="bound every wait with a timeout"):
        box.run()  # from a cell: raised


def test_experiment_error_in_a_callback_is_shown_in_one_line():
    def broken(n=1):
        raise ValueError(f"n={n} is wrong\nsecond line")

    box = socklab.experiment(broken, n=(1, 3), start=False)
    box.controls["n"].value = 2
    assert box.status.value.endswith("ValueError: n=2 is wrong</span>")


def _tree(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _tree(child)


def test_every_control_has_a_name_a_screen_reader_can_say():
    """Each control socklab builds carries its name in the widget itself (a description,
    or option labels), and none is an ipywidgets slider or image, which the browser
    shows without a name or alt text (the axe audit in test_browser.py sees the DOM)."""
    import ipywidgets as widgets

    from socklab.widgets import Slider

    boxes = [socklab.quiz(("Port 0?", ["any free port", "no port"], 0, "the OS picks")),
             socklab.explorer(run=False), socklab.lifecycle(run=False),
             socklab.experiment(_split, buffer=(16, 256, 16), family=["pair", "tcp"], show=True, start=False)]
    controls = 0
    for box in boxes:
        for widget in _tree(box):
            assert not isinstance(widget, (widgets.IntSlider, widgets.FloatSlider, widgets.Image)), widget
            if isinstance(widget, (Slider, widgets.Checkbox, widgets.Dropdown, widgets.Button)):
                assert widget.description.strip(), f"{type(widget).__name__} without a name in {type(box).__name__}"
                controls += 1
            elif isinstance(widget, (widgets.ToggleButtons, widgets.RadioButtons)):
                assert all(label.strip() for label in widget._options_labels), widget
                controls += 1
    assert controls >= 15


def test_the_slider_keeps_ints_ints_and_stays_within_its_range():
    import traitlets

    from socklab.widgets import Slider

    clients = Slider(8, 1, 16, 1, "clients")
    clients.value = 4.0  # as the browser may send it
    assert clients.value == 4 and isinstance(clients.value, int)
    clients.value = 99
    assert clients.value == 16, "clamped, as ipywidgets' sliders clamp"
    clients.set_state({"value": 5})  # what the browser sends when a learner moves it
    assert repr(clients.value) == "5"
    overhead = Slider(1.0, 0.0, 5.0, 0.5, "overhead")
    overhead.set_state({"value": 2})  # JavaScript writes 2.0 as 2
    assert repr(overhead.value) == "2.0"
    with pytest.raises(traitlets.TraitError, match="clients takes a number, got 'many'"):
        clients.value = "many"
    assert isinstance(Slider(8, 1, 16, 1, "clients").value, int)
    assert repr(Slider(1.0, 0.0, 5.0, 0.5, "overhead").value) == "1.0", "a float default stays a float"
    assert Slider(2.5, 1, 10, 1, "between steps").value == 2.5, "a default between steps is kept"
    work = Slider(0.2, 0.05, 0.5, 0.05, "work (s)")
    assert work.decimals == 2 and isinstance(work.value, float)
    work.value = 0.15000000000000002  # what a browser's range input can send
    assert work.value == 0.15
    with pytest.raises(ValueError, match=r"min < max and step > 0, got \(5, 2, 1\)"):
        Slider(1, 5, 2, 1, "backwards")
