//! Helpers: compile a description, run it in the CPU VM, and look at the pixels.

use gvpie_compile::check::{self, Blob};
use gvpie_compile::{Compiled, Options, compile};
use gvpie_pxl::{Config, Status};
use gvpie_raster::{Canvas, Rgba};

/// A compiled description and the picture its program drew.
pub struct Picture {
    pub compiled: Compiled,
    pub canvas: Canvas,
}

/// Compiles `description` for a `width` x `height` canvas and runs the program.
pub fn draw_sized(description: &str, width: u32, height: u32) -> Result<Picture, String> {
    let compiled = compile(description, &Options { width, height }).map_err(|e| format!("{description:?}: {e}"))?;
    let texture = gvpie_pxl::compile(&compiled.source).map_err(|d| {
        format!("{description:?}: the program does not assemble: {}\n{}", gvpie_pxl::render_all(&d), compiled.source)
    })?;
    let result = gvpie_pxl::run(&texture, &Config { width, height, ..Config::default() }).map_err(|e| e.to_string())?;
    if result.status != Status::Halted {
        return Err(format!("{description:?}: the program did not halt: {:?}", result.status));
    }
    Ok(Picture { compiled, canvas: result.canvas })
}

pub const fn rgb(r: u8, g: u8, b: u8) -> Rgba {
    Rgba::new(r, g, b, 255)
}

pub const RED: Rgba = rgb(255, 0, 0);
pub const GREEN: Rgba = rgb(0, 128, 0);
pub const BLUE: Rgba = rgb(0, 0, 255);
pub const YELLOW: Rgba = rgb(255, 255, 0);
pub const WHITE: Rgba = rgb(255, 255, 255);
pub const BLACK: Rgba = rgb(0, 0, 0);
pub const ORANGE: Rgba = rgb(255, 165, 0);
pub const PURPLE: Rgba = rgb(128, 0, 128);
pub const PINK: Rgba = rgb(255, 192, 203);
pub const GREY: Rgba = rgb(128, 128, 128);
pub const CYAN: Rgba = rgb(0, 255, 255);
pub const GOLD: Rgba = rgb(255, 215, 0);
pub const FOREST: Rgba = rgb(34, 139, 34);
pub const SEA: Rgba = rgb(30, 144, 255);
pub const SKYBLUE: Rgba = rgb(135, 206, 235);
pub const HOTPINK: Rgba = rgb(255, 105, 180);
pub const MAGENTA: Rgba = rgb(255, 0, 255);

/// A third of the canvas along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Third {
    Start,
    Middle,
    End,
}

/// One pixel check of a picture.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Exactly n separate blobs of the colour.
    Blobs(Rgba, usize),
    /// Some pixels of the colour.
    Present(Rgba),
    /// No pixels of the colour.
    Absent(Rgba),
    /// The colour's mass is in this horizontal and vertical third.
    In(Rgba, Third, Third),
    /// The colour's mass is in this horizontal third.
    Column(Rgba, Third),
    /// The colour's mass is in this vertical third.
    Row(Rgba, Third),
    /// The first colour's mass is above the second's.
    Above(Rgba, Rgba),
    /// The first colour's mass is left of the second's.
    LeftOf(Rgba, Rgba),
    /// The first colour's pixels lie within the second's bounding box.
    Within(Rgba, Rgba),
    /// No pixel of the first colour touches one of the second (8 neighbours).
    Apart(Rgba, Rgba),
    /// The blobs of this colour do not touch each other and keep 1 pixel off the canvas edge.
    Clear(Rgba),
    /// The text is written in the 5x7 font, in this colour or any one colour.
    Text(&'static str, Option<Rgba>),
    /// Every outermost pixel is this colour.
    Border(Rgba),
    /// At least this percentage of the canvas is this colour.
    Covers(Rgba, u32),
    /// At most this percentage of the canvas is this colour.
    CoversAtMost(Rgba, u32),
    /// The colour's pixels span at least this fraction (percent) of the canvas width.
    Wide(Rgba, u32),
    /// The bounding boxes of the colour's blobs are all (about) the same size: an even arrangement.
    Even(Rgba),
    /// The colour's mass is in the top half / bottom half.
    TopHalf(Rgba),
    BottomHalf(Rgba),
    /// The colour appears at this pixel.
    At(Rgba, i32, i32),
}

impl Picture {
    fn mass(&self, color: Rgba) -> Result<Blob, String> {
        check::mass(&self.canvas, color, 0).ok_or_else(|| format!("no pixels of {color:?}"))
    }

    fn third(value: f64, size: u32) -> Third {
        let t = value * 3.0 / f64::from(size);
        if t < 1.0 {
            Third::Start
        } else if t < 2.0 {
            Third::Middle
        } else {
            Third::End
        }
    }

