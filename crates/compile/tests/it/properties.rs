//! Properties: nothing panics for any input; whatever compiles assembles, halts and stays on the
//! canvas; the same description always gives the same program.

use gvpie_compile::{Options, compile, compile_partial};
use gvpie_pxl::{Config, Status};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "a",
    "the",
    "red",
    "blue",
    "light",
    "dark",
    "#f80",
    "circle",
    "circles",
    "square",
    "dot",
    "star",
    "tree",
    "house",
    "sun",
    "moon",
    "cloud",
    "sea",
    "grass",
    "heart",
    "smiley",
    "face",
    "flower",
    "boat",
    "mountain",
    "line",
    "border",
    "background",
    "text",
    "write",
    "HELLO",
    "\"Hi\"",
    "above",
    "below",
    "left",
    "right",
    "of",
    "next",
    "to",
    "inside",
    "around",
    "on",
    "top",
    "in",
    "at",
    "corner",
    "center",
    "bottom",
    "half",
    "covering",
    "row",
    "column",
    "grid",
    "by",
    "three",
    "twenty",
    "0",
    "5",
    "-3",
    "400",
    "99999",
    "px",
    "radius",
    "tiny",
    "huge",
    "outline",
    "transparent",
    "and",
    ",",
    ".",
    "with",
    "it",
    "one",
    "from",
    "horizontal",
    "each",
    "side",
    "x",
    "10x5",
    "draw",
    "qwerty",
    "é",
    "\n",
];

fn run_checked(description: &str, width: u32, height: u32) {
    let options = Options { width, height };
    let (partial, _) = compile_partial(description, &options);
    let Ok(compiled) = compile(description, &options) else { return };
    assert!(partial.is_some());
    let again = compile(description, &options).expect("compiles twice");
    assert_eq!(compiled.source, again.source, "deterministic");
    for item in &compiled.layout.items {
        for rect in &item.boxes {
            assert!(
                rect.x >= 0 && rect.y >= 0 && rect.x + rect.w <= width as i32 && rect.y + rect.h <= height as i32,
                "{rect:?} off a {width}x{height} canvas for {description:?}"
            );
        }
    }
    let texture = gvpie_pxl::compile(&compiled.source)
        .unwrap_or_else(|d| panic!("{description:?}: {}\n{}", gvpie_pxl::render_all(&d), compiled.source));
    let result = gvpie_pxl::run(&texture, &Config { width, height, budget: 100_000, max_frames: 0 })
        .expect("canvas size is valid");
    assert_eq!(result.status, Status::Halted, "{description:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(description in any::<String>()) {
        run_checked(&description, 128, 64);
    }

    #[test]
    fn word_salad_never_panics(words in prop::collection::vec(prop::sample::select(WORDS), 0..24), width in 1u32..300, height in 1u32..200) {
        run_checked(&words.join(" "), width, height);
    }
}

#[test]
fn tiny_and_huge_canvases_work() {
    for (width, height) in [(1, 1), (2, 3), (7, 5), (4096, 8)] {
        run_checked("a house with a tree next to it, a sun, grass and write HELLO with a border", width, height);
        run_checked("a grid of 20 by 20 dots", width, height);
    }
}
