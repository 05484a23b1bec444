"""The course notebooks: saved cleanly, linked, run as saved, and safe to run twice in one kernel.

Each notebook is executed once per test run for what nbval and a leak test used to
run it for separately: test_runs_as_saved_then_again_in_one_kernel_leaving_nothing
runs it twice in one fresh kernel, compares the first run's outputs with the saved
ones through nbval's own comparison and tests/nbval_sanitize.cfg, and probes the
kernel after every cell and every run. Other tests run it again only where the
kernel must differ: an imitated Mac, and the core path without optional sections.
The rest check how the notebooks were saved, and the navigation.
"""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# runs a notebook in a Jupyter kernel: make test, not make check
slow = pytest.mark.slow


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds the course"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_executed_in_order_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), "run top to bottom in a fresh kernel, then save"
    for cell in code_cells(nb):
        for output in cell.outputs:
            assert output.output_type != "error", f"saved error in: {cell.source[:60]}"
            if output.output_type == "stream":
                assert output.name == "stdout", f"stderr output in: {cell.source[:60]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_follows_the_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**What you will learn**" in text and "**Time:**" in text and "**You should know:**" in text
    assert "## Summary" in text
    assert any("socklab.quiz(" in c.source for c in code_cells(nb)), "ends with a self-check quiz"
    for cell in code_cells(nb):
        tags = cell.metadata.get("tags", [])
        assert "raises-exception" not in tags and "nbval-skip" not in tags, "every cell runs and succeeds"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_ignored_output_is_a_declared_measurement(path):
    """nbval-ignore-output hides a cell's output from comparison, so each use must
    say why the output varies: metadata "measurement" (a timing, a count), or
    "varies" (what the account or system allows: root, raw sockets), in a cell
    that asks socklab.needs. The cell still runs, and any check it makes still applies."""
    nb = nbformat.read(path, as_version=4)
    for cell in code_cells(nb):
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            reason = cell.metadata.get("measurement", "") or cell.metadata.get("varies", "")
            assert len(reason) > 10, \
                f"say why this output varies, in metadata 'measurement' or 'varies': {cell.source[:60]}"
            if cell.metadata.get("varies"):
                # output that depends on the account or the system comes from a guarded cell
                assert "socklab.needs(" in cell.source, \
                    f"a cell whose output 'varies' asks socklab.needs(...) what the machine has: {cell.source[:60]}"


