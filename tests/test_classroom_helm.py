"""classroom/z2jh/: the Helm values an instructor deploys with Zero to JupyterHub, checked
offline: no helm (it is not installable here) and no network.

check-jsonschema validates values.yaml against values.schema.json, the course's own schema
for the keys it sets, written from the chart's reference for the chart version both files
name. Python checks what a schema cannot: a limit against its guarantee, one repository
named by the image's build and by the pull, the default URL opening a file that the hook's
own gitpuller command puts in a home, the isolation and culling promised, the provisional
figures marked. Every check is proven here against a broken copy of the file.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
Z2JH = ROOT / "classroom" / "z2jh"
VALUES, SCHEMA = Z2JH / "values.yaml", Z2JH / "values.schema.json"
MEASURED = "# MEASURED: see labs/README.md"
# JupyterHub's memory units (its ByteSpecification): powers of 1024, one letter
HUB_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
# Kubernetes quantities, as a volume claim's size is written
K8S_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
             "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "": 1}
LAB05_CORES = 2     # lab 05 checks parallel computing only when two cores are free
HOME_PER_COPY = 100  # a home holds the clone, the exports, caches and the learner's files
PLACEHOLDERS = ("OWNER", "REPO", "COMMIT", "HUB_HOST", "INSTRUCTOR", "LEARNER1", "LEARNER2")
# what an instructor might put in their place: the file must stay valid once they do
REAL = {"OWNER": "sockets-teacher", "REPO": "sockets-course-2026", "COMMIT": "3f9c2ab",
        "HUB_HOST": "hub.example.edu", "INSTRUCTOR": "ada", "LEARNER1": "grace", "LEARNER2": "alan"}
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}


def _schema_check(*paths, schema=SCHEMA):
    # check-jsonschema as a module of this interpreter: the same package as .venv/bin/check-jsonschema
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def hub_bytes(value):
    if isinstance(value, int):
        return value
    return float(value[:-1]) * HUB_UNITS[value[-1]]


def k8s_bytes(quantity):
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity).groups()
    return float(number) * K8S_UNITS[unit]


def _build(text):
    """The build and push commands the image section's comments give the instructor."""
    (line,) = [ln for ln in text.splitlines() if re.match(r"\s*#\s+jupyter-repo2docker ", ln)]
    parser = argparse.ArgumentParser(exit_on_error=False, add_help=False)
    for option in ("--user-name", "--user-id", "--target-repo-dir", "--ref", "--image-name"):
        parser.add_argument(option)
    parser.add_argument("--no-run", action="store_true")
    parser.add_argument("repository")
    build = parser.parse_args(shlex.split(line.lstrip(" #"))[1:])
    (push,) = [ln for ln in text.splitlines() if re.match(r"\s*#\s+docker push ", ln)]
    build.pushed = shlex.split(push.lstrip(" #"))[2]
    return build


def _pull(values):
    """The arguments of the gitpuller call in the postStart hook, up to a shell operator:
    (repository, branch, folder) when it is written in full."""
    command = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    words = shlex.split(command[2]) if command[:2] == ["sh", "-c"] else command
    arguments = []
    for word in words[words.index("gitpuller") + 1:]:
        if word in ("||", "&&", ";", "|", "&"):
            break
        arguments.append(word)
    return tuple(arguments)


def _opened(values):
    """The path, under the server's root, that the default URL opens in JupyterLab."""
    url = values["singleuser"]["defaultUrl"]
    return unquote(url[len("/lab/tree/"):]) if url.startswith("/lab/tree/") else None


def _chart_versions(text):
    return set(re.findall(r"Helm chart (\d+\.\d+\.\d+)", text)) | set(re.findall(r"--version (\S+)", text))


