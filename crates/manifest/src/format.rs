//! Recognises the container of an asset from its first bytes, not from its name.

use std::io::Read;
use std::path::Path;

use crate::error::{ManifestError, Result};

/// Containers Candor can embed Content Credentials in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ISO BMFF with an MP4 brand (MP4, M4V, fragmented MP4 / DASH init segments).
    Mp4,
    /// QuickTime.
    Mov,
}

impl Container {
    /// The MIME type c2pa-rs expects.
    pub fn mime(self) -> &'static str {
        match self {
            Container::Mp4 => "video/mp4",
            Container::Mov => "video/quicktime",
        }
    }
}

/// Sniffs `path`. Empty files, truncated headers and other containers get an error that names them.
pub fn sniff(path: &Path) -> Result<Container> {
    let mut file = std::fs::File::open(path).map_err(|e| ManifestError::io("opening", path, e))?;
    let mut head = [0u8; 12];
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .map_err(|e| ManifestError::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let invalid = |reason: &str| ManifestError::InvalidAsset {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let unsupported = |reason: &str| ManifestError::UnsupportedFormat {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if filled == 0 {
        return Err(invalid("the file is empty"));
    }
    if filled < head.len() {
        return Err(invalid("the file is too short to be a video"));
    }
    match &head[4..8] {
        b"ftyp" => Ok(if &head[8..12] == b"qt  " {
            Container::Mov
        } else {
            Container::Mp4
        }),
        // QuickTime files may start with other atoms.
        b"moov" | b"mdat" | b"wide" | b"free" | b"skip" => Ok(Container::Mov),
        _ if head[..4] == [0x1a, 0x45, 0xdf, 0xa3] => Err(unsupported(
            "Matroska/WebM cannot carry embedded Content Credentials here; remux to MP4 first",
        )),
        _ if &head[..4] == b"RIFF" => Err(unsupported("AVI/RIFF is not supported; remux to MP4")),
        _ => Err(invalid("no ISO-BMFF `ftyp` header: not an MP4 or MOV file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new()
            .ok()
            .unwrap_or_else(|| std::process::abort());
        let _ = f.write_all(bytes);
        f
    }

    #[test]
    fn recognises_containers_and_rejects_the_rest() {
        let mp4 = file_with(b"\0\0\0\x18ftypisom\0\0\0\0");
        assert_eq!(sniff(mp4.path()).ok(), Some(Container::Mp4));
        let mov = file_with(b"\0\0\0\x14ftypqt  \0\0\0\0");
        assert_eq!(sniff(mov.path()).ok(), Some(Container::Mov));
        let mkv = file_with(&[0x1a, 0x45, 0xdf, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(
            sniff(mkv.path()),
            Err(ManifestError::UnsupportedFormat { .. })
        ));
        let empty = file_with(b"");
        assert!(sniff(empty.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("empty"));
        let junk = file_with(b"hello, this is not a video at all");
        assert!(matches!(
            sniff(junk.path()),
            Err(ManifestError::InvalidAsset { .. })
        ));
    }
}
