"""The benchmark, tools/bench.py, runs end to end (small counts) and keeps its JSON contract.

The real measurement is `python tools/bench.py` (`make bench`); its targets are
checked there, not here, because timings in a test suite on a shared machine
are noise. It lives in tools/, not in the installed package, because it needs
the repository: the notebooks it executes and tools/labs.py, which grades the labs.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import socklab

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "tools" / "bench.py"
sys.path.insert(0, str(ROOT / "tools"))
import bench  # noqa: E402
import pytest  # noqa: E402

KEYS = ["stop_ms_socklab", "stop_ms_stdlib", "start_ms_socklab", "recording_overhead", "fidelity_serial",
        "fidelity_threading", "fidelity_forking", "scale", "course_seconds", "course_floor_seconds"]


@pytest.mark.slow  # its course section runs a notebook: make test, not make check
def test_bench_quick_json_has_every_key(notebook_slot):
    # Run from another folder: the script finds the repository from its own path.
    with notebook_slot():  # one of the notebooks executing at once (tests/conftest.py)
        done = subprocess.run([sys.executable, str(BENCH), "--quick", "--json"], capture_output=True, text=True,
                              timeout=300, cwd=ROOT / "tools")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert [k for k in KEYS if k not in result] == []
    assert result["stop_ms_stdlib"] > result["stop_ms_socklab"] > 0
    assert 0 <= result["recording_overhead"] < 1
    for mode in ("serial", "threading", "forking"):
        assert result[f"fidelity_{mode}"] >= 0.95, "a makespan cannot beat its ideal"
    assert [entry["server"] for entry in result["scale"]] == ["threading", "selectors", "asyncio"]
    for entry in result["scale"]:
        assert entry["failed"] == 0 and entry["peak_threads"] >= 1 and entry["seconds"] > 0
    assert [row["notebook"] for row in result["notebooks"]] == ["00_start_here.ipynb"], "--quick runs one notebook"
    assert result["course_floor_seconds"] > 0 and result["course_seconds"] > 0
    assert "labs" not in result, "--quick grades no lab"


def test_bench_table_names_the_machine_and_targets():
    done = subprocess.run([sys.executable, str(BENCH), "--quick", "--only", "stop"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("measured on: ") and "cores" in lines[0]
    assert any("stop, socklab" in line and "< 5" in line for line in lines)


def test_the_benchmark_is_not_part_of_the_installed_package():
    assert not (Path(socklab.__file__).parent / "bench.py").exists()
    done = subprocess.run([sys.executable, "-m", "socklab", "bench"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invalid choice: 'bench'" in done.stderr, done.stderr


def test_stdlib_shutdown_is_slow_which_is_why_socklab_wakes_its_loop():
    stdlib = bench.stdlib_shutdown_seconds()
    with socklab.serve() as ours:
        start = time.perf_counter()
        ours.stop()
        fast = time.perf_counter() - start
    assert stdlib > 10 * fast, (stdlib, fast)
