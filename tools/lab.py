"""Open the course in JupyterLab: what `make lab` runs, and what tests/test_first_start.py starts.

    .venv/bin/python tools/lab.py [--port 8888]

Run from the folder that holds notebooks/ (the repository). JupyterLab listens on
127.0.0.1 only, with a fresh random token, and opens notebooks/00_start_here.ipynb.
The URL to open is printed first. JupyterLab's defaults for the course (no news
fetched from the internet, nothing to dismiss on a first start) come from
jupyter/lab/settings/overrides.json, which `make setup` copies into
.venv/share/jupyter/lab/settings/, where JupyterLab reads it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys

START = "notebooks/00_start_here.ipynb"


def command(port: int, token: str) -> list:
    """The JupyterLab command line, for this Python's environment, serving the current folder."""
    line = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.root_dir=.", START]
    if os.geteuid() == 0:
        line.insert(5, "--allow-root")
    return line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8888, help="the port to listen on (default 8888)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be from 1 to 65535, got {args.port}")
    if not os.path.exists(START):
        parser.error(f"no {START} here: run this from the course's folder (make lab does)")
    token = secrets.token_hex(16)
    print(f"\n  Open the course at: http://127.0.0.1:{args.port}/lab/tree/{START}?token={token}\n"
          f"  (Ctrl-C twice to stop JupyterLab; set PORT=... if {args.port} is taken)\n", flush=True)
    line = command(args.port, token)
    os.execv(line[0], line)


if __name__ == "__main__":
    sys.exit(main())
