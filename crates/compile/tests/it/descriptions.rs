//! A broad set of descriptions, written the way a new user types them, each compiled, run in the
//! CPU VM and checked by its pixels: where the colour lies, how many blobs, what is above what,
//! which text is written, the border, objects not touching.

use crate::support::Check::*;
use crate::support::Third::*;
use crate::support::*;

const BURLYWOOD: gvpie_raster::Rgba = rgb(222, 184, 135);
const FIREBRICK: gvpie_raster::Rgba = rgb(178, 34, 34);
const SADDLEBROWN: gvpie_raster::Rgba = rgb(139, 69, 19);
const LEMON: gvpie_raster::Rgba = rgb(255, 250, 205);
const SIENNA: gvpie_raster::Rgba = rgb(160, 82, 45);
const NAVY: gvpie_raster::Rgba = rgb(0, 0, 128);

/// (description, canvas width, canvas height, checks)
type Case = (&'static str, u32, u32, &'static [Check]);

const CASES: &[Case] = &[
    // Single shapes and their default place: the centre.
    ("a red circle", 128, 64, &[Blobs(RED, 1), In(RED, Middle, Middle), Clear(RED)]),
    ("Draw a blue square in the center", 128, 64, &[Blobs(BLUE, 1), In(BLUE, Middle, Middle)]),
    ("a green triangle", 128, 64, &[Blobs(GREEN, 1), In(GREEN, Middle, Middle)]),
    ("a circle", 128, 64, &[Blobs(WHITE, 1), In(WHITE, Middle, Middle)]),
    ("Red circle", 128, 64, &[Blobs(RED, 1)]),
    ("paint a purple rectangle", 128, 64, &[Blobs(PURPLE, 1), In(PURPLE, Middle, Middle)]),
    ("show me an orange box", 128, 64, &[Blobs(ORANGE, 1)]),
    ("make a pink ball", 128, 64, &[Blobs(PINK, 1)]),
    ("a red dot", 128, 64, &[Blobs(RED, 1), CoversAtMost(RED, 1)]),
    ("a circle in the middle of the canvas", 128, 64, &[In(WHITE, Middle, Middle)]),
    // Relations.
    (
        "draw a red circle above a blue square",
        128,
        64,
        &[Above(RED, BLUE), Apart(RED, BLUE), Blobs(RED, 1), Blobs(BLUE, 1)],
    ),
    ("a red circle below a blue square", 128, 64, &[Above(BLUE, RED), Apart(RED, BLUE)]),
    ("a yellow circle to the left of a purple square", 128, 64, &[LeftOf(YELLOW, PURPLE), Apart(YELLOW, PURPLE)]),
    ("a yellow circle to the right of a purple square", 128, 64, &[LeftOf(PURPLE, YELLOW), Apart(YELLOW, PURPLE)]),
    (
        "a red square next to a blue circle",
        128,
        64,
        &[Blobs(RED, 1), Blobs(BLUE, 1), Apart(RED, BLUE), Row(RED, Middle)],
    ),
    ("a green circle beside a yellow triangle", 128, 64, &[Apart(GREEN, YELLOW), Blobs(GREEN, 1), Blobs(YELLOW, 1)]),
    ("a yellow dot inside a blue circle", 128, 64, &[Within(YELLOW, BLUE), Blobs(YELLOW, 1), Blobs(BLUE, 1)]),
    ("a blue circle on top of a red square", 128, 64, &[Above(BLUE, RED), Apart(BLUE, RED)]),
    ("a red square under a yellow sun", 128, 64, &[Above(YELLOW, RED)]),
    ("a cyan square below a magenta circle", 128, 64, &[Above(MAGENTA, CYAN)]),
    (
        "a purple triangle above a yellow square above a red circle",
        128,
        64,
        &[Above(PURPLE, YELLOW), Above(YELLOW, RED), Apart(PURPLE, YELLOW), Apart(YELLOW, RED)],
    ),
    ("a red circle left of a green circle", 128, 64, &[LeftOf(RED, GREEN)]),
    ("a red circle with a blue square above", 128, 64, &[Above(BLUE, RED)]),
    ("a big green circle with a small yellow star inside", 128, 64, &[Within(YELLOW, GREEN)]),
    ("a red ring around a yellow dot", 128, 64, &[Within(YELLOW, RED), Blobs(YELLOW, 1)]),
    (
        "a small white circle inside a big black square on a red background",
        128,
        64,
        &[Within(WHITE, BLACK), Covers(RED, 40)],
    ),
    ("Draw a red circle. Put a blue square below it.", 128, 64, &[Above(RED, BLUE), Apart(RED, BLUE)]),
    ("A green square. A yellow circle to the right of it.", 128, 64, &[LeftOf(GREEN, YELLOW)]),
    // Several objects.
    (
        "a red square, a green circle and a blue triangle",
        128,
        64,
        &[
            LeftOf(RED, GREEN),
            LeftOf(GREEN, BLUE),
            Blobs(RED, 1),
            Blobs(GREEN, 1),
            Blobs(BLUE, 1),
            Apart(RED, GREEN),
            Apart(GREEN, BLUE),
        ],
    ),
    ("A red square. A green circle. A blue triangle.", 128, 64, &[LeftOf(RED, GREEN), LeftOf(GREEN, BLUE)]),
    ("a red circle and a blue one", 128, 64, &[Blobs(RED, 1), Blobs(BLUE, 1), LeftOf(RED, BLUE)]),
    ("paint three red circles and two blue squares", 128, 64, &[Blobs(RED, 3), Blobs(BLUE, 2), Apart(RED, BLUE)]),
    ("a red dot and a blue dot", 128, 64, &[Apart(RED, BLUE), Blobs(RED, 1), Blobs(BLUE, 1)]),
    ("RED CIRCLE, BLUE SQUARE", 128, 64, &[Blobs(RED, 1), Blobs(BLUE, 1), LeftOf(RED, BLUE)]),
    ("a big yellow circle and a small yellow circle", 128, 64, &[Blobs(YELLOW, 2)]),
    ("a red circle with a green square", 128, 64, &[Blobs(RED, 1), Blobs(GREEN, 1), Apart(RED, GREEN)]),
    ("a blue circle plus a red triangle", 128, 64, &[Blobs(BLUE, 1), Blobs(RED, 1)]),
    // Places on the canvas.
    ("a small red square in the top left corner", 128, 64, &[In(RED, Start, Start)]),
    ("a blue circle in the top right corner", 128, 64, &[In(BLUE, End, Start)]),
    ("a green square in the bottom left corner", 128, 64, &[In(GREEN, Start, End)]),
    ("an orange circle in the bottom right corner", 128, 64, &[In(ORANGE, End, End)]),
    ("a red circle at the top", 128, 64, &[In(RED, Middle, Start)]),
    ("a blue square at the bottom", 128, 64, &[In(BLUE, Middle, End)]),
    ("a green circle on the left", 128, 64, &[In(GREEN, Start, Middle)]),
    ("a purple circle on the right side", 128, 64, &[In(PURPLE, End, Middle)]),
    ("please draw a small blue triangle at the bottom right", 128, 64, &[In(BLUE, End, End)]),
    (
        "a blue circle in the top left and a red circle in the bottom right",
        128,
        64,
        &[In(BLUE, Start, Start), In(RED, End, End)],
    ),
    ("a big circle in the top half", 128, 64, &[TopHalf(WHITE)]),
    ("a square in the bottom half", 128, 64, &[BottomHalf(WHITE)]),
    ("a red circle at 20 20", 128, 64, &[At(RED, 20, 20), Blobs(RED, 1)]),
    ("a blue dot at 100, 50", 128, 64, &[At(BLUE, 100, 50)]),
    ("a yellow star in each corner", 128, 64, &[Blobs(YELLOW, 4)]),
    ("a small red circle in all four corners", 128, 64, &[Blobs(RED, 4)]),
    ("a huge red heart in the middle", 128, 64, &[In(RED, Middle, Middle)]),
    // Counts and arrangements.
    ("three yellow stars in a row", 128, 64, &[Blobs(YELLOW, 3), Even(YELLOW), Row(YELLOW, Middle)]),
    ("a row of 5 red dots", 128, 64, &[Blobs(RED, 5), Even(RED)]),
    ("a column of 3 green squares", 128, 64, &[Blobs(GREEN, 3)]),
    ("a grid of 4 by 3 blue dots", 128, 64, &[Blobs(BLUE, 12), Even(BLUE)]),
    ("a 3 by 2 grid of white squares", 128, 64, &[Blobs(WHITE, 6)]),
    ("two red hearts side by side", 128, 64, &[Blobs(RED, 2), Even(RED)]),
    ("five circles", 128, 64, &[Blobs(WHITE, 5), Even(WHITE)]),
    ("twenty tiny dots", 128, 64, &[Blobs(WHITE, 20)]),
    ("twelve small stars in a grid", 128, 64, &[Blobs(YELLOW, 12)]),
    ("ten red dots in a row", 128, 64, &[Blobs(RED, 10), Even(RED)]),
    ("4 blue circles in a column", 128, 64, &[Blobs(BLUE, 4)]),
    ("make a grid of 3 by 3 purple squares", 128, 64, &[Blobs(PURPLE, 9)]),
    ("six orange dots in a column", 128, 64, &[Blobs(ORANGE, 6)]),
    ("a row of seven hearts", 128, 64, &[Blobs(RED, 7)]),
    ("eight stars", 128, 64, &[Blobs(YELLOW, 8)]),
    ("three squares stacked", 128, 64, &[Blobs(WHITE, 3)]),
    ("a pair of green circles", 128, 64, &[Blobs(GREEN, 2)]),
    ("a dozen tiny red dots", 128, 64, &[Blobs(RED, 12)]),
    ("draw 2 triangles", 128, 64, &[Blobs(WHITE, 2)]),
    ("nine dots in a grid", 128, 64, &[Blobs(WHITE, 9)]),
    // Text.
    ("write HELLO", 128, 64, &[Text("HELLO", Some(WHITE)), In(WHITE, Middle, Middle)]),
    ("write HELLO in yellow", 128, 64, &[Text("HELLO", Some(YELLOW))]),
    ("the text \"Hello, World!\" in red", 128, 64, &[Text("Hello, World!", Some(RED))]),
    ("write GAME OVER in red at the top", 128, 64, &[Text("GAME OVER", Some(RED)), Row(RED, Start)]),
    ("write hi at the bottom", 128, 64, &[Text("hi", Some(WHITE)), Row(WHITE, End)]),
    ("print SCORE in green in the top left corner", 128, 64, &[Text("SCORE", Some(GREEN)), In(GREEN, Start, Start)]),
    ("the word PIXEL in orange", 128, 64, &[Text("PIXEL", Some(ORANGE))]),
    ("text \"42\" in the bottom right corner", 128, 64, &[Text("42", Some(WHITE)), In(WHITE, End, End)]),
    ("a red box that says SALE", 128, 64, &[Text("SALE", None), Present(RED)]),
    ("a blue rectangle labelled OK", 128, 64, &[Text("OK", None), Present(BLUE)]),
    ("write HELLO above a red line", 128, 64, &[Text("HELLO", Some(WHITE)), Above(WHITE, RED)]),
    ("write 'Welcome home' in light green", 128, 64, &[Text("Welcome home", Some(rgb(144, 238, 144)))]),
    ("write hello world", 128, 64, &[Text("hello world", Some(WHITE))]),
    // Background, border and regions.
    ("a blue background", 128, 64, &[Covers(BLUE, 100)]),
    ("a black background with a white border", 128, 64, &[Border(WHITE)]),
    ("a red border", 128, 64, &[Border(RED)]),
    ("a white border around a blue background", 128, 64, &[Border(WHITE), Covers(BLUE, 90)]),
    ("a thick red border", 128, 64, &[Border(RED)]),
    ("a yellow circle with a green border", 128, 64, &[Border(GREEN), Blobs(YELLOW, 1), Apart(YELLOW, GREEN)]),
    (
        "a green rectangle covering the bottom half",
        128,
        64,
        &[Covers(GREEN, 50), BottomHalf(GREEN), At(GREEN, 0, 63), At(GREEN, 127, 32)],
    ),
    (
        "the top half is blue and the bottom half is green",
        128,
        64,
        &[TopHalf(BLUE), BottomHalf(GREEN), Covers(BLUE, 50), Covers(GREEN, 50)],
    ),
    ("a green rectangle filling the whole canvas", 128, 64, &[Covers(GREEN, 100)]),
    ("a blue square covering the left half", 128, 64, &[Covers(BLUE, 50), Column(BLUE, Start)]),
    ("the sky is blue", 128, 64, &[Covers(BLUE, 100)]),
    // Lines.
    ("a line from the top left to the bottom right", 128, 64, &[At(WHITE, 0, 0), At(WHITE, 127, 63), Blobs(WHITE, 1)]),
    ("a red line from the bottom left to the top right", 128, 64, &[At(RED, 0, 63), At(RED, 127, 0)]),
    ("a horizontal yellow line", 128, 64, &[Wide(YELLOW, 70), Blobs(YELLOW, 1)]),
    ("a vertical green line", 128, 64, &[Blobs(GREEN, 1), Column(GREEN, Middle)]),
    ("a diagonal line", 128, 64, &[Blobs(WHITE, 1)]),
    ("a line from 0 0 to 127 63", 128, 64, &[At(WHITE, 0, 0), At(WHITE, 127, 63)]),
    ("a thick blue line across the middle", 128, 64, &[Blobs(BLUE, 1), Wide(BLUE, 70)]),
    ("three horizontal red lines", 128, 64, &[Blobs(RED, 3)]),
    // Colours.
    ("a circle in #ff8800", 128, 64, &[Blobs(rgb(255, 136, 0), 1)]),
    ("a #0f0 square", 128, 64, &[Blobs(rgb(0, 255, 0), 1)]),
    ("a grey circle and a gray square", 128, 64, &[Blobs(GREY, 2)]),
    ("a light blue circle", 128, 64, &[Blobs(rgb(173, 216, 230), 1)]),
    ("a dark green square", 128, 64, &[Blobs(rgb(0, 100, 0), 1)]),
    ("a light red circle", 128, 64, &[Blobs(rgb(255, 127, 127), 1)]),
    ("a dark orange square", 128, 64, &[Blobs(rgb(255, 140, 0), 1)]),
    ("a navy blue circle", 128, 64, &[Blobs(NAVY, 1)]),
    ("a sky blue square", 128, 64, &[Blobs(SKYBLUE, 1)]),
    ("a hot pink heart", 128, 64, &[Blobs(HOTPINK, 1)]),
    ("a square colored teal", 128, 64, &[Blobs(rgb(0, 128, 128), 1)]),
    ("a triangle in light grey", 128, 64, &[Blobs(rgb(211, 211, 211), 1)]),
    ("a transparent red circle on a blue background", 128, 64, &[Present(rgb(128, 0, 127)), Absent(RED)]),
    ("a semi-transparent white square", 128, 64, &[Blobs(rgb(128, 128, 128), 1), Absent(WHITE)]),
    ("draw a gold star on a navy background", 128, 64, &[Blobs(GOLD, 1), Covers(NAVY, 50)]),
    // Outline and fill.
    ("an empty square", 128, 64, &[Blobs(WHITE, 1), At(BLACK, 63, 31)]),
    ("a red ring", 128, 64, &[Blobs(RED, 1), At(BLACK, 63, 31)]),
    ("a hollow blue circle", 128, 64, &[Blobs(BLUE, 1), At(BLACK, 63, 31)]),
    ("an outlined green triangle", 128, 64, &[Present(GREEN), At(BLACK, 63, 38)]),
    ("a filled yellow circle", 128, 64, &[At(YELLOW, 63, 31)]),
    // Sizes.
    ("a tiny red dot", 128, 64, &[Blobs(RED, 1), CoversAtMost(RED, 1)]),
    ("a huge blue circle", 128, 64, &[Covers(BLUE, 20)]),
    ("a small green square", 128, 64, &[CoversAtMost(GREEN, 5), Blobs(GREEN, 1)]),
    ("a circle of radius 5", 128, 64, &[Blobs(WHITE, 1), CoversAtMost(WHITE, 2)]),
    ("a 40 by 20 red rectangle", 128, 64, &[Covers(RED, 9), CoversAtMost(RED, 10)]),
    ("a 20px blue square", 128, 64, &[Covers(BLUE, 4), CoversAtMost(BLUE, 5)]),
    ("a very big circle", 128, 64, &[Covers(WHITE, 20)]),
    // Scene objects.
    ("a sun", 128, 64, &[Blobs(GOLD, 1)]),
    ("a sun in the top right corner", 128, 64, &[In(GOLD, End, Start)]),
    ("a yellow sun above a house", 128, 64, &[Above(YELLOW, BURLYWOOD), Present(FIREBRICK)]),
    ("a moon and three stars", 128, 64, &[Present(LEMON), Blobs(YELLOW, 3)]),
    ("a white moon in the top left corner", 128, 64, &[In(WHITE, Start, Start)]),
    ("a star", 128, 64, &[Blobs(YELLOW, 1)]),
    ("a tree", 128, 64, &[Present(FOREST), Present(SADDLEBROWN)]),
    ("three trees", 128, 64, &[Blobs(FOREST, 3)]),
    ("a house", 128, 64, &[Present(BURLYWOOD), Present(FIREBRICK)]),
    ("a red house", 128, 64, &[Present(RED)]),
    ("a cloud", 128, 64, &[Blobs(WHITE, 1)]),
    ("two clouds in a blue sky", 128, 64, &[Blobs(WHITE, 2), Covers(BLUE, 50)]),
    ("the sea", 128, 64, &[BottomHalf(SEA), Wide(SEA, 95)]),
    ("grass", 128, 64, &[BottomHalf(FOREST), Wide(FOREST, 95)]),
    ("a mountain", 128, 64, &[Present(GREY)]),
    ("a heart", 128, 64, &[Blobs(RED, 1)]),
    ("three pink hearts", 128, 64, &[Blobs(PINK, 3)]),
    ("a smiley face", 128, 64, &[Blobs(GOLD, 1), Present(BLACK)]),
    ("a flower", 128, 64, &[Present(HOTPINK), Present(FOREST)]),
    ("a red flower", 128, 64, &[Present(RED)]),
    ("a boat on the sea", 128, 64, &[Above(SIENNA, SEA)]),
    ("draw two suns", 128, 64, &[Blobs(GOLD, 2)]),
    ("a house with a tree next to it and a sun", 128, 64, &[LeftOf(BURLYWOOD, FOREST), In(GOLD, End, Start)]),
    (
        "two trees and a house on the grass under a blue sky",
        128,
        64,
        &[Present(BURLYWOOD), BottomHalf(FOREST), Covers(BLUE, 20)],
    ),
    ("a mountain and a sun", 128, 64, &[Present(GREY), Present(GOLD)]),
    // More phrasings a new user types.
    ("two blue squares next to each other", 128, 64, &[Blobs(BLUE, 2)]),
    (
        "red, green and blue circles",
        128,
        64,
        &[Blobs(RED, 1), Blobs(GREEN, 1), Blobs(BLUE, 1), LeftOf(RED, GREEN), LeftOf(GREEN, BLUE)],
    ),
    ("draw five stars in the night sky", 128, 64, &[Blobs(YELLOW, 5), Covers(rgb(25, 25, 112), 50)]),
    ("the word HELLO in big letters", 128, 64, &[Text("HELLO", Some(WHITE))]),
    (
        "a heart in the center with a pink background",
        128,
        64,
        &[Blobs(RED, 1), In(RED, Middle, Middle), Covers(PINK, 50)],
    ),
    ("a box with a red circle inside", 128, 64, &[Within(RED, WHITE), Blobs(RED, 1)]),
    ("a reddish circle", 128, 64, &[Blobs(RED, 1)]),
    ("a square of side 12", 128, 64, &[Blobs(WHITE, 1), CoversAtMost(WHITE, 2)]),
    ("the number 42 in red", 128, 64, &[Text("42", Some(RED))]),
    ("a red border around the canvas", 128, 64, &[Border(RED)]),
    ("a mountain with a sun behind it", 128, 64, &[Above(GOLD, GREY)]),
    ("an orange sun above the sea", 128, 64, &[Above(ORANGE, SEA)]),
    ("a sky", 128, 64, &[Covers(SKYBLUE, 100)]),
    ("three squares on top of each other", 128, 64, &[Blobs(WHITE, 3)]),
    ("an orange triangle pointing up", 128, 64, &[Blobs(ORANGE, 1)]),
    ("a yellow dot in a blue circle", 128, 64, &[Within(YELLOW, BLUE)]),
    ("3 red circles in a vertical line", 128, 64, &[Blobs(RED, 3), Column(RED, Middle)]),
    ("four green squares in a horizontal row", 128, 64, &[Blobs(GREEN, 4), Even(GREEN)]),
    ("ten circles in two rows", 128, 64, &[Blobs(WHITE, 10)]),
    ("six dots in 2 rows of 3", 128, 64, &[Blobs(WHITE, 6)]),
    ("a 50% transparent green circle", 128, 64, &[Blobs(rgb(0, 64, 0), 1), Absent(GREEN)]),
    ("five purple stars scattered", 128, 64, &[Blobs(PURPLE, 5)]),
    ("a green strip along the bottom", 128, 64, &[Blobs(GREEN, 1), Row(GREEN, End), Wide(GREEN, 70)]),
    (
        "a big red circle on the left and a small blue square on the right",
        128,
        64,
        &[In(RED, Start, Middle), In(BLUE, End, Middle), Apart(RED, BLUE)],
    ),
    ("a circle in each corner and a square in the middle", 128, 64, &[Blobs(WHITE, 5)]),
    ("a blue frame around a yellow circle", 128, 64, &[Border(BLUE), Blobs(YELLOW, 1), Apart(YELLOW, BLUE)]),
    ("a house with a red roof", 128, 64, &[Blobs(RED, 1), Above(RED, BURLYWOOD)]),
    ("a yellow house with a blue door", 128, 64, &[Blobs(YELLOW, 1), Blobs(BLUE, 1), Within(BLUE, YELLOW)]),
    ("a boat with a red sail on the sea", 128, 64, &[Blobs(RED, 1), Above(RED, SEA)]),
    ("fifteen stars", 128, 64, &[Blobs(YELLOW, 15)]),
    ("paint the canvas white", 128, 64, &[Covers(WHITE, 100)]),
    ("a white canvas with a black circle", 128, 64, &[Blobs(BLACK, 1), In(BLACK, Middle, Middle), Covers(WHITE, 80)]),
    ("a circle at (30, 40)", 128, 64, &[At(WHITE, 30, 40), Blobs(WHITE, 1)]),
    ("a red square 20 pixels wide", 128, 64, &[Covers(RED, 4), CoversAtMost(RED, 5)]),
    ("a blue square bottom-right corner", 128, 64, &[In(BLUE, End, End)]),
    // Other canvas sizes.
    ("a red circle", 64, 64, &[In(RED, Middle, Middle), Clear(RED)]),
    ("three stars in a row", 256, 64, &[Blobs(YELLOW, 3), Even(YELLOW)]),
    ("write HELLO WORLD", 32, 32, &[Text("HELLO", Some(WHITE)), Text("WORLD", Some(WHITE))]),
    ("a border", 16, 16, &[Border(WHITE)]),
    ("a grid of 5 by 5 dots", 64, 64, &[Blobs(WHITE, 25)]),
    ("a red circle above a blue square", 64, 128, &[Above(RED, BLUE), Apart(RED, BLUE)]),
    ("a house with a tree next to it", 320, 200, &[LeftOf(BURLYWOOD, FOREST)]),
    ("a blue circle in the bottom right corner", 400, 300, &[In(BLUE, End, End)]),
];

#[test]
fn every_description_draws_what_it_says() {
    let mut failures = Vec::new();
    for (description, width, height, checks) in CASES {
        let picture = match draw_sized(description, *width, *height) {
            Ok(picture) => picture,
            Err(message) => {
                failures.push(message);
                continue;
            }
        };
        let problems: Vec<String> = checks.iter().filter_map(|check| picture.check(*check).err()).collect();
        if !problems.is_empty() {
            failures.push(format!(
                "{description:?} ({width}x{height}):\n  {}\n{}\n{}",
                problems.join("\n  "),
                picture.compiled.source,
                if *width <= 128 { picture.ascii() } else { String::new() }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} descriptions failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn there_are_at_least_a_hundred_descriptions() {
    assert!(CASES.len() >= 100, "{}", CASES.len());
}
