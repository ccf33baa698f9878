//! What compiled code runs with: the context block it reads and writes, the Rust helpers it
//! calls for drawing, and entering it from a [`MachineState`].
//!
//! Compiled code keeps PXL variables in registers; it loads them from the VM's variables at
//! entry and stores the ones it can write at its one exit. Everything that draws goes through
//! a helper here that calls the reference rasterizer with the VM's own arguments, so pixels
//! cannot differ. This module does not generate code (see `codegen.rs`).

use gvpie_pxl::{CALL_DEPTH, MachineState};
use gvpie_raster::{Canvas, Rgba};

/// The exit code of compiled code that stopped before a basic block that does not fit in the
/// cycles left: the caller interprets the rest of the slice.
pub(crate) const EXIT_STOP: u32 = 1;
/// The exit code of compiled code that stopped before an instruction it leaves to the
/// interpreter (a trap, `PEEK`, `POKE`, an invalid record, the end, a return address it does
/// not know): the caller runs one step with [`gvpie_pxl::Vm::step`].
pub(crate) const EXIT_INTERP: u32 = 2;

/// The block compiled code reads and writes (field offsets are taken with `offset_of!`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct JitCtx {
    /// The VM's variables.
    pub vars: *mut i32,
    /// A [`CALL_DEPTH`]-entry return-address stack.
    pub stack: *mut u32,
    pub cycles: u64,
    pub stop_at: u64,
    pub pc: u32,
    pub sp: u32,
    pub rng: u32,
    pub exit: u32,
    /// The drawing colour, `r | g << 8 | b << 16 | a << 24`.
    pub color: u32,
    /// The [`Env`] that helpers draw into.
    pub env: *mut (),
}

/// The parts of the machine that helpers touch, borrowed apart from the variables that compiled
/// code holds.
struct Env<'a> {
    canvas: &'a mut Canvas,
    frames: &'a mut Vec<Canvas>,
    n_frames: &'a mut u64,
    max_frames: usize,
    data: &'a [u8],
}

/// The signature of a compiled program.
pub(crate) type EntryFn = unsafe extern "C" fn(*mut JitCtx);

pub(crate) fn pack(color: Rgba) -> u32 {
    u32::from_le_bytes([color.r, color.g, color.b, color.a])
}

fn unpack(color: u32) -> Rgba {
    let [r, g, b, a] = color.to_le_bytes();
    Rgba::new(r, g, b, a)
}

