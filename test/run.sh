#!/usr/bin/env bash
# run.sh FILE...: runs test files with node's test runner in a network namespace of their own, so
# the Samba DC, Redis and every server a test starts on 127.0.0.1 are ours, whatever else this
# machine runs (a DC already on 127.0.0.1:389 stays outside). Root uses `unshare -n`; others try
# a user namespace (`unshare -rn`). Without either, the tests run here and the DC tests refuse a
# foreign DC; under CI that is an error.
set -euo pipefail
if [ -z "${NTLM_SSO_TEST_NETNS:-}" ]; then
  for flags in -n -rn; do
    if unshare "$flags" true 2>/dev/null; then
      exec env NTLM_SSO_TEST_NETNS=1 unshare "$flags" -- bash "$0" "$@"
    fi
  done
  if [ -n "${CI:-}" ]; then echo "test/run.sh: cannot create a network namespace (unshare -n)" >&2; exit 1; fi
  echo "test/run.sh: no network namespace available; running in the host's network" >&2
else
  ip link set lo up
  # Client sockets take local ports below 49152: Samba's RPC endpoints (netlogon, samr...) listen
  # on 49152 and up, and a restarted DC could not bind a port a test client holds (TIME_WAIT).
  echo 20000 48999 >/proc/sys/net/ipv4/ip_local_port_range || echo 'test/run.sh: could not move the local port range' >&2
fi
# Every test (and every file, which the runner counts as one) has a deadline: a hung test
# fails instead of hanging the run.
exec node --import tsx --test --test-concurrency=1 --test-timeout=600000 "$@"
