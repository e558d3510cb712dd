//! What a detection concludes: the public outcome types, and the one place where p-values are
//! corrected for every test that was run (key ring, placements, the store's candidate test).

use serde::{Deserialize, Serialize};

use super::decode::PayloadMatch;
use super::presence::CandidateDetection;
use super::DetectOptions;
use crate::key::KeyRing;
use crate::payload::Payload;

/// Which original frame an observed frame carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameMatch {
    /// Position in the observed latent.
    pub observed: usize,
    /// Template (original frame index) found, or `None` when no template matches (foreign frame).
    pub template: Option<usize>,
    /// Fraction of compared signs that agree with that template (0.5 = chance).
    pub agreement: f32,
    /// Standard score of the agreement.
    pub z: f32,
    /// Too weak to say: no template matched, yet the frame agrees with the template its
    /// neighbours expect clearly more than chance would (z ≥ 3). Such frames are not called
    /// inserted.
    #[serde(default)]
    pub unreadable: bool,
}

/// One temporal edit found by comparing the frame order with the templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemporalEvent {
    /// Original frames `first..=last` are missing; they belonged just before observed frame `before`
    /// (`before` = number of observed frames when they were at the end).
    Dropped {
        first: usize,
        last: usize,
        before: usize,
    },
    /// Observed frame carries no template of this clip.
    Inserted { observed: usize },
    /// Observed frame is out of order (it carries `template`).
    Reordered { observed: usize, template: usize },
    /// Observed frame repeats a template already seen.
    Duplicated { observed: usize, template: usize },
}

/// Agreement per spatial block: where the watermark still holds and where it was replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpatialMap {
    /// Block size in latent pixels.
    pub block: usize,
    pub grid_height: usize,
    pub grid_width: usize,
    /// Agreement per block over all matched frames, row-major (0.5 = chance, NaN = no data).
    pub agreement: Vec<f32>,
    /// Blocks judged replaced: at chance (foreign content), or pilots agreeing while the codeword
    /// does not (pasted from another clip made with the same key).
    pub tampered: Vec<bool>,
    /// Agreement per block for each observed frame (empty rows for unmatched frames).
    pub per_frame: Vec<Vec<f32>>,
}

/// The outcome of a detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// True when the ring-adjusted p-value is at most the threshold.
    pub(crate) present: bool,
    /// p-value of the presence test, multiplied by the number of keys tried (capped at 1).
    pub(crate) p_value: f64,
    /// log10 of `p_value` (stays finite where `p_value` underflows to 0).
    pub(crate) log10_p_value: f64,
    /// The false-positive rate of this check per clip: the threshold, over the whole key ring.
    pub(crate) false_positive_rate: f64,
    /// Keys tried (each with all its template variants).
    pub(crate) keys_tried: usize,
    /// Index in the ring and fingerprint of the best-matching key.
    pub(crate) key_index: usize,
    pub(crate) key_id: String,
    /// Decoded payload, when the CRC checks.
    pub(crate) payload: Option<Payload>,
    /// Fraction of element signs that disagree with the expected watermark on matched frames
    /// (all elements when the payload decoded, pilots otherwise).
    pub(crate) bit_error_rate: f32,
    /// Pilot-B agreements and comparisons behind the p-value.
    pub(crate) pilot_agreements: u64,
    pub(crate) pilot_comparisons: u64,
    pub(crate) frames: Vec<FrameMatch>,
    pub(crate) temporal: Vec<TemporalEvent>,
    /// A frame-rate conversion read off the matched frames (its cadence's repeats and gaps are
    /// not in `temporal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) retiming: Option<super::Retiming>,
    pub(crate) spatial: Option<SpatialMap>,
    /// True when the clip-wide test found the watermark: the mark was too weak to place single
    /// frames, so frame edits cannot be told from weak frames and none are reported.
    #[serde(default)]
    pub(crate) clip_wide: bool,
    /// The (observed frame, template) pairs the presence test counted.
    #[serde(default)]
    pub(crate) alignment: Vec<(usize, usize)>,
    /// True when a payload decoded, but one the key marks with another template variant than
    /// the one found: a pattern its holder never embeds (the payload is then not reported).
    #[serde(default)]
    pub(crate) foreign_variant: bool,
}

