//! The explicit table: words the encoder demonstrably maps wrong, mapped by hand.
//!
//! all-MiniLM-L6-v2 embeds a lone, rare word from its word pieces and its training contexts, not
//! from what it looks like: "vermilion" comes out nearest to *purple*, "emerald" to *orange*,
//! "ocean" to *sand*. For these words only, a span that is exactly the word reads as the table's
//! value (similarity 1.0). Every entry records what the encoder said instead, and the test
//! `every_table_entry_is_needed` (tests/encoder.rs) fails when the encoder alone gets an entry
//! right, so the table cannot grow into a synonym list the encoder would have made redundant.

use crate::Slot;

/// (slot, word, value, what the encoder alone reads it as — with the prototypes of this version).
pub const TABLE: &[(Slot, &str, &str, &str)] = &[
    (
        Slot::Colour,
        "crimson",
        "red",
        "nearest purple 0.60, not accepted",
    ),
    (Slot::Colour, "scarlet", "red", "reads purple 0.57"),
    (
        Slot::Colour,
        "vermilion",
        "red",
        "nearest purple 0.35, not accepted",
    ),
    (
        Slot::Colour,
        "maroon",
        "red",
        "nearest green 0.56, not accepted",
    ),
    (
        Slot::Colour,
        "ruby",
        "red",
        "nearest red 0.35, not accepted",
    ),
    (
        Slot::Colour,
        "cherry",
        "red",
        "nearest pink 0.46, not accepted",
    ),
    (
        Slot::Colour,
        "amber",
        "orange",
        "nearest cyan 0.49, not accepted",
    ),
    (
        Slot::Colour,
        "tangerine",
        "orange",
        "nearest green 0.45, not accepted",
    ),
    (
        Slot::Colour,
        "coral",
        "orange",
        "nearest cyan 0.42, not accepted",
    ),
    (
        Slot::Colour,
        "gold",
        "yellow",
        "nearest red 0.46, not accepted",
    ),
    (
        Slot::Colour,
        "golden",
        "yellow",
        "nearest purple 0.44, not accepted",
    ),
    (
        Slot::Colour,
        "mustard",
        "yellow",
        "nearest orange 0.43, not accepted",
    ),
    (
        Slot::Colour,
        "emerald",
        "green",
        "nearest orange 0.50, not accepted",
    ),
    (
        Slot::Colour,
        "lime",
        "green",
        "nearest purple 0.52, not accepted",
    ),
    (
        Slot::Colour,
        "jade",
        "green",
        "nearest purple 0.29, not accepted",
    ),
    (
        Slot::Colour,
        "olive",
        "green",
        "nearest green 0.50, not accepted",
    ),
    (
        Slot::Colour,
        "mint",
        "green",
        "nearest purple 0.36, not accepted",
    ),
    (
        Slot::Colour,
        "teal",
        "cyan",
        "nearest cyan 0.33, not accepted",
    ),
    (
        Slot::Colour,
        "aqua",
        "cyan",
        "nearest orange 0.48, not accepted",
    ),
    (
        Slot::Colour,
        "aquamarine",
        "cyan",
        "nearest blue 0.56, not accepted",
    ),
    (
        Slot::Colour,
        "azure",
        "blue",
        "nearest cyan 0.33, not accepted",
    ),
    (
        Slot::Colour,
        "sapphire",
        "blue",
        "nearest purple 0.41, not accepted",
    ),
    (
        Slot::Colour,
        "cobalt",
        "blue",
        "nearest purple 0.49, not accepted",
    ),
    (
        Slot::Colour,
        "indigo",
        "blue",
        "nearest cyan 0.62, not accepted",
    ),
    (
        Slot::Colour,
        "lavender",
        "purple",
        "nearest cyan 0.50, not accepted",
    ),
    (
        Slot::Colour,
        "lilac",
        "purple",
        "nearest purple 0.49, not accepted",
    ),
    (
        Slot::Colour,
        "plum",
        "purple",
        "nearest orange 0.39, not accepted",
    ),
    (
        Slot::Colour,
        "mauve",
        "purple",
        "nearest purple 0.31, not accepted",
    ),
    (
        Slot::Colour,
        "magenta",
        "pink",
        "nearest pink 0.49, not accepted",
    ),
    (
        Slot::Colour,
        "fuchsia",
        "pink",
        "nearest pink 0.36, not accepted",
    ),
    (
        Slot::Colour,
        "salmon",
        "pink",
        "nearest orange 0.44, not accepted",
    ),
    (
        Slot::Colour,
        "ivory",
        "white",
        "nearest white 0.48, not accepted",
    ),
    (
        Slot::Colour,
        "cream",
        "white",
        "nearest orange 0.40, not accepted",
    ),
    (
        Slot::Colour,
        "charcoal",
        "gray",
        "nearest cyan 0.43, not accepted",
    ),
    (
        Slot::Colour,
        "slate",
        "gray",
        "nearest gray 0.33, not accepted",
    ),
    (
        Slot::Colour,
        "graphite",
        "gray",
        "nearest cyan 0.26, not accepted",
    ),
    (
        Slot::Colour,
        "pewter",
        "gray",
        "nearest purple 0.30, not accepted",
    ),
    (
        Slot::Colour,
        "greyish",
        "gray",
        "gray 0.63, white 0.61: no margin, not accepted",
    ),
    (
        Slot::Colour,
        "reddish",
        "red",
        "red 0.86, orange 0.85: no margin, not accepted",
    ),
    (
        Slot::Colour,
        "purplish",
        "purple",
        "nearest orange 0.34, not accepted",
    ),
    (
        Slot::Colour,
        "ash",
        "gray",
        "nearest orange 0.38, not accepted",
    ),
    (
        Slot::Colour,
        "ashen",
        "gray",
        "nearest gray 0.40, not accepted",
    ),
    (
        Slot::Colour,
        "gunmetal",
        "gray",
        "nearest gray 0.27, not accepted",
    ),
    (
        Slot::Colour,
        "steel",
        "gray",
        "nearest white 0.42 (gray 0.42), not accepted",
    ),
    (
        Slot::Colour,
        "platinum",
        "gray",
        "nearest orange 0.34, not accepted",
    ),
    (
        Slot::Colour,
        "chrome",
        "gray",
        "nearest white 0.37, not accepted",
    ),
    (
        Slot::Motion,
        "stationary",
        "staying still",
        "not accepted as any motion",
    ),
    (
        Slot::Motion,
        "frozen",
        "staying still",
        "not accepted as any motion",
    ),
    (
        Slot::Motion,
        "idle",
        "staying still",
        "not accepted as any motion",
    ),
    (
        Slot::Motion,
        "unmoving",
        "staying still",
        "spelling-corrected to \"moving\" without the entry",
    ),
    (
        Slot::Motion,
        "immobile",
        "staying still",
        "not accepted as any motion",
    ),
    (
        Slot::Motion,
        "static",
        "staying still",
        "not accepted as any motion",
    ),
    (Slot::Shape, "tile", "square", "not accepted"),
    (
        Slot::Shape,
        "dot",
        "circle",
        "nearest circle 0.46, not accepted",
    ),
    (
        Slot::Shape,
        "ring",
        "circle",
        "nearest circle 0.53, not accepted",
    ),
    (
        Slot::Shape,
        "lozenge",
        "diamond",
        "not understood alone; a lozenge is the rhombus shape",
    ),
    (
        Slot::Shape,
        "wedge",
        "triangle",
        "not understood alone (0.53); a wedge is drawn as a triangle",
    ),
    (
        Slot::Shape,
        "pentagram",
        "star",
        "nearest square 0.32, not accepted",
    ),
    (Slot::Background, "ocean", "sky", "reads sand 0.53"),
    (
        Slot::Background,
        "sea",
        "sky",
        "nearest sand 0.54, not accepted",
    ),
    (
        Slot::Background,
        "twilight",
        "sunset",
        "nearest night 0.59, not accepted",
    ),
    (Slot::Background, "evening", "sunset", "reads night 0.81"),
    (
        Slot::Background,
        "starry",
        "night",
        "nearest sky 0.34, not accepted",
    ),
    (Slot::Background, "starlit", "night", "reads sky 0.51"),
    (Slot::Background, "sunny", "sky", "reads sunset 0.66"),
    (Slot::Background, "daytime", "sky", "reads sunset"),
    (
        Slot::Background,
        "nite",
        "night",
        "nearest night 0.37, not accepted",
    ),
];

/// Scene nouns that say nothing about which background: "starry sky", "evening light".
pub(crate) const SCENE_NOUNS: &[&str] = &[
    "sky",
    "skies",
    "background",
    "backdrop",
    "scene",
    "setting",
    "light",
    "landscape",
    "time",
];

/// The table's value for the span `text` in `slot`, when that value is in the caller's world: the
/// span must be one table word, give or take function words, style words ("coloured") and, for
/// backgrounds, scene nouns ("starry sky").
pub fn lookup<'a>(slot: Slot, text: &str, world_values: &'a [String]) -> Option<&'a String> {
    let mut content = text.split(' ').filter(|w| {
        let scene = slot == Slot::Background && SCENE_NOUNS.contains(w);
        !(crate::words::is_function(w) || crate::words::is_style(w) || scene)
    });
    let word = content.next()?;
    if content.next().is_some() {
        return None;
    }
    TABLE
        .iter()
        .find(|(s, w, _, _)| *s == slot && *w == word)
        .and_then(|(_, _, v, _)| world_values.iter().find(|x| x.eq_ignore_ascii_case(v)))
}
