"""The course in a real JupyterLab, driven by headless Chromium, as a learner uses it.

nbval sees outputs; it cannot see whether JupyterLab renders a widget, or
whether clicking it does anything. Here JupyterLab runs on 127.0.0.1 with a
random port and token, on a copy of the notebooks (JupyterLab autosaves), and
Playwright drives Debian's Chromium (`/usr/bin/chromium`, or $CHROMIUM).
A missing browser is a failure that says how to install it, never a skip.
Screenshots go to artifacts/browser/ (ignored by git): look at them.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from web import CHROMIUM, CHROMIUM_ARGS, VISIBLE, answer_and_check, free_port, wait_for_http, wait_gone

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "browser"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LAB = "lab01_echo"
SETTINGS = {
    # render every cell, not only those in view, so the test can see them all
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # no "get notified about Jupyter news?" pop-up over the page
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}

# One JupyterLab and one Chromium for the module: under xdist its tests share one
# worker (the scheduler in the root conftest.py keeps this module together).
pytestmark = [pytest.mark.timeout(300), pytest.mark.slow, pytest.mark.browser]



@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not at {CHROMIUM}: install it with 'sudo apt-get install chromium' "
                    "(make test does this as root), or set CHROMIUM=/path/to/chromium")
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    shutil.copytree(ROOT / "labs" / LAB, work / "labs" / LAB)  # the student's folder, as a learner gets it
    shutil.copy(ROOT / "README.md", work / "README.md")
    settings = work / "settings"
    for name, values in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    log = open(work / "jupyterlab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_for_http(f"{base}/api/status?token={token}", server):
            pytest.fail(f"JupyterLab did not start: see {work / 'jupyterlab.log'}")
        yield {"base": base, "token": token, "work": work}
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # JupyterLab and the kernels it started
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        assert wait_gone(lambda: [p for p in _processes() if _pgid(p) == server.pid]) == [], \
            "a kernel or JupyterLab process outlived the tests"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    # Playwright's driver and Chromium share this process group; JupyterLab and its
    # kernels have their own session, and are checked by the lab fixture.
    mine = os.getpgid(0)
    left = wait_gone(lambda: [p for p in psutil.Process().children(recursive=True)
                               if p.pid not in before and _pgid(p) == mine and p.status() != psutil.STATUS_ZOMBIE])
    assert left == [], f"browser processes outlived the tests: {left}"


def _processes():
    import psutil

    return list(psutil.process_iter())


def _pgid(process):
    try:
        return os.getpgid(process.pid)
    except OSError:
        return None


def _run_all(page, lab, notebook: str, code_cells: int, folder: str = "notebooks"):
    try:
        _run_all_cells(page, lab, notebook, code_cells, folder)
    except Exception as exc:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{Path(notebook).stem}.png"), full_page=True)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        shown = [errors.nth(i).inner_text()[-800:] for i in range(errors.count())]
        raise AssertionError(f"running {notebook} did not finish; error outputs: {shown}") from exc


def _menu(page, menu: str, item: str):
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def _run_all_cells(page, lab, notebook: str, code_cells: int, folder: str = "notebooks"):
    # a workspace of its own, reset: JupyterLab would otherwise reopen earlier tabs
    workspace = secrets.token_hex(4)
    page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{folder}/{notebook}?reset&token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    # the kernel is connected and idle (the status bar says so), not merely "no kernel yet"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /\\| Idle/.test(e.textContent))",
        timeout=60_000)
    # The notebook was saved executed, so its prompts already show numbers: clear
    # them first, or "every prompt has a number" would be true before anything ran.
    _menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        "() => ![...document.querySelectorAll(VISIBLE + ' .jp-CodeCell .jp-InputArea-prompt')].some(p => /\\d/.test(p.textContent))"
        .replace("VISIBLE", repr(VISIBLE)),
        timeout=30_000)
    _menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        """n => {
            const prompts = [...document.querySelectorAll('VISIBLE .jp-CodeCell .jp-InputArea-prompt')];
            const done = prompts.filter(p => /\\[\\d+\\]/.test(p.textContent)).length;
            const idle = [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /\\| Idle/.test(e.textContent));
            return done === n && idle;
        }""".replace("VISIBLE", VISIBLE), arg=code_cells, timeout=120_000)


def _unfold_optional_sections(page):
    """Open every folded "Going deeper (optional)" section, as a learner does to use its widgets."""
    for _ in range(50):
        folded = page.locator(f"{VISIBLE} .jp-showHiddenCellsButton")
        if folded.count() == 0:
            return
        folded.first.click()
    raise AssertionError("folded sections kept appearing")


@contextlib.contextmanager
def notebook_run(browser, lab, path, slot):
    """A page with ``path`` open in JupyterLab, every cell run afresh."""
    # A cell whose source is folded (metadata jupyter.source_hidden) shows no input
    # prompt, so only the others can be counted; its outputs are still checked.
    code_cells = sum(1 for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
                     and not c.metadata.get("jupyter", {}).get("source_hidden"))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        with slot():  # one of the notebooks executing at once (tests/conftest.py)
            _run_all(page, lab, path.name, code_cells, path.parent.relative_to(ROOT).as_posix())
        _unfold_optional_sections(page)
        yield page
    finally:
        page.close()


@pytest.fixture(scope="module")
def ran(request, lab, browser, notebook_slot):
    """A page with the notebook ``request.param`` open in JupyterLab, every cell run afresh.

    Parametrized indirectly and module-scoped: the tests of one notebook (it runs
    without error, then a learner clicks its widgets) share one run of it, one
    after the other; pytest orders them so, and closes the page before the next."""
    with notebook_run(browser, lab, request.param, notebook_slot) as page:
        yield page


def notebook(name):
    return ROOT / "notebooks" / name


@pytest.mark.parametrize("ran", NOTEBOOKS, ids=lambda p: p.name, indirect=True)
def test_every_notebook_runs_in_jupyterlab(ran, request):
    path, page = request.node.callspec.params["ran"], ran
    nb = nbformat.read(path, as_version=4)
    widgets = sum(1 for c in nb.cells if c.cell_type == "code"
                  and any(f"socklab.{w}(" in c.source for w in ("quiz", "explorer", "lifecycle", "experiment")))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path.stem}.png"), full_page=True)
    errors = page.locator(f"{VISIBLE} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error or stderr output: {errors.first.inner_text()[:500]}"
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page.locator(f"{VISIBLE} .jupyter-widgets").count() >= widgets, "every widget rendered"


def test_optional_sections_open_collapsed_and_unfold_on_a_click(lab, browser):
    """A newcomer opening a notebook sees the core path: each "Going deeper (optional)"
    section is folded, its cells hidden until the learner clicks the arrow by its heading."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        workspace = secrets.token_hex(4)
        page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/notebooks/00_start_here.ipynb?reset&token={lab['token']}")
        page.wait_for_selector(f"{VISIBLE} .jp-MarkdownCell", timeout=60_000)
        heading = page.locator(f"{VISIBLE} .jp-MarkdownCell",
                               has=page.locator("h2", has_text="Going deeper (optional)")).first
        folded = page.locator(f"{VISIBLE} .jp-CodeCell", has=page.locator(".cm-content", has_text="socketserver).__mro__")).first
        button = heading.locator(".jp-collapseHeadingButton")
        button.wait_for(state="attached", timeout=30_000)
        assert "jp-mod-collapsed" in (button.get_attribute("class") or ""), "the heading is saved collapsed"
        assert folded.is_hidden(), "an optional section's cells are hidden at first"
        core = page.locator(f"{VISIBLE} .jp-MarkdownCell", has=page.locator("h2", has_text="Stopping everything")).first
        assert core.is_visible(), "the core section after it is not folded with it"
        heading.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "optional_section_collapsed.png"))
        # what a learner clicks: the "N cells hidden" button under the folded heading
        page.locator(f"{VISIBLE} .jp-showHiddenCellsButton").first.click()
        folded.wait_for(state="visible", timeout=10_000)
    finally:
        page.close()


