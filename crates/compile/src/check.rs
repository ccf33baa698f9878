//! Pixel checks: where a colour lies on a canvas, how many separate blobs it forms, whether a
//! text is written, and the [`Expectation`]s a description implies.
//!
//! The tests use these to check compiled pictures by their pixels, and the LLM fallback uses
//! [`expectations`] and [`verify`] to accept or refuse a model's program. Nothing here draws.

use gvpie_raster::{Canvas, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, Rgba, glyph};

use crate::colors;
use crate::layout::Layout;
use crate::scene::{Align, Kind, Placement, Relation, Scene};

/// Whether `pixel` is within `tolerance` of `color` on every channel.
pub fn matches(pixel: Rgba, color: Rgba, tolerance: u8) -> bool {
    pixel.r.abs_diff(color.r) <= tolerance
        && pixel.g.abs_diff(color.g) <= tolerance
        && pixel.b.abs_diff(color.b) <= tolerance
}

/// A set of pixels: its size, centre of mass and bounding box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    /// How many pixels.
    pub pixels: usize,
    /// Centre of mass (x, y).
    pub centroid: (f64, f64),
    /// Leftmost column.
    pub min_x: i32,
    /// Topmost row.
    pub min_y: i32,
    /// Rightmost column.
    pub max_x: i32,
    /// Bottom row.
    pub max_y: i32,
}

struct Accumulator {
    pixels: usize,
    sum: (i64, i64),
    min: (i32, i32),
    max: (i32, i32),
}

impl Accumulator {
    fn new() -> Accumulator {
        Accumulator { pixels: 0, sum: (0, 0), min: (i32::MAX, i32::MAX), max: (i32::MIN, i32::MIN) }
    }
    fn add(&mut self, x: i32, y: i32) {
        self.pixels += 1;
        self.sum.0 += i64::from(x);
        self.sum.1 += i64::from(y);
        self.min = (self.min.0.min(x), self.min.1.min(y));
        self.max = (self.max.0.max(x), self.max.1.max(y));
    }
    fn blob(&self) -> Option<Blob> {
        (self.pixels > 0).then(|| Blob {
            pixels: self.pixels,
            centroid: (self.sum.0 as f64 / self.pixels as f64, self.sum.1 as f64 / self.pixels as f64),
            min_x: self.min.0,
            min_y: self.min.1,
            max_x: self.max.0,
            max_y: self.max.1,
        })
    }
}

fn pixel(canvas: &Canvas, x: i32, y: i32) -> Rgba {
    canvas.get(x, y).unwrap_or(Rgba::BLACK)
}

/// All pixels of `color` (within `tolerance`) as one blob: where the colour's mass lies.
pub fn mass(canvas: &Canvas, color: Rgba, tolerance: u8) -> Option<Blob> {
    let mut acc = Accumulator::new();
    for y in 0..canvas.height() as i32 {
        for x in 0..canvas.width() as i32 {
            if matches(pixel(canvas, x, y), color, tolerance) {
                acc.add(x, y);
            }
        }
    }
    acc.blob()
}

/// The separate (8-connected) blobs of `color`, largest first.
pub fn blobs(canvas: &Canvas, color: Rgba, tolerance: u8) -> Vec<Blob> {
    let (w, h) = (canvas.width() as usize, canvas.height() as usize);
    let mut seen = vec![false; w * h];
    let mut found = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || !matches(Rgba::from_u32(canvas.pixels()[start]), color, tolerance) {
            continue;
        }
        let mut acc = Accumulator::new();
        seen[start] = true;
        stack.push(start);
        while let Some(at) = stack.pop() {
            let (x, y) = ((at % w) as i32, (at / w) as i32);
            acc.add(x, y);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                        continue;
                    }
                    let next = ny as usize * w + nx as usize;
                    if !seen[next] && matches(Rgba::from_u32(canvas.pixels()[next]), color, tolerance) {
                        seen[next] = true;
                        stack.push(next);
                    }
                }
            }
        }
        found.extend(acc.blob());
    }
    found.sort_by(|a, b| b.pixels.cmp(&a.pixels).then(a.min_y.cmp(&b.min_y)).then(a.min_x.cmp(&b.min_x)));
    found
}

