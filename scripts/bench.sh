#!/usr/bin/env bash
# Benchmarks that compare against real Codex: installs @openai/codex@0.169.0
# (pinned) under target/codex-peer, builds `codex` as shipped (`cargo
# build-codex`) and our test server, then runs the named benches (default:
# exec) against the shipped binary. Figures go to BENCHMARKS.md by hand.
#
#   scripts/bench.sh            # cargo bench -p codex-integration-tests --bench exec
#   scripts/bench.sh session    # any bench of codex-integration-tests by name
#
# Not part of the test command: it needs the npm registry and takes minutes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
peer="$repo/target/codex-peer"
version="0.169.0"

if [[ "$(cat "$peer/.installed" 2>/dev/null)" != "$version" ]]; then
    command -v npm >/dev/null || { echo "bench: npm is needed to install @openai/codex" >&2; exit 1; }
    rm -rf "$peer"
    mkdir -p "$peer"
    echo "bench: installing @openai/codex@$version into $peer"
    npm install --prefix "$peer" --no-fund --no-audit --loglevel=error "@openai/codex@$version"
    echo "$version" >"$peer/.installed"
fi

cd "$repo"
cargo build-codex  # the shipped binary, target/dist/codex (.cargo/config.toml)
cargo build --release -p codex-test-mcp-server
for bench in "${@:-exec}"; do
    CODEX_BIN="$repo/target/dist/codex" cargo bench -p codex-integration-tests --bench "$bench"
done
