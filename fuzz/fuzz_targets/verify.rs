//! A whole `candor verify` of arbitrary bytes with the shipped model and the public test key:
//! credentials, the whole-file watermark scan (decode, windows, geometry search, segments),
//! recovery against a store, the verdict, and the three renderings (JSON, text, HTML).
#![no_main]

mod common;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use candle_core::Device;
use candor_diffusion::DiffusionModel;
use candor_manifest::{Identity, TrustAnchors};
use candor_verify::report::{render_html, render_text};
use candor_verify::{store_payloads, Verifier, VerifierConfig, WatermarkOptions, WatermarkSetup};
use candor_watermark::{KeyRing, WatermarkKey};
use libfuzzer_sys::fuzz_target;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn verifier() -> Option<&'static Verifier> {
    static VERIFIER: OnceLock<Option<Verifier>> = OnceLock::new();
    VERIFIER
        .get_or_init(|| {
            let root = Path::new(ROOT);
            let model =
                DiffusionModel::load(&root.join("models/candor-shapes-v3"), &Device::Cpu).ok()?;
            let identity = Identity::load(&root.join("keys/dev")).ok()?;
            // A copy of the test store, so recovery runs and nothing is written to the tree.
            let store_path =
                std::env::temp_dir().join(format!("candor-fuzz-store-{}.db", std::process::id()));
            std::fs::copy(root.join("tests/data/verify/store-clips.db"), &store_path).ok()?;
            let store = candor_store::ManifestStore::open(&store_path).ok()?;
            let options = WatermarkOptions {
                candidate_payloads: store_payloads(&store).ok()?,
                ..WatermarkOptions::for_model(&model.config)
            };
            Some(Verifier::new(VerifierConfig {
                anchors: TrustAnchors::none(),
                watermark: Some(WatermarkSetup {
                    model,
                    ring: KeyRing::single(WatermarkKey::new(identity.watermark_secret())),
                    sources: vec![Arc::new(store) as Arc<dyn candor_verify::ManifestSource>],
                    options,
                }),
                watermark_note: None,
            }))
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    // A fuzz run whose verifier cannot be built would test nothing: stop it loudly.
    let Some(verifier) = verifier() else {
        panic!("the verify target could not load the model, the test key or the test store");
    };
    let Some((_dir, path)) = common::as_file(data) else {
        return;
    };
    let report = verifier.verify(&path);
    let _ = serde_json::to_string(&report);
    let _ = render_text(&report, false);
    let _ = render_html(&[report], "candor-fuzz");
});
