"""classroom/netns_spawner.py: on a one-machine JupyterHub, a learner's 127.0.0.1 is theirs.

The slow tests run a real JupyterHub 6 (as root, on Linux) with two temporary Unix
accounts, start both learners' servers through the hub's REST API and measure: the hub
reaches each server through the proxy; a TCP server that learner A starts on 127.0.0.1
in A's namespace is refused to learner B and answers A; with the plain
LocalProcessSpawner, for contrast, B reaches it. Then the hub stops and nothing may be left.
Run them with -s to see the spawn and stop times.
"""

import contextlib
import importlib.util
import ipaddress
import json
import os
import pwd
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = ROOT / "classroom"
# the hub's environment, which every learner's account can run (make classroom builds it)
VENV = Path(os.environ.get("SOCKLAB_CLASSROOM_VENV", ROOT / "build" / "classroom-venv"))
CHP = CLASSROOM / "node_modules" / ".bin" / "configurable-http-proxy"

pytest.importorskip("jupyterhub", reason="jupyterhub is in the classroom extra, not installed here")


def load_module():
    spec = importlib.util.spec_from_file_location("netns_spawner", CLASSROOM / "netns_spawner.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


netns = load_module()


# --- fast: the one-line reasons and the choice of subnet ---------------------------------

def fake_which(*present):
    return lambda name, path=None: f"/usr/sbin/{name}" if name in present else None


def test_host_problem_says_what_is_missing_in_one_line():
    fine = dict(platform="linux", euid=0, which=fake_which("ip", "nft"))
    assert netns.host_problem(**fine) is None
    cases = {
        "Linux": dict(fine, platform="darwin"),
        "root": dict(fine, euid=1000),
        "ip command": dict(fine, which=fake_which("nft")),
        "nft command": dict(fine, which=fake_which("ip")),
    }
    for needle, wrong in cases.items():
        message = netns.host_problem(**wrong)
        assert message and needle in message and "\n" not in message, (needle, message)
    # without NAT, nft is not needed
    assert netns.host_problem(egress="none", **dict(fine, which=fake_which("ip"))) is None


def test_subnets_follow_the_uid_and_skip_what_the_host_uses():
    nets = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "127.0.0.0/8")]
    a = netns.choose_subnet("10.213.0.0/16", nets, 1001)
    b = netns.choose_subnet("10.213.0.0/16", nets, 1002)
    assert a.prefixlen == b.prefixlen == 30 and not a.overlaps(b)
    assert a.subnet_of(ipaddress.ip_network("10.213.0.0/16"))
    # taken (another learner's veth, a host route): the next free one, still in the pool
    c = netns.choose_subnet("10.213.0.0/16", nets + [a], 1001)
    assert c != a and not c.overlaps(a) and c.subnet_of(ipaddress.ip_network("10.213.0.0/16"))
    # a pool inside a host network is refused, not silently shadowed
    with pytest.raises(netns.NetnsError, match="inside the host's network"):
        netns.choose_subnet("10.213.0.0/16", [ipaddress.ip_network("10.0.0.0/8")], 1001)
    with pytest.raises(netns.NetnsError, match="no free"):
        netns.choose_subnet("10.213.0.0/29", [ipaddress.ip_network("10.213.0.0/30"),
                                              ipaddress.ip_network("10.213.0.5/32")], 1001)


# --- slow: a real hub ----------------------------------------------------------------------

def _missing_for_hub():
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "starts a JupyterHub as root with Unix accounts and network namespaces: Linux and root only"
    tools = [t for t in ("ip", "nsenter", "setpriv", "useradd", "userdel", "node") if not shutil.which(t)]
    if tools:
        return f"needs {', '.join(tools)} on PATH"
    if not CHP.exists() or not (VENV / "bin" / "jupyterhub").exists():
        return "needs the hub's environment and proxy: run make classroom"
    return None


needs_root_linux = pytest.mark.skipif(_missing_for_hub() is not None, reason=str(_missing_for_hub()))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*argv, check=True, timeout=30, **kwargs):
    return subprocess.run(argv, check=check, timeout=timeout, capture_output=True, text=True, **kwargs)


