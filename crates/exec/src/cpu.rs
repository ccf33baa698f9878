//! The CPU path: the reference VM run in slices that check a [`Stop`] between them, one program
//! at a time or (for the GPU's fallback) on every core.
//!
//! A slice is at most [`MAX_SLICE`] instructions and at most [`SLICE_PIXELS`] pixels of drawing
//! (each instruction counted at the most pixels its opcode can touch, see `pixel_work`), so the
//! time between two checks is bounded whatever the budget and the canvas. With [`Stop::never`]
//! a run is one slice.
//!
//! Every run goes through the execution tiers (`gvpie_jit::TieredRun`): interpreted, or
//! compiled to native code when its [`Tier`] says so, with identical results. A traced run is
//! always interpreted (the tracer sees every instruction).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gvpie_jit::{Tier, TieredRun};
use gvpie_pxl::{Config, NoTrace, Status, Texture, Tracer, Vm};

use crate::stop::{Stop, StopReason};
use crate::{BackendName, ExecError, Outcome, Stopped};

/// Pixel work per slice: a slice of `SLICE_PIXELS / pixels` instructions bounds the time
/// between two checks of the [`Stop`].
pub const SLICE_PIXELS: u64 = 1 << 22;
/// The most instructions between two checks of the [`Stop`].
pub const MAX_SLICE: u64 = 1 << 16;

/// One program on the CPU VM, run in slices; it can stop between them and go on elsewhere
/// (the server starts small runs on its async worker and moves unfinished ones to a blocking
/// thread).
#[derive(Debug)]
pub struct CpuRun {
    run: TieredRun,
    /// The most pixels one instruction of this program can touch ([`pixel_work`]).
    work: u64,
    budget: u64,
    start: Instant,
    backend: BackendName,
    gpu_fallback: Option<String>,
}

impl CpuRun {
    /// Loads `texture` with a fresh canvas; the clock of the outcome starts now.
    ///
    /// # Errors
    ///
    /// [`ExecError::Canvas`] for a canvas size outside 1..=4096.
    pub fn new(texture: &Texture, config: &Config) -> Result<CpuRun, ExecError> {
        CpuRun::with_tier(texture, config, Tier::Auto)
    }

    /// [`CpuRun::new`] under an execution `tier`.
    ///
    /// # Errors
    ///
    /// [`ExecError::Canvas`] for a canvas size outside 1..=4096.
    pub fn with_tier(texture: &Texture, config: &Config, tier: Tier) -> Result<CpuRun, ExecError> {
        let start = Instant::now();
        let vm = Vm::new(texture, config).map_err(ExecError::Canvas)?;
        let run = TieredRun::new(vm, tier);
        let work = pixel_work(texture, config);
        Ok(CpuRun { run, work, budget: config.budget, start, backend: BackendName::Cpu, gpu_fallback: None })
    }

    /// Instructions per slice for a canvas of `pixels` pixels and `slice_pixels` pixel work.
    pub fn slice_for(pixels: u64, slice_pixels: u64) -> u64 {
        (slice_pixels / pixels.max(1)).clamp(1, MAX_SLICE)
    }

    /// Runs at most `max_steps` more instructions; true when the program has finished (halted,
    /// trapped or out of budget).
    pub fn step(&mut self, max_steps: u64) -> bool {
        self.run.run(max_steps) != Status::Running
    }

    /// Wall time since [`CpuRun::new`].
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Runs to the end, or until `stop` is reached (checked between slices).
    pub fn run_until(self, stop: &Stop) -> Outcome {
        self.run_traced_until(stop, &mut NoTrace)
    }

