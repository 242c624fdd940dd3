#!/usr/bin/env bash
# Make sure prometheus and promtool (Debian package `prometheus`) are installed: the
# Prometheus tests start their own server on a loopback port (the system service is
# never started). Set SLM_SKIP_PROMETHEUS=1 to skip (the Prometheus tests then skip,
# except under CI=true, where they fail).
set -u
[ "${SLM_SKIP_PROMETHEUS:-0}" = "1" ] && exit 0
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
echo "prometheus/promtool not found; installing the Debian package" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the package from starting its system service during the install
if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ] && [ -z "$SUDO" ] && [ "$(id -u)" -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
echo "prometheus could not be installed; the Prometheus tests will fail under CI=true" >&2
exit 0
