"""What a class does to one hub machine, and what one learner needs from it.

    python tools/classroom_load.py lab05 --learners 10 [--json FILE] [--no-grade]
        N learners at once, each in a Jupyter kernel of their own and a private copy
        of the lab's folder (public tests only, as a learner has), run the lab's
        solution notebook cell by cell; every learner starts each cell together
        (a barrier before each cell), as a class does when the teacher says "run
        it now". Reports, per learner and in total: each grader.check and what it
        said, the makespans socklab.load measured (by the notebook or inside a
        check), lab 05's ratios, each learner's wall time, and the machine's
        cores and load. Then grades the same notebooks as `tools/labs.py grade`
        does (otter run, hidden tests included), all N at once.
        --notebook NB (repeatable) runs NB instead of the solution; several are
        handed to the learners in turn (a wrong answer beside right ones).

    python tools/classroom_load.py resources [--json FILE] [--only lab05 ...]
        What one learner needs: for each lab's solution notebook (and notebooks
        06 and 08), run once from the top in a fresh kernel, the peak memory of
        the kernel and every process it starts (sums of RSS and PSS, sampled
        every --interval seconds), its CPU seconds and its peak CPU rate; and the
        memory of an idle JupyterLab server with one idle kernel.

Every wait has a timeout. Kernels, otter runs, servers and any process they
left behind (this process makes itself the subreaper of its descendants, so
orphans come back to it) are stopped at the end, also on Ctrl-C or a failure;
the report lists what had to be killed at the end (nothing, when all went well).
Linux only (reads /proc). Not part of `make test`; tests/test_classroom_load.py
runs it with two learners.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
LABS = ROOT / "labs"
sys.path.insert(0, str(ROOT / "tools"))
import labs as labtools  # noqa: E402  (tools/labs.py: the lab names, the autograder zip, what a run leaves)

MARK = "CLASSROOM-PROBE "
EXPERIMENTS = [(m, k) for k in ("sleeping", "computing") for m in ("serial", "threading", "forking")]

# ---------------------------------------------------------------- in the kernel
# Run before the notebook's first cell, in the learner's kernel: socklab.serve and
# socklab.load, and every socklab.grading.check_*, are wrapped to record what they
# measured and said. Nothing the notebook sees changes: the wrappers return what
# the real functions return and raise what they raise.
SETUP = r'''
def __classroom_setup():
    import functools, time, types
    import socklab, socklab.grading
    p = types.SimpleNamespace(records=[], checks=[], cpu={}, context=[], real={})
    real_serve, real_load = socklab.serve, socklab.load

    @functools.wraps(real_serve)
    def serve(*args, **kwargs):
        server = real_serve(*args, **kwargs)
        p.cpu[id(server)] = kwargs.get("cpu")
        return server

    @functools.wraps(real_load)
    def load(target, *args, **kwargs):
        result = real_load(target, *args, **kwargs)
        p.records.append({"by": p.context[-1] if p.context else "notebook",
                          "mode": getattr(target, "mode", None), "cpu": p.cpu.get(id(target)),
                          "clients": len(result.clients), "makespan": round(result.makespan, 4)})
        return result

    socklab.serve, socklab.load = serve, load
    for name in [n for n in dir(socklab.grading) if n.startswith("check_")]:
        real = p.real[name] = getattr(socklab.grading, name)

        def wrapped(*args, _real=real, _name=name, **kwargs):
            part = next((a for a in args[1:2] if isinstance(a, str)), kwargs.get("part"))
            label = f"{_name}({part})" if part else _name
            p.context.append(label)
            start = time.monotonic()
            try:
                value = _real(*args, **kwargs)
            except BaseException as exc:
                p.checks.append({"check": label, "passed": False, "seconds": round(time.monotonic() - start, 3),
                                 "message": f"{type(exc).__name__}: {exc}"})
                raise
            finally:
                p.context.pop()
            p.checks.append({"check": label, "passed": True, "seconds": round(time.monotonic() - start, 3)})
            return value

        setattr(socklab.grading, name, functools.wraps(real)(wrapped))
    return p


__classroom = __classroom_setup()
del __classroom_setup
'''

# Run after each cell (store_history=False: the learner's _ and In/Out stay as they were).
PROBE = r'''
def __classroom_probe(value, final):
    import json
    out = {"records": list(__classroom.records), "checks": list(__classroom.checks)}
    __classroom.records.clear()
    __classroom.checks.clear()
    results = getattr(value, "results", None)
    files = [value] if hasattr(value, "test_case_results") else []
    if isinstance(results, dict):
        files = list(results.values())
    out["otter"] = [{"question": f.name, "passed": bool(f.passed_all), "check_all": isinstance(results, dict),
                     "cases": [{"name": t.test_case.name, "hidden": bool(t.test_case.hidden), "passed": bool(t.passed),
                                "message": str(t.message)} for t in f.test_case_results]}
                    for f in files if hasattr(f, "test_case_results")]
    if final:
        g = globals()
        res = g.get("results")
        if isinstance(res, dict):
            out["results"] = [[k[0], k[1], v] for k, v in res.items()
                              if isinstance(k, tuple) and len(k) == 2 and isinstance(v, (int, float))]
        if isinstance(g.get("cores_free"), (int, float)):
            out["cores_free"] = g["cores_free"]
        real = __classroom.real.get("check_results")
        if real is not None and isinstance(res, dict):
            # What grading's hidden computing check would say of the numbers measured in class.
            try:
                real(res, "cpu", cores_free=g.get("cores_free"))
                out["hidden_cpu_in_class"] = {"passed": True, "message": ""}
            except BaseException as exc:
                out["hidden_cpu_in_class"] = {"passed": False, "message": f"{type(exc).__name__}: {exc}"}
    print("''' + MARK + r'''" + json.dumps(out, default=repr))
'''


def one_line(text: str, width: int = 240) -> str:
    """The line of a check's report that says what went wrong: an ...Error: line, else the last line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    found = [line for line in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b.*?:", line)]
    line = found[-1] if found else (lines[-1] if lines else "")
    return line if len(line) <= width else line[:width - 3] + "..."


