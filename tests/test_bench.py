"""The benchmark runs end to end (small counts) and keeps its JSON contract.

The real measurement is `python -m socklab bench`; its targets are checked
there, not here, because timings in a test suite on a shared machine are noise.
"""

import json
import subprocess
import sys

import pytest

KEYS = ["stop_ms_socklab", "stop_ms_stdlib", "start_ms_socklab", "recording_overhead", "fidelity_serial",
        "fidelity_threading", "fidelity_forking", "scale", "course_seconds", "course_floor_seconds"]


@pytest.mark.slow  # its course section runs every notebook: make test, not make check
def test_bench_quick_json_has_every_key(notebook_slot):
    with notebook_slot():  # one of the notebooks executing at once (tests/conftest.py)
        done = subprocess.run([sys.executable, "-m", "socklab", "bench", "--quick", "--json"],
                              capture_output=True, text=True, timeout=300)
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
    assert result["course_floor_seconds"] > 0 and result["course_seconds"] > 0


def test_bench_table_names_the_machine_and_targets():
    done = subprocess.run([sys.executable, "-m", "socklab", "bench", "--quick", "--only", "stop"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("measured on: ") and "cores" in lines[0]
    assert any("stop, socklab" in line and "< 5" in line for line in lines)
