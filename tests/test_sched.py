"""Unit tests for socklab.sched, each schedule worked out by hand first.

Tables read: time range -> what the CPU does | what the I/O device does.
"""

import pytest

from socklab import sched
from socklab.sched import Job, simulate


def bars(result, lane=None):
    """The segments as plain tuples (lane, start, end, job, kind), easy to compare."""
    return [(s.lane, s.start, s.end, s.job, s.kind) for s in result.segments if lane in (None, s.lane)]


# The source's two programs: A computes 10, reads 20, computes 10; B computes 20, reads 10, computes 10.
A = Job("A", [("cpu", 10), ("io", 20), ("cpu", 10)])
B = Job("B", [("cpu", 20), ("io", 10), ("cpu", 10)])


def test_serial_runs_one_job_after_the_other_and_the_cpu_idles_during_io():
    #  0-10  CPU A            | I/O -
    # 10-30  CPU idle         | I/O A
    # 30-40  CPU A (A ends)   | I/O -
    # 40-60  CPU B            | I/O -
    # 60-70  CPU idle         | I/O B
    # 70-80  CPU B (B ends)   | I/O -      makespan 80 = T1 + T2 = 40 + 40
    r = simulate([A, B], "serial")
    assert bars(r) == [("CPU", 0, 10, "A", "cpu"), ("I/O", 10, 30, "A", "io"), ("CPU", 30, 40, "A", "cpu"),
                       ("CPU", 40, 60, "B", "cpu"), ("I/O", 60, 70, "B", "io"), ("CPU", 70, 80, "B", "cpu")]
    assert r.makespan == 80
    assert r.cpu_utilisation == 50 / 80 and r.io_utilisation == 30 / 80
    assert r.throughput == 2 / 80
    assert (r.stats["B"].turnaround, r.stats["B"].response, r.stats["B"].waiting) == (80, 40, 40)


def test_serial_setup_comes_before_every_job():
    # setup 5:  0-5 setup A | 5-15 A | 15-35 idle (A's I/O) | 35-45 A | 45-50 setup B | 50-70 B | 70-80 idle | 80-90 B
    r = simulate([A, B], "serial", setup=5)
    assert bars(r, "CPU") == [("CPU", 0, 5, "A", "setup"), ("CPU", 5, 15, "A", "cpu"), ("CPU", 35, 45, "A", "cpu"),
                              ("CPU", 45, 50, "B", "setup"), ("CPU", 50, 70, "B", "cpu"), ("CPU", 80, 90, "B", "cpu")]
    assert r.makespan == 90 and r.busy("setup") == 10
    assert r.cpu_utilisation == 50 / 90          # setup is not work
    assert r.stats["A"].response == 5            # A waited for the operator


def test_serial_waits_for_a_late_job_and_keeps_list_order_on_ties():
    late = Job("L", [("cpu", 5)], arrival=100)
    first, second = Job("X", [("cpu", 3)]), Job("Y", [("cpu", 4)])
    r = simulate([late, first, second], "serial")
    # 0-3 X | 3-7 Y | 7-100 idle | 100-105 L
    assert bars(r) == [("CPU", 0, 3, "X", "cpu"), ("CPU", 3, 7, "Y", "cpu"), ("CPU", 100, 105, "L", "cpu")]
    assert r.stats["L"].turnaround == 5 and r.makespan == 105


def test_multiprogramming_overlaps_cpu_and_io():
    #  0-10  CPU A                   | I/O -
    # 10-30  CPU B (A does its I/O)  | I/O A
    # 30-40  CPU A (A ends)          | I/O B
    # 40-50  CPU B (B ends)          | I/O -      makespan 50 < T1 + T2 = 80
    # A wrong version that leaves the CPU idle during A's I/O gives B's CPU at 30-50 and makespan 70 or 80.
    r = simulate([A, B], "multiprogramming")
    assert bars(r) == [("CPU", 0, 10, "A", "cpu"), ("CPU", 10, 30, "B", "cpu"), ("I/O", 10, 30, "A", "io"),
                       ("CPU", 30, 40, "A", "cpu"), ("I/O", 30, 40, "B", "io"), ("CPU", 40, 50, "B", "cpu")]
    assert r.makespan == 50 and r.cpu_utilisation == 1 and r.io_utilisation == 30 / 50
    assert r.stats["A"].finish == 40 and r.stats["B"].finish == 50


