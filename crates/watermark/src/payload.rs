//! The payload: a 64-bit content id, protected by a CRC-32 so that a wrong decode is rejected.

use serde::{Deserialize, Serialize};

/// Information bits carried by the watermark: 64 content-id bits then 32 CRC bits.
pub const INFO_BITS: usize = 96;

/// What a watermark says: which clip this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Payload {
    /// The content id, drawn fresh for every generated clip.
    pub content_id: u64,
}

impl Payload {
    pub fn new(content_id: u64) -> Self {
        Self { content_id }
    }

    /// The bytes recorded as the C2PA soft-binding value (big-endian content id).
    pub fn to_bytes(self) -> [u8; 8] {
        self.content_id.to_be_bytes()
    }

    /// The inverse of [`Payload::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 8] = bytes.try_into().ok()?;
        Some(Self::new(u64::from_be_bytes(array)))
    }

    /// Content id as 16 hex digits, as reports show it.
    pub fn hex(self) -> String {
        format!("{:016x}", self.content_id)
    }

    /// The 96 information bits (MSB first).
    pub(crate) fn to_bits(self) -> Vec<bool> {
        let crc = crc32(&self.to_bytes());
        let mut bits = Vec::with_capacity(INFO_BITS);
        bits.extend((0..64).rev().map(|i| (self.content_id >> i) & 1 == 1));
        bits.extend((0..32).rev().map(|i| (crc >> i) & 1 == 1));
        bits
    }

    /// Reads the information bits back; `None` when the CRC does not match.
    pub(crate) fn from_bits(bits: &[bool]) -> Option<Self> {
        if bits.len() != INFO_BITS {
            return None;
        }
        let fold = |s: &[bool]| s.iter().fold(0u64, |acc, &b| (acc << 1) | u64::from(b));
        let id = fold(&bits[..64]);
        let crc = fold(&bits[64..]) as u32;
        (crc32(&id.to_be_bytes()) == crc).then_some(Self::new(id))
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn bits_round_trip_and_any_flip_is_caught() {
        let p = Payload::new(0x0123_4567_89ab_cdef);
        let bits = p.to_bits();
        assert_eq!(Payload::from_bits(&bits), Some(p));
        for i in 0..INFO_BITS {
            let mut flipped = bits.clone();
            flipped[i] = !flipped[i];
            assert_eq!(Payload::from_bits(&flipped), None, "flip at {i} not caught");
        }
        assert_eq!(Payload::from_bytes(&p.to_bytes()), Some(p));
    }
}