impl Detection {
    pub fn present(&self) -> bool {
        self.present
    }

    pub fn p_value(&self) -> f64 {
        self.p_value
    }

    pub fn log10_p_value(&self) -> f64 {
        self.log10_p_value
    }

    pub fn false_positive_rate(&self) -> f64 {
        self.false_positive_rate
    }

    pub fn keys_tried(&self) -> usize {
        self.keys_tried
    }

    pub fn key_index(&self) -> usize {
        self.key_index
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn payload(&self) -> Option<Payload> {
        self.payload
    }

    pub fn bit_error_rate(&self) -> f32 {
        self.bit_error_rate
    }

    pub fn pilot_agreements(&self) -> u64 {
        self.pilot_agreements
    }

    pub fn pilot_comparisons(&self) -> u64 {
        self.pilot_comparisons
    }

    pub fn frames(&self) -> &[FrameMatch] {
        &self.frames
    }

    pub fn temporal(&self) -> &[TemporalEvent] {
        &self.temporal
    }

    pub fn retiming(&self) -> Option<super::Retiming> {
        self.retiming
    }

    pub fn spatial(&self) -> Option<&SpatialMap> {
        self.spatial.as_ref()
    }

    /// A payload decoded under a template variant it is never marked with (see the field).
    pub fn foreign_variant(&self) -> bool {
        self.foreign_variant
    }

    pub fn clip_wide(&self) -> bool {
        self.clip_wide
    }

    pub fn alignment(&self) -> &[(usize, usize)] {
        &self.alignment
    }

    /// True when the clip's frames or regions were edited.
    pub fn tampered(&self) -> bool {
        !self.temporal.is_empty()
            || self
                .spatial
                .as_ref()
                .is_some_and(|m| m.tampered.iter().any(|&t| t))
    }
}

/// Applies the threshold; without a significant watermark, alignment, payload and maps describe
/// noise and are not reported.
pub(super) fn conclude(mut d: Detection, threshold: f64) -> Detection {
    d.p_value = 10f64.powf(d.log10_p_value);
    d.false_positive_rate = threshold;
    d.present = d.log10_p_value <= threshold.log10();
    if !d.present {
        d.temporal.clear();
        d.spatial = None;
        d.payload = None;
        d.clip_wide = false;
        d.alignment.clear();
        for m in &mut d.frames {
            m.template = None;
        }
    }
    d
}

/// Every test that could have produced a detection of one clip, for the Bonferroni correction:
/// each placement of the picture tried (the frame as it is, and each of a geometry search's), and
/// the candidate-assisted test when a store's payloads are compared. The key ring is counted
/// inside each test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestBudget {
    pub placements: usize,
    pub candidate_test: bool,
    /// The decoded-codeword test ([`super::detect_by_decoding`]) may run: one more test.
    pub decoded_test: bool,
    /// The same tests run on this many windows of one file (a whole-file scan); 0 or 1 for a
    /// single clip.
    pub windows: usize,
}

impl TestBudget {
    /// One test: the frame as it is, no candidates.
    pub const SINGLE: TestBudget = TestBudget {
        placements: 1,
        candidate_test: false,
        decoded_test: false,
        windows: 1,
    };

    /// The number of tests the false-positive rate is split between.
    pub fn tests(&self) -> usize {
        (self.placements.max(1) + usize::from(self.candidate_test) + usize::from(self.decoded_test))
            * self.windows.max(1)
    }

    /// The options for each single test: the threshold split evenly between the tests.
    pub fn per_test(&self, options: &DetectOptions) -> DetectOptions {
        DetectOptions {
            threshold: options.threshold / self.tests() as f64,
            ..options.clone()
        }
    }
}

/// What was learnt after the presence tests of a search, beyond the best detection itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Refinement {
    /// Nothing more.
    None,
    /// The candidate-assisted test found the mark the other tests missed, among `candidates`.
    Assisted {
        found: CandidateDetection,
        candidates: usize,
    },
    /// The mark was found but too faint to decode; its payload was identified among candidates.
    Identified(PayloadMatch),
    /// The decoded-codeword test found the mark the other tests missed: its pilots were gone,
    /// its codeword decoded.
    Decoded(CandidateDetection),
}

/// The conclusion of a search over placements and tests: `best` is the detection with the
/// smallest p-value, made with [`TestBudget::per_test`] options; `refinement` what the
/// candidate tests added. Its p-value is multiplied by the number of tests (once, here), and its
/// false-positive rate is the search's whole threshold. Returns the payload match, if any.
pub fn conclude_search(
    mut best: Detection,
    refinement: Refinement,
    ring: &KeyRing,
    budget: TestBudget,
    options: &DetectOptions,
) -> (Detection, Option<PayloadMatch>) {
    let payload_match = match refinement {
        Refinement::None => None,
        Refinement::Assisted { found, candidates } => {
            let payload_match = PayloadMatch {
                payload: found.payload,
                log10_p_value: found.log10_p_value,
                candidates,
                bit_error_rate: found.bit_error_rate,
            };
            take_found(&mut best, found, ring);
            Some(payload_match)
        }
        Refinement::Decoded(found) => {
            take_found(&mut best, found, ring);
            None
        }
        Refinement::Identified(m) => {
            best.payload = Some(m.payload);
            best.bit_error_rate = m.bit_error_rate;
            Some(m)
        }
    };
    let adjust = (budget.tests() as f64).log10();
    best.log10_p_value = (best.log10_p_value + adjust).min(0.0);
    best.p_value = 10f64.powf(best.log10_p_value);
    best.false_positive_rate = options.threshold;
    (best, payload_match)
}

