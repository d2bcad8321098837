#!/usr/bin/env bash
# Installs Debian's Chromium for the Playwright browser tests when it is missing.
# Playwright cannot download browsers here; it is pointed at /usr/bin/chromium.
# If the install is impossible the browser tests skip and say why.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  echo "chromium not installed and apt-get unavailable: browser tests will skip" >&2
  exit 0
fi
echo "installing chromium from Debian for the browser tests..." >&2
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
  || echo "chromium install failed: browser tests will skip" >&2
exit 0
