"""A class on a real JupyterHub, end to end, as labs/README.md tells an instructor to run it.

One machine, hub as root, a server per Unix account: JupyterHub 6 from classroom/jupyterhub_config.py
(the file an instructor deploys; the test loads it and overrides only the ports, the state
folder and the login), configurable-http-proxy from npm (classroom/package.json), two real
Unix accounts created for the test, each learner's server started as its owner. The
learner-only copy (`tools/labs.py classroom`) is a git repository served on 127.0.0.1 by
`git daemon`. In headless Chromium each learner follows the course's nbgitpuller link to
lab 01, answers question 1 (one right, one wrong) and runs its check; one exports the lab as
the last cell says. The instructor changes the course; following the link again brings the
change and keeps the learners' answers. Then the instructor collects and grades
(`tools/labs.py collect` and `grade`), and stops the hub: nothing of the class is left.

Isolation is measured, not assumed: as one learner, inside their kernel's network
namespace, a socket listens on 127.0.0.1; the other learner, inside theirs, tries to
connect. labs/README.md states the result for each setup.

Needs root (accounts, servers started as their owners); without it the test says so.
Screenshots go to artifacts/classroom/.
"""

import contextlib
import csv
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

from web import CHROMIUM, CHROMIUM_ARGS, VISIBLE, answer_and_check, free_port, wait_for_http, wait_gone

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "classroom"
PROXY = CLASSROOM / "node_modules" / ".bin" / "configurable-http-proxy"
# the hub's environment, which every learner's account can run (make classroom builds it)
VENV = Path(os.environ.get("SOCKLAB_CLASSROOM_VENV", ROOT / "build" / "classroom-venv"))
PYTHON = VENV / "bin" / "python"
ARTIFACTS = ROOT / "artifacts" / "classroom"
LAB = "lab01_echo"
FOLDER = "sockets-course"  # where nbgitpuller puts the course in each home
RIGHT = ("class UpperHandler(socketserver.StreamRequestHandler):\n"
         "    def handle(self):\n"
         "        for line in self.rfile:\n"
         "            self.wfile.write(line.upper())\n")
WRONG = RIGHT.replace("line.upper()", "line")

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(900),
              pytest.mark.usefixtures("no_notebook_meanwhile")]


def _run(*command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120, **kwargs)


def _user_processes(names):
    import psutil

    uids = {pwd.getpwnam(name).pw_uid for name in names}
    return [p for p in psutil.process_iter(["uids", "name", "status"])
            if p.info["uids"] and p.info["uids"].real in uids and p.info["status"] != psutil.STATUS_ZOMBIE]


@contextlib.contextmanager
def _accounts(count):
    """``count`` ordinary Unix accounts with homes, removed afterwards (with anything they left running)."""
    tag = secrets.token_hex(2)
    names = [f"slab-{who}-{tag}" for who in ("ada", "grace", "alan", "edsger")[:count]]
    group = f"slab-class-{tag}"
    try:
        _run("groupadd", group)
        for name in names:  # homes only their owner can read, as labs/README.md says to make them
            _run("useradd", "--create-home", "--key", "HOME_MODE=0700", "--groups", group, "--shell", "/bin/bash", name)
        yield names, group
    finally:
        for name in names:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        for name in names:
            subprocess.run(["userdel", "--remove", name], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)


