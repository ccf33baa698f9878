//! The words of the controlled English, grouped by role, and the "did you mean" search.
//!
//! Role lookups are plain tables so that `docs/compile.md` can be checked against them; the
//! grammar that combines them lives in `parse.rs`.

use crate::colors;
use crate::scene::Kind;

/// A noun and whether it was plural.
pub(crate) fn noun(word: &str) -> Option<(Kind, bool)> {
    let (kind, plural) = match word {
        "circle" | "ball" | "disc" | "disk" | "oval" | "ring" => (Kind::Circle, false),
        "circles" | "balls" | "discs" | "disks" | "ovals" | "rings" => (Kind::Circle, true),
        "dot" | "point" | "spot" | "pixel" => (Kind::Dot, false),
        "dots" | "points" | "spots" | "pixels" => (Kind::Dot, true),
        "square" => (Kind::Square, false),
        "squares" => (Kind::Square, true),
        "rectangle" | "rect" | "box" | "block" | "bar" => (Kind::Rectangle, false),
        "rectangles" | "rects" | "boxes" | "blocks" | "bars" => (Kind::Rectangle, true),
        "triangle" => (Kind::Triangle, false),
        "triangles" => (Kind::Triangle, true),
        "line" | "stripe" | "strip" => (Kind::Line, false),
        "lines" | "stripes" | "strips" => (Kind::Line, true),
        "border" | "frame" => (Kind::Border, false),
        "background" | "backdrop" | "sky" => (Kind::Background, false),
        "text" | "word" | "words" | "title" | "label" | "caption" | "message" | "heading" | "sign" | "letters"
        | "number" | "writing" => (Kind::Text, false),
        "sun" | "sunset" | "sunrise" => (Kind::Sun, false),
        "suns" => (Kind::Sun, true),
        "moon" => (Kind::Moon, false),
        "moons" => (Kind::Moon, true),
        "star" => (Kind::Star, false),
        "stars" => (Kind::Star, true),
        "tree" => (Kind::Tree, false),
        "trees" => (Kind::Tree, true),
        "house" | "home" | "hut" | "cottage" => (Kind::House, false),
        "houses" | "homes" | "huts" | "cottages" => (Kind::House, true),
        "cloud" => (Kind::Cloud, false),
        "clouds" => (Kind::Cloud, true),
        "sea" | "ocean" | "water" | "waves" | "lake" => (Kind::Sea, false),
        "grass" | "lawn" | "ground" | "field" | "meadow" => (Kind::Grass, false),
        "mountain" | "hill" | "peak" => (Kind::Mountain, false),
        "mountains" | "hills" | "peaks" => (Kind::Mountain, true),
        "heart" => (Kind::Heart, false),
        "hearts" => (Kind::Heart, true),
        "smiley" | "face" | "smile" | "emoji" => (Kind::Smiley, false),
        "smileys" | "faces" | "smiles" => (Kind::Smiley, true),
        "flower" | "blossom" | "daisy" | "tulip" => (Kind::Flower, false),
        "flowers" | "blossoms" | "daisies" | "tulips" => (Kind::Flower, true),
        "boat" | "ship" | "sailboat" => (Kind::Boat, false),
        "boats" | "ships" | "sailboats" => (Kind::Boat, true),
        _ => return None,
    };
    Some((kind, plural))
}

/// Counts written as words.
pub(crate) fn number_word(word: &str) -> Option<i64> {
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    if let Some(n) = WORDS.iter().position(|w| *w == word) {
        return Some(n as i64);
    }
    match word {
        "single" | "lone" => Some(1),
        "pair" | "couple" | "both" | "twin" => Some(2),
        "few" | "several" | "some" => Some(3),
        "many" | "lots" | "lot" => Some(5),
        "dozen" => Some(12),
        _ => None,
    }
}