def test_multiprogramming_does_not_preempt_a_computing_job():
    # H computes 50 without I/O; Q arrives at 5 and must wait until 50: batch gives no interaction.
    r = simulate([Job("H", [("cpu", 50)]), Job("Q", [("cpu", 2)], arrival=5)], "multiprogramming")
    assert bars(r) == [("CPU", 0, 50, "H", "cpu"), ("CPU", 50, 52, "Q", "cpu")]
    assert r.stats["Q"].response == 45


def test_the_io_device_serves_one_request_at_a_time_first_come_first_served():
    # Both start with I/O at 0 (A first in the list):
    #  0-10  CPU idle | I/O A
    # 10-15  CPU A    | I/O B      (B waited 10 for the device)
    # 15-20  CPU B    | I/O -
    r = simulate([Job("A", [("io", 10), ("cpu", 5)]), Job("B", [("io", 5), ("cpu", 5)])], "multiprogramming")
    assert bars(r) == [("I/O", 0, 10, "A", "io"), ("CPU", 10, 15, "A", "cpu"), ("I/O", 10, 15, "B", "io"),
                       ("CPU", 15, 20, "B", "cpu")]
    assert r.stats["B"].waiting == 10 and r.stats["B"].response == 15


def test_round_robin_requeues_an_unfinished_job():
    # quantum 4, all arrive at 0: A needs 6, B 3, C 5.
    #  0-4  A (2 left) -> queue B C A
    #  4-7  B done     -> queue C A
    #  7-11 C (1 left) -> queue A C
    # 11-13 A done
    # 13-14 C done
    # A version that forgets to requeue never finishes A and C (or finishes them at the wrong times).
    r = simulate([Job("A", [("cpu", 6)]), Job("B", [("cpu", 3)]), Job("C", [("cpu", 5)])], "round-robin", quantum=4)
    assert bars(r) == [("CPU", 0, 4, "A", "cpu"), ("CPU", 4, 7, "B", "cpu"), ("CPU", 7, 11, "C", "cpu"),
                       ("CPU", 11, 13, "A", "cpu"), ("CPU", 13, 14, "C", "cpu")]
    assert {n: (s.finish, s.response) for n, s in r.stats.items()} == {"A": (13, 0), "B": (7, 4), "C": (14, 7)}


def test_round_robin_puts_a_new_arrival_before_the_job_whose_slice_just_ended():
    # quantum 4: A needs 8 from 0; B needs 2 and arrives at 4, the instant A's slice ends.
    # 0-4 A | 4-6 B (arrivals first) | 6-10 A
    r = simulate([Job("A", [("cpu", 8)]), Job("B", [("cpu", 2)], arrival=4)], "round-robin", quantum=4)
    assert bars(r) == [("CPU", 0, 4, "A", "cpu"), ("CPU", 4, 6, "B", "cpu"), ("CPU", 6, 10, "A", "cpu")]


