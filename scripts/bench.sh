#!/usr/bin/env bash
# Benchmarks that compare against real Codex: installs @openai/codex@0.169.0
# (pinned) under target/codex-peer, builds `codex` as shipped
# (scripts/build-codex.sh) and our test server, then runs the named benches (default:
# exec) against the shipped binary. Figures go to BENCHMARKS.md by hand.
#
#   scripts/bench.sh            # cargo bench -p codex-integration-tests --bench exec
#   scripts/bench.sh session    # any bench of codex-integration-tests by name
#   scripts/bench.sh startup    # `mcp list` (100 servers) and `--version`
#                               # against Codex in interleaved pairs
#                               # (scripts/pairs.py), and our size
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

# Issue 18's figures: whole processes, ours against Codex in pairs. The
# fixture is the `mcp_list` bench's resolving one (75 stdio servers with bare
# commands on the admin search path, 25 HTTP servers), with a bearer token
# variable on each HTTP server and a model line, in target/bench-mcp-list.
startup() {
    command -v python3 >/dev/null || { echo "bench: python3 is needed for startup" >&2; exit 1; }
    local fixture="$repo/target/bench-mcp-list"
    # shellcheck source=scripts/mcp-fixture.sh
    source "$repo/scripts/mcp-fixture.sh"
    mcp_fixture "$fixture" 100

    # Fresh copies of both: the file the linker just wrote runs about 10 %
    # slower out of the page cache than a copy of it (BENCHMARKS.md).
    local peer_bin
    bins="$(mktemp -d)"  # global: the EXIT trap runs after this function
    trap 'rm -rf "$bins"' EXIT
    peer_bin="$(find "$peer/node_modules/@openai" -path '*/vendor/*/bin/codex' -type f | head -n 1)"
    [[ -n "$peer_bin" ]] || { echo "bench: no native codex binary under $peer" >&2; exit 1; }
    cp "$shipped" "$bins/ours"
    cp "$peer_bin" "$bins/codex"
    export CODEX_HOME="$fixture/home" CODEX_REQUIREMENTS_FILE="$fixture/requirements.toml"
    "$bins/ours" mcp list >/dev/null  # the fixture must list cleanly
    echo "bench: the shipped codex is $(stat -c %s "$bins/ours") bytes"
    python3 "$repo/scripts/pairs.py" -n 200 --vs "$bins/codex mcp list" -- "$bins/ours" mcp list
    python3 "$repo/scripts/pairs.py" -n 200 --vs "$bins/codex --version" -- "$bins/ours" --version
}

cd "$repo"
shipped="$(bash scripts/build-codex.sh)"  # the shipped binary (.cargo/config.toml)
if [[ "${1:-}" == startup ]]; then
    startup
    exit 0
fi
cargo build --release -p codex-test-mcp-server
for bench in "${@:-exec}"; do
    CODEX_BIN="$shipped" cargo bench -p codex-integration-tests --bench "$bench"
done