def course_problems(text):
    """What values.yaml promises that a schema cannot check; each problem starts with its key."""
    values = yaml.safe_load(text)
    user = values["singleuser"]
    problems = []

    def problem(key, message):
        problems.append(f"{key}: {message}")

    memory, cpu = user["memory"], user["cpu"]
    if hub_bytes(memory["limit"]) < hub_bytes(memory["guarantee"]):
        problem("singleuser.memory", f"the limit {memory['limit']} is below the guarantee {memory['guarantee']}")
    if cpu["limit"] < cpu["guarantee"]:
        problem("singleuser.cpu", f"the limit {cpu['limit']} is below the guarantee {cpu['guarantee']}")
    if cpu["limit"] < LAB05_CORES:
        problem("singleuser.cpu.limit", f"{cpu['limit']} cores: lab 05's parallelism check needs {LAB05_CORES}")
    for block in ("memory", "cpu"):
        lines = re.search(rf"^  {block}:\n((?:    .*\n)+)", text, re.M).group(1).splitlines()
        for line in lines:
            if not line.rstrip().endswith(MEASURED):
                problem(f"singleuser.{block}.{line.split(':')[0].strip()}", f"a provisional figure without '{MEASURED}'")

    policy = user["networkPolicy"]
    rules = policy.get("egressAllowRules", {})
    if policy.get("enabled") is not True:
        problem("singleuser.networkPolicy.enabled", "the learners' pods must keep the chart's network policy")
    for rule, wanted, why in (("privateIPs", False, "learners would reach addresses inside the cluster"),
                              ("cloudMetadataServer", False, "learners would reach the cloud's metadata server"),
                              ("nonPrivateIPs", True, "the pull reaches the git host through this rule only")):
        if rules.get(rule) is not wanted:
            problem(f"singleuser.networkPolicy.egressAllowRules.{rule}", f"must be {wanted}: {why}")

    cull = values["cull"]
    if cull.get("enabled") is not True:
        problem("cull.enabled", "idle servers must be stopped")
    if cull["every"] > cull["timeout"]:
        problem("cull.every", f"checking every {cull['every']} s lets a server idle far beyond {cull['timeout']} s")

    build = _build(text)
    image = user["image"]
    home = user["storage"]["homeMountPath"]
    pull = _pull(values)
    if len(pull) != 3 or any(word.startswith("-") for word in pull):
        problem("singleuser.lifecycleHooks", f"gitpuller {' '.join(pull)}: expected REPOSITORY BRANCH FOLDER")
        pull = (*pull, "", "", "")[:3]
    repository, branch, folder = pull
    if repository != build.repository:
        problem("singleuser.lifecycleHooks", f"gitpuller pulls {repository}, the image is built from {build.repository}")
    if f"{image['name']}:{image['tag']}" != build.image_name or build.pushed != build.image_name:
        problem("singleuser.image", f"{image['name']}:{image['tag']} is not what the comments build "
                f"({build.image_name}) and push ({build.pushed})")
    if build.ref != image["tag"]:
        problem("singleuser.image.tag", f"the image is built from --ref {build.ref}, tagged {image['tag']}")
    if int(build.user_id) != user["uid"]:
        problem("singleuser.uid", f"the image's user is --user-id {build.user_id}, the pod runs as {user['uid']}")
    if (Path(build.target_repo_dir) / "x").is_relative_to(home):
        problem("singleuser.storage.homeMountPath", f"the image's repository ({build.target_repo_dir}) is under the "
                "home volume, which hides it: socklab, installed editable from it, would not import")
    if values["hub"]["config"]["KubeSpawner"]["working_dir"] != home:
        problem("hub.config.KubeSpawner.working_dir", f"servers must start in the home ({home})")
    opened = _opened(values)
    if opened is None:
        problem("singleuser.defaultUrl", "JupyterLab (/lab/tree/...) must open the course")
    elif folder != f"{home}/{opened.split('/')[0]}":
        problem("singleuser.defaultUrl", f"opens {opened} under {home}, but gitpuller pulls into {folder}")

    schema = json.loads(SCHEMA.read_text())
    if _chart_versions(text) != _chart_versions(schema["$comment"]) or len(_chart_versions(text)) != 1:
        problem("chart version", f"values.yaml names {sorted(_chart_versions(text))}, "
                f"the schema {sorted(_chart_versions(schema['$comment']))}")
    pinned = re.search(r"^jupyterhub==(\S+)", (ROOT / "requirements.lock").read_text(), re.M).group(1)
    said = re.findall(r"jupyterhub (\S+) \(requirements\.lock\)", text)
    if said != [pinned]:
        problem("singleuser.image", f"the comments say the image gets jupyterhub {said}, requirements.lock pins {pinned}")
    return problems


