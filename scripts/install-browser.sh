#!/usr/bin/env bash
# Install the browser the JupyterLab browser test drives (tests/test_browser.py):
# Debian's `chromium` (at /usr/bin/chromium) and `chromium-driver`, through apt-get.
# Playwright for Python drives this Chromium; nothing is downloaded by `playwright install`.
#
# Usage: bash scripts/install-browser.sh     (non-root users are asked for sudo)
# Does nothing when both are installed already.
set -euo pipefail

PACKAGES=(chromium chromium-driver)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ] && [ -x /usr/bin/chromium ]; then
  echo "browser: found $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "browser: apt-get not found; install Chromium so that /usr/bin/chromium exists" \
       "(packages: ${PACKAGES[*]}) and run again" >&2
  exit 1
fi

if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
# packages present but no /usr/bin/chromium: install them again
if [ "${#missing[@]}" -eq 0 ]; then missing=("${PACKAGES[@]}"); fi

echo "browser: installing ${missing[*]} with apt-get"
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends --reinstall "${missing[@]}"

if [ ! -x /usr/bin/chromium ]; then
  echo "browser: apt-get finished but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo "browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