/// Leading verbs and words that carry no drawing meaning.
pub(crate) const FILLERS: &[&str] = &[
    "draw",
    "paint",
    "show",
    "make",
    "put",
    "place",
    "add",
    "create",
    "render",
    "display",
    "give",
    "sketch",
    "generate",
    "produce",
    "want",
    "need",
    "see",
    "have",
    "has",
    "having",
    "get",
    "let",
    "lets",
    "please",
    "also",
    "then",
    "now",
    "just",
    "there",
    "is",
    "are",
    "be",
    "was",
    "i",
    "me",
    "we",
    "us",
    "you",
    "can",
    "could",
    "would",
    "will",
    "should",
    "like",
    "picture",
    "image",
    "drawing",
    "scene",
    "canvas",
    "screen",
    "page",
    "of",
    "nice",
    "pretty",
    "beautiful",
    "cute",
    "simple",
    "lovely",
    "that",
    "which",
    "so",
    "for",
    "my",
    "to",
    "another",
    "more",
    "color",
    "colour",
    "colored",
    "coloured",
    "painted",
    "shade",
    "shaped",
    "shape",
    "shapes",
    "on",
    "in",
    "at",
    "and",
    "with",
    "plus",
    "a",
    "an",
    "the",
    "some",
    "its",
    "their",
    "this",
    "these",
    "those",
    "sitting",
    "standing",
    "floating",
    "shining",
    "flying",
    "growing",
    "placed",
    "positioned",
    "drawn",
    "located",
    "here",
    "fill",
    "filled",
    "solid",
    "opaque",
    "each",
    "all",
    "other",
    "one",
    "it",
    "them",
    "thing",
    "object",
    "okay",
    "ok",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "cool",
    "awesome",
    "night",
    "setting",
    "rising",
    "pointing",
    "everything",
    "whole",
    "scattered",
    "random",
    "randomly",
    "up",
    "down",
    "upwards",
    "downwards",
    "capitals",
    "capital",
    "starry",
    "sunny",
    "cloudy",
    "snowy",
    "glowing",
    "bright",
    "shiny",
    "happy",
    "smiling",
    "round",
    "pointed",
    "sharp",
    "colorful",
    "colourful",
    "tall",
    "wide",
    "long",
    "short",
    "high",
];

/// Size words and the size they mean (tiny 0 .. huge 4).
pub(crate) fn size_word(word: &str) -> Option<u8> {
    match word {
        "tiny" | "teeny" | "mini" | "miniature" | "minuscule" => Some(0),
        "small" | "little" | "smallish" | "smaller" => Some(1),
        "medium" | "normal" | "regular" | "average" | "mid" | "moderate" => Some(2),
        "big" | "large" | "bigger" | "larger" | "largish" => Some(3),
        "huge" | "giant" | "enormous" | "gigantic" | "massive" | "vast" | "immense" => Some(4),
        _ => None,
    }
}

/// Words that make an object an outline rather than filled.
pub(crate) const OUTLINE_WORDS: &[&str] = &["outline", "outlined", "hollow", "empty", "unfilled", "ring", "rings"];

/// Words that make an object half transparent.
pub(crate) const TRANSPARENT_WORDS: &[&str] = &[
    "transparent",
    "translucent",
    "semitransparent",
    "faint",
    "ghostly",
    "seethrough",
    "see",
    "through",
    "semi",
    "half",
];

/// Words that name a part of the canvas.
pub(crate) const POSITION_WORDS: &[&str] = &[
    "top",
    "bottom",
    "upper",
    "lower",
    "left",
    "right",
    "center",
    "centre",
    "middle",
    "central",
    "corner",
    "side",
    "edge",
    "half",
    "hand",
    "lefthand",
    "righthand",
    "topleft",
    "topright",
    "bottomleft",
    "bottomright",
];