def copy_problems(text, copy):
    """What values.yaml promises about the learner-only copy (tools/labs.py classroom)."""
    values = yaml.safe_load(text)
    problems = []
    opened = _opened(values)
    inside = opened.split("/", 1)[1] if opened and "/" in opened else ""
    if not (copy / inside).is_file():
        problems.append(f"singleuser.defaultUrl: opens {inside!r}, which the learner-only copy does not have")
    size = sum(p.stat().st_size for p in copy.rglob("*") if p.is_file())
    capacity = values["singleuser"]["storage"]["capacity"]
    if k8s_bytes(capacity) < HOME_PER_COPY * size:
        problems.append(f"singleuser.storage.capacity: {capacity} is less than {HOME_PER_COPY} times "
                        f"the learner-only copy ({size / 1e6:.1f} MB)")
    return problems


@pytest.fixture(scope="module")
def learner_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp("z2jh") / "course-for-learners"
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "labs.py"), "classroom", str(copy)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return copy


def _run_hook(values, repository_url, home):
    """The postStart command exactly as values.yaml gives it, with the git repository and the
    home moved to this machine."""
    command = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    repository, _, _ = _pull(values)
    mount = values["singleuser"]["storage"]["homeMountPath"]
    local = [word.replace(repository, repository_url).replace(mount, str(home)) for word in command]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(local, cwd=home, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **GIT_ENV, "PATH": path, "HOME": str(home)})


# -- the schema -----------------------------------------------------------------------------