def test_round_robin_with_switch_overhead_on_the_source_programs():
    # quantum 5, switch 1 (S = switch). A starts at once: no job had the CPU before it, so nothing to switch from.
    #  0-5 A   5-6 S(B)  6-11 B  11-12 S(A)  12-17 A (A's CPU burst done; A's I/O 17-37)
    # 17-18 S(B) 18-23 B 23-28 B 28-33 B (B continues alone: no switch; B's burst done, B queues for the device)
    # 33-37 CPU idle (both wait on I/O)   | I/O A 17-37, then B 37-47
    # 37-38 S(A): B had the CPU last     38-43 A 43-48 A (A done at 48)
    # 48-49 S(B) 49-54 B 54-59 B (B done at 59)
    r = simulate([A, B], "round-robin", quantum=5, overhead=1)
    assert bars(r, "I/O") == [("I/O", 17, 37, "A", "io"), ("I/O", 37, 47, "B", "io")]
    switches = [(s.start, s.job) for s in r.segments if s.kind == "switch"]
    assert switches == [(5, "B"), (11, "A"), (17, "B"), (37, "A"), (48, "B")]
    assert (r.stats["A"].finish, r.stats["B"].finish, r.makespan) == (48, 59, 59)
    assert (r.stats["A"].response, r.stats["B"].response) == (0, 6)
    assert r.busy("switch") == 5 and r.cpu_utilisation == 50 / 59


def test_a_job_alone_never_pays_a_switch():
    # quantum 4, switch 1, one job of 10: 0-4 | 4-8 | 8-10, no switch (not even at 0: no job had the CPU before)
    r = simulate([Job("A", [("cpu", 10)])], "round-robin", quantum=4, overhead=1)
    assert bars(r) == [("CPU", 0, 4, "A", "cpu"), ("CPU", 4, 8, "A", "cpu"), ("CPU", 8, 10, "A", "cpu")]
    # back from its own I/O, with nobody else having used the CPU: 0-3 A | 3-8 I/O (CPU idle) | 8-10 A
    r = simulate([Job("A", [("cpu", 3), ("io", 5), ("cpu", 2)])], "multiprogramming", overhead=1)
    assert bars(r) == [("CPU", 0, 3, "A", "cpu"), ("I/O", 3, 8, "A", "io"), ("CPU", 8, 10, "A", "cpu")]
    assert r.busy("switch") == 0 and r.makespan == 10


REALTIME = [Job("A", [("cpu", 20)]), Job("B", [("cpu", 20)]), Job("R", [("cpu", 5)], arrival=5, deadline=12)]


def test_round_robin_misses_a_deadline_that_edf_meets():
    # Round robin, quantum 5: 0-5 A | 5-10 B (R arrived at 5, behind B) | 10-15 R: done at 15 > 12, MISSED
    rr = simulate(REALTIME, "round-robin", quantum=5)
    assert bars(rr)[:3] == [("CPU", 0, 5, "A", "cpu"), ("CPU", 5, 10, "B", "cpu"), ("CPU", 10, 15, "R", "cpu")]
    assert rr.stats["R"].met_deadline is False
    # EDF: 0-5 A | 5-10 R preempts A (deadline 12 beats none): done at 10, met
    #      10-30 B (A went to the back of the queue when preempted; equal deadlines keep queue order) | 30-45 A
    edf = simulate(REALTIME, "edf")
    assert bars(edf) == [("CPU", 0, 5, "A", "cpu"), ("CPU", 5, 10, "R", "cpu"), ("CPU", 10, 30, "B", "cpu"),
                         ("CPU", 30, 45, "A", "cpu")]
    assert edf.stats["R"].met_deadline is True and edf.stats["A"].met_deadline is None


def test_edf_pays_a_switch_to_preempt():
    # switch 2: 0-5 A (first job: no switch) | 5-7 S(R) 7-12 R (met, just) | 12-14 S(B) 14-34 B | 34-36 S(A) 36-51 A
    r = simulate(REALTIME, "edf", overhead=2)
    assert [(s.start, s.end, s.job, s.kind) for s in r.segments] == [
        (0, 5, "A", "cpu"), (5, 7, "R", "switch"), (7, 12, "R", "cpu"),
        (12, 14, "B", "switch"), (14, 34, "B", "cpu"), (34, 36, "A", "switch"), (36, 51, "A", "cpu")]
    assert r.stats["R"].met_deadline is True and r.stats["A"].finish == 51


