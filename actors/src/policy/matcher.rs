//! Codex's matcher forms for `url` and each element of `args`:
//!
//! ```toml
//! url = { match = "prefix", value = "https://mcp.example.com/" }
//! args = [{ match = "exact", value = "--server" }, { match = "regex", expression = "[a-z]+" }]
//! ```
//!
//! A plain string is `exact`. `prefix` compares the start, `regex` must
//! match the whole value (the expression is anchored as `\A(?:expr)\z`).
//! Expressions are run by `regex-lite`, as Codex runs them: its syntax is
//! the `regex` crate's without Unicode classes, so `\d`, `\w` and `\s` are
//! ASCII and `\p{..}` is refused when the requirements are read.
//! URLs are matched in canonical form, and a `prefix` is itself a URL,
//! canonicalised, so `https://mcp.example.com` (which becomes
//! `https://mcp.example.com/`) never matches `https://mcp.example.com.evil/`.

use std::fmt;

use codex_transports::CanonicalUrl;

/// A compiled, anchored regular expression that remembers its source.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    regex: regex_lite::Regex,
}

impl Pattern {
    /// Compiles `source`, anchored to the whole value.
    ///
    /// # Errors
    ///
    /// `regex-lite`'s message for an invalid expression.
    pub fn new(source: &str) -> Result<Self, String> {
        regex_lite::Regex::new(&format!(r"\A(?:{source})\z"))
            .map(|regex| Pattern {
                source: source.to_owned(),
                regex,
            })
            .map_err(|err| err.to_string())
    }

    /// Whether the whole of `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Pattern {}

impl std::hash::Hash for Pattern {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

/// How one string must look.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueMatcher {
    /// Exactly this.
    Exact(String),
    /// Starting with this.
    Prefix(String),
    /// Matching this whole.
    Regex(Pattern),
}

impl ValueMatcher {
    /// Whether `value` satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            ValueMatcher::Exact(exact) => exact == value,
            ValueMatcher::Prefix(prefix) => value.starts_with(prefix.as_str()),
            ValueMatcher::Regex(pattern) => pattern.is_match(value),
        }
    }
}

impl fmt::Display for ValueMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueMatcher::Exact(exact) => write!(f, "{exact:?}"),
            ValueMatcher::Prefix(prefix) => write!(f, "prefix {prefix:?}"),
            ValueMatcher::Regex(pattern) => write!(f, "regex {:?}", pattern.source()),
        }
    }
}

/// How a server's URL must look.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UrlMatcher {
    /// This canonical URL.
    Exact(CanonicalUrl),
    /// A canonical URL starting with this canonical URL.
    Prefix(CanonicalUrl),
    /// A canonical URL that this expression matches whole.
    Regex(Pattern),
}

impl UrlMatcher {
    /// Whether the canonical `url` satisfies the matcher.
    pub fn matches(&self, url: &CanonicalUrl) -> bool {
        match self {
            UrlMatcher::Exact(exact) => exact.as_str() == url.as_str(),
            UrlMatcher::Prefix(prefix) => url.as_str().starts_with(prefix.as_str()),
            UrlMatcher::Regex(pattern) => pattern.is_match(url.as_str()),
        }
    }

    /// Whether a denied URL covers `url`: compared loosely (see
    /// [`CanonicalUrl::deny_key`]), so that no other spelling of the same
    /// endpoint escapes the denial.
    pub fn denies(&self, url: &CanonicalUrl) -> bool {
        let key = url.deny_key();
        match self {
            UrlMatcher::Exact(exact) => exact.deny_key() == key,
            UrlMatcher::Prefix(prefix) => key.starts_with(&prefix.deny_key()),
            UrlMatcher::Regex(pattern) => pattern.is_match(url.as_str()) || pattern.is_match(&key),
        }
    }
}

impl fmt::Display for UrlMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlMatcher::Exact(exact) => write!(f, "{:?}", exact.redacted()),
            UrlMatcher::Prefix(prefix) => write!(f, "prefix {:?}", prefix.redacted()),
            UrlMatcher::Regex(pattern) => write!(f, "regex {:?}", pattern.source()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> CanonicalUrl {
        CanonicalUrl::parse(text).expect("url")
    }

    #[test]
    fn regexes_are_anchored_to_the_whole_value() {
        let pattern = Pattern::new("[a-z]+").expect("valid");
        assert!(pattern.is_match("abc"));
        assert!(!pattern.is_match("abc1"));
        assert!(!pattern.is_match("1abc"));
        let alternation = Pattern::new("a|b").expect("valid");
        assert!(!alternation.is_match("ab"), "the alternation is grouped");
        assert!(Pattern::new("(").is_err());
    }

    #[test]
    fn classes_are_ascii_as_in_codex() {
        // An allowlisted argument of digits cannot be met by other scripts'
        // digits, and a Unicode class is refused rather than guessed at.
        let digits = Pattern::new(r"\d+").expect("valid");
        assert!(digits.is_match("8080"));
        assert!(!digits.is_match("٨٠٨٠"), "Arabic-Indic digits");
        let word = Pattern::new(r"\w+").expect("valid");
        assert!(!word.is_match("café"));
        assert!(Pattern::new(r"\p{Greek}+").is_err());
        // A pattern that would compile to a huge program is refused, not
        // built.
        assert!(Pattern::new("(a{1000}){1000}").is_err());
    }

    #[test]
    fn url_prefixes_cannot_extend_the_host() {
        let prefix = UrlMatcher::Prefix(url("https://mcp.example.com"));
        assert!(prefix.matches(&url("https://mcp.example.com/mcp")));
        assert!(prefix.matches(&url("https://MCP.example.com:443/x")));
        assert!(!prefix.matches(&url("https://mcp.example.com.evil.net/mcp")));
        assert!(!prefix.matches(&url("https://mcp.example.com:8443/mcp")));
    }

    #[test]
    fn denials_cover_every_spelling() {
        let deny = UrlMatcher::Exact(url("https://evil.example/mcp"));
        for spelling in [
            "https://evil.example/mcp",
            "https://evil.example/mcp/",
            "https://evil.example/%6Dcp",
            "https://evil.example//mcp",
            "https://evil.example/mcp?x=1",
            "https://EVIL.example./mcp",
        ] {
            assert!(deny.denies(&url(spelling)), "{spelling}");
        }
        assert!(!deny.denies(&url("https://evil.example/mcp2")));
        let deny_ip = UrlMatcher::Exact(url("http://203.0.113.5/"));
        assert!(deny_ip.denies(&url("http://[::ffff:203.0.113.5]/")));
        assert!(deny_ip.denies(&url("http://[::ffff:cb00:7105]")));
    }
}
