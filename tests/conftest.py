"""Shared fixtures: every server test must leave the process as it found it."""

import contextlib
import glob
import os
import tempfile
import threading
import time

import matplotlib
import psutil
import pytest

matplotlib.use("Agg")

# A private temporary folder for this test session, inherited by the kernels and
# subprocesses it starts: the leak checks below look for socklab's socket folders
# there, and must not see those of another process (a learner's own JupyterLab).
_SESSION_TMP = tempfile.mkdtemp(prefix="socklab-tests-",
                                dir="/tmp" if os.access("/tmp", os.W_OK | os.X_OK) else None)
os.environ["TMPDIR"] = _SESSION_TMP
tempfile.tempdir = None  # make tempfile read TMPDIR again


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The slow tests first (the browser's module, the labs' grading, the notebooks), the
    unit tests after: xdist hands out work in this order, so the long tests start at once
    and the short ones fill the workers' last minutes. The order within each kind stays."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_unconfigure(config):
    import shutil

    shutil.rmtree(_SESSION_TMP, ignore_errors=True)

import socklab  # noqa: E402


def _shared_folder(tmp_path_factory, name):
    """A folder of this test run that every pytest-xdist worker sees (each worker's own
    temporary folder sits in it); without xdist, this process's own."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(scope="session")
def once_per_run(tmp_path_factory):
    """once_per_run(key): see _once_per_run."""
    return lambda key: _once_per_run(tmp_path_factory, key)


# Course notebooks executing at once, whatever the number of xdist workers.
NOTEBOOK_SLOTS = 1


@pytest.fixture(scope="session")
def notebook_slot(tmp_path_factory):
    """``with notebook_slot():`` around the execution of a course notebook.

    At most NOTEBOOK_SLOTS (one) run at once across the workers. The
    notebooks check timing claims (a stop within 50 ms, eight forked children three
    times faster than one) that hold on a two-core machine busy with one other thing,
    as `make soak` keeps it: one notebook at a time, beside one other worker.
    The other tests, mostly waiting (otter, bounded checks), fill the other workers."""
    import fcntl

    folder = _shared_folder(tmp_path_factory, "notebook-slots")

    @contextlib.contextmanager
    def slot(every: bool = False):
        if every:  # all the slots, taken in order (no deadlock): no notebook runs meanwhile
            handles = [open(folder / f"slot-{number}.lock", "w") for number in range(NOTEBOOK_SLOTS)]
            try:
                for handle in handles:
                    fcntl.flock(handle, fcntl.LOCK_EX)  # bounded by the test's own timeout
                yield
            finally:
                for handle in handles:
                    handle.close()
            return
        while True:
            for number in range(NOTEBOOK_SLOTS):
                handle = open(folder / f"slot-{number}.lock", "w")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                try:
                    yield
                finally:
                    handle.close()  # and the lock with it
                return
            time.sleep(0.05)  # bounded by the test's own timeout (pytest-timeout)

    return slot


@contextlib.contextmanager
def _once_per_run(tmp_path_factory, key):
    """A folder for what is worth computing once per test run, and whether it is still empty:

        with once_per_run("otter-assign-lab01") as (folder, empty):
            if empty:
                ...write into folder...
        ...read folder...

    Under pytest-xdist every worker of the run sees the same folder (each worker's
    own temporary folder sits in it): the first to ask fills it, holding a lock,
    and the others wait for it. Nothing is kept from one run to the next.
    """
    import fcntl

    shared = _shared_folder(tmp_path_factory, "once-per-run")
    folder, done = shared / key, shared / f"{key}.done"
    with open(shared / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        empty = not done.exists()
        if empty:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed half-way left
            folder.mkdir()
        yield folder, empty
        if empty:
            done.touch()


@pytest.fixture(scope="module")
def runs():
    """Five clients at a serial and at a threading server, 0.05 s of work each: one result per
    mode, for the tests that draw and describe timelines."""
    import socklab

    result = {}
    for mode in ("serial", "threading"):
        with socklab.serve(mode=mode, work=0.05) as server:
            result[mode] = socklab.load(server, clients=5)
    return result


@pytest.fixture
def sock_dir():
    """A folder for Unix socket files with a short path.

    pytest's tmp_path holds the user's name and the test's name, and a Unix
    socket path must stay under about 100 bytes: a learner called
    "bars-learner" running a parametrized test passed that limit. This folder
    sits directly in the session's temporary folder, whoever runs the tests.
    """
    import shutil
    from pathlib import Path

    folder = tempfile.mkdtemp(prefix="s", dir=_SESSION_TMP)
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def open_fds() -> set:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


def socklab_tempdirs() -> set:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "socklab-*")))


def live_children() -> list:
    return [p for p in psutil.Process().children(recursive=True) if p.is_running()]


@pytest.fixture(scope="session", autouse=True)
def warm_matplotlib():
    """matplotlib opens and caches its font files on the first render; do that
    once, so the leak checks below see only what socklab opens."""
    import io

    fake = socklab.LoadResult(
        "warm-up", True,
        [socklab.ClientResult(0, "c", 0.0, 0.0, 1.0, b"")],
        [socklab.Request("c", "thread 1", 0.0, 0.1, 0.9)],
    )
    socklab.compare([fake, fake], title="warm-up").savefig(io.BytesIO(), format="png")
    socklab.plot_timeline(fake).savefig(io.BytesIO(), format="png", bbox_inches="tight")


@pytest.fixture
def no_leaks():
    """Fail the test if it leaves a server, thread, child, descriptor or socket folder behind."""
    fds, threads, dirs = open_fds(), set(threading.enumerate()), socklab_tempdirs()
    yield
    socklab.stop_all()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        extra_threads = [t for t in threading.enumerate() if t not in threads]
        if not extra_threads and not live_children() and open_fds() <= fds:
            break
        time.sleep(0.01)
    assert socklab.running() == []
    assert [t.name for t in threading.enumerate() if t not in threads] == []
    assert live_children() == []
    assert open_fds() - fds == set(), "descriptors left open"
    assert socklab_tempdirs() - dirs == set(), "socket folders left behind"


@pytest.fixture
def no_notebook_meanwhile(notebook_slot):
    """Every notebook slot, for a test that takes both cores in bursts (a hub, its servers and
    their kernels): no course notebook, whose timing claims assume one other thing running,
    executes meanwhile."""
    with notebook_slot(every=True):
        yield