# ---------------------------------------------------------------- the machine

def loadavg() -> list:
    return [round(x, 2) for x in os.getloadavg()]


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"load average: {', '.join(map(str, loadavg()))}"


def cpu_busy(seconds: float = 1.0) -> float:
    """How many cores' worth of work the whole machine did over ``seconds`` (everyone's, from /proc/stat)."""
    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    cores = os.cpu_count() or 1
    return round(cores * (1 - (idle1 - idle0) / max(1, total1 - total0)), 2)


def machine() -> dict:
    return {"cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "python": sys.version.split()[0], "uptime": uptime(), "loadavg": loadavg(),
            "busy_cores_before": cpu_busy()}


# ---------------------------------------------------------------- cleaning up

def become_subreaper() -> bool:
    """Orphaned descendants (a kernel's forked child whose parent died) come back to this process."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def kill_tree(root: psutil.Process, timeout: float = 5.0) -> list:
    """Kill ``root`` and every descendant; wait for them; return what was killed (name and pid)."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    return _kill(procs, timeout)


def _kill(procs, timeout) -> list:
    killed = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if proc.status() != psutil.STATUS_ZOMBIE:
                killed.append(f"{proc.name()} ({proc.pid})")
            proc.kill()
    psutil.wait_procs(procs, timeout=timeout)
    return killed


def kill_descendants(timeout: float = 5.0) -> list:
    """Everything still running below this process, killed and reaped: should be nothing."""
    me = psutil.Process()
    try:
        procs = me.children(recursive=True)
    except psutil.Error:
        procs = []
    killed = _kill(procs, timeout)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:  # reap orphans handed to us as subreaper
            pass
    return killed


