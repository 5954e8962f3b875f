#!/usr/bin/env bash
# run.sh [main.ts options]: the fuzz in a network namespace of its own, as test/run.sh runs the
# tests, so the Samba DC it starts on 127.0.0.1 is ours.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${NTLM_SSO_TEST_NETNS:-}" ]; then
  for flags in -n -rn; do
    if unshare "$flags" true 2>/dev/null; then
      exec env NTLM_SSO_TEST_NETNS=1 unshare "$flags" -- bash "$0" "$@"
    fi
  done
  echo "test/fuzz/run.sh: cannot create a network namespace (unshare -n); run as root or with user namespaces" >&2
  exit 1
fi
ip link set lo up
# Client sockets take local ports below 49152, where Samba's RPC endpoints listen.
echo 20000 48999 >/proc/sys/net/ipv4/ip_local_port_range || echo 'test/fuzz/run.sh: could not move the local port range' >&2
exec node --import tsx test/fuzz/main.ts "$@"