@pytest.mark.parametrize("ran", [notebook("00_start_here.ipynb")], ids=lambda p: p.name, indirect=True)
def test_the_quiz_answers_a_learner_in_jupyterlab(ran):
    """Click a right and a wrong answer in notebook 00's quiz, as a learner would."""
    page = ran
    quiz = page.locator(".widget-vbox", has=page.locator(".widget-radio-box")).last
    quiz.get_by_text("Asks the operating system for any free port", exact=True).click()
    quiz.get_by_text("Any machine on the Internet", exact=True).click()
    # each answer goes to the kernel and back: wait for every piece of feedback
    for text in ("✔ Right. The OS picks an unused port", "✘ Not quite. What does loopback mean?",
                 "1 of 4 right (2 answered)"):
        quiz.get_by_text(text, exact=False).first.wait_for(timeout=10_000)
    feedback = quiz.inner_text()
    assert "✔ Right. The OS picks an unused port" in feedback
    assert "✘ Not quite. What does loopback mean?" in feedback
    assert "1 of 4 right (2 answered)" in feedback
    quiz.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    quiz.screenshot(path=str(ARTIFACTS / "quiz_answered.png"))


@pytest.mark.parametrize("ran", [notebook("06_serial_versus_concurrent.ipynb")], ids=lambda p: p.name, indirect=True)
def test_the_explorer_redraws_when_a_learner_changes_it(ran):
    """Move the clients slider, tick a server, press Run: a new timeline appears."""
    page = ran
    explorer = page.locator(f"{VISIBLE} .widget-vbox", has=page.get_by_text("press Run")).last
    explorer.scroll_into_view_if_needed()
    image = explorer.locator("img").first
    before = image.get_attribute("src")
    assert before and before.startswith(("blob:", "data:")), before
    clients = explorer.get_by_role("slider", name="clients")  # named by its label, as a screen reader finds it
    clients.focus()
    for _ in range(4):
        clients.press("ArrowLeft")  # 8 -> 4 clients, as a learner with the keyboard
    assert clients.input_value() == "4"
    explorer.get_by_text("asyncio", exact=True).click()  # tick one more server
    explorer.get_by_role("button", name="Run").click()
    # the image is drawn anew (a new <img>): wait for one with another picture
    try:
        page.wait_for_function("([box, old]) => { const img = box.querySelector('img'); return img && img.getAttribute('src') !== old; }",
                               arg=[explorer.element_handle(), before], timeout=60_000)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        explorer.screenshot(path=str(ARTIFACTS / "FAILED-explorer.png"))
        raise AssertionError(f"no new timeline after Run; the explorer shows: {explorer.inner_text()[-500:]}")
    assert explorer.locator("img").first.get_attribute("alt").startswith("4 clients, ")  # the new run, in words
    explorer.get_by_text("asyncio", exact=False).last.wait_for()
    status = explorer.inner_text()
    assert "asyncio" in status and "makespans:" in status, status
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    explorer.screenshot(path=str(ARTIFACTS / "explorer_changed.png"))