def kernel_env() -> dict:
    """The kernels import this checkout's socklab (not whatever the environment has installed)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("MPLBACKEND", None)  # a test run's Agg would hide the figures' inline backend a learner's kernel has
    return env


async def start_kernel(folder: Path, timeout: float):
    """A kernel in ``folder`` and its client, ready; (km, kc)."""
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="python3")
    try:
        # The kernel's own log (a warning that it listens on TCP) would drown the table; its errors reach the cells.
        await asyncio.wait_for(km.start_kernel(cwd=str(folder), env=kernel_env(), stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL), timeout)
        kc = km.client()
        kc.start_channels()
        await asyncio.wait_for(kc.wait_for_ready(timeout=timeout), timeout + 5)
        kc.allow_stdin = False
        return km, kc
    except BaseException:
        await stop_kernel(km, None)
        raise


async def stop_kernel(km, kc, timeout: float = 15.0) -> None:
    """Shut the kernel down (killing it and its process group if it does not go), and the channels."""
    if kc is not None:
        with contextlib.suppress(Exception):
            kc.stop_channels()
    tree, pid = [], kernel_pid(km)
    if pid:  # psutil.Process(None) would be this process
        with contextlib.suppress(psutil.Error):  # taken while alive: psutil then refuses a reused pid
            kernel = psutil.Process(pid)
            tree = [kernel, *kernel.children(recursive=True)]
    with contextlib.suppress(Exception):
        await asyncio.wait_for(km.shutdown_kernel(now=True), timeout)
    _kill(tree, 2.0)


def kernel_pid(km):
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    return getattr(process, "pid", None)


def executor(nb, km, kc, cell_timeout):
    from nbclient import NotebookClient

    client = NotebookClient(nb, km=km, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                            record_timing=False)
    client.kc = kc
    return client


async def probe(client, code: str, index: int) -> dict:
    """Run ``code`` in the kernel outside the learner's history; the JSON it printed after MARK."""
    cell = nbformat.v4.new_code_cell(code)
    await client.async_execute_cell(cell, index, store_history=False)
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in cell.outputs if o.get("output_type") == "error"]
    if errors:
        raise RuntimeError(f"the probe failed in the kernel: {errors[0]}")
    for line in text.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    return {}


# ---------------------------------------------------------------- N learners at once

def lab_name(short: str) -> str:
    names = labtools.lab_names()
    found = [n for n in names if n == short or n.startswith(short + "_")]
    if len(found) != 1:
        raise SystemExit(f"no lab {short!r}; the labs are {', '.join(names)} (lab05 is short for lab05_concurrency)")
    return found[0]


def learner_folder(home: Path, lab: str, notebook: Path) -> Path:
    """A learner's own copy of the lab's folder (public tests, as learners get it), with ``notebook`` in it."""
    folder = home / lab
    shutil.copytree(LABS / lab, folder, ignore=shutil.ignore_patterns("__pycache__", *labtools.RUN_LITTER))
    shutil.copy(notebook, folder / f"{lab}.ipynb")
    return folder


async def barrier_wait(barrier, timeout) -> bool:
    """Wait for every learner at this cell; False if the barrier broke (someone stuck, or it timed out)."""
    try:
        await asyncio.wait_for(barrier.wait(), timeout)
        return True
    except (asyncio.TimeoutError, asyncio.BrokenBarrierError):
        await barrier.abort()
        return False


def summarise_ratios(measured: dict) -> dict:
    """Lab 05's ratios, from the six results the notebook measured."""
    r = {(m, k): v for m, k, v in measured}
    if not all(key in r and r[key] > 0 for key in EXPERIMENTS):
        return {}
    return {"threading/serial sleeping": round(r[("threading", "sleeping")] / r[("serial", "sleeping")], 3),
            "forking/serial sleeping": round(r[("forking", "sleeping")] / r[("serial", "sleeping")], 3),
            "threading/serial computing": round(r[("threading", "computing")] / r[("serial", "computing")], 3),
            "forking/threading computing": round(r[("forking", "computing")] / r[("threading", "computing")], 3)}


