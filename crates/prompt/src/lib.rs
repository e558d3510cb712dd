//! Reads a free-text prompt and maps it to what Candor's generator can draw.
//!
//! The generator knows a small world — a few colours, shapes, motions and backgrounds, up to three
//! objects per clip — and was trained on captions such as `a red circle moving left and a blue
//! square moving right over the sunset`. People type other things: "a crimson ball drifting to
//! the left, ocean at dusk, cinematic 4k". This crate turns the second into the first, says how
//! sure it is of each part, lists what it did not understand, and refuses prompts that ask for
//! things the model cannot draw (people, animals, vehicles, text, buildings, photographs).
//!
//! The world is data the caller passes in ([`World`]); this crate depends on no other Candor
//! crate.
//!
//! # Design
//!
//! 1. **Words and clauses.** The prompt is cut into words (alphanumeric runs; anything else,
//!    emoji and control characters included, only separates) and into clauses at `,` `;` `.` and
//!    at connectors: "and", "while", "with", "next to", "beside", "followed by", "as well as" ….
//! 2. **Spans.** Every run of 1–5 words of a clause ([`read::MAX_SPAN`]) that does not start with
//!    a determiner, does not end with a function word and holds some content is embedded with
//!    all-MiniLM-L6-v2 (mean pooling over the attention mask, L2 norm, as sentence-transformers).
//! 3. **Prototypes.** Each value has two or three short prototype phrasings (the word, a plain
//!    description, an everyday name: `circle`, `a round circle`, `a ball`), and so does each kind
//!    of undrawable thing ([`prototypes`]). A span's similarity to a value is its best cosine
//!    to the value's prototypes. A span is a candidate for a slot when that similarity passes the
//!    slot's threshold and beats the slot's runner-up value by a margin ([`Thresholds`],
//!    calibrated on `tests/data/calibration.json`, see `CALIBRATION.md`). The encoder does the
//!    generalising ("vermilion", "an orb", "drifting eastward"), not synonym lists.
//! 4. **Assignment.** Per clause, a small exhaustive search picks at most one candidate per slot
//!    (colour, shape, motion, background, undrawable), never two on the same word, maximising
//!    the total similarity above the thresholds; so "crimson ball" becomes colour + shape rather
//!    than one span for either. A colour right after a scene preposition and right before the
//!    background ("under a blue sky") describes the background and is dropped from the object.
//! 5. **Objects.** A clause with a colour, a shape or an undrawable thing is an object; the other
//!    clauses ("… and down", "… with a sunset behind") are merged into the object before them and
//!    the merged words are read again, so "bobbing up and down" or "to the left and up" stay one
//!    motion. A background belongs to the clip (the most similar one wins). "two"/"three" before
//!    an object repeat it; at most [`read::MAX_OBJECTS`] objects.
//! 6. **Refusal.** An object whose best reading is an undrawable kind ("a man walking his dog on
//!    the beach") refuses the prompt, naming the part; so does a prompt in which no colour or
//!    shape was found at all, and an empty one.
//!
//! Without the encoder installed, [`PromptReader::open_default`] falls back to the keyword
//! reader: the same pipeline with exact words only (similarity 1.0).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod encoder;
pub mod lexicon;
pub mod prototypes;
pub mod read;
pub mod words;

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Name of the encoder in [`Reading::encoder`].
pub const ENCODER_NAME: &str = "all-MiniLM-L6-v2";
/// [`Reading::encoder`] of the keyword reader.
pub const KEYWORDS_NAME: &str = "keywords";
/// Longest prompt read, in bytes.
pub const MAX_PROMPT_BYTES: usize = 1000;
/// Environment variable naming the encoder directory.
pub const ENCODER_ENV: &str = "CANDOR_TEXT_ENCODER";

/// What can go wrong reading a prompt or loading the encoder.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// A file of the encoder could not be read.
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file of the encoder is there but unusable (truncated, garbage, wrong shapes).
    #[error("text encoder file {path} is unusable: {reason}")]
    BadEncoder { path: PathBuf, reason: String },
    /// The encoder directory holds some of its files but not all.
    #[error("text encoder in {dir} is incomplete: {missing} missing (reinstall with scripts/install-text-encoder.sh)")]
    PartialInstall { dir: PathBuf, missing: String },
    /// Running the encoder failed.
    #[error("text encoder failed: {0}")]
    Encoder(String),
    /// The prompt is longer than [`MAX_PROMPT_BYTES`].
    #[error("prompt too long: {len} bytes, at most {max}")]
    TooLong { len: usize, max: usize },
}

/// A slot of an object or of the clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    Colour,
    Shape,
    Motion,
    Background,
}

/// What the generator can draw, given by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct World {
    pub colours: Vec<String>,
    pub shapes: Vec<String>,
    /// Canonical motion phrases ("moving left", "bouncing").
    pub motions: Vec<String>,
    pub backgrounds: Vec<String>,
}

