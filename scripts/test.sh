#!/usr/bin/env bash
# The full test run: formatting, lints, then every test in the workspace
# (unit, property, snapshot and end-to-end). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh  # MCP servers, conformance suite, Node 22 under target/

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> cargo test"
cargo test --workspace