WIDGETS = ("socklab.experiment(", "socklab.quiz(", "socklab.explorer(", "socklab.lifecycle(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_widget_is_shown(path):
    """A widget built inside an if-block (a guarded cell) is not displayed unless the
    cell calls display(): the learner would see nothing. Each widget cell has an output."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(w in cell.source for w in WIDGETS):
            assert cell.outputs, f"cell {index} builds a widget but shows nothing: {cell.source[:80]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_declares_its_floor(path):
    """The benchmark compares each notebook's run time with its floor: kernel
    start-up plus the waits it asks for on purpose, declared here."""
    meta = nbformat.read(path, as_version=4).metadata.get("socklab", {})
    assert isinstance(meta.get("floor_seconds"), (int, float)) and meta["floor_seconds"] >= 0
    assert meta.get("floor"), "say which waits make up floor_seconds"


def test_navigation_is_current():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "nav.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


PROBE = """
import glob, json, os, tempfile, threading, psutil, socklab
from zmq.utils.garbage import GarbageCollectorThread  # the kernel's own, started on its first large message
me = psutil.Process()
print(json.dumps({
    "servers": [s.name for s in socklab.running()],
    "threads": sorted(t.name for t in threading.enumerate() if not isinstance(t, GarbageCollectorThread)),
    "children": [p.pid for p in me.children(recursive=True)],
    "listening": sorted(f"{c.laddr.ip}:{c.laddr.port}" for c in me.net_connections("inet")
                        if c.status == psutil.CONN_LISTEN),
    "unix": sorted(str(c.laddr) for c in me.net_connections("unix") if c.laddr),
    "fds": len(os.listdir("/proc/self/fd")),
    "socket_dirs": sorted(glob.glob(os.path.join(tempfile.gettempdir(), "socklab-*"))),
}))
"""


# Run first in the test kernel: report ResourceWarnings, and record every bind
# of an IP socket to an address beyond loopback, however briefly it lasted.
SETUP = """
import socket as _socket, warnings
# The kernel starts zmq's garbage-collector thread (and its descriptors) on its
# first message over 64 KiB, a large chart, in whichever run comes first: start it now.
from zmq.utils.garbage import gc as _zmq_gc
if not _zmq_gc.is_alive():
    _zmq_gc.start()
warnings.simplefilter("always", ResourceWarning)
_exposed_binds = []
_plain_bind = _socket.socket.bind

def _watched_bind(self, address):
    if self.family in (_socket.AF_INET, _socket.AF_INET6):
        host = str(address[0])
        # loopback: 127.x.y.z, ::1, and IPv4 loopback seen by a dual-stack IPv6 socket (::ffff:127.x.y.z)
        if not (host.startswith(("127.", "::ffff:127.")) or host in ("::1", "localhost")):
            _exposed_binds.append(repr(address))
    return _plain_bind(self, address)

_socket.socket.bind = _watched_bind
"""

EXPOSED = """
import json
print(json.dumps(_exposed_binds))
_exposed_binds.clear()
"""

# A cell that binds beyond loopback on purpose (to teach it) carries this tag.
ALLOW_EXPOSED = "binds-beyond-loopback"


def probe(client, index):
    cell = client.nb.cells[index]
    client.execute_cell(cell, index)
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return json.loads(text)


SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
CELL_TIMEOUT = 120  # seconds for one cell, as nbval had (--nbval-cell-timeout=120)


def nbval_cells(request, path):
    """nbval's own items for a notebook's code cells, one per code cell in order, not run:
    each knows the options nbval reads from the cell's tags and comments
    (nbval-ignore-output...), and compares new outputs with the saved ones as nbval
    does, after tests/nbval_sanitize.cfg (``item.compare_outputs(new, saved)``)."""
    from nbval.plugin import IPyNbFile, get_sanitize_patterns, nocolors

    notebook = IPyNbFile.from_parent(request.session, path=path)
    notebook.sanitize_patterns.update(get_sanitize_patterns(SANITIZE.read_text()))
    items = list(notebook.collect())
    for item in items:
        item.colors = nocolors  # plain text in an assertion message
    return items


def differs_from_saved(item, outputs):
    """nbval's verdict on one cell's new outputs: None if they match the saved ones, else why not."""
    import copy

    from nbval.plugin import coalesce_streams

    options = item.options
    assert not options["skip"] and not options["check_exception"], "every cell runs and succeeds"
    saved = item.cell.outputs
    if item.cell.execution_count is None:  # nbval compares only cells saved executed
        return "an unrun cell has saved outputs" if saved else None
    if not options["check"]:  # nbval-ignore-output: a declared measurement
        return None
    if item.compare_outputs(coalesce_streams(copy.deepcopy(outputs)), coalesce_streams(copy.deepcopy(saved))):
        return None
    return "\n".join(item.comparison_traceback)


@slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_as_saved_then_again_in_one_kernel_leaving_nothing(path, request):
    """One kernel, the notebook run twice, with a probe after each cell and each run.

    Run 1 starts from a fresh kernel: each cell's outputs must match the saved ones
    as nbval compares them (its own comparison and tests/nbval_sanitize.cfg; a cell
    tagged nbval-ignore-output is not compared). Both runs: no error, no
    ResourceWarning, nothing on stderr, no socket bound beyond loopback; after
    each, no server, thread, child, listening socket or socket file left behind,
    and the second run adds no descriptor. One execution serves what nbval and a
    separate leak test each ran the notebook for."""
    with request.getfixturevalue("notebook_slot")():
        run_as_saved_then_again(path, request)


def run_as_saved_then_again(path, request):
    nb = nbformat.read(path, as_version=4)
    body = len(nb.cells)
    saved = nbval_cells(request, path)
    assert len(saved) == sum(1 for c in nb.cells if c.cell_type == "code")
    warn = nbformat.v4.new_code_cell(SETUP)
    nb.cells = nb.cells + [warn, nbformat.v4.new_code_cell(PROBE), nbformat.v4.new_code_cell(EXPOSED)]
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        client.execute_cell(warn, body)
        before = probe(client, body + 1)
        for run in (1, 2):
            differences = []
            code = iter(saved)
            for index, cell in enumerate(nb.cells[:body]):
                if cell.cell_type != "code":
                    continue
                item = next(code)
                client.execute_cell(cell, index)
                # security: every socket the cell bound was bound to loopback
                exposed_cell = nb.cells[body + 2]
                client.execute_cell(exposed_cell, body + 2)
                exposed = json.loads(exposed_cell.outputs[0]["text"])
                if ALLOW_EXPOSED not in cell.metadata.get("tags", []):
                    assert exposed == [], f"run {run}, cell {index} bound beyond loopback: {exposed}"
                for output in cell.outputs:
                    assert output.output_type != "error", f"run {run}, cell {index}: {output.get('evalue')}"
                    shown = output.get("text", "") + json.dumps(output.get("data", {}))
                    # a notebook may print a traceback on purpose (stdout); stray ones go to stderr
                    assert "ResourceWarning" not in shown, (run, index, shown[:300])
                    assert not (output.output_type == "stream" and output.name == "stderr"), (run, index, shown)
                if run == 1:
                    why = differs_from_saved(item, cell.outputs)
                    if why:
                        differences.append(f"{path.name}, code cell {item.cell_num} (cell {index}):\n"
                                           f"{cell.source[:200]}\n{why}")
            if differences:  # every cell that differs, as nbval would list them, before anything else
                pytest.fail("outputs differ from the saved ones:\n\n" + "\n\n".join(differences), pytrace=False)
            after = probe(client, body + 1)
            assert after["servers"] == [], f"run {run} left servers running"
            assert after["threads"] == before["threads"], f"run {run} left threads"
            assert after["children"] == [], f"run {run} left child processes"
            assert after["listening"] == before["listening"], f"run {run} left a listening socket"
            assert after["unix"] == before["unix"], f"run {run} left a Unix socket"
            assert after["socket_dirs"] == before["socket_dirs"], f"run {run} left socket files"
            # the first run loads matplotlib's fonts and other caches; the second must add nothing
            if run == 1:
                settled = after["fds"]
            else:
                assert after["fds"] <= settled, "the second run leaked descriptors"


@slow
def test_the_harness_fails_on_a_changed_output_and_on_a_leak(tmp_path, request):
    """The check above, proven: a port that differs is sanitized away, a word that
    differs fails as nbval fails it (and only that cell), an ignored measurement is
    not compared, and a thread left by the second run fails it."""
    def saved_notebook(name, cells):
        nb = nbformat.v4.new_notebook()
        for number, (source, saved, tags) in enumerate(cells, 1):
            cell = nbformat.v4.new_code_cell(source, execution_count=number, metadata={"tags": tags})
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=saved)]
            nb.cells.append(cell)
        nbformat.write(nb, tmp_path / name)
        return tmp_path / name

    changed = saved_notebook("changed.ipynb", [
        ('print("listening at 127.0.0.1:40001")', "listening at 127.0.0.1:50002\n", []),
        ('print("hello, server")', "hello, SERVER\n", []),
        ('import random; print(random.random())', "0.5\n", ["nbval-ignore-output"]),
    ])
    with pytest.raises(pytest.fail.Exception) as failed:
        run_as_saved_then_again(changed, request)
    message = str(failed.value)
    assert "code cell 1 " in message and "hello, SERVER" in message, message
    assert "code cell 0 " not in message and "code cell 2 " not in message, message

    leaky = saved_notebook("leaky.ipynb", [
        ("import threading\nif 'ran' in globals():\n"
         "    threading.Thread(target=threading.Event().wait, daemon=True, name='left-behind').start()\n"
         "ran = True\nprint('ran')", "ran\n", []),
    ])
    with pytest.raises(AssertionError, match="run 2 left threads"):
        run_as_saved_then_again(leaky, request)


# The source lists these functions and methods; notebook 03 promises a live cell for each.
SOURCE_CALLS = ["socket.socket(", "socket.socketpair(", "socket.create_connection(", "socket.getaddrinfo(",
                ".bind(", ".listen(", ".setblocking(", ".accept(", ".connect(", ".connect_ex(", ".close(",
                ".recv(", ".recvfrom(", ".send(", ".sendall(", ".sendto(", ".settimeout(", ".getpeername(",
                ".getsockname(", ".fileno(", ".sendfile("]


def test_socket_methods_notebook_calls_every_function_the_source_lists():
    path = ROOT / "notebooks" / "03_socket_methods.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in code_cells(nb))
    missing = [call for call in SOURCE_CALLS if call not in code]
    assert not missing, f"notebook 03 never calls {missing}: each of the source's 21 calls needs a live cell"
    checklist = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    unlisted = [call for call in SOURCE_CALLS if call.strip(".(").split(".")[-1] not in checklist]
    assert not unlisted, f"the checklist table does not name {unlisted}"


# macOS and ordinary users: no Mac runs these tests, so a kernel hides what a
# Mac lacks (tests/elsewhere.py) and every notebook must still run without an
# error, each Linux-only cell saying what it would show instead of raising.
HIDE_LINUX = f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
import elsewhere
elsewhere.hide_linux()
"""


def problems_where_linux_is_hidden(nb, folder):
    """Run a notebook in a kernel that imitates a Mac; return its errors and stderr lines."""
    hide = nbformat.v4.new_code_cell(HIDE_LINUX)
    nb.cells.insert(0, hide)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    problems = []
    for index, cell in enumerate(nb.cells[1:]):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                problems.append(f"cell {index}: {output.ename}: {output.evalue}"[:300])
            elif output.output_type == "stream" and output.name == "stderr":
                problems.append(f"cell {index} wrote to stderr: {output.text[:200]}")
    return problems


@slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_where_linux_features_are_missing(path, notebook_slot):
    with notebook_slot():
        problems = problems_where_linux_is_hidden(nbformat.read(path, as_version=4), path.parent)
    assert not problems, "on a Mac (imitated), these cells fail instead of saying what Linux shows:\n" + "\n".join(problems)


@slow
def test_the_imitated_mac_catches_an_unguarded_cell(tmp_path):
    """The check above fails on what a Mac lacks, and passes once the cell asks first."""
    cells = {
        "reads /proc": 'print(open("/proc/net/tcp").readline())',
        "uses SO_PEERCRED": "import socket; print(socket.SO_PEERCRED)",
        "binds an abstract name": 'import socket\nwith socket.socket(socket.AF_UNIX) as s: s.bind(b"\\0x")',
        "binds 127.42.0.7": 'import socket\nwith socket.socket() as s: s.bind(("127.42.0.7", 0))',
        "opens a raw socket": "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)",
        "opens a SOCK_SEQPACKET pair": "import socket; socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)",
        "believes it is on Linux": 'import sys; assert sys.platform.startswith("linux"), sys.platform',
    }
    unguarded = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells.values()])
    problems = problems_where_linux_is_hidden(unguarded, tmp_path)
    assert len(problems) == len(cells), problems
    guarded = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'import socklab\nif socklab.needs("procfs", shows="the first line of /proc/net/tcp"):\n'
        '    print(open("/proc/net/tcp").readline())')])
    assert problems_where_linux_is_hidden(guarded, tmp_path) == []
    said = guarded.cells[1].outputs[0]["text"]
    assert said.startswith("(skipped: ") and "the first line of /proc/net/tcp" in said and said.count("\n") == 1