    /// [`CpuRun::run_until`], reporting every instruction to `tracer`.
    pub fn run_traced_until<T: Tracer>(mut self, stop: &Stop, tracer: &mut T) -> Outcome {
        if stop.is_never() {
            self.run_slice(u64::MAX, tracer);
            return self.finish(None);
        }
        let slice = CpuRun::slice_for(self.work, SLICE_PIXELS);
        loop {
            if let Some(reason) = stop.reached() {
                return self.finish(Some(reason));
            }
            if self.run_slice(slice, tracer) != Status::Running {
                return self.finish(None);
            }
        }
    }

    /// One slice: through the tiers, or interpreted when a tracer listens.
    fn run_slice<T: Tracer>(&mut self, max_steps: u64, tracer: &mut T) -> Status {
        if T::ENABLED { self.run.vm_mut().run_traced(max_steps, tracer) } else { self.run.run(max_steps) }
    }

    /// The outcome so far; `stopped` when a [`Stop`] ended the run before the program did.
    pub fn finish(self, stopped: Option<StopReason>) -> Outcome {
        let vm = self.run.vm();
        let stopped = match stopped {
            Some(reason) if vm.status() == Status::Running => Some(Stopped { reason, line: vm.next_line() }),
            _ => None,
        };
        let tier = Some(self.run.tier_used());
        let jit_fallback = self.run.fallback().map(str::to_string);
        Outcome {
            tier,
            jit_fallback,
            result: self.run.into_vm().into_result(),
            backend: self.backend,
            duration: self.start.elapsed(),
            budget: self.budget,
            stopped,
            gpu_fallback: self.gpu_fallback,
        }
    }
}

/// The most pixels one instruction of `texture` can touch on `config`'s canvas, so that a slice
/// of `SLICE_PIXELS / work` instructions bounds the drawing between two checks: the whole canvas
/// for `RECT`, `CIRC`, `CIRCF`, `TRI`, `CLS` and a kept `FRAME` (and for any program with `POKE`,
/// which can write any instruction), a row and a column for `LINE`, a line of glyphs for `TXT`
/// and `NUM`, one pixel for `PSET` and `PGET`, none for the rest. A program that draws little
/// per instruction (a pixel fill with `PSET`) gets long slices, which the compiled tier needs.
fn pixel_work(texture: &Texture, config: &Config) -> u64 {
    use gvpie_pxl::Op;
    let (width, height) = (u64::from(config.width), u64::from(config.height));
    let canvas = width * height;
    let mut work = 1;
    for index in 0..texture.n_records() {
        let record_work = match Op::from_code((texture.record(index)[0] & 0xFF) as u8) {
            Some(Op::Rect | Op::Circ | Op::Circf | Op::Tri | Op::Cls | Op::Poke) => canvas,
            Some(Op::Frame) if config.max_frames > 0 => canvas,
            Some(Op::Line) => width + height,
            Some(Op::Txt) => (width / 6 + 2) * 35,
            Some(Op::Num) => 11 * 35,
            _ => 1,
        };
        work = work.max(record_work);
        if work >= canvas {
            return canvas;
        }
    }
    work
}

/// Runs every program one after the other, each until its end or `stop`. Once `stop` is reached
/// the programs not yet started stop before their first instruction.
pub(crate) fn run_each(
    textures: &[Texture],
    config: &Config,
    tier: Tier,
    stop: &Stop,
) -> Result<Vec<Outcome>, ExecError> {
    textures.iter().map(|texture| Ok(CpuRun::with_tier(texture, config, tier)?.run_until(stop))).collect()
}

/// Runs every program on all cores (the GPU's fallback), each until its end or `stop`; every
/// outcome says `cpu`, carries `reason`, why the GPU failed, and counts its time from `start`
/// (the GPU's attempt included).
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) fn run_parallel(
    textures: &[Texture],
    config: &Config,
    stop: &Stop,
    reason: &str,
    start: Instant,
) -> Result<Vec<Outcome>, ExecError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(textures.len()).max(1);
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Outcome, ExecError>>>> = textures.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(texture) = textures.get(index) else { break };
                    let outcome = CpuRun::new(texture, config).map(|mut run| {
                        run.gpu_fallback = Some(reason.to_string());
                        run.start = start;
                        run.run_until(stop)
                    });
                    if let Ok(mut slot) = slots[index].lock() {
                        *slot = Some(outcome);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(ExecError::Internal("a CPU fallback thread lost its result".to_string())))
        })
        .collect()
}

/// The outcome of a program that never started because `stop` was reached first: a blank
/// canvas, no cycles, stopped at its first line.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) fn not_started(
    texture: &Texture,
    config: &Config,
    backend: BackendName,
    reason: StopReason,
) -> Result<Outcome, ExecError> {
    let mut run = CpuRun::new(texture, config)?;
    run.backend = backend;
    Ok(run.finish(Some(reason)))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use gvpie_pxl::{Config, compile};

    use crate::{
        AUTO_MIN_PROGRAMS, BackendChoice, BackendName, CancelFlag, Engine, ErrorJson, NO_BACKEND, ResultJson, Stop,
        TIME_LIMIT_KIND, Tier,
    };

    const FOREVER: &str = "top:\nRECT 0 0 4 4\nJMP top\n";

    fn forever() -> gvpie_pxl::Texture {
        compile(FOREVER).expect("compile")
    }

    /// A budget no test reaches: only the stop can end these runs.
    fn endless() -> Config {
        Config { width: 16, height: 16, budget: 1_000_000_000_000, max_frames: 0 }
    }

    #[test]
    fn the_auto_rule_is_the_gpu_from_64_programs_without_frames() {
        let config = Config::default();
        assert!(!Engine::auto_prefers_gpu(1, &config));
        assert!(!Engine::auto_prefers_gpu(AUTO_MIN_PROGRAMS - 1, &config));
        assert!(Engine::auto_prefers_gpu(AUTO_MIN_PROGRAMS, &config));
        assert!(!Engine::auto_prefers_gpu(AUTO_MIN_PROGRAMS, &Config { max_frames: 1, ..config }));
        // Without a GPU, auto is always the CPU and gpu an error.
        let engine = Engine::cpu_only();
        assert_eq!(engine.backend_for(BackendChoice::Auto, 1000, &config), Ok(BackendName::Cpu));
        assert!(engine.backend_for(BackendChoice::Gpu, 1, &config).is_err());
    }

    #[test]
    fn the_deadline_stops_every_program_of_a_cpu_batch() {
        let engine = Engine::cpu_only();
        let textures = vec![forever(); 3];
        let stop = Stop::after(Duration::from_millis(200));
        let outcomes = engine.execute_batch_until(&textures, &endless(), BackendChoice::Auto, &stop).expect("batch");
        assert_eq!(outcomes.len(), 3);
        for (index, outcome) in outcomes.iter().enumerate() {
            let json = ResultJson::from_outcome(outcome, textures[index].code_words().len());
            let error = json.error.expect("stopped");
            assert_eq!((json.success, json.backend.as_str(), error.kind.as_str()), (false, "cpu", TIME_LIMIT_KIND));
            assert!(error.message.contains("time limit"), "{}", error.message);
            assert!(matches!(error.line, Some(2 | 3)), "{error:?}");
        }
        assert!(outcomes[0].result.cycles > 0, "the first program ran until the deadline");
        // The canvas so far comes back: the first RECT was drawn.
        assert_eq!(outcomes[0].result.canvas.get(0, 0), Some(gvpie_raster::Rgba::WHITE));
    }

    #[test]
    fn the_cancel_flag_stops_a_run() {
        let engine = Engine::cpu_only();
        let flag = CancelFlag::new();
        let stop = Stop::never().with_cancel(flag.clone());
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            flag.cancel();
        });
        let outcome = engine.execute_until(&forever(), &endless(), BackendChoice::Cpu, &stop).expect("run");
        canceller.join().expect("join");
        let json = ResultJson::from_outcome(&outcome, 0);
        assert_eq!(
            json.error.map(|e| (e.kind, e.message.starts_with("cancelled"))),
            Some((TIME_LIMIT_KIND.into(), true))
        );
    }

    #[test]
    fn programs_that_finish_in_time_are_not_stopped() {
        let engine = Engine::cpu_only();
        let texture = compile("RECT 0 0 2 2\nHALT\n").expect("compile");
        let stop = Stop::after(Duration::from_secs(3600));
        let outcome = engine.execute_until(&texture, &Config::default(), BackendChoice::Auto, &stop).expect("run");
        assert_eq!((outcome.stopped, outcome.result.cycles), (None, 2));
        // A deadline already past stops a program before its first instruction.
        let outcome = engine.execute_until(&texture, &Config::default(), BackendChoice::Cpu, &Stop::at(Instant::now()));
        let outcome = outcome.expect("run");
        assert_eq!(outcome.result.cycles, 0);
        assert_eq!(outcome.stopped.map(|s| s.line), Some(1));
    }

    #[test]
    fn the_engine_runs_every_tier_alike_and_the_result_says_which_ran() {
        let texture = compile("loop:\nADD i i 1\nPSET i 1\nIF i < 100 loop\nDIV z i 0\n").expect("compile");
        let mut results = Vec::new();
        for (tier, ran) in [(Tier::Interp, "interp"), (Tier::Jit, "jit")] {
            let engine = Engine::cpu_only().with_tier(tier);
            assert_eq!(engine.tier(), tier);
            let stop = Stop::after(Duration::from_secs(3600));
            let outcome = engine.execute_until(&texture, &Config::default(), BackendChoice::Cpu, &stop).expect("run");
            let json = ResultJson::from_outcome(&outcome, texture.code_words().len());
            assert_eq!((json.tier.as_deref(), json.jit_fallback.as_deref()), (Some(ran), None));
            let value = serde_json::to_value(&json).expect("json");
            assert_eq!(value["tier"], ran);
            results.push((outcome.result.cycles, outcome.result.status, outcome.result.canvas));
        }
        assert_eq!(results[0], results[1]);
        // Results without a run name no tier.
        let failed = ResultJson::failed(ErrorJson::new("x", "y"), None, Duration::ZERO);
        assert!(serde_json::to_value(&failed).expect("json").get("tier").is_none());
    }

    #[test]
    fn slices_are_sized_by_the_most_pixels_one_instruction_can_draw() {
        let work = |source: &str, max_frames| {
            let config = Config { width: 64, height: 32, budget: 1000, max_frames };
            super::pixel_work(&compile(source).expect("compile"), &config)
        };
        assert_eq!(work("ADD a a 1\nPSET a a\nFRAME\n", 0), 1);
        assert_eq!(work("FRAME\n", 1), 64 * 32);
        assert_eq!(work("NUM 0 0 a\n", 0), 11 * 35);
        assert_eq!(work("LINE 0 0 a a\n", 0), 64 + 32);
        assert_eq!(work("PSET 0 0\nRECT 0 0 a a\n", 0), 64 * 32);
        // POKE can write any instruction, a RECT too.
        assert_eq!(work("POKE 0 3\n", 0), 64 * 32);
    }

    #[test]
    fn failed_results_have_one_shape() {
        let json = ResultJson::failed(ErrorJson::new("runtime", "no answer"), None, Duration::from_millis(3));
        assert_eq!(
            serde_json::to_value(&json).expect("json"),
            serde_json::json!({"success": false, "cycles": 0, "backend": NO_BACKEND, "duration_ms": 3.0,
                "error": {"kind": "runtime", "message": "no answer"}})
        );
        let json = ResultJson::failed(ErrorJson::new("x", "y").at_line(4), Some(BackendName::Gpu), Duration::ZERO);
        assert_eq!((json.backend.as_str(), json.error.and_then(|e| e.line)), ("gpu", Some(4)));
    }
}
