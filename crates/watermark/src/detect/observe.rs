//! Observed frames in layout order, the weight each element carries, and the expected signs of
//! a clip: computed once per detection and shared by every test and map.

use super::thresholds::SOFT_CLIP;
use super::DetectOptions;
use crate::embed::data_bits;
use crate::keystream::Layout;
use crate::shape::LatentShape;
use crate::stats::two_proportion_z;

/// One observed frame in layout order: packed sign bits (1 = negative) and values.
pub(super) struct ObservedFrame {
    pub(super) signs: Vec<u64>,
    pub(super) values: Vec<f32>,
}

impl ObservedFrame {
    pub(super) fn new(frame: &[f32], layout: &Layout) -> Self {
        let mut signs = vec![0u64; layout.frame_len.div_ceil(64)];
        let mut values = Vec::with_capacity(layout.frame_len);
        for (j, &e) in layout.order.iter().enumerate() {
            let v = frame[e as usize];
            // NaN and exact zeros count as "positive": under no watermark that only lowers agreement
            // with half the templates, so the test stays valid.
            let v = if v.is_finite() { v } else { 0.0 };
            if v < 0.0 {
                signs[j / 64] |= 1 << (j % 64);
            }
            values.push(v);
        }
        Self { signs, values }
    }
}

/// Each element's say in the weighted tests: `weights[j]` (its channel's) × its value clipped to
/// ±[`SOFT_CLIP`] — a value near zero says little about its sign. Positions `0..weights.len()`.
pub(super) fn element_weights(frame: &ObservedFrame, weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .zip(&frame.values)
        .map(|(w, v)| w * f64::from(v.abs().min(SOFT_CLIP)))
        .collect()
}

/// The latent's frames (`n` elements each) observed under `layout`, with each element's say
/// ([`element_weights`] under [`position_weights`]): what the payload-aware tests count.
pub(super) fn weighted_frames(
    latent: &[f32],
    n: usize,
    layout: &Layout,
    shape: LatentShape,
    options: &DetectOptions,
) -> (Vec<ObservedFrame>, Vec<Vec<f64>>) {
    let weights = position_weights(layout, shape, options);
    let frames: Vec<ObservedFrame> = latent
        .chunks_exact(n.max(1))
        .map(|f| ObservedFrame::new(f, layout))
        .collect();
    let scaled = frames
        .iter()
        .map(|f| element_weights(f, &weights))
        .collect();
    (frames, scaled)
}

/// The calibrated weight of each layout position's channel (1 for all without calibration).
pub(super) fn position_weights(
    layout: &Layout,
    shape: LatentShape,
    options: &DetectOptions,
) -> Vec<f64> {
    let hw = (shape.height * shape.width).max(1);
    layout
        .order
        .iter()
        .map(|&e| match &options.channel_weights {
            Some(w) if w.len() == shape.channels => f64::from(w[e as usize / hw].max(0.0)),
            _ => 1.0,
        })
        .collect()
}

/// (observed frame, template) pairs.
pub(super) type Alignment = Vec<(usize, usize)>;

/// The signs every element of template `t` should carry: the key's template, XOR the codeword's
/// data bits when the payload is known (`codeword`), else the template alone (pilots are the
/// only positions then known).
pub(super) fn expected_signs(
    layout: &Layout,
    templates: &[Vec<u64>],
    codeword: Option<&[bool]>,
) -> Vec<Vec<u64>> {
    templates
        .iter()
        .enumerate()
        .map(|(t, tmpl)| match codeword {
            Some(c) => {
                let data = data_bits(layout, c, t);
                tmpl.iter().zip(&data).map(|(a, b)| a ^ b).collect()
            }
            None => tmpl.clone(),
        })
        .collect()
}

/// Pilot and codeword elements of one frame or region compared: the evidence that it comes from
/// another clip made with the same key. In this clip's own frames both parts agree with their
/// expected signs equally well, whatever the content (the layout interleaves them at random);
/// another clip carries the same pilots (they come from the key and the frame index) but another
/// payload, so its codeword agrees at chance (the payloads differ in about half the code bits, and
/// each differing bit flips its elements).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PilotsVsCodeword {
    pub(super) pilot_agree: usize,
    pub(super) pilot_count: usize,
    pub(super) data_agree: usize,
    pub(super) data_count: usize,
}

impl PilotsVsCodeword {
    pub(super) fn add(&mut self, other: &PilotsVsCodeword) {
        self.pilot_agree += other.pilot_agree;
        self.pilot_count += other.pilot_count;
        self.data_agree += other.data_agree;
        self.data_count += other.data_count;
    }

