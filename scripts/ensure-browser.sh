#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests (test/label, test/report), which drive it
# with playwright-core. `npx playwright install` cannot download browsers here, so Chromium comes from apt.
# Never fails: a machine without Chromium still runs the other tests, and the browser tests fail naming this script.
exec bash "$(dirname "$0")/apt-ensure.sh" ensure-browser 'test -x /usr/bin/chromium' '/usr/bin/chromium --version' chromium