def test_edf_finishes_a_switch_already_started_then_preempts():
    # As above, plus U (needs 3, deadline 40) arriving at 13, during the switch to B (12-14).
    # 12-14 S(B): the switch is finished; at 14 B would start, but U's deadline beats B's none: B leaves at once
    #             (it computed nothing, so it draws no bar and has not "run" yet) and goes behind A.
    # 14-16 S(U) 16-19 U | 19-21 S(A) 21-36 A (its 15 left) | 36-38 S(B) 38-58 B
    jobs = REALTIME + [Job("U", [("cpu", 3)], arrival=13, deadline=40)]
    r = simulate(jobs, "edf", overhead=2)
    assert [(s.start, s.end, s.job, s.kind) for s in r.segments if s.start >= 12] == [
        (12, 14, "B", "switch"), (14, 16, "U", "switch"), (16, 19, "U", "cpu"), (19, 21, "A", "switch"),
        (21, 36, "A", "cpu"), (36, 38, "B", "switch"), (38, 58, "B", "cpu")]
    assert r.stats["B"].first_run == 38 and r.stats["B"].response == 38   # its first computation, not 14
    assert r.stats["U"].met_deadline is True


def test_fractions_keep_time_exact():
    # three slices of 0.1 make exactly 0.3: no leftover sliver of 0.00000000000000004
    r = simulate([Job("A", [("cpu", 0.3)]), Job("B", [("cpu", 0.1)])], "round-robin", quantum=0.1)
    assert [(s.start, s.end, s.job) for s in r.segments] == [
        (0, 0.1, "A"), (0.1, 0.2, "B"), (0.2, 0.3, "A"), (0.3, 0.4, "A")]


def test_same_input_same_result():
    jobs = [A, B, Job("C", [("io", 3), ("cpu", 7)], arrival=2)]
    for policy, options in [("serial", {"setup": 2}), ("multiprogramming", {}), ("round-robin", {"quantum": 3}),
                            ("edf", {"overhead": 1})]:
        assert simulate(jobs, policy, **options) == simulate(jobs, policy, **options)


@pytest.mark.parametrize("make, error, fix", [
    (lambda: Job("A", [("disk", 5)]), ValueError, "('io', 5)"),
    (lambda: Job("A", [("cpu", 0)]), ValueError, "> 0"),
    (lambda: Job("A", [("cpu", "10")]), TypeError, "number of time units"),
    (lambda: Job("A", [("cpu", 3), ("cpu", 4)]), ValueError, "into ('cpu', 7)"),
    (lambda: Job("A", [("io", 3)]), ValueError, "at least one ('cpu', n)"),
    (lambda: Job("A", [("cpu", 5)], arrival=10, deadline=5), ValueError, "not a duration"),
    (lambda: Job("", [("cpu", 5)]), TypeError, "non-empty str"),
    (lambda: Job("A", [("cpu", 5, 1)]), TypeError, "a pair like"),
    (lambda: Job("A", []), ValueError, "non-empty list of bursts"),
    (lambda: Job("A", [("cpu", float("inf"))]), ValueError, "finite"),
    (lambda: simulate([A], "rr"), ValueError, "choose one of serial, multiprogramming, round-robin, edf"),
    (lambda: simulate([A], "round-robin"), ValueError, "quantum=10"),
    (lambda: simulate([A], "round-robin", quantum=0), ValueError, "quantum must be > 0"),
    (lambda: simulate([A], "serial", quantum=5), ValueError, "choose round-robin"),
    (lambda: simulate([A], "multiprogramming", setup=5), ValueError, "use overhead="),
    (lambda: simulate([A], "serial", overhead=1), ValueError, "use setup="),
    (lambda: simulate([A], "edf", overhead=-1), ValueError, "overhead must be >= 0"),
    (lambda: simulate(A), TypeError, "non-empty list of Job"),
    (lambda: simulate([A, A]), ValueError, "rename one"),
    (lambda: sched.plot_schedule("not a result"), TypeError, "simulate"),
    (lambda: sched.compare_schedules([]), TypeError, "non-empty list"),
    (lambda: sched.compare_schedules([simulate([A, B])], mark=["U1"]), ValueError, "choose from A, B"),
    (lambda: sched.sweep([A, B], [], [0]), ValueError, "at least one quantum"),
    (lambda: sched.sweep([A, B], [5], [0], users=["U1"]), ValueError, "no job 'U1'"),
    (lambda: sched.sweep([A, B], [5], [-1]), ValueError, "overhead must be >= 0"),
    (lambda: sched.sweep([A, B], [5], [0], baseline="batch"), TypeError, "baseline= takes a result"),
])
def test_wrong_input_fails_with_one_line_that_names_the_fix(make, error, fix):
    with pytest.raises(error) as caught:
        make()
    message = str(caught.value)
    assert fix in message and "\n" not in message, message


