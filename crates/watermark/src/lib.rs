//! Candor's latent watermark: a keyed, distribution-preserving initial-noise watermark for video
//! diffusion (the Gaussian Shading / VideoShield family), with an exact false-positive rate and
//! temporal and spatial tamper localisation.
//!
//! The journey of a payload: content id + CRC-32 → rate-1/3 convolutional code → signs XOR a
//! per-frame ChaCha20 keystream → magnitudes from |N(0,1)| → initial noise. Detection reads the
//! signs of an estimate of that noise (from DDIM inversion) and reverses each step.
//!
//! ```
//! use candor_watermark::{detect, embed, DetectOptions, KeyRing, LatentShape, Payload, WatermarkKey};
//! use rand::SeedableRng;
//! let key = WatermarkKey::new(&[7u8; 32]);
//! let shape = LatentShape::new(16, 4, 32, 32);
//! let mut rng = rand::rngs::StdRng::seed_from_u64(1);
//! let noise = embed(&key, Payload::new(42), shape, &mut rng).unwrap();
//! let found = detect(&KeyRing::single(key), &noise, shape, &DetectOptions::default()).unwrap();
//! assert!(found.present());
//! assert_eq!(found.payload(), Some(Payload::new(42)));
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod channel;
mod code;
mod detect;
mod embed;
mod key;
mod keystream;
mod payload;
mod shape;
pub mod stats;

pub use detect::{
    conclude_search, default_templates, detect, detect_among_candidates, detect_by_decoding,
    detect_with, identify_payload, payload_coherence, region_agreement, CandidateDetection,
    Coherence, DetectOptions, Detection, Detector, FrameMatch, PayloadMatch, Refinement,
    RegionAgreement, Retiming, SpatialMap, TemporalEvent, TestBudget, OPERATING_FPR,
    PAYLOAD_MATCH_THRESHOLD, TIMELINE_FRAMES,
};
pub use embed::embed;
pub use key::{KeyRing, WatermarkKey, TEMPLATE_VARIANTS};
pub use payload::Payload;
pub use shape::{LatentShape, WatermarkError};

/// The algorithm name recorded in C2PA soft-binding assertions for this watermark.
pub const SOFT_BINDING_ALG: &str = "org.candor.latent-watermark.v1";