@contextlib.contextmanager
def _course_repository(public: Path, address: str):
    """The learner-only copy as a git repository served on ``address``: (its URL, a working copy to change)."""
    work = public / "course"
    _run(sys.executable, str(ROOT / "tools" / "labs.py"), "classroom", str(work))
    git = ["git", "-c", "user.name=Instructor", "-c", "user.email=instructor@example.org", "-C", str(work)]
    _run(*git[:-2], "init", "-q", "-b", "main", str(work))
    _run(*git, "add", "-A")
    _run(*git, "commit", "-q", "-m", "The course, for learners")
    served = public / "git"
    _run("git", "clone", "-q", "--bare", str(work), str(served / "course.git"))
    _run(*git, "remote", "add", "origin", str(served / "course.git"))
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={served}",
                               f"--listen={address}", f"--port={port}", "--informative-errors", str(served)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"git://{address}:{port}/course.git"
        deadline = time.monotonic() + 20
        while subprocess.run(["git", "ls-remote", url], capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and daemon.poll() is None, "git daemon did not start"
            time.sleep(0.2)
        yield url, git
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(10)


@contextlib.contextmanager
def _hub(state: Path, learners, private: bool):
    """JupyterHub from classroom/jupyterhub_config.py on 127.0.0.1, random ports; its URL and password.

    ``private``: with PRIVATE_LOOPBACK on (a network namespace per learner), the hub listening
    on every address so that the namespaces reach it, as that setting makes it."""
    port, hub_port, password = free_port(), free_port(), secrets.token_urlsafe(12)
    hub_urls = (f"c.JupyterHub.hub_bind_url = 'http://0.0.0.0:{hub_port}'\n"
                f"c.JupyterHub.hub_connect_url = 'http://127.0.0.1:{hub_port}'\n") if private else \
        f"c.JupyterHub.hub_port = {hub_port}\n"
    config = state / "test_config.py"
    config.write_text(
        f"load_subconfig({str(CLASSROOM / 'jupyterhub_config.py')!r})\n"
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{port}'\n" + hub_urls +
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'\n"
        # the learners log in with a password the test knows; their accounts are real
        "c.JupyterHub.authenticator_class = 'dummy'\n"
        f"c.DummyAuthenticator.password = {password!r}\n"
        f"c.Authenticator.allowed_users = {set(learners)!r}\n"
        "c.LocalAuthenticator.allowed_groups = set()\n"
        "c.Authenticator.admin_users = set()\n")
    env = dict(os.environ, SOCKLAB_HUB_STATE=str(state / "state"), SOCKLAB_VENV=str(VENV),
               SOCKLAB_PRIVATE_LOOPBACK="1" if private else "0")
    log = open(state / "jupyterhub.log", "w")
    hub = subprocess.Popen([str(VENV / "bin" / "jupyterhub"), "-f", str(config)], cwd=state,
                           stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_for_http(f"{url}/hub/health", hub):
            pytest.fail(f"JupyterHub did not start: {(state / 'jupyterhub.log').read_text()[-3000:]}")
        yield {"url": url, "password": password, "process": hub, "log": state / "jupyterhub.log"}
    finally:
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)  # the hub stops every server it started, and the proxy
            try:
                hub.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(hub.pid, signal.SIGKILL)
                hub.wait()
        log.close()


def _pull_link(hub, repo_url):
    """The course's nbgitpuller link to lab 01 (labs/README.md gives its form)."""
    query = urllib.parse.urlencode({"repo": repo_url, "branch": "main", "targetpath": FOLDER,
                                    "urlpath": f"lab/tree/{FOLDER}/labs/{LAB}/{LAB}.ipynb"})
    return f"{hub['url']}/hub/user-redirect/git-pull?{query}"


def _open_by_link(page, link):
    """Follow the link (logging in first if asked) until JupyterLab shows lab 01 with an idle kernel."""
    page.goto(link)
    try:
        page.wait_for_selector(f"{VISIBLE} .jp-Cell", timeout=120_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /\\| Idle/.test(e.textContent))",
            timeout=120_000)
    except Exception as exc:
        page.screenshot(path=str(ARTIFACTS / "FAILED-open.png"))
        raise AssertionError(f"lab 01 did not open from the link; the page is at {page.url}: "
                             f"{page.inner_text('body')[:600]!r}") from exc


def _log_in(page, hub, name):
    page.goto(f"{hub['url']}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", hub["password"])
    page.click("#login_submit")
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=30_000)


def _run_cell(page, start_of_cell: str, timeout=60_000):
    """Run the cell that starts with ``start_of_cell``; wait until its prompt shows a number."""
    cell = page.locator(f"{VISIBLE} .jp-CodeCell", has=page.locator(".cm-content", has_text=start_of_cell)).first
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    cell.locator(".jp-InputArea-prompt").filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=timeout)
    return cell


def _save(page):
    """Ctrl+S, as the lab says before handing in; wait until JupyterLab no longer marks the tab unsaved."""
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=30_000)


def _kernel_pid(name):
    pids = [p.pid for p in _user_processes([name]) if "ipykernel" in " ".join(p.cmdline())]
    assert len(pids) == 1, f"{name} should have one kernel running, has {len(pids)}"
    return pids[0]


