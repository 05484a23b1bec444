#!/usr/bin/env bash
# Run the course's tests on other Pythons, with Debian's own packages:
#   trixie  Debian 13, Python 3.13
#   sid     Debian testing/unstable, Python 3.14
# Each suite gets a root file system under build/pythons/SUITE (debootstrap,
# made once and reused), a copy of this working tree, a fresh .venv made by
# its python3, then `make test-no-browser`: the unit tests and the notebook validation
# (everything but the browser, which the root has no Chromium for).
#
#   make pythons                      # both suites
#   make pythons SUITES=sid           # one
#   make pythons PYTEST_ARGS="-k setup"
#
# Needs root (debootstrap and chroot) and Debian's package mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
suites=${SUITES:-trixie sid}
[ -n "$suites" ] || suites="trixie sid"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
logs=$top/build/pythons/logs
mkdir -p "$logs"

if [ "$(id -u)" != 0 ]; then
  echo "make pythons needs root (debootstrap and chroot): sudo make pythons"; exit 1
fi
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }

run_suite() {
  local suite=$1 root=$top/build/pythons/$1
  if [ ! -x "$root/usr/bin/python3" ]; then
    echo "[$suite] building a Debian root in $root (a few minutes, once)"
    local script=()
    [ "$suite" = sid ] && script=(/usr/share/debootstrap/scripts/sid)
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,make,git,procps,iproute2 \
      "$suite" "$root" "$mirror" "${script[@]}" >"$logs/$suite-debootstrap.log" 2>&1 \
      || { echo "[$suite] debootstrap failed: see $logs/$suite-debootstrap.log"; return 1; }
  fi
  # pip inside the root must trust the same certificate authorities as pip here
  local ca=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
  cp "$ca" "$root/etc/ssl/certs/socklab-pip-ca.crt"
  # a copy of the working tree (tracked and new files, not .venv or build/)
  rm -rf "$root/course" && mkdir -p "$root/course"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -c | tar -x -C "$root/course"
  # /dev and /proc inside the root, mounted here unless something already did
  local mounted=()
  if ! mountpoint -q "$root/dev"; then mount --bind /dev "$root/dev" && mounted+=("$root/dev"); fi
  if ! mountpoint -q "$root/proc"; then mount -t proc proc "$root/proc" && mounted+=("$root/proc"); fi
  local status=0
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/socklab-pip-ca.crt PIP_DEFAULT_TIMEOUT=180 \
    PYTEST_ARGS="${PYTEST_ARGS:-}" \
    bash -c 'cd /course && python3 --version && make test-no-browser PYTHON=python3 PYTEST_ARGS="$PYTEST_ARGS"' \
    >"$logs/$suite.log" 2>&1 || status=$?
  local m
  for m in "${mounted[@]}"; do umount "$m" || umount -l "$m"; done
  echo "[$suite] $(grep -m1 '^Python ' "$logs/$suite.log" || echo 'no python'): $(tail -n 1 "$logs/$suite.log") (log: $logs/$suite.log)"
  return $status
}

failed=0
for suite in $suites; do
  run_suite "$suite" || failed=1
done
exit $failed