def stop_if_cancelled():
    """nbclient turns a cancelled cell into DeadKernelError: on Ctrl-C (the task being cancelled), stop all the same."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def run_learner(report, notebook, folder, barriers, args, started) -> None:
    """One learner: a kernel of their own, every code cell in order, each started with everyone else's.

    Fills ``report`` as it goes, so a class stopped by its timeout still says how far each got.
    """
    nb = nbformat.read(notebook, as_version=4)
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    report.update(notebook=str(notebook), folder=str(folder), checks=[], check_calls=[], measurements=[], errors=[],
                  barriers_broken=0, cells=len(cells), cells_run=0)
    km = kc = client = None
    begin = time.monotonic()
    try:
        try:
            km, kc = await start_kernel(folder, args.startup_timeout)
            report["kernel_start_seconds"] = round(time.monotonic() - begin, 2)
            client = executor(nb, km, kc, args.cell_timeout)
            await probe(client, SETUP, 0)
        except Exception as exc:  # noqa: BLE001  a learner whose kernel did not start still takes part in the barriers
            stop_if_cancelled()
            report["errors"].append(f"kernel did not start: {type(exc).__name__}: {one_line(str(exc))}")
            client = None
        busy, first = 0.0, None
        for step, (index, cell) in enumerate(cells):
            if not await barrier_wait(barriers[step], args.cell_timeout + args.startup_timeout):
                report["barriers_broken"] += 1
            if first is None:
                first = time.monotonic()
                started.setdefault("at", first)
            if client is None:
                continue
            start = time.monotonic()
            try:
                await client.async_execute_cell(cell, index)
                busy += time.monotonic() - start
                report["cells_run"] += 1
                for out in cell.outputs:
                    if out.get("output_type") == "error":
                        report["errors"].append(f"cell {index}: {out.get('ename')}: {one_line(out.get('evalue', ''))}")
                value = "_" if any(o.get("output_type") == "execute_result" for o in cell.outputs) else "None"
                found = await probe(client, f"{PROBE}\n__classroom_probe({value}, {step == len(cells) - 1})\n", index)
            except Exception as exc:  # noqa: BLE001  a dead kernel, a cell past its timeout: record, keep the barriers
                stop_if_cancelled()
                report["errors"].append(f"cell {index}: {type(exc).__name__}: {one_line(str(exc))}")
                client = None
                continue
            finally:
                report["wall_seconds"] = round(time.monotonic() - first, 2)
                report["busy_seconds"] = round(busy, 2)
            for record in found.get("records", []):
                report["measurements"].append({"cell": index, **record})
            for call in found.get("checks", []):
                report["check_calls"].append({"cell": index, **call, "message": one_line(call.get("message", ""))})
            for result in found.get("otter", []):
                failed = [c for c in result["cases"] if not c["passed"]]
                report["checks"].append({"cell": index, "question": result["question"], "passed": result["passed"],
                                         "via": "check_all" if result["check_all"] else "check",
                                         "failed_cases": [{"name": c["name"], "message": one_line(c["message"])}
                                                          for c in failed]})
            for key in ("results", "cores_free", "hidden_cpu_in_class"):
                if key in found:
                    report[key] = found[key]
        if "results" in report:
            report["ratios"] = summarise_ratios(report["results"])
    finally:
        if km is not None:
            await stop_kernel(km, kc)


async def grade_one(number, submission, archive, timeout, home: Path) -> dict:
    """``otter run`` on one submission, as tools/labs.py grade runs it; scores and each failed test's line."""
    row = {"learner": number, "submission": str(submission)}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"grade-{number:02d}-", dir=home) as out:
        # otter run's own temporary folder goes in ours: a run stopped midway leaves it behind.
        env = {**os.environ, "TMPDIR": out}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(archive), "-o", out, str(submission),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True, env=env)
        err = b""
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout)
        except asyncio.TimeoutError:
            row.update(error=f"stopped after {timeout:g} s: the notebook did not finish", seconds=timeout)
            return row
        finally:
            if proc.returncode is None:  # timed out, or this run was interrupted: otter, its kernel, its servers
                with contextlib.suppress(psutil.Error):
                    kill_tree(psutil.Process(proc.pid))
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(proc.wait(), 5)
        row["seconds"] = round(time.monotonic() - start, 2)
        results = Path(out) / "results.json"
        if proc.returncode != 0 or not results.exists():
            row["error"] = one_line(err.decode(errors="replace")) or f"otter run exited with {proc.returncode}"
            return row
        tests = [t for t in json.loads(results.read_text())["tests"] if "max_score" in t]
    row["scores"] = {t["name"]: t["score"] for t in tests}
    row["total"] = sum(t["score"] for t in tests)
    row["possible"] = sum(t["max_score"] for t in tests)
    row["failed"] = [{"question": t["name"], "message": one_line(t.get("output", ""))}
                     for t in tests if t["score"] < t["max_score"]]
    return row


