#!/usr/bin/env bash
# Writes cli/startup-order.txt: the functions of the `codex` binary that
# starting a command runs, which an optimised build on x86_64 Linux places
# side by side (cli/build.rs), so a start touches fewer pages of code.
#
#   scripts/startup-order.sh
#
# Runs the shipped binary (scripts/build-codex.sh) under callgrind for
# `--version`, `mcp list` (text and JSON) and `mcp get`, with 20 servers
# under an allowlist (scripts/mcp-fixture.sh) and one it does not list, and
# keeps every executed function the binary's symbol table names. Run it
# again after large changes; a stale list is only slower, never wrong (names
# the binary no longer has are skipped). Not part of the test command: it
# needs valgrind and the shipped build.
set -euo pipefail
export LC_ALL=C  # one collation for sort and comm
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
command -v valgrind >/dev/null || { echo "startup-order: valgrind is needed" >&2; exit 1; }

bin="$(bash "$repo/scripts/build-codex.sh")"  # the shipped, static-pie binary

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=scripts/mcp-fixture.sh
source "$repo/scripts/mcp-fixture.sh"
mcp_fixture "$work" 20
# And the paths of a server the allowlist does not list, and of a second
# requirement.
printf '[mcp_servers.unlisted]\ncommand = "ls"\n' >>"$work/home/config.toml"
{
    printf 'allowed_sandbox_modes = ["read-only", "workspace-write"]\n\n'
    cat "$work/requirements.toml"
} >"$work/requirements.new"
mv "$work/requirements.new" "$work/requirements.toml"

# Each command must succeed: a list taken from an error path would lay out
# the wrong code.
run() {
    if ! CODEX_HOME="$work/home" CODEX_REQUIREMENTS_FILE="$work/requirements.toml" \
        valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$1" \
        "$bin" "${@:2}" >/dev/null 2>"$work/err.$1" || [[ ! -s "$work/cg.$1" ]]; then
        echo "startup-order: codex ${*:2} failed:" >&2
        cat "$work/err.$1" >&2
        exit 1
    fi
}
run 1 --version
run 2 mcp list
run 3 mcp list --json
run 4 mcp get server_1

# Executed names (callgrind's fn= and cfn= lines) that are functions of the
# binary, in a stable order.
nm "$bin" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u >"$work/symbols"
sed -nE 's/^c?fn=\([0-9]+\) ([^ ]+).*/\1/p' "$work"/cg.* | sort -u >"$work/executed"
comm -12 "$work/symbols" "$work/executed" >"$repo/cli/startup-order.txt"
echo "startup-order: $(wc -l <"$repo/cli/startup-order.txt") functions in cli/startup-order.txt"
