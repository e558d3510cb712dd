//! Words of a prompt and its split into clauses.
//!
//! A word is a maximal run of alphanumeric characters (any script); everything else separates
//! words, and `,` `;` `.` `!` `?` `:` also end a clause. Nothing here can fail or panic: odd
//! characters (emoji, control characters) simply separate words.

/// One word of the prompt: as typed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub lower: String,
    /// A clause break (`,` `;` …) comes right before this word.
    pub break_before: bool,
}

/// The words of `prompt`, in order.
pub fn words(prompt: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut pending_break = false;
    let flush = |current: &mut String, pending_break: &mut bool, out: &mut Vec<Word>| {
        if !current.is_empty() {
            out.push(Word {
                lower: current.to_lowercase(),
                text: std::mem::take(current),
                break_before: std::mem::take(pending_break),
            });
        }
    };
    for c in prompt.chars() {
        if c.is_alphanumeric() {
            current.push(c);
        } else {
            flush(&mut current, &mut pending_break, &mut out);
            if matches!(c, ',' | ';' | '.' | '!' | '?' | ':' | '|' | '\n') {
                pending_break = true;
            }
        }
    }
    flush(&mut current, &mut pending_break, &mut out);
    out
}

/// Words that join two things in the prompt: each starts a new clause (and is not part of one).
const CONNECTORS: &[&[&str]] = &[
    &["and"],
    &["while"],
    &["whilst"],
    &["with"],
    &["plus"],
    &["beside"],
    &["besides"],
    &["alongside"],
    &["then"],
    &["next", "to"],
    &["followed", "by"],
    &["as", "well", "as"],
    &["along", "with"],
    &["together", "with"],
    &["accompanied", "by"],
];

/// A clause: a range of word indices, and the connector words before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub start: usize,
    pub end: usize,
    /// Index of the first connector word before `start` (== `start` when none).
    pub joined_from: usize,
}

/// Splits the words into clauses on breaks and connectors. Empty clauses are dropped.
pub fn clauses(words: &[Word]) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut joined_from = 0;
    let mut i = 0;
    while i < words.len() {
        let connector = CONNECTORS.iter().find(|c| {
            c.iter()
                .enumerate()
                .all(|(k, w)| words.get(i + k).is_some_and(|x| x.lower == *w))
        });
        if words[i].break_before && i > start {
            push(&mut out, joined_from, start, i);
            start = i;
            joined_from = i;
        }
        if let Some(c) = connector {
            push(&mut out, joined_from, start, i);
            joined_from = i;
            i += c.len();
            start = i;
            continue;
        }
        i += 1;
    }
    push(&mut out, joined_from, start, words.len());
    out
}

fn push(out: &mut Vec<Clause>, joined_from: usize, start: usize, end: usize) {
    if end > start {
        out.push(Clause {
            start,
            end,
            joined_from: joined_from.min(start),
        });
    }
}

/// Determiners and quantity words: a span never starts with one.
pub const DETERMINERS: &[&str] = &[
    "a", "an", "the", "some", "one", "this", "that", "these", "those", "my", "its", "his", "her",
    "their", "our", "your", "another", "single",
];

/// Words that carry no content by themselves: a span never ends with one, and one left over is
/// ignored rather than "not understood". Direction words (up, down, left …) are not here.
pub const FUNCTION_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "some",
    "this",
    "that",
    "these",
    "those",
    "my",
    "its",
    "his",
    "her",
    "their",
    "our",
    "your",
    "of",
    "to",
    "toward",
    "towards",
    "in",
    "into",
    "on",
    "onto",
    "at",
    "over",
    "under",
    "above",
    "below",
    "beneath",
    "across",
    "through",
    "against",
    "by",
    "from",
    "for",
    "as",
    "is",
    "are",
    "be",
    "being",
    "it",
    "it's",
    "which",
    "who",
    "that's",
    "there",
    "here",
    "very",
    "so",
    "and",
    "or",
    "while",
    "with",
    "then",
    "behind",
    "before",
    "in",
    "front",
    "during",
    "near",
    "around",
    "upon",
    "all",
    "both",
    "each",
    "s",
    "next",
    "followed",
    "beside",
    "besides",
    "alongside",
    "plus",
    "whilst",
    "along",
    "together",
    "accompanied",
    "well",
];