    /// Checks one thing; the error explains what was found.
    pub fn check(&self, check: Check) -> Result<(), String> {
        let (width, height) = (self.canvas.width(), self.canvas.height());
        let fail = |what: String| Err(format!("{check:?}: {what}"));
        match check {
            Check::Blobs(color, n) => {
                let found = check::blobs(&self.canvas, color, 0).len();
                if found != n {
                    return fail(format!("found {found} blobs"));
                }
            }
            Check::Present(color) => {
                self.mass(color)?;
            }
            Check::Absent(color) => {
                if let Ok(blob) = self.mass(color) {
                    return fail(format!("{} pixels found", blob.pixels));
                }
            }
            Check::In(color, column, row) => {
                let blob = self.mass(color)?;
                let got = (Self::third(blob.centroid.0, width), Self::third(blob.centroid.1, height));
                if got != (column, row) {
                    return fail(format!("centroid {:?} is in {got:?}", blob.centroid));
                }
            }
            Check::Column(color, column) => {
                let blob = self.mass(color)?;
                if Self::third(blob.centroid.0, width) != column {
                    return fail(format!("centroid {:?}", blob.centroid));
                }
            }
            Check::Row(color, row) => {
                let blob = self.mass(color)?;
                if Self::third(blob.centroid.1, height) != row {
                    return fail(format!("centroid {:?}", blob.centroid));
                }
            }
            Check::Above(first, second) => {
                let (a, b) = (self.mass(first)?, self.mass(second)?);
                if a.centroid.1 >= b.centroid.1 {
                    return fail(format!("{:?} vs {:?}", a.centroid, b.centroid));
                }
            }
            Check::LeftOf(first, second) => {
                let (a, b) = (self.mass(first)?, self.mass(second)?);
                if a.centroid.0 >= b.centroid.0 {
                    return fail(format!("{:?} vs {:?}", a.centroid, b.centroid));
                }
            }
            Check::Within(first, second) => {
                let (a, b) = (self.mass(first)?, self.mass(second)?);
                if a.min_x < b.min_x || a.max_x > b.max_x || a.min_y < b.min_y || a.max_y > b.max_y {
                    return fail(format!("{a:?} not within {b:?}"));
                }
            }
            Check::Apart(first, second) => {
                for y in 0..height as i32 {
                    for x in 0..width as i32 {
                        if self.canvas.get(x, y) != Some(first) {
                            continue;
                        }
                        for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                            if self.canvas.get(x + dx, y + dy) == Some(second) {
                                return fail(format!("they touch at {x},{y}"));
                            }
                        }
                    }
                }
            }
            Check::Clear(color) => {
                let blob = self.mass(color)?;
                if blob.min_x < 1 || blob.min_y < 1 || blob.max_x > width as i32 - 2 || blob.max_y > height as i32 - 2 {
                    return fail(format!("reaches the edge: {blob:?}"));
                }
            }
            Check::Text(text, color) => {
                if check::find_text(&self.canvas, text, color).is_none() {
                    return fail("not found".into());
                }
            }
            Check::Border(color) => {
                let (w, h) = (width as i32, height as i32);
                for x in 0..w {
                    for y in [0, h - 1] {
                        if self.canvas.get(x, y) != Some(color) {
                            return fail(format!("pixel {x},{y} is {:?}", self.canvas.get(x, y)));
                        }
                    }
                }
                for y in 0..h {
                    for x in [0, w - 1] {
                        if self.canvas.get(x, y) != Some(color) {
                            return fail(format!("pixel {x},{y} is {:?}", self.canvas.get(x, y)));
                        }
                    }
                }
            }
            Check::Covers(color, percent) | Check::CoversAtMost(color, percent) => {
                let pixels = check::mass(&self.canvas, color, 0).map_or(0, |b| b.pixels);
                let share = pixels as u64 * 100 / u64::from(width * height);
                let ok = match check {
                    Check::Covers(..) => share >= u64::from(percent),
                    _ => share <= u64::from(percent),
                };
                if !ok {
                    return fail(format!("{share}% of the canvas"));
                }
            }
            Check::Wide(color, percent) => {
                let blob = self.mass(color)?;
                let span = (blob.max_x - blob.min_x + 1) as u32;
                if span * 100 < percent * width {
                    return fail(format!("spans {span} pixels"));
                }
            }
            Check::Even(color) => {
                let blobs = check::blobs(&self.canvas, color, 0);
                let sizes: Vec<i32> = blobs.iter().map(|b| b.max_x - b.min_x).collect();
                let (min, max) = (sizes.iter().min().copied().unwrap_or(0), sizes.iter().max().copied().unwrap_or(0));
                if max - min > 1 {
                    return fail(format!("widths {sizes:?}"));
                }
                let mut centers: Vec<f64> = blobs.iter().map(|b| b.centroid.0).collect();
                centers.sort_by(f64::total_cmp);
                let steps: Vec<f64> = centers.windows(2).map(|w| w[1] - w[0]).filter(|s| *s > 1.0).collect();
                if let (Some(lo), Some(hi)) =
                    (steps.iter().copied().reduce(f64::min), steps.iter().copied().reduce(f64::max))
                    && hi - lo > 2.5
                {
                    return fail(format!("uneven spacing {steps:?}"));
                }
            }
            Check::TopHalf(color) => {
                let blob = self.mass(color)?;
                if blob.centroid.1 >= f64::from(height) / 2.0 {
                    return fail(format!("centroid {:?}", blob.centroid));
                }
            }
            Check::BottomHalf(color) => {
                let blob = self.mass(color)?;
                if blob.centroid.1 < f64::from(height) / 2.0 {
                    return fail(format!("centroid {:?}", blob.centroid));
                }
            }
            Check::At(color, x, y) => {
                if self.canvas.get(x, y) != Some(color) {
                    return fail(format!("pixel is {:?}", self.canvas.get(x, y)));
                }
            }
        }
        Ok(())
    }

    /// The picture as characters (one per pixel), for failure messages.
    pub fn ascii(&self) -> String {
        let mut palette: Vec<u32> = Vec::new();
        let symbols = b".#*o+=%@&$xXvV^~";
        let mut out = String::new();
        for y in 0..self.canvas.height() {
            for x in 0..self.canvas.width() {
                let pixel = self.canvas.pixels()[(y * self.canvas.width() + x) as usize];
                let index = palette.iter().position(|p| *p == pixel).unwrap_or_else(|| {
                    palette.push(pixel);
                    palette.len() - 1
                });
                out.push(symbols[index.min(symbols.len() - 1)] as char);
            }
            out.push('\n');
        }
        out
    }
}
