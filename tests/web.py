"""What the tests that drive a browser or wait for a web server share: Chromium and how it is
started here, the JupyterLab notebook on show, a free port, waiting for a server or for
processes to go, and typing an answer into a lab's cell as a learner does."""

import os
import socket
import time
import urllib.request

# Debian's Chromium, or $CHROMIUM (make test passes it); Playwright cannot download its own here
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As the probe of this machine found: without these, Chromium tries the network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# the notebook on show in JupyterLab; other tabs stay in the page, hidden
VISIBLE = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, process, seconds: float = 60) -> bool:
    """True once ``url`` answers; False if ``process`` exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return True
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.2)


def wait_gone(find, seconds=10):
    """What ``find()`` still returns after up to ``seconds``: processes may take a moment to exit."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            left = find()
        except Exception:  # a process exited while we looked: look again
            left = ["?"]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def answer_and_check(page, start_of_cell: str, answer: str, check: str):
    """Replace a cell's code as a learner would, run it, run its check; return the check's output."""
    cell = page.locator(f"{VISIBLE} .jp-CodeCell", has=page.locator(".cm-content", has_text=start_of_cell)).first
    cell.scroll_into_view_if_needed()
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(answer)  # pasted, not typed: no auto-indent on top of ours
    page.keyboard.press("Shift+Enter")
    checker = page.locator(f"{VISIBLE} .jp-CodeCell", has=page.locator(".cm-content", has_text=check)).first
    checker.locator(".cm-content").click()
    before = checker.locator(".jp-OutputArea").inner_text()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function("([area, old]) => area.innerText !== old && /passed!|results:/.test(area.innerText)",
                           arg=[checker.locator(".jp-OutputArea").element_handle(), before], timeout=30_000)
    checker.scroll_into_view_if_needed()
    return checker
