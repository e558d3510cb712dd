//! A linear walk over an ISO-BMFF file's top-level boxes, without parsing any of them: the
//! guard that refuses files built to make parsers slow (tens of thousands of empty boxes cost
//! container parsers time that grows with the square of their number).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Top-level boxes a plausible video has: ftyp, moov, mdat, free, uuid (C2PA), moof/mdat pairs of
/// a fragmented file (one pair per fragment: 5 000 fragments of 1 s is 80 minutes of video).
pub const MAX_TOP_LEVEL_BOXES: usize = 10_000;

/// How many top-level boxes an ISO-BMFF file has, counting up to `limit + 1` (so a count above
/// `limit` means "too many"); `None` when the file is not ISO-BMFF (no `ftyp` first) or cannot be
/// read. Stops at the first malformed size.
pub fn top_level_boxes(path: &Path, limit: usize) -> Option<usize> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut pos = 0u64;
    let mut count = 0usize;
    let mut header = [0u8; 16];
    while pos + 8 <= len && count <= limit {
        file.seek(SeekFrom::Start(pos)).ok()?;
        file.read_exact(&mut header[..8]).ok()?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as u64;
        if count == 0 && &header[4..8] != b"ftyp" {
            return None;
        }
        let size = match size32 {
            0 => len - pos,
            1 => {
                file.read_exact(&mut header[8..16]).ok()?;
                u64::from_be_bytes([
                    header[8], header[9], header[10], header[11], header[12], header[13],
                    header[14], header[15],
                ])
            }
            s => s,
        };
        count += 1;
        if size < 8 {
            break;
        }
        pos = pos.saturating_add(size);
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxes(n: usize) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 16];
        v.extend_from_slice(b"ftypisom\0\0\0\0");
        for _ in 0..n {
            v.extend_from_slice(&[0, 0, 0, 8]);
            v.extend_from_slice(b"free");
        }
        v
    }

    #[test]
    fn counts_top_level_boxes_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let p = dir.path().join("b.mp4");
        std::fs::write(&p, boxes(10)).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(top_level_boxes(&p, 100), Some(11));
        std::fs::write(&p, boxes(1000)).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(top_level_boxes(&p, 50), Some(51));
        std::fs::write(&p, b"not a box file at all").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(top_level_boxes(&p, 50), None);
        assert_eq!(top_level_boxes(&dir.path().join("none.mp4"), 50), None);
    }
}