/// Runs `entry` on `state` until it exits, with at most `stop_at` cycles; returns the exit code.
///
/// # Safety
///
/// `entry` must be a program compiled by `codegen.rs` for the VM that `state` belongs to (its
/// variable count and data length), still alive for the whole call.
pub(crate) unsafe fn enter(entry: EntryFn, state: MachineState<'_>, stop_at: u64) -> u32 {
    let MachineState { pc, cycles, variables, call_stack, color, rng, canvas, frames, n_frames, max_frames, data } =
        state;
    let mut stack = [0u32; CALL_DEPTH];
    let depth = call_stack.len().min(CALL_DEPTH);
    stack[..depth].copy_from_slice(&call_stack[..depth]);
    let mut env = Env { canvas, frames, n_frames, max_frames, data };
    let mut ctx = JitCtx {
        vars: variables.as_mut_ptr(),
        stack: stack.as_mut_ptr(),
        cycles: *cycles,
        stop_at,
        pc: *pc,
        sp: depth as u32,
        rng: *rng,
        exit: 0,
        color: pack(*color),
        env: (&mut env as *mut Env<'_>).cast(),
    };
    // SAFETY: the caller guarantees `entry` is a live program compiled for this machine. It reads
    // and writes only `ctx`, the `variables.len()` variables behind `ctx.vars` (every index it
    // uses was checked against the variable count when it was compiled) and the `CALL_DEPTH`
    // entries of `stack` (its stack pointer is kept below `CALL_DEPTH`); helpers reach `env`
    // only through `ctx`, which outlives the call. Nothing else borrows these while it runs.
    unsafe { entry(&mut ctx) };
    *pc = ctx.pc;
    *cycles = ctx.cycles;
    *rng = ctx.rng;
    *color = unpack(ctx.color);
    call_stack.clear();
    call_stack.extend_from_slice(&stack[..(ctx.sp as usize).min(CALL_DEPTH)]);
    ctx.exit
}

/// Gives a helper the machine parts and the drawing colour.
fn with_env<R>(ctx: *const JitCtx, f: impl FnOnce(&mut Env<'_>, Rgba) -> R) -> R {
    // SAFETY: compiled code calls helpers only with the context `enter` gave it, which lives on
    // `enter`'s stack for the whole call, and `ctx.env` points to `enter`'s `Env`, which
    // nothing else touches while compiled code runs (compiled code never reads it).
    let (env, color) = unsafe {
        let ctx = &*ctx;
        (&mut *ctx.env.cast::<Env<'_>>(), ctx.color)
    };
    f(env, unpack(color))
}

fn channel(value: i32) -> u8 {
    value.clamp(0, 255) as u8
}

pub(crate) extern "C" fn helper_pset(ctx: *const JitCtx, x: i32, y: i32) {
    with_env(ctx, |env, color| env.canvas.pset(x, y, color));
}

pub(crate) extern "C" fn helper_rect(ctx: *const JitCtx, x: i32, y: i32, w: i32, h: i32) {
    with_env(ctx, |env, color| env.canvas.fill_rect(x, y, w, h, color));
}

pub(crate) extern "C" fn helper_line(ctx: *const JitCtx, x0: i32, y0: i32, x1: i32, y1: i32) {
    with_env(ctx, |env, color| env.canvas.line(x0, y0, x1, y1, color));
}

pub(crate) extern "C" fn helper_circ(ctx: *const JitCtx, x: i32, y: i32, r: i32) {
    with_env(ctx, |env, color| env.canvas.circle(x, y, r, false, color));
}

pub(crate) extern "C" fn helper_circf(ctx: *const JitCtx, x: i32, y: i32, r: i32) {
    with_env(ctx, |env, color| env.canvas.circle(x, y, r, true, color));
}

#[allow(clippy::too_many_arguments, reason = "TRI's six operands plus the context")]
pub(crate) extern "C" fn helper_tri(ctx: *const JitCtx, x0: i32, y0: i32, x1: i32, y1: i32, x2: i32, y2: i32) {
    with_env(ctx, |env, color| env.canvas.triangle(x0, y0, x1, y1, x2, y2, color));
}

pub(crate) extern "C" fn helper_cls(ctx: *const JitCtx, r: i32, g: i32, b: i32) {
    with_env(ctx, |env, _| env.canvas.clear(Rgba::new(channel(r), channel(g), channel(b), 255)));
}

pub(crate) extern "C" fn helper_txt(ctx: *const JitCtx, x: i32, y: i32, offset: u32, len: u32) {
    with_env(ctx, |env, color| {
        let (start, end) = (offset as usize, offset as usize + len as usize);
        // The range was checked against the data length when the record was compiled.
        if let Some(text) = env.data.get(start..end) {
            env.canvas.text(x, y, text, color);
        }
    });
}

pub(crate) extern "C" fn helper_num(ctx: *const JitCtx, x: i32, y: i32, value: i32) {
    with_env(ctx, |env, color| env.canvas.number(x, y, value, color));
}

pub(crate) extern "C" fn helper_pget(ctx: *const JitCtx, x: i32, y: i32) -> i32 {
    with_env(ctx, |env, _| {
        env.canvas.get(x, y).map_or(-1, |c| i32::from(c.r) << 16 | i32::from(c.g) << 8 | i32::from(c.b))
    })
}

pub(crate) extern "C" fn helper_frame(ctx: *const JitCtx) {
    with_env(ctx, |env, _| {
        *env.n_frames += 1;
        if env.frames.len() < env.max_frames {
            env.frames.push(env.canvas.clone());
        }
    });
}
