#!/bin/sh
# Makes sure Debian's Chromium is installed for the browser tests (idempotent).
# The e2e tests drive /usr/bin/chromium through Playwright (no browser download needed).
set -eu
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "ensure-browser: $CHROMIUM is present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-browser: $CHROMIUM is missing and we are not root; install it with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "ensure-browser: installing chromium with apt-get"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
echo "ensure-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
