#!/usr/bin/env bash
# `codex mcp list` on the example CODEX_HOME, under the example
# admin requirements. Extra arguments go to `codex mcp list` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
export CODEX_HOME="$PWD/examples/codex-home"
export CODEX_REQUIREMENTS_FILE="$PWD/examples/requirements.toml"
exec cargo run --quiet -- mcp list "$@"
