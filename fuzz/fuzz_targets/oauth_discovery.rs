//! OAuth discovery: a `WWW-Authenticate` challenge (the first line) and a
//! metadata document (the rest), read as protected-resource and as
//! authorization-server metadata.
#![no_main]

use codex_transports::oauth::{AuthServer, Challenge, ProtectedResource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (header, body) = text.split_once('\n').unwrap_or((text, ""));
    let _ = Challenge::parse(header);
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(body) {
        let _ = ProtectedResource::from_document(&doc, "https://h/mcp", "https://h/prm");
        let _ = AuthServer::from_document(&doc, "https://h", "https://h/as");
    }
});