/// Style and filler words the generator has no use for: ignored (reported as such) when no
/// understood span covers them.
pub const STYLE_WORDS: &[&str] = &[
    "cinematic",
    "4k",
    "8k",
    "hd",
    "uhd",
    "hdr",
    "beautiful",
    "beautifully",
    "stunning",
    "epic",
    "slowly",
    "slow",
    "quickly",
    "quick",
    "fast",
    "rapidly",
    "gently",
    "smoothly",
    "steadily",
    "softly",
    "gracefully",
    "high",
    "quality",
    "detailed",
    "masterpiece",
    "trending",
    "video",
    "clip",
    "animation",
    "animated",
    "footage",
    "shot",
    "render",
    "rendered",
    "style",
    "simple",
    "little",
    "small",
    "big",
    "large",
    "tiny",
    "bright",
    "vivid",
    "lovely",
    "nice",
    "pretty",
    "cute",
    "really",
    "moving",
    "moves",
    "move",
    "going",
    "goes",
    "travelling",
    "traveling",
    "object",
    "thing",
    "something",
    "scene",
    "background",
    "image",
    "picture",
    "please",
    "show",
    "me",
    "make",
    "create",
    "generate",
    "draw",
    "of",
    "colored",
    "coloured",
    "color",
    "colour",
    "shaped",
    "shape",
    "two",
    "three",
    "2",
    "3",
    "frame",
    "frames",
    "seconds",
    "second",
    "continuously",
    "constantly",
    "gradually",
    "lazily",
    "happily",
    "solid",
    "plain",
    "flat",
    "ultra",
    "hyper",
    "realistic",
    "photorealistic",
    "hyperrealistic",
    "octane",
    "unreal",
    "engine",
    "rendering",
    "artstation",
    "sharp",
    "focus",
    "lighting",
    "dramatic",
    "award",
    "winning",
    "professional",
    "minimalist",
    "minimal",
    "abstract",
    "loop",
    "looping",
    "seamless",
    "camera",
    "panning",
    "pan",
    "pans",
    "zoom",
    "zooming",
    "closeup",
    "tracking",
    "dolly",
    "timelapse",
    "motion",
    "macro",
    "angle",
    "shallow",
];

/// Number words that ask for copies of an object.
pub fn count_word(w: &str) -> Option<usize> {
    match w {
        "two" | "2" | "pair" | "couple" => Some(2),
        "three" | "3" => Some(3),
        _ => None,
    }
}

pub fn is_function(w: &str) -> bool {
    FUNCTION_WORDS.contains(&w)
}

pub fn is_style(w: &str) -> bool {
    STYLE_WORDS.contains(&w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(p: &str) -> Vec<String> {
        let w = words(p);
        clauses(&w)
            .iter()
            .map(|c| {
                w[c.start..c.end]
                    .iter()
                    .map(|x| x.lower.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn words_are_alphanumeric_runs() {
        let w = words("A Red-circle, 🚀 moving\u{7}left!");
        let t: Vec<&str> = w.iter().map(|x| x.lower.as_str()).collect();
        assert_eq!(t, ["a", "red", "circle", "moving", "left"]);
        assert!(w[3].break_before);
        assert!(!w[2].break_before);
        assert_eq!(w[1].text, "Red");
    }

    #[test]
    fn splits_on_connectors_and_breaks() {
        assert_eq!(
            split("a red circle moving left and a blue square moving right"),
            ["a red circle moving left", "a blue square moving right"]
        );
        assert_eq!(
            split("a star next to a diamond, followed by a triangle"),
            ["a star", "a diamond", "a triangle"]
        );
        assert_eq!(
            split("a circle while a square bounces"),
            ["a circle", "a square bounces"]
        );
        assert_eq!(
            split("a ball bobbing up and down"),
            ["a ball bobbing up", "down"]
        );
        assert_eq!(split("and , and"), Vec::<String>::new());
        assert_eq!(split(""), Vec::<String>::new());
    }

    #[test]
    fn clause_records_its_connector() {
        let w = words("a star next to a diamond");
        let c = clauses(&w);
        assert_eq!(c.len(), 2);
        assert_eq!((c[1].joined_from, c[1].start, c[1].end), (2, 4, 6));
    }
}
