"""A JupyterHub spawner that gives each learner a loopback of their own.

On a one-machine hub (real Unix accounts, the hub run as root, LocalProcessSpawner, as
classroom/jupyterhub_config.py sets it up) every learner shares one 127.0.0.1: a lab server that learner A
starts on 127.0.0.1 answers learner B too. NetnsSpawner starts each learner's single-user
server in a Linux network namespace of its own (``jh-NAME``), so 127.0.0.1 inside it is
that learner's alone. The namespace is joined to the host by a veth pair (``jhvUID`` on the
host, ``jhpUID`` inside) with a /30 of its own taken from ``address_pool``; the server
listens on the inside address and the hub and the proxy reach it there.

In jupyterhub_config.py (the hub started as root on Linux, with iproute2's ``ip``)::

    import sys
    sys.path.insert(0, "/srv/course/classroom")          # the folder holding this file
    from netns_spawner import NetnsSpawner
    c.JupyterHub.spawner_class = NetnsSpawner
    c.JupyterHub.hub_bind_url = "http://0.0.0.0:8081"      # servers reach the hub via their veth
    c.JupyterHub.hub_connect_url = "http://127.0.0.1:8081" # the proxy reaches it as before
    c.NetnsSpawner.egress = "nat"                          # nbgitpuller reaches the git host
    # c.NetnsSpawner.dns_servers = ["192.0.2.53"]          # if /etc/resolv.conf names 127.0.0.53

What it changes on the host, per running server: a network namespace ``jh-NAME`` (a file
in /run/netns), a veth pair and its /30 route; where nft is installed, an nftables table
``ip jupyterhub_netns_UID`` that drops new connections forwarded into the namespace (from
other learners or from outside) and, with ``egress = "nat"``, masquerades the learner's
subnet out of the host; with ``egress = "nat"`` also, once, ``net.ipv4.ip_forward = 1``,
which is host-wide and is left on (other servers may rely on it). With ``dns_servers``, a
resolv.conf in /run/jupyterhub-netns/jh-NAME/, bound over /etc/resolv.conf in a mount
namespace of the server's own. All but ip_forward is removed when the server stops, when
the hub finds it dead, and, if a crashed hub left it, before the learner's next start;
processes still in the namespace are ended then (SIGTERM, then SIGKILL).

What differs inside the namespace: the hub's API is reached at the host side of the veth
(JUPYTERHUB_API_URL and JUPYTERHUB_ACTIVITY_URL are rewritten when they name a loopback or
unspecified address), so the hub must listen there too: on every address, as above, with
a firewall keeping its port closed to the outside; start() checks and says so. The host's
127.0.0.1 services (a DNS stub at 127.0.0.53, a local HTTP proxy, a public hub URL on
127.0.0.1) are out of reach. /proc/net shows the learner's own sockets only, /sys/class/net
still the host's devices. Egress is IPv4 only. A learner's SSH session, and anything started
from it, is not in the namespace. With ``egress = "none"`` the namespace reaches the host's
own addresses only. Named servers (several per learner) are not supported.
"""

import asyncio
import contextlib
import ctypes
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sys
import time
from urllib.parse import urlparse, urlunparse

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Enum, Float, List, Unicode

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SLAVE = 0x80000

NETNS_DIR = "/run/netns"
RESOLV_DIR = "/run/jupyterhub-netns"


class NetnsError(RuntimeError):
    """A one-line reason the namespace could not be made or used."""


def host_problem(egress="nat", platform=None, euid=None, which=shutil.which):
    """The one-line reason this host cannot run NetnsSpawner, or None."""
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return f"NetnsSpawner needs Linux (network namespaces); this is {platform}"
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        return ("NetnsSpawner needs a hub run as root (it makes network namespaces and "
                f"veth pairs); this hub runs as uid {euid}")
    if not find_tool("ip", which):
        return "NetnsSpawner needs the ip command (iproute2: apt install iproute2); none on PATH"
    if egress == "nat" and not find_tool("nft", which):
        return ("NetnsSpawner.egress = 'nat' needs the nft command (apt install nftables); "
                "or set c.NetnsSpawner.egress = 'none'")
    return None


