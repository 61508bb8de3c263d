#!/usr/bin/env bash
# Runs every cargo-fuzz target (nightly) for a while each, outside CI:
#
#   scripts/fuzz.sh                 # every target, 600 s each
#   scripts/fuzz.sh config 60       # one target, 60 s
#
# A crashing input lands in fuzz/artifacts/TARGET/; copy it to
# fuzz/regressions/TARGET/ once fixed: `cargo test` runs every file there
# through the same parser (actors/src/regressions.rs).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo/fuzz"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
targets=(config requirements toml_tree fault_plan model_stream apply_patch rollout oauth_discovery)
if [[ $# -ge 1 ]]; then targets=("$1"); fi
seconds="${2:-600}"
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    # Seed the corpus with the regression inputs and the examples.
    cp -n "$repo"/fuzz/regressions/"$target"/* "corpus/$target/" 2>/dev/null || true
    echo "==> $target for ${seconds}s"
    cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 | tail -n 25
done
