#!/usr/bin/env bash
# Builds `codex` as we ship it: `cargo build-codex` (.cargo/config.toml),
# the `dist` profile for x86_64-unknown-linux-musl, static-pie. Installs
# what that needs first, saying so: rustup's musl target, and musl-gcc
# (Debian's musl-tools) for the C in `ring`. Prints the binary's path.
#
#   scripts/build-codex.sh   # -> target/x86_64-unknown-linux-musl/dist/codex
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

cd "$repo"
cargo build-codex >&2
echo "$repo/target/$target/dist/codex"
