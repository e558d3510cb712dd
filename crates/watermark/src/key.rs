//! Watermark keys: a 256-bit secret stretched by HKDF-SHA256 into independent sub-keys.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};

const SALT: &[u8] = b"candor-watermark-v1";

/// One watermark secret. Its sub-keys are derived once; the secret itself is not kept.
#[derive(Clone)]
pub struct WatermarkKey {
    /// ChaCha20 key for the per-frame sign keystream.
    pub(crate) keystream: [u8; 32],
    /// ChaCha20 key for the element layout (which element is pilot or carries which code bit).
    pub(crate) layout: [u8; 32],
    id: String,
}

impl std::fmt::Debug for WatermarkKey {
    // Only the public fingerprint is ever printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatermarkKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl WatermarkKey {
    /// Derives the sub-keys from a 256-bit secret.
    pub fn new(secret: &[u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(SALT), secret);
        let mut keystream = [0u8; 32];
        let mut layout = [0u8; 32];
        // Expanding 32 bytes from HKDF-SHA256 cannot fail (the limit is 255 * 32 bytes).
        let _ = hk.expand(b"keystream", &mut keystream);
        let _ = hk.expand(b"layout", &mut layout);
        let digest = Sha256::new()
            .chain_update(b"candor-watermark-key-id")
            .chain_update(secret)
            .finalize();
        let id = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Self {
            keystream,
            layout,
            id,
        }
    }

    /// A public fingerprint of the key (16 hex digits); it reveals nothing about the secret.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The keys a detector tries. Each extra key is one more chance of a false match, so the
/// detector multiplies every p-value by the ring's size (Bonferroni).
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<WatermarkKey>,
}

impl KeyRing {
    pub fn new(keys: Vec<WatermarkKey>) -> Self {
        Self { keys }
    }

    pub fn single(key: WatermarkKey) -> Self {
        Self { keys: vec![key] }
    }

    pub fn keys(&self) -> &[WatermarkKey] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
