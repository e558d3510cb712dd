//! What a manifest says: the assertions Candor writes.
//!
//! Beyond `c2pa.actions` (written by the builder from [`ManifestSpec::source_type`]), a manifest can
//! carry three assertions that generation needs:
//! - `c2pa.soft-binding`: the watermark payload, so a copy stripped of its manifest can be matched
//!   back to it (C2PA 2.x soft binding; `alg` names our watermark scheme);
//! - `cawg.training-mining`: the creator's training and data-mining permissions (CAWG 1.1);
//! - `com.candor.generation`: the model, its weights' SHA-256, the prompt and the seed.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The `c2pa.soft-binding` label.
pub const SOFT_BINDING_LABEL: &str = "c2pa.soft-binding";
/// The CAWG training and data mining label.
pub const TRAINING_MINING_LABEL: &str = "cawg.training-mining";
/// Candor's own generation record.
pub const GENERATION_LABEL: &str = "com.candor.generation";

/// A soft binding: an identifier carried in the content itself (our latent watermark).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftBinding {
    /// Algorithm name, e.g. `com.candor.latent-watermark.v1`.
    pub alg: String,
    /// The payload bytes the watermark carries.
    pub value: Vec<u8>,
    /// Parts of the asset's timeline the binding covers, one soft-binding block each with a
    /// `timespan` scope (C2PA 2.2 §18.10; start and end in milliseconds of the asset's
    /// timeline): a storyboard's shots. Empty: one block for the whole asset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timespans: Vec<Timespan>,
    /// Further blocks with values of their own, each scoped to a region of the picture over a
    /// span of the timeline: an edit's re-marked region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionBinding>,
}

/// A soft-binding block for one region of the picture over one span of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionBinding {
    pub value: Vec<u8>,
    /// x, y, width, height in pixels of the asset's frames.
    pub region: [u32; 4],
    pub timespan: Timespan,
}

/// The ranges of a C2PA region of interest for a pixel rectangle `[x, y, w, h]` over a span of the
/// timeline: a spatial rectangle and a temporal npt range (what an edit's action and its
/// soft-binding block both describe).
pub(crate) fn region_ranges(region: [u32; 4], timespan: Timespan) -> serde_json::Value {
    let [x, y, w, h] = region;
    json!([
        {
            "type": "spatial",
            "shape": {
                "type": "rectangle",
                "unit": "pixel",
                "origin": { "x": f64::from(x), "y": f64::from(y) },
                "width": f64::from(w),
                "height": f64::from(h),
            },
        },
        {
            "type": "temporal",
            "time": {
                "type": "npt",
                "start": format!("{:.3}", timespan.start as f64 / 1000.0),
                "end": format!("{:.3}", timespan.end as f64 / 1000.0),
            },
        },
    ])
}

impl RegionBinding {
    /// The block's `scope`: a C2PA region of interest (a pixel rectangle and an npt time range)
    /// and the same span as a `timespan`.
    fn scope(&self) -> serde_json::Value {
        json!({
            "timespan": { "start": self.timespan.start, "end": self.timespan.end },
            "region": { "region": region_ranges(self.region, self.timespan) },
        })
    }

    fn from_block(value: Vec<u8>, scope: &serde_json::Value) -> Option<Self> {
        let t = scope.get("timespan")?;
        let shape = scope
            .get("region")?
            .get("region")?
            .as_array()?
            .iter()
            .find(|r| r.get("type").and_then(|t| t.as_str()) == Some("spatial"))?
            .get("shape")?;
        let num = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_f64()).map(|v| v as u32);
        let origin = shape.get("origin")?;
        Some(Self {
            value,
            region: [
                num(origin.get("x"))?,
                num(origin.get("y"))?,
                num(shape.get("width"))?,
                num(shape.get("height"))?,
            ],
            timespan: Timespan {
                start: t.get("start")?.as_u64()?,
                end: t.get("end")?.as_u64()?,
            },
        })
    }
}

/// A span of an asset's timeline, in milliseconds from its first frame (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timespan {
    pub start: u64,
    pub end: u64,
}

impl SoftBinding {
    /// A binding of the whole asset.
    pub fn whole(alg: impl Into<String>, value: Vec<u8>) -> Self {
        Self {
            alg: alg.into(),
            value,
            timespans: Vec::new(),
            regions: Vec::new(),
        }
    }

    pub(crate) fn to_assertion(&self) -> serde_json::Value {
        let value = base64::engine::general_purpose::STANDARD.encode(&self.value);
        let mut blocks: Vec<serde_json::Value> = if self.timespans.is_empty() {
            vec![json!({ "scope": {}, "value": value })]
        } else {
            self.timespans
                .iter()
                .map(|t| {
                    json!({
                        "scope": { "timespan": { "start": t.start, "end": t.end } },
                        "value": value,
                    })
                })
                .collect()
        };
        blocks.extend(self.regions.iter().map(|r| {
            json!({
                "scope": r.scope(),
                "value": base64::engine::general_purpose::STANDARD.encode(&r.value),
            })
        }));
        json!({ "alg": self.alg, "blocks": blocks })
    }