def _loopback_shared(owner, other) -> bool:
    """Listen on 127.0.0.1 as ``owner`` in their kernel's network namespace; can ``other`` connect from theirs?"""
    listen = ("import socket, sys\n"
              "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); s.settimeout(15)\n"
              "print(s.getsockname()[1], flush=True)\n"
              "try:\n    s.accept()[0].close(); print('accepted', flush=True)\nexcept TimeoutError:\n    pass\n")
    listener = subprocess.Popen(_as_learner_in_their_namespace(owner, "-c", listen), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = listener.stdout.readline()
        assert line.strip().isdigit(), f"the listener did not start: {line!r} {listener.stderr.read()[-300:]!r}"
        probe = subprocess.run(_as_learner_in_their_namespace(
            other, "-c", f"import socket; socket.create_connection(('127.0.0.1', {int(line)}), timeout=3).close()"),
            capture_output=True, text=True, timeout=30)
        return probe.returncode == 0
    finally:
        os.killpg(listener.pid, signal.SIGKILL)
        listener.communicate(timeout=10)


def _as_learner_in_their_namespace(name, *python_args):
    """A command running the hub's Python as ``name``, in the network namespace of ``name``'s kernel."""
    account = pwd.getpwnam(name)
    return ["nsenter", f"--net=/proc/{_kernel_pid(name)}/ns/net", "--", "setpriv", f"--reuid={account.pw_uid}",
            f"--regid={account.pw_gid}", "--init-groups", "--", str(PYTHON), *python_args]


@contextlib.contextmanager
def _host_address():
    """An address of this host's own, not loopback, that learners in their namespaces reach
    through the host (on a real hub, the git host is elsewhere). A veth pair, not a dummy
    interface: kernels without the dummy module have veth, which the namespaces need anyway."""
    name, address = f"slabgit{secrets.token_hex(2)}", "192.0.2.77"
    _run("ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    try:
        _run("ip", "addr", "add", f"{address}/32", "dev", name)
        _run("ip", "link", "set", name, "up")
        _run("ip", "link", "set", f"{name}p", "up")
        yield address
    finally:
        subprocess.run(["ip", "link", "delete", name], capture_output=True)


@pytest.mark.parametrize("loopback", ["shared", "private"])
def test_a_class_pulls_the_course_works_a_lab_and_is_graded_on_a_one_machine_hub(loopback):
    """``shared``: classroom/jupyterhub_config.py as it is; ``private``: with PRIVATE_LOOPBACK on."""
    if os.geteuid() != 0:
        pytest.skip("the classroom test creates Unix accounts and starts servers as them: it needs root "
                    "(make test as root, as CI does)")
    private = loopback == "private"
    if private and (not sys.platform.startswith("linux") or not all(map(shutil.which, ("ip", "nft", "nsenter")))):
        pytest.skip("a loopback per learner needs Linux with iproute2 and nftables (make classroom installs them)")
    for needed in (PROXY, VENV / "bin" / "jupyterhub-singleuser"):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run make classroom (the hub's environment and proxy)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    public = Path(tempfile.mkdtemp(prefix="socklab-class-"))  # readable by the learners: the served course
    public.chmod(0o755)
    state = Path(tempfile.mkdtemp(prefix="socklab-hub-"))  # root's: the hub's state and logs
    started, measured = time.monotonic(), {}
    try:
        with _accounts(2) as (learners, group):
            usable = subprocess.run(["runuser", "-u", learners[0], "--", str(PYTHON), "-c", "import jupyterhub"],
                                    capture_output=True, text=True)
            assert usable.returncode == 0, (
                f"a learner's account cannot run {PYTHON} ({usable.stderr.strip()[-200:]}): the hub's "
                "environment and every folder above it must be readable by all (make classroom, from a "
                "checkout outside /root, with CLASSROOM_PYTHON a Python every account can run)")
            with contextlib.ExitStack() as stack:
                address = stack.enter_context(_host_address()) if private else "127.0.0.1"
                repo_url, git = stack.enter_context(_course_repository(public, address))
                with _hub(state, learners, private) as hub:
                    proxy = _proxy_of(hub["process"])
                    _a_class(hub, learners, repo_url, git, public, private, measured)
                    _collect_and_grade(learners, group, state, measured)
                # the hub has stopped: every learner's server and kernel, and its proxy, with it
                assert hub["process"].returncode is not None
                assert wait_gone(lambda: _user_processes(learners)) == [], \
                    "a learner's server or kernel outlived the hub"
                assert wait_gone(lambda: [p for p in _processes_under(state) if p.pid != os.getpid()]
                                  + ([proxy] if proxy.is_running() and proxy.status() != "zombie" else [])) == [], \
                    "the hub or its proxy outlived the hub's stop"
                if private:
                    left = [line for command in (["ip", "netns", "list"], ["ip", "-o", "link"], ["nft", "list", "tables"])
                            for line in _run(*command).stdout.splitlines()
                            if any(mark in line for mark in ("jh-slab-", "jhv", "jhp", "jupyterhub_netns"))]
                    assert left == [], f"a learner's namespace, veth or firewall table outlived the hub: {left}"
        assert not any(_exists(name) for name in learners), "a test account was not removed"
        assert subprocess.run(["getent", "group", group], capture_output=True).returncode != 0, "the test group was left"
    finally:
        print(json.dumps({"loopback": loopback, **measured, "total s": round(time.monotonic() - started, 1)},
                         indent=1, default=str))
        if (state / "jupyterhub.log").exists():
            shutil.copy(state / "jupyterhub.log", ARTIFACTS / f"jupyterhub-{loopback}.log")
        for process in _processes_under(state):
            with contextlib.suppress(Exception):
                process.kill()
        shutil.rmtree(public, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def _a_class(hub, learners, repo_url, git, public, private, measured):
    """Two learners in Chromium: pull by link, answer q1 (right, wrong), check, hand in, pull again."""
    from playwright.sync_api import sync_playwright

    ada, grace = learners
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            pages = {}
            for name in learners:
                pages[name] = page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                t0 = time.monotonic()
                _log_in(page, hub, name)
                _open_by_link(page, _pull_link(hub, repo_url))
                measured[f"{name}: log in, server start, clone, lab 01 open (s)"] = round(time.monotonic() - t0, 1)
                course = Path(pwd.getpwnam(name).pw_dir) / FOLDER
                assert (course / "labs" / LAB / f"{LAB}.ipynb").exists(), f"nbgitpuller did not clone into {course}"
                assert not (course / "labs" / "autograder").exists() and not (course / "labs" / "source").exists()
                assert course.stat().st_uid == pwd.getpwnam(name).pw_uid, "the course copy belongs to the learner"
            peek = subprocess.run(["setpriv", f"--reuid={pwd.getpwnam(grace).pw_uid}", f"--regid={pwd.getpwnam(grace).pw_gid}",
                                   "--init-groups", "ls", pwd.getpwnam(ada).pw_dir], capture_output=True, text=True)
            assert peek.returncode != 0 and "Permission denied" in peek.stderr, "a learner can read another's home"

            # one right answer, one wrong, each checked in the learner's own kernel
            for name, answer in ((ada, RIGHT), (grace, WRONG)):
                page = pages[name]
                _run_cell(page, "# Initialize Otter")
                _run_cell(page, "import socket")
                checker = answer_and_check(page, "class UpperHandler", answer, 'grader.check("q1")')
                shown = checker.locator(".jp-OutputArea").inner_text()
                checker.screenshot(path=str(ARTIFACTS / f"check_{'right' if answer == RIGHT else 'wrong'}.png"))
                if answer == RIGHT:
                    assert "q1 passed!" in shown and "failed" not in shown, shown[:500]
                else:
                    assert "Test case failed" in shown and "write each line back with .upper()" in shown, shown[:800]
                _save(page)
            # ada hands in as the lab's last cell says: save (done), then export; grace only saves
            _run_cell(pages[ada], "grader.export", timeout=120_000)
            ada_lab = Path(pwd.getpwnam(ada).pw_dir) / FOLDER / "labs" / LAB
            assert wait_gone(lambda: [] if list(ada_lab.glob(f"{LAB}_*.zip")) else ["no zip"], 30) == [], \
                "the export cell wrote no zip"
            _save(pages[ada])

            # isolation, measured while both kernels run
            assert _loopback_shared(grace, grace), "the probe cannot reach a learner's own server: it is broken"
            shared = _loopback_shared(ada, grace)
            measured["another learner reached a learner's 127.0.0.1 server"] = shared
            assert shared is not private, ("with PRIVATE_LOOPBACK each learner's 127.0.0.1 is their own" if private else
                                           "on a one-machine hub learners share 127.0.0.1, as labs/README.md says")

            # the instructor changes the course; following the link again merges it and keeps the answers
            (public / "course" / "labs" / "NOTICE.md").write_text("Lab 02 is due on Friday.\n")
            readme = public / "course" / "README.md"
            readme.write_text(readme.read_text() + "\nUpdated by the instructor.\n")
            _run(*git, "add", "-A")
            _run(*git, "commit", "-q", "-m", "A notice")
            _run(*git, "push", "-q", "origin", "main")
            for name, answer in ((ada, RIGHT), (grace, WRONG)):
                t0 = time.monotonic()
                _open_by_link(pages[name], _pull_link(hub, repo_url))
                measured[f"{name}: follow the link again, merge (s)"] = round(time.monotonic() - t0, 1)
                course = Path(pwd.getpwnam(name).pw_dir) / FOLDER
                assert (course / "labs" / "NOTICE.md").read_text() == "Lab 02 is due on Friday.\n"
                assert (course / "README.md").read_text().endswith("Updated by the instructor.\n")
                saved = json.loads((course / "labs" / LAB / f"{LAB}.ipynb").read_text())
                assert answer.strip() in ["".join(cell["source"]).strip() for cell in saved["cells"]], \
                    f"{name}'s answer was lost by the second pull"
                pages[name].screenshot(path=str(ARTIFACTS / f"after_pull_{name.split('-')[1]}_{'private' if private else 'shared'}.png"))
        finally:
            chromium.close()


def _collect_and_grade(learners, group, state, measured):
    """The instructor collects each learner's newest hand-in (the class's group) and grades the folder."""
    ada, grace = learners
    submissions, grades = state / "submissions", state / "lab01.csv"
    collected = _run(sys.executable, str(ROOT / "tools" / "labs.py"), "collect", LAB, str(submissions), "--group", group)
    assert sorted(p.name for p in submissions.iterdir()) == sorted([f"{ada}.zip", f"{grace}.ipynb"]), collected.stdout
    t0 = time.monotonic()
    subprocess.run([sys.executable, str(ROOT / "tools" / "labs.py"), "grade", LAB, str(submissions),
                    "--out", str(grades), "--timeout", "300"], check=True, capture_output=True, timeout=900)
    measured["grading two submissions (s)"] = round(time.monotonic() - t0, 1)
    with grades.open() as table:
        rows = {row["submission"]: row for row in csv.DictReader(table)}
    assert float(rows[f"{ada}.zip"]["q1"]) == 3, rows  # all of q1's points, hidden tests included
    assert float(rows[f"{grace}.ipynb"]["q1"]) == 0, rows
    assert not rows[f"{ada}.zip"]["error"] and not rows[f"{grace}.ipynb"]["error"], rows


def _proxy_of(hub):
    import psutil

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for child in psutil.Process(hub.pid).children(recursive=True):
            if "configurable-http-proxy" in " ".join(child.cmdline()):
                return child
        time.sleep(0.2)
    raise AssertionError("the hub started no configurable-http-proxy")


def _exists(name) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _processes_under(folder: Path):
    """Processes whose command line names ``folder`` (the hub's config and state) or the course's proxy."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        line = " ".join(process.info["cmdline"] or [])
        if process.info["status"] != psutil.STATUS_ZOMBIE and (str(folder) in line or str(PROXY) in line):
            found.append(process)
    return found


def test_the_one_machine_config_lets_in_the_class_and_instructors_only(tmp_path, monkeypatch):
    """classroom/jupyterhub_config.py as deployed (PAM): a member of the class's group gets in,
    an account taken out of it does not, an instructor named in INSTRUCTORS does without the
    group; and the hub's database alone lets no one in (allow_existing_users off)."""
    if os.geteuid() != 0:
        pytest.skip("creates a Unix group and accounts: needs root")
    import grp

    from jupyterhub.auth import PAMAuthenticator
    from traitlets.config import PyFileConfigLoader

    monkeypatch.setenv("SOCKLAB_HUB_STATE", str(tmp_path / "state"))
    text = (CLASSROOM / "jupyterhub_config.py").read_text()
    with _accounts(3) as ((member, outsider, teacher), group):
        _run("gpasswd", "-d", outsider, group)
        assert outsider not in grp.getgrnam(group).gr_mem
        config = tmp_path / "jupyterhub_config.py"
        config.write_text(text.replace('CLASS_GROUP = "socklab-class"', f"CLASS_GROUP = {group!r}")
                          .replace("INSTRUCTORS = set()", f"INSTRUCTORS = {{{teacher!r}}}"))
        _run("gpasswd", "-d", teacher, group)
        loaded = PyFileConfigLoader(config.name, path=str(tmp_path)).load_config()
        authenticator = PAMAuthenticator(config=loaded)
        allowed = {name: authenticator.check_allowed(name, None) for name in (member, outsider, teacher)}
        assert allowed == {member: True, outsider: False, teacher: True}, allowed
        assert authenticator.admin_users == {teacher} and authenticator.allow_existing_users is False