# The core path and the optional sections (issue: a course a newcomer finishes).
# An optional section is a "##" heading "Going deeper (optional): <topic>", saved
# collapsed in JupyterLab (the heading cell's jp-MarkdownHeadingCollapsed), and
# runs until the next "#" or "##" heading, as JupyterLab collapses it.
OPTIONAL = "Going deeper (optional): "
CORE_LIMIT = 40  # minutes a newcomer may need for one notebook's core path


def heading(cell):
    """(level, text) of a markdown cell's first line if it is a heading, else None."""
    if cell.cell_type != "markdown" or not cell.source.startswith("#"):
        return None
    first = cell.source.splitlines()[0]
    level = len(first) - len(first.lstrip("#"))
    return level, first[level:].strip()


def optional_sections(nb):
    """{topic: [cell indexes]} for each optional section, in order."""
    sections, current = {}, None
    for index, cell in enumerate(nb.cells):
        head = heading(cell)
        if head and head[0] <= 2:
            current = head[1][len(OPTIONAL):] if head[1].startswith(OPTIONAL) else None
            if current is not None:
                sections[current] = []
        if current is not None:
            sections[current].append(index)
    return sections


def stated_minutes(nb):
    """(core, optional) minutes from the opening's **Time:** line."""
    import re

    opening = next(c.source for c in nb.cells if "**Time:**" in c.source)
    core = re.search(r"\*\*Time:\*\* core about (\d+) minutes", opening)
    optional = re.search(r"optional sections about (\d+) minutes more", opening)
    assert core, "the opening says '**Time:** core about N minutes; ...'"
    if optional_sections(nb):
        assert optional, "the opening says '... optional sections about M minutes more: <their topics>'"
    return int(core.group(1)), int(optional.group(1)) if optional else 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_core_and_optional_are_marked(path):
    nb = nbformat.read(path, as_version=4)
    sections = optional_sections(nb)
    assert sections, f"mark what a newcomer may skip: a '## {OPTIONAL}<topic>' section, saved collapsed"
    opening = next(c.source for c in nb.cells if "**Time:**" in c.source)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "Going deeper (optional)" in cell.source.split("\n")[0]:
            assert cell.source.startswith("## " + OPTIONAL), \
                f"an optional heading is the cell's first line, level 2: '## {OPTIONAL}<topic>': {cell.source[:60]!r}"
            assert cell.metadata.get("jp-MarkdownHeadingCollapsed") is True, \
                f"save it collapsed (metadata jp-MarkdownHeadingCollapsed: true): {cell.source[:60]!r}"
    for topic, cells in sections.items():
        assert topic.lower() in opening.lower(), f"the opening lists the optional section {topic!r}"
        inside = "\n".join(nb.cells[i].source for i in cells)
        assert "## Summary" not in inside and "socklab.quiz(" not in inside, \
            f"the summary and the quiz belong to the core path, not to {topic!r}"
    core, optional = stated_minutes(nb)
    assert 0 < core <= CORE_LIMIT, f"the core path takes at most {CORE_LIMIT} newcomer-minutes, not {core}"
    assert optional > 0


