"""The GitHub Actions workflows a fork gets (.github/workflows/), checked offline.

check-jsonschema validates them against the GitHub-workflow schema it bundles
(--builtin-schema vendor.github-workflows: no network); the rest checks what the schema
cannot: that they run .ci/run, on which events, in how long, and that the weekly run's
DEPS=newest reaches the Makefile's install step.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
CI, WEEKLY = WORKFLOWS / "ci.yml", WORKFLOWS / "weekly.yml"
SUPPORTED = ("3.11", "3.12", "3.13", "3.14")
CI_MINUTES = 90
MAKE_ENV = {k: v for k, v in os.environ.items() if k not in ("DEPS", "MAKEFLAGS", "MFLAGS")}


def _schema_check(*paths):
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           *map(str, paths)], capture_output=True, text=True, timeout=120)


def _load(path):
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def _steps_running_ci(job):
    return [step for step in job["steps"] if re.search(r"(^|\s)(bash )?\.ci/run\b", step.get("run", ""))]


def test_every_workflow_is_valid_for_github():
    paths = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {p.name for p in paths} >= {"ci.yml", "weekly.yml"}
    done = _schema_check(*paths)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


BREAKAGES = [
    ("    runs-on: ubuntu-latest", "    run-on: ubuntu-latest", "$.jobs.test"),          # a misspelt key
    ("    timeout-minutes: 80", "    timeout-minutes: soon", "$.jobs.test"),              # not a number
    ("  pull_request:\n", "  pull-request:\n", "$.on"),                                   # no such event
]


def test_the_schema_check_fails_on_a_broken_workflow(tmp_path):
    """Each breakage in its own copy of ci.yml: the check names that file and where (one run)."""
    text = CI.read_text()
    broken = []
    for i, (old, new, _) in enumerate(BREAKAGES):
        assert old in text
        broken.append(tmp_path / f"broken{i}.yml")
        broken[-1].write_text(text.replace(old, new, 1))
    done = _schema_check(*broken)
    assert done.returncode == 1, done.stdout + done.stderr
    for path, (_, _, where) in zip(broken, BREAKAGES):
        assert f"{path.name}::{where}" in done.stdout, done.stdout


def test_ci_runs_dot_ci_run_on_push_and_pull_request():
    workflow = _load(CI)
    assert {"push", "pull_request"} <= set(workflow["on"])
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        assert 0 < job["timeout-minutes"] < CI_MINUTES, "the course's CI budget is 90 minutes"
        assert _steps_running_ci(job), "the job runs the course's own CI entry point"
        (python,) = [s["with"]["python-version"] for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")]
        assert str(python) in SUPPORTED


def test_the_browser_tests_get_a_chrome_the_runner_has():
    """The runner is not root: make's chromium target cannot apt-get install Debian's
    chromium there, so the workflow points CHROMIUM at the runner's Google Chrome, which
    the target accepts (it only checks the path)."""
    for path in (CI, WEEKLY):
        for job in _load(path)["jobs"].values():
            (step,) = _steps_running_ci(job)
            chromium = {**job.get("env", {}), **step.get("env", {})}.get("CHROMIUM")
            assert chromium == "/usr/bin/google-chrome", path.name
    makefile = (ROOT / "Makefile").read_text()
    assert "CHROMIUM ?=" in makefile, "the Makefile takes CHROMIUM from the environment"
    done = subprocess.run(["make", "-n", "chromium", "CHROMIUM=/usr/bin/google-chrome"], cwd=ROOT, env=MAKE_ENV,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "test -x /usr/bin/google-chrome" in done.stdout, done.stdout + done.stderr


def test_the_weekly_run_tests_the_newest_releases_on_the_oldest_and_newest_python():
    workflow = _load(WEEKLY)
    assert "workflow_dispatch" in workflow["on"]
    (cron,) = [entry["cron"] for entry in workflow["on"]["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert day == month == "*" and weekday not in ("*",), f"once a week: {cron}"
    (job,) = workflow["jobs"].values()
    assert 0 < job["timeout-minutes"] < CI_MINUTES
    pythons = [str(p) for p in job["strategy"]["matrix"]["python"]]
    assert {"3.11", "3.14"} <= set(pythons) and set(pythons) <= set(SUPPORTED)
    assert job["strategy"]["fail-fast"] is False, "one Python's failure does not cancel the other's run"


def _make_line_of_ci_run():
    """The make command .ci/run runs first, as a list of arguments."""
    (line,) = re.findall(r"^make test\b.*$", (ROOT / ".ci" / "run").read_text(), re.M)
    return shlex.split(line)


@pytest.mark.parametrize("path, newest", [(WEEKLY, True), (CI, False)])
def test_the_workflow_env_reaches_the_makefile_install(path, newest):
    """The environment the workflow gives .ci/run's step (workflow, job and step env), with
    .ci/run's own make command dry-run (-n -B): the weekly run installs the newest releases
    pyproject.toml allows, the push and pull-request run installs requirements.lock."""
    workflow = _load(path)
    for job in workflow["jobs"].values():
        (step,) = _steps_running_ci(job)
        env = {**MAKE_ENV, **workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
        env = {k: str(v) for k, v in env.items()}
        make = _make_line_of_ci_run()
        done = subprocess.run([make[0], "-n", "-B", *make[1:]], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert ("install --upgrade --upgrade-strategy eager -e '.[course,classroom,test]'" in done.stdout) is newest
        assert ("install -r requirements.lock" in done.stdout) is not newest


def test_a_weekly_run_without_deps_would_be_caught(tmp_path):
    """The check above can fail: the same weekly workflow without DEPS installs the lock."""
    workflow = _load(WEEKLY)
    (job,) = workflow["jobs"].values()
    assert job["env"].pop("DEPS") == "newest"
    (step,) = _steps_running_ci(job)
    env = {k: str(v) for k, v in {**MAKE_ENV, **job["env"], **step.get("env", {})}.items()}
    make = _make_line_of_ci_run()
    done = subprocess.run([make[0], "-n", "-B", *make[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "install -r requirements.lock" in done.stdout and "--upgrade-strategy eager" not in done.stdout


def test_the_runner_gets_the_chinese_font_before_the_tests():
    """make's cjk-font target installs fonts-wqy-microhei only as root; the runner is not root,
    so each workflow installs it with sudo before .ci/run, or the website's test stops make."""
    makefile = (ROOT / "Makefile").read_text()
    package = re.search(r"apt-get install -y -qq (fonts-\S+)", makefile).group(1)
    for path in (CI, WEEKLY):
        for job in _load(path)["jobs"].values():
            runs = [step.get("run", "") for step in job["steps"]]
            ci = next(i for i, run in enumerate(runs) if ".ci/run" in run)
            assert any("sudo apt-get install" in run and package in run for run in runs[:ci]), path.name


def test_the_website_workflow_publishes_what_make_site_builds():
    workflow = _load(WORKFLOWS / "site.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"
    steps = workflow["jobs"]["build"]["steps"]
    build = next(step["run"] for step in steps if "make site" in step.get("run", ""))
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    script = (ROOT / "site" / "build.py").read_text()  # where the build script puts the site by default
    assert 'default=REPO / "build" / "site"' in script and "OUT/html (the site)" in script
    assert upload["with"]["path"] == "build/site/html"
    repository = re.search(r'--repository ([^"]+)"', build).group(1)
    assert repository == "https://github.com/${{ github.repository }}"
    assert [s["uses"].split("@")[0] for s in workflow["jobs"]["deploy"]["steps"]] == ["actions/deploy-pages"]
