"""socklab inside a real Jupyter kernel, which is a multi-threaded process."""

import json

import nbformat
import pytest
from nbclient import NotebookClient

# every test here starts a Jupyter kernel: make test, not make check
pytestmark = pytest.mark.slow

FORKING = '''
import json, socketserver, warnings, psutil, socklab
warnings.simplefilter("error")   # a fork warning (Python 3.12+) would fail this cell

class Chatty(socketserver.StreamRequestHandler):
    def handle(self):
        print("printed by a forked child")
        self.wfile.write(self.rfile.readline().upper())

server = socklab.serve(Chatty, mode="forking", name="fork-in-kernel")
run = socklab.load(server, clients=6)
server.stop()
print(json.dumps({
    "replies": sorted({c.reply.decode() for c in run.clients}),
    "records": len(run.requests),
    "workers": len({r.worker for r in run.requests}),
    "outputs": sorted({r.output for r in run.requests}),
    "children": len(psutil.Process().children(recursive=True)),
}))
'''

BROKEN = '''
class Broken(socketserver.StreamRequestHandler):
    def handle(self):
        raise KeyError("missing")

with socklab.serve(Broken, mode="threading", name="broken-in-kernel") as broken:
    socklab.ask(broken, b"x\\n")
'''


def run_cells(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    return nb.cells


def test_forking_in_a_kernel_is_clean_and_children_never_print():
    forking, broken = run_cells(FORKING, BROKEN)
    streams = [o for o in forking.outputs if o.output_type == "stream"]
    assert [o.name for o in streams] == ["stdout"], forking.outputs
    report = json.loads(streams[0].text)
    assert report == {
        "replies": ["WORK\n"],
        "records": 6,
        "workers": 6,
        "outputs": ["printed by a forked child\n"],
        "children": 0,
    }
    # a handler error is raised in the cell that asked, as a HandlerError
    errors = [o for o in broken.outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "HandlerError"
    assert "KeyError: 'missing'" in errors[0].evalue
    assert not [o for o in broken.outputs if o.output_type == "stream"], "nothing printed from the thread"


@pytest.mark.parametrize("mode", ["serial", "threading", "forking"])
def test_kernel_restart_mid_demo_leaves_no_process(mode, tmp_path):
    """Shutting the kernel down while a server is busy leaves no child behind.

    jupyter_client also signals the kernel's process group on shutdown, so this
    checks the learner's experience; socklab's own safety nets (atexit, and the
    parent-death signal for a kernel that is killed) are tested in test_servers.
    """
    import psutil

    code = f'''
import socket, os, socklab
server = socklab.serve(work=30, mode="{mode}", name="busy")
clients = [socket.create_connection(server.address) for _ in range(3)]
for c in clients:
    c.sendall(b"x\\n")
import time; time.sleep(0.3)
print(os.getpid(), *(getattr(server.socketserver, "active_children", None) or []))
'''
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    client = NotebookClient(nb, timeout=60, kernel_name="python3")
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
    pids = [int(p) for p in nb.cells[0].outputs[0].text.split()]
    children = pids[1:]  # pids[0] is the kernel
    if mode == "forking":
        assert len(children) == 3
    psutil.wait_procs([p for p in map(_process, pids) if p], timeout=5)
    for pid in pids:
        process = _process(pid)
        assert process is None or process.status() == psutil.STATUS_ZOMBIE, f"process {pid} outlived the kernel"


def _process(pid):
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


INTERRUPTED = """
import socklab
slow = socklab.serve(mode="{mode}", work=30, name="slow")
socklab.load(slow, clients=4, timeout=60)
"""

PROBE = """
import json, threading, psutil, socklab
from zmq.utils.garbage import GarbageCollectorThread
print(json.dumps({
    "servers": [s.name for s in socklab.running()],
    "threads": sorted(t.name for t in threading.enumerate() if not isinstance(t, GarbageCollectorThread)),
    "children": len(psutil.Process().children(recursive=True)),
}))
"""


def run_probe(kc):
    """Run PROBE and return its report. Right after a cell fails, ipykernel aborts
    requests that arrive in the same instant (status "aborted", nothing run):
    send the probe again in that case."""
    import time

    for _ in range(20):
        outputs = []
        reply = kc.execute_interactive(
            PROBE, timeout=30,
            output_hook=lambda msg: outputs.append(msg["content"]) if msg["msg_type"] == "stream" else None)
        if reply["content"]["status"] != "aborted":
            break
        time.sleep(0.05)
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(o["text"] for o in outputs if o["name"] == "stdout"))


@pytest.mark.parametrize("mode", ["serial", "threading", "forking"])
def test_interrupting_a_live_demo_leaves_nothing_running(mode, notebook_slot):
    """Kernel > Interrupt in the middle of a long load: the servers stop, and the
    notebook can simply be run again."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        with notebook_slot():  # timed: the interrupt honoured at once, then notebook 00's checks
            interrupt_then_run_notebook_00(km, kc, mode)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def interrupt_then_run_notebook_00(km, kc, mode):
    import time

    before = run_probe(kc)
    for attempt in (1, 2):  # the second run shows nothing was in the way
        msg_id = kc.execute(INTERRUPTED.format(mode=mode))
        time.sleep(1.5)
        km.interrupt_kernel()
        start = time.monotonic()
        while True:
            reply = kc.get_shell_msg(timeout=20)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert time.monotonic() - start < 5, "the interrupt was honoured at once"
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        after = run_probe(kc)
        assert after == {"servers": [], "threads": before["threads"], "children": 0}, (attempt, after)
    # and the next run of a whole notebook, in this same kernel, passes
    from pathlib import Path

    notebook = nbformat.read(Path(__file__).resolve().parent.parent / "notebooks" / "00_start_here.ipynb", 4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for _ in range(20):  # resend a request aborted right after the interrupt (see run_probe)
            reply = kc.execute_interactive(cell.source, timeout=120, output_hook=lambda msg: None)
            if reply["content"]["status"] != "aborted":
                break
            time.sleep(0.05)
        assert reply["content"]["status"] == "ok", (cell.source[:80], reply["content"].get("evalue"))
    assert run_probe(kc)["servers"] == []
