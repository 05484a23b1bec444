"""Every figure socklab draws carries a text alternative: what a screen reader, a text
export or the website's alt attribute says instead of the picture."""

import json
import re
import socketserver
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import socklab
from socklab import inside, sched, spans
from socklab.display import describe, text_alternative
from socklab.spans import Span
from socklab.timeline import summary, visits

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


def test_a_described_figure_is_one_output_with_its_text_as_plain_text_and_alt(shell):
    figure = Figure()
    figure.add_subplot().plot([0, 1])
    describe(figure, "A line going\n  up.")
    data, metadata = shell.display_formatter.format(figure)
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert data["text/plain"] == "A line going up."  # one paragraph: alt text has no line breaks
    assert metadata == {"image/png": {"alt": "A line going up."}}


def test_a_figure_without_a_text_alternative_is_shown_as_before(shell):
    describe(Figure(), "registers the formatters")
    data, metadata = shell.display_formatter.format(Figure())
    assert data["text/plain"].startswith("<Figure size")
    assert "alt" not in metadata.get("image/png", {})


@pytest.mark.parametrize("text", ["", "   ", None, 3])
def test_an_empty_text_alternative_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match=r"non-empty sentence, e\.g\. describe\(fig, "):
        describe(Figure(), text)


def test_a_timeline_says_how_long_it_took_and_the_waits_in_the_order_served(runs):
    serial = runs["serial"]
    text = text_alternative(socklab.plot_timeline(serial, title="Five clients"))
    served = sorted(visits(serial), key=lambda v: v.served_from)
    waits = ", ".join(f"{v.waited:.2f}" for v in served)
    assert text.startswith(f"Five clients. serial tcp: 5 clients, done after {serial.makespan:.2f} s; "
                           "one served at a time; each took ")
    assert text.endswith(f"; waits before service, in the order served: {waits} s.")
    assert served[-1].waited > 0.1  # the last of five served one at a time waited for four 0.05 s visits
    threading = text_alternative(socklab.plot_timeline(runs["threading"]))
    assert re.search(r"; up to [2-5] in progress at once; each took 0\.0[5-9]( to \d\.\d\d)? s to serve", threading), \
        threading


def test_a_timeline_of_many_clients_gives_the_longest_wait_only(runs):
    with socklab.serve(mode="serial", work=0.01) as server:
        many = socklab.load(server, clients=12)
    longest = max(v.waited for v in visits(many))
    assert longest > 0.1 and summary(many).endswith(f"; the longest wait was {longest:.2f} s")


def test_a_timeline_by_worker_says_what_each_worker_served(runs):
    text = text_alternative(socklab.plot_timeline(runs["serial"], by="worker"))
    assert text.endswith(" Lanes are workers: loop served 5.")


def test_a_comparison_says_every_run(runs):
    figure = socklab.compare(runs, title="Five clients")
    text = text_alternative(figure)
    assert text == f"Five clients. {summary(runs['serial'], 'serial')}. {summary(runs['threading'], 'threading')}."


def test_a_timeline_drawn_into_a_learners_axes_leaves_their_figure_alone(runs):
    figure = Figure()
    socklab.plot_timeline(runs["serial"], ax=figure.add_subplot())
    assert text_alternative(figure) is None  # theirs to describe: it may hold more than this chart


JOBS = [sched.Job("A", [("cpu", 10), ("io", 20), ("cpu", 10)]),
        sched.Job("B", [("cpu", 5)], arrival=2, deadline=30)]


def test_a_schedule_says_the_end_the_cpus_time_answers_and_deadlines():
    serial = sched.simulate(JOBS, "serial", setup=3)
    shared = sched.simulate(JOBS, "round-robin", quantum=2, overhead=1, label="rr")
    text = text_alternative(sched.compare_schedules({"one at a time": serial, "rr": shared}, mark=["B"]))
    assert text == ("one at a time: all done at 51 ms, the CPU computing 49% of the time; setup (loading the next "
                    "job) 6 ms; CPU idle 20 ms; B arrived at 2 ms, done at 51 ms (49 ms later); B, deadline 30 ms, "
                    "done at 51 ms: missed. rr: all done at 51 ms, the CPU computing 49% of the time; context switch "
                    "6 ms; CPU idle 20 ms; B arrived at 2 ms, done at 16 ms (14 ms later); B, deadline 30 ms, done "
                    "at 16 ms: met.")
    alone = text_alternative(sched.plot_schedule(sched.simulate(JOBS, "serial")))
    assert alone == ("serial: all done at 45 ms, the CPU computing 56% of the time; CPU idle 20 ms; done A at 40, "
                     "B at 45 ms; B, deadline 30 ms, done at 45 ms: missed.")


def test_a_sweep_says_where_the_time_to_answer_is_lowest_and_what_switching_costs():
    figure, numbers = sched.sweep(JOBS, range(1, 31), [0, 1], users=["B"])
    text = text_alternative(figure)
    for overhead in (0, 1):
        rows = numbers[overhead]
        best = min(rows, key=lambda q: rows[q][0])
        assert (f"with switches of {overhead} ms, the mean time to answer is lowest, {rows[best][0]:.1f} ms, at a "
                f"quantum of {best} ms, and {rows[30][0]:.1f} ms at 30 ms") in text.lower()
    best = min(numbers[1], key=lambda q: numbers[1][q][0])
    assert f"; {numbers[1][best][1]:.0%} of the CPU time goes to switches at {best} ms, {numbers[1][1][1]:.0%} at 1 ms" \
        in text


def test_spans_say_how_long_each_panel_took_and_how_much_computed_at_once():
    apart = [Span("thread 1", 0.0, 1.0, "computing"), Span("thread 2", 1.0, 2.0, "computing"),
             Span("thread 2", 0.0, 1.0, "waiting")]  # waiting beside computing is not computing at once
    together = [Span("process 1", 5.0, 6.0, "computing"), Span("process 2", 5.5, 6.0, "computing")]
    text = text_alternative(spans.plot_spans({"threads": apart, "processes": together}, title="Two"))
    assert text == ("Two. One lane per worker. threads: 2 workers, done after 2.00 s, computing 2.00 s in all, two or "
                    "more computing at the same instant 0% of the time. processes: 2 workers, done after 1.00 s, "
                    "computing 1.50 s in all, two or more computing at the same instant 50% of the time.")


def test_the_class_diagram_names_every_class_and_its_bases():
    text = text_alternative(inside.plot_classes())
    for cls in inside.server_classes(socketserver):
        assert cls.__name__ in text
    assert "ThreadingMixIn combines with TCPServer, UDPServer" in text and "into ThreadingTCPServer, " in text
    # the classes depend on the Python: a fact of the machine, which the notebook check accepts
    assert re.fullmatch(r"[^()]*\(on this machine: [^()\n]*\)\.", text), text


def figure_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    for number, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                yield number, output


SAVED = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "labs").glob("lab*/lab*.ipynb"))


@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.name)
def test_every_saved_figure_has_its_text_alternative(path):
    """The website reads the alt from the saved outputs: a figure a notebook draws itself
    needs socklab.display.describe too."""
    for number, output in figure_outputs(path):
        text = "".join(output["data"].get("text/plain", ""))
        alt = output.get("metadata", {}).get("image/png", {}).get("alt")
        assert alt and alt == text and not text.startswith("<Figure"), \
            f"{path.name}, cell {number}: a figure without a text alternative ({text[:60]!r})"