    /// Standard score of "pilots agree better than the codeword" (two-proportion test).
    pub(super) fn gap_z(&self) -> f64 {
        two_proportion_z(
            self.pilot_agree,
            self.pilot_count,
            self.data_agree,
            self.data_count,
        )
    }

    /// The pilots ahead of the codeword by at least `min_z`, and the codeword less than half as
    /// far above chance as the pilots. The second condition keeps out what only moves the score:
    /// a frame with a region pasted from another clip keeps most of its codeword agreement (it
    /// belongs on the tamper map), and where the mark is strong in one part of a region and weak
    /// in another, pilots and codeword can sample the parts in different proportions.
    pub(super) fn looks_like_another_clip(&self, min_z: f64) -> bool {
        if self.pilot_count == 0 || self.data_count == 0 {
            return false;
        }
        let pilots = self.pilot_agree as f64 / self.pilot_count as f64 - 0.5;
        let data = self.data_agree as f64 / self.data_count as f64 - 0.5;
        self.gap_z() >= min_z && data < 0.5 * pilots
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::WatermarkKey;
    use crate::keystream::{bit, template_bits};

    fn layout(n: usize) -> Layout {
        Layout::new(&WatermarkKey::new(&[3; 32]), n, crate::code::CODE_BITS)
    }

    #[test]
    fn observed_frames_read_signs_in_layout_order_and_neutralise_non_finite_values() {
        let l = layout(256);
        let mut frame: Vec<f32> = (0..256)
            .map(|i| if i % 3 == 0 { -1.5 } else { 0.5 })
            .collect();
        frame[7] = f32::NAN;
        frame[9] = f32::NEG_INFINITY;
        let obs = ObservedFrame::new(&frame, &l);
        for (j, &e) in l.order.iter().enumerate() {
            let v = frame[e as usize];
            let v = if v.is_finite() { v } else { 0.0 };
            assert_eq!(obs.values[j], v);
            assert_eq!(bit(&obs.signs, j), v < 0.0, "position {j}");
        }
    }

    #[test]
    fn element_weights_clip_large_values() {
        let l = layout(64);
        let frame: Vec<f32> = (0..64).map(|i| i as f32 - 32.0).collect();
        let obs = ObservedFrame::new(&frame, &l);
        let w = element_weights(&obs, &[2.0; 10]);
        assert_eq!(w.len(), 10);
        for (j, &x) in w.iter().enumerate() {
            assert_eq!(x, 2.0 * f64::from(obs.values[j].abs().min(SOFT_CLIP)));
        }
    }

    #[test]
    fn expected_signs_are_the_template_xor_the_codeword() {
        let key = WatermarkKey::new(&[3; 32]);
        let l = layout(512);
        let templates: Vec<Vec<u64>> = (0..3).map(|t| template_bits(&key, 512, t)).collect();
        assert_eq!(expected_signs(&l, &templates, None), templates);
        let codeword: Vec<bool> = (0..crate::code::CODE_BITS).map(|i| i % 2 == 0).collect();
        let with = expected_signs(&l, &templates, Some(&codeword));
        for t in 0..3 {
            let data = data_bits(&l, &codeword, t);
            for j in 0..512 {
                assert_eq!(bit(&with[t], j), bit(&templates[t], j) ^ bit(&data, j));
            }
            // Pilots carry no data.
            for j in 0..l.code_start() {
                assert_eq!(bit(&with[t], j), bit(&templates[t], j));
            }
        }
    }

    #[test]
    fn another_clip_shows_as_pilots_ahead_of_a_codeword_at_chance() {
        let own = PilotsVsCodeword {
            pilot_agree: 700,
            pilot_count: 1000,
            data_agree: 2800,
            data_count: 4000,
        };
        assert!(!own.looks_like_another_clip(5.0));
        let other = PilotsVsCodeword {
            data_agree: 2000,
            ..own
        };
        assert!(other.looks_like_another_clip(5.0));
        // A region pasted into this clip's frame keeps most of its codeword agreement.
        let mixed = PilotsVsCodeword {
            data_agree: 2600,
            ..own
        };
        assert!(!mixed.looks_like_another_clip(5.0));
        assert!(!PilotsVsCodeword::default().looks_like_another_clip(0.0));
        let mut sum = own;
        sum.add(&other);
        assert_eq!((sum.pilot_count, sum.data_agree), (2000, 4800));
    }
}
