# Sourced by the bench scripts: writes a `codex mcp list` fixture.
#
#   mcp_fixture DIR COUNT
#
# DIR/home/config.toml gets a model line and COUNT servers: every fourth an
# HTTP server with a bearer token variable, the others stdio servers whose
# bare commands (env, sh, true, cat, ls, python3) admission finds on the
# admin search path. DIR/requirements.toml allowlists every one of them.
# It is the `mcp_list` bench's resolving fixture (cli/benches/mcp_list.rs).
mcp_fixture() {
    local dir="$1" count="$2" programs=(env sh true cat ls python3) i
    mkdir -p "$dir/home"
    {
        printf 'model = "o3"\n\n'
        for ((i = 0; i < count; i++)); do
            if ((i % 4 == 0)); then
                printf '[mcp_servers.remote_%d]\nurl = "https://mcp%d.example.com/mcp"\nbearer_token_env_var = "TOKEN_%d"\n\n' "$i" "$i" "$i"
            else
                printf '[mcp_servers.server_%d]\ncommand = "%s"\nargs = ["--port", "%d"]\nenv = { API_KEY = "secret-%d" }\n\n' \
                    "$i" "${programs[i % 6]}" "$i" "$i"
            fi
        done
    } >"$dir/home/config.toml"
    {
        for ((i = 0; i < count; i++)); do
            if ((i % 4 == 0)); then
                printf '[mcp_server_allowlist.remote_%d]\nurl = "https://mcp%d.example.com/mcp"\n\n' "$i" "$i"
            else
                printf '[mcp_server_allowlist.server_%d]\ncommand = "%s"\nallowed_env = ["API_KEY"]\n\n' \
                    "$i" "${programs[i % 6]}"
            fi
        done
    } >"$dir/requirements.toml"
}
