// gvpie batch executor: runs many PXL machine textures at once, bit-identical to the CPU VM
// (crates/pxl/src/vm.rs) and rasterizer (crates/raster).
//
// Schedule (see crates/gpu/src/lib.rs for the whole design):
// - A workgroup of WG threads runs up to `params.lanes` programs, one per thread ("lane").
//   Each lane interprets its own program; there is no barrier in the interpreter loop.
// - Cheap drawing (PSET, PGET, shapes whose clipped area is at most `params.inline_max`
//   pixels) is done by the lane itself. A larger shape ends the lane's step: the lane
//   appends it to the round's event list in workgroup memory, and after a barrier all WG
//   threads rasterize every listed shape together, each thread taking every WG-th pixel.
//   Shapes are sets of pixels, each blended once, so the split cannot change the result.
// - INTERP_ONLY (a generated constant): the per-lane variant without the rasterizer, for
//   programs with loops. A lane stops before its first shape and reports it (SCHED_RASTER);
//   the host runs the group's next slices in the full pipeline. Fewer registers, more lanes.
// - Two variants (generated constants): LOCAL_CANVAS false, 64 lanes, canvases in the canvas
//   buffer; LOCAL_CANVAS true, few lanes, canvases in workgroup memory (`wg_canvas`). Flags
//   move variables (`wg_vars`) and code plus record heads (`wg_prog`) into workgroup memory
//   when the host found that they fit.
// - Score mode: after every lane has stopped, all threads sum the squared differences of
//   each lane's canvas against the target image, exactly, in 64 bits (two u32 words).
//
// The host prepends generated constants: WG, LOCAL_CANVAS, the LOCAL_*_WORDS and MAX_LANES
// sizes, the opcodes, trap and comparison codes, statuses and flags (see below), FONT (from
// gvpie_raster::FONT) and op_sig() (from gvpie_pxl::OPS). This file never hard-codes an
// opcode, a trap code, the font or the operand table.
//
// Slices: a dispatch runs every lane for a bounded amount of work, then saves what it needs to
// go on (pc, budget left, frames, colour, random state, call stack, a shape not yet drawn)
// in its state words and reports STATUS_RUNNING; the host dispatches the groups that still
// run again (params.resume = 1), which load their state and go on. Every loop of a dispatch is
// bounded by the slice (params.slice_steps work units per lane: an instruction, a pixel drawn
// inline; params.slice_raster raster iterations per workgroup, a large shape drawn over several
// rounds or slices at params.round_iters iterations a round), so a driver that ends long
// shaders (lavapipe ends one after 65535 loop iterations) or a watchdog never cuts a program.
// Canvases in the canvas buffer start as zero words (the host clears them) and are read with
// the alpha byte set: every canvas pixel is opaque, so zero reads as black.
//
// Memory layout: per-program arrays are interleaved across the lanes of a workgroup, so that
// lanes running the same pc touch neighbouring words: word `a` of lane l lives at
// `base_l + a * params.lanes`, where `base_l = group_base + l`.

struct Params {
    width: u32,
    height: u32,
    n_programs: u32,
    lanes: u32,
    budget_lo: u32,
    budget_hi: u32,
    flags: u32,
    inline_max: u32,
    canary: u32,
    // Slices (see "Slices" below): work units one lane may run, shared raster iterations of
    // one workgroup, and raster iterations of one round, per dispatch.
    slice_steps: u32,
    slice_raster: u32,
    round_iters: u32,
    // 0 for a chunk's first slice, 1 when lanes resume from their saved state.
    resume: u32,
    // Workgroups of this dispatch (resumed: read their group from the list).
    n_dispatch: u32,
    // Word offsets in `vars`: lane states, per-group results, the list of groups to run,
    // the score pass's partial sums.
    state_base: u32,
    sched_base: u32,
    list_base: u32,
    partial_base: u32,
    // Workgroups of the score pass per program.
    score_blocks: u32,
    pad0: u32,
}

// One program's header, written by the host. The group_* words are the same for every lane
// of a workgroup: where the group's interleaved code and record heads start in the global
// buffers and how many words they span (for the copy into workgroup memory).
struct Info {
    n_records: u32,
    n_vars: u32,
    data_len: u32,
    code_len: u32,
    code_base: u32,
    head_base: u32,
    var_base: u32,
    lane: u32,
    group_code_base: u32,
    group_code_words: u32,
    group_head_base: u32,
    group_head_words: u32,
    group_var_words: u32,
    pad: u32,
}

