//! What a program draws, as a list of drawing calls whose numbers are parameters or constants.
//!
//! [`trace`] runs a program in the CPU VM one instruction at a time and records every drawing call it executes
//! (`CLS`, `RECT`, `PSET`, `LINE`, `CIRC`, `CIRCF`, `TRI`, and `TXT`/`NUM` as fixed masks) with the operand
//! values it used and the drawing colour in force. Each operand that is a literal in the source is tied to its
//! [`Param`](super::Param) (a literal inside a loop is one parameter used by every iteration); every other number
//! (a variable, a default, a text position) is a constant. The soft renderer replays this list; the exact
//! renderer is always the VM itself.

// Numeric code indexes several parallel arrays by the same slot.
#![allow(clippy::needless_range_loop)]

use gvpie_pxl::{Op, RECORD_WORDS, Status, Texture, Vm};
use gvpie_raster::{Canvas, Rgba};

use super::params::Params;

/// The most drawing calls a traced program may execute (each is one layer of the soft renderer).
pub const MAX_DRAWS: usize = 100_000;

/// The kind of one drawing call, as the soft renderer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum DrawKind {
    /// `CLS r g b`: every pixel set.
    Cls = 0,
    /// `RECT x y w h`.
    Rect = 1,
    /// `PSET x y`.
    Pset = 2,
    /// `LINE x0 y0 x1 y1`.
    Line = 3,
    /// `CIRC x y r` (outline).
    Circ = 4,
    /// `CIRCF x y r`.
    Circf = 5,
    /// `TRI x0 y0 x1 y1 x2 y2`.
    Tri = 6,
    /// `TXT` or `NUM`: a fixed set of pixels (no geometry parameters), blended with the drawing colour.
    Mask = 7,
}

/// Slots of a drawing call: 6 geometry numbers, then the colour's r, g, b, a.
pub const SLOTS: usize = 10;
/// The first colour slot.
pub const COLOR_SLOT: usize = 6;

/// One executed drawing call.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    /// What it draws.
    pub kind: DrawKind,
    /// The numbers as the program used them: geometry in slots 0..6 (unused slots 0), then the colour (for `CLS`
    /// its r, g, b and 255).
    pub values: [f64; SLOTS],
    /// The parameter each slot comes from, if it is a literal of the source.
    pub params: [Option<u32>; SLOTS],
    /// For [`DrawKind::Mask`]: the index of its mask in [`Scene::masks`].
    pub mask: u32,
}

impl Draw {
    /// The slot values with `values` (the parameters' current values) substituted.
    pub fn resolved(&self, values: &[f64]) -> [f64; SLOTS] {
        let mut out = self.values;
        for (slot, param) in self.params.iter().enumerate() {
            if let Some(p) = param {
                out[slot] = values[*p as usize];
            }
        }
        out
    }
}

/// A traced program: its drawing calls in order and the masks of its text.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// The drawing calls in execution order.
    pub draws: Vec<Draw>,
    /// One per [`DrawKind::Mask`] call: `width * height` flags, row-major.
    pub masks: Vec<Vec<bool>>,
    /// True when the program read the canvas (`PGET`): the soft renderer cannot follow what it does with it.
    pub reads_canvas: bool,
}

/// Why a program cannot be traced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceError {
    /// The canvas size is out of range.
    Canvas(String),
    /// It executed more than [`MAX_DRAWS`] drawing calls.
    TooManyDraws,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceError::Canvas(e) => write!(f, "{e}"),
            TraceError::TooManyDraws => write!(f, "the program executes more than {MAX_DRAWS} drawing instructions"),
        }
    }
}

