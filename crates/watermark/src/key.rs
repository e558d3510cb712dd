//! Watermark keys: a 256-bit secret stretched by HKDF-SHA256 into independent sub-keys.
//!
//! **Template variants.** A key does not draw one sign template per frame index but
//! [`TEMPLATE_VARIANTS`] independent ones; each clip uses one variant, chosen by a keyed function
//! of its payload that only the secret's holder can compute. Pilots are therefore not shared by
//! every clip of a key: the mean of many clips' residuals carries each variant's pattern at about
//! `1 / TEMPLATE_VARIANTS` of one clip's strength, so averaging forgeries and removals need that
//! many times the amplitude (`docs/SECURITY.md`). The detector tries every variant and pays for
//! them in its false-positive budget (the ring's size counts variants).

use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use crate::payload::Payload;

const SALT: &[u8] = b"candor-watermark-v1";

/// Sign-template variants per key.
pub const TEMPLATE_VARIANTS: u16 = 16;

/// One watermark secret. Its sub-keys are derived once; the secret itself is not kept.
#[derive(Clone)]
pub struct WatermarkKey {
    /// ChaCha20 key for the per-frame sign keystream (of this key's variant).
    pub(crate) keystream: [u8; 32],
    /// ChaCha20 key for the element layout (which element is pilot or carries which code bit);
    /// shared by the variants.
    pub(crate) layout: [u8; 32],
    /// HKDF pseudo-random key from which the variants' keystreams and the choice of a payload's
    /// variant are expanded.
    variants: [u8; 32],
    /// `None` for the key as made from its secret (the template family of no variant, which
    /// nothing embeds with), `Some(v)` for variant `v`.
    variant: Option<u16>,
    id: String,
}

impl std::fmt::Debug for WatermarkKey {
    // Only the public fingerprint is ever printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatermarkKey")
            .field("id", &self.id)
            .field("variant", &self.variant)
            .finish_non_exhaustive()
    }
}

impl WatermarkKey {
    /// Derives the sub-keys from a 256-bit secret.
    pub fn new(secret: &[u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(SALT), secret);
        let mut keystream = [0u8; 32];
        let mut layout = [0u8; 32];
        let mut variants = [0u8; 32];
        // Expanding 32 bytes from HKDF-SHA256 cannot fail (the limit is 255 * 32 bytes).
        let _ = hk.expand(b"keystream", &mut keystream);
        let _ = hk.expand(b"layout", &mut layout);
        let _ = hk.expand(b"template-variants", &mut variants);
        let digest = Sha256::new()
            .chain_update(b"candor-watermark-key-id")
            .chain_update(secret)
            .finalize();
        let id = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Self {
            keystream,
            layout,
            variants,
            variant: None,
            id,
        }
    }

    /// A public fingerprint of the key (16 hex digits); it reveals nothing about the secret. The
    /// same for every variant.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Which variant this is (`None` for the key as made from its secret).
    pub fn variant(&self) -> Option<u16> {
        self.variant
    }

    fn expand(&self, info: &[&[u8]], out: &mut [u8]) {
        // `variants` is 32 bytes, a valid PRK for SHA-256; expanding at most 32 bytes cannot fail.
        if let Ok(hk) = Hkdf::<Sha256>::from_prk(&self.variants) {
            let _ = hk.expand_multi_info(info, out);
        }
    }

    /// Template variant `v` (taken modulo [`TEMPLATE_VARIANTS`]) of this key.
    pub fn with_variant(&self, v: u16) -> Self {
        let v = v % TEMPLATE_VARIANTS;
        let mut keystream = [0u8; 32];
        self.expand(&[b"keystream", &v.to_be_bytes()], &mut keystream);
        Self {
            keystream,
            layout: self.layout,
            variants: self.variants,
            variant: Some(v),
            id: self.id.clone(),
        }
    }

    /// The variant a clip with `payload` is marked with: a keyed function of the payload, so
    /// without the secret it is unpredictable and looks uniform.
    pub fn variant_for(&self, payload: Payload) -> u16 {
        let mut out = [0u8; 2];
        self.expand(&[b"variant-of-payload", &payload.to_bytes()], &mut out);
        u16::from_be_bytes(out) % TEMPLATE_VARIANTS
    }

    /// The variant of this key that marks `payload`.
    pub fn for_payload(&self, payload: Payload) -> Self {
        self.with_variant(self.variant_for(payload))
    }

    /// Every variant of this key (just this key when it already is a variant).
    pub fn variants(&self) -> Vec<Self> {
        match self.variant {
            Some(_) => vec![self.clone()],
            None => (0..TEMPLATE_VARIANTS)
                .map(|v| self.with_variant(v))
                .collect(),
        }
    }
}

/// The keys a detector tries: every template variant of every key given. Each variant is one
/// more chance of a false match, so the detector multiplies every p-value by the ring's size
/// (Bonferroni), which counts variants.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<WatermarkKey>,
    identities: usize,
}

impl KeyRing {
    /// A ring of `keys`, each expanded into its template variants (a key that already is one
    /// variant stays that variant alone).
    pub fn new(keys: Vec<WatermarkKey>) -> Self {
        let identities = keys.len();
        Self {
            keys: keys.iter().flat_map(WatermarkKey::variants).collect(),
            identities,
        }
    }

    pub fn single(key: WatermarkKey) -> Self {
        Self::new(vec![key])
    }

    /// The keys tried, one per variant.
    pub fn keys(&self) -> &[WatermarkKey] {
        &self.keys
    }

    /// Number of keys tried, one per variant (what p-values are corrected for).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Number of keys the ring was made of (before expanding variants).
    pub fn identities(&self) -> usize {
        self.identities
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_differ_share_the_id_and_are_chosen_by_payload() {
        let key = WatermarkKey::new(&[9; 32]);
        let all = key.variants();
        assert_eq!(all.len(), usize::from(TEMPLATE_VARIANTS));
        for (v, k) in all.iter().enumerate() {
            assert_eq!(k.variant(), Some(v as u16));
            assert_eq!(k.id(), key.id());
            assert_eq!(k.layout, key.layout);
        }
        assert_ne!(all[0].keystream, all[1].keystream);
        assert_ne!(all[0].keystream, key.keystream);
        // The choice is deterministic, keyed, and spreads over every variant.
        let other = WatermarkKey::new(&[10; 32]);
        let mut seen = [0usize; TEMPLATE_VARIANTS as usize];
        let mut differs = 0;
        for id in 0..1600u64 {
            let v = key.variant_for(Payload::new(id));
            assert_eq!(v, key.variant_for(Payload::new(id)));
            seen[usize::from(v)] += 1;
            differs += usize::from(v != other.variant_for(Payload::new(id)));
        }
        assert!(seen.iter().all(|&n| (60..140).contains(&n)), "{seen:?}");
        assert!(differs > 1400, "{differs}");
    }

    #[test]
    fn a_ring_counts_variants() {
        let ring = KeyRing::new(vec![
            WatermarkKey::new(&[1; 32]),
            WatermarkKey::new(&[2; 32]),
        ]);
        assert_eq!(ring.identities(), 2);
        assert_eq!(ring.len(), 2 * usize::from(TEMPLATE_VARIANTS));
        let one = KeyRing::single(WatermarkKey::new(&[1; 32]).with_variant(5));
        assert_eq!(one.len(), 1);
    }
}
