//! A [`c2pa::Signer`] whose signatures come from `ed25519-dalek`.
//!
//! c2pa-rs asks a signer for three things: raw signature bytes over the COSE `Sig_structure`, the
//! algorithm, and the DER certificate chain (leaf first). Ed25519 signatures are deterministic and 64
//! bytes, so the reserve size is the chain plus a fixed margin for the COSE envelope.

use ed25519_dalek::{Signer as _, SigningKey};

/// Signs C2PA claims with an Ed25519 key and presents its X.509 chain.
pub struct Ed25519Signer {
    key: SigningKey,
    /// DER certificates, leaf first.
    chain: Vec<Vec<u8>>,
}

impl Ed25519Signer {
    /// A signer from a key and its certificate chain (leaf first, DER).
    pub fn new(key: SigningKey, chain: Vec<Vec<u8>>) -> Self {
        Self { key, chain }
    }
}

impl std::fmt::Debug for Ed25519Signer {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl c2pa::Signer for Ed25519Signer {
    fn sign(&self, data: &[u8]) -> c2pa::Result<Vec<u8>> {
        Ok(self.key.sign(data).to_bytes().to_vec())
    }

    fn alg(&self) -> c2pa::SigningAlg {
        c2pa::SigningAlg::Ed25519
    }

    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        Ok(self.chain.clone())
    }

    fn reserve_size(&self) -> usize {
        // COSE headers, the 64-byte signature and padding fit well within 4 KiB beyond the chain.
        4096 + self.chain.iter().map(Vec::len).sum::<usize>()
    }
}
