#!/usr/bin/env bash
# Run the tests as a learner would: an ordinary user (not root), with a long
# name (Unix socket paths under its home and temporary folders get long), the
# system's own python3, and a fresh copy of the course in its home folder.
#
#   sudo tools/as_learner.sh                          # make test, as that user
#   sudo PYTEST_ARGS="-k setup" tools/as_learner.sh   # a part of it
#
# Needs root to create the user (useradd) and to switch to it (runuser).
# The user and its copy are kept, so a second run reuses the .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
learner=${LEARNER:-socklab-learner-with-a-long-name}
python=${LEARNER_PYTHON:-/usr/bin/python3}

if [ "$(id -u)" != 0 ]; then
  echo "tools/as_learner.sh creates an ordinary user and runs the tests as it: run it as root (sudo)."; exit 1
fi
if [ ! -x "$python" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
id "$learner" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$learner"
home=$(getent passwd "$learner" | cut -d: -f6)
copy=$home/sockets-and-concurrency

# a fresh copy of the working tree (tracked and new files), owned by the learner
rm -rf "$copy.new" && mkdir -p "$copy.new"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -c | tar -x -C "$copy.new"
if [ -d "$copy/.venv" ]; then mv "$copy/.venv" "$copy.new/.venv"; fi
rm -rf "$copy" && mv "$copy.new" "$copy"
chown -R "$learner:" "$copy"

echo "As $learner (uid $(id -u "$learner"), not root), with $($python --version), in $copy:"
echo "  make test PYTHON=$python DEPS=${DEPS:-locked} PYTEST_ARGS=${PYTEST_ARGS:-}"
# -l: the learner's own environment (HOME, no root paths); pip certificates as here.
# The settings travel as variables (-w), so quotes in PYTEST_ARGS reach make intact.
# DEPS (locked or newest, see Makefile) too: a run against the newest releases tests both users.
export PYTEST_ARGS="${PYTEST_ARGS:-}" LEARNER_PYTHON="$python" PIP_CERT="${PIP_CERT:-}" PIP_DEFAULT_TIMEOUT=180 \
  CI="${CI:-}" CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" DEPS="${DEPS:-locked}"
exec runuser -l "$learner" -w PYTEST_ARGS,LEARNER_PYTHON,PIP_CERT,PIP_DEFAULT_TIMEOUT,CI,CHROMIUM,DEPS \
  -c "cd '$copy' && make test PYTHON=\"\$LEARNER_PYTHON\" PYTEST_ARGS=\"\$PYTEST_ARGS\""
