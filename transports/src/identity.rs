//! The identity a transport presents to the admission policy.
//!
//! A stdio server is identified by its argv (`command` plus `args`), an HTTP
//! server by its [`CanonicalUrl`]. Canonicalisation happens once, here, so
//! that the policy compares values that cannot be spelled two ways.

use std::fmt;

/// `%XX` escapes of RFC 3986 unreserved characters decoded; other escapes
/// (such as `%2F`) kept, with upper-case hex.
fn decode_unreserved(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 3 <= bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
            i += 3;
            continue;
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

/// What the policy matches for a stdio server: the program and its arguments,
/// exactly as configured. No PATH lookup, no `~` expansion, no splitting of
/// `command` on spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StdioIdentity {
    /// The program, as written in config (`argv[0]`).
    pub command: String,
    /// The arguments, in order.
    pub args: Vec<String>,
}

/// An HTTP(S) URL in canonical form, suitable for exact comparison.
///
/// Canonicalisation follows the WHATWG URL parser and then:
/// - lower-cases the scheme and host, and converts IDN hosts to punycode;
/// - drops the default port and a trailing dot on the host;
/// - removes dot segments (including `%2e%2e`), keeping `%2F` encoded;
/// - drops the fragment;
/// - keeps the path and query as they are: case-sensitive, and a trailing
///   slash is significant.
///
/// A URL that carries userinfo (`user:pass@`) parses, but
/// [`CanonicalUrl::has_userinfo`] reports it so the policy can refuse it; its
/// [`Display`](fmt::Display) never shows the credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalUrl {
    /// Canonical form without userinfo.
    url: url::Url,
    has_userinfo: bool,
}

/// Why a string is not an acceptable MCP server URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The text is not a URL at all.
    #[error("invalid url {input:?}: {reason}")]
    Invalid {
        /// The text as written, its secrets masked.
        input: String,
        /// What the URL parser objected to.
        reason: url::ParseError,
    },
    /// Only `http` and `https` are MCP transports.
    #[error("unsupported url scheme {scheme:?} in {input:?} (expected http or https)")]
    UnsupportedScheme {
        /// The text as written, its secrets masked.
        input: String,
        /// The scheme found.
        scheme: String,
    },
}

/// `text`, a URL or something meant to be one, with what may be a secret
/// masked, for any message or listing: the user name and password (a
/// token is often the user name alone) become one `*****`, and so does
/// every query value (a bare one too).
///
/// A text the URL parser accepts is masked through it, so every spelling
/// it reads as userinfo (`https:bot:pw@h`, `https:///bot:pw@h`, a
/// backslash for a slash) is caught, and what is shown is the URL that
/// would be used. Any other text is masked on its characters, erring
/// toward masking too much: everything between the scheme and the last
/// `@` goes.
///
/// ```
/// use codex_transports::mask_url_secrets;
///
/// assert_eq!(
///     mask_url_secrets("https://u:pw@h/p?token=t&x"),
///     "https://*****@h/p?token=*****&*****"
/// );
/// assert_eq!(mask_url_secrets("https://ghp_abc@exa mple/"), "https://*****@exa mple/");
/// assert_eq!(mask_url_secrets("https://h/mcp"), "https://h/mcp");
/// ```
pub fn mask_url_secrets(text: &str) -> String {
    match url::Url::parse(text.trim()) {
        Ok(url) if !url.cannot_be_a_base() => mask_parsed(url),
        _ => mask_text(text),
    }
}

const MASK: &str = "*****";

fn mask_parsed(mut url: url::Url) -> String {
    if !url.username().is_empty() || url.password().is_some() {
        // Cannot fail on a URL with a host, which userinfo implies.
        let _ = url.set_password(None);
        let _ = url.set_username(MASK);
    }
    if let Some(query) = url.query() {
        let masked = mask_query(query);
        url.set_query(Some(&masked));
    }
    url.to_string()
}

