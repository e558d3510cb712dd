//! Prompt tokenisation over the vocabulary the model was trained on.
//!
//! Content words (colours, shapes, motions, backgrounds) become tokens; function words the
//! captions use ("a", "the", "over") are known and skipped; anything else is reported back as
//! ignored — never silently dropped.

use serde::{Deserialize, Serialize};

use crate::data::{BACKGROUNDS, COLOURS, SHAPES};

/// Words of the captions that carry no meaning for the model.
pub const FUNCTION_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "is",
    "on",
    "over",
    "in",
    "against",
    "across",
    "and",
    "moving",
    "background",
    "scene",
    "behind",
    "it",
    "of",
    "with",
];
const MOTION_WORDS: &[&str] = &[
    "left",
    "right",
    "up",
    "down",
    "bouncing",
    "growing",
    "shrinking",
];

/// Token 0 is padding (also the empty prompt); then "and" (separates objects), then content words.
/// A colour that is also a background ("gray") has one token, in the backgrounds' place, so the
/// vocabulary is the same for every model that has it.
pub fn vocabulary() -> Vec<String> {
    let mut v = vec!["<pad>".to_string(), "and".to_string()];
    v.extend(
        COLOURS
            .iter()
            .filter(|(c, _)| !BACKGROUNDS.contains(c))
            .map(|(c, _)| c.to_string()),
    );
    v.extend(SHAPES.iter().map(|s| s.to_string()));
    v.extend(MOTION_WORDS.iter().map(|s| s.to_string()));
    v.extend(BACKGROUNDS.iter().map(|s| s.to_string()));
    v
}

/// Maximum tokens per prompt.
pub const MAX_TOKENS: usize = 16;

/// A tokenised prompt and what was understood of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Token ids, padded with 0 to [`MAX_TOKENS`].
    pub ids: Vec<u32>,
    /// Content words the model knows, in order.
    pub understood: Vec<String>,
    /// Words the model does not know (not used).
    pub ignored: Vec<String>,
}

impl Tokens {
    /// "understood: red, circle, left; ignored: cinematic".
    pub fn describe(&self) -> String {
        let understood = if self.understood.is_empty() {
            "nothing".to_string()
        } else {
            self.understood.join(", ")
        };
        if self.ignored.is_empty() {
            format!("understood: {understood}")
        } else {
            format!(
                "understood: {understood}; ignored: {}",
                self.ignored.join(", ")
            )
        }
    }
}

/// Tokenises a prompt. Synonyms: "grey" → gray, "rightwards" etc. are not known.
pub fn tokenize(prompt: &str) -> Tokens {
    let vocab = vocabulary();
    let mut ids = Vec::new();
    let mut understood = Vec::new();
    let mut ignored = Vec::new();
    for raw in prompt
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = raw.to_lowercase();
        let word = if word == "grey" {
            "gray".to_string()
        } else {
            word
        };
        if let Some(id) = vocab.iter().position(|v| *v == word) {
            if ids.len() < MAX_TOKENS {
                ids.push(id as u32);
                if word != "and" {
                    understood.push(word);
                }
            } else {
                ignored.push(word);
            }
        } else if !FUNCTION_WORDS.contains(&word.as_str()) {
            ignored.push(raw.to_string());
        }
    }
    ids.resize(MAX_TOKENS, 0);
    Tokens {
        ids,
        understood,
        ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_words_are_reported() {
        let t = tokenize("A cinematic red circle, moving left over the sky!");
        assert_eq!(t.understood, vec!["red", "circle", "left", "sky"]);
        assert_eq!(t.ignored, vec!["cinematic"]);
        assert_eq!(
            t.describe(),
            "understood: red, circle, left, sky; ignored: cinematic"
        );
        assert_eq!(t.ids.len(), MAX_TOKENS);
        assert!(t.ids[4..].iter().all(|&i| i == 0));
    }

    #[test]
    fn empty_prompt_is_all_padding() {
        let t = tokenize("");
        assert!(t.ids.iter().all(|&i| i == 0));
        assert_eq!(t.describe(), "understood: nothing");
    }
}
