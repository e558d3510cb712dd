//! Where stripped credentials are looked up: this installation's manifest store, and the
//! Soft Binding Resolution API services of other organisations (`candor verify --resolver`).
//! Whatever a source returns is checked here (signature, soft binding, content) before it is
//! reported: a source is asked, never trusted.

use std::path::Path;

use candor_store::ManifestStore;

/// A manifest a source returned for a query.
#[derive(Debug, Clone)]
pub struct SourcedManifest {
    /// The manifest's id at the source (its URN).
    pub manifest_id: String,
    /// The local store's record id, for manifests of the local store.
    pub store_id: Option<i64>,
    /// The signed C2PA manifest store (JUMBF).
    pub manifest: Vec<u8>,
}

/// A match a resolver found by running its own watermark detection on the uploaded asset.
#[derive(Debug, Clone)]
pub struct ContentMatch {
    pub manifest: SourcedManifest,
    /// The soft-binding value (watermark payload) the resolver read.
    pub payload: Vec<u8>,
    /// The resolver's (observed frame, original frame) alignment: a hint for comparing this
    /// video with the fingerprint the manifest records (empty: frame for frame).
    pub alignment: Vec<(usize, usize)>,
    /// The resolver's detection strength (log10 of the p-value), when it says.
    pub log10_p_value: Option<f64>,
}

/// A place to look up manifests by soft binding (and, for resolvers, by content).
pub trait ManifestSource: Send + Sync {
    /// How reports name it: "the manifest store" or the resolver's URL.
    fn name(&self) -> String;
    /// `matches/byBinding` followed by `manifests/{id}` for each match.
    fn by_binding(&self, alg: &str, value: &[u8]) -> Result<Vec<SourcedManifest>, String>;
    /// `matches/byContent`: the source runs its own detection on `file` (keys this installation
    /// does not hold). `None` when the source cannot be asked by content.
    fn by_content(&self, _file: &Path) -> Option<Result<Vec<ContentMatch>, String>> {
        None
    }
    /// Another organisation's service (not this installation's own store): left out when a
    /// check must stay local ([`crate::Verifier::verify_local_only`]).
    fn is_remote(&self) -> bool {
        false
    }
}

impl ManifestSource for ManifestStore {
    fn name(&self) -> String {
        "the manifest store".into()
    }

    fn by_binding(&self, alg: &str, value: &[u8]) -> Result<Vec<SourcedManifest>, String> {
        Ok(ManifestStore::by_binding(self, alg, value)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|m| SourcedManifest {
                manifest_id: m.manifest_label,
                store_id: Some(m.id),
                manifest: m.manifest,
            })
            .collect())
    }
}
