"""Timelines: the join of client and server views, and the charts drawn from it."""

import io

import pytest
from matplotlib.figure import Figure

import socklab
from socklab.timeline import SERVED, WAITING

pytestmark = pytest.mark.usefixtures("no_leaks")


def bars(ax, colour):
    from matplotlib.colors import to_hex

    return [p for p in ax.patches if to_hex(p.get_facecolor()) == colour]


def test_serial_spans_form_a_staircase(runs):
    spans = sorted(runs["serial"].visits(), key=lambda s: s.served_from)
    for before, after in zip(spans, spans[1:]):
        assert after.served_from >= before.served_to - 0.002, "one at a time"
    assert spans[-1].waited >= 0.9 * 4 * 0.05, "the last client waited for four others"
    assert {s.worker for s in spans} == {"loop"}


def test_threading_spans_overlap(runs):
    spans = runs["threading"].visits()
    latest_start = max(s.served_from for s in spans)
    earliest_end = min(s.served_to for s in spans)
    assert latest_start < earliest_end, "all five were being served at the same moment"
    assert {s.worker for s in spans} == {"T1", "T2", "T3", "T4", "T5"}


def test_plot_timeline_draws_a_lane_per_client(runs):
    fig = socklab.plot_timeline(runs["serial"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(bars(ax, SERVED)) == 5
    assert len(bars(ax, WAITING)) == 5
    assert [t.get_text() for t in ax.get_yticklabels()] and all(
        t.get_text().startswith("client ") for t in ax.get_yticklabels())
    assert "makespan" in ax.get_title() and ax.get_xlabel().endswith("(s)")
    assert any(t.get_text().startswith(" makespan") for t in ax.texts)
    assert len(fig.legends) == 1, "one legend, below the chart"
    png = io.BytesIO()
    fig.savefig(png, format="png")
    assert png.getvalue().startswith(b"\x89PNG")


def test_lanes_are_in_the_order_served(runs):
    fig = socklab.plot_timeline(runs["serial"])
    ax = fig.axes[0]
    served = sorted(bars(ax, SERVED), key=lambda p: p.get_y(), reverse=True)  # top lane first
    starts = [p.get_x() for p in served]
    assert starts == sorted(starts), "the top lane was served first"


def test_compare_shares_one_time_axis(runs):
    fig = socklab.compare({"serial": runs["serial"], "threading": runs["threading"]}, title="t")
    top, bottom = fig.axes
    assert top.get_xlim() == bottom.get_xlim()
    assert top.get_title().startswith("serial: makespan")
    assert len(fig.legends) == 1
    with pytest.raises(ValueError):
        socklab.compare([])


def test_an_outside_server_is_drawn_as_round_trips():
    with socklab.serve() as server:
        run = socklab.load(server.address, clients=3)  # an address, not the server: no records
    assert run.requests == []
    assert all(s.served_from is None for s in run.visits())
    fig = socklab.plot_timeline(run)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("round trip" in label for label in labels)


def test_failed_clients_are_kept_when_not_strict():
    with socklab.serve() as server:
        address = server.address
    run = socklab.load(address, clients=2, strict=False, timeout=1)
    assert len(run.failed) == 2 and "ConnectionRefused" in run.failed[0].error
    assert "FAILED" in repr(run)
    with pytest.raises(socklab.SocklabError, match="strict=False"):
        socklab.load(address, clients=2, timeout=1)


def test_load_result_repr_is_a_table(runs):
    text = repr(runs["serial"])
    assert text.startswith("serial tcp: 5 clients at once, makespan")
    assert len(text.splitlines()) == 2 + 5


def test_lanes_per_worker(runs):
    serial = socklab.plot_timeline(runs["serial"], by="worker").axes[0]
    assert [t.get_text() for t in serial.get_yticklabels()] == ["loop"], "one serve loop did everything"
    assert len(bars(serial, SERVED)) == 5
    threaded = socklab.plot_timeline(runs["threading"], by="worker").axes[0]
    assert sorted(t.get_text() for t in threaded.get_yticklabels()) == ["T1", "T2", "T3", "T4", "T5"]