/// Makes `best` the detection a candidate or decoded-codeword test found: present, with its
/// payload and alignment; no frame is placed on its own (the mark is too faint, or its pilots
/// gone).
fn take_found(best: &mut Detection, found: CandidateDetection, ring: &KeyRing) {
    best.present = true;
    best.log10_p_value = found.log10_p_value;
    best.payload = Some(found.payload);
    best.key_index = found.key_index;
    if let Some(key) = ring.keys().get(found.key_index) {
        best.key_id = key.id().to_string();
    }
    best.bit_error_rate = found.bit_error_rate;
    best.clip_wide = true;
    best.alignment = found.alignment;
    for m in &mut best.frames {
        m.template = None;
        m.unreadable = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(log10_p: f64, present: bool) -> Detection {
        Detection {
            present,
            p_value: 10f64.powf(log10_p),
            log10_p_value: log10_p,
            false_positive_rate: 1e-9,
            keys_tried: 1,
            key_index: 0,
            key_id: "k".into(),
            payload: present.then(|| Payload::new(7)),
            bit_error_rate: 0.1,
            pilot_agreements: 10,
            pilot_comparisons: 12,
            frames: vec![FrameMatch {
                observed: 0,
                template: Some(0),
                agreement: 0.9,
                z: 9.0,
                unreadable: false,
            }],
            temporal: vec![TemporalEvent::Inserted { observed: 0 }],
            retiming: None,
            spatial: None,
            foreign_variant: false,
            clip_wide: false,
            alignment: vec![(0, 0)],
        }
    }

    #[test]
    fn the_budget_splits_the_rate_between_its_tests() {
        let budget = TestBudget {
            placements: 9,
            candidate_test: true,
            decoded_test: false,
            windows: 1,
        };
        assert_eq!(budget.tests(), 10);
        let scan = TestBudget {
            windows: 30,
            ..budget
        };
        assert_eq!(scan.tests(), 300);
        assert_eq!(TestBudget::SINGLE.tests(), 1);
        let options = DetectOptions::default();
        assert!((budget.per_test(&options).threshold - options.threshold / 10.0).abs() < 1e-24);
    }

    #[test]
    fn the_search_is_concluded_once_with_its_whole_budget() {
        let budget = TestBudget {
            placements: 100,
            candidate_test: false,
            decoded_test: false,
            windows: 1,
        };
        let ring = KeyRing::single(crate::key::WatermarkKey::new(&[1; 32]));
        let (d, matched) = conclude_search(
            detection(-20.0, true),
            Refinement::None,
            &ring,
            budget,
            &DetectOptions::default(),
        );
        assert_eq!(d.log10_p_value(), -18.0);
        assert!((d.p_value() - 1e-18).abs() < 1e-30);
        assert_eq!(d.false_positive_rate(), DetectOptions::default().threshold);
        assert!(matched.is_none());
        // A p-value never exceeds 1.
        let (weak, _) = conclude_search(
            detection(-1.0, false),
            Refinement::None,
            &ring,
            budget,
            &DetectOptions::default(),
        );
        assert_eq!(weak.log10_p_value(), 0.0);
    }

    #[test]
    fn a_candidate_found_mark_replaces_the_detection() {
        let ring = KeyRing::single(crate::key::WatermarkKey::new(&[1; 32]));
        let found = CandidateDetection {
            key_index: 0,
            payload: Payload::new(42),
            log10_p_value: -12.0,
            alignment: vec![(0, 3), (1, 4)],
            bit_error_rate: 0.3,
        };
        let (d, matched) = conclude_search(
            detection(-2.0, false),
            Refinement::Assisted {
                found,
                candidates: 5,
            },
            &ring,
            TestBudget::SINGLE,
            &DetectOptions::default(),
        );
        assert!(d.present() && d.clip_wide());
        assert_eq!(d.payload(), Some(Payload::new(42)));
        assert_eq!(d.alignment(), &[(0, 3), (1, 4)]);
        assert!(d
            .frames()
            .iter()
            .all(|m| m.unreadable && m.template.is_none()));
        assert_eq!(matched.map(|m| m.candidates), Some(5));
    }

    #[test]
    fn a_decoded_codeword_replaces_the_detection_without_a_store_match() {
        let ring = KeyRing::single(crate::key::WatermarkKey::new(&[1; 32]));
        let found = CandidateDetection {
            key_index: 0,
            payload: Payload::new(43),
            log10_p_value: -30.0,
            alignment: vec![(0, 0), (1, 1)],
            bit_error_rate: 0.4,
        };
        let budget = TestBudget {
            placements: 1,
            candidate_test: false,
            decoded_test: true,
            windows: 1,
        };
        assert_eq!(budget.tests(), 2);
        let (d, matched) = conclude_search(
            detection(-2.0, false),
            Refinement::Decoded(found),
            &ring,
            budget,
            &DetectOptions::default(),
        );
        assert!(d.present() && d.clip_wide());
        assert_eq!(d.payload(), Some(Payload::new(43)));
        assert_eq!(d.alignment(), &[(0, 0), (1, 1)]);
        // Read from the clip, not picked from a store; the p-value pays for both tests.
        assert_eq!(matched, None);
        assert!((d.log10_p_value() - (-30.0 + 2f64.log10())).abs() < 1e-9);
    }

    #[test]
    fn an_absent_mark_reports_no_alignment_payload_or_maps() {
        let d = conclude(detection(-3.0, true), 1e-9);
        assert!(!d.present());
        assert!(d.payload().is_none() && d.temporal().is_empty() && d.alignment().is_empty());
        assert!(d.frames().iter().all(|m| m.template.is_none()));
        let kept = conclude(detection(-12.0, true), 1e-9);
        assert!(kept.present() && kept.payload().is_some());
    }
}