def test_the_values_are_valid_for_the_schema():
    done = _schema_check(VALUES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def _loose_objects(node, where="$"):
    """Every object the schema describes (one with properties) that accepts other keys."""
    found = []
    if isinstance(node, dict):
        if "properties" in node and node.get("additionalProperties") is not False:
            found.append(where)
        for key, child in node.items():
            found += _loose_objects(child, f"{where}.{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found += _loose_objects(child, f"{where}[{i}]")
    return found


def test_the_schema_is_a_schema_that_stops_at_unknown_keys(tmp_path):
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--check-metaschema", str(SCHEMA)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    schema = json.loads(SCHEMA.read_text())
    assert _loose_objects(schema) == []
    assert len(_chart_versions(schema["$comment"])) == 1, "the $comment names the chart version it was written for"
    # the walk sees a described object that would let a misspelt key through
    del schema["properties"]["singleuser"]["properties"]["memory"]["additionalProperties"]
    assert _loose_objects(schema) == ["$.properties.singleuser.properties.memory"]


SCHEMA_BREAKAGES = [
    # (in values.yaml, broken to, what check-jsonschema must name)
    ("    limit: 1G ", "    limt: 1G ", ["$.singleuser.memory", "'limt' was unexpected"]),          # a misspelt key
    ("\ncull:\n", "\ncul:\n", ["::$:", "'cul' was unexpected"]),                                   # at the top
    ("    KubeSpawner:\n", "    kubeSpawner:\n", ["$.hub.config", "'kubeSpawner'"]),  # not a class name
    ("guarantee: 0.25 ", 'guarantee: "250m" ', ["$.singleuser.cpu.guarantee"]),   # Kubernetes' CPU form: a string
    ('tag: "COMMIT"', "tag: 1234567", ["$.singleuser.image.tag", "not of type 'string'"]),  # unquoted: a number
    ('tag: "COMMIT"', 'tag: "latest"', ["$.singleuser.image.tag", "latest"]),
    ("guarantee: 512M ", "guarantee: 512Mi ", ["$.singleuser.memory.guarantee"]),  # JupyterHub has no Mi
    ("name: OWNER/REPO", "name: Sockets/Course", ["$.singleuser.image.name"]),       # image names are lowercase
    ("name: OWNER/REPO", "name: owner/repo:v1", ["$.singleuser.image.name"]),        # the tag has its own key
    ("pullPolicy: IfNotPresent", "pullPolicy: IfNotPresnt", ["$.singleuser.image.pullPolicy"]),
    ("capacity: 1Gi", "capacity: 1 GB", ["$.singleuser.storage.capacity"]),
    ("type: dynamic", "type: pvc", ["$.singleuser.storage.type"]),
    ("timeout: 3600", "timeout: 1h", ["$.cull.timeout"]),
    ("enabled: true\n    egress", 'enabled: "true"\n    egress', ["$.singleuser.networkPolicy.enabled"]),
    ("working_dir: /home/jovyan", "working_dir: home", ["$.hub.config.KubeSpawner.working_dir"]),
    ("defaultUrl: /lab/", "defaultUrl: lab/", ["$.singleuser.defaultUrl"]),
    ("oauth_callback_url: https://", "oauth_callback_url: http://", ["oauth_callback_url"]),
]


def test_the_schema_check_fails_on_broken_copies_naming_the_key(tmp_path):
    """Each breakage in its own copy of values.yaml, all checked in one run."""
    text = VALUES.read_text()
    broken = []
    for i, (old, new, _) in enumerate(SCHEMA_BREAKAGES):
        assert text.count(old) == 1, old
        broken.append(tmp_path / f"broken{i}.yaml")
        broken[-1].write_text(text.replace(old, new))
    done = _schema_check(*broken)
    assert done.returncode == 1, done.stdout + done.stderr
    for path, (old, new, names) in zip(broken, SCHEMA_BREAKAGES):
        errors = [line for line in done.stdout.splitlines() if f"{path}::" in line]
        assert errors, f"{new!r} passed the schema"
        for name in names:
            assert any(name in line for line in errors), (new, errors)


# -- what the schema cannot check -------------------------------------------------------------

def test_the_values_keep_their_promises():
    assert course_problems(VALUES.read_text()) == []


COURSE_BREAKAGES = [
    # (in values.yaml, broken to, the key the problem must name)
    ("limit: 1G ", "limit: 256M ", "singleuser.memory"),
    ("limit: 2 ", "limit: 0.25 ", "singleuser.cpu"),
    ("limit: 2 ", "limit: 1 ", "singleuser.cpu.limit"),
    ("guarantee: 512M # MEASURED: see labs/README.md", "guarantee: 512M", "singleuser.memory.guarantee"),
    ("    enabled: true\n    egress", "    enabled: false\n    egress", "singleuser.networkPolicy.enabled"),
    ("privateIPs: false", "privateIPs: true", "egressAllowRules.privateIPs"),
    ("cloudMetadataServer: false", "cloudMetadataServer: true", "egressAllowRules.cloudMetadataServer"),
    ("every: 300", "every: 7200", "cull.every"),
    ("  enabled: true\n  timeout", "  enabled: false\n  timeout", "cull.enabled"),
    ("gitpuller https://github.com/OWNER/REPO ", "gitpuller https://github.com/OTHER/REPO ", "singleuser.lifecycleHooks"),
    ("https://github.com/OWNER/REPO\n", "https://gitlab.com/OWNER/REPO\n", "singleuser.lifecycleHooks"),
    ("docker push OWNER/REPO:COMMIT", "docker push OWNER/REPO:v2", "singleuser.image"),
    ("--image-name OWNER/REPO:COMMIT", "--image-name OWNER/COURSE:COMMIT", "singleuser.image"),
    ("--ref COMMIT", "--ref HEAD", "singleuser.image.tag"),
    ("  uid: 1000", "  uid: 1001", "singleuser.uid"),
    ("--target-repo-dir /srv/course --ref", "--target-repo-dir /home/jovyan/course --ref", "singleuser.storage.homeMountPath"),
    ("working_dir: /home/jovyan", "working_dir: /srv/course", "hub.config.KubeSpawner.working_dir"),
    ("defaultUrl: /lab/tree/REPO/", "defaultUrl: /lab/tree/course/", "singleuser.defaultUrl"),
    ("defaultUrl: /lab/tree/", "defaultUrl: /tree/", "singleuser.defaultUrl"),
    ("main /home/jovyan/REPO", "/home/jovyan/REPO", "singleuser.lifecycleHooks"),
    ("--version 4.4.0", "--version 4.3.5", "chart version"),
    ("jupyterhub 6.1.1 (requirements.lock)", "jupyterhub 6.0.0 (requirements.lock)", "singleuser.image"),
]


@pytest.mark.parametrize("old, new, key", COURSE_BREAKAGES, ids=[b[1].strip()[:40] for b in COURSE_BREAKAGES])
def test_the_course_checks_fail_on_a_broken_copy(old, new, key):
    text = VALUES.read_text()
    assert text.count(old) == 1, old
    problems = course_problems(text.replace(old, new))
    assert any(p.startswith(key) or f".{key}" in p.split(":")[0] for p in problems), problems


def test_the_default_url_opens_a_file_of_the_learner_only_copy(learner_copy):
    text = VALUES.read_text()
    assert copy_problems(text, learner_copy) == []
    # a file of the repository that the learners' copy leaves out: the check sees it
    solutions = "labs/source/lab01_echo.ipynb"
    assert (ROOT / solutions).is_file() and not (learner_copy / solutions).exists()
    broken = text.replace("/notebooks/00_start_here.ipynb", f"/{solutions}")
    assert broken != text
    assert any(p.startswith("singleuser.defaultUrl") for p in copy_problems(broken, learner_copy))


def test_a_home_has_room_for_the_learner_only_copy(learner_copy):
    text = VALUES.read_text()
    assert "capacity: 1Gi" in text
    problems = copy_problems(text.replace("capacity: 1Gi", "capacity: 100Mi"), learner_copy)
    assert any(p.startswith("singleuser.storage.capacity") for p in problems), problems


def test_the_hook_pulls_the_course_where_jupyterlab_opens_it(learner_copy, tmp_path):
    """The postStart command, run as written, against a git repository of the learner-only
    copy: the notebook the default URL opens is then in the home."""
    values = yaml.safe_load(VALUES.read_text())
    _, branch, _ = _pull(values)
    origin = tmp_path / "origin"
    shutil.copytree(learner_copy, origin)
    git = ["git", "-c", "user.name=Instructor", "-c", "user.email=instructor@example.org"]
    for args in (["init", "-q", "-b", branch], ["add", "-A"], ["commit", "-q", "-m", "the learner-only copy"]):
        subprocess.run(git + args, cwd=origin, check=True, timeout=60, env={**os.environ, **GIT_ENV})
    home = tmp_path / "home"
    home.mkdir()
    done = _run_hook(values, origin.as_uri(), home)
    assert done.returncode == 0, done.stdout + done.stderr
    opened = home / _opened(values)
    assert opened.is_file(), (sorted(p.name for p in home.iterdir()), done.stdout + done.stderr)
    assert (opened.parent.parent / ".git").is_dir(), "a clone, which later pulls merge into"


def test_a_git_host_that_is_down_does_not_stop_the_server(tmp_path):
    """Kubernetes kills a container whose postStart hook fails: the hook must succeed even
    when the pull cannot, and the bare gitpuller call it wraps does fail."""
    values = yaml.safe_load(VALUES.read_text())
    home = tmp_path / "home"
    home.mkdir()
    unreachable = (tmp_path / "no-such-repository").as_uri()
    assert _run_hook(values, unreachable, home).returncode == 0
    repository, branch, folder = _pull(values)
    bare = {"singleuser": {**values["singleuser"], "lifecycleHooks": {"postStart": {"exec": {
        "command": ["gitpuller", repository, branch, folder]}}}}}
    assert _run_hook(bare, unreachable, home).returncode != 0


def test_the_placeholders_are_listed_and_replaceable(tmp_path):
    text = VALUES.read_text()
    header, body = text.split("\nhub:\n", 1)
    listed = set()
    for line in header.split("Replace these placeholders", 1)[1].splitlines()[1:]:
        first_column = re.match(r"#   (\S.*?)(?:  |$)", line)  # a name, not a continued explanation
        if first_column:
            listed |= set(re.findall(r"[A-Z][A-Z0-9_]{2,}", first_column.group(1)))
    assert listed == set(PLACEHOLDERS), "the header explains each placeholder"
    for name in PLACEHOLDERS:
        assert re.search(rf"\b{name}\b", body), f"{name} is used"
    # an instructor's copy with every placeholder replaced stays valid and consistent
    real = text
    for name in sorted(PLACEHOLDERS, key=len, reverse=True):
        real = re.sub(rf"\b{name}\b", REAL[name], real)
    assert not any(re.search(rf"\b{name}\b", real) for name in PLACEHOLDERS)
    copy = tmp_path / "values.yaml"
    copy.write_text(real)
    done = _schema_check(copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert course_problems(real) == []
