#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/web), installed when missing. Playwright drives
# it through executable_path; `playwright install` (a download of its own browsers) is never used.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing: run as root: apt-get update && apt-get install -y chromium chromium-driver" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver
