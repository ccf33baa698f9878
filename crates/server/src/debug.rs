//! The web UI's program tools: `POST /api/check` (diagnostics only), `POST /api/debug` (the
//! stateless step debugger over the CPU reference VM) and `POST /api/cart/pack` /
//! `POST /api/cart/unpack` (cartridges made and read for the editor).
//!
//! The debugger keeps no session. Every request carries the program and the position the
//! client is at (a cycle count); the server replays from the start with the CPU VM, which is
//! deterministic, up to that point and then takes the requested action (step, step over a
//! `CALL`, continue to a breakpoint, step back). Replays are bounded by a cycle ceiling
//! ([`DEBUG_MAX_CYCLES`]), a canvas ceiling ([`DEBUG_MAX_PIXELS`]) and the server's execution
//! time limit, and they take an execution slot like `/api/execute` does. Nothing here touches
//! the store or runs on the GPU.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use gvpie_exec::Stop;
use gvpie_pxl::{Config, Diagnostic, NoTrace, Status, StepEvent, Texture, Vm};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, ErrorBody};
use crate::json::AppJson;
use crate::state::AppState;

/// The most cycles one debugger request may replay (also its largest budget).
pub const DEBUG_MAX_CYCLES: u64 = 10_000_000;
/// The largest canvas the debugger works on (512×512), since every answer carries it.
pub const DEBUG_MAX_PIXELS: u64 = 512 * 512;
/// The most changed pixels listed in one answer (`n_changed` still counts them all).
const MAX_CHANGED_LISTED: usize = 16_384;
/// Pixel work per replay slice, as in `crate::run`: bounds the time between deadline checks.
const SLICE_PIXELS: u64 = 1 << 22;
/// The most instructions between two deadline checks.
const MAX_SLICE: u64 = 1 << 16;

// ---------------------------------------------------------------------------------------------
// Types

/// A program to check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// PXL source.
    pub code: String,
}

/// One problem in the source, positioned for an editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DiagnosticJson {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Width of the marked span in characters (at least 1).
    pub width: u32,
    /// What is wrong, with any hint.
    pub message: String,
}

impl From<&Diagnostic> for DiagnosticJson {
    fn from(diagnostic: &Diagnostic) -> DiagnosticJson {
        DiagnosticJson {
            line: diagnostic.line,
            column: diagnostic.column,
            width: diagnostic.width.max(1),
            message: diagnostic.message.clone(),
        }
    }
}

/// The diagnostics of a program (an empty list when it compiles).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckResponse {
    /// True when the program compiles.
    pub ok: bool,
    /// Every problem, sorted by position.
    pub diagnostics: Vec<DiagnosticJson>,
    /// Instructions in the program (0 when it does not compile).
    pub n_instructions: usize,
    /// Variable names, in index order (empty when it does not compile).
    pub variables: Vec<String>,
    /// Label names (empty when it does not compile).
    pub labels: Vec<String>,
}

/// What the debugger should do from `cycle`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DebugMode {
    /// Go to cycle 0 (nothing executed).
    #[default]
    Reset,
    /// Go to exactly `cycle` (replay).
    Goto,
    /// Execute one instruction.
    Step,
    /// Execute one instruction; when it is a `CALL`, run until that call returns (or a
    /// breakpoint hits).
    Over,
    /// Run until a line breakpoint, a pixel breakpoint, the end of the program or the ceiling.
    Continue,
    /// Go back one instruction (replay to `cycle - 1`).
    Back,
}

/// A breakpoint on writes to one pixel: the run stops after the step that drew on it, also when
/// it drew the colour the pixel already had (only a fully transparent colour draws nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PixelBreakpoint {
    /// Column, from the left.
    pub x: u32,
    /// Row, from the top.
    pub y: u32,
}

/// One debugger request: the program, where the client is, and what to do.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "SET i 0\nloop:\nPSET i 0\nLOOP i 4 loop", "mode": "step", "cycle": 0}))]
pub struct DebugRequest {
    /// PXL source.
    pub code: String,
    /// Canvas width (default 128).
    #[serde(default)]
    pub width: Option<u32>,
    /// Canvas height (default 64).
    #[serde(default)]
    pub height: Option<u32>,
    /// The cycle budget of the run (default the server's default, at most `DEBUG_MAX_CYCLES`).
    #[serde(default)]
    pub budget: Option<u64>,
    /// The position the client is at: instructions executed so far (default 0).
    #[serde(default)]
    pub cycle: u64,
    /// What to do (default `reset`).
    #[serde(default)]
    pub mode: DebugMode,
    /// Source lines to stop before (for `continue` and `over`).
    #[serde(default)]
    pub breakpoints: Vec<u32>,
    /// Pixels whose change stops the run (for `continue` and `over`).
    #[serde(default)]
    pub pixel_breakpoints: Vec<PixelBreakpoint>,
}

