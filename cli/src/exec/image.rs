//! `-i/--image FILE`: an image attached to the prompt, sent as a `data:`
//! URL. Only regular files are read (no FIFO to block on, no device), at
//! most [`MAX_IMAGE_BYTES`], and only the formats models take, recognised
//! by their first bytes rather than their names.

use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;

use crate::error::CliError;

/// The largest image attached: 20 MiB.
const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

/// The image at `path` as a `data:` URL.
pub(crate) fn data_url(path: &Path) -> Result<String, CliError> {
    let problem = |problem: String| CliError::Image {
        path: path.to_owned(),
        problem,
    };
    let file = open_regular(path).map_err(|err| problem(err.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_IMAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| problem(err.to_string()))?;
    if bytes.len() as u64 > MAX_IMAGE_BYTES {
        return Err(problem(format!(
            "larger than {} MiB",
            MAX_IMAGE_BYTES / 1024 / 1024
        )));
    }
    let mime =
        sniff(&bytes).ok_or_else(|| problem("not a PNG, JPEG, GIF or WebP image".to_owned()))?;
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    ))
}

/// Opens `path` for reading only if it is a regular file (following a
/// symbolic link the user named is fine; a FIFO or a device is not).
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_nonblock())
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// `O_NONBLOCK`: opening a FIFO must not wait for a writer.
fn libc_nonblock() -> i32 {
    rustix::fs::OFlags::NONBLOCK.bits() as i32
}

/// The MIME type of an image, from its magic bytes.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_content_and_fifos_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let png = dir.path().join("shot.txt");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\nrest").expect("write");
        let url = data_url(&png).expect("a png");
        assert!(url.starts_with("data:image/png;base64,"), "{url}");

        let text = dir.path().join("notes.png");
        std::fs::write(&text, b"hello").expect("write");
        let err = data_url(&text).expect_err("not an image").to_string();
        assert!(err.contains("not a PNG"), "{err}");

        let fifo = dir.path().join("pipe.png");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        let err = data_url(&fifo).expect_err("a fifo").to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }
}