impl World {
    /// The values of `slot`.
    pub fn values(&self, slot: Slot) -> &[String] {
        match slot {
            Slot::Colour => &self.colours,
            Slot::Shape => &self.shapes,
            Slot::Motion => &self.motions,
            Slot::Background => &self.backgrounds,
        }
    }

    /// One sentence saying what can be drawn.
    pub fn can_draw(&self) -> String {
        format!(
            "up to {} objects, each a shape ({}) in a colour ({}) with a motion ({}), over one background ({})",
            read::MAX_OBJECTS,
            self.shapes.join(", "),
            self.colours.join(", "),
            self.motions.join(", "),
            self.backgrounds.join(", ")
        )
    }
}

/// Words of the prompt read as a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The words, as typed.
    pub words: String,
    /// The world's value.
    pub value: String,
    /// Cosine similarity to the value's best prototype (1.0 for the keyword reader).
    pub similarity: f32,
}

/// One object of the clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectReading {
    /// The words of the prompt it came from.
    pub phrase: String,
    pub colour: Option<Match>,
    pub shape: Option<Match>,
    pub motion: Option<Match>,
}

/// Why a prompt cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub reason: String,
    /// What the generator can draw instead.
    pub can_draw: String,
}

/// A prompt, read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    /// At most three, in prompt order.
    pub objects: Vec<ObjectReading>,
    pub background: Option<Match>,
    /// Content words that mapped to nothing, in runs ("tax form").
    pub not_understood: Vec<String>,
    /// Style and filler words ("cinematic", "4k", "slowly") and second backgrounds, not used.
    pub ignored: Vec<String>,
    pub refusal: Option<Refusal>,
    /// [`ENCODER_NAME`] or [`KEYWORDS_NAME`].
    pub encoder: String,
}

impl Reading {
    /// One line: each match with its similarity, then what was not understood, ignored, refused.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let m = |m: &Match| format!("{} → {} {:.2}", m.words, m.value, m.similarity);
        for o in &self.objects {
            parts.extend(
                [&o.colour, &o.shape, &o.motion]
                    .into_iter()
                    .flatten()
                    .map(m),
            );
        }
        if let Some(b) = &self.background {
            parts.push(m(b));
        }
        let mut line = if parts.is_empty() {
            "nothing understood".to_string()
        } else {
            parts.join(", ")
        };
        if !self.not_understood.is_empty() {
            line.push_str(&format!(
                "; not understood: {}",
                self.not_understood.join(", ")
            ));
        }
        if !self.ignored.is_empty() {
            line.push_str(&format!("; ignored: {}", self.ignored.join(", ")));
        }
        if let Some(r) = &self.refusal {
            line.push_str(&format!("; refused: {}", r.reason));
        }
        line
    }

    /// The caption in the training templates' form (`a red circle moving left and a blue square
    /// moving right over the sunset`), leaving out what is unknown. Empty when refused.
    pub fn caption(&self) -> String {
        if self.refusal.is_some() {
            return String::new();
        }
        let subjects: Vec<String> = self
            .objects
            .iter()
            .map(|o| {
                let words: Vec<&str> = [&o.colour, &o.shape, &o.motion]
                    .into_iter()
                    .flatten()
                    .map(|m| m.value.as_str())
                    .collect();
                format!("a {}", words.join(" "))
            })
            .collect();
        let mut caption = subjects.join(" and ");
        if let Some(b) = &self.background {
            let phrase = match b.value.as_str() {
                "gray" | "sand" => format!("on a {} background", b.value),
                v => format!("over the {v}"),
            };
            if !caption.is_empty() {
                caption.push(' ');
            }
            caption.push_str(&phrase);
        }
        caption
    }
}

/// Per-slot similarity thresholds and the margin over the runner-up value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub colour: f32,
    pub shape: f32,
    pub motion: f32,
    pub background: f32,
    /// For the undrawable kinds (people, animals, …).
    pub undrawable: f32,
    /// A span's best value must beat the second best of the same slot by this much.
    pub margin: f32,
}

impl Default for Thresholds {
    /// Calibrated on `tests/data/calibration.json` (see `CALIBRATION.md`).
    fn default() -> Self {
        Self {
            colour: 0.5,
            shape: 0.55,
            motion: 0.6,
            background: 0.55,
            undrawable: 0.47,
            margin: 0.03,
        }
    }
}

enum Engine {
    Semantic(Box<read::SemanticScorer>),
    Keywords,
}

/// Reads prompts against a [`World`].
pub struct PromptReader {
    world: World,
    engine: Engine,
    thresholds: Thresholds,
    fallback: Option<String>,
}

