"""Run the test suite again and again while another process keeps a core busy.

    python tools/soak.py                     # notebook validation, 10 runs
    python tools/soak.py --runs 3 --all      # the whole of `make test`, 3 runs
    python tools/soak.py --runs 3 --labs     # the labs' checks and grading, 3 runs

A check that fails only under load was a wrong check (a timing assertion
without enough margin), not a slow machine: the course must hold up on a busy
two-core laptop. This prints each run's result and time, then the flake count.
Not part of `make test` (ten runs take minutes); `make soak` runs it.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_CHECKS = ["notebooks", "tests/test_notebooks.py", "tests/test_kernel.py"]
LAB_CHECKS = ["tests/test_grading.py", "tests/test_labs.py"]
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
         "--nbval-cell-timeout=120"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--all", action="store_true", help="run all of tests/ too, not only the notebook checks")
    parser.add_argument("--labs", action="store_true", help="the labs' checks and grading instead")
    parser.add_argument("--no-load", action="store_true", help="do not keep a core busy")
    args = parser.parse_args(argv)
    paths = ["tests", "notebooks"] if args.all else LAB_CHECKS if args.labs else NOTEBOOK_CHECKS
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *paths, *NBVAL]
    burner = None
    if not args.no_load:
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    failures, times = [], []
    try:
        for run in range(1, args.runs + 1):
            start = time.monotonic()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
            times.append(time.monotonic() - start)
            summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
            print(f"run {run:2}: {'ok  ' if done.returncode == 0 else 'FAIL'} {times[-1]:6.1f} s  {summary}",
                  flush=True)
            if done.returncode != 0:
                failures.append(run)
                failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
                print("\n".join(f"        {line}" for line in failed), flush=True)
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
    load = "with one core kept busy" if burner else "without extra load"
    print(f"{args.runs - len(failures)} passed, {len(failures)} failed: {len(failures)} flaky run(s) of "
          f"{args.runs} {load}; median {sorted(times)[len(times) // 2]:.1f} s a run")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