/// The top-left corner of the first place where `text` is written in the 5x7 font, with every
/// glyph pixel in `color` (or, when `None`, all in one colour that differs from the cell's
/// other pixels). Spaces match anything.
pub fn find_text(canvas: &Canvas, text: &str, color: Option<Rgba>) -> Option<(i32, i32)> {
    let bytes = text.as_bytes();
    let width = (bytes.len() as i32 * GLYPH_ADVANCE - 1).max(1);
    let (cw, ch) = (canvas.width() as i32, canvas.height() as i32);
    for y in 0..=(ch - GLYPH_HEIGHT) {
        for x in 0..=(cw - width) {
            if text_matches(canvas, bytes, x, y, color) {
                return Some((x, y));
            }
        }
    }
    None
}

fn text_matches(canvas: &Canvas, bytes: &[u8], x: i32, y: i32, color: Option<Rgba>) -> bool {
    let mut ink = color;
    let mut any = false;
    for (n, &byte) in bytes.iter().enumerate() {
        let Some(rows) = glyph(byte) else { continue };
        let cell_x = x + n as i32 * GLYPH_ADVANCE;
        for (row, bits) in rows.iter().enumerate() {
            for column in 0..GLYPH_WIDTH {
                let set = (bits >> (GLYPH_WIDTH - 1 - column)) & 1 == 1;
                let here = pixel(canvas, cell_x + column, y + row as i32);
                if set {
                    match ink {
                        Some(ink) if here != Rgba { a: 255, ..ink } => return false,
                        Some(_) => {}
                        None => ink = Some(here),
                    }
                    any = true;
                } else if ink.is_some_and(|ink| here == Rgba { a: 255, ..ink }) && color.is_none() {
                    // Without a stated colour, the glyph must stand out from its cell.
                    return false;
                }
            }
        }
    }
    any
}

/// A fact a description states that a picture can be checked for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expectation {
    /// Some pixels of this colour.
    Color {
        /// The colour.
        color: Rgba,
        /// What was described (for messages).
        what: String,
    },
    /// Exactly this many separate blobs of this colour.
    Count {
        /// The colour.
        color: Rgba,
        /// How many.
        count: usize,
        /// What was described.
        what: String,
    },
    /// The text written somewhere.
    Text {
        /// The text.
        text: String,
        /// Its colour, when stated.
        color: Option<Rgba>,
    },
    /// The first colour's mass lies above, below, left or right of the second's.
    Relative {
        /// The colour that should be placed relative to the other.
        first: Rgba,
        /// Which way.
        relation: Relation,
        /// The other colour.
        second: Rgba,
        /// What was described.
        what: String,
    },
    /// The colour's mass lies in this part of the canvas (thirds).
    Region {
        /// The colour.
        color: Rgba,
        /// Horizontal third.
        horizontal: Align,
        /// Vertical third.
        vertical: Align,
        /// What was described.
        what: String,
    },
}

/// Colours may differ this much per channel in a model's picture and still count.
pub const TOLERANCE: u8 = 48;