/// Runs `texture` (compiled from the source `params` was read from) on a `width` × `height` canvas under `budget`
/// and records what it draws. Returns the scene and how the run ended.
pub fn trace(
    texture: &Texture,
    params: &Params,
    width: u32,
    height: u32,
    budget: u64,
) -> Result<(Scene, Status), TraceError> {
    let config = gvpie_pxl::Config { width, height, budget, max_frames: 0 };
    let mut vm = Vm::new(texture, &config).map_err(|e| TraceError::Canvas(e.to_string()))?;
    let mut scene = Scene::default();
    let mut color = ([255.0f64, 255.0, 255.0, 255.0], [None::<u32>; 4]);
    loop {
        let (n_draws, cycles) = (scene.draws.len(), vm.cycles());
        let pc = vm.pc() as usize;
        let words = vm.code_words();
        let record: Option<[u32; RECORD_WORDS]> =
            words.get(pc * RECORD_WORDS..(pc + 1) * RECORD_WORDS).and_then(|w| w.try_into().ok());
        let pending = record.and_then(|record| {
            let op = Op::from_code((record[0] & 0xFF) as u8)?;
            let modes = record[0] >> 8 & 0xFF;
            let vars = vm.variables();
            let mut values = [0i32; 6];
            for (slot, value) in values.iter_mut().enumerate() {
                let word = record[1 + slot];
                *value =
                    if modes >> slot & 1 == 1 { vars.get(word as usize).copied().unwrap_or(0) } else { word as i32 };
            }
            Some((op, values, record))
        });
        if let Some((op, values, record)) = pending {
            let literal = |slot: usize| params.literal(record[7], slot);
            let geometry = |n: usize| {
                let mut v = [0.0; SLOTS];
                let mut p = [None; SLOTS];
                for slot in 0..n {
                    v[slot] = f64::from(values[slot]);
                    p[slot] = literal(slot);
                }
                v[COLOR_SLOT..].copy_from_slice(&color.0);
                p[COLOR_SLOT..].copy_from_slice(&color.1);
                (v, p)
            };
            let kind = match op {
                Op::Color => {
                    for slot in 0..4 {
                        color.0[slot] = f64::from(values[slot]);
                        color.1[slot] = literal(slot);
                    }
                    None
                }
                Op::Cls => {
                    let mut v = [0.0; SLOTS];
                    let mut p = [None; SLOTS];
                    for slot in 0..3 {
                        v[COLOR_SLOT + slot] = f64::from(values[slot]);
                        p[COLOR_SLOT + slot] = literal(slot);
                    }
                    v[COLOR_SLOT + 3] = 255.0;
                    Some((DrawKind::Cls, v, p))
                }
                Op::Rect => Some((DrawKind::Rect, geometry(4).0, geometry(4).1)),
                Op::Pset => Some((DrawKind::Pset, geometry(2).0, geometry(2).1)),
                Op::Line => Some((DrawKind::Line, geometry(4).0, geometry(4).1)),
                Op::Circ => Some((DrawKind::Circ, geometry(3).0, geometry(3).1)),
                Op::Circf => Some((DrawKind::Circf, geometry(3).0, geometry(3).1)),
                Op::Tri => Some((DrawKind::Tri, geometry(6).0, geometry(6).1)),
                Op::Txt | Op::Num => {
                    let mut mask = Canvas::new(width, height).map_err(|e| TraceError::Canvas(e.to_string()))?;
                    if op == Op::Txt {
                        let data = vm.data();
                        let (offset, len) = (record[3] as usize, record[4] as usize);
                        if let Some(text) = data.get(offset..offset.saturating_add(len)) {
                            mask.text(values[0], values[1], text, Rgba::WHITE);
                        }
                    } else {
                        mask.number(values[0], values[1], values[2], Rgba::WHITE);
                    }
                    let flags: Vec<bool> = mask.pixels().iter().map(|&p| p & 0xFF_FFFF != 0).collect();
                    let (mut v, mut p) = geometry(0);
                    v[..COLOR_SLOT].fill(0.0);
                    p[..COLOR_SLOT].fill(None);
                    scene.masks.push(flags);
                    let index = scene.masks.len() as u32 - 1;
                    scene.draws.push(Draw { kind: DrawKind::Mask, values: v, params: p, mask: index });
                    None
                }
                Op::Pget => {
                    scene.reads_canvas = true;
                    None
                }
                _ => None,
            };
            if let Some((kind, values, params)) = kind {
                scene.draws.push(Draw { kind, values, params, mask: 0 });
            }
            if scene.draws.len() > MAX_DRAWS {
                return Err(TraceError::TooManyDraws);
            }
        }
        let status = vm.step();
        if vm.cycles() == cycles {
            // Nothing ran (the budget ran out before it): what was recorded for it was not drawn.
            scene.draws.truncate(n_draws);
            scene.masks.truncate(scene.draws.iter().filter(|d| d.kind == DrawKind::Mask).count());
        }
        if status != Status::Running {
            return Ok((scene, status));
        }
    }
}
