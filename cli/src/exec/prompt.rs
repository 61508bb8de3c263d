//! Where `codex exec` takes its prompt from, as Codex does:
//!
//! | positional | stdin            | prompt                                           |
//! |------------|------------------|--------------------------------------------------|
//! | given      | a terminal       | the argument                                     |
//! | given      | piped, non-empty | the argument, then `<stdin>...</stdin>`          |
//! | given      | piped, empty     | the argument                                     |
//! | absent     | a terminal       | error: no prompt                                 |
//! | absent, `-`| piped            | stdin (error when empty)                         |
//!
//! Piped input may be UTF-8 (a BOM is dropped) or UTF-16 with a BOM;
//! anything else is refused with the offset of the first bad byte.

use std::io::Read;

/// Why no prompt could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PromptError {
    /// No argument, and stdin is a terminal.
    #[error("No prompt provided. Either specify one as an argument or pipe the prompt into stdin.")]
    Missing,
    /// stdin was to be the prompt but held nothing.
    #[error("No prompt provided via stdin.")]
    EmptyStdin,
    /// stdin could not be decoded.
    #[error("{0}")]
    Encoding(String),
    /// stdin could not be read.
    #[error("failed to read stdin: {0}")]
    Read(String),
}

/// Where the prompt came from, for the progress note on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Only the argument.
    Argument,
    /// The argument plus stdin.
    ArgumentAndStdin,
    /// Only stdin.
    Stdin,
}

/// The most a prompt read from stdin may hold.
const MAX_STDIN: u64 = 64 * 1024 * 1024;

/// Resolves the prompt from the argument and, when stdin is not a
/// terminal (or the argument is `-`), from `stdin`. `reading` is told
/// before anything is read from stdin, so that the user learns why the
/// command waits before it does (a pipe left open blocks the read).
pub(crate) fn resolve(
    argument: Option<&str>,
    stdin_is_terminal: bool,
    stdin: &mut dyn Read,
    reading: &mut dyn FnMut(Source),
) -> Result<(String, Source), PromptError> {
    match argument {
        Some(prompt) if prompt != "-" => {
            if stdin_is_terminal {
                return Ok((prompt.to_owned(), Source::Argument));
            }
            reading(Source::ArgumentAndStdin);
            let extra = read(stdin)?;
            if extra.trim().is_empty() {
                Ok((prompt.to_owned(), Source::Argument))
            } else {
                Ok((
                    format!(
                        "{prompt}\n\n<stdin>\n{}\n</stdin>",
                        extra.trim_end_matches('\n')
                    ),
                    Source::ArgumentAndStdin,
                ))
            }
        }
        forced => {
            if forced.is_none() && stdin_is_terminal {
                return Err(PromptError::Missing);
            }
            reading(Source::Stdin);
            let text = read(stdin)?;
            if text.trim().is_empty() {
                return Err(PromptError::EmptyStdin);
            }
            Ok((text, Source::Stdin))
        }
    }
}

fn read(stdin: &mut dyn Read) -> Result<String, PromptError> {
    let mut bytes = Vec::new();
    stdin
        .take(MAX_STDIN + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| PromptError::Read(err.to_string()))?;
    if bytes.len() as u64 > MAX_STDIN {
        return Err(PromptError::Read(format!(
            "the input is larger than {} MiB",
            MAX_STDIN / (1024 * 1024)
        )));
    }
    decode(&bytes)
}

/// UTF-8 (BOM dropped) or UTF-16 with a BOM.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, PromptError> {
    if bytes.starts_with(&[0xFF, 0xFE, 0x00, 0x00]) || bytes.starts_with(&[0x00, 0x00, 0xFE, 0xFF])
    {
        return Err(PromptError::Encoding(
            "input looks like UTF-32, which is not supported; convert it to UTF-8".to_owned(),
        ));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, 3);
    }
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        if !rest.len().is_multiple_of(2) {
            return Err(PromptError::Encoding(
                "input is UTF-16 with an odd number of bytes".to_owned(),
            ));
        }
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|pair| from([pair[0], pair[1]]))
            .collect();
        String::from_utf16(&units)
            .map_err(|_| PromptError::Encoding("input is not valid UTF-16".to_owned()))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    utf8(bytes, 0)
}

fn utf8(bytes: &[u8], offset: usize) -> Result<String, PromptError> {
    String::from_utf8(bytes.to_vec()).map_err(|err| {
        PromptError::Encoding(format!(
            "input is not valid UTF-8 (invalid byte at offset {}); convert it to UTF-8",
            offset + err.utf8_error().valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        argument: Option<&str>,
        terminal: bool,
        stdin: &[u8],
    ) -> Result<(String, Source), PromptError> {
        let mut noted = None;
        let result = resolve(argument, terminal, &mut &stdin[..], &mut |source| {
            noted = Some(source)
        });
        // The note comes before any read, and only when stdin is read.
        if let Ok((_, source)) = &result {
            match source {
                Source::Argument => {
                    assert!(noted.is_none() || stdin.iter().all(|b| b.is_ascii_whitespace()))
                }
                Source::Stdin | Source::ArgumentAndStdin => assert_eq!(noted, Some(*source)),
            }
        }
        result
    }

    #[test]
    fn the_table() {
        assert_eq!(
            check(Some("hi"), true, b"ignored"),
            Ok(("hi".into(), Source::Argument))
        );
        assert_eq!(
            check(Some("hi"), false, b"ctx\n"),
            Ok((
                "hi\n\n<stdin>\nctx\n</stdin>".into(),
                Source::ArgumentAndStdin
            ))
        );
        assert_eq!(
            check(Some("hi"), false, b"  \n"),
            Ok(("hi".into(), Source::Argument))
        );
        assert_eq!(check(None, true, b""), Err(PromptError::Missing));
        assert_eq!(
            check(None, false, b"from pipe"),
            Ok(("from pipe".into(), Source::Stdin))
        );
        assert_eq!(
            check(Some("-"), true, b"forced"),
            Ok(("forced".into(), Source::Stdin))
        );
        assert_eq!(
            check(Some("-"), false, b" \n"),
            Err(PromptError::EmptyStdin)
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(decode(b"\xEF\xBB\xBFhi"), Ok("hi".into()));
        assert_eq!(decode(b"\xFF\xFEh\x00i\x00"), Ok("hi".into()));
        assert_eq!(decode(b"\xFE\xFF\x00h\x00i"), Ok("hi".into()));
        assert_eq!(
            decode(b"ab\xFFc"),
            Err(PromptError::Encoding(
                "input is not valid UTF-8 (invalid byte at offset 2); convert it to UTF-8".into()
            ))
        );
        assert!(decode(b"\xFF\xFE\x00\x00h").is_err());
    }
}