// One program's outcome; the host turns it into gvpie_pxl::RunResult.
struct Outcome {
    status: u32,
    kind: u32,
    pc: u32,
    line: u32,
    left_lo: u32,
    left_hi: u32,
    frames_lo: u32,
    frames_hi: u32,
    sse_lo: u32,
    sse_hi: u32,
    addr: u32,
    pad: u32,
    record: array<u32, 8>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> infos: array<Info>;
// The code address space of every program (records, then data words), mutable for POKE.
@group(0) @binding(2) var<storage, read_write> code: array<u32>;
// Per record: its word 0 when the record is a valid instruction, else 0.
@group(0) @binding(3) var<storage, read_write> heads: array<u32>;
// Variables, then (from params.state_base) the lanes' saved states, the groups' results
// (params.sched_base), the list of groups to run (params.list_base) and the score pass's
// partial sums (params.partial_base).
@group(0) @binding(4) var<storage, read_write> vars: array<i32>;
@group(0) @binding(5) var<storage, read_write> canvas: array<u32>;
@group(0) @binding(6) var<storage, read_write> outcomes: array<Outcome>;
@group(0) @binding(7) var<storage, read> target_image: array<u32>;

// Generated (crates/gpu/src/codes.rs), with the numbers the host reads and writes:
// - FLAG_SCORE, FLAG_LOCAL_VARS and FLAG_LOCAL_PROG, the bits of `params.flags`. With
//   FLAG_LOCAL_VARS, variables live in `wg_vars` (word `v` of lane l at `l + v * lanes`)
//   instead of `vars`; with FLAG_LOCAL_PROG, record heads and code live in `wg_prog` (heads
//   first, then code, both interleaved as in the global buffers), copied there at the start,
//   and POKE writes the copy.
// - STATUS_HALTED, STATUS_TRAPPED, STATUS_RUNNING and STATUS_CUT_SHORT, `Outcome.status`.
//   STATUS_RUNNING: the slice ended before the program (its state is saved). STATUS_CUT_SHORT:
//   the driver cut a loop short despite the slices; the host must not trust this workgroup.
// - FLAG_INLINE_SCORE: a group that finishes scores its canvases in the same dispatch (else
//   the score pass does). SCHED_SCORED and SCHED_CUT, bits of a group's result word (its low
//   bits count the lanes still running). STATE_HEAD and STATE_WORDS, the lane state's layout.
// - TRAP_<KIND>, `Outcome.kind`, one per gvpie_pxl::TrapKind (TRAP_DIVISION_BY_ZERO, ...).
// - OP_<MNEMONIC>, the opcodes of gvpie_pxl::OPS (OP_HALT = 1, ...).
// - CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT and CMP_GE, IF's comparison codes (gvpie_pxl::Cmp).
// - CALL_DEPTH and DEFAULT_SEED, the VM's.

// Prepared shapes (what a lane hands to the rasterizer). Word 0 is the kind, word 1 the
// colour; the rest depends on the kind (see prepare_* below).
const SHAPE_NONE: u32 = 0u;
const SHAPE_BOX: u32 = 1u; // RECT, CLS, single pixels: every pixel of the box
const SHAPE_CLS: u32 = 2u; // like BOX but writes instead of blending
const SHAPE_LINE_X: u32 = 3u;
const SHAPE_LINE_Y: u32 = 4u;
const SHAPE_DISC: u32 = 5u;
const SHAPE_RING: u32 = 6u;
const SHAPE_TRI: u32 = 7u;
const SHAPE_TEXT: u32 = 8u; // TXT: bytes from the program's data words
const SHAPE_DIGITS: u32 = 9u; // NUM: bytes packed in the shape

const COORD_LIMIT: i32 = 8192;
const BLACK: u32 = 0xFF000000u;

alias Shape = array<u32, 16>;

var<workgroup> event_shapes: array<Shape, MAX_LANES>;
// Lanes that can still do something in this slice (run, or wait for their shape).
var<workgroup> n_active: atomic<u32>;
var<workgroup> round_flag: u32;
// The group this workgroup runs (a uniform copy of the list entry).
var<workgroup> wg_group: u32;
// This round's events: event_shapes[0 .. round_events], counted by n_events. Word 15 of an
// event is the lane it belongs to, word 14 the pixels of the shape already drawn.
var<workgroup> n_events: atomic<u32>;
var<workgroup> round_events: u32;
var<workgroup> sse_lo: array<atomic<u32>, MAX_LANES>;
var<workgroup> sse_hi: array<atomic<u32>, MAX_LANES>;
// The canvases of the workgroup's lanes when LOCAL_CANVAS (a generated constant) is true:
// lane l's canvas at l * width * height. Unused (one word) otherwise.
var<workgroup> wg_canvas: array<u32, LOCAL_CANVAS_WORDS>;
var<workgroup> wg_vars: array<i32, LOCAL_VAR_WORDS>;
var<workgroup> wg_prog: array<u32, LOCAL_PROG_WORDS>;
// Counts the iterations of the closing canary loop (see the end of main).
var<workgroup> canary: atomic<u32>;
// INTERP_ONLY: set when a lane stopped before a shape (the group goes on in the full pipeline).
var<workgroup> wg_hand_over: atomic<u32>;

// The lane's machine state.
var<private> info: Info;
var<private> pc: u32;
var<private> left_lo: u32;
var<private> left_hi: u32;
var<private> frames_lo: u32;
var<private> frames_hi: u32;
var<private> color: u32;
var<private> rng: u32;
var<private> sp: u32;
var<private> stack: array<u32, CALL_DEPTH>;
var<private> canvas_base: u32;
var<private> shape: Shape;
var<private> out_index: u32;
// Where the lane's code, heads and variables start (global or workgroup indices, by flags).
var<private> code_base: u32;
var<private> head_base: u32;
var<private> var_base: u32;
var<private> local_vars: bool;
var<private> local_prog: bool;
// Within a slice: the lane's program has not finished; it used its steps; it waits for the
// workgroup to draw its shape (shape_done pixels drawn so far); work units used.
var<private> running: bool;
var<private> paused: bool;
var<private> pending: bool;
var<private> shape_done: u32;
var<private> steps: u32;
// INTERP_ONLY: the lane stopped before a shape, which only the full pipeline draws.
var<private> hand_over: bool;
// What run_lane stopped for.
const RUN_STOP: u32 = 0u;
const RUN_SHAPE: u32 = 1u;
const RUN_PAUSE: u32 = 2u;

// ---------------------------------------------------------------------------------------
// Memory of the running lane.

// Whether code and heads live in workgroup memory: never in a variant without room for them
// (a constant there, so that its accessors have no branch).
fn prog_local() -> bool {
    return LOCAL_PROG_WORDS > 1u && local_prog;
}

// Word `i` of the code buffer in use (global or the workgroup copy).
fn code_word(i: u32) -> u32 {
    if prog_local() {
        return wg_prog[i];
    }
    return code[i];
}

fn word(addr: u32) -> u32 {
    return code_word(code_base + addr * params.lanes);
}

fn set_word(addr: u32, v: u32) {
    let i = code_base + addr * params.lanes;
    if prog_local() {
        wg_prog[i] = v;
    } else {
        code[i] = v;
    }
}

fn head_of(index: u32) -> u32 {
    let i = head_base + index * params.lanes;
    if prog_local() {
        return wg_prog[i];
    }
    return heads[i];
}

fn set_head(index: u32, v: u32) {
    let i = head_base + index * params.lanes;
    if prog_local() {
        wg_prog[i] = v;
    } else {
        heads[i] = v;
    }
}

fn var_get(w: u32) -> i32 {
    let i = var_base + w * params.lanes;
    if local_vars {
        return wg_vars[i];
    }
    return vars[i];
}

// The value of an operand whose word is `w` (slot `slot` of the record with this head).
fn operand(w: u32, head: u32, slot: u32) -> i32 {
    if ((head >> (8u + slot)) & 1u) != 0u {
        return var_get(w);
    }
    return bitcast<i32>(w);
}

// The value of operand `slot` of the record at word `rb`.
fn value(rb: u32, head: u32, slot: u32) -> i32 {
    return operand(word(rb + 1u + slot), head, slot);
}

// Writes variable `w` of the running lane.
fn store_var(w: u32, v: i32) {
    let i = var_base + w * params.lanes;
    if local_vars {
        wg_vars[i] = v;
    } else {
        vars[i] = v;
    }
}

fn target_slot(rb: u32, slot: u32) -> u32 {
    return word(rb + 1u + slot);
}

// Canvas pixel `i` (an index into the workgroup's canvases or the global canvas buffer).
fn cv_get(i: u32) -> u32 {
    if LOCAL_CANVAS {
        return wg_canvas[i];
    }
    // A cleared (zero) word is black: every pixel is opaque.
    return canvas[i] | BLACK;
}

fn cv_set(i: u32, v: u32) {
    if LOCAL_CANVAS {
        wg_canvas[i] = v;
    } else {
        canvas[i] = v;
    }
}

// Whether the 8 words of record `index` form a valid instruction; mirrors
// gvpie_pxl::decode_record (the host decodes the exact error from the words).
fn record_head_if_valid(index: u32) -> u32 {
    let rb = index * 8u;
    let head = word(rb);
    if (head >> 24u) != 0u {
        return 0u;
    }
    let op = head & 0xFFu;
    let sig = op_sig(op);
    if sig == 0u {
        return 0u;
    }
    let modes = (head >> 8u) & 0xFFu;
    let aux = (head >> 16u) & 0xFFu;
    let n_slots = sig & 7u;
    if (modes >> n_slots) != 0u {
        return 0u;
    }
    if op == OP_IF {
        if aux > 5u {
            return 0u;
        }
    } else if aux != 0u {
        return 0u;
    }
    for (var s = 0u; s < n_slots; s += 1u) {
        let kind = (sig >> (3u + 3u * s)) & 7u;
        let is_var = ((modes >> s) & 1u) != 0u;
        let w = word(rb + 1u + s);
        switch kind {
            case 0u: {
                if is_var && w >= info.n_vars {
                    return 0u;
                }
            }
            case 1u: {
                if !is_var || w >= info.n_vars {
                    return 0u;
                }
            }
            case 2u: {
                if is_var || w > info.n_records {
                    return 0u;
                }
            }
            case 3u: {
                let len = word(rb + 2u + s);
                if is_var || ((modes >> (s + 1u)) & 1u) != 0u {
                    return 0u;
                }
                if len > info.data_len || w > info.data_len - len {
                    return 0u;
                }
            }
            default: {}
        }
    }
    return head;
}

// ---------------------------------------------------------------------------------------
// Pixels.

// x / 255 for 0 <= x <= 255 * 255 + 127, exactly (checked exhaustively by a host test).
fn div255(x: u32) -> u32 {
    return (x * 0x8081u) >> 23u;
}

fn blend(dst: u32, src: u32) -> u32 {
    let a = src >> 24u;
    if a == 255u {
        return src;
    }
    if a == 0u {
        return dst;
    }
    let ia = 255u - a;
    let r = div255((src & 0xFFu) * a + (dst & 0xFFu) * ia + 127u);
    let g = div255(((src >> 8u) & 0xFFu) * a + ((dst >> 8u) & 0xFFu) * ia + 127u);
    let b = div255(((src >> 16u) & 0xFFu) * a + ((dst >> 16u) & 0xFFu) * ia + 127u);
    return r | (g << 8u) | (b << 16u) | BLACK;
}

fn plot(cbase: u32, x: i32, y: i32, c: u32) {
    if x >= 0 && y >= 0 && u32(x) < params.width && u32(y) < params.height {
        let i = cbase + u32(y) * params.width + u32(x);
        // An opaque colour replaces the pixel (blend returns it): a store without the read,
        // which in device memory is what a PSET costs most.
        if (c >> 24u) == 255u {
            cv_set(i, c);
        } else {
            cv_set(i, blend(cv_get(i), c));
        }
    }
}

fn clamp_coord(v: i32) -> i32 {
    return clamp(v, -COORD_LIMIT, COORD_LIMIT);
}

// Floor division for d > 0.
fn floor_div(n: i32, d: i32) -> i32 {
    let q = n / d;
    return select(q, q - 1, q * d > n);
}

fn inside_disc(px: i32, py: i32, cx: i32, cy: i32, r: i32) -> bool {
    let dx = px - cx;
    let dy = py - cy;
    return dx * dx + dy * dy <= r * r;
}

fn edge(ax: i32, ay: i32, bx: i32, by: i32, px: i32, py: i32) -> bool {
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax) >= 0;
}

