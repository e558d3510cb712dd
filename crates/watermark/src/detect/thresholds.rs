//! Every threshold of the detector in one place, each with the reason for its value.
//!
//! Changing one changes the statistics `bench watermark`, `bench robustness` and `bench fpr`
//! measure: re-run them.

/// The false-positive rate per clip (over the whole key ring) at which Candor calls a watermark present.
pub const OPERATING_FPR: f64 = 1e-9;

/// A frame that fails its re-test but agrees with its expected template at least this well
/// (standard score) is unreadable rather than foreign. A foreign frame reaches it by chance 0.13 %
/// of the time; a lower bar lets inserted frames pass as unreadable (6.7 % of them at z ≥ 1.5).
pub(crate) const UNREADABLE_MIN_Z: f32 = 3.0;

/// In a clip this faint (its median frame's best standard score below this), its own frames
/// scatter down to z ≈ 2: on the default model after VP9 CRF 40 and half size at H.264 CRF 30,
/// placed frames sit at a median z of 5–6 and unplaced ones at 2.0–3.0, so a bar of 3 would call
/// a quarter of such clips edited. There a frame needs only z ≥ [`UNREADABLE_MIN_Z_FAINT`] to be
/// unreadable rather than foreign.
pub(crate) const FAINT_CLIP_Z: f32 = 10.0;
/// A foreign frame reaches it by chance 2.3 % of the time.
pub(crate) const UNREADABLE_MIN_Z_FAINT: f32 = 2.0;

/// In a clip that is not faint, a frame is a blend of its neighbour's and its own template only
/// when its own agrees at least this well. A real blend there scores far higher (a 30 % share of
/// the frame gives z ≈ 19), while at the unreadable bar of 3 the frame after a dropped one agrees
/// with the dropped template by chance often enough to hide 3 drops in 1 000 (`bench watermark`).
pub(crate) const BLEND_MIN_Z: f32 = 5.0;

/// Latent values are clipped to ±this before soft decoding, so a few outliers cannot outvote many
/// consistent elements.
pub(crate) const SOFT_CLIP: f32 = 3.0;

/// A frame's pilot-A match counts towards the frame-by-frame presence test when its standard
/// score reaches this (weakly significant); with none that strong, every frame's best match counts.
pub(crate) const CHOOSE_FRAME_MIN_Z: f32 = 2.0;

/// A latent channel is judged on pilot B when its pilot-A agreement over the chosen frames has a
/// standard score above this: compression erases fine bands first, and counting them would only
/// dilute the evidence.
pub(crate) const CHANNEL_KEPT_MIN_Z: f32 = 1.0;

/// The open search matches a frame to a template when its agreement would arise by chance with
/// at most this probability, after accounting for every (frame, template) pair tried.
pub(crate) const FRAME_MATCH_ALPHA: f64 = 1e-6;

/// A frame re-tested against the one template its neighbours expect needs this probability (per
/// clip, split over its frames): one test per frame needs far less evidence than the open search.
pub(crate) const NEIGHBOUR_MATCH_ALPHA: f64 = 1e-3;

/// A matched frame is from another clip of the same key when its pilots agree at least this well
/// (standard score)…
pub(crate) const OTHER_CLIP_PILOT_Z: f32 = 3.0;
/// …and lead its codeword by at least this (two-proportion score, [`super::observe::PilotsVsCodeword`]).
pub(crate) const OTHER_CLIP_GAP_Z: f64 = 5.0;

/// A window's splice score at or above this calls it pasted from another clip of the same key.
/// Under no edit the score is centred on 0 whatever the content, but wider than a standard
/// normal because an element's sign is correlated across frames: measured on 36 untouched
/// clips of the default model (1 764 windows), sd 1.22 and maximum 3.7. 6 is 4.9 of those sd
/// (49 windows reach it about once in 40 000 clips); 48×48-pixel patches pasted from another
/// clip scored 6.8 to 8.6 in the windows they cover.
pub(crate) const SPLICE_WINDOW_Z: f64 = 6.0;
/// The same for a single block judged on its own evidence (a quarter of a window's elements).
pub(crate) const SPLICE_BLOCK_Z: f64 = 7.0;

/// Candidates are accepted only at this corrected significance or better.
pub const PAYLOAD_MATCH_THRESHOLD: f64 = 1e-6;

/// A mark whose pilots predict code-bit coherence at least this many null standard deviations
/// above chance can be judged on its codeword. Authentic marks too faint to decode sit well
/// below it (measured on the default model: H.264 CRF 40 and half size at CRF 30 predict 5–7 sd
/// and show 0.55–0.75 of it; simulated channels show 0.75–1.1), while averaged forgeries at
/// 36 dB predict 35 sd and show 0.06 of it. Below this nothing is concluded.
pub const FORGERY_MIN_PREDICTED_Z: f64 = 12.0;
/// An authentic mark shows about all the coherence its pilots predict; a pattern showing less than
/// this share of it carries the pilots without a payload (a forged pattern).
pub const FORGERY_MAX_OBSERVED_SHARE: f64 = 0.3;
