#!/usr/bin/env bash
# Install what the tests need on a fresh machine, then run every suite: the default one, the slow
# ones (real browser, full-model accuracy, training smoke run) and a short benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the real-browser tests drive: Chromium, ffmpeg (fake webcams, clips, ffplay windows), Xvfb (a screen).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 && command -v ffplay >/dev/null 2>&1 || missing+=(ffmpeg)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing Debian's ${missing[*]} for the real-browser tests…"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

# Each step says when it ends (minutes since the start): the whole run must stay under 30 minutes in CI.
took() { echo "== $1 done at $((SECONDS / 60)) min $((SECONDS % 60)) s"; }
took "install"
.venv/bin/ruff check xface tests pages app.py scripts
.venv/bin/python -m pytest -q -n 2            # the default suite, on two workers (10 min on one, 7 on two)
took "default suite"
.venv/bin/python -m pytest -q -m slow --durations=8   # real browser, full-split accuracy, training smoke run
took "slow suite"
.venv/bin/xface --no-progress bench --frames 60 --repeats 1 --soak 300 --record   # short setting: proves it works
took "benchmark"