impl std::fmt::Debug for PromptReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptReader")
            .field("encoder", &self.encoder())
            .field("thresholds", &self.thresholds)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl PromptReader {
    /// Loads all-MiniLM-L6-v2 from `dir` (`config.json`, `model.safetensors`,
    /// `tokenizer.json`) and embeds the prototypes of `world`.
    pub fn open(dir: &Path, world: World) -> Result<Self, PromptError> {
        let encoder = encoder::Encoder::open(dir)?;
        let scorer = read::SemanticScorer::new(encoder, &world)?;
        Ok(Self {
            world,
            engine: Engine::Semantic(Box::new(scorer)),
            thresholds: Thresholds::default(),
            fallback: None,
        })
    }

    /// The keyword reader: exact words only.
    pub fn keywords(world: World) -> Self {
        Self {
            world,
            engine: Engine::Keywords,
            thresholds: Thresholds::default(),
            fallback: None,
        }
    }

    /// The encoder in `$CANDOR_TEXT_ENCODER`, else in `models_dir/text-encoder`. When none of its
    /// files are there, the keyword reader, with [`fallback`](Self::fallback) saying so; when only
    /// some are, or one is unusable, an error.
    pub fn open_default(world: World, models_dir: &Path) -> Result<Self, PromptError> {
        let dir = match std::env::var_os(ENCODER_ENV) {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => models_dir.join("text-encoder"),
        };
        let present: Vec<&str> = encoder::ENCODER_FILES
            .iter()
            .copied()
            .filter(|f| dir.join(f).exists())
            .collect();
        if present.is_empty() {
            let mut reader = Self::keywords(world);
            reader.fallback = Some(format!(
                "text encoder not installed in {}: reading the prompt by keywords only (install with scripts/install-text-encoder.sh)",
                dir.display()
            ));
            return Ok(reader);
        }
        if present.len() < encoder::ENCODER_FILES.len() {
            let missing: Vec<&str> = encoder::ENCODER_FILES
                .iter()
                .copied()
                .filter(|f| !present.contains(f))
                .collect();
            return Err(PromptError::PartialInstall {
                dir,
                missing: missing.join(", "),
            });
        }
        Self::open(&dir, world)
    }

    /// Set when [`open_default`](Self::open_default) fell back to keywords: why, and how to
    /// install the encoder.
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// [`ENCODER_NAME`] or [`KEYWORDS_NAME`].
    pub fn encoder(&self) -> &'static str {
        match self.engine {
            Engine::Semantic(_) => ENCODER_NAME,
            Engine::Keywords => KEYWORDS_NAME,
        }
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// Turns the explicit table ([`lexicon::TABLE`]) off or on (on by default); off shows what the
    /// encoder alone reads.
    pub fn set_table(&mut self, on: bool) {
        if let Engine::Semantic(s) = &mut self.engine {
            s.use_table = on;
        }
    }

    /// Replaces the thresholds (calibration).
    pub fn set_thresholds(&mut self, thresholds: Thresholds) {
        self.thresholds = thresholds;
    }

    /// Reads `prompt`. Errors only for a prompt over [`MAX_PROMPT_BYTES`] or a failing encoder;
    /// anything the generator cannot draw is a [`Reading::refusal`].
    pub fn read(&self, prompt: &str) -> Result<Reading, PromptError> {
        if prompt.len() > MAX_PROMPT_BYTES {
            return Err(PromptError::TooLong {
                len: prompt.len(),
                max: MAX_PROMPT_BYTES,
            });
        }
        match &self.engine {
            Engine::Semantic(s) => read::read(
                s.as_ref(),
                &self.thresholds,
                &self.world,
                ENCODER_NAME,
                prompt,
            ),
            Engine::Keywords => read::read(
                &read::KeywordScorer { world: &self.world },
                &self.thresholds,
                &self.world,
                KEYWORDS_NAME,
                prompt,
            ),
        }
    }

    /// For `text`, every value of each kind (colour, shape, motion, background, undrawable) with
    /// its similarity, best first; empty for the keyword reader.
    pub fn explain(&self, text: &str) -> Result<Vec<Vec<(String, f32)>>, PromptError> {
        match &self.engine {
            Engine::Semantic(s) => s.explain(text),
            Engine::Keywords => Ok(Vec::new()),
        }
    }

    /// Cosine similarity of two texts' embeddings (the encoder only; `None` for keywords).
    pub fn similarity(&self, a: &str, b: &str) -> Result<Option<f32>, PromptError> {
        match &self.engine {
            Engine::Semantic(s) => {
                let e = s.embed(&[a.to_string(), b.to_string()])?;
                Ok(match (e.first(), e.get(1)) {
                    (Some(x), Some(y)) => Some(encoder::dot(x, y)),
                    _ => None,
                })
            }
            Engine::Keywords => Ok(None),
        }
    }
}