/// `k=v&bare` as `k=*****&*****`.
fn mask_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => format!("{key}={MASK}"),
            None if pair.is_empty() => String::new(),
            None => MASK.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn mask_text(text: &str) -> String {
    let mut masked = String::with_capacity(text.len());
    // The scheme, when there is one; then anything up to the last `@` may
    // be userinfo, whatever separators a broken URL holds (a password may
    // hold `/` or `?`).
    let (scheme, rest) = match text.find(':') {
        Some(colon)
            if text[..colon]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            text.split_at(colon + 1)
        }
        _ => ("", text),
    };
    masked.push_str(scheme);
    let rest = match rest.rfind('@') {
        Some(at) => {
            let slashes = rest.len() - rest.trim_start_matches(['/', '\\']).len();
            masked.push_str(&rest[..slashes.min(at)]);
            masked.push_str(MASK);
            &rest[at..]
        }
        None => rest,
    };
    let (before, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    masked.push_str(before);
    if let Some(query) = query {
        let (query, fragment) = match query.split_once('#') {
            Some((query, fragment)) => (query, Some(fragment)),
            None => (query, None),
        };
        masked.push('?');
        masked.push_str(&mask_query(query));
        if let Some(fragment) = fragment {
            masked.push('#');
            masked.push_str(fragment);
        }
    }
    masked
}

impl CanonicalUrl {
    /// Parses and canonicalises `input`. An error repeats `input` with its
    /// secrets masked ([`mask_url_secrets`]).
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let mut url = url::Url::parse(input.trim()).map_err(|reason| UrlError::Invalid {
            input: mask_url_secrets(input),
            reason,
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::UnsupportedScheme {
                input: mask_url_secrets(input),
                scheme: url.scheme().to_owned(),
            });
        }
        let has_userinfo = !url.username().is_empty() || url.password().is_some();
        // For http(s) these setters cannot fail: the URL has a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        if let Some(host) = url.host_str()
            && host.len() > 1
            && host.ends_with('.')
        {
            let trimmed = host.trim_end_matches('.').to_owned();
            url.set_host(Some(&trimmed))
                .map_err(|reason| UrlError::Invalid {
                    input: mask_url_secrets(input),
                    reason,
                })?;
        }
        Ok(CanonicalUrl { url, has_userinfo })
    }

    /// Whether the configured URL carried a username or password.
    pub fn has_userinfo(&self) -> bool {
        self.has_userinfo
    }

    /// The canonical URL, without userinfo.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL, without userinfo.
    pub fn as_url(&self) -> &url::Url {
        &self.url
    }

    /// A looser form for denylists, so that no other spelling of the same
    /// endpoint escapes a denial: on top of the canonical form, empty path
    /// segments are removed, percent-encoded unreserved characters are
    /// decoded, a trailing slash and the query are ignored, and an
    /// IPv4-mapped IPv6 host is written as IPv4. Never used to allow.
    ///
    /// ```
    /// use codex_transports::CanonicalUrl;
    ///
    /// let key = |u| CanonicalUrl::parse(u).unwrap().deny_key();
    /// assert_eq!(key("https://evil.example//%6Dcp/?x=1"), key("https://evil.example/mcp"));
    /// assert_eq!(key("http://[::ffff:203.0.113.5]:80/"), key("http://203.0.113.5"));
    /// ```
    pub fn deny_key(&self) -> String {
        let host = match self.url.host() {
            Some(url::Host::Ipv6(ip)) => match ip.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => format!("[{ip}]"),
            },
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
            None => String::new(),
        };
        let port = self
            .url
            .port_or_known_default()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        let path: Vec<String> = self
            .url
            .path()
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(decode_unreserved)
            .collect();
        format!("{}://{host}{port}/{}", self.url.scheme(), path.join("/"))
    }

    /// The URL with every query value replaced by `***`, for audit logs.
    pub fn redacted(&self) -> String {
        let mut url = self.url.clone();
        if url.query().is_some() {
            let pairs: Vec<String> = self
                .url
                .query_pairs()
                .map(|(key, _)| format!("{key}=***"))
                .collect();
            url.set_query(Some(&pairs.join("&")));
        }
        if self.has_userinfo {
            let _ = url.set_username("***");
        }
        url.to_string()
    }
}