/// A variable and its value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VariableJson {
    /// Its name in the source.
    pub name: String,
    /// Its value now.
    pub value: i32,
    /// True when the last step changed it.
    pub changed: bool,
}

/// One active call, innermost last.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FrameJson {
    /// The source line of the `CALL`.
    pub call_line: u32,
    /// The source line execution returns to (0 when it returns past the end).
    pub return_line: u32,
    /// The record index it returns to.
    pub return_pc: u32,
}

/// A run-time error the program stopped with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DebugTrap {
    /// `division_by_zero`, `stack_overflow`, `stack_underflow`, `budget_exhausted`, ….
    pub kind: String,
    /// A sentence for people.
    pub message: String,
    /// The source line of the instruction.
    pub line: u32,
}

/// Where the program stands after the request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DebugResponse {
    /// Instructions executed (the position to send back for the next request).
    pub cycle: u64,
    /// Record index of the next instruction.
    pub pc: u32,
    /// Source line of the next instruction (0 at the end of the program).
    pub line: u32,
    /// Source line of the instruction the last step executed (0 at cycle 0).
    pub last_line: u32,
    /// `running`, `halted` or `trapped`.
    pub status: String,
    /// Why it stopped here: `position` (reset, goto, back), `step`, `returned` (over),
    /// `breakpoint`, `pixel_breakpoint`, `end` (halted or trapped), `time_limit`.
    pub reason: String,
    /// The pixel breakpoint that hit, when `reason` is `pixel_breakpoint`.
    pub hit_pixel: Option<PixelBreakpoint>,
    /// The run-time error, when trapped.
    pub trap: Option<DebugTrap>,
    /// The cycle budget of the run.
    pub budget: u64,
    /// Every variable, in index order.
    pub variables: Vec<VariableJson>,
    /// Active calls, innermost last.
    pub call_stack: Vec<FrameJson>,
    /// The drawing colour (r, g, b, a).
    pub color: [u8; 4],
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// The canvas as raw RGBA bytes (4 per pixel, row by row), base64.
    pub canvas: String,
    /// Pixels the last step changed, as `[x, y]` pairs (at most 16384 listed).
    pub changed: Vec<[u32; 2]>,
    /// How many pixels the last step changed.
    pub n_changed: usize,
}

/// A program to pack as a cartridge.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackRequest {
    /// PXL source (it must compile).
    pub code: String,
    /// Canvas width of the screen shown (default 128).
    #[serde(default)]
    pub width: Option<u32>,
    /// Canvas height of the screen shown (default 64).
    #[serde(default)]
    pub height: Option<u32>,
    /// Cycle budget for drawing the screen (default the server's default).
    #[serde(default)]
    pub budget: Option<u64>,
}

/// A cartridge made by `POST /api/cart/pack`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PackResponse {
    /// The cartridge PNG, base64.
    pub cartridge: String,
    /// Its size in bytes.
    pub bytes: usize,
}

/// A cartridge to read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnpackRequest {
    /// The cartridge PNG, base64.
    pub cartridge: String,
}