def test_plots_have_lanes_labels_legend_and_a_shared_axis():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = {"serial": simulate([A, B]), "multiprogramming": simulate([A, B], "multiprogramming")}
    fig = sched.compare_schedules(results, title="A and B")
    top, bottom = fig.axes
    assert fig._suptitle.get_text() == "A and B"
    assert top.get_title() == "serial (makespan 80 ms, CPU busy 62%)" and bottom.get_xlabel() == "time (ms)"
    assert top.get_shared_x_axes().joined(top, bottom)
    assert [t.get_text() for t in top.get_yticklabels()] == ["CPU", "I/O device"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:2] == ["job A", "job B"] and "last job done" in labels

    rr = simulate(REALTIME, "round-robin", quantum=5, overhead=1)
    fig2, ax = plt.subplots()
    assert sched.plot_schedule(rr, ax=ax, title="mine") is fig2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "context switch: hatched = no job runs; not counted as busy" in legend and ax.get_title() == "mine"
    assert "deadline (job's colour)" in legend
    plt.close(fig2)
    assert sched.plot_schedule(rr).axes[0].get_xlabel() == "time (ms)"

    marked = sched.compare_schedules([rr], mark=["R"])
    assert [t.get_text() for t in marked.axes[0].get_yticklabels()] == ["CPU", "I/O device", "arrives → done"]
    assert "marked job: arrives (|) to done (●)" in [t.get_text() for t in marked.legends[0].get_texts()]


def test_sweep_measures_the_users_wait_and_the_switching_share():
    # L needs 6 from 0; U needs 1 and arrives at 1.
    # quantum 2, switch 0: 0-2 L | 2-3 U (queued before L, whose slice ended at 2) | 3-7 L      U answered after 2
    # quantum 2, switch 1: 0-2 L | 2-3 S 3-4 U | 4-5 S 5-9 L   makespan 9, switching 2         U answered after 3
    # quantum 6, switch 0: 0-6 L | 6-7 U                                                       U answered after 6
    # quantum 6, switch 1: 0-6 L | 6-7 S 7-8 U   makespan 8, switching 1                       U answered after 7
    import matplotlib
    matplotlib.use("Agg")

    jobs = [Job("L", [("cpu", 6)]), Job("U", [("cpu", 1)], arrival=1)]
    batch = simulate(jobs, "multiprogramming", label="batch")
    fig, numbers = sched.sweep(jobs, [2, 6], [0, 1], users=["U"], baseline=batch)
    assert numbers == {0: {2: (2, 0.0), 6: (6, 0.0)}, 1: {2: (3, 2 / 9), 6: (7, 1 / 8)}}
    wait, switching = fig.axes
    assert wait.get_title() == "Mean time to answer (U)" and wait.get_xlabel() == "time slice, quantum (ms)"
    assert switching.get_ylabel() == "share of the makespan (%)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "switch 0 ms", "switch 1 ms", "lowest wait on each line", "batch: 6 ms"]
    _, everyone = sched.sweep(jobs, [2], [0])             # users=None: every job counts
    assert everyone == {0: {2: ((7 + 2) / 2, 0.0)}}
