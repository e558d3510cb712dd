//! Prototype phrasings: a few ways of saying each value the generator can draw, and each kind of
//! thing it cannot. The encoder does the generalising; these are deliberately short (the word
//! itself, a plain description, one or two common everyday names), not synonym lists.
//!
//! A value of the caller's [`World`](crate::World) that is not in these tables still gets
//! prototypes built from its own name (see [`for_value`]), so a new colour or shape works, less
//! well, without code changes.

use crate::Slot;

/// Prototype phrasings of `value` in `slot`.
pub fn for_value(slot: Slot, value: &str) -> Vec<String> {
    let known: &[&str] = match (slot, value) {
        (Slot::Colour, "red") => &["red", "red colour", "dark red"],
        (Slot::Colour, "orange") => &["orange", "orange colour", "reddish orange"],
        (Slot::Colour, "yellow") => &["yellow", "yellow colour", "lemon yellow"],
        (Slot::Colour, "green") => &["green", "green colour", "leaf green"],
        (Slot::Colour, "cyan") => &["cyan", "cyan colour", "turquoise"],
        (Slot::Colour, "blue") => &["blue", "blue colour", "navy blue"],
        (Slot::Colour, "purple") => &["purple", "purple colour", "violet"],
        (Slot::Colour, "pink") => &["pink", "pink colour", "rose pink"],
        (Slot::Colour, "white") => &["white", "white colour", "snow white"],
        (Slot::Colour, "gray") => &["gray", "grey colour", "silver grey"],
        (Slot::Shape, "circle") => &["circle", "a round ball", "a sphere", "a disc"],
        (Slot::Shape, "square") => &["square", "a box", "a cube", "a block"],
        (Slot::Shape, "triangle") => &["triangle", "a three-sided shape", "a pyramid"],
        (Slot::Shape, "star") => &["star", "a five-pointed star"],
        (Slot::Shape, "diamond") => &["diamond", "a rhombus", "a gem"],
        (Slot::Motion, "moving left") => &["moving left", "moving to the left", "heading west"],
        (Slot::Motion, "moving right") => &["moving right", "moving to the right", "heading east"],
        (Slot::Motion, "moving up") => &["moving up", "rising upwards", "heading north"],
        (Slot::Motion, "moving down") => &["moving down", "falling downwards", "heading south"],
        (Slot::Motion, "moving up left") => &["moving up left", "moving diagonally up and left"],
        (Slot::Motion, "moving up right") => &["moving up right", "moving diagonally up and right"],
        (Slot::Motion, "moving down left") => {
            &["moving down left", "moving diagonally down and left"]
        }
        (Slot::Motion, "moving down right") => {
            &["moving down right", "moving diagonally down and right"]
        }
        (Slot::Motion, "bouncing") => &["bouncing", "bouncing up and down", "hopping"],
        (Slot::Motion, "growing") => &["growing", "growing larger", "expanding in size"],
        (Slot::Motion, "shrinking") => &["shrinking", "shrinking smaller", "contracting in size"],
        (Slot::Motion, "staying still") => &[
            "staying still",
            "not moving",
            "motionless",
            "sitting still",
            "hovering in place",
        ],
        (Slot::Background, "sky") => &["sky", "in the blue sky", "up among the clouds"],
        (Slot::Background, "sunset") => &["sunset", "at sunset", "in the evening sunset sky"],
        (Slot::Background, "night") => &["night", "at night", "in the dark night sky"],
        (Slot::Background, "grass") => &["grass", "on the grass", "a green grassy field"],
        (Slot::Background, "gray") => &[
            "a gray background",
            "a plain grey backdrop",
            "overcast",
            "a bare grey wall",
            "a wall behind",
            "a plain studio backdrop",
        ],
        (Slot::Background, "sand") => &["sand", "on the sand", "sandy ground"],
        _ => &[],
    };
    if !known.is_empty() {
        return known.iter().map(|s| s.to_string()).collect();
    }
    let generic = match slot {
        Slot::Colour => vec![value.to_string(), format!("the colour {value}")],
        Slot::Shape => vec![value.to_string(), format!("a {value} shape")],
        Slot::Motion => vec![value.to_string()],
        Slot::Background => vec![value.to_string(), format!("a {value} background")],
    };
    generic
}

/// The one undrawable kind that refuses only a prompt with nothing drawable in it: "a photo of
/// a red circle" is a red circle (the generator has its own style), "a photo of the Eiffel
/// Tower" is refused for the tower, "a selfie" for itself. Image words ("a pixel") come close to
/// it, so it must not refuse drawable prompts.
pub const PHOTOGRAPH: &str = "a photograph";

/// Kinds of things the generator cannot draw: (name used in refusals, prototypes).
pub const UNDRAWABLE: &[(&str, &[&str])] = &[
    (
        "a person",
        &[
            "a person", "a man", "a woman", "a child", "a girl", "a boy", "people", "a crowd",
        ],
    ),
    ("a face", &["a human face", "a smiling face", "a portrait"]),
    (
        "a shape it cannot draw",
        &[
            "a heart shape",
            "a hexagon",
            "an octagon",
            "a crescent shape",
            "an arrow",
            "a spiral",
        ],
    ),
    (
        "an animal",
        &[
            "an animal",
            "a dog",
            "a cat",
            "a bird",
            "a horse",
            "a cow",
            "a fish",
            "a wild animal",
            "a creature",
        ],
    ),
    (
        "a vehicle",
        &[
            "a vehicle",
            "a car",
            "a truck",
            "a bus",
            "a taxi",
            "an airplane",
            "a boat",
            "a train",
        ],
    ),
    (
        "text",
        &[
            "written text",
            "the word hello",
            "letters and words",
            "a company logo",
        ],
    ),
    (
        "a building or a real place",
        &[
            "a building",
            "a house",
            "a famous landmark",
            "a church",
            "a city skyline",
            "a castle",
        ],
    ),
    (
        "food",
        &[
            "food",
            "a meal",
            "a dish of food",
            "fruit",
            "a dessert",
            "a snack",
            "vegetables",
        ],
    ),
    (
        "a plant",
        &[
            "a plant",
            "a tree",
            "a flower",
            "a cactus",
            "a bush",
            "a potted plant",
        ],
    ),
    (PHOTOGRAPH, &["a photograph", "a realistic photo"]),
];
