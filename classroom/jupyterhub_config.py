"""JupyterHub for a class on one Linux machine: real Unix accounts, one server each.

    cd /opt/sockets-course                   # the learner-only copy (tools/labs.py classroom):
                                             # every account can read it, and it holds no solutions
    sudo make classroom                      # build/classroom-venv (the lock: jupyterhub 6,
                                             # nbgitpuller) from /usr/bin/python3, and the proxy
    sudo groupadd socklab-class              # the class: one Unix account per learner in it
    sudo useradd -m -K HOME_MODE=0700 -G socklab-class ada   # ... and a password (chpasswd)
    sudo build/classroom-venv/bin/jupyterhub -f classroom/jupyterhub_config.py

The design (the layout of The Littlest JupyterHub, with PAM and LocalProcessSpawner where
it uses its own authenticator, SystemdSpawner and Traefik)::

    browser --> proxy :8000 --> hub (login, spawning)      runs as root: PAM reads passwords,
                  |                                         and servers start as their owner
                  +-----> /user/ada/  --> ada's jupyterhub-singleuser (uid ada, cwd /home/ada)
                  +-----> /user/grace/ --> grace's ...

A learner logs in with their Unix password and gets JupyterLab from the classroom's venv;
nbgitpuller (a server extension in that venv) answers the course's links by cloning the
learner-only repository into their home (labs/README.md, *Running a class*).

What this file does not give (labs/README.md says why and what to do):
 - privacy between learners, unless PRIVATE_LOOPBACK is on: by default they share one
   127.0.0.1, and another learner can connect to a lab server (the test measures it);
   with it, classroom/netns_spawner.py gives each learner a network namespace of their own
 - enforced memory and CPU limits: LocalProcessSpawner only passes mem_limit and cpu_limit
   on as MEM_LIMIT and CPU_LIMIT; systemdspawner enforces them with cgroups
 - HTTPS: put the hub behind a TLS proxy, or set ssl_cert and ssl_key below

tests/test_classroom.py runs a hub from this file, with test accounts, random ports and a
state folder of its own (it loads this file, then overrides those).
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
COURSE = HERE.parent
# every learner's account runs it: make classroom builds it from a Python they can all read
# (elsewhere than build/ when they cannot read this checkout: it then says where)
VENV = Path(os.environ.get("SOCKLAB_VENV", COURSE / "build" / "classroom-venv"))
# the hub's database and cookie secret: root's alone
STATE = Path(os.environ.get("SOCKLAB_HUB_STATE", "/var/lib/socklab-hub"))
CLASS_GROUP = "socklab-class"
# Your Unix account, if you want the hub's admin page; not in CLASS_GROUP (collect --group
# would take your home, and its checkout with the solutions, for a learner's).
INSTRUCTORS = set()
# A loopback per learner (Linux, iproute2 and nftables; see classroom/netns_spawner.py for what
# it changes on the host). Off by default; True here, or SOCKLAB_PRIVATE_LOOPBACK=1, turns it on.
PRIVATE_LOOPBACK = os.environ.get("SOCKLAB_PRIVATE_LOOPBACK") == "1"
HUB_PORT = 8081

c = get_config()  # noqa: F821 (JupyterHub provides it)
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
STATE.chmod(0o700)  # also when it existed before

# --- who may log in: Unix accounts in the class's group, by their passwords (PAM)
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {CLASS_GROUP}
c.Authenticator.admin_users = INSTRUCTORS
c.Authenticator.allowed_users = INSTRUCTORS  # admins get in by name; learners by the group
# Only the group and INSTRUCTORS: a learner taken out of the group can no longer log in,
# even though the hub's database remembers them.
c.Authenticator.allow_existing_users = False

# --- where: the proxy listens for browsers; the hub and the learners' servers on loopback
# Learners type their Unix passwords here: serve HTTPS before the first login. Behind a TLS
# proxy, keep http on 8000 and let the proxy reach it; or serve TLS from the hub itself:
c.JupyterHub.bind_url = "http://:8000"
# c.JupyterHub.bind_url = "https://:443"
# c.JupyterHub.ssl_cert = "/etc/letsencrypt/live/HUB/fullchain.pem"
# c.JupyterHub.ssl_key = "/etc/letsencrypt/live/HUB/privkey.pem"
# The proxy's API stays on 127.0.0.1:8001 (the default), the hub on 127.0.0.1:8081.
c.JupyterHub.hub_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

# --- what each learner gets: JupyterLab from the course's environment, in their home
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# The course's JupyterLab settings (no news question) live in the venv (make classroom puts
# them there); the learner's own ~/.jupyter still wins.
c.Spawner.environment = {"PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
# Idle servers end by themselves, freeing memory (the learner's files stay): a kernel idle
# for 30 minutes with no notebook tab open on it is shut down, and the server an hour after
# its last kernel is gone and no JupyterLab tab is open (an open tab counts as activity).
c.Spawner.args = ["--MappingKernelManager.cull_idle_timeout=1800",
                  "--MappingKernelManager.cull_interval=300",
                  "--ServerApp.shutdown_no_activity_timeout=3600"]
# Informational here (see the docstring); measured needs per learner: labs/README.md.
c.Spawner.mem_limit = "1G"
c.Spawner.cpu_limit = 2.0

# --- privacy: each learner's server (and so their kernels and lab servers) in a network
# namespace of its own, reaching the hub through its own veth: the hub then listens on every
# address, so keep HUB_PORT closed to the outside with your firewall.
if PRIVATE_LOOPBACK:
    sys.path.insert(0, str(HERE))
    from netns_spawner import NetnsSpawner

    c.JupyterHub.spawner_class = NetnsSpawner
    c.JupyterHub.hub_bind_url = f"http://0.0.0.0:{HUB_PORT}"
    c.JupyterHub.hub_connect_url = f"http://127.0.0.1:{HUB_PORT}"
    c.NetnsSpawner.egress = "nat"  # nbgitpuller reaches the git host through the host

# --- stopping the hub stops everything it started: the proxy and every learner's server
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