/// The source a cartridge carries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnpackResponse {
    /// PXL source.
    pub code: String,
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// Check a program: every diagnostic, without running it.
#[utoipa::path(post, path = "/api/check", tag = "tools", request_body = CheckRequest,
    responses(
        (status = 200, description = "The diagnostics (an empty list when it compiles)", body = CheckResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn check(
    State(state): State<AppState>,
    AppJson(request): AppJson<CheckRequest>,
) -> Result<Json<CheckResponse>, AppError> {
    check_code_size(&state, &request.code)?;
    // Parsing is linear and bounded by the code limit, but it is work: it takes a slot and runs
    // on a blocking thread like every other compile.
    let response = crate::jobs::gated(&state, move |_stop| Ok(check_source(&request.code))).await?;
    Ok(Json(response))
}

/// Debug a program on the CPU reference VM: replay to `cycle`, then take `mode`'s action.
///
/// Stateless: send the program and the `cycle` of the previous answer with every request.
/// A program that does not compile is answered 422 `invalid_program`.
#[utoipa::path(post, path = "/api/debug", tag = "tools", request_body = DebugRequest,
    responses(
        (status = 200, description = "The machine state after the action", body = DebugResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Invalid field, limit exceeded, or the program does not compile", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn debug(
    State(state): State<AppState>,
    AppJson(request): AppJson<DebugRequest>,
) -> Result<Json<DebugResponse>, AppError> {
    check_code_size(&state, &request.code)?;
    let (width, height) = size_or_declared(request.width, request.height, &request.code);
    let config = debug_config(&state, Some(width), Some(height), request.budget)?;
    if request.cycle > config.budget {
        return Err(AppError::InvalidRequest(format!(
            "cycle {} is past the budget of {}",
            request.cycle, config.budget
        )));
    }
    let response = crate::jobs::gated(&state, move |stop| {
        let texture = compile_or_422(&request.code)?;
        Debugger::new(&texture, config, stop.clone()).answer(&request)
    })
    .await?;
    Ok(Json(response))
}

/// Pack a program as a cartridge: a PNG of its screen that carries its source.
#[utoipa::path(post, path = "/api/cart/pack", tag = "tools", request_body = PackRequest,
    responses(
        (status = 200, description = "The cartridge", body = PackResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Invalid field, limit exceeded, or the program does not compile", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn cart_pack(
    State(state): State<AppState>,
    AppJson(request): AppJson<PackRequest>,
) -> Result<Json<PackResponse>, AppError> {
    check_code_size(&state, &request.code)?;
    let limits = state.limits();
    let (width, height) = size_or_declared(request.width, request.height, &request.code);
    check_canvas(width, height, limits.max_side, limits.max_pixels)?;
    let budget = request.budget.unwrap_or(limits.default_budget).min(limits.max_budget);
    if budget == 0 {
        return Err(AppError::InvalidRequest("budget must be at least 1".to_string()));
    }
    let config = Config { width, height, budget, max_frames: 0 };
    let response = crate::jobs::gated(&state, move |stop| {
        let texture = compile_or_422(&request.code)?;
        let mut vm = Vm::new(&texture, &config).map_err(|err| AppError::LimitExceeded(err.to_string()))?;
        // The screen is whatever the program drew by the end, the trap or the time limit.
        run_to(&mut vm, u64::MAX, stop);
        let png = gvpie_cart::pack(&request.code, vm.canvas())
            .map_err(|err| AppError::InvalidRequest(format!("cannot pack this program: {err}")))?;
        Ok::<_, AppError>(PackResponse {
            bytes: png.len(),
            cartridge: base64::engine::general_purpose::STANDARD.encode(png),
        })
    })
    .await?;
    Ok(Json(response))
}

/// Read the source a cartridge PNG carries.
#[utoipa::path(post, path = "/api/cart/unpack", tag = "tools", request_body = UnpackRequest,
    responses(
        (status = 200, description = "The source", body = UnpackResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Not base64, or not a gvpie cartridge", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn cart_unpack(
    State(state): State<AppState>,
    AppJson(request): AppJson<UnpackRequest>,
) -> Result<Json<UnpackResponse>, AppError> {
    let max_code_bytes = state.limits().max_code_bytes;
    // Decoding is bounded in memory by gvpie-cart; the gate bounds how many run at once.
    let response = crate::jobs::gated(&state, move |_stop| {
        let png = base64::engine::general_purpose::STANDARD
            .decode(request.cartridge.trim())
            .map_err(|err| AppError::InvalidRequest(format!("cartridge is not valid base64: {err}")))?;
        let cartridge = gvpie_cart::unpack(&png)
            .map_err(|err| AppError::InvalidRequest(format!("this PNG is not a gvpie cartridge: {err}")))?;
        if cartridge.source.len() > max_code_bytes {
            return Err(AppError::PayloadTooLarge(format!(
                "the cartridge's program is {} bytes; this server's limit is {max_code_bytes}",
                cartridge.source.len()
            )));
        }
        Ok(UnpackResponse { code: cartridge.source })
    })
    .await?;
    Ok(Json(response))
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn check_code_size(state: &AppState, code: &str) -> Result<(), AppError> {
    let limit = state.limits().max_code_bytes;
    if code.len() > limit {
        return Err(AppError::PayloadTooLarge(format!("code is {} bytes; this server's limit is {limit}", code.len())));
    }
    Ok(())
}

/// The watched pixels that the next instruction draws on, whatever colour they have now: it is
/// run first on two copies of the machine whose pixel is made black and white (a drawing with
/// any visible colour changes at least one of them). Only drawing instructions are tried.
fn pixels_drawn_on(vm: &Vm, watched: &[(PixelBreakpoint, Option<gvpie_raster::Rgba>)]) -> Vec<PixelBreakpoint> {
    use gvpie_pxl::Op;
    let opcode = vm.code_words().get(vm.pc() as usize * gvpie_pxl::RECORD_WORDS).map(|word| (word & 0xFF) as u8);
    let draws = matches!(
        opcode.and_then(Op::from_code),
        Some(Op::Txt | Op::Rect | Op::Pset | Op::Line | Op::Circ | Op::Circf | Op::Tri | Op::Cls | Op::Num)
    );
    if !draws {
        return Vec::new();
    }
    let probe = |sentinel: gvpie_raster::Rgba| {
        let mut copy = vm.clone();
        if let Some(state) = copy.machine_state() {
            for (pixel, _) in watched {
                state.canvas.pset(pixel.x as i32, pixel.y as i32, sentinel);
            }
        }
        copy.step();
        watched
            .iter()
            .filter(|(pixel, _)| copy.canvas().get(pixel.x as i32, pixel.y as i32) != Some(sentinel))
            .map(|(pixel, _)| *pixel)
            .collect::<Vec<_>>()
    };
    let mut drawn = probe(gvpie_raster::Rgba::new(0, 0, 0, 255));
    drawn.extend(probe(gvpie_raster::Rgba::new(255, 255, 255, 255)));
    drawn
}

fn check_canvas(width: u32, height: u32, max_side: u32, max_pixels: u64) -> Result<(), AppError> {
    if width == 0 || height == 0 {
        return Err(AppError::InvalidRequest(format!("the canvas must be at least 1x1, not {width}x{height}")));
    }
    if width > max_side || height > max_side || u64::from(width) * u64::from(height) > max_pixels {
        return Err(AppError::LimitExceeded(format!(
            "a {width}x{height} canvas is too large here (sides up to {max_side}, at most {max_pixels} pixels)"
        )));
    }
    Ok(())
}

/// The canvas size of a request: the one it gives, else (neither width nor height given) the
/// size the program declares with `SIZE`, else 128×64.
fn size_or_declared(width: Option<u32>, height: Option<u32>, code: &str) -> (u32, u32) {
    match (width, height) {
        (None, None) => gvpie_pxl::declared_size(code).unwrap_or((128, 64)),
        (width, height) => (width.unwrap_or(128), height.unwrap_or(64)),
    }
}

fn debug_config(
    state: &AppState,
    width: Option<u32>,
    height: Option<u32>,
    budget: Option<u64>,
) -> Result<Config, AppError> {
    let limits = state.limits();
    let width = width.unwrap_or(128);
    let height = height.unwrap_or(64);
    check_canvas(width, height, limits.max_side, limits.max_pixels.min(DEBUG_MAX_PIXELS))?;
    let ceiling = DEBUG_MAX_CYCLES.min(limits.max_budget);
    let budget = budget.unwrap_or(limits.default_budget.min(ceiling));
    if budget == 0 {
        return Err(AppError::InvalidRequest("budget must be at least 1".to_string()));
    }
    if budget > ceiling {
        return Err(AppError::LimitExceeded(format!(
            "the debugger replays at most {ceiling} cycles; budget is {budget}"
        )));
    }
    Ok(Config { width, height, budget, max_frames: 0 })
}

fn compile_or_422(code: &str) -> Result<Texture, AppError> {
    gvpie_pxl::compile(code).map_err(|diagnostics| AppError::InvalidProgram {
        message: diagnostics.iter().map(Diagnostic::headline).collect::<Vec<_>>().join("\n"),
        line: diagnostics.first().map_or(0, |d| d.line),
        column: diagnostics.first().map_or(0, |d| d.column),
    })
}

fn check_source(code: &str) -> CheckResponse {
    match gvpie_pxl::compile(code) {
        Ok(texture) => {
            let names = texture.names().unwrap_or_default();
            CheckResponse {
                ok: true,
                diagnostics: Vec::new(),
                n_instructions: texture.n_records(),
                variables: names.variables,
                labels: names.labels.into_iter().map(|(name, _)| name).collect(),
            }
        }
        Err(diagnostics) => CheckResponse {
            ok: false,
            diagnostics: diagnostics.iter().map(DiagnosticJson::from).collect(),
            n_instructions: 0,
            variables: Vec::new(),
            labels: Vec::new(),
        },
    }
}

/// Runs `vm` silently until it has executed `target` instructions, stopped, or reached
/// `stop` (its deadline, or its request gone). Returns false when `stop` stopped it.
fn run_to(vm: &mut Vm, target: u64, stop: &Stop) -> bool {
    let pixels = u64::from(vm.canvas().width()) * u64::from(vm.canvas().height());
    let slice = (SLICE_PIXELS / pixels.max(1)).clamp(1, MAX_SLICE);
    while vm.cycles() < target && vm.status() == Status::Running {
        vm.run_traced(slice.min(target - vm.cycles()), &mut NoTrace);
        if stop.reached().is_some() {
            return vm.cycles() >= target || vm.status() != Status::Running;
        }
    }
    true
}

/// One debugger request's work: find the cycle to stop at, then rebuild the state there.
struct Debugger<'a> {
    texture: &'a Texture,
    config: Config,
    stop: Stop,
}

impl<'a> Debugger<'a> {
    fn new(texture: &'a Texture, config: Config, stop: Stop) -> Debugger<'a> {
        Debugger { texture, config, stop }
    }

    fn vm(&self) -> Result<Vm, AppError> {
        Vm::new(self.texture, &self.config).map_err(|err| AppError::LimitExceeded(err.to_string()))
    }

    fn answer(&self, request: &DebugRequest) -> Result<DebugResponse, AppError> {
        let (target, reason, hit_pixel) = match request.mode {
            DebugMode::Reset => (0, "position", None),
            DebugMode::Goto => (request.cycle, "position", None),
            DebugMode::Back => (request.cycle.saturating_sub(1), "position", None),
            DebugMode::Step | DebugMode::Over | DebugMode::Continue => self.search(request)?,
        };
        self.materialize(target, reason, hit_pixel)
    }

    /// Replays to the request's cycle, then steps as its mode says. Returns the cycle to stop
    /// at and why.
    fn search(&self, request: &DebugRequest) -> Result<(u64, &'static str, Option<PixelBreakpoint>), AppError> {
        let mut vm = self.vm()?;
        if !run_to(&mut vm, request.cycle, &self.stop) {
            return Ok((vm.cycles(), "time_limit", None));
        }
        if vm.status() != Status::Running {
            return Ok((vm.cycles(), "end", None));
        }
        let lines: HashSet<u32> = request.breakpoints.iter().copied().collect();
        let watched: Vec<(PixelBreakpoint, Option<gvpie_raster::Rgba>)> = request
            .pixel_breakpoints
            .iter()
            .map(|p| (*p, vm.canvas().get(p.x as i32, p.y as i32)))
            .filter(|(_, color)| color.is_some())
            .collect();
        let mut watched = watched;
        let depth = vm.call_stack().len();
        let mut n_steps: u64 = 0;
        loop {
            let drawn_on = if watched.is_empty() { Vec::new() } else { pixels_drawn_on(&vm, &watched) };
            vm.step();
            n_steps += 1;
            if vm.status() != Status::Running {
                return Ok((vm.cycles(), "end", None));
            }
            if request.mode == DebugMode::Step {
                return Ok((vm.cycles(), "step", None));
            }
            for (pixel, color) in &mut watched {
                let now = vm.canvas().get(pixel.x as i32, pixel.y as i32);
                if now != *color || drawn_on.contains(pixel) {
                    return Ok((vm.cycles(), "pixel_breakpoint", Some(*pixel)));
                }
            }
            if lines.contains(&vm.next_line()) {
                return Ok((vm.cycles(), "breakpoint", None));
            }
            if request.mode == DebugMode::Over && vm.call_stack().len() <= depth {
                return Ok((vm.cycles(), if n_steps == 1 { "step" } else { "returned" }, None));
            }
            if n_steps.is_multiple_of(4096) && self.stop.reached().is_some() {
                return Ok((vm.cycles(), "time_limit", None));
            }
        }
    }

    /// Rebuilds the machine at `target` cycles, noting what its last step changed.
    fn materialize(
        &self,
        target: u64,
        reason: &'static str,
        hit_pixel: Option<PixelBreakpoint>,
    ) -> Result<DebugResponse, AppError> {
        let mut vm = self.vm()?;
        let mut before: Option<(Vec<u32>, Vec<i32>)> = None;
        let mut last_line = 0;
        let mut reason = reason;
        if target > 0 {
            if !run_to(&mut vm, target - 1, &self.stop) {
                reason = "time_limit";
            } else if vm.status() == Status::Running {
                before = Some((vm.canvas().pixels().to_vec(), vm.variables().to_vec()));
                let mut tracer = |event: &StepEvent| last_line = event.line;
                vm.run_traced(1, &mut tracer);
            }
        }
        // At the end of the program nothing is left to run: reaching it halts for free.
        if vm.status() == Status::Running && vm.pc() as usize >= self.texture.n_records() {
            vm.step();
        }
        if reason == "position" && vm.status() != Status::Running && target > vm.cycles() {
            reason = "end";
        }
        Ok(self.describe(&vm, before, last_line, reason, hit_pixel))
    }

    fn describe(
        &self,
        vm: &Vm,
        before: Option<(Vec<u32>, Vec<i32>)>,
        last_line: u32,
        reason: &'static str,
        hit_pixel: Option<PixelBreakpoint>,
    ) -> DebugResponse {
        let canvas = vm.canvas();
        let width = canvas.width();
        let mut changed = Vec::new();
        let mut n_changed = 0;
        let mut old_vars: &[i32] = &[];
        if let Some((old_pixels, vars)) = &before {
            for (idx, (old, new)) in old_pixels.iter().zip(canvas.pixels()).enumerate() {
                if old != new {
                    n_changed += 1;
                    if changed.len() < MAX_CHANGED_LISTED {
                        let idx = idx as u32;
                        changed.push([idx % width, idx / width]);
                    }
                }
            }
            old_vars = vars;
        }
        let names = self.texture.names().unwrap_or_default();
        let variables = vm
            .variables()
            .iter()
            .enumerate()
            .map(|(idx, value)| VariableJson {
                name: names.variables.get(idx).cloned().unwrap_or_else(|| format!("v{idx}")),
                value: *value,
                changed: old_vars.get(idx).is_some_and(|old| old != value),
            })
            .collect();
        let call_stack = vm
            .call_stack()
            .iter()
            .map(|&return_pc| FrameJson {
                call_line: vm.line_of(return_pc.saturating_sub(1)),
                return_line: vm.line_of(return_pc),
                return_pc,
            })
            .collect();
        let (status, trap) = match vm.status() {
            Status::Running => ("running", None),
            Status::Halted => ("halted", None),
            Status::Trapped(trap) => (
                "trapped",
                Some(DebugTrap {
                    kind: trap.kind.name().to_string(),
                    message: trap.message(vm.budget(), vm.code_len()),
                    line: trap.line,
                }),
            ),
        };
        let reason = if status != "running" && reason != "time_limit" && reason != "position" { "end" } else { reason };
        let color = vm.color();
        DebugResponse {
            cycle: vm.cycles(),
            pc: vm.pc(),
            line: if status == "running" { vm.next_line() } else { trap.as_ref().map_or(0, |t| t.line) },
            last_line,
            status: status.to_string(),
            reason: reason.to_string(),
            hit_pixel,
            trap,
            budget: vm.budget(),
            variables,
            call_stack,
            color: [color.r, color.g, color.b, color.a],
            width,
            height: canvas.height(),
            canvas: base64::engine::general_purpose::STANDARD.encode(canvas.to_rgba8()),
            changed,
            n_changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str, mode: DebugMode, cycle: u64) -> DebugResponse {
        run_with(code, mode, cycle, vec![4], Vec::new())
    }

    fn run_with(
        code: &str,
        mode: DebugMode,
        cycle: u64,
        breakpoints: Vec<u32>,
        pixels: Vec<PixelBreakpoint>,
    ) -> DebugResponse {
        let texture = gvpie_pxl::compile(code).expect("compiles");
        let config = Config { width: 8, height: 4, budget: 1000, max_frames: 0 };
        let request = DebugRequest {
            code: code.to_string(),
            width: None,
            height: None,
            budget: None,
            cycle,
            mode,
            breakpoints,
            pixel_breakpoints: pixels,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        Debugger::new(&texture, config, Stop::at(deadline)).answer(&request).expect("answers")
    }

    const LOOP: &str = "SET i 0\nloop:\nPSET i 0\nADD s s i\nLOOP i 4 loop\nHALT";

    #[test]
    fn step_reports_variables_and_changed_pixels() {
        let first = run(LOOP, DebugMode::Step, 0);
        assert_eq!((first.cycle, first.line, first.last_line, first.status.as_str()), (1, 3, 1, "running"));
        let second = run(LOOP, DebugMode::Step, 1);
        assert_eq!(second.changed, vec![[0, 0]]);
        assert_eq!(second.n_changed, 1);
        let back = run(LOOP, DebugMode::Back, 2);
        assert_eq!(back.cycle, 1);
        assert_eq!(back.variables[0].name, "i");
    }

    #[test]
    fn continue_stops_at_breakpoints_and_the_end() {
        // Line 4 (ADD) is a breakpoint: the first stop is before it, at cycle 2.
        let hit = run(LOOP, DebugMode::Continue, 0);
        assert_eq!((hit.cycle, hit.line, hit.reason.as_str()), (2, 4, "breakpoint"));
        // The pixel (2, 0) changes in the third pass of the loop (PSET 2 0, the 8th cycle).
        let pixel = run_with(LOOP, DebugMode::Continue, 2, Vec::new(), vec![PixelBreakpoint { x: 2, y: 0 }]);
        assert_eq!(
            (pixel.cycle, pixel.reason.as_str(), pixel.changed.as_slice()),
            (8, "pixel_breakpoint", &[[2, 0]][..])
        );
        assert_eq!(pixel.hit_pixel, Some(PixelBreakpoint { x: 2, y: 0 }));
        // A write of the colour already there is a write: each PSET stops the run, and so does a
        // shape covering the pixel; drawing elsewhere and a transparent colour do not.
        let same = "COLOR 255 255 255\nPSET 1 0\nPSET 1 0\nPSET 3 3\nRECT 0 0 4 1\nCOLOR 0 0 0 0\nPSET 1 0\nHALT";
        let watch = || vec![PixelBreakpoint { x: 1, y: 0 }];
        let stops: Vec<u64> = [0, 2, 3]
            .iter()
            .map(|&from| run_with(same, DebugMode::Continue, from, Vec::new(), watch()))
            .map(|hit| if hit.reason == "pixel_breakpoint" { hit.cycle } else { 0 })
            .collect();
        assert_eq!(stops, [2, 3, 5]);
        let last = run_with(same, DebugMode::Continue, 5, Vec::new(), watch());
        assert_eq!((last.reason.as_str(), last.cycle), ("end", 8));
        let end = run("SET a 1\nHALT", DebugMode::Continue, 0);
        assert_eq!((end.status.as_str(), end.reason.as_str(), end.cycle), ("halted", "end", 2));
    }

    #[test]
    fn over_skips_a_call() {
        let code = "CALL f\nSET a 1\nHALT\nf:\nSET b 2\nRET";
        let over = run(code, DebugMode::Over, 0);
        assert_eq!((over.cycle, over.line, over.reason.as_str()), (3, 2, "returned"));
        let into = run(code, DebugMode::Step, 0);
        assert_eq!((into.cycle, into.line, into.call_stack.len()), (1, 5, 1));
        assert_eq!(into.call_stack[0].call_line, 1);
    }

    #[test]
    fn traps_are_reported() {
        let trapped = run("SET a 0\nDIV b 1 a", DebugMode::Continue, 0);
        assert_eq!(trapped.status, "trapped");
        assert_eq!(trapped.trap.as_ref().map(|t| (t.kind.as_str(), t.line)), Some(("division_by_zero", 2)));
    }

    #[test]
    fn check_lists_diagnostics() {
        let bad = check_source("RECTT 1 2 3 4");
        assert!(!bad.ok);
        assert_eq!((bad.diagnostics[0].line, bad.diagnostics[0].column), (1, 1));
        let good = check_source("SET x 1\nl:\nHALT");
        assert_eq!((good.ok, good.variables, good.labels), (true, vec!["x".to_string()], vec!["l".to_string()]));
    }
}
