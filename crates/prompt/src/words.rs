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
    /// A hyphen joins this word to the one before ("snow-white", "north-east").
    pub hyphen_before: bool,
}

/// The words of `prompt`, in order.
pub fn words(prompt: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut pending_break = false;
    // Only the characters since the last word: exactly one '-'.
    let mut gap = String::new();
    let flush =
        |current: &mut String, pending_break: &mut bool, gap: &mut String, out: &mut Vec<Word>| {
            if !current.is_empty() {
                // A dash set apart by spaces ("over the desert - crimson …") breaks a clause as
                // a comma does; a hyphen inside a word ("blue-green") does not.
                let dash = gap.trim() == "-" && gap.len() > 1;
                out.push(Word {
                    lower: current.to_lowercase(),
                    text: std::mem::take(current),
                    break_before: std::mem::take(pending_break) || dash,
                    hyphen_before: !out.is_empty() && gap == "-",
                });
                gap.clear();
            }
        };
    for c in prompt.chars() {
        if c.is_alphanumeric() {
            current.push(c);
        } else {
            flush(&mut current, &mut pending_break, &mut gap, &mut out);
            gap.push(c);
            if matches!(
                c,
                ',' | ';' | '.' | '!' | '?' | ':' | '|' | '\n' | '\u{2013}' | '\u{2014}'
            ) {
                pending_break = true;
            }
        }
    }
    flush(&mut current, &mut pending_break, &mut gap, &mut out);
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
    &["whereas"],
    &["meanwhile"],
    &["next", "to"],
    &["followed", "by"],
    &["as", "well", "as"],
    &["along", "with"],
    &["together", "with"],
    &["accompanied", "by"],
];

