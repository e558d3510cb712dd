//! ChaCha20 keystreams: the element layout of a frame, and one sign template per frame index.
//!
//! Both are laid out in *layout order*: position `j` of a template refers to latent element
//! `layout.order[j]` of the frame. Pilot A elements come first, then pilot B, then code elements,
//! so agreement counts are popcounts over contiguous bit ranges.

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;

use crate::key::WatermarkKey;

fn stream(key: &[u8; 32], nonce_value: u64, domain: u32, out: &mut [u8]) {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&nonce_value.to_le_bytes());
    nonce[8..].copy_from_slice(&domain.to_le_bytes());
    out.fill(0);
    let mut cipher = ChaCha20::new(key.into(), (&nonce).into());
    cipher.apply_keystream(out);
}

/// How one frame's elements are used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Elements per frame (channels × height × width).
    pub frame_len: usize,
    /// `order[j]` is the element (index within the frame) at layout position `j`.
    pub order: Vec<u32>,
    /// Number of pilot A elements (frame alignment).
    pub pilot_a: usize,
    /// Number of pilot B elements (presence test).
    pub pilot_b: usize,
    /// Code bits of the codeword (see [`Layout::code_bit`]).
    pub code_len: usize,
}

impl Layout {
    /// Half of every frame is pilots (a quarter for alignment, a quarter for the presence test),
    /// half carries the codeword. The order is a keyed Fisher–Yates shuffle of the frame.
    pub fn new(key: &WatermarkKey, frame_len: usize, code_len: usize) -> Self {
        let mut order: Vec<u32> = (0..frame_len as u32).collect();
        let mut random = vec![0u8; frame_len * 4];
        stream(&key.layout, frame_len as u64, 1, &mut random);
        for i in (1..frame_len).rev() {
            let r = u32::from_le_bytes([
                random[4 * i],
                random[4 * i + 1],
                random[4 * i + 2],
                random[4 * i + 3],
            ]);
            // Multiply-shift maps r uniformly onto 0..=i (bias below 2^-32 * i).
            let j = ((u64::from(r) * (i as u64 + 1)) >> 32) as usize;
            order.swap(i, j);
        }
        let pilot_a = frame_len / 4;
        let pilot_b = frame_len / 4;
        Self {
            frame_len,
            order,
            pilot_a,
            pilot_b,
            code_len,
        }
    }

    /// Start of the code region in layout order.
    pub fn code_start(&self) -> usize {
        self.pilot_a + self.pilot_b
    }

    /// The code bit carried at layout position `j` (in the code region) of `template`. Each frame
    /// starts where the previous one stopped, so frames too small to hold the whole codeword still
    /// cover it together; frames that hold it several times carry every bit about equally often.
    pub fn code_bit(&self, j: usize, template: usize) -> usize {
        let len = self.code_len.max(1);
        let region = self.frame_len - self.code_start();
        let offset = (template % len) * (region % len);
        (j - self.code_start() + offset) % len
    }
}

/// The sign keystream of one frame index, as packed bits in layout order.
pub fn template_bits(key: &WatermarkKey, frame_len: usize, template: u64) -> Vec<u64> {
    let words = frame_len.div_ceil(64);
    let mut bytes = vec![0u8; words * 8];
    stream(&key.keystream, template, 0, &mut bytes);
    let mut out: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    // Clear bits beyond the frame so popcounts over whole words stay exact.
    if !frame_len.is_multiple_of(64) {
        if let Some(last) = out.last_mut() {
            *last &= (1u64 << (frame_len % 64)) - 1;
        }
    }
    out
}

/// Bit `j` of a packed bit vector.
#[inline]
pub fn bit(bits: &[u64], j: usize) -> bool {
    (bits[j / 64] >> (j % 64)) & 1 == 1
}

/// Number of positions in `start..end` where `a` and `b` agree.
pub fn agreement(a: &[u64], b: &[u64], start: usize, end: usize) -> usize {
    if start >= end {
        return 0;
    }
    let mut count = 0usize;
    let first = start / 64;
    let last = (end - 1) / 64;
    for w in first..=last {
        let mut mask = u64::MAX;
        if w == first {
            mask &= u64::MAX << (start % 64);
        }
        if w == last && !end.is_multiple_of(64) {
            mask &= (1u64 << (end % 64)) - 1;
        }
        count += (!(a[w] ^ b[w]) & mask).count_ones() as usize;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> WatermarkKey {
        WatermarkKey::new(&[n; 32])
    }

    #[test]
    fn templates_depend_on_key_and_frame_and_are_balanced() {
        let a0 = template_bits(&key(1), 4096, 0);
        let a1 = template_bits(&key(1), 4096, 1);
        let b0 = template_bits(&key(2), 4096, 0);
        assert_eq!(a0, template_bits(&key(1), 4096, 0));
        assert_ne!(a0, a1);
        assert_ne!(a0, b0);
        let ones: u32 = a0.iter().map(|w| w.count_ones()).sum();
        assert!((1900..2200).contains(&ones), "{ones}");
        // Independent templates agree on about half the positions.
        let agree = agreement(&a0, &a1, 0, 4096);
        assert!((1900..2200).contains(&agree), "{agree}");
    }

    #[test]
    fn layout_is_a_permutation() {
        let layout = Layout::new(&key(3), 1000, 306);
        let mut seen = layout.order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<u32>>());
        assert_ne!(layout.order, (0..1000).collect::<Vec<u32>>());
        assert_eq!(layout.pilot_a + layout.pilot_b, 500);
    }

    #[test]
    fn agreement_counts_ranges_exactly() {
        let a = vec![0u64; 3];
        let b = vec![u64::MAX; 3];
        assert_eq!(agreement(&a, &a, 10, 150), 140);
        assert_eq!(agreement(&a, &b, 10, 150), 0);
        assert_eq!(agreement(&a, &a, 64, 64), 0);
    }
}
