"""``python tools/bench.py`` (``make bench``): measure the helpers and the course on this machine.

A course about concurrency must itself be measured. Each comparison runs side
by side in one run, on the machine at hand:

* stop: socklab's ``stop()`` against the stdlib's ``shutdown()`` of
  ``serve_forever()``, which only notices every 0.5 s; and socklab's start;
* recording: requests per second of a threading echo server with and without
  socklab's per-request records;
* fidelity: measured makespan over the ideal, for 8 clients with 0.2 s of
  sleeping work (serial ideal 1.6 s; threading and forking 0.2 s);
* scale: 1,000 concurrent connections against a threading server and two event
  loops, each in its own process so its threads and memory are its own;
* the course: the time to execute each notebook against its floor (kernel
  start-up plus the waits a notebook asks for on purpose).

A table by default; ``--json`` for machines; ``--quick`` for a smoke test
(small counts, and only the first notebook). It needs the repository (the
notebooks, and tools/labs.py to grade the labs), so it lives here, not in the
installed package.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import socketserver
import statistics
import sys
import threading
import time
from pathlib import Path

import labs as lab_tool  # tools/labs.py: this script's folder is first on sys.path
from socklab import load, serve
from socklab.cli import spawn_server

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {
    "stop_ms_socklab": ("<", 5.0),
    "recording_overhead": ("<", 0.10),
    "fidelity_serial": ("<", 1.15),
    "fidelity_threading": ("<", 1.15),
    "fidelity_forking": ("<", 1.15),
    "course_ratio": ("<", 2.0),
    "lab_grading_seconds_max": ("<", 30.0),  # a class of 100 graded in under an hour on two cores
}


def _median_ms(samples):
    return round(1000 * statistics.median(samples), 3)


# ------------------------------------------------------------------ stop, start
def stdlib_shutdown_seconds() -> float:
    """How long a plain socketserver's shutdown() takes: up to serve_forever's 0.5 s poll."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    time.sleep(0.01)
    start = time.perf_counter()
    server.shutdown()
    elapsed = time.perf_counter() - start
    thread.join()
    server.server_close()
    return elapsed


