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
//!    emoji and control characters included, only separates; at most [`read::MAX_WORDS`] are
//!    read) and into clauses at `,` `;` `.` and at connectors: "and", "while", "with", "next to",
//!    "beside", "followed by", "as well as", "whereas" …, and "as" before an article (not in "as
//!    big as"). Not read: summary phrases, a count and a generic noun ("two shapes", "a pair of
//!    objects"), and the modifier of a hyphenated colour ("snow-white", "sky-blue": the last
//!    part is the colour).
//! 2. **Spans.** Every run of 1–5 words of a clause ([`read::MAX_SPAN`]: "sliding toward the
//!    left edge") that does not start with a determiner, does not end with a function word, does
//!    not cross punctuation and holds some content is embedded with all-MiniLM-L6-v2 (mean
//!    pooling over the attention mask, L2 norm, as sentence-transformers). For shapes and
//!    undrawable things, spans of up to three words are embedded as "a &lt;span&gt;", as nouns: a lone
//!    "girl" is far from "a girl".
//! 3. **Prototypes.** Each value has two to four short prototype phrasings (the word, a plain
//!    description, an everyday name: `circle`, `a round ball`, `a sphere`, `a disc`), and each
//!    kind of undrawable thing a small set ([`prototypes`]). A span's similarity to a value is
//!    its best cosine to the value's prototypes. A span is a candidate for a slot when that
//!    passes the slot's threshold and beats the runner-up value by a margin ([`Thresholds`],
//!    calibrated on `tests/data/calibration.json`, see `CALIBRATION.md`). The encoder does the
//!    generalising ("an orb", "drifting to the left", "on the beach", "getting bigger"); synonym
//!    lists are avoided.
//! 4. **Where the encoder is measurably wrong**, and only there: a table of single words
//!    ([`lexicon::TABLE`]: rare colour names such as "vermilion", a few scene words such as
//!    "ocean", "starlit"), each entry with what the encoder said instead and a test that fails
//!    when the encoder alone gets an entry right; the *direction* of a directed motion from a
//!    closed class of direction words ("to the right" is 0.66 from moving right but 0.63 from
//!    moving down right); the *polarity* of a size change from comparatives ("getting smaller"
//!    is 0.79 from growing). The encoder still decides whether a span is a motion at all; every
//!    span is also scored as a motion with simple verb inflections as "-ing" forms ("climbs",
//!    "descended" → "climbing", "descending"), and the direction words match the same way. A
//!    closed class of size-verb stems ("swell", "inflat", "dwindl", "deflat" …), which the
//!    encoder misses, gives growing or shrinking to a clause without a motion.
//! 5. **Assignment.** Per clause, a small exhaustive search picks at most one candidate per kind
//!    (colour, shape, motion, background, undrawable), never two on the same word, maximising
//!    the total similarity above the thresholds; so "crimson ball" becomes colour + shape rather
//!    than one span for either. Before it: a longer span read as another value nearly as well
//!    replaces the shorter ("bobbing up and down" → bouncing over "down"); a background span made
//!    of two that disagree is read whole ("ocean at dusk" → sunset); a colour right after a scene
//!    preposition and before a background ("under a blue sky") is the background's.
//! 6. **Objects.** A clause with a colour, a shape or an undrawable thing is an object; the other
//!    clauses ("… and down", "… with a sunset behind") are merged into the object before them and
//!    the merged words are read again, so "bobbing up and down" or "to the left and up" stay one
//!    motion. A background belongs to the clip (the most similar one wins; others are listed as
//!    ignored). "two"/"three" repeat an object; at most [`read::MAX_OBJECTS`] objects (a prompt
//!    asking more is refused). A clause
//!    with only a colour is an object only when no clause has a shape, or when the next object
//!    lends it its shape ("a red and a blue ball"); "one" takes the previous object's shape ("a
//!    white one"). A scene noun's modifier is the scene ("a night sky" → night), and a colour
//!    right before a background with no shape after it is the background's ("white sand").
//! 7. **Refusal.** An undrawable kind counts only as a head noun (after a determiner or
//!    preposition, with nothing shape-like between, no shape right after it in the same phrase, a
//!    word in -ing only right after a determiner) and only when it reads better than every
//!    drawable reading of the same span: "a man walking his dog on the beach" is refused, "a
//!    green box flying west" is not. Any such part refuses the prompt, named ("cannot draw 'a
//!    dog' (an animal)"); so does a prompt with no colour or shape at all, and an empty one.
//!
//! Without the encoder installed, [`PromptReader::open_default`] falls back to the keyword
//! reader: the same pipeline with exact words only (similarity 1.0; the direction words too),
//! which refuses when no colour or shape word is present. A similarity of 1.0 from the encoder
//! reader means an exact prototype, a table word or direction words.
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
/// Longest prompt read, in characters.
pub const MAX_PROMPT_CHARS: usize = 1000;
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
    /// The prompt is longer than [`MAX_PROMPT_CHARS`].
    #[error("prompt too long: {len} characters, at most {max}")]
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
    /// Misspellings read as the word they are one or two letters from ("yelow → yellow"): only
    /// words the encoder's vocabulary does not know, only onto the words the reader knows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub corrected: Vec<String>,
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
        if !self.corrected.is_empty() {
            line.push_str(&format!("; spelling: {}", self.corrected.join(", ")));
        }
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
            colour: 0.6,
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

    /// Reads `prompt`. Errors only for a prompt over [`MAX_PROMPT_CHARS`] or a failing encoder;
    /// anything the generator cannot draw is a [`Reading::refusal`].
    pub fn read(&self, prompt: &str) -> Result<Reading, PromptError> {
        let len = prompt.chars().count();
        if len > MAX_PROMPT_CHARS {
            return Err(PromptError::TooLong {
                len,
                max: MAX_PROMPT_CHARS,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    include!("../tests/common/world.rs");

    fn values(r: &Reading) -> Vec<(Option<&str>, Option<&str>, Option<&str>)> {
        fn v(m: &Option<Match>) -> Option<&str> {
            m.as_ref().map(|m| m.value.as_str())
        }
        r.objects
            .iter()
            .map(|o| (v(&o.colour), v(&o.shape), v(&o.motion)))
            .collect()
    }

    #[test]
    fn keyword_reader_reads_exact_words() {
        let r = PromptReader::keywords(world());
        assert_eq!(r.encoder(), KEYWORDS_NAME);
        let reading = r
            .read("A red circle moving left and a blue square moving right over the sunset, cinematic 4k")
            .unwrap();
        assert_eq!(
            values(&reading),
            [
                (Some("red"), Some("circle"), Some("moving left")),
                (Some("blue"), Some("square"), Some("moving right"))
            ]
        );
        assert_eq!(reading.background.as_ref().unwrap().value, "sunset");
        assert!(reading.refusal.is_none());
        assert_eq!(reading.encoder, "keywords");
        assert_eq!(reading.ignored, ["cinematic", "4k"]);
        assert!(
            reading.not_understood.is_empty(),
            "{:?}",
            reading.not_understood
        );
        assert_eq!(
            reading.caption(),
            "a red circle moving left and a blue square moving right over the sunset"
        );
        assert!(reading.objects[0].colour.as_ref().unwrap().similarity == 1.0);
        assert_eq!(reading.objects[0].phrase, "A red circle moving left");
    }

    #[test]
    fn keyword_reader_knows_no_synonyms() {
        let r = PromptReader::keywords(world());
        let reading = r.read("a crimson ball drifting to the left").unwrap();
        assert!(reading.refusal.is_some());
        assert_eq!(reading.not_understood, ["crimson ball drifting"]);
        let reading = r
            .read("two green stars bouncing on a sand background")
            .unwrap();
        assert_eq!(values(&reading).len(), 2);
        assert_eq!(
            reading.caption(),
            "a green star bouncing and a green star bouncing on a sand background"
        );
    }

    #[test]
    fn keyword_reader_refuses_without_colour_or_shape() {
        let r = PromptReader::keywords(world());
        for p in [
            "",
            "   ",
            "a dog on the grass",
            "moving left over the sky",
            "🚀🚀",
        ] {
            let reading = r.read(p).unwrap();
            let refusal = reading.refusal.as_ref().unwrap();
            assert!(refusal.can_draw.contains("circle"), "{refusal:?}");
            assert!(reading.caption().is_empty());
        }
        let reading = r.read("something blue").unwrap();
        assert!(reading.refusal.is_none());
        assert_eq!(reading.caption(), "a blue");
        let reading = r.read("a circle").unwrap();
        assert_eq!(reading.caption(), "a circle");
    }

    #[test]
    fn at_most_three_objects() {
        let r = PromptReader::keywords(world());
        let reading = r
            .read("a red circle, a blue square, a green star and a white diamond")
            .unwrap();
        // Drawing three of the four would not be the prompt: refused, saying which is too many.
        assert_eq!(reading.objects.len(), 3);
        let reason = reading.refusal.map(|r| r.reason).unwrap_or_default();
        assert!(
            reason.contains("'a white diamond'") && reason.contains("at most 3"),
            "{reason}"
        );
    }

    #[test]
    fn describe_lists_matches_and_leftovers() {
        let r = PromptReader::keywords(world());
        let reading = r
            .read("a red circle and a tax form on a gray background")
            .unwrap();
        assert_eq!(
            reading.describe(),
            "red → red 1.00, circle → circle 1.00, gray → gray 1.00; not understood: tax form"
        );
        assert_eq!(reading.caption(), "a red circle on a gray background");
    }

    #[test]
    fn reading_serialises() {
        let r = PromptReader::keywords(world());
        let json = serde_json::to_value(r.read("a red circle").unwrap()).unwrap();
        assert_eq!(json["objects"][0]["colour"]["value"], "red");
        assert_eq!(json["encoder"], "keywords");
        assert!(json["refusal"].is_null());
    }

    #[test]
    fn colours_handed_out_over_a_group_make_one_object_each() {
        let r = PromptReader::keywords(world());
        let colours = |p: &str| -> Vec<Option<String>> {
            let reading = r.read(p).unwrap();
            reading
                .objects
                .iter()
                .map(|o| o.colour.as_ref().map(|c| c.value.clone()))
                .collect()
        };
        let some = |c: &[&str]| c.iter().map(|c| Some(c.to_string())).collect::<Vec<_>>();
        assert_eq!(
            colours("two circles, one red and one blue"),
            some(&["red", "blue"])
        );
        assert_eq!(
            colours("three stars: red, green and blue"),
            some(&["red", "green", "blue"])
        );
        assert_eq!(colours("red and blue squares"), some(&["red", "blue"]));
        // The list is what the count says, or nothing is rewritten.
        assert_eq!(colours("three circles, red and blue").len(), 3);
        assert_eq!(
            colours("a red circle and a blue circle"),
            some(&["red", "blue"])
        );
    }

    #[test]
    fn overlong_prompt_is_an_error() {
        let r = PromptReader::keywords(world());
        let long = "a red circle ".repeat(100);
        assert!(matches!(r.read(&long), Err(PromptError::TooLong { .. })));
        assert!(r.read(&"x".repeat(MAX_PROMPT_CHARS)).is_ok());
        assert!(r.read(&"é".repeat(MAX_PROMPT_CHARS)).is_ok());
        assert!(r.read(&"é".repeat(MAX_PROMPT_CHARS + 1)).is_err());
    }

    #[test]
    fn open_default_without_encoder_falls_back_to_keywords() {
        let dir = tempfile::tempdir().unwrap();
        // $CANDOR_TEXT_ENCODER would take precedence; this test only runs the models_dir path
        // when it is unset.
        if std::env::var_os(ENCODER_ENV).is_some() {
            return;
        }
        let r = PromptReader::open_default(world(), dir.path()).unwrap();
        assert_eq!(r.encoder(), KEYWORDS_NAME);
        assert!(r
            .fallback()
            .unwrap()
            .contains("scripts/install-text-encoder.sh"));
    }

    proptest! {
        #[test]
        fn keyword_reader_never_panics(s in "\\PC{0,300}") {
            let r = PromptReader::keywords(world());
            let reading = r.read(&s).unwrap();
            let _ = (reading.describe(), reading.caption());
        }

        #[test]
        fn keyword_reader_never_panics_on_controls(s in "[\\x00-\\x1f a-z,.;🚀é]{0,200}") {
            let r = PromptReader::keywords(world());
            prop_assert!(r.read(&s).is_ok());
        }
    }
}