async def classroom(args, lab, notebooks, home: Path, report: dict) -> None:
    counts = set()
    for nb in notebooks:
        counts.add(sum(1 for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code" and c.source.strip()))
    if len(counts) != 1:
        raise SystemExit("every --notebook must have the same number of code cells (the learners go cell by cell "
                         "together)")
    barriers = [asyncio.Barrier(args.learners) for _ in range(counts.pop())]
    assigned = [notebooks[i % len(notebooks)] for i in range(args.learners)]
    folders = [learner_folder(home / f"learner-{i + 1:02d}", lab, nb) for i, nb in enumerate(assigned)]
    report["learners"] = [{"learner": i + 1} for i in range(args.learners)]
    started = {}
    sampler = LoadSampler()
    sampler.start()
    t0 = time.monotonic()
    try:
        async with asyncio.timeout(args.timeout):
            await asyncio.gather(*(run_learner(learner, nb, folder, barriers, args, started)
                                   for learner, nb, folder in zip(report["learners"], assigned, folders)))
    except TimeoutError:
        report["class_timed_out"] = f"the class did not finish within --timeout {args.timeout:g} s"
    finally:
        sampler.stop()
        report["class_seconds"] = round(time.monotonic() - started.get("at", t0), 2)
        report["during_class"] = sampler.summary()
    if args.grade and "class_timed_out" not in report:
        archive = labtools.autograder_zip(lab, home / "autograder")
        report["grading_machine_before"] = {"uptime": uptime(), "loadavg": loadavg()}
        sampler = LoadSampler()
        sampler.start()
        t0 = time.monotonic()
        try:
            async with asyncio.timeout(args.grade_timeout + 30):
                report["grading"] = list(await asyncio.gather(
                    *(grade_one(i + 1, folder / f"{lab}.ipynb", archive, args.grade_timeout, home)
                      for i, folder in enumerate(folders))))
        finally:
            sampler.stop()
            report["grading_seconds"] = round(time.monotonic() - t0, 2)
            report["during_grading"] = sampler.summary()


class LoadSampler:
    """The 1-minute load average and the machine's busy cores, once a second, in a thread."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="load-sampler")
        self.loads, self.busy = [], []

    def _run(self):
        while not self._stop.is_set():
            self.busy.append(cpu_busy(1.0))
            self.loads.append(os.getloadavg()[0])

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def summary(self) -> dict:
        busy = sorted(self.busy)
        return {"max_loadavg_1min": round(max(self.loads, default=0), 2),
                "busy_cores_median": busy[len(busy) // 2] if busy else None,
                "busy_cores_max": busy[-1] if busy else None}


def totals(report: dict) -> dict:
    questions, calls = {}, {}
    for learner in report.get("learners", []):
        for check in learner["checks"]:
            name = check["question"] + (" (check_all)" if check.get("via") == "check_all" else "")
            q = questions.setdefault(name, {"passed": 0, "failed": 0})
            q["passed" if check["passed"] else "failed"] += 1
        for call in learner["check_calls"]:
            c = calls.setdefault(call["check"], {"passed": 0, "failed": 0})
            c["passed" if call["passed"] else "failed"] += 1
    hidden = [l["hidden_cpu_in_class"]["passed"] for l in report.get("learners", []) if "hidden_cpu_in_class" in l]
    out = {"grader.check": questions, "check calls": calls,
           "learners with every check passed": sum(all(c["passed"] for c in l["checks"]) and not l["errors"]
                                                   for l in report.get("learners", [])),
           "learners": len(report.get("learners", []))}
    if hidden:
        out["hidden cpu check on in-class results"] = {"passed": sum(hidden), "failed": len(hidden) - sum(hidden)}
    grading = report.get("grading")
    if grading:
        out["graded"] = {"full marks": sum(1 for g in grading if g.get("total") == g.get("possible")),
                         "not full": sum(1 for g in grading if "total" in g and g["total"] != g["possible"]),
                         "not graded": sum(1 for g in grading if "total" not in g)}
    return out


def print_classroom(report: dict) -> None:
    m = report["machine"]
    print(f"{report['lab']}: {report['learners_asked']} learners at once on {m['cores']} cores "
          f"({m['usable_cores']} usable); before: {m['uptime']}; busy cores before: {m['busy_cores_before']}")
    dc = report.get("during_class", {})
    print(f"class: {report.get('class_seconds')} s; during it, load average up to {dc.get('max_loadavg_1min')}, "
          f"busy cores median {dc.get('busy_cores_median')}, max {dc.get('busy_cores_max')}")
    head = f"{'#':>3} {'wall s':>7} {'busy s':>7} {'free':>5} {'ser sl':>6} {'thr sl':>6} {'frk sl':>6} " \
           f"{'ser cp':>6} {'thr cp':>6} {'frk cp':>6} {'t/s cp':>6} {'f/t cp':>6}  checks (failed: message)"
    print(head)
    for l in report.get("learners", []):
        r = {(a, b): v for a, b, v in l.get("results", [])}
        vals = " ".join(f"{r[k]:6.2f}" if k in r else f"{'-':>6}" for k in EXPERIMENTS)
        ratios = l.get("ratios", {})
        vals += " " + " ".join(f"{ratios[k]:6.2f}" if k in ratios else f"{'-':>6}"
                               for k in ("threading/serial computing", "forking/threading computing"))
        free = f"{l['cores_free']:5.2f}" if isinstance(l.get("cores_free"), (int, float)) else f"{'-':>5}"
        passed = [c["question"] for c in l["checks"] if c["passed"] and c["via"] == "check"]
        failed = []
        for c in l["checks"]:
            if not c["passed"]:
                line = f"{c['question']}: {c['failed_cases'][0]['message'] if c['failed_cases'] else '?'}"
                if line not in failed:
                    failed.append(line)
        text = f"passed {' '.join(passed) or 'none'}" + ("; FAILED " + " | ".join(failed) if failed else "")
        if l["errors"]:
            text += "; ERRORS " + " | ".join(l["errors"][:2])
        hidden = l.get("hidden_cpu_in_class")
        if hidden and not hidden["passed"]:
            text += f"; hidden cpu (in-class numbers) fails: {hidden['message']}"
        wall, busy = l.get("wall_seconds", 0), l.get("busy_seconds", 0)
        print(f"{l['learner']:>3} {wall:7.1f} {busy:7.1f} {free} {vals}  {text}")
    in_checks = [x for l in report.get("learners", []) for x in l["measurements"] if x["by"].startswith("check_")]
    if in_checks:
        print("inside checks (makespan s, min/median/max over learners):")
        groups = {}
        for x in in_checks:
            groups.setdefault((x["by"], x["mode"], x["cpu"]), []).append(x["makespan"])
        for (by, mode, cpu), values in sorted(groups.items(), key=str):
            values.sort()
            print(f"    {by:<26} {mode:<9} cpu={cpu!s:<5} {values[0]:.2f} / {values[len(values) // 2]:.2f} / "
                  f"{values[-1]:.2f}  (n={len(values)})")
    for g in report.get("grading", []):
        if "total" in g:
            fails = " | ".join(f"{f['question']}: {f['message']}" for f in g["failed"])
            print(f"graded {g['learner']:>2}: {g['total']:g}/{g['possible']:g} in {g['seconds']} s" +
                  (f"  ({fails})" if fails else ""))
        else:
            print(f"graded {g['learner']:>2}: not graded: {g.get('error')}")
    if report.get("grading"):
        dg = report.get("during_grading", {})
        print(f"grading: {report.get('grading_seconds')} s for all at once; load average up to "
              f"{dg.get('max_loadavg_1min')}")
    print("totals: " + json.dumps(report["totals"]))
    print(f"left running at the end: {report['left_running'] or 'nothing'}")


# ---------------------------------------------------------------- one learner's resources

def tree_sample(pid: int):
    """(RSS, PSS in bytes, number of processes, CPU seconds so far incl. reaped children) of pid and descendants."""
    if not pid:
        return None
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    rss = pss = cpu = 0
    count = 0
    for proc in procs:
        try:
            text = Path(f"/proc/{proc.pid}/smaps_rollup").read_text()
            fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", text, re.M))
            rss += int(fields.get("Rss", 0)) * 1024
            pss += int(fields.get("Pss", 0)) * 1024
            t = proc.cpu_times()
            cpu += t.user + t.system + t.children_user + t.children_system
            count += 1
        except (OSError, psutil.Error, ValueError):
            continue
    return rss, pss, count, cpu


class TreeSampler:
    """Samples a process tree every ``interval`` s in a thread: peak RSS and PSS sums, peak CPU rate."""

    def __init__(self, pid: int, interval: float):
        self.pid, self.interval = pid, interval
        self.samples = []  # (monotonic, rss, pss, count, cpu)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tree-sampler")

    def _run(self):
        while not self._stop.is_set():
            found = tree_sample(self.pid)
            if found:
                self.samples.append((time.monotonic(), *found))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def summary(self, window: float = 0.5) -> dict:
        s = self.samples
        if not s:
            return {}
        peak_rate = 0.0
        j = 0
        for i in range(len(s)):
            while s[i][0] - s[j][0] > window and j < i:
                j += 1
            if s[i][0] - s[j][0] >= window * 0.8:
                peak_rate = max(peak_rate, (s[i][4] - s[j][4]) / (s[i][0] - s[j][0]))
        return {"peak_rss_mb": round(max(x[1] for x in s) / 2**20, 1),
                "peak_pss_mb": round(max(x[2] for x in s) / 2**20, 1),
                "peak_processes": max(x[3] for x in s), "samples": len(s),
                "peak_cpu_cores_over_half_a_second": round(peak_rate, 2)}


def kernel_cpu(pid) -> float:
    """CPU seconds of the kernel, its threads and the children it has reaped, and of live descendants."""
    sample = tree_sample(pid)
    return sample[3] if sample else float("nan")


async def run_alone(name: str, source: Path, notebook: Path, cwd: Path, args) -> dict:
    """``notebook`` (a copy of ``source``) from the top in a fresh kernel in ``cwd``, sampled as it runs."""
    nb = nbformat.read(notebook, as_version=4)
    row = {"notebook": name, "path": str(source.relative_to(ROOT))}
    km, kc = await start_kernel(cwd, args.startup_timeout)
    try:
        pid = kernel_pid(km)
        await asyncio.sleep(1.0)
        idle = tree_sample(pid)
        row["idle_kernel_pss_mb"] = round(idle[1] / 2**20, 1) if idle else None
        cpu0 = kernel_cpu(pid)
        client = executor(nb, km, kc, args.cell_timeout)
        errors = []
        start = time.monotonic()
        with TreeSampler(pid, args.interval) as sampler:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                await client.async_execute_cell(cell, index)
                errors += [f"cell {index}: {o.get('ename')}: {one_line(o.get('evalue', ''))}"
                           for o in cell.outputs if o.get("output_type") == "error"]
        row["wall_seconds"] = round(time.monotonic() - start, 1)
        row["cpu_seconds"] = round(kernel_cpu(pid) - cpu0, 1)
        row.update(sampler.summary())
        row["errors"] = errors
    finally:
        await stop_kernel(km, kc)
    return row


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def idle_server(args, home: Path) -> dict:
    """An idle JupyterLab server (as a hub's single-user server runs it) with one idle kernel: its memory."""
    port, token = free_port(), secrets.token_hex(16)
    env = {**kernel_env(), "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "config")}
    command = [str(Path(sys.executable).with_name("jupyter-lab")), "--no-browser", f"--ServerApp.port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={home}",
               "--ServerApp.port_retries=0", *(["--allow-root"] if os.geteuid() == 0 else [])]
    log = open(home / "server.log", "w")
    proc = subprocess.Popen(command, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def api(method, path, body=None, timeout=10):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
        request = urllib.request.Request(base + path, method=method, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    row = {"notebook": "idle JupyterLab server + 1 kernel"}
    try:
        deadline = time.monotonic() + args.startup_timeout
        while True:
            try:
                api("GET", "/api/status", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    log.flush()
                    last = one_line((home / "server.log").read_text(errors="replace"))
                    raise RuntimeError(f"jupyter lab did not answer within {args.startup_timeout:g} s: {last}")
                time.sleep(0.3)
        server_only = tree_sample(proc.pid)
        kernel = api("POST", "/api/kernels", {"name": "python3"})
        # The server reports "starting" until a client talks to the kernel: wait for its process instead.
        deadline = time.monotonic() + args.startup_timeout
        while (tree_sample(proc.pid) or (0, 0, 0, 0))[2] < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the kernel's process did not start")
            time.sleep(0.3)
        time.sleep(8.0)  # the kernel has imported what it needs and settled
        cpu0 = tree_sample(proc.pid)[3]
        with TreeSampler(proc.pid, args.interval) as sampler:
            time.sleep(3.0)
        row.update(sampler.summary())
        row["cpu_seconds"] = round(tree_sample(proc.pid)[3] - cpu0, 2)
        row["wall_seconds"] = 3.0
        row["server_alone_pss_mb"] = round(server_only[1] / 2**20, 1) if server_only else None
        with contextlib.suppress(Exception):
            api("DELETE", f"/api/kernels/{kernel['id']}")
        with contextlib.suppress(Exception):
            api("POST", "/api/shutdown")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
    finally:
        if proc.poll() is None:
            kill_tree(psutil.Process(proc.pid))
        proc.wait(5)
        log.close()
    return row


RESOURCE_NOTEBOOKS = ("06_serial_versus_concurrent", "08_processes_and_threads")


async def resources(args, home: Path, report: dict) -> None:
    rows = report["rows"]
    wanted = set(args.only or [])
    for lab in labtools.lab_names():
        short = lab.split("_")[0]
        if wanted and short not in wanted and lab not in wanted:
            continue
        solution = LABS / "autograder" / lab / f"{lab}.ipynb"
        folder = learner_folder(home / short, lab, solution)
        rows.append(await run_alone(short, solution, folder / f"{lab}.ipynb", folder, args))
        print_row(rows[-1])
    for name in RESOURCE_NOTEBOOKS:
        short = name[:2]
        if wanted and short not in wanted and name not in wanted and f"nb{short}" not in wanted:
            continue
        folder = home / f"nb{short}"
        folder.mkdir()
        source = ROOT / "notebooks" / f"{name}.ipynb"
        shutil.copy(source, folder)
        rows.append(await run_alone(f"notebook {short}", source, folder / f"{name}.ipynb", folder, args))
        print_row(rows[-1])
    if not wanted or "server" in wanted:
        (home / "server").mkdir()
        try:
            rows.append(await asyncio.to_thread(idle_server, args, home / "server"))
        except (OSError, RuntimeError, psutil.Error) as exc:
            rows.append({"notebook": "idle JupyterLab server + 1 kernel", "errors": [one_line(str(exc))]})
        print_row(rows[-1])


def print_row(row, header=False):
    if header:
        print(f"{'notebook':<34} {'wall s':>6} {'cpu s':>6} {'peak cores':>10} {'peak RSS MB':>11} "
              f"{'peak PSS MB':>11} {'procs':>5}  errors")
        return
    print(f"{row['notebook']:<34} {row.get('wall_seconds', 0):6.1f} {row.get('cpu_seconds', 0):6.1f} "
          f"{row.get('peak_cpu_cores_over_half_a_second', 0):10.2f} {row.get('peak_rss_mb', 0):11.1f} "
          f"{row.get('peak_pss_mb', 0):11.1f} {row.get('peak_processes', 0):5}  "
          f"{'; '.join(row.get('errors', [])) or '-'}", flush=True)


# ---------------------------------------------------------------- main

async def guarded(coro):
    """``coro``, cancelled by SIGTERM as asyncio.run cancels it on Ctrl-C: every finally runs, kernels stop."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    try:
        return await coro
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", help="a lab (lab05, or lab05_concurrency): N learners at once; or 'resources'")
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--notebook", type=Path, action="append",
                        help="run this notebook instead of the lab's solution (repeat: handed out in turn)")
    parser.add_argument("--no-grade", dest="grade", action="store_false",
                        help="skip grading the notebooks with otter run (hidden tests), all at once")
    parser.add_argument("--json", type=Path, help="write the whole report here")
    parser.add_argument("--cell-timeout", type=float, default=180, help="seconds a cell may run (default 180)")
    parser.add_argument("--startup-timeout", type=float, default=120, help="seconds a kernel may take to start")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the whole class may take")
    parser.add_argument("--grade-timeout", type=float, default=300, help="seconds one otter run may take")
    parser.add_argument("--only", nargs="*", help="resources: only these (lab01 ... lab05, 06, 08, server)")
    parser.add_argument("--interval", type=float, default=0.05, help="resources: seconds between samples")
    args = parser.parse_args(argv)
    if args.what != "resources" and not 1 <= args.learners <= 60:
        parser.error("--learners must be from 1 to 60")
    if not Path("/proc/self/smaps_rollup").exists():
        parser.error("this tool reads /proc (Linux 4.14 or later)")

    report = {"command": " ".join([Path(sys.executable).name, "tools/classroom_load.py", *(argv or sys.argv[1:])]),
              "when": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
              "subreaper": become_subreaper()}
    home = Path(tempfile.mkdtemp(prefix="classroom-load-"))
    code = 0
    try:
        if args.what == "resources":
            report["rows"] = []
            print_row(None, header=True)
            asyncio.run(guarded(resources(args, home, report)))
        else:
            lab = lab_name(args.what)
            notebooks = [p.resolve() for p in (args.notebook or [LABS / "autograder" / lab / f"{lab}.ipynb"])]
            report.update(lab=lab, learners_asked=args.learners, notebooks=[str(p) for p in notebooks])
            asyncio.run(guarded(classroom(args, lab, notebooks, home, report)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        report["interrupted"] = True
        print("interrupted: stopping every kernel and server", file=sys.stderr)
        code = 130
    finally:
        report["left_running"] = kill_descendants()
        shutil.rmtree(home, ignore_errors=True)
        report["machine_after"] = {"uptime": uptime(), "loadavg": loadavg()}
    if args.what != "resources" and "learners" in report:
        report["totals"] = totals(report)
        print_classroom(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str) + "\n")
        print(f"wrote {args.json}")
    return code


if __name__ == "__main__":
    sys.exit(main())