def stop_and_start(n: int = 20) -> dict:
    def socklab_once(mode):
        server = serve(mode=mode, name="bench-stop")
        load(server, clients=2)
        start = time.perf_counter()
        server.stop()
        return time.perf_counter() - start

    def start_once():
        start = time.perf_counter()
        server = serve(name="bench-start")
        elapsed = time.perf_counter() - start
        server.stop()
        return elapsed

    by_mode = {mode: _median_ms([socklab_once(mode) for _ in range(n)]) for mode in ("serial", "threading", "forking")}
    return {
        "stop_ms_socklab": max(by_mode.values()),
        "stop_ms_socklab_by_mode": by_mode,
        "stop_ms_stdlib": _median_ms([stdlib_shutdown_seconds() for _ in range(max(3, n // 2))]),
        "start_ms_socklab": _median_ms([start_once() for _ in range(n)]),
    }


# -------------------------------------------------------------------- recording
def _hammer(address, requests, threads) -> float:
    """Requests per second: ``threads`` clients, each connect-send-read-close in a loop."""
    per_thread = requests // threads
    barrier = threading.Barrier(threads + 1)
    failures = []

    def client():
        barrier.wait()
        for _ in range(per_thread):
            try:
                with socket.create_connection(address, timeout=10) as sock:
                    sock.sendall(b"x\n")
                    sock.shutdown(socket.SHUT_WR)
                    while sock.recv(4096):
                        pass
            except OSError as exc:
                failures.append(exc)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed during the recording benchmark: {failures[0]}")
    return per_thread * threads / elapsed


def recording(requests: int = 2000, threads: int = 8, rounds: int = 3) -> dict:
    """Best of ``rounds`` for each, alternating, so drift in the machine's load hits both."""
    rates = {True: [], False: []}
    for _ in range(rounds):
        for record in (True, False):
            with serve(mode="threading", record=record, backlog=1024, name="bench-recording") as server:
                rates[record].append(_hammer(server.address, requests, threads))
    with_records, without = max(rates[True]), max(rates[False])
    return {
        "recording_overhead": round(max(0.0, 1 - with_records / without), 4),
        "requests_per_second_recording": round(with_records),
        "requests_per_second_not_recording": round(without),
    }


# --------------------------------------------------------------------- fidelity
def fidelity(clients: int = 8, work: float = 0.2) -> dict:
    out = {}
    for mode in ("serial", "threading", "forking"):
        with serve(mode=mode, work=work, name="bench-fidelity") as server:
            makespan = load(server, clients=clients, timeout=10 + clients * work).makespan
        ideal = clients * work if mode == "serial" else work
        out[f"fidelity_{mode}"] = round(makespan / ideal, 4)
        out[f"makespan_{mode}"] = round(makespan, 4)
    return out


# ------------------------------------------------------------------------ scale
def _raise_file_limit(needed: int):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            raise RuntimeError(f"this benchmark needs {needed} open files; the limit is {hard} (ulimit -Hn)")


def _one_scale_run(mode: str, connections: int, work: float) -> dict:
    import psutil

    with spawn_server(mode=mode, work=work, backlog=min(4096, max(128, connections))) as process:
        server = psutil.Process(process.pid)
        baseline_rss = server.memory_info().rss
        peaks = {"threads": server.num_threads(), "rss": baseline_rss}
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                try:
                    peaks["threads"] = max(peaks["threads"], server.num_threads())
                    peaks["rss"] = max(peaks["rss"], server.memory_info().rss)
                except psutil.Error:
                    return
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            run = load(process.address, clients=connections, timeout=30 + work, strict=False)
        finally:
            sampling.set()
            sampler.join(timeout=5)
    return {
        "server": mode,
        "connections": connections,
        "seconds": round(run.makespan, 3),
        "ideal_seconds": work,
        "failed": len(run.failed),
        "peak_threads": peaks["threads"],
        "peak_rss_mb": round(peaks["rss"] / 2**20, 1),
        "rss_growth_mb": round((peaks["rss"] - baseline_rss) / 2**20, 1),
    }


def scale(connections: int = 1000, work: float = 0.5) -> dict:
    _raise_file_limit(2 * connections + 256)
    return {"scale": [_one_scale_run(mode, connections, work) for mode in ("threading", "selectors", "asyncio")]}


# ----------------------------------------------------------------------- course
def _kernel_startup(runs: int = 3) -> float:
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(runs):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
        start = time.perf_counter()
        NotebookClient(nb, timeout=60, kernel_name="python3").execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def course(limit: int = None) -> dict:
    """Execute each notebook (the first ``limit`` of them) in a fresh kernel; compare with its floor.

    A notebook's floor is kernel start-up (measured here) plus the waits it asks
    for on purpose, which it declares in its metadata: ``socklab.floor_seconds``.
    """
    import nbformat
    from nbclient import NotebookClient

    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))[:limit]
    if not notebooks:
        return {}
    startup = _kernel_startup()
    rows, total, floor = [], 0.0, 0.0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        declared = float(nb.metadata.get("socklab", {}).get("floor_seconds", 0.0))
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - start
        rows.append({"notebook": path.name, "seconds": round(seconds, 2),
                     "floor_seconds": round(startup + declared, 2)})
        total += seconds
        floor += startup + declared
    return {
        "course_seconds": round(total, 2),
        "course_floor_seconds": round(floor, 2),
        "course_ratio": round(total / floor, 3),
        "kernel_startup_seconds": round(startup, 2),
        "notebooks": rows,
    }


def lab_grading() -> dict:
    """Grade each lab's solution as an instructor would (``otter run``, no Docker); time it."""
    import shutil
    import tempfile

    rows = []
    for name in lab_tool.lab_names():
        with tempfile.TemporaryDirectory() as tmp:
            archive = lab_tool.autograder_zip(name, Path(tmp) / "zip")  # built outside the time measured
            folder = Path(tmp) / "submissions"
            folder.mkdir()
            shutil.copy(lab_tool.AUTOGRADER / name / f"{name}.ipynb", folder / "solution.ipynb")
            start = time.perf_counter()
            (row,) = lab_tool.grade(name, folder, Path(tmp) / "grades.csv", timeout=600, archive=archive, quiet=True)
            seconds = time.perf_counter() - start
        rows.append({"lab": name, "grading_seconds": round(seconds, 1),
                     "score": f"{row.get('total')}/{row.get('possible')}", "error": row.get("error", "")})
    slowest = max((r["grading_seconds"] for r in rows), default=None)
    return {"labs": rows, "lab_grading_seconds_max": slowest}


# ------------------------------------------------------------------------- main
def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cores} cores, {model}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


SECTIONS = ("stop", "recording", "fidelity", "scale", "course", "labs")


def run(quick: bool = False, sections=SECTIONS) -> dict:
    result = {"machine": machine()}
    if "stop" in sections:
        result.update(stop_and_start(n=5 if quick else 20))
    if "recording" in sections:
        result.update(recording(requests=200 if quick else 2000, rounds=1 if quick else 7))
    if "fidelity" in sections:
        result.update(fidelity(clients=4 if quick else 8, work=0.05 if quick else 0.2))
    if "scale" in sections:
        result.update(scale(connections=50 if quick else 1000, work=0.1 if quick else 0.5))
    if "course" in sections:
        result.update(course(limit=1 if quick else None))
    if "labs" in sections and not quick:
        result.update(lab_grading())
    return result


def _verdict(key, value):
    if key not in TARGETS or value is None:
        return ""
    op, limit = TARGETS[key]
    ok = value < limit if op == "<" else value > limit
    return f"{op} {limit:g}  {'ok' if ok else 'MISSED'}"


def table(result: dict) -> str:
    rows = [("measure", "value", "target")]
    labels = [
        ("stop_ms_stdlib", "stop, stdlib shutdown() (ms, median)"),
        ("stop_ms_socklab", "stop, socklab, slowest mode (ms, median)"),
        ("start_ms_socklab", "start, socklab (ms, median)"),
        ("requests_per_second_not_recording", "threading echo, not recording (req/s)"),
        ("requests_per_second_recording", "threading echo, recording (req/s)"),
        ("recording_overhead", "recording overhead (fraction)"),
        ("fidelity_serial", "fidelity, serial (makespan / ideal)"),
        ("fidelity_threading", "fidelity, threading"),
        ("fidelity_forking", "fidelity, forking"),
        ("course_seconds", "course, executing the notebooks listed below (s)"),
        ("course_floor_seconds", "course floor: kernel start + deliberate waits (s)"),
        ("course_ratio", "course / floor"),
        ("lab_grading_seconds_max", "labs: grading one submission, slowest lab (s)"),
    ]
    for key, label in labels:
        if key in result:
            rows.append((label, str(result[key]), _verdict(key, result[key])))
    for mode, ms in result.get("stop_ms_socklab_by_mode", {}).items():
        rows.append((f"  stop, socklab {mode} (ms)", str(ms), ""))
    for entry in result.get("scale", []):
        rows.append((f"{entry['connections']} connections, {entry['server']}",
                     f"{entry['seconds']} s, {entry['peak_threads']} threads, {entry['peak_rss_mb']} MB"
                     + (f", {entry['failed']} failed" if entry["failed"] else ""),
                     f"ideal {entry['ideal_seconds']} s"))
    for entry in result.get("notebooks", []):
        rows.append((f"  {entry['notebook']} (s)", str(entry["seconds"]), f"floor {entry['floor_seconds']}"))
    for entry in result.get("labs", []):
        rows.append((f"  {entry['lab']}: grading its solution (s)", str(entry["grading_seconds"]),
                     f"score {entry['score']}" + (f", {entry['error']}" if entry["error"] else "")))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"measured on: {result['machine']}"]
    lines += ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--quick", action="store_true",
                        help="small counts, one notebook, no labs: a smoke test, not a measurement")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    args = parser.parse_args(argv)
    result = run(quick=args.quick, sections=tuple(args.only or SECTIONS))
    print(json.dumps(result, indent=2) if args.json else table(result))
    missed = [k for k in TARGETS if k in result and _verdict(k, result[k]).endswith("MISSED")]
    return 1 if missed and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