fn glyph_bit(byte: u32, r: u32, c: u32) -> bool {
    if byte < 33u || byte > 126u {
        return false;
    }
    let g = (byte - 32u) * 2u;
    var bits = FONT[g + 1u];
    if r < 6u {
        bits = FONT[g] >> (5u * r);
    }
    return ((bits >> (4u - c)) & 1u) != 0u;
}

fn text_byte(s: Shape, n: u32) -> u32 {
    if s[0] == SHAPE_DIGITS {
        // Constant indices only, so that the shape can stay in registers.
        let i = s[5] + n;
        let wi = i / 4u;
        let w = select(select(s[8], s[7], wi == 1u), s[6], wi == 0u);
        return (w >> (8u * (i % 4u))) & 0xFFu;
    }
    // SHAPE_TEXT: s[5] = data byte address of the first visible byte, s[6] = code_base,
    // s[7] = the word address where data starts.
    let b = s[5] + n;
    let w = code_word(s[6] + (s[7] + b / 4u) * params.lanes);
    return (w >> (8u * (b % 4u))) & 0xFFu;
}

// Rasterizes pixels start, start + stride, ... (below `end`) of a prepared shape onto the
// canvas at cbase.
fn raster(s: Shape, cbase: u32, start: u32, end: u32, stride: u32) {
    let kind = s[0];
    let c = s[1];
    let w = params.width;
    switch kind {
        case SHAPE_BOX, SHAPE_CLS, SHAPE_DISC, SHAPE_RING, SHAPE_TRI: {
            // A clipped box x0, y0, bw, bh in s[2..6]; the pixel test depends on the kind.
            let x0 = s[2];
            let y0 = s[3];
            let bw = s[4];
            let count = min(bw * s[5], end);
            if start >= count {
                return;
            }
            var col = start % bw;
            var row = start / bw;
            let step_col = stride % bw;
            let step_row = stride / bw;
            let ax = bitcast<i32>(s[6]);
            let ay = bitcast<i32>(s[7]);
            let bx = bitcast<i32>(s[8]);
            let by = bitcast<i32>(s[9]);
            let tcx = bitcast<i32>(s[10]);
            let tcy = bitcast<i32>(s[11]);
            for (var k = start; k < count; k += stride) {
                let px = x0 + col;
                let py = y0 + row;
                let i = cbase + py * w + px;
                var hit = true;
                if kind == SHAPE_TRI {
                    let x = i32(px);
                    let y = i32(py);
                    hit = edge(ax, ay, bx, by, x, y) && edge(bx, by, tcx, tcy, x, y) && edge(tcx, tcy, ax, ay, x, y);
                } else if kind == SHAPE_DISC || kind == SHAPE_RING {
                    let x = i32(px);
                    let y = i32(py);
                    let cx = ax;
                    let cy = ay;
                    let r = bx;
                    hit = inside_disc(x, y, cx, cy, r);
                    if hit && kind == SHAPE_RING {
                        hit = !(inside_disc(x - 1, y, cx, cy, r) && inside_disc(x + 1, y, cx, cy, r)
                            && inside_disc(x, y - 1, cx, cy, r) && inside_disc(x, y + 1, cx, cy, r));
                    }
                }
                if hit {
                    // An opaque colour replaces the pixel (as blend would): no read.
                    if kind == SHAPE_CLS || (c >> 24u) == 255u {
                        cv_set(i, c);
                    } else {
                        cv_set(i, blend(cv_get(i), c));
                    }
                }
                col += step_col;
                row += step_row;
                if col >= bw {
                    col -= bw;
                    row += 1u;
                }
            }
        }
        case SHAPE_LINE_X, SHAPE_LINE_Y: {
            // s[2] first major coordinate, s[3] count, s[4..8] x0 y0 dx dy (ordered, major > 0).
            let lo = bitcast<i32>(s[2]);
            let count = min(s[3], end);
            let x0 = bitcast<i32>(s[4]);
            let y0 = bitcast<i32>(s[5]);
            let dx = bitcast<i32>(s[6]);
            let dy = bitcast<i32>(s[7]);
            for (var k = start; k < count; k += stride) {
                let m = lo + i32(k);
                if kind == SHAPE_LINE_X {
                    let t = m - x0;
                    plot(cbase, m, y0 + floor_div(2 * dy * t + dx, 2 * dx), c);
                } else {
                    let t = m - y0;
                    plot(cbase, x0 + floor_div(2 * dx * t + dy, 2 * dy), m, c);
                }
            }
        }
        case SHAPE_TEXT, SHAPE_DIGITS: {
            // s[2] x of the first visible cell, s[3] y, s[4] visible cells.
            let x0 = bitcast<i32>(s[2]);
            let y0 = bitcast<i32>(s[3]);
            let count = min(s[4] * 35u, end);
            for (var k = start; k < count; k += stride) {
                let n = k / 35u;
                let rem = k % 35u;
                let r = rem / 5u;
                let cc = rem % 5u;
                if glyph_bit(text_byte(s, n), r, cc) {
                    plot(cbase, x0 + 6 * i32(n) + i32(cc), y0 + i32(r), c);
                }
            }
        }
        default: {}
    }
}