def user_python():
    """(command for the single-user server, extra environment, python for helper scripts):
    the hub's environment, which ordinary accounts must be able to run."""
    venv_python = VENV / "bin" / "python"
    probe = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            str(venv_python), "-c", "import jupyterhub"], capture_output=True, text=True, timeout=30)
    assert probe.returncode == 0, (
        f"an ordinary account cannot run {venv_python} ({probe.stderr.strip()[-200:]}): make classroom builds it "
        "from a Python every account can run, in a checkout every account can read")
    return [str(VENV / "bin" / "jupyterhub-singleuser")], {}, str(venv_python)


@pytest.fixture
def two_learners():
    """Two temporary Unix accounts; removed, with every process of theirs, at the end."""
    tag = secrets.token_hex(3)
    names = [f"nsa{tag}", f"nsb{tag}"]
    made = []
    try:
        for name in names:
            run("useradd", "--create-home", "--shell", "/bin/bash", name)
            made.append(name)
        yield [pwd.getpwnam(n) for n in names]
    finally:
        for name in made:
            uid = pwd.getpwnam(name).pw_uid
            for pid in processes_of(uid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            remove_network_of(name, uid)
            run("userdel", "--remove", name, check=False)


def processes_of(uid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/status") as f:
                    for line in f:
                        if line.startswith("Uid:") and int(line.split()[1]) == uid:
                            pids.append(int(entry))
    return pids


def network_left(name, uid):
    """What of this learner's namespace is on the host: names of what is left."""
    left = []
    if os.path.exists(f"/run/netns/jh-{name}"):
        left.append(f"netns jh-{name}")
    if os.path.exists(f"/sys/class/net/jhv{uid}"):
        left.append(f"veth jhv{uid}")
    if shutil.which("nft") and run("nft", "list", "table", "ip", f"jupyterhub_netns_{uid}",
                                   check=False).returncode == 0:
        left.append(f"nft table jupyterhub_netns_{uid}")
    if os.path.exists(f"/run/jupyterhub-netns/jh-{name}"):
        left.append(f"/run/jupyterhub-netns/jh-{name}")
    return left


def remove_network_of(name, uid):
    """Only after a failure: what a broken run could leave."""
    run("ip", "link", "del", f"jhv{uid}", check=False)
    if shutil.which("nft"):
        run("nft", "delete", "table", "ip", f"jupyterhub_netns_{uid}", check=False)
    run("ip", "netns", "del", f"jh-{name}", check=False)
    shutil.rmtree(f"/run/jupyterhub-netns/jh-{name}", ignore_errors=True)


class Hub:
    """A JupyterHub on 127.0.0.1 with random ports, its files in a temporary folder,
    driven through its REST API by an admin service."""

    def __init__(self, folder, learners, spawner, extra="", bind=None):
        self.folder = folder
        self.token = secrets.token_hex(16)
        self.hub_port, self.proxy_port, self.api_port = free_port(), free_port(), free_port()
        cmd, env, self.python = user_python()
        netns_spawner = spawner == "NetnsSpawner"
        # the namespaces reach the hub at their veth's host side, so it listens on every address
        bind = bind or ("0.0.0.0" if netns_spawner else "127.0.0.1")
        config = f"""
import sys
sys.path.insert(0, {str(CLASSROOM)!r})
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.proxy_port}
c.JupyterHub.hub_bind_url = "http://{bind}:{self.hub_port}"
c.JupyterHub.hub_connect_url = "http://127.0.0.1:{self.hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.api_port}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {secrets.token_hex(8)!r}
c.Authenticator.allowed_users = {set(p.pw_name for p in learners)!r}
c.JupyterHub.services = [{{"name": "tester", "api_token": {self.token!r}}}]
c.JupyterHub.load_roles = [{{"name": "tester", "services": ["tester"], "scopes": [
    "admin:users", "admin:servers", "admin:server_state", "tokens", "access:servers"]}}]
c.Spawner.cmd = {cmd!r}
c.Spawner.environment = {env!r}
c.Spawner.poll_interval = 1
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
"""
        if netns_spawner:
            config += "from netns_spawner import NetnsSpawner\nc.JupyterHub.spawner_class = NetnsSpawner\n"
        else:
            config += f"c.JupyterHub.spawner_class = {spawner!r}\n"
        config += extra
        (folder / "jupyterhub_config.py").write_text(config)
        self.log = open(folder / "jupyterhub.log", "a")
        self.proxy_pid = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [str(VENV / "bin" / "jupyterhub"), "-f", str(self.folder / "jupyterhub_config.py")],
            cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.api("GET", "/")
                break
            except (OSError, urllib.error.URLError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the hub did not start:\n" + self.log_tail()) from None
                time.sleep(0.3)
        with contextlib.suppress(OSError, ValueError):
            self.proxy_pid = int((self.folder / "jupyterhub-proxy.pid").read_text())

    def crash(self):
        """SIGKILL to the hub alone, as a crash: the proxy and the servers live on."""
        self.proc.kill()
        self.proc.wait(30)

    def log_tail(self, lines=60):
        self.log.flush()
        return "\n".join((self.folder / "jupyterhub.log").read_text().splitlines()[-lines:])

    def api(self, method, path, body=None, timeout=30):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.hub_port}/hub/api{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)

    def spawn(self, name, timeout=90):
        """Start name's server; the seconds from the request to the hub's 'ready'."""
        started = time.monotonic()
        status, _ = self.api("POST", f"/users/{name}/server")
        assert status in (201, 202), status
        while True:
            _, model = self.api("GET", f"/users/{name}")
            server = model["servers"].get("")
            if server and server["ready"]:
                return time.monotonic() - started, server
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{name}'s server was not ready in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop_server(self, name, timeout=60):
        started = time.monotonic()
        self.api("DELETE", f"/users/{name}/server")
        while self.api("GET", f"/users/{name}")[1]["servers"]:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{name}'s server did not stop in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)
        return time.monotonic() - started

    def wait_gone(self, name, timeout=30):
        """Wait for the hub to notice that name's server is gone (its poll)."""
        deadline = time.monotonic() + timeout
        while self.api("GET", f"/users/{name}")[1]["servers"]:
            if time.monotonic() > deadline:
                raise AssertionError(f"the hub did not notice {name}'s server died:\n{self.log_tail()}")
            time.sleep(0.2)

    def status_through_proxy(self, name):
        """(a): the server's /api/status through the proxy, with a token of the learner's
        own; the server checks that token with the hub's API, so this also proves the
        server reaches the hub."""
        _, token = self.api("POST", f"/users/{name}/tokens", {"note": "test", "expires_in": 600})
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.proxy_port}/user/{name}/api/status",
            headers={"Authorization": f"token {token['token']}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())

    def git_pull(self, name, repo, target, timeout=60):
        """nbgitpuller's API in name's server (what an nbgitpuller link runs): the phases
        it reports, up to 'finished' or 'error' (followed by its message)."""
        _, token = self.api("POST", f"/users/{name}/tokens", {"note": "test", "expires_in": 600})
        query = urllib.parse.urlencode({"repo": repo, "branch": "main", "targetpath": target})
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.proxy_port}/user/{name}/git-pull/api?{query}",
            headers={"Authorization": f"token {token['token']}"})
        phases = []
        with urllib.request.urlopen(request, timeout=timeout) as response:
            for line in response:
                if line.startswith(b"data: "):
                    event = json.loads(line[len(b"data: "):])
                    phases.append(event.get("phase"))
                    if event.get("phase") == "error":
                        phases.append(event.get("message"))
                    if event.get("phase") in ("finished", "error"):
                        break
        return phases

    def shutdown(self, timeout=90):
        """SIGTERM, as an admin stopping the hub: it stops the servers and the proxy."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                raise AssertionError("the hub did not stop on SIGTERM:\n" + self.log_tail()) from None
        self.log.close()

    def kill_everything(self):
        """Only after a failure: the hub and the proxy, whatever state they are in."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self.proxy_pid and pid_alive(self.proxy_pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proxy_pid, signal.SIGKILL)
        if not self.log.closed:
            self.log.close()


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except OSError:
        return False