impl fmt::Display for CanonicalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// What a server presents to the policy, by transport family.
///
/// Streamable HTTP and legacy SSE share the [`Identity::Url`] family: an
/// allowlist entry for a URL admits that URL over either flavour.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A local process.
    Command(StdioIdentity),
    /// A remote endpoint.
    Url(CanonicalUrl),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_urls_that_do_not_parse_too() {
        for (text, shown) in [
            // Parsed: what the URL parser reads as userinfo is masked.
            (
                "https://u:p@w@h/p@q?a=1&b&c=2#f",
                "https://*****@h/p@q?a=*****&*****&c=*****#f",
            ),
            ("https://u:pw@h?k=v", "https://*****@h/?k=*****"),
            ("https:///bot:pw@h/mcp", "https://*****@h/mcp"),
            ("https:bot:pw@h/mcp", "https://*****@h/mcp"),
            ("https:\\\\bot:pw@h/mcp", "https://*****@h/mcp"),
            ("https://h\\@evil/?x=1", "https://h/@evil/?x=*****"),
            ("https://h/mcp?sk-abc", "https://h/mcp?*****"),
            ("ftp://user:pw@h/", "ftp://*****@h/"),
            ("https://h/mcp", "https://h/mcp"),
            // Not parsed: masked on the text, too much rather than too little.
            (
                "https://u:pw@exa mple.com/x",
                "https://*****@exa mple.com/x",
            ),
            ("https://tok@h:99999/", "https://*****@h:99999/"),
            ("https://u:pa/ss@h/", "https://*****@h/"),
            ("https://u:p?ss@h/", "https://*****@h/"),
            ("https://h:99999/a@b?k=v", "https://*****@b?k=*****"),
            ("bot:secret@h/mcp", "bot:*****@h/mcp"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(mask_url_secrets(text), shown, "{text}");
        }
        for bad in [
            "https://user:hunter2@exa mple.com/",
            "https://user:hunter2@h:99999/",
            "ftp://user:hunter2@h/",
            "https://hunter2@[::1/",
            "https://u:hun/ter2@h/",
            "https://u:hun?ter2@h/",
            "bot:hunter2@h/mcp",
        ] {
            let err = CanonicalUrl::parse(bad).expect_err(bad).to_string();
            assert!(!err.contains("hunter2"), "{err}");
            assert!(err.contains("*****@"), "{err}");
        }
    }

    #[track_caller]
    fn check(input: &str, expected: &str) {
        let url = CanonicalUrl::parse(input).expect("valid url");
        assert_eq!(url.as_str(), expected, "canonical form of {input}");
    }

    #[test]
    fn canonical_forms() {
        check("https://MCP.Example.COM/mcp", "https://mcp.example.com/mcp");
        check("HTTPS://mcp.example.com/mcp", "https://mcp.example.com/mcp");
        check(
            "https://mcp.example.com./mcp",
            "https://mcp.example.com/mcp",
        );
        check(
            "https://mcp.example.com:443/mcp",
            "https://mcp.example.com/mcp",
        );
        check(
            "http://mcp.example.com:80/mcp",
            "http://mcp.example.com/mcp",
        );
        check(
            "https://mcp.example.com:8443/mcp",
            "https://mcp.example.com:8443/mcp",
        );
        check(
            "https://mcp.example.com/mcp#frag",
            "https://mcp.example.com/mcp",
        );
        check(
            "https://mcp.example.com/a/../mcp",
            "https://mcp.example.com/mcp",
        );
        check(
            "https://mcp.example.com/a/%2e%2e/mcp",
            "https://mcp.example.com/mcp",
        );
        check(
            "https://mcp.example.com/a%2Fb",
            "https://mcp.example.com/a%2Fb",
        );
        check(
            "https://mcp.example.com/MCP/",
            "https://mcp.example.com/MCP/",
        );
        check(
            "https://mcp.example.com/mcp?B=1&a=2",
            "https://mcp.example.com/mcp?B=1&a=2",
        );
        check(
            "https://bücher.example/mcp",
            "https://xn--bcher-kva.example/mcp",
        );
        check("https://mcp.example.com", "https://mcp.example.com/");
    }

    #[test]
    fn userinfo_is_stripped_and_flagged() {
        let url = CanonicalUrl::parse("https://mcp.example.com@evil.com/mcp").expect("valid");
        assert!(url.has_userinfo());
        assert_eq!(url.as_str(), "https://evil.com/mcp");
        let url = CanonicalUrl::parse("https://u:secret@mcp.example.com/mcp").expect("valid");
        assert!(url.has_userinfo());
        assert!(!url.redacted().contains("secret"));
        assert!(
            !CanonicalUrl::parse("https://a/")
                .expect("valid")
                .has_userinfo()
        );
    }

    #[test]
    fn redaction_hides_query_values() {
        let url = CanonicalUrl::parse("https://h/mcp?token=abc&x=1").expect("valid");
        assert_eq!(url.redacted(), "https://h/mcp?token=***&x=***");
    }

    #[test]
    fn rejects_non_http() {
        assert!(matches!(
            CanonicalUrl::parse("file:///etc/passwd"),
            Err(UrlError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            CanonicalUrl::parse("not a url"),
            Err(UrlError::Invalid { .. })
        ));
    }
}
