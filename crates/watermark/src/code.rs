//! Error-correcting code: a rate-1/3 convolutional code (constraint length 7, generators 133, 171,
//! 165 octal, as in LTE) with zero tail, decoded by a soft-input Viterbi decoder.
//!
//! Soft inputs matter: each code bit is read as the sum of many signed latent values, and how sure
//! that sum is carries information a hard majority vote throws away.

use crate::payload::INFO_BITS;

const K: usize = 7;
const STATES: usize = 1 << (K - 1);
const GENERATORS: [u32; 3] = [0o133, 0o171, 0o165];

/// Code bits per information bit.
pub const RATE_INV: usize = GENERATORS.len();
/// Length of the codeword for the payload: (96 + 6 tail bits) × 3.
pub const CODE_BITS: usize = (INFO_BITS + K - 1) * RATE_INV;

fn outputs(state: usize, input: bool) -> [bool; RATE_INV] {
    // Register: newest bit in the MSB of a K-bit window.
    let reg = ((usize::from(input)) << (K - 1)) | state;
    let mut out = [false; RATE_INV];
    for (o, g) in out.iter_mut().zip(GENERATORS) {
        *o = (reg as u32 & g).count_ones() % 2 == 1;
    }
    out
}

fn next_state(state: usize, input: bool) -> usize {
    ((usize::from(input)) << (K - 2)) | (state >> 1)
}

/// Encodes information bits (a zero tail returns the encoder to state 0).
pub fn encode(info: &[bool]) -> Vec<bool> {
    let mut state = 0usize;
    let mut out = Vec::with_capacity((info.len() + K - 1) * RATE_INV);
    for &b in info.iter().chain(std::iter::repeat_n(&false, K - 1)) {
        out.extend_from_slice(&outputs(state, b));
        state = next_state(state, b);
    }
    out
}

/// Soft Viterbi decoding. `soft[i] > 0` means code bit `i` is more likely 0, `< 0` more likely 1;
/// the magnitude is the confidence. Returns the most likely information bits.
pub fn decode(soft: &[f32], info_len: usize) -> Vec<bool> {
    let steps = info_len + K - 1;
    let mut metric = vec![f32::NEG_INFINITY; STATES];
    metric[0] = 0.0;
    let mut history: Vec<[u8; STATES]> = Vec::with_capacity(steps);
    let mut table = [[[false; RATE_INV]; 2]; STATES];
    for (s, row) in table.iter_mut().enumerate() {
        row[0] = outputs(s, false);
        row[1] = outputs(s, true);
    }
    for step in 0..steps {
        let r: [f32; RATE_INV] =
            std::array::from_fn(|i| soft.get(step * RATE_INV + i).copied().unwrap_or(0.0));
        let mut next = vec![f32::NEG_INFINITY; STATES];
        let mut choice = [0u8; STATES];
        let tail = step >= info_len;
        for (s, &m) in metric.iter().enumerate() {
            if m == f32::NEG_INFINITY {
                continue;
            }
            for input in [false, true] {
                if tail && input {
                    continue;
                }
                let out = &table[s][usize::from(input)];
                let branch: f32 = out
                    .iter()
                    .zip(r)
                    .map(|(&bit, v)| if bit { -v } else { v })
                    .sum();
                let ns = next_state(s, input);
                let candidate = m + branch;
                if candidate > next[ns] {
                    next[ns] = candidate;
                    // Remember the predecessor's lowest bit: with the new input it identifies it.
                    choice[ns] = (s & 1) as u8;
                }
            }
        }
        metric = next;
        history.push(choice);
    }
    // Trace back from state 0 (the tail forces it).
    let mut state = 0usize;
    let mut bits = vec![false; steps];
    for step in (0..steps).rev() {
        let input = (state >> (K - 2)) & 1 == 1;
        bits[step] = input;
        let low = usize::from(history[step][state]);
        state = ((state << 1) & (STATES - 1)) | low;
    }
    bits.truncate(info_len);
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(seed: u64) -> Vec<bool> {
        (0..INFO_BITS)
            .map(|i| (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (i % 64)) & 1 == 1 || i % 7 == 3)
            .collect()
    }

    fn to_soft(code: &[bool]) -> Vec<f32> {
        code.iter().map(|&b| if b { -1.0 } else { 1.0 }).collect()
    }

    #[test]
    fn clean_codewords_decode() {
        for seed in 0..20 {
            let bits = info(seed);
            let code = encode(&bits);
            assert_eq!(code.len(), CODE_BITS);
            assert_eq!(decode(&to_soft(&code), INFO_BITS), bits);
        }
    }

    #[test]
    fn corrects_scattered_errors_and_erasures() {
        let bits = info(7);
        let mut soft = to_soft(&encode(&bits));
        // Flip every 9th code bit (11 % of bits) and erase every 13th.
        for i in (0..soft.len()).step_by(9) {
            soft[i] = -soft[i];
        }
        for i in (5..soft.len()).step_by(13) {
            soft[i] = 0.0;
        }
        assert_eq!(decode(&soft, INFO_BITS), bits);
    }

    #[test]
    fn soft_confidence_beats_hard_decisions() {
        // Errors with low confidence are outvoted by confident correct bits.
        let bits = info(3);
        let mut soft = to_soft(&encode(&bits));
        for i in (0..soft.len()).step_by(3) {
            soft[i] *= -0.2;
        }
        assert_eq!(decode(&soft, INFO_BITS), bits);
    }
}