impl Expectation {
    /// Checks `canvas`; the error says what is missing.
    pub fn check(&self, canvas: &Canvas) -> Result<(), String> {
        match self {
            Expectation::Color { color, what } => match mass(canvas, *color, TOLERANCE) {
                Some(_) => Ok(()),
                None => Err(format!("no {} pixels for {what}", colors::describe(*color))),
            },
            Expectation::Count { color, count, what } => {
                let found = blobs(canvas, *color, TOLERANCE).len();
                if found == *count {
                    Ok(())
                } else {
                    Err(format!("{what}: expected {count} separate {} shapes, found {found}", colors::describe(*color)))
                }
            }
            Expectation::Text { text, color } => {
                for word in text.split(' ').filter(|w| !w.is_empty()) {
                    if find_text(canvas, word, *color).is_none() {
                        return Err(format!("the text \"{word}\" is not written in the 5x7 font"));
                    }
                }
                Ok(())
            }
            Expectation::Relative { first, relation, second, what } => {
                let (Some(a), Some(b)) = (mass(canvas, *first, TOLERANCE), mass(canvas, *second, TOLERANCE)) else {
                    return Err(format!("{what}: a colour is missing"));
                };
                let ok = match relation {
                    Relation::Above => a.centroid.1 < b.centroid.1,
                    Relation::Below => a.centroid.1 > b.centroid.1,
                    Relation::LeftOf => a.centroid.0 < b.centroid.0,
                    Relation::RightOf => a.centroid.0 > b.centroid.0,
                    Relation::Inside => {
                        a.min_x >= b.min_x && a.max_x <= b.max_x && a.min_y >= b.min_y && a.max_y <= b.max_y
                    }
                };
                if ok { Ok(()) } else { Err(format!("{what}: not {relation:?}")) }
            }
            Expectation::Region { color, horizontal, vertical, what } => {
                let Some(blob) = mass(canvas, *color, TOLERANCE) else {
                    return Err(format!("no {} pixels for {what}", colors::describe(*color)));
                };
                let third = |value: f64, size: u32| {
                    let t = value * 3.0 / f64::from(size);
                    if t < 1.0 {
                        Align::Start
                    } else if t < 2.0 {
                        Align::Center
                    } else {
                        Align::End
                    }
                };
                let near = |want: Align, got: Align| want == got || want == Align::Center || got == Align::Center;
                if near(*horizontal, third(blob.centroid.0, canvas.width()))
                    && near(*vertical, third(blob.centroid.1, canvas.height()))
                {
                    Ok(())
                } else {
                    Err(format!("{what} is not where the description puts it"))
                }
            }
        }
    }
}

/// What the description of `scene` states that a picture can be checked for: the colours it
/// names, counts of objects whose colour no other object shares, texts, relations between
/// differently coloured objects, and the places of coloured objects.
pub fn expectations(scene: &Scene, layout: &Layout) -> Vec<Expectation> {
    let _ = layout;
    let mut found = Vec::new();
    let stated = |i: usize| scene.objects[i].color.map(|c| Rgba { a: 255, ..c });
    for (index, object) in scene.objects.iter().enumerate() {
        let what = if object.words.is_empty() { object.kind.noun().to_string() } else { object.words.clone() };
        if object.kind == Kind::Text {
            found.push(Expectation::Text {
                text: object.text.clone().unwrap_or_default(),
                color: stated(index).filter(|_| object.alpha == 255),
            });
            continue;
        }
        let Some(color) = stated(index).filter(|_| object.alpha == 255) else { continue };
        found.push(Expectation::Color { color, what: what.clone() });
        let shared = scene
            .objects
            .iter()
            .enumerate()
            .any(|(other, o)| other != index && o.color.is_some_and(|c| colors_close(c, color)));
        let simple = matches!(
            object.kind,
            Kind::Circle | Kind::Dot | Kind::Square | Kind::Rectangle | Kind::Triangle | Kind::Star | Kind::Heart
        );
        if object.count > 1 && !shared && simple && !object.outline {
            found.push(Expectation::Count { color, count: object.count as usize, what: what.clone() });
        }
        if let Some((relation, target)) = object.relation
            && relation != Relation::Inside
            && let Some(other) = stated(target)
            && !colors_close(other, color)
        {
            found.push(Expectation::Relative { first: color, relation, second: other, what: what.clone() });
        }
        if let Some(Placement::Align { horizontal, vertical, region: crate::scene::Region::Whole }) = object.placement
            && !shared
            && object.relation.is_none()
            && object.count == 1
        {
            found.push(Expectation::Region { color, horizontal, vertical, what });
        }
    }
    found
}

fn colors_close(a: Rgba, b: Rgba) -> bool {
    matches(a, b, TOLERANCE)
}

/// Every failed expectation's message (empty when the picture satisfies them all).
pub fn verify(canvas: &Canvas, expectations: &[Expectation]) -> Vec<String> {
    expectations.iter().filter_map(|e| e.check(canvas).err()).collect()
}