/// Words of relations, arrangements and other structure, listed for "did you mean".
pub(crate) const STRUCTURE_WORDS: &[&str] = &[
    "above",
    "over",
    "below",
    "under",
    "beneath",
    "underneath",
    "beside",
    "next",
    "near",
    "by",
    "inside",
    "within",
    "around",
    "row",
    "column",
    "grid",
    "stacked",
    "horizontally",
    "vertically",
    "horizontal",
    "vertical",
    "diagonal",
    "from",
    "covering",
    "filling",
    "across",
    "along",
    "whole",
    "entire",
    "full",
    "write",
    "print",
    "type",
    "say",
    "saying",
    "says",
    "reading",
    "reads",
    "labelled",
    "labeled",
    "called",
    "radius",
    "diameter",
    "size",
    "width",
    "height",
    "thick",
    "thin",
    "very",
    "extra",
    "really",
    "quite",
    "x",
    "y",
    "everywhere",
    "behind",
    "front",
    "each",
    "other",
    "corners",
    "four",
];

/// The known words closest to `word` (at most three, best first), for "did you mean".
pub(crate) fn suggestions(word: &str) -> Vec<String> {
    let limit = match word.chars().count() {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    // Typos rarely change the first letter, so at equal distance those words come first.
    let first = word.chars().next();
    let mut scored: Vec<(usize, bool, &str)> = all_words()
        .filter(|known| known.len() > 1)
        .map(|known| (edit_distance(word, known), known.chars().next() != first, known))
        .filter(|(distance, _, _)| *distance <= limit)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.2 == b.2);
    let scored: Vec<(usize, &str)> = scored.into_iter().map(|(distance, _, known)| (distance, known)).collect();
    let best = scored.first().map_or(0, |(distance, _)| *distance);
    let best_words: Vec<&str> = scored.iter().filter(|(distance, _)| *distance == best).map(|(_, w)| *w).collect();
    // A plural adds nothing when its singular is suggested too.
    best_words
        .iter()
        .filter(|w| !w.strip_suffix('s').is_some_and(|singular| best_words.contains(&singular)))
        .take(3)
        .map(|w| w.to_string())
        .collect()
}

/// Whether `word` is in the vocabulary at all.
pub(crate) fn is_known(word: &str) -> bool {
    noun(word).is_some()
        || number_word(word).is_some()
        || size_word(word).is_some()
        || all_words().any(|known| known == word)
}

fn all_words() -> impl Iterator<Item = &'static str> {
    const NOUNS: &[&str] = &[
        "circle",
        "circles",
        "dot",
        "dots",
        "square",
        "squares",
        "rectangle",
        "rectangles",
        "box",
        "boxes",
        "triangle",
        "triangles",
        "line",
        "lines",
        "border",
        "frame",
        "background",
        "sky",
        "text",
        "word",
        "sun",
        "moon",
        "star",
        "stars",
        "tree",
        "trees",
        "house",
        "houses",
        "cloud",
        "clouds",
        "sea",
        "ocean",
        "water",
        "grass",
        "ground",
        "mountain",
        "mountains",
        "hill",
        "hills",
        "heart",
        "hearts",
        "smiley",
        "face",
        "flower",
        "flowers",
        "boat",
        "boats",
        "ball",
        "ring",
        "point",
        "stripe",
        "title",
        "label",
        "message",
    ];
    const SIZES: &[&str] = &["tiny", "small", "little", "medium", "big", "large", "huge", "giant", "enormous"];
    const NUMBERS: &[&str] = &[
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "pair",
        "couple",
        "few",
        "several",
        "dozen",
    ];
    NOUNS
        .iter()
        .chain(SIZES)
        .chain(NUMBERS)
        .chain(FILLERS)
        .chain(OUTLINE_WORDS)
        .chain(TRANSPARENT_WORDS)
        .chain(POSITION_WORDS)
        .chain(STRUCTURE_WORDS)
        .chain(colors::LIGHTNESS_WORDS)
        .copied()
        .chain(colors::NAMED_COLORS.iter().map(|(name, _)| *name))
}

/// Levenshtein distance over characters (the words are short, so the simple table is enough).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            row[j + 1] = substitution.min(previous[j + 1] + 1).min(row[j] + 1);
        }
        previous = row;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_words() {
        assert_eq!(suggestions("circel"), ["circle"]);
        assert_eq!(suggestions("tringle"), ["triangle"]);
        assert_eq!(suggestions("yelow")[0], "yellow");
        assert!(suggestions("qqqqqqqq").is_empty());
    }
}
