"""socklab inside a real Jupyter kernel, which is a multi-threaded process."""

import json

import nbformat
import pytest
from nbclient import NotebookClient

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
    kernel, children = pids[0], pids[1:]
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
