#!/usr/bin/env bash
# One-time set-up on Debian/Ubuntu, run as root: system packages (BCC, kernel headers, curl,
# node, chromium for the proxy tests), then a Python >= 3.12 virtualenv in .venv with llmspy
# and its test extras. Safe to run again: every step checks before it changes anything.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo ./setup.sh): it installs system packages"

# --- system packages --------------------------------------------------------------------------
need=()
dpkg -s python3-bpfcc >/dev/null 2>&1 || need+=(python3-bpfcc)
dpkg -s bpfcc-tools >/dev/null 2>&1 || need+=(bpfcc-tools)
command -v curl >/dev/null || need+=(curl)
command -v node >/dev/null || need+=(nodejs)
command -v chromium >/dev/null || need+=(chromium)
command -v unshare >/dev/null || need+=(util-linux)
kver=$(uname -r)
if [ ! -e "/lib/modules/$kver/build/include" ]; then
  if apt-cache show "linux-headers-$kver" >/dev/null 2>&1; then
    need+=("linux-headers-$kver")
  else
    dpkg -s linux-headers-amd64 >/dev/null 2>&1 || need+=(linux-headers-amd64)
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  apt-get update -qq
  # the package lists may not know linux-headers-$kver before the update: check again
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || die "apt-get install ${need[*]} failed"
fi

# --- kernel headers for BCC -------------------------------------------------------------------
# BCC compiles the probe against /lib/modules/$(uname -r)/build. Custom kernels (this VM, WSL2)
# have no matching package: link the nearest installed distro headers (see MACHINE.md).
if [ ! -e "/lib/modules/$kver/build/include" ]; then
  hdr=$(ls -d /usr/src/linux-headers-*-amd64 /usr/src/linux-headers-*-arm64 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$hdr" ] || die "no kernel headers for $kver and none installed to borrow: apt-get install linux-headers-amd64"
  common="${hdr%-*}-common"
  say "no headers for kernel $kver: linking $hdr"
  mkdir -p "/lib/modules/$kver"
  ln -sfn "$hdr" "/lib/modules/$kver/build"
  [ -d "$common" ] && ln -sfn "$common" "/lib/modules/$kver/source"
fi

# --- Python >= 3.12 ---------------------------------------------------------------------------
# mitmproxy 12 and the current provider SDKs need 3.12+ (MACHINE.md).
py=""
candidates=(python3.14 python3.13 python3.12 python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9])
# pyenv versions, also when sudo's PATH hides pyenv: $PYENV_ROOT, root's and the invoking
# user's ~/.pyenv
sudo_home=""
[ -n "${SUDO_USER:-}" ] && sudo_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv" "${sudo_home:+$sudo_home/.pyenv}" /root/.pyenv; do
  [ -n "$root" ] && [ -d "$root/versions" ] || continue
  for v in $(ls "$root/versions" | sort -rV); do candidates+=("$root/versions/$v/bin/python"); done
done
for c in "${candidates[@]}"; do
  if "$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then py=$c; break; fi
done
[ -n "$py" ] || die "llmspy needs Python >= 3.12 (with venv); install python3.12 (Ubuntu 24.04, Debian 13) or a pyenv version"

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  say "creating .venv with $("$py" --version)"
  rm -rf .venv
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
say "installing llmspy and test dependencies into .venv"
.venv/bin/python -m pip install -q -e '.[test]' || die "pip install failed"

# --- BCC inside the venv ----------------------------------------------------------------------
# BCC's Python module is Debian's pure-Python package (never the unrelated PyPI "bcc"):
# link just that package into the venv.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
bcc_dir=$(ls -d /usr/lib/python3/dist-packages/bcc 2>/dev/null || true)
[ -n "$bcc_dir" ] || die "BCC's Python module is missing: apt-get install python3-bpfcc"
ln -sfn "$bcc_dir" "$site/bcc"
.venv/bin/python -W ignore -c 'import bcc' || die "BCC does not import in .venv"
say "ready: .venv/bin/llmspy demo (as root)"