@contextlib.contextmanager
def hub_running(folder, learners, spawner, extra="", bind=None):
    hub = Hub(folder, learners, spawner, extra, bind)
    try:
        yield hub
    except BaseException:
        print(hub.log_tail(120))
        raise
    finally:
        hub.kill_everything()


def wait_reaped(pid, timeout=60):
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}"):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} was not reaped in {timeout} s")
        time.sleep(0.1)


def server_pid(server):
    return server["state"]["pid"]


# A TCP server on 127.0.0.1 (port 0) that prints its port, then answers each connection
# with its name; it ends after 120 s at most. And a client that says what happened.
LISTENER = r"""
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 0)); s.listen()
print(s.getsockname()[1], flush=True)
s.settimeout(1)
end = time.monotonic() + 120
while time.monotonic() < end:
    try:
        c, peer = s.accept()
    except socket.timeout:
        continue
    with c:
        c.sendall((sys.argv[2] + " " + peer[0] + "\n").encode())
"""
PROBE = r"""
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as c:
        c.settimeout(3)
        print("connected", c.recv(100).decode().strip())
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("failed", type(e).__name__)
"""


def in_namespace_of(pid, account):
    """argv prefix: run as account in the network namespace of process pid."""
    return ["nsenter", f"--target={pid}", "--net", "--",
            "setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]


def start_listener(prefix, python, host, label):
    proc = subprocess.Popen(prefix + [python, "-c", LISTENER, host, label], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        proc.kill()
        proc.communicate(timeout=10)
        raise AssertionError("the listener did not start")
    line = proc.stdout.readline().strip()
    if not line:
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"the listener failed: {err}")
    return proc, int(line)


def stop_listener(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def probe(prefix, python, host, port):
    return run(*prefix, python, "-c", PROBE, host, str(port)).stdout.strip()


def assert_nothing_left(hub, learners):
    left = []
    for account in learners:
        left += [f"process {pid} of {account.pw_name}" for pid in processes_of(account.pw_uid)]
        left += network_left(account.pw_name, account.pw_uid)
    if os.path.exists("/run/jupyterhub-netns") and not os.listdir("/run/jupyterhub-netns"):
        left.append("/run/jupyterhub-netns")
    if hub.proxy_pid and pid_alive(hub.proxy_pid):
        left.append(f"proxy {hub.proxy_pid}")
    if hub.proc.poll() is None:
        left.append(f"hub {hub.proc.pid}")
    assert not left, left


@contextlib.contextmanager
def outside_host():
    """A stand-in for the git host beyond this machine: a namespace of its own behind a
    veth with 198.51.100.0/30 (TEST-NET-2), and no route back to the learners' subnets,
    so only masqueraded traffic gets answers."""
    tag = secrets.token_hex(3)
    ns, veth = f"nstest-out-{tag}", f"nto{tag}"
    run("ip", "netns", "add", ns)
    try:
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "addr", "add", "198.51.100.1/30", "dev", veth)
        run("ip", "link", "set", veth, "up")
        run("ip", "-n", ns, "addr", "add", "198.51.100.2/30", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        yield ns
    finally:
        for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        run("ip", "link", "del", veth, check=False)
        run("ip", "netns", "del", ns, check=False)


def git_repository(folder):
    """A bare repository, branch main with one commit, for git daemon to serve."""
    work, bare = folder / "work", folder / "course.git"
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    run("git", "init", "-q", "-b", "main", str(work), env=env)
    (work / "README.md").write_text("pulled through the NAT\n")
    run("git", "-C", str(work), "add", "README.md", env=env)
    run("git", "-C", str(work), "commit", "-q", "-m", "one", env=env)
    run("git", "clone", "-q", "--bare", str(work), str(bare), env=env)
    return bare


def wait_for_port(ns, host, port, timeout=20):
    """Wait until something listens on host:port in namespace ns."""
    deadline = time.monotonic() + timeout
    while run("ip", "netns", "exec", ns, "python3", "-c",
              f"import socket; socket.create_connection(({host!r}, {port}), timeout=1).close()",
              check=False).returncode:
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on {host}:{port} in {ns}")
        time.sleep(0.2)


@contextlib.contextmanager
def ip_forward_restored():
    path = "/proc/sys/net/ipv4/ip_forward"
    with open(path) as f:
        before = f.read()
    try:
        yield
    finally:
        with open(path, "w") as f:
            f.write(before)


@pytest.mark.slow
@pytest.mark.usefixtures("no_notebook_meanwhile")
@needs_root_linux
def test_netns_spawner_gives_each_learner_a_private_loopback(two_learners, tmp_path):
    a, b = two_learners
    nat = shutil.which("nft") is not None
    extra = f'c.NetnsSpawner.egress = "{"nat" if nat else "none"}"\nc.NetnsSpawner.dns_servers = ["192.0.2.53"]\n'
    with ip_forward_restored(), hub_running(tmp_path, two_learners, "NetnsSpawner", extra) as hub:
        # a crashed hub's leftovers for A: the spawner removes them before making its own
        run("ip", "netns", "add", f"jh-{a.pw_name}")
        run("ip", "link", "add", f"jhv{a.pw_uid}", "type", "veth", "peer", "name", f"jhs{a.pw_uid}")
        spawn_a, server_a = hub.spawn(a.pw_name)
        spawn_b, server_b = hub.spawn(b.pw_name)
        pid_a, pid_b = server_pid(server_a), server_pid(server_b)

        # (a) the hub and the proxy reach each server, and each server the hub's API
        for account in (a, b):
            status, model = hub.status_through_proxy(account.pw_name)
            assert status == 200 and "started" in model
        # each server runs as its learner, in a network namespace that is not the host's
        host_ns = os.readlink("/proc/self/ns/net")
        for pid, account in ((pid_a, a), (pid_b, b)):
            assert os.stat(f"/proc/{pid}").st_uid == account.pw_uid
            assert os.readlink(f"/proc/{pid}/ns/net") != host_ns
        assert os.readlink(f"/proc/{pid_a}/ns/net") != os.readlink(f"/proc/{pid_b}/ns/net")
        # the namespace's /etc/resolv.conf is the one dns_servers asked for
        with open(f"/proc/{pid_a}/root/etc/resolv.conf") as f:
            assert f.read() == "nameserver 192.0.2.53\n"

        # (b) A's lab server on 127.0.0.1 is A's alone
        as_a, as_b = in_namespace_of(pid_a, a), in_namespace_of(pid_b, b)
        listener, port = start_listener(as_a, hub.python, "127.0.0.1", "A")
        assert probe(as_b, hub.python, "127.0.0.1", port) == "refused"
        assert probe(as_a, hub.python, "127.0.0.1", port) == "connected A 127.0.0.1"

        # nor can B reach a server A opens on A's veth address, which the host (the
        # proxy's place) reaches: with ip_forward on for NAT, the nft table drops it
        a_inside = next(addr for addr in ips_in(pid_a) if not addr.startswith("127."))
        # the hub saw A's server call its API from there (on start, and to check tokens)
        assert f"GET /hub/api (@{a_inside})" in (hub.folder / "jupyterhub.log").read_text()
        on_veth, veth_port = start_listener(as_a, hub.python, a_inside, "A")
        try:
            assert probe([], hub.python, a_inside, veth_port).startswith("connected A ")
            assert probe(as_b, hub.python, a_inside, veth_port) == "failed TimeoutError"
        finally:
            stop_listener(on_veth)

        # egress: a server beyond the host answers A through the NAT
        if not nat:
            print("\nno nft here: egress through NAT not tested (apt install nftables)")
        else:
            with outside_host() as ns:
                outside, out_port = start_listener(["ip", "netns", "exec", ns], hub.python, "198.51.100.2", "git")
                try:
                    assert probe(as_a, hub.python, "198.51.100.2", out_port) == "connected git 198.51.100.1"
                finally:
                    stop_listener(outside)
                # and nbgitpuller, in A's server, clones a repository from there
                repo = git_repository(tmp_path / "git")
                daemon = subprocess.Popen(
                    ["ip", "netns", "exec", ns, "git", "daemon", "--export-all", "--listen=198.51.100.2",
                     f"--base-path={repo.parent}", str(repo.parent)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
                try:
                    wait_for_port(ns, "198.51.100.2", 9418)
                    phases = hub.git_pull(a.pw_name, f"git://198.51.100.2/{repo.name}", "course")
                finally:
                    daemon.kill()
                    daemon.wait(10)
                assert phases and phases[-1] == "finished", phases
                assert (Path(a.pw_dir) / "course" / "README.md").read_text() == "pulled through the NAT\n"

        # A's server dies by itself: the hub's poll removes the namespace, and the
        # listener A left in it is ended too
        os.kill(pid_a, signal.SIGKILL)
        hub.wait_gone(a.pw_name)
        deadline = time.monotonic() + 30
        while network_left(a.pw_name, a.pw_uid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert network_left(a.pw_name, a.pw_uid) == []
        assert listener.wait(30) == -signal.SIGTERM
        stop_listener(listener)

        respawn_a, server_a = hub.spawn(a.pw_name)
        stop_b = hub.stop_server(b.pw_name)
        assert network_left(b.pw_name, b.pw_uid) == []
        stop_a = hub.stop_server(a.pw_name)
        respawn_b, _ = hub.spawn(b.pw_name)  # left running: the hub's shutdown stops it
        hub.shutdown()
        assert_nothing_left(hub, two_learners)
    made, removed = netns_timings(hub)
    assert len(made) == 4 and len(removed) >= 5, (made, removed)  # 4 spawns; 4 stops, 1 death
    print(f"\nNetnsSpawner: spawn {spawn_a:.2f} s (A, after removing leftovers), {spawn_b:.2f} s (B), "
          f"{respawn_a:.2f} s and {respawn_b:.2f} s again; stop {stop_a:.2f} s (A), {stop_b:.2f} s (B); "
          f"namespace made in {', '.join(f'{ms:.0f}' for ms in made)} ms, "
          f"removed in {', '.join(f'{ms:.0f}' for ms in removed)} ms")


def ips_in(pid):
    out = run("nsenter", f"--target={pid}", "--net", "--", "ip", "-4", "-j", "addr", "show").stdout
    return [info["local"] for link in json.loads(out) for info in link.get("addr_info", [])]


def netns_timings(hub):
    """The spawner's own figures from the hub's log: ms to make and to remove a namespace."""
    made, removed = [], []
    for line in (hub.folder / "jupyterhub.log").read_text().splitlines():
        if "NetnsSpawner: " in line and " ms" in line:
            ms = float(line.rsplit(" ms", 1)[0].rsplit(" ", 1)[1])
            (made if "after" in line else removed).append(ms)
    return made, removed


@pytest.mark.slow
@pytest.mark.usefixtures("no_notebook_meanwhile")
@needs_root_linux
def test_plain_local_process_spawner_shares_loopback(two_learners, tmp_path):
    """(c) The contrast: with jupyterhub's own LocalProcessSpawner, B reaches A's server."""
    a, b = two_learners
    with hub_running(tmp_path, two_learners, "jupyterhub.spawner.LocalProcessSpawner") as hub:
        spawn_a, server_a = hub.spawn(a.pw_name)
        spawn_b, server_b = hub.spawn(b.pw_name)
        for account in (a, b):
            status, model = hub.status_through_proxy(account.pw_name)
            assert status == 200 and "started" in model
        pid_a, pid_b = server_pid(server_a), server_pid(server_b)
        assert os.readlink(f"/proc/{pid_a}/ns/net") == os.readlink("/proc/self/ns/net")
        as_a, as_b = in_namespace_of(pid_a, a), in_namespace_of(pid_b, b)
        listener, port = start_listener(as_a, hub.python, "127.0.0.1", "A")
        try:
            assert probe(as_b, hub.python, "127.0.0.1", port) == "connected A 127.0.0.1"
        finally:
            stop_listener(listener)
        stop_b = hub.stop_server(b.pw_name)
        stop_a = hub.stop_server(a.pw_name)
        respawn_a, _ = hub.spawn(a.pw_name)
        respawn_b, _ = hub.spawn(b.pw_name)
        hub.shutdown()
        assert_nothing_left(hub, two_learners)
    print(f"\nLocalProcessSpawner: spawn {spawn_a:.2f} s (A), {spawn_b:.2f} s (B), {respawn_a:.2f} s and "
          f"{respawn_b:.2f} s again; stop {stop_a:.2f} s (A), {stop_b:.2f} s (B)")


@pytest.mark.slow
@pytest.mark.usefixtures("no_notebook_meanwhile")
@needs_root_linux
def test_netns_spawner_after_a_hub_crash(two_learners, tmp_path):
    """The hub dies (SIGKILL) with both servers up, and B's server dies while it is down.
    The restarted hub finds A's server still up behind its namespace, and B's namespace,
    with what B left in it, is removed at its first poll."""
    a, b = two_learners
    with hub_running(tmp_path, two_learners, "NetnsSpawner", 'c.NetnsSpawner.egress = "none"\n') as hub:
        pid_a = server_pid(hub.spawn(a.pw_name)[1])
        pid_b = server_pid(hub.spawn(b.pw_name)[1])
        left_by_b, _ = start_listener(in_namespace_of(pid_b, b), hub.python, "127.0.0.1", "B")
        try:
            hub.crash()
            os.kill(pid_b, signal.SIGKILL)
            # orphaned, it is init's to reap; a zombie would pass the hub's kill(pid, 0) as
            # alive (here init reaps within seconds, where systemd does at once)
            wait_reaped(pid_b)
            hub.start()
            hub.wait_gone(b.pw_name)
            assert network_left(b.pw_name, b.pw_uid) == []
            assert left_by_b.wait(30) == -signal.SIGTERM
        finally:
            stop_listener(left_by_b)
        kept = [f"netns jh-{a.pw_name}", f"veth jhv{a.pw_uid}"]
        if shutil.which("nft"):
            kept.append(f"nft table jupyterhub_netns_{a.pw_uid}")
        assert pid_alive(pid_a) and network_left(a.pw_name, a.pw_uid) == kept
        status, _ = hub.status_through_proxy(a.pw_name)
        assert status == 200
        hub.stop_server(a.pw_name)
        assert network_left(a.pw_name, a.pw_uid) == []
        hub.shutdown()
        assert_nothing_left(hub, two_learners)


@pytest.mark.slow
@pytest.mark.usefixtures("no_notebook_meanwhile")
@needs_root_linux
def test_netns_spawner_says_when_the_hub_listens_on_loopback_only(two_learners, tmp_path):
    """A hub on 127.0.0.1 alone cannot be reached from a namespace: the spawn fails with
    the one-line fix in the hub's log, and leaves nothing behind."""
    a, _ = two_learners
    with hub_running(tmp_path, two_learners, "NetnsSpawner", 'c.NetnsSpawner.egress = "none"\n',
                     bind="127.0.0.1") as hub:
        with pytest.raises(urllib.error.HTTPError) as failure:
            hub.spawn(a.pw_name)
        failure.value.close()
        assert failure.value.code == 500
        lines = [line for line in hub.log_tail(400).splitlines() if "could not reach the hub API" in line]
        assert lines and "hub_bind_url = 'http://0.0.0.0:8081'" in lines[0], hub.log_tail()
        assert network_left(a.pw_name, a.pw_uid) == []
        hub.shutdown()
        assert_nothing_left(hub, two_learners)
