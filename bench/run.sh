#!/usr/bin/env bash
# run.sh [--quick] [--only 1,3] [--note TEXT] [--out DIR] [--no-build]: runs the benchmarks in a
# network namespace of their own, as test/run.sh runs the tests, so the Samba DC, Redis, nginx
# and every server the bench starts on 127.0.0.1 are ours (a DC already on the host's
# 127.0.0.1:389 stays outside).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${NTLM_SSO_TEST_NETNS:-}" ]; then
  for flags in -n -rn; do
    if unshare "$flags" true 2>/dev/null; then
      exec env NTLM_SSO_TEST_NETNS=1 unshare "$flags" -- bash "$0" "$@"
    fi
  done
  echo "bench/run.sh: cannot create a network namespace (unshare -n); run as root or with user namespaces" >&2
  exit 1
fi
ip link set lo up
# Client sockets take local ports below 49152: Samba's RPC endpoints (netlogon, samr...) listen
# on 49152 and up, and a restarted DC could not bind a port a client holds (TIME_WAIT).
echo 20000 48999 >/proc/sys/net/ipv4/ip_local_port_range || echo 'bench/run.sh: could not move the local port range' >&2
# Scenario 6 holds 10,000 client and 10,000 server sockets open at once.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec node --import tsx bench/main.ts "$@"
