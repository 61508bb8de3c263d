#!/usr/bin/env bash
# Builds `codex` as we ship it: `cargo build-codex` (.cargo/config.toml),
# the `dist` profile for x86_64-unknown-linux-musl, static-pie, optimised
# with a profile of its own runs (PGO). Installs what that needs first,
# saying so: rustup's musl target and llvm-tools, and musl-gcc (Debian's
# musl-tools) for the C in `ring`. Prints the binary's path.
#
#   scripts/build-codex.sh   # -> target/x86_64-unknown-linux-musl/dist/codex
#
# Three steps, about 14 minutes from clean on 2 cores:
#   1. an instrumented build, in its own target directory (target/pgo-generate);
#   2. training: `--version`, `mcp list` (text and JSON) and `mcp get` over
#      100 servers (scripts/mcp-fixture.sh), then `codex demo`, which runs
#      the session, its supervised MCP servers (the binary itself) and a model
#      turn, so the runtime's own paths are profiled too and not laid out as
#      cold code;
#   3. the shipped build, with the merged profile.
# PGO took 15 % of `mcp list`'s instructions and 5 % of its time
# (BENCHMARKS.md).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target="x86_64-unknown-linux-musl"

if ! rustup target list --installed | grep -qx "$target"; then
    echo "build-codex: adding the $target target with rustup (network)" >&2
    rustup target add "$target" >&2
fi
if ! command -v musl-gcc >/dev/null; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        echo "build-codex: installing musl-tools with apt-get (network)" >&2
        apt-get install -y --no-install-recommends musl-tools >&2 ||
            { apt-get update >&2 && apt-get install -y --no-install-recommends musl-tools >&2; }
    else
        echo "build-codex: musl-gcc is needed (Debian and Ubuntu: apt-get install musl-tools)" >&2
        exit 1
    fi
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [[ ! -x "$profdata" ]]; then
    echo "build-codex: adding llvm-tools with rustup (network), for llvm-profdata" >&2
    rustup component add llvm-tools >&2
fi

cd "$repo"
profiles="$repo/target/pgo"
mkdir -p "$profiles"

echo "build-codex: 1/3 the instrumented build" >&2
# Without the start-up code order (cli/build.rs): a new order changes only
# the shipped binary's layout, not the profile.
CARGO_TARGET_DIR="$repo/target/pgo-generate" RUSTFLAGS="-Cprofile-generate=$profiles" \
    CODEX_LINK_ORDER=0 cargo build-codex >&2
instrumented="$repo/target/pgo-generate/$target/dist/codex"

# The profile is kept with the hash of what made it (the instrumented
# binary, this script's training runs, the fixture): when none changed it is
# not trained again, so the shipped build is not rebuilt either.
trained="$(cat "$instrumented" "$0" "$repo/scripts/mcp-fixture.sh" | sha256sum)"
if [[ -s "$profiles/codex.profdata" && "$(cat "$profiles/trained-on" 2>/dev/null)" == "$trained" ]]; then
    echo "build-codex: 2/3 training skipped: neither the instrumented build nor the training changed" >&2
else
    echo "build-codex: 2/3 training runs" >&2
    rm -f "$profiles"/*.profraw "$profiles/trained-on"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    # shellcheck source=scripts/mcp-fixture.sh
    source "$repo/scripts/mcp-fixture.sh"
    mcp_fixture "$work" 100
    train() {
        # Profiles from a failing run would describe error paths.
        if ! CODEX_HOME="$work/home" CODEX_REQUIREMENTS_FILE="$work/requirements.toml" \
            "$instrumented" "$@" >"$work/out" 2>&1; then
            echo "build-codex: training run codex $* failed:" >&2
            cat "$work/out" >&2
            exit 1
        fi
    }
    for _ in 1 2 3; do
        train --version
        train mcp list
        train mcp list --json
        train mcp get server_1
    done
    train demo
    "$profdata" merge -o "$profiles/codex.profdata" "$profiles"/*.profraw >&2
    echo "$trained" >"$profiles/trained-on"
fi

echo "build-codex: 3/3 the shipped build, with the profile" >&2
RUSTFLAGS="-Cprofile-use=$profiles/codex.profdata" cargo build-codex >&2
echo "$repo/target/$target/dist/codex"