/// Words that place one thing relative to another: before an article they start a new clause.
const RELATIVE_PLACES: &[&[&str]] = &[
    &["above"],
    &["below"],
    &["beneath"],
    &["under"],
    &["underneath"],
    &["on", "top", "of"],
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
        let connector = CONNECTORS
            .iter()
            .find(|c| {
                c.iter()
                    .enumerate()
                    .all(|(k, w)| words.get(i + k).is_some_and(|x| x.lower == *w))
            })
            .copied()
            .or_else(|| {
                // A place relative to another thing before an article starts that thing's clause
                // ("a blue square above a red circle"); a scene there ("under a blue sky") reads
                // as no object and goes back with the clause before it.
                RELATIVE_PLACES
                    .iter()
                    .find(|c| {
                        i > start
                            && c.iter()
                                .enumerate()
                                .all(|(k, w)| words.get(i + k).is_some_and(|x| x.lower == *w))
                            && words
                                .get(i + c.len())
                                .is_some_and(|n| ARTICLES.contains(&n.lower.as_str()))
                    })
                    .copied()
            })
            .or_else(|| {
                // "as" before a new noun phrase joins two clauses ("a pyramid bounces as a
                // violet orb shrinks"); otherwise it compares ("as big as").
                let next = words.get(i + 1).map(|w| w.lower.as_str());
                // Not the second "as" of "as big as a house", nor "shaped as a star".
                let comparison = words[i.saturating_sub(3)..i]
                    .iter()
                    .any(|w| matches!(w.lower.as_str(), "as" | "shaped" | "such" | "same"));
                (words[i].lower == "as"
                    && i > start
                    && !comparison
                    && next.is_some_and(|n| ARTICLES.contains(&n)))
                .then_some(&["as"][..])
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

/// Articles: "as" before one starts a clause.
pub(crate) const ARTICLES: &[&str] = &["a", "an", "the"];

/// Generic nouns that, after a count ("two shapes", "a pair of objects", "three things"), only
/// summarise the objects that follow: not objects themselves.
pub(crate) const SUMMARY_NOUNS: &[&str] = &[
    "shape", "shapes", "object", "objects", "thing", "things", "item", "items", "form", "forms",
    "figure", "figures", "element", "elements", "one", "ones",
];

/// Count words that open a summary phrase.
const SUMMARY_COUNTS: &[&str] = &[
    "two", "three", "four", "2", "3", "4", "pair", "couple", "few", "several", "some", "both",
];

/// Word indices of summary phrases: a count (with its article and "of") followed by a generic
/// noun ("two shapes", "a pair of objects", "a couple of things").
pub fn summary_phrases(words: &[Word]) -> Vec<bool> {
    let mut out = vec![false; words.len()];
    for i in 0..words.len() {
        if !SUMMARY_COUNTS.contains(&words[i].lower.as_str()) {
            continue;
        }
        let mut j = i + 1;
        if words.get(j).is_some_and(|w| w.lower == "of") {
            j += 1;
        }
        // Two adjectives may come between ("two coloured shapes", "two simple flat shapes").
        let noun = (j..(j + 3).min(words.len()))
            .find(|&k| SUMMARY_NOUNS.contains(&words[k].lower.as_str()) && !words[k].break_before)
            .filter(|&k| words[j..k].iter().all(|w| !w.break_before));
        let Some(k) = noun else { continue };
        let mut s = i;
        if s > 0 && ARTICLES.contains(&words[s - 1].lower.as_str()) {
            s -= 1;
        }
        out[s..=k].iter_mut().for_each(|x| *x = true);
    }
    out
}

/// The "-ing" form of a simple English verb inflection ("climbs" → "climbing", "dwindles" →
/// "dwindling", "descended" → "descending", "dropped" → "dropping"), or `None` when the word
/// does not end like one. Only a guess: callers use it next to the word itself.
pub fn ing_form(w: &str) -> Option<String> {
    if w.len() < 4 || !w.chars().all(|c| c.is_ascii_lowercase()) || w.ends_with("ing") {
        return None;
    }
    let stem = if let Some(s) = w.strip_suffix("ied") {
        format!("{s}y")
    } else if let Some(s) = w.strip_suffix("ed") {
        // "bounced" → "bounc" + "ing"; "dropped" → "dropp" + "ing".
        return Some(format!("{s}ing"));
    } else if let Some(s) = w.strip_suffix("ies") {
        format!("{s}y")
    } else if w.ends_with("ches")
        || w.ends_with("shes")
        || w.ends_with("xes")
        || w.ends_with("sses")
    {
        w[..w.len() - 2].to_string()
    } else if w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") {
        return None;
    } else if let Some(s) = w.strip_suffix('s') {
        s.to_string()
    } else {
        return None;
    };
    let base = match stem.strip_suffix('e') {
        Some(b) if !b.ends_with('e') && b.len() > 1 => b.to_string(),
        _ => stem,
    };
    Some(format!("{base}ing"))
}

/// Determiners and quantity words: a span never starts with one.
pub const DETERMINERS: &[&str] = &[
    "a", "an", "the", "some", "one", "this", "that", "these", "those", "my", "its", "his", "her",
    "their", "our", "your", "another", "single",
];

/// Colour words no model here can draw, nor any stand-in for them: asked of an object, the
/// prompt is refused ("a brown square"); the encoder reads some of them as a drawable colour
/// (brown: green 0.63), so they are listed, not inferred.
pub const UNDRAWABLE_COLOURS: &[&str] = &[
    "brown",
    "black",
    "beige",
    "tan",
    "khaki",
    "bronze",
    "copper",
    "chocolate",
    "coffee",
    "caramel",
    "ebony",
];

/// Words that carry no content by themselves: a span never ends with one, and one left over is
/// ignored rather than "not understood". Direction words (up, down, left …) are not here.
pub const FUNCTION_WORDS: &[&str] = &[
    // Pronouns of a request ("could you make …"): never a thing to draw; "u", "ya" as typed.
    "you",
    "u",
    "ya",
    // "teh": "the" as typed (read as a plant once).
    "teh",
    "your",
    "we",
    "i",
    "me",
    "us",
    "they",
    "them",
    "other",
    "others",
    "him",
    "she",
    "he",
    // What an apostrophe leaves of a contraction ("I'm", "there's", "we'll").
    "m",
    "s",
    "re",
    "ve",
    "ll",
    "d",
    "t",
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
    // Greetings and thanks around a request ("Hey, can you animate …? thanks!").
    "hey",
    "hi",
    "thanks",
    "pls",
    "plz",
    "thx",
    "lol",
    "just",
    "cn",
    "bg",
    "thank",
    "cinematic",
    // Times of day that are not a scene the model draws (the encoder read "noon" as a sunset,
    // "midday", "morning" and "afternoon" as night): "a field at noon" is a field. Dawn, dusk,
    // evening and night are scenes.
    "noon",
    "midday",
    "daylight",
    "morning",
    "afternoon",
    "lunchtime",
    "broad",
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
    "animate",
    "animated",
    "render",
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
    "pale",
    "deep",
    "hot",
    "dark",
    "soft",
    "baby",
    "neon",
];

/// Whether `w` asks for more objects than a clip holds ("four stars", "a dozen balls", "many
/// circles"): more than three.
pub fn large_count(w: &str) -> bool {
    matches!(
        w,
        "four"
            | "five"
            | "six"
            | "seven"
            | "eight"
            | "nine"
            | "ten"
            | "eleven"
            | "twelve"
            | "dozen"
            | "dozens"
            | "hundred"
            | "hundreds"
            | "thousand"
            | "thousands"
            | "many"
            | "numerous"
            | "countless"
    ) || w.parse::<u32>().is_ok_and(|n| n > 3)
}

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

    #[test]
    fn a_dash_between_spaces_breaks_a_clause_and_one_inside_a_word_does_not() {
        let breaks = |p: &str| -> Vec<bool> { words(p).iter().map(|w| w.break_before).collect() };
        assert_eq!(breaks("desert - crimson"), [false, true]);
        assert_eq!(breaks("desert \u{2014} crimson"), [false, true]);
        assert_eq!(breaks("desert\u{2013}crimson"), [false, true]);
        let w = words("a blue-green star");
        assert!(!w[2].break_before && w[2].hyphen_before);
        assert!(large_count("four") && large_count("12") && !large_count("3"));
    }

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
    fn splits_on_a_place_relative_to_another_thing_before_an_article() {
        assert_eq!(
            split("a blue square above a red circle"),
            ["a blue square", "a red circle"]
        );
        assert_eq!(
            split("a star on top of the diamond, both bouncing"),
            ["a star", "the diamond", "both bouncing"]
        );
        // Not without an article after it, nor at the start of a clause.
        assert_eq!(split("a star rising above"), ["a star rising above"]);
        assert_eq!(split("under a red star"), ["under a red star"]);
    }

    #[test]
    fn splits_on_as_before_a_noun_phrase_only() {
        assert_eq!(
            split("a golden pyramid bounces as a violet orb shrinks"),
            ["a golden pyramid bounces", "a violet orb shrinks"]
        );
        assert_eq!(
            split("a ball as big as a house"),
            ["a ball as big as a house"]
        );
        assert_eq!(
            split("a star rising whereas a cube falls"),
            ["a star rising", "a cube falls"]
        );
    }

    #[test]
    fn summary_phrases_are_marked() {
        let w = words("Two shapes at midnight, a pair of objects: a cube and three things");
        let marked: Vec<&str> = w
            .iter()
            .zip(summary_phrases(&w))
            .filter(|(_, m)| *m)
            .map(|(w, _)| w.lower.as_str())
            .collect();
        assert_eq!(
            marked,
            ["two", "shapes", "a", "pair", "of", "objects", "three", "things"]
        );
        assert!(!summary_phrases(&words("two red cubes")).contains(&true));
    }

    #[test]
    fn ing_forms_of_simple_inflections() {
        for (w, ing) in [
            ("climbs", "climbing"),
            ("dwindles", "dwindling"),
            ("rises", "rising"),
            ("bounces", "bouncing"),
            ("descended", "descending"),
            ("dropped", "dropping"),
            ("flies", "flying"),
            ("pushes", "pushing"),
        ] {
            assert_eq!(ing_form(w).as_deref(), Some(ing), "{w}");
        }
        for w in ["rising", "glass", "left", "up"] {
            assert_eq!(ing_form(w), None, "{w}");
        }
    }

    #[test]
    fn hyphens_are_recorded() {
        let w = words("snow-white orb, north - east");
        let h: Vec<bool> = w.iter().map(|x| x.hyphen_before).collect();
        assert_eq!(h, [false, true, false, false, false]);
    }

    #[test]
    fn clause_records_its_connector() {
        let w = words("a star next to a diamond");
        let c = clauses(&w);
        assert_eq!(c.len(), 2);
        assert_eq!((c[1].joined_from, c[1].start, c[1].end), (2, 4, 6));
    }
}