def test_the_course_map_states_core_and_optional_minutes():
    import re

    readme = (ROOT / "README.md").read_text()
    total_core = total_optional = 0
    for path in NOTEBOOKS:
        row = next((line for line in readme.splitlines() if f"(notebooks/{path.name})" in line and line.startswith("|")), None)
        assert row, f"the course map has a row for {path.name}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        core, optional = stated_minutes(nbformat.read(path, as_version=4))
        assert cells[-2:] == [str(core), str(optional)], \
            f"{path.name}: the course map says {cells[-2:]}, the notebook says core {core}, optional {optional}"
        total_core, total_optional = total_core + core, total_optional + optional
    totals = re.search(r"\| \*\*total\*\* \|.*\| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \|", readme)
    assert totals and [int(t) for t in totals.groups()] == [total_core, total_optional], \
        f"the course map's total row says core {total_core}, optional {total_optional}"


@slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_core_path_runs_without_the_optional_sections(path, notebook_slot):
    """A learner who leaves the optional sections collapsed runs only the core cells
    (Shift-Enter skips hidden cells): no core cell may need what an optional one made."""
    nb = nbformat.read(path, as_version=4)
    skipped = {i for cells in optional_sections(nb).values() for i in cells}
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in skipped]
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    with notebook_slot():
        client.execute()
    errors = [f"{c.source[:60]!r}: {o.ename}: {o.evalue}"[:300] for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors, "without the optional sections, core cells fail:\n" + "\n".join(errors)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checks_show_numbers(path):
    """A cell that checks a claim prints the claim and what it measured, through
    socklab.check, rather than stopping on a bare assert or printing 'True'."""
    import re

    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        bare = [line.strip() for line in cell.source.splitlines() if re.match(r"\s*assert\b", line)]
        assert not bare, f"cell {index}: use socklab.check(claim, holds, measured) instead of {bare[0][:60]!r}"
        for output in cell.outputs:
            for line in output.get("text", "").splitlines():
                assert not re.search(r":\s*(True|False)\s*$", line), \
                    f"cell {index} prints a bare truth value; print what was measured: {line[:80]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_a_text_alternative(path):
    """A reader who cannot see a chart reads one sentence about it: the markdown
    cell right after the figure starts with '*Figure:*'."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any("image/png" in o.get("data", {}) for o in cell.outputs):
            after = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
            assert after is not None and after.cell_type == "markdown" and after.source.startswith("*Figure:*"), \
                f"cell {index} draws a figure; start the next markdown cell with '*Figure:* <one sentence>'"