// Pixels a prepared shape visits (its work), to decide between inline and shared drawing.
fn shape_work(s: Shape) -> u32 {
    switch s[0] {
        case SHAPE_BOX, SHAPE_CLS, SHAPE_DISC, SHAPE_RING, SHAPE_TRI: {
            return s[4] * s[5];
        }
        case SHAPE_LINE_X, SHAPE_LINE_Y: {
            return s[3];
        }
        case SHAPE_TEXT, SHAPE_DIGITS: {
            return s[4] * 35u;
        }
        default: {
            return 0u;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shape preparation (exact coordinate rules of docs/pxl.md).

fn no_shape() {
    shape[0] = SHAPE_NONE;
}

// Sets shape's box to the pixels x0..=x1, y0..=y1 clipped to the canvas (all i32, clamped
// inputs); returns false when nothing is left.
fn set_box(x0: i32, y0: i32, x1: i32, y1: i32) -> bool {
    let lo_x = max(x0, 0);
    let hi_x = min(x1, i32(params.width) - 1);
    let lo_y = max(y0, 0);
    let hi_y = min(y1, i32(params.height) - 1);
    if lo_x > hi_x || lo_y > hi_y {
        return false;
    }
    shape[2] = u32(lo_x);
    shape[3] = u32(lo_y);
    shape[4] = u32(hi_x - lo_x + 1);
    shape[5] = u32(hi_y - lo_y + 1);
    return true;
}

// Clips start .. start + len (exactly, as in i64) to 0 .. side; returns (lo, hi), empty when
// lo >= hi.
fn clip_run(start: i32, len: i32, side: u32) -> vec2<i32> {
    if len <= 0 || start >= i32(side) {
        return vec2<i32>(0, 0);
    }
    if start >= 0 {
        return vec2<i32>(start, start + min(len, i32(side) - start));
    }
    // start < 0 < len: the sum cannot overflow.
    return vec2<i32>(0, min(start + len, i32(side)));
}

fn prepare_rect(x: i32, y: i32, w: i32, h: i32) {
    let cx = clip_run(x, w, params.width);
    let cy = clip_run(y, h, params.height);
    if cx.x >= cx.y || cy.x >= cy.y {
        no_shape();
        return;
    }
    shape[0] = SHAPE_BOX;
    shape[2] = u32(cx.x);
    shape[3] = u32(cy.x);
    shape[4] = u32(cx.y - cx.x);
    shape[5] = u32(cy.y - cy.x);
}

fn prepare_line(ax: i32, ay: i32, bx: i32, by: i32) {
    var x0 = clamp_coord(ax);
    var y0 = clamp_coord(ay);
    var x1 = clamp_coord(bx);
    var y1 = clamp_coord(by);
    if abs(x1 - x0) >= abs(y1 - y0) {
        if x0 > x1 {
            let tx = x0;
            let ty = y0;
            x0 = x1;
            y0 = y1;
            x1 = tx;
            y1 = ty;
        }
        let dx = x1 - x0;
        if dx == 0 {
            // The single pixel (x0, y0).
            shape[0] = SHAPE_BOX;
            if !set_box(x0, y0, x0, y0) {
                no_shape();
            }
            return;
        }
        let lo = max(x0, 0);
        let hi = min(x1, i32(params.width) - 1);
        if lo > hi {
            no_shape();
            return;
        }
        shape[0] = SHAPE_LINE_X;
        shape[2] = bitcast<u32>(lo);
        shape[3] = u32(hi - lo + 1);
        shape[6] = bitcast<u32>(dx);
        shape[7] = bitcast<u32>(y1 - y0);
    } else {
        if y0 > y1 {
            let tx = x0;
            let ty = y0;
            x0 = x1;
            y0 = y1;
            x1 = tx;
            y1 = ty;
        }
        let lo = max(y0, 0);
        let hi = min(y1, i32(params.height) - 1);
        if lo > hi {
            no_shape();
            return;
        }
        shape[0] = SHAPE_LINE_Y;
        shape[2] = bitcast<u32>(lo);
        shape[3] = u32(hi - lo + 1);
        shape[6] = bitcast<u32>(x1 - x0);
        shape[7] = bitcast<u32>(y1 - y0);
    }
    shape[4] = bitcast<u32>(x0);
    shape[5] = bitcast<u32>(y0);
}

fn prepare_circle(x: i32, y: i32, radius: i32, filled: bool) {
    if radius < 0 {
        no_shape();
        return;
    }
    let cx = clamp_coord(x);
    let cy = clamp_coord(y);
    let r = min(radius, COORD_LIMIT);
    if !set_box(cx - r, cy - r, cx + r, cy + r) {
        no_shape();
        return;
    }
    shape[0] = select(SHAPE_RING, SHAPE_DISC, filled);
    shape[6] = bitcast<u32>(cx);
    shape[7] = bitcast<u32>(cy);
    shape[8] = bitcast<u32>(r);
}

fn prepare_tri(ax: i32, ay: i32, bx: i32, by: i32, cx: i32, cy: i32) {
    let x0 = clamp_coord(ax);
    let y0 = clamp_coord(ay);
    var x1 = clamp_coord(bx);
    var y1 = clamp_coord(by);
    var x2 = clamp_coord(cx);
    var y2 = clamp_coord(cy);
    let area2 = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0);
    if area2 == 0 {
        no_shape();
        return;
    }
    if area2 < 0 {
        let tx = x1;
        let ty = y1;
        x1 = x2;
        y1 = y2;
        x2 = tx;
        y2 = ty;
    }
    if !set_box(min(x0, min(x1, x2)), min(y0, min(y1, y2)), max(x0, max(x1, x2)), max(y0, max(y1, y2))) {
        no_shape();
        return;
    }
    shape[0] = SHAPE_TRI;
    shape[6] = bitcast<u32>(x0);
    shape[7] = bitcast<u32>(y0);
    shape[8] = bitcast<u32>(x1);
    shape[9] = bitcast<u32>(y1);
    shape[10] = bitcast<u32>(x2);
    shape[11] = bitcast<u32>(y2);
}

// The visible cells of a text of `len` bytes at (x, y): sets shape[2..6] and returns false
// when none is visible. Exact for every i32 x and y (the CPU computes in i64).
fn prepare_text_cells(x: i32, y: i32, len: u32) -> bool {
    if len == 0u || y >= i32(params.height) || y <= -7 || x > i32(params.width) - 1 {
        return false;
    }
    // W - 1 - x is in 0 .. 2^31 + 4095: exact in u32.
    var last = (params.width - 1u - bitcast<u32>(x)) / 6u;
    last = min(last, len - 1u);
    var first = 0u;
    if x < -4 {
        first = (bitcast<u32>(-4 - x) + 5u) / 6u;
    }
    if first > last {
        return false;
    }
    // The true value lies in -4 .. W - 1, so wrapping u32 arithmetic gives it exactly.
    shape[2] = bitcast<u32>(x) + 6u * first;
    shape[3] = bitcast<u32>(y);
    shape[4] = last - first + 1u;
    shape[5] = first;
    return true;
}

fn prepare_txt(x: i32, y: i32, offset: u32, len: u32) {
    if !prepare_text_cells(x, y, len) {
        no_shape();
        return;
    }
    shape[0] = SHAPE_TEXT;
    shape[5] = offset + shape[5];
    shape[6] = code_base;
    shape[7] = info.n_records * 8u;
}

fn prepare_num(x: i32, y: i32, v: i32) {
    // Digits right to left into a 12-byte buffer, then the used part from `start`.
    var digits = array<u32, 3>(0u, 0u, 0u);
    var rest = select(bitcast<u32>(v), 0u - bitcast<u32>(v), v < 0);
    var pos = 11u;
    loop {
        pos -= 1u;
        digits[pos / 4u] |= (48u + rest % 10u) << (8u * (pos % 4u));
        rest /= 10u;
        if rest == 0u {
            break;
        }
    }
    if v < 0 {
        pos -= 1u;
        digits[pos / 4u] |= 45u << (8u * (pos % 4u));
    }
    if !prepare_text_cells(x, y, 11u - pos) {
        no_shape();
        return;
    }
    shape[0] = SHAPE_DIGITS;
    shape[5] = pos + shape[5];
    shape[6] = digits[0];
    shape[7] = digits[1];
    shape[8] = digits[2];
}

// ---------------------------------------------------------------------------------------
// The interpreter.

fn finish(status: u32, kind: u32, at: u32) {
    outcomes[out_index].status = status;
    outcomes[out_index].kind = kind;
    outcomes[out_index].pc = at;
    outcomes[out_index].line = select(0u, word(at * 8u + 7u), at < info.n_records);
    outcomes[out_index].left_lo = left_lo;
    outcomes[out_index].left_hi = left_hi;
    outcomes[out_index].frames_lo = frames_lo;
    outcomes[out_index].frames_hi = frames_hi;
}

fn trap(kind: u32, at: u32) {
    finish(STATUS_TRAPPED, kind, at);
}

fn channel(v: i32) -> u32 {
    return u32(clamp(v, 0, 255));
}

// Whether an opcode is run by the interpreter's fast loop: arithmetic, control flow, colour,
// random numbers, frames and single pixels; not the shapes, text, PEEK and POKE (nor 0, an
// invalid record). Keeping the fast loop small matters where divergent code runs under
// masks (lavapipe runs every branch of a loop body) and for register pressure. The set is
// FAST_OPS_LO (opcodes 0..31) and FAST_OPS_HI (32..63), generated from FAST_OPS in shader.rs:
// a bit test instead of a switch.
fn is_simple(op: u32) -> bool {
    let mask = select(FAST_OPS_HI, FAST_OPS_LO, op < 32u);
    return op < 64u && ((mask >> (op & 31u)) & 1u) != 0u;
}

// Runs one simple instruction (see is_simple) at record `at` (words from rb, operand words
// w1..w3); false when it trapped.
fn exec_simple(op: u32, head: u32, at: u32, rb: u32, w1: u32, w2: u32, w3: u32) -> bool {
    switch op {
        case OP_SET: {
            store_var(w1, operand(w2, head, 1u));
        }
        case OP_ADD: {
            store_var(w1, operand(w2, head, 1u) + operand(w3, head, 2u));
        }
        case OP_SUB: {
            store_var(w1, operand(w2, head, 1u) - operand(w3, head, 2u));
        }
        case OP_MUL: {
            store_var(w1, operand(w2, head, 1u) * operand(w3, head, 2u));
        }
        case OP_AND: {
            store_var(w1, operand(w2, head, 1u) & operand(w3, head, 2u));
        }
        case OP_OR: {
            store_var(w1, operand(w2, head, 1u) | operand(w3, head, 2u));
        }
        case OP_XOR: {
            store_var(w1, operand(w2, head, 1u) ^ operand(w3, head, 2u));
        }
        case OP_SHL: {
            store_var(w1, operand(w2, head, 1u) << (bitcast<u32>(operand(w3, head, 2u)) & 31u));
        }
        case OP_SHR: {
            store_var(w1, operand(w2, head, 1u) >> (bitcast<u32>(operand(w3, head, 2u)) & 31u));
        }
        case OP_DIV, OP_MOD: {
            let b = operand(w3, head, 2u);
            if b == 0 {
                trap(TRAP_DIVISION_BY_ZERO, at);
                return false;
            }
            let a = operand(w2, head, 1u);
            var r = 0;
            if b == -1 {
                // Wrapping: MIN / -1 = MIN, MIN % -1 = 0.
                r = select(0, 0 - a, (head & 0xFFu) == OP_DIV);
            } else if (head & 0xFFu) == OP_DIV {
                r = a / b;
            } else {
                r = a % b;
            }
            store_var(w1, r);
        }
        case OP_JMP: {
            pc = w1;
        }
        case OP_IF: {
            let a = operand(w1, head, 0u);
            let b = operand(w2, head, 1u);
            var holds = false;
            switch (head >> 16u) & 0xFFu {
                case CMP_EQ: {
                    holds = a == b;
                }
                case CMP_NE: {
                    holds = a != b;
                }
                case CMP_LT: {
                    holds = a < b;
                }
                case CMP_LE: {
                    holds = a <= b;
                }
                case CMP_GT: {
                    holds = a > b;
                }
                // CMP_GE: a valid IF record holds no other code.
                default: {
                    holds = a >= b;
                }
            }
            if holds {
                pc = w3;
            }
        }
        case OP_LOOP: {
            let v = operand(w1, head, 0u) + 1;
            store_var(w1, v);
            // The limit is read after the write, like the CPU (it may be the same variable).
            if v < operand(w2, head, 1u) {
                pc = w3;
            }
        }
        case OP_CALL: {
            if sp == CALL_DEPTH {
                trap(TRAP_STACK_OVERFLOW, at);
                return false;
            }
            stack[sp] = pc;
            sp += 1u;
            pc = w1;
        }
        case OP_RET: {
            if sp == 0u {
                trap(TRAP_STACK_UNDERFLOW, at);
                return false;
            }
            sp -= 1u;
            pc = stack[sp];
        }
        case OP_HALT: {
            pc = info.n_records;
        }
        case OP_COLOR: {
            color = channel(operand(w1, head, 0u)) | (channel(operand(w2, head, 1u)) << 8u)
                | (channel(operand(w3, head, 2u)) << 16u) | (channel(value(rb, head, 3u)) << 24u);
        }
        case OP_PSET: {
            plot(canvas_base, operand(w1, head, 0u), operand(w2, head, 1u), color);
        }
        case OP_PGET: {
            let x = operand(w2, head, 1u);
            let y = operand(w3, head, 2u);
            var v = -1;
            if x >= 0 && y >= 0 && u32(x) < params.width && u32(y) < params.height {
                let p = cv_get(canvas_base + u32(y) * params.width + u32(x));
                v = bitcast<i32>(((p & 0xFFu) << 16u) | (p & 0xFF00u) | ((p >> 16u) & 0xFFu));
            }
            store_var(w1, v);
        }
        case OP_RAND: {
            var x = rng;
            x ^= x << 13u;
            x ^= x >> 17u;
            x ^= x << 5u;
            rng = x;
            let n = operand(w2, head, 1u);
            if n > 0 {
                store_var(w1, bitcast<i32>(x % u32(n)));
            } else {
                store_var(w1, bitcast<i32>(x));
            }
        }
        case OP_SEED: {
            let s = bitcast<u32>(operand(w1, head, 0u));
            rng = select(s, DEFAULT_SEED, s == 0u);
        }
        case OP_FRAME: {
            frames_lo += 1u;
            if frames_lo == 0u {
                frames_hi += 1u;
            }
        }
        default: {}
    }
    return true;
}

// Runs the lane's program until it stops (RUN_STOP), hands over a shape for the whole
// workgroup to draw (RUN_SHAPE, the shape in `shape`) or has used the slice's steps
// (RUN_PAUSE, before the next instruction).
fn run_lane() -> u32 {
    loop {
        // The fast loop: simple instructions only, until something else comes (the full
        // interpreter step below runs it) or the program, its budget or its slice ends. It
        // counts what it runs in one word (`n`, at most `quota`: the slice's steps and the
        // budget left, whichever is smaller) and settles the two counters once at its end.
        var quota = 0u;
        if steps < params.slice_steps {
            quota = params.slice_steps - steps;
        }
        if left_hi == 0u {
            quota = min(quota, left_lo);
        }
        var n = 0u;
        var trapped = false;
        loop {
            if n >= quota || pc >= info.n_records {
                break;
            }
            let at = pc;
            let rb = at * 8u;
            // The head and operand words are independent loads: one wait for memory.
            let head = head_of(at);
            let w1 = word(rb + 1u);
            let w2 = word(rb + 2u);
            let w3 = word(rb + 3u);
            let op = head & 0xFFu;
            if !is_simple(op) {
                break;
            }
            n += 1u;
            pc = at + 1u;
            if !exec_simple(op, head, at, rb, w1, w2, w3) {
                trapped = true;
                break;
            }
        }
        steps += n;
        if left_lo < n {
            left_hi -= 1u;
        }
        left_lo -= n;
        if trapped {
            // The trap's outcome was written before the counters were settled.
            outcomes[out_index].left_lo = left_lo;
            outcomes[out_index].left_hi = left_hi;
            return RUN_STOP;
        }
        if pc >= info.n_records {
            finish(STATUS_HALTED, 0u, pc);
            return RUN_STOP;
        }
        if left_lo == 0u && left_hi == 0u {
            trap(TRAP_BUDGET_EXHAUSTED, pc);
            return RUN_STOP;
        }
        if steps >= params.slice_steps {
            return RUN_PAUSE;
        }
        // The interpreter-only variant (no rasterizer, fewer registers) stops before a shape;
        // the full pipeline runs it from here, with the same state.
        if INTERP_ONLY && needs_raster(head_of(pc) & 0xFFu) {
            hand_over = true;
            return RUN_PAUSE;
        }
        steps += 1u;
        if left_lo == 0u {
            left_hi -= 1u;
        }
        left_lo -= 1u;
        let at = pc;
        let head = head_of(at);
        let rb = at * 8u;
        pc = at + 1u;
        // Operand words 1..3 are loaded together with the head (independent loads), so most
        // instructions wait for memory once.
        let w1 = word(rb + 1u);
        let w2 = word(rb + 2u);
        let w3 = word(rb + 3u);
        let op = head & 0xFFu;
        switch op {
            case OP_PEEK: {
                let addr = operand(w2, head, 1u);
                if addr < 0 || u32(addr) >= info.code_len {
                    outcomes[out_index].addr = bitcast<u32>(addr);
                    trap(TRAP_ADDRESS_OUT_OF_RANGE, at);
                    return RUN_STOP;
                }
                store_var(w1, bitcast<i32>(word(u32(addr))));
            }
            case OP_POKE: {
                let addr = operand(w1, head, 0u);
                let v = operand(w2, head, 1u);
                if addr < 0 || u32(addr) >= info.code_len {
                    outcomes[out_index].addr = bitcast<u32>(addr);
                    trap(TRAP_ADDRESS_OUT_OF_RANGE, at);
                    return RUN_STOP;
                }
                let a = u32(addr);
                // Re-validation loops over the record's operands.
                steps += 8u;
                set_word(a, bitcast<u32>(v));
                if a < info.n_records * 8u {
                    let index = a / 8u;
                    set_head(index, record_head_if_valid(index));
                }
            }
            case OP_CLS: {
                if !INTERP_ONLY {
                    shape[0] = SHAPE_CLS;
                    shape[1] = channel(operand(w1, head, 0u)) | (channel(operand(w2, head, 1u)) << 8u)
                        | (channel(operand(w3, head, 2u)) << 16u) | BLACK;
                    shape[2] = 0u;
                    shape[3] = 0u;
                    shape[4] = params.width;
                    shape[5] = params.height;
                    if draw_or_hand_over() {
                        return RUN_SHAPE;
                    }
                }
            }
            case OP_RECT, OP_LINE, OP_CIRC, OP_CIRCF, OP_TRI, OP_TXT, OP_NUM: {
                if !INTERP_ONLY && (color >> 24u) != 0u {
                    let op = head & 0xFFu;
                    let a = operand(w1, head, 0u);
                    let b = operand(w2, head, 1u);
                    if op == OP_TXT {
                        prepare_txt(a, b, w3, target_slot(rb, 3u));
                    } else if op == OP_NUM {
                        // The digit loop.
                        steps += 12u;
                        prepare_num(a, b, operand(w3, head, 2u));
                    } else if op == OP_CIRC || op == OP_CIRCF {
                        prepare_circle(a, b, operand(w3, head, 2u), op == OP_CIRCF);
                    } else if op == OP_RECT {
                        prepare_rect(a, b, operand(w3, head, 2u), value(rb, head, 3u));
                    } else if op == OP_LINE {
                        prepare_line(a, b, operand(w3, head, 2u), value(rb, head, 3u));
                    } else {
                        prepare_tri(a, b, operand(w3, head, 2u), value(rb, head, 3u), value(rb, head, 4u),
                            value(rb, head, 5u));
                    }
                    shape[1] = color;
                    if draw_or_hand_over() {
                        return RUN_SHAPE;
                    }
                }
            }
            default: {
                if is_simple(op) {
                    if !exec_simple(op, head, at, rb, w1, w2, w3) {
                        return RUN_STOP;
                    }
                    break;
                }
                // Opcode 0 in `heads`: the record is not a valid instruction.
                for (var k = 0u; k < 8u; k += 1u) {
                    outcomes[out_index].record[k] = word(rb + k);
                }
                trap(TRAP_INVALID_INSTRUCTION, at);
                return RUN_STOP;
            }
        }
    }
    return RUN_STOP;
}

// Whether an opcode draws more than one pixel (the interpreter-only variant stops before it).
fn needs_raster(op: u32) -> bool {
    switch op {
        case OP_CLS, OP_RECT, OP_LINE, OP_CIRC, OP_CIRCF, OP_TRI, OP_TXT, OP_NUM: {
            return true;
        }
        default: {
            return false;
        }
    }
}

// Draws a small prepared shape at once; returns true when it is big enough to be drawn by
// the whole workgroup instead.
fn draw_or_hand_over() -> bool {
    if shape[0] == SHAPE_NONE {
        return false;
    }
    let work = shape_work(shape);
    if work > params.inline_max {
        return true;
    }
    steps += work;
    raster(shape, canvas_base, 0u, work, 1u);
    return false;
}

// ---------------------------------------------------------------------------------------
// Lane state between slices (word k of program i's state at state_base + i * STATE_WORDS + k):
// pc, budget left (2 words), frames (2), colour, random state, sp, pending, shape_done, the
// pending shape (16 words, from word 10), then the call stack (from STATE_HEAD).

fn state_word(k: u32) -> u32 {
    return bitcast<u32>(vars[params.state_base + out_index * STATE_WORDS + k]);
}

fn set_state_word(k: u32, v: u32) {
    vars[params.state_base + out_index * STATE_WORDS + k] = bitcast<i32>(v);
}

fn save_state() {
    set_state_word(0u, pc);
    set_state_word(1u, left_lo);
    set_state_word(2u, left_hi);
    set_state_word(3u, frames_lo);
    set_state_word(4u, frames_hi);
    set_state_word(5u, color);
    set_state_word(6u, rng);
    set_state_word(7u, sp);
    set_state_word(8u, select(0u, 1u, pending));
    set_state_word(9u, shape_done);
    if pending {
        // Constant indices only, so that the shape can stay in registers.
        set_state_word(10u, shape[0]);
        set_state_word(11u, shape[1]);
        set_state_word(12u, shape[2]);
        set_state_word(13u, shape[3]);
        set_state_word(14u, shape[4]);
        set_state_word(15u, shape[5]);
        set_state_word(16u, shape[6]);
        set_state_word(17u, shape[7]);
        set_state_word(18u, shape[8]);
        set_state_word(19u, shape[9]);
        set_state_word(20u, shape[10]);
        set_state_word(21u, shape[11]);
        set_state_word(22u, shape[12]);
        set_state_word(23u, shape[13]);
    }
    for (var k = 0u; k < sp; k += 1u) {
        set_state_word(STATE_HEAD + k, stack[k]);
    }
}

fn load_state() {
    pc = state_word(0u);
    left_lo = state_word(1u);
    left_hi = state_word(2u);
    frames_lo = state_word(3u);
    frames_hi = state_word(4u);
    color = state_word(5u);
    rng = state_word(6u);
    sp = min(state_word(7u), CALL_DEPTH);
    pending = state_word(8u) != 0u;
    shape_done = state_word(9u);
    if pending {
        shape[0] = state_word(10u);
        shape[1] = state_word(11u);
        shape[2] = state_word(12u);
        shape[3] = state_word(13u);
        shape[4] = state_word(14u);
        shape[5] = state_word(15u);
        shape[6] = state_word(16u);
        shape[7] = state_word(17u);
        shape[8] = state_word(18u);
        shape[9] = state_word(19u);
        shape[10] = state_word(20u);
        shape[11] = state_word(21u);
        shape[12] = state_word(22u);
        shape[13] = state_word(23u);
    }
    for (var k = 0u; k < sp; k += 1u) {
        stack[k] = state_word(STATE_HEAD + k);
    }
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) n_groups: vec3<u32>,
) {
    let slot = wid.x + wid.y * n_groups.x;
    if slot >= params.n_dispatch {
        return;
    }
    let resume = params.resume != 0u;
    // A resumed dispatch runs the groups of the host's list.
    if lid == 0u {
        wg_group = select(slot, bitcast<u32>(vars[params.list_base + slot]), resume);
    }
    let group = workgroupUniformLoad(&wg_group);
    let first = group * params.lanes;
    if first >= params.n_programs {
        return;
    }
    let n_here = min(params.lanes, params.n_programs - first);
    let n_pixels = params.width * params.height;
    // Canvas index of the group's first canvas: the workgroup's own memory, or the buffer.
    let group_canvas = select(first * n_pixels, 0u, LOCAL_CANVAS);
    local_vars = (params.flags & FLAG_LOCAL_VARS) != 0u;
    local_prog = (params.flags & FLAG_LOCAL_PROG) != 0u;
    let g = infos[first];

    // Workgroup memory is not zeroed by the pipeline: set what is read before written.
    if lid == 0u {
        atomicStore(&n_active, 0u);
        atomicStore(&canary, 0u);
        atomicStore(&n_events, 0u);
        atomicStore(&wg_hand_over, 0u);
    }
    if lid < MAX_LANES {
        atomicStore(&sse_lo[lid], 0u);
        atomicStore(&sse_hi[lid], 0u);
    }
    if local_vars {
        // Variables start at zero; a resumed group's were saved to the buffer.
        for (var k = lid; k < LOCAL_VAR_WORDS; k += WG) {
            var v = 0;
            if resume && k < g.group_var_words {
                v = vars[g.var_base + k];
            }
            wg_vars[k] = v;
        }
    }
    if local_prog {
        // The group's record heads, then its code, as laid out in the global buffers (which a
        // suspended group wrote its POKEs back to).
        for (var k = lid; k < g.group_head_words; k += WG) {
            wg_prog[k] = heads[g.group_head_base + k];
        }
        for (var k = lid; k < g.group_code_words; k += WG) {
            wg_prog[g.group_head_words + k] = code[g.group_code_base + k];
        }
    }
    if LOCAL_CANVAS {
        // Every canvas starts opaque black; a resumed group's was saved to the buffer. (The
        // buffer's canvases were cleared by the host.)
        for (var k = lid; k < n_here * n_pixels; k += WG) {
            var p = BLACK;
            if resume {
                p = canvas[first * n_pixels + k] | BLACK;
            }
            wg_canvas[k] = p;
        }
    }
    workgroupBarrier();

    let live = lid < n_here;
    running = false;
    paused = false;
    pending = false;
    shape_done = 0u;
    steps = 0u;
    hand_over = false;
    if live {
        out_index = first + lid;
        info = infos[out_index];
        canvas_base = group_canvas + lid * n_pixels;
        if local_prog {
            code_base = info.group_head_words + info.lane;
            head_base = info.lane;
        } else {
            code_base = info.code_base;
            head_base = info.head_base;
        }
        var_base = select(info.var_base, info.lane, local_vars);
        if !resume {
            pc = 0u;
            left_lo = params.budget_lo;
            left_hi = params.budget_hi;
            frames_lo = 0u;
            frames_hi = 0u;
            color = 0xFFFFFFFFu;
            rng = DEFAULT_SEED;
            sp = 0u;
            running = true;
        } else if outcomes[out_index].status == STATUS_RUNNING {
            load_state();
            running = true;
        }
    }

    // The slice's raster work so far (every thread counts the same; lid 0's decides).
    var raster_used = 0u;
    loop {
        // The previous round's drawing (and the canvas clear) is visible from here on.
        storageBarrier();
        workgroupBarrier();
        if running && !pending && !paused {
            let r = run_lane();
            if r == RUN_SHAPE {
                pending = true;
                shape_done = 0u;
            } else if r == RUN_PAUSE {
                paused = true;
            } else {
                running = false;
            }
        }
        if pending {
            var s = shape;
            s[14] = shape_done;
            s[15] = lid;
            event_shapes[atomicAdd(&n_events, 1u)] = s;
        }
        if running && (pending || !paused) {
            atomicAdd(&n_active, 1u);
        }
        storageBarrier();
        workgroupBarrier();
        if lid == 0u {
            // Every add of this round happened before the barrier above, every add of the
            // next round comes after the next round's first barrier.
            let n_now = atomicExchange(&n_active, 0u);
            round_events = atomicExchange(&n_events, 0u);
            round_flag = select(0u, n_now, raster_used < params.slice_raster);
        }
        // No lane left that can do anything, or the slice's raster work is used up.
        if workgroupUniformLoad(&round_flag) == 0u {
            break;
        }
        // Shapes of different lanes go to different canvases: their order does not matter.
        // Each event gets its share of the round's iterations; the rest waits for the next.
        let n_round = round_events;
        let per_event = max(1u, params.round_iters / max(n_round, 1u)) * WG;
        // (No lane of the interpreter-only variant has a shape: the rasterizer is left out.)
        for (var e = 0u; e < n_round && !INTERP_ONLY; e += 1u) {
            let s = event_shapes[e];
            let to = min(s[14] + per_event, shape_work(s));
            raster(s, group_canvas + s[15] * n_pixels, s[14] + lid, to, WG);
        }
        raster_used += 1u + n_round * (2u + per_event / WG);
        if pending {
            let work = shape_work(shape);
            shape_done = min(shape_done + per_event, work);
            if shape_done >= work {
                pending = false;
            }
        }
    }

    // Lanes whose program goes on save their state for the next slice.
    if running {
        save_state();
        finish(STATUS_RUNNING, 0u, pc);
        atomicAdd(&n_active, 1u);
        if hand_over {
            atomicStore(&wg_hand_over, 1u);
        }
    }
    workgroupBarrier();
    if lid == 0u {
        round_flag = atomicLoad(&n_active);
    }
    let unfinished = workgroupUniformLoad(&round_flag);

    var scored = false;
    let may_score = LOCAL_CANVAS || (params.flags & FLAG_INLINE_SCORE) != 0u;
    if (params.flags & FLAG_SCORE) != 0u && unfinished == 0u && may_score {
        storageBarrier();
        for (var i = 0u; i < n_here; i += 1u) {
            let base = group_canvas + i * n_pixels;
            var lo = 0u;
            var hi = 0u;
            for (var k = lid; k < n_pixels; k += WG) {
                let p = cv_get(base + k);
                let t = target_image[k];
                let dr = i32(p & 0xFFu) - i32(t & 0xFFu);
                let dg = i32((p >> 8u) & 0xFFu) - i32((t >> 8u) & 0xFFu);
                let db = i32((p >> 16u) & 0xFFu) - i32((t >> 16u) & 0xFFu);
                let d = u32(dr * dr + dg * dg + db * db);
                lo += d;
                if lo < d {
                    hi += 1u;
                }
            }
            atomicAdd(&sse_hi[i], hi);
            let old = atomicAdd(&sse_lo[i], lo);
            if old + lo < old {
                atomicAdd(&sse_hi[i], 1u);
            }
        }
        workgroupBarrier();
        if live {
            outcomes[out_index].sse_lo = atomicLoad(&sse_lo[lid]);
            outcomes[out_index].sse_hi = atomicLoad(&sse_hi[lid]);
        }
        scored = true;
    }
    if LOCAL_CANVAS && !scored {
        // Run mode, a group that goes on, or the score pass: the canvases go to the buffer.
        for (var k = lid; k < n_here * n_pixels; k += WG) {
            canvas[first * n_pixels + k] = wg_canvas[k];
        }
    }
    if unfinished != 0u {
        // What lives in workgroup memory goes back to the buffers for the next slice.
        if local_vars {
            for (var k = lid; k < g.group_var_words; k += WG) {
                vars[g.var_base + k] = wg_vars[k];
            }
        }
        if local_prog {
            for (var k = lid; k < g.group_head_words; k += WG) {
                heads[g.group_head_base + k] = wg_prog[k];
            }
            for (var k = lid; k < g.group_code_words; k += WG) {
                code[g.group_code_base + k] = wg_prog[g.group_head_words + k];
            }
        }
    }

    // Canary: some drivers (Mesa's llvmpipe) end loops early once a shader has run a fixed
    // number of loop iterations in all, silently. The slices keep every dispatch below that,
    // and this checks it: the limit is shared by all loops, so if any loop above was cut, this
    // two-iteration loop is cut too, and the group's outcomes are marked as not to be trusted.
    // A real GPU always counts 2 * WG.
    for (var i = 0u; i < params.canary; i += 1u) {
        atomicAdd(&canary, 1u);
    }
    workgroupBarrier();
    let cut = atomicLoad(&canary) != params.canary * WG;
    if live && cut {
        outcomes[out_index].status = STATUS_CUT_SHORT;
    }
    if lid == 0u {
        let result = unfinished | select(0u, SCHED_SCORED, scored) | select(0u, SCHED_CUT, cut)
            | select(0u, SCHED_RASTER, atomicLoad(&wg_hand_over) != 0u);
        vars[params.sched_base + group] = bitcast<i32>(result);
    }
}

// The score pass: workgroup `t` sums the squared differences of pixels
// b * SCORE_BLOCK .. (b + 1) * SCORE_BLOCK of program p's canvas (t = p * score_blocks + b)
// against the target, for groups that finished without scoring, into two partial-sum words.
const SCORE_BLOCK: u32 = 65536u;

@compute @workgroup_size(WG)
fn score_pass(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) n_groups: vec3<u32>,
) {
    let t = wid.x + wid.y * n_groups.x;
    if t >= params.n_dispatch {
        return;
    }
    let p = t / params.score_blocks;
    let b = t % params.score_blocks;
    if lid == 0u {
        atomicStore(&sse_lo[0], 0u);
        atomicStore(&sse_hi[0], 0u);
        wg_group = bitcast<u32>(vars[params.sched_base + p / params.lanes]);
    }
    if (workgroupUniformLoad(&wg_group) & SCHED_SCORED) != 0u {
        return;
    }
    let n_pixels = params.width * params.height;
    let base = p * n_pixels;
    let end = min(n_pixels, (b + 1u) * SCORE_BLOCK);
    var lo = 0u;
    var hi = 0u;
    for (var k = b * SCORE_BLOCK + lid; k < end; k += WG) {
        let q = canvas[base + k] | BLACK;
        let r = target_image[k];
        let dr = i32(q & 0xFFu) - i32(r & 0xFFu);
        let dg = i32((q >> 8u) & 0xFFu) - i32((r >> 8u) & 0xFFu);
        let db = i32((q >> 16u) & 0xFFu) - i32((r >> 16u) & 0xFFu);
        let d = u32(dr * dr + dg * dg + db * db);
        lo += d;
        if lo < d {
            hi += 1u;
        }
    }
    atomicAdd(&sse_hi[0], hi);
    let old = atomicAdd(&sse_lo[0], lo);
    if old + lo < old {
        atomicAdd(&sse_hi[0], 1u);
    }
    workgroupBarrier();
    if lid == 0u {
        vars[params.partial_base + 2u * t] = bitcast<i32>(atomicLoad(&sse_lo[0]));
        vars[params.partial_base + 2u * t + 1u] = bitcast<i32>(atomicLoad(&sse_hi[0]));
    }
}