@pytest.mark.parametrize("ran", [notebook("05_socketserver.ipynb")], ids=lambda p: p.name, indirect=True)
def test_the_lifecycle_tracer_runs_what_a_learner_chooses(ran):
    """Choose a UDP server and a failing setup(), press Run: the new trace shows it."""
    page = ran
    tracer = page.locator(f"{VISIBLE} .widget-vbox", has=page.get_by_text("One request, traced: choose")).last
    tracer.scroll_into_view_if_needed()
    tracer.get_by_role("button", name="udp", exact=True).click()
    tracer.get_by_role("button", name="setup", exact=True).click()
    tracer.get_by_role("button", name="Run").click()
    tracer.get_by_text("DatagramRequestHandler on a udp server, setup() raising").wait_for(timeout=30_000)
    shown = tracer.inner_text()
    assert "did not run" in shown and "setup() failed on purpose" in shown, shown
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tracer.screenshot(path=str(ARTIFACTS / "lifecycle_traced.png"))


@pytest.mark.parametrize("ran", [notebook("01_sockets_and_addresses.ipynb")], ids=lambda p: p.name, indirect=True)
def test_an_experiment_runs_again_when_a_learner_changes_it(ran):
    """Notebook 01's experiment: choose the abstract Unix family; the live conversation is redone in it."""
    page = ran
    box = page.locator(f"{VISIBLE} .widget-vbox", has=page.get_by_text("One conversation, in the family")).last
    box.scroll_into_view_if_needed()
    assert "family AF_INET:" in box.inner_text()
    box.get_by_role("button", name="AF_UNIX abstract", exact=True).click()
    box.get_by_text("family AF_UNIX: the server received", exact=False).wait_for(timeout=30_000)
    # the widget shows the new output first, then its status line: wait for both
    box.get_by_text("ran with family='AF_UNIX abstract'", exact=False).wait_for(timeout=30_000)
    shown = box.inner_text()
    assert "ran with family='AF_UNIX abstract'" in shown and "getsockname() = @" in shown, shown
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=str(ARTIFACTS / "experiment_changed.png"))