    /// Reads a soft binding back from its assertion JSON: the first block's value, and the
    /// timespans of the blocks that carry that value with a timespan scope.
    pub fn from_assertion(value: &serde_json::Value) -> Option<SoftBinding> {
        let alg = value.get("alg")?.as_str()?.to_string();
        let blocks = value.get("blocks")?.as_array()?;
        let decode = |b: &serde_json::Value| {
            base64::engine::general_purpose::STANDARD
                .decode(b.get("value")?.as_str()?)
                .ok()
        };
        let first = decode(blocks.first()?)?;
        let timespans = blocks
            .iter()
            .filter(|b| decode(b).as_ref() == Some(&first))
            .filter_map(|b| {
                let t = b.get("scope")?.get("timespan")?;
                Some(Timespan {
                    start: t.get("start")?.as_u64()?,
                    end: t.get("end")?.as_u64()?,
                })
            })
            .collect();
        let regions = blocks
            .iter()
            .filter_map(|b| {
                let v = decode(b)?;
                (v != first).then(|| RegionBinding::from_block(v, b.get("scope")?))?
            })
            .collect();
        Some(SoftBinding {
            alg,
            value: first,
            timespans,
            regions,
        })
    }
}

/// An edit made with Candor, as the edited clip's manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditInfo {
    /// What the region was redrawn as.
    pub prompt: String,
    /// x, y, width, height in pixels of the clip's frames.
    pub region: [u32; 4],
    /// The clip's frame size (width, height) the region is given in.
    pub frame_size: [u32; 2],
    /// The frames redrawn: first (from 0) and count.
    pub first_frame: u32,
    pub frames: u32,
    /// The content id (hex) the redrawn region carries.
    pub content_id: String,
}

/// One shot of a storyboard, as its manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotInfo {
    pub prompt: String,
    /// The shot's first frame in the clip (from 0) and its frame count.
    pub first_frame: u32,
    pub frames: u32,
}

/// What a creator allows about training and mining, per CAWG `cawg.training-mining`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MiningPermission {
    Allowed,
    NotAllowed,
    Constrained,
}

/// The generation record written by `candor generate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationInfo {
    pub model_name: String,
    /// SHA-256 of the weights file, hex.
    pub model_sha256: String,
    pub prompt: String,
    pub seed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<f32>,
    /// A perceptual fingerprint of the clip as it was made (`org.candor.fingerprint.v1:…`):
    /// what binds these credentials to this content, so a watermark copied onto other footage
    /// cannot bring them along.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_fingerprint: Option<String>,
    /// The clip's frame count and rate as made: what tells a frame-rate conversion from a change
    /// of speed, and a clip cut short at its end from a shorter clip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<u32>,
    /// A storyboard's shots in order (each with its own prompt); empty for a one-prompt clip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shots: Vec<ShotInfo>,
    /// Edits made with Candor since the clip was generated, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<EditInfo>,
}

/// Everything a signed manifest says about an asset.
#[derive(Debug, Clone)]
pub struct ManifestSpec {
    /// Human title of the asset (defaults to the output file name).
    pub title: Option<String>,
    /// IPTC digital source type of a new creation. Ignored when the input already carries a manifest
    /// (the new manifest then records an edit with the old one as parent).
    pub source_type: c2pa::DigitalSourceType,
    /// Name and version of the software that made the asset, written as claim generator and
    /// as the `softwareAgent` of the action.
    pub software_agent: (String, String),
    pub soft_binding: Option<SoftBinding>,
    pub training_mining: Option<MiningPermission>,
    pub generation: Option<GenerationInfo>,
    /// An RFC 3161 time-stamp authority (`http://…`) to counter-sign the claim signature: the
    /// signing time is then the TSA's, not the signer's own claim. Signing fails when it fails.
    pub time_stamp_authority: Option<String>,
    /// Record a `c2pa.watermarked` action: an invisible watermark was put into the content (a
    /// soft binding's carrier).
    pub watermarked: bool,
    /// An edit of another asset: that file becomes the `parentOf` ingredient (with its own
    /// manifest, when it has one), and the action says what was changed where.
    pub edit_of: Option<EditOf>,
}

/// What an edit changed, and the file it changed.
#[derive(Debug, Clone)]
pub struct EditOf {
    /// The asset before the edit.
    pub parent: std::path::PathBuf,
    /// One sentence for the `c2pa.edited` action.
    pub description: String,
    /// x, y, width, height in pixels, and the span in milliseconds.
    pub region: [u32; 4],
    pub timespan: Timespan,
}

impl ManifestSpec {
    /// A spec for footage of the given source type, made by Candor itself.
    pub fn new(source_type: c2pa::DigitalSourceType) -> Self {
        Self {
            title: None,
            source_type,
            software_agent: ("Candor".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            soft_binding: None,
            training_mining: None,
            generation: None,
            time_stamp_authority: None,
            watermarked: false,
            edit_of: None,
        }
    }

    pub(crate) fn training_mining_assertion(permission: MiningPermission) -> serde_json::Value {
        let entry = json!({ "use": permission });
        json!({
            "entries": {
                "cawg.ai_generative_training": entry,
                "cawg.ai_inference": entry,
                "cawg.ai_training": entry,
                "cawg.data_mining": entry,
            }
        })
    }
}
