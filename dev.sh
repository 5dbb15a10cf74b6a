#!/usr/bin/env bash
# voiceguide's one entry point on Debian/Ubuntu. Idempotent: fast when all is in place.
#
#   ./dev.sh export [ARGS...]    set up, then export the default routine into audio/
#   ./dev.sh test [PYTEST ARGS]  set up, then run the whole test suite
#   ./dev.sh setup               only set up
#
# Set-up installs the system packages voiceguide and its tests need (with apt-get, through
# sudo when not root), creates .venv/ and installs voiceguide into it with its test,
# playback and neural-voice extras. It re-runs pip only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
  espeak-ng                # the speech engine pyttsx3 drives
  # the tests and the benchmark only (they decode and probe the exports with ffmpeg and ffprobe,
  # and make their music files and floors with it); voiceguide needs it only for a music bed
  # in a format other than WAV, FLAC, Ogg Vorbis and MP3
  ffmpeg
  mp3val                   # the tests check the MP3 streams with it
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils  # the virtual sound device of the tests
  libasound2-dev gcc       # simpleaudio(-patched) builds from source
  chromium zbar-tools      # serve's tests: the page in a headless browser, the QR code decoded
)

setup() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  python3 -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' \
    || missing+=(python3-dev)
  if ((${#missing[@]})); then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing system packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  [ -x .venv/bin/python ] || python3 -m venv .venv
  local stamp
  stamp="$(cat pyproject.toml; .venv/bin/python --version)"
  # the stamp says what was installed; the module check finds a set-up broken since
  if [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$stamp" ] || ! .venv/bin/python -c \
    'import importlib.util as u, sys; sys.exit(not all(map(u.find_spec, ("voiceguide", "simpleaudio", "piper"))))' 2>/dev/null; then
    echo "installing voiceguide into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' >&2 || true
    # simpleaudio 1.0.4 (what older set-ups installed) and simpleaudio-patched write the same
    # module, so removing the old one takes the module away: both out, the install puts it back
    if .venv/bin/python -m pip show -q simpleaudio 2>/dev/null \
      || ! .venv/bin/python -c 'import simpleaudio' 2>/dev/null; then
      .venv/bin/python -m pip uninstall -q -y simpleaudio simpleaudio-patched 2>/dev/null || true
    fi
    .venv/bin/python -m pip install -q -e ".[test,play,neural]" 2> >(grep -v '^WARNING: Location' >&2)
    printf '%s' "$stamp" > .venv/.setup-stamp
  fi
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  setup) setup ;;
  export) setup; exec .venv/bin/voiceguide export "$@" ;;
  test) setup; exec .venv/bin/python -m pytest "$@" ;;
  *) echo "usage: ./dev.sh setup | export [ARGS...] | test [PYTEST ARGS...]" >&2; exit 2 ;;
esac