def test_a_lab_check_passes_a_right_answer_and_fails_a_wrong_one(lab, browser, notebook_slot):
    """In the student notebook: type an answer into the cell, run the check, read its verdict."""
    right = ("class UpperHandler(socketserver.StreamRequestHandler):\n"
             "    def handle(self):\n"
             "        for line in self.rfile:\n"
             "            self.wfile.write(line.upper())\n")
    with notebook_run(browser, lab, ROOT / "labs" / LAB / f"{LAB}.ipynb", notebook_slot) as page:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            checker = answer_and_check(page, "class UpperHandler", right, 'grader.check("q1")')
            shown = checker.locator(".jp-OutputArea").inner_text()
            assert "q1 passed!" in shown and "failed" not in shown, shown[:500]
            checker.screenshot(path=str(ARTIFACTS / "lab_check_passed.png"))
            wrong = right.replace("line.upper()", "line")
            checker = answer_and_check(page, "class UpperHandler", wrong, 'grader.check("q1")')
            shown = checker.locator(".jp-OutputArea").inner_text()
            assert "Test case failed" in shown and "write each line back with .upper()" in shown, shown[:800]
            checker.screenshot(path=str(ARTIFACTS / "lab_check_failed.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "FAILED-lab.png"), full_page=True)
            raise


# Accessibility: axe-core (axe-playwright-python) audits what socklab puts in a notebook.
WIDGET_OUTPUTS = f"{VISIBLE} .jp-OutputArea-output:has(.jupyter-widgets)"
BLOCKING = ("serious", "critical")


def _axe(page, include=None) -> list:
    """axe-core's violations on the page (or within the elements ``include`` selects), as
    (rule, impact, number of elements); and how many elements the audit looked at."""
    from axe_playwright_python.sync_playwright import Axe

    context = {"include": [[include]]} if include else None
    response = Axe().run(page, context=context, options={"resultTypes": ["violations", "passes"]}).response
    seen = {node["html"] for result in response["passes"] + response["violations"] for node in result["nodes"]}
    return sorted((v["id"], v["impact"], len(v["nodes"])) for v in response["violations"]), len(seen)


@pytest.mark.parametrize("ran", NOTEBOOKS, ids=lambda p: p.name, indirect=True)
def test_the_widgets_pass_an_axe_audit_in_jupyterlab(ran, request):
    """Every widget socklab draws (quizzes, experiments with sliders, buttons and
    figures, the lifecycle tracer, the explorer), each notebook run live in JupyterLab
    in Chromium (the run test_every_notebook_runs_in_jupyterlab made): axe-core finds
    no serious or critical violation in the outputs that hold widgets.

    Scope: the outputs holding widgets only (WIDGET_OUTPUTS, axe's include context).
    Left out: JupyterLab's own chrome, which the course cannot change, and the other
    outputs. On the whole page (JupyterLab 4.6.6, axe-core 4.12, notebooks 00/01/05/06)
    axe found: aria-input-field-name (serious, 14/17/24/18 elements: each code cell's
    CodeMirror editor, a textbox without a name), scrollable-region-focusable (serious,
    1/9/3/4: editors' and outputs' scrollers), aria-allowed-attr (critical, 3: toolbar
    buttons' aria-pressed), aria-required-children (critical, 1: the cells' "feed"),
    button-name (critical, 1: the fold-heading arrow), region (moderate, 1: the skip
    link), all JupyterLab's; and image-alt (critical, 1/0/1/3): matplotlib figures shown
    as ordinary outputs, whose text alternatives are socklab's figure contract, not widgets.
    Before socklab drew its own slider and <img alt>, the widgets themselves gave
    aria-input-field-name (serious: ipywidgets' sliders are a <div role="slider"> that
    nothing names) and image-alt (critical: the explorer's timeline).
    test_the_axe_audit_finds_an_unlabelled_widget shows this audit failing on
    ipywidgets controls without a name."""
    path, page = request.node.callspec.params["ran"], ran
    assert page.locator(WIDGET_OUTPUTS).count() >= 1, "the notebook shows a widget"
    found, looked_at = _axe(page, WIDGET_OUTPUTS)
    assert looked_at >= 5, "the audit reached the widgets"
    assert [v for v in found if v[1] in BLOCKING] == [], f"{path.name}: {found}"


def test_the_axe_audit_finds_an_unlabelled_widget(lab, browser, notebook_slot):
    """The audit above can fail: ipywidgets controls without a name, beside socklab's
    slider, in a notebook of their own, fail it with the rules a screen reader user meets."""
    control = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    control.cells = [nbformat.v4.new_code_cell(
        "import ipywidgets\nfrom socklab.widgets import Slider\n"
        "ipywidgets.VBox([Slider(8, 1, 16, 1, 'clients'), ipywidgets.IntSlider(description='clients'),"
        " ipywidgets.Checkbox(), ipywidgets.Dropdown(options=['tcp', 'udp'])])")]
    nbformat.write(control, lab["work"] / "notebooks" / "zz_unlabelled.ipynb")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        with notebook_slot():
            _run_all(page, lab, "zz_unlabelled.ipynb", 1)
        page.locator(f"{VISIBLE} .jupyter-widgets input[type=checkbox]").wait_for(timeout=30_000)
        found, _ = _axe(page, WIDGET_OUTPUTS)
        rules = {rule: (impact, count) for rule, impact, count in found}
        # the ipywidgets slider (named by nothing), the checkbox and the menu without a label;
        # socklab's Slider beside them is named "clients" and is not among them
        assert rules == {"aria-input-field-name": ("serious", 1), "label": ("critical", 1),
                         "select-name": ("critical", 1)}, found
        assert page.get_by_role("slider", name="clients").count() == 1
    finally:
        page.close()

# First start: `make lab` (tools/lab.py) with an empty HOME, as a learner's first run.
LAB_OVERRIDES = ROOT / "jupyter" / "lab" / "settings" / "overrides.json"


def _start_as_make_lab(work: Path, home: Path):
    """tools/lab.py in ``work`` (a copy of the course) with HOME=``home``: what `make lab` runs.
    Returns the process and the URL it printed."""
    port = free_port()
    # no Jupyter folder of this machine's user: only HOME and the environment's own (sys.prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "XDG_", "IPYTHON"))}
    env["HOME"] = str(home)
    out = open(work / "lab.out", "w")
    server = subprocess.Popen([sys.executable, str(ROOT / "tools" / "lab.py"), f"--port={port}"], cwd=work,
                              stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    out.close()
    deadline = time.monotonic() + 60
    while not (found := re.search(r"Open the course at: (\S+)", (work / "lab.out").read_text())):
        if server.poll() is not None or time.monotonic() > deadline:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            pytest.fail(f"tools/lab.py printed no URL: {(work / 'lab.out').read_text()[-2000:]}")
        time.sleep(0.1)
    return server, found.group(1)


def test_make_lab_opens_notebook_00_with_nothing_to_dismiss(browser, tmp_path):
    """A learner's first `make lab`: empty HOME, so no JupyterLab user settings, only the
    course's overrides (jupyter/lab/settings/overrides.json, which make setup copies into
    .venv/share/jupyter/lab/settings/). The URL it prints opens notebook 00, active, with no
    toast (JupyterLab asks "get notified about official Jupyter news?" without them), no
    dialog, nothing in the notification centre, and no request for news or updates."""
    installed = Path(sys.prefix, "share", "jupyter", "lab", "settings", "overrides.json")
    assert installed.exists() and json.loads(installed.read_text()) == json.loads(LAB_OVERRIDES.read_text()), \
        f"{installed} is not the course's {LAB_OVERRIDES.relative_to(ROOT)}: run make setup (make lab and make test do)"
    work, home = tmp_path / "course", tmp_path / "home"
    shutil.copytree(ROOT / "notebooks", work / "notebooks")  # JupyterLab may save what it opens
    home.mkdir()
    server, url = _start_as_make_lab(work, home)
    page = None
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/lab/tree/notebooks/00_start_here\.ipynb\?token=[0-9a-f]{32}", url), url
        if not wait_for_http(url.replace("/lab/tree/notebooks/00_start_here.ipynb", "/api/status"), server):
            pytest.fail(f"JupyterLab did not start: {(work / 'lab.out').read_text()[-2000:]}")
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        page.wait_for_selector(f"{VISIBLE} .jp-Cell", timeout=60_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /\\| Idle/.test(e.textContent))",
            timeout=60_000)
        # Without the overrides the news question is up by now (about 1 s after the cells);
        # give anything later five seconds more to appear.
        time.sleep(5)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "first_start.png"))
        toasts = page.locator(".Toastify__toast").all_inner_texts()
        assert toasts == [], f"a notification pops up on the first start: {toasts}"
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        assert dialogs == [], f"a dialog waits on the first start: {dialogs}"
        assert page.locator(".jp-Notification-Status").inner_text().strip() == "0", "a notification is waiting"
        current = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").all_inner_texts()
        assert [t.strip() for t in current] == ["00_start_here.ipynb"], f"the active tab is {current}"
        assert page.locator(VISIBLE).count() == 1
        assert page.locator(f"{VISIBLE} h1", has_text="00 · Start here").count() == 1
        asked = [u for u in requests if not u.startswith(url.split("/lab/", 1)[0]) or re.search(r"/lab/api/(news|update)", u)]
        assert asked == [], f"the first start asked for news, updates or another site: {asked}"
    finally:
        if page is not None:
            page.close()
        os.killpg(server.pid, signal.SIGTERM)  # JupyterLab and its kernel
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        assert wait_gone(lambda: [p for p in _processes() if _pgid(p) == server.pid]) == [], \
            "a kernel or JupyterLab process outlived the test"