def find_tool(name, which=shutil.which):
    """The tool's path on PATH or in the sbin folders root's PATH usually has."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
    return which(name, path=path)


def _libc_calls():
    """setns, unshare and mount from libc (Python 3.11 has no os.setns)."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.setns, libc.unshare, libc.mount


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _loopback_only(host):
    """True when host names this machine's loopback or 'every address' (unreachable from
    inside a namespace as written)."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, socket.AF_INET)
        except OSError:
            return False
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    return bool(addresses) and all(a.is_loopback or a.is_unspecified for a in addresses)


def choose_subnet(pool, taken, uid):
    """The /30 of pool for this uid: the one the uid points to, or the next one that
    overlaps none of the taken networks (the host's routes and addresses)."""
    pool = ipaddress.ip_network(pool)
    if pool.version != 4 or pool.prefixlen > 30:
        raise NetnsError(f"NetnsSpawner.address_pool must be an IPv4 network of /30 or wider, not {pool}")
    for net in taken:
        if net.version == 4 and net.prefixlen <= pool.prefixlen and pool.subnet_of(net):
            raise NetnsError(f"NetnsSpawner.address_pool {pool} lies inside the host's network {net}: "
                             "choose another with c.NetnsSpawner.address_pool")
    count = 2 ** (30 - pool.prefixlen)
    first = uid % count
    base = int(pool.network_address)
    for step in range(count):
        candidate = ipaddress.ip_network((base + 4 * ((first + step) % count), 30))
        if not any(candidate.overlaps(net) for net in taken if net.version == 4):
            return candidate
    raise NetnsError(f"NetnsSpawner.address_pool {pool} has no free /30 left")


class NetnsSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose servers run in a network namespace per learner."""

    address_pool = Unicode(
        "10.213.0.0/16",
        help="""IPv4 range the learners' /30 subnets are taken from (host side .1, inside
        .2). The first one tried is chosen from the uid; one that overlaps a host route
        or address is skipped. Must not overlap the host's networks.""",
    ).tag(config=True)

    egress = Enum(
        ["nat", "none"],
        "nat",
        help="""How a learner's server reaches beyond this machine (nbgitpuller's git host):
        'nat' masquerades the learner's subnet with nftables (needs nft; turns on
        net.ipv4.ip_forward, host-wide, and leaves it on); 'none' reaches only this
        host's own addresses (use an HTTP proxy on the host, set in Spawner.environment).""",
    ).tag(config=True)

    dns_servers = List(
        Unicode(),
        help="""Name servers for the namespace's /etc/resolv.conf (bound over it in a mount
        namespace of the server's own). Needed when the host's resolv.conf names a
        loopback resolver (systemd-resolved's 127.0.0.53), which the namespace cannot
        reach. Empty: the host's resolv.conf as it is.""",
    ).tag(config=True)

    reap_timeout = Float(
        5.0,
        help="Seconds processes left in the namespace get after SIGTERM before SIGKILL.",
    ).tag(config=True)

    _alloc_lock = None  # one per hub process: two spawns must not take the same subnet
    _starting = False
    _netns_fd = None
    _resolv_file = None
    _host_addr = None

    # --- names, all derived from the account so that a restarted hub finds them ---

    def _uid(self):
        try:
            return pwd.getpwnam(self.user.name).pw_uid
        except KeyError:
            raise NetnsError(f"NetnsSpawner: no Unix account named {self.user.name!r}") from None

    def _names(self):
        uid = self._uid()
        name = self.user.name
        ns = f"jh-{name}" if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,60}", name) else f"jh-uid{uid}"
        return {"ns": ns, "host": f"jhv{uid}", "inner": f"jhp{uid}",
                "table": f"jupyterhub_netns_{uid}", "uid": uid}

    # --- running commands without blocking the hub ---

    async def _run(self, *argv, check=True, timeout=15, stdin=None):
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(stdin.encode() if stdin is not None else None), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise NetnsError(f"`{' '.join(argv)}` took more than {timeout:g} s") from None
        if check and proc.returncode:
            message = err.decode(errors="replace").strip().splitlines()
            raise NetnsError(f"`{' '.join(argv)}` failed: {message[0] if message else proc.returncode}")
        return proc.returncode, out.decode(errors="replace")

    async def _ip(self, *args, **kwargs):
        return await self._run(self._tools["ip"], *args, **kwargs)

    # --- the subnet ---

    async def _taken_networks(self):
        """Every IPv4 network the host routes or holds an address in (default route aside)."""
        taken = []
        _, routes = await self._ip("-4", "-j", "route", "show", "table", "all")
        for route in json.loads(routes or "[]"):
            dst = route.get("dst", "")
            if dst in ("", "default") or route.get("type") == "multicast":
                continue
            try:
                taken.append(ipaddress.ip_network(dst, strict=False))
            except ValueError:
                continue
        _, addrs = await self._ip("-4", "-j", "addr", "show")
        for link in json.loads(addrs or "[]"):
            for info in link.get("addr_info", []):
                taken.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False))
        return taken

    async def _choose_subnet(self, uid):
        return choose_subnet(self.address_pool, await self._taken_networks(), uid)

    # --- making and removing the namespace ---

    async def _setup_network(self):
        names = self._names()
        ns, host, inner = names["ns"], names["host"], names["inner"]
        if NetnsSpawner._alloc_lock is None:
            NetnsSpawner._alloc_lock = asyncio.Lock()
        async with NetnsSpawner._alloc_lock:
            await self._teardown(force=True)  # whatever a crashed hub left for this learner
            subnet = await self._choose_subnet(names["uid"])
            host_addr, inner_addr = str(subnet[1]), str(subnet[2])
            await self._ip("netns", "add", ns)
            await self._ip("-n", ns, "link", "set", "lo", "up")
            await self._ip("link", "add", host, "type", "veth", "peer", "name", inner, "netns", ns)
        await self._ip("addr", "add", f"{host_addr}/30", "dev", host)
        await self._ip("link", "set", host, "up")
        await self._ip("-n", ns, "addr", "add", f"{inner_addr}/30", "dev", inner)
        await self._ip("-n", ns, "link", "set", inner, "up")
        await self._ip("-n", ns, "route", "add", "default", "via", host_addr)
        if self._tools["nft"]:
            await self._setup_nft(names, subnet, nat=self.egress == "nat")
        elif self._forwarding():
            self.log.warning("NetnsSpawner: net.ipv4.ip_forward is on and there is no nft to stop "
                             "other learners' namespaces from reaching %s's veth address", self.user.name)
        if self.dns_servers:
            folder = os.path.join(RESOLV_DIR, ns)
            os.makedirs(folder, mode=0o755, exist_ok=True)
            self._resolv_file = os.path.join(folder, "resolv.conf")
            with open(self._resolv_file, "w") as f:
                f.writelines(f"nameserver {server}\n" for server in self.dns_servers)
            os.chmod(self._resolv_file, 0o644)
        elif self.egress == "nat":
            self._warn_loopback_resolver()
        self._host_addr = host_addr
        return inner_addr

    @staticmethod
    def _forwarding():
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            return f.read().strip() == "1"

    async def _setup_nft(self, names, subnet, nat):
        """The learner's nft table: no new connection forwarded into the namespace (from
        another learner or from outside), and with nat, the subnet masqueraded out."""
        if nat and not self._forwarding():
            with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                f.write("1\n")
            self.log.warning("NetnsSpawner turned on net.ipv4.ip_forward (host-wide) for egress='nat'")
        host = names["host"]
        masquerade = f"""
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr {subnet} oifname != "{host}" masquerade
    }}""" if nat else ""
        ruleset = f"""table ip {names['table']} {{{masquerade}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        oifname "{host}" ct state established,related accept
        oifname "{host}" drop
    }}
}}
"""
        await self._run(self._tools["nft"], "-f", "-", stdin=ruleset)

    def _warn_loopback_resolver(self):
        try:
            with open("/etc/resolv.conf") as f:
                servers = [line.split()[1] for line in f if line.startswith("nameserver") and len(line.split()) > 1]
        except OSError:
            return
        if servers and all(_loopback_only(s) for s in servers):
            self.log.warning("NetnsSpawner: /etc/resolv.conf names only loopback resolvers (%s), which the "
                             "namespace cannot reach: set c.NetnsSpawner.dns_servers", ", ".join(servers))

    async def _reap(self, ns):
        """End every process still in the namespace: SIGTERM, then SIGKILL after reap_timeout."""
        deadline = time.monotonic() + self.reap_timeout
        sig = signal.SIGTERM
        while True:
            code, out = await self._ip("netns", "pids", ns, check=False)
            pids = [int(p) for p in out.split()] if code == 0 else []
            if not pids:
                return
            if time.monotonic() > deadline:
                sig = signal.SIGKILL
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if sig == signal.SIGKILL and time.monotonic() > deadline + 5:
                self.log.warning("NetnsSpawner: processes %s in %s would not die", pids, ns)
                return
            await asyncio.sleep(0.1)

    async def _teardown(self, force=False):
        """Remove this learner's namespace, veth, nft table and resolv.conf; each step is
        skipped when there is nothing to remove, so this is safe to call again."""
        if not hasattr(self, "_tools"):
            self._tools = {"ip": find_tool("ip"), "nft": find_tool("nft")}
        if not self._tools["ip"]:
            return
        try:
            names = self._names()
        except NetnsError:
            return  # no account, so nothing of it was made
        ns_file = os.path.join(NETNS_DIR, names["ns"])
        has_ns = os.path.exists(ns_file)
        has_veth = os.path.exists(f"/sys/class/net/{names['host']}")
        resolv_folder = os.path.join(RESOLV_DIR, names["ns"])
        if not (force or has_ns or has_veth or os.path.exists(resolv_folder)):
            return
        started = time.monotonic()
        if has_ns:
            await self._reap(names["ns"])
        if has_veth:
            await self._ip("link", "del", names["host"], check=False)
        if self._tools["nft"]:
            await self._run(self._tools["nft"], "delete", "table", "ip", names["table"], check=False)
        if has_ns:
            await self._ip("netns", "del", names["ns"], check=False)
        shutil.rmtree(resolv_folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(RESOLV_DIR)  # when no other learner's is left in it
        self._resolv_file = None
        self._host_addr = None
        if has_ns or has_veth:
            self.log.info("NetnsSpawner: removed %s and %s in %.0f ms", names["ns"], names["host"],
                          1000 * (time.monotonic() - started))

    # --- the hub's URLs as seen from inside ---

    def _inside_url(self, url):
        """url with a loopback or unspecified host replaced by the host side of the veth."""
        parsed = urlparse(url)
        if not self._host_addr or not parsed.hostname or not _loopback_only(parsed.hostname):
            return url
        netloc = self._host_addr + (f":{parsed.port}" if parsed.port else "")
        return urlunparse(parsed._replace(netloc=netloc))

    def get_env(self):
        env = super().get_env()
        for key in ("JUPYTERHUB_API_URL", "JUPYTERHUB_ACTIVITY_URL"):
            if key in env:
                env[key] = self._inside_url(env[key])
        return env

    async def _check_hub_reachable(self):
        url = self._inside_url(self.get_env()["JUPYTERHUB_API_URL"])
        parsed = urlparse(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(parsed.hostname, port), 3)
        except (OSError, asyncio.TimeoutError):
            raise NetnsError(
                f"NetnsSpawner: the learner's server could not reach the hub API at {url}: make the hub "
                "listen there, e.g. c.JupyterHub.hub_bind_url = 'http://0.0.0.0:8081' with "
                "c.JupyterHub.hub_connect_url = 'http://127.0.0.1:8081'") from None
        writer.close()
        await writer.wait_closed()

    # --- the spawner's interface ---

    def make_preexec_fn(self, name):
        drop_privileges = super().make_preexec_fn(name)
        fd = self._netns_fd
        resolv = self._resolv_file.encode() if self._resolv_file else None
        setns, unshare, mount = _libc_calls()  # looked up before the fork, called after

        def preexec():
            _check(setns(fd, CLONE_NEWNET), "setns")
            if resolv:
                _check(unshare(CLONE_NEWNS), "unshare")
                _check(mount(b"none", b"/", None, MS_REC | MS_SLAVE, None), "mount --make-rslave /")
                _check(mount(resolv, b"/etc/resolv.conf", None, MS_BIND, None), "bind resolv.conf")
            drop_privileges()

        return preexec

    async def start(self):
        if self.name:
            raise NetnsError("NetnsSpawner runs one server per learner: named servers are not supported")
        problem = host_problem(self.egress)
        if problem:
            raise NetnsError(problem)
        self._tools = {"ip": find_tool("ip"), "nft": find_tool("nft")}
        self._starting = True
        try:
            started = time.monotonic()
            self.ip = await self._setup_network()
            await self._check_hub_reachable()
            self.log.info("NetnsSpawner: %s has %s (host side %s) after %.0f ms", self.user.name,
                          self.ip, self._host_addr, 1000 * (time.monotonic() - started))
            self._netns_fd = os.open(os.path.join(NETNS_DIR, self._names()["ns"]), os.O_RDONLY)
            try:
                return await super().start()
            finally:
                os.close(self._netns_fd)
                self._netns_fd = None
        except BaseException:
            await self._teardown()
            raise
        finally:
            self._starting = False

    async def poll(self):
        status = await super().poll()
        if status is not None and not self._starting:
            await self._teardown()  # it died by itself, or the hub found it gone after a restart
        return status

    async def stop(self, now=False):
        try:
            await super().stop(now=now)
        finally:
            await self._teardown()
