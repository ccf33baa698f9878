//! The engine picks backends as documented, gives the CPU's answers on the GPU, and honours
//! its deadline on every path.

use std::time::{Duration, Instant};

use gvpie_exec::{BackendChoice, BackendName, Engine, ExecError, ResultJson, Stop, TIME_LIMIT_KIND};
use gvpie_pxl::{Config, compile};

/// The engine with its GPU, or `None` (with a note) where there is none and none is required.
fn gpu_engine() -> Option<Engine> {
    let engine = Engine::detect();
    if engine.gpu_adapter().is_none() {
        assert!(std::env::var_os("GVPIE_REQUIRE_GPU").is_none(), "GVPIE_REQUIRE_GPU is set but no GPU adapter opened");
        eprintln!("NOTE: no GPU adapter; the GPU half of this test did not run");
        return None;
    }
    Some(engine)
}

/// Runs until something stops it: no budget a test can reach.
fn forever() -> gvpie_pxl::Texture {
    compile("top:\nRECT 0 0 4 4\nJMP top\n").expect("compile")
}

fn endless() -> Config {
    Config { width: 16, height: 16, budget: 1_000_000_000_000, max_frames: 0 }
}

fn kind_and_backend(outcome: &gvpie_exec::Outcome) -> (String, String) {
    let json = ResultJson::from_outcome(outcome, 0);
    (json.error.map(|e| e.kind).unwrap_or_default(), json.backend)
}

fn program(i: usize) -> gvpie_pxl::Texture {
    let source =
        format!("SET x {i}\nloop:\nCOLOR x 40 200 128\nRECT x 2 5 5\nADD x x 3\nIF x < 60 loop\nNUM 1 1 x\nHALT\n");
    compile(&source).unwrap_or_else(|d| panic!("{}", d[0].headline()))
}

#[test]
fn cpu_only_refuses_gpu_and_runs_auto_on_cpu() {
    let engine = Engine::cpu_only();
    assert_eq!(engine.backends(), ["cpu"]);
    let texture = program(1);
    match engine.execute(&texture, &Config::default(), BackendChoice::Gpu) {
        Err(ExecError::GpuUnavailable(_)) => {}
        other => panic!("expected GpuUnavailable, got {other:?}"),
    }
    let outcome = engine.execute(&texture, &Config::default(), BackendChoice::Auto).expect("auto");
    assert_eq!(outcome.backend, BackendName::Cpu);
    assert_eq!(outcome.result.cycles, 1 + 4 * 20 + 2);
}

#[test]
fn frames_never_go_to_the_gpu() {
    let engine = Engine::detect();
    let texture = compile("FRAME\nFRAME\n").expect("compile");
    let config = Config { max_frames: 5, ..Config::default() };
    let outcomes = engine.execute_batch(&vec![texture; 64], &config, BackendChoice::Auto).expect("auto");
    assert!(outcomes.iter().all(|o| o.backend == BackendName::Cpu && o.result.frames.len() == 2));
    if engine.gpu_adapter().is_some() {
        let texture = compile("FRAME\n").expect("compile");
        assert!(matches!(engine.execute(&texture, &config, BackendChoice::Gpu), Err(ExecError::GpuUnavailable(_))));
    }
}

#[test]
fn auto_batches_run_on_the_gpu_with_the_cpu_answers() {
    let engine = Engine::detect();
    if engine.gpu_adapter().is_none() {
        assert!(std::env::var_os("GVPIE_REQUIRE_GPU").is_none(), "GVPIE_REQUIRE_GPU is set but no GPU adapter opened");
        eprintln!("NOTE: no GPU adapter; the GPU half of this test did not run");
        return;
    }
    let textures: Vec<_> = (0..64).map(program).collect();
    let config = Config { width: 64, height: 16, ..Config::default() };
    let on_gpu = engine.execute_batch(&textures, &config, BackendChoice::Auto).expect("gpu batch");
    let on_cpu = engine.execute_batch(&textures, &config, BackendChoice::Cpu).expect("cpu batch");
    assert!(on_gpu.iter().all(|o| o.backend == BackendName::Gpu), "auto with 64 programs uses the GPU");
    for (index, (gpu, cpu)) in on_gpu.iter().zip(&on_cpu).enumerate() {
        assert_eq!(gpu.result.status, cpu.result.status, "program {index}");
        assert_eq!(gpu.result.cycles, cpu.result.cycles, "program {index}");
        assert_eq!(gpu.result.canvas, cpu.result.canvas, "program {index}");
    }
}

#[test]
fn auto_batches_under_64_programs_run_on_the_cpu_under_the_deadline() {
    let Some(engine) = gpu_engine() else { return };
    let config = endless();
    for n in [2, 10, 63] {
        assert_eq!(engine.backend_for(BackendChoice::Auto, n, &config), Ok(BackendName::Cpu), "{n} programs");
    }
    assert_eq!(engine.backend_for(BackendChoice::Auto, 64, &config), Ok(BackendName::Gpu));
    let stop = Stop::after(Duration::from_millis(300));
    let outcomes =
        engine.execute_batch_until(&vec![forever(); 10], &config, BackendChoice::Auto, &stop).expect("batch");
    for outcome in &outcomes {
        assert_eq!(kind_and_backend(outcome), (TIME_LIMIT_KIND.to_string(), "cpu".to_string()));
    }
}

#[test]
fn a_gpu_batch_checks_the_deadline_before_the_dispatch() {
    let Some(engine) = gpu_engine() else { return };
    let outcomes = engine
        .execute_batch_until(&vec![forever(); 3], &endless(), BackendChoice::Gpu, &Stop::at(Instant::now()))
        .expect("batch");
    for outcome in &outcomes {
        assert_eq!(kind_and_backend(outcome), (TIME_LIMIT_KIND.to_string(), "gpu".to_string()));
        assert_eq!(outcome.result.cycles, 0);
    }
}

#[test]
fn the_gpu_fallback_honours_the_deadline() {
    let Some(engine) = gpu_engine() else { return };
    // llvmpipe ends a shader after 65535 loop iterations, so an endless loop always falls back
    // there; a real GPU would run the whole budget (its dispatch cannot be stopped yet).
    if !engine.gpu_adapter().is_some_and(|name| name.contains("llvmpipe")) {
        eprintln!("NOTE: not llvmpipe; this test needs a GPU that cuts long shaders short");
        return;
    }
    // Long enough for the GPU's attempt (over a second on a busy machine: the fallback must have time left).
    let stop = Stop::after(Duration::from_secs(5));
    // 8x8: the first dispatch's budget (GPU_FIRST_SLICE_PIXELS / 64) is already past the loop limit.
    let config = Config { width: 8, height: 8, ..endless() };
    let outcomes = engine.execute_batch_until(&vec![forever(); 2], &config, BackendChoice::Gpu, &stop).expect("batch");
    for outcome in &outcomes {
        assert_eq!(kind_and_backend(outcome), (TIME_LIMIT_KIND.to_string(), "cpu".to_string()));
        assert!(outcome.gpu_fallback.is_some(), "the outcome says why the GPU did not run it");
        assert!(outcome.result.cycles > 0, "the fallback ran until the deadline");
    }
}

/// Issue 17, finding 2 (the rest): a GPU dispatch cannot be interrupted, so a runaway GPU batch
/// ran to its budget (or, on llvmpipe, to the shader's loop limit, then on the CPU). Under a
/// `Stop` the batch now runs in dispatches of growing budgets and stops between them: the
/// answer is `time_limit` from the GPU, with the cycles of its last dispatch.
#[test]
fn a_runaway_gpu_batch_stops_between_dispatches() {
    let Some(engine) = gpu_engine() else { return };
    // llvmpipe ends a shader after 65535 loop iterations (every CLS is a loop over the pixels), so
    // there a long dispatch falls back to the CPU (the next test); a real GPU runs it.
    if engine.gpu_adapter().is_some_and(|name| name.contains("llvmpipe")) {
        eprintln!("NOTE: llvmpipe; this test needs a GPU that runs long shaders");
        return;
    }
    let heavy = compile("top:\nCLS 1 2 3\nJMP top\n").expect("compile");
    let config = Config { width: 1024, height: 1024, budget: 1_000_000_000, max_frames: 0 };
    let stop = Stop::after(Duration::from_millis(300));
    let outcomes = engine.execute_batch_until(&vec![heavy; 2], &config, BackendChoice::Gpu, &stop).expect("batch");
    for outcome in &outcomes {
        assert_eq!(kind_and_backend(outcome), (TIME_LIMIT_KIND.to_string(), "gpu".to_string()));
        assert!(outcome.gpu_fallback.is_none());
        let cycles = outcome.result.cycles;
        assert!(cycles >= gvpie_exec::GPU_MIN_SLICE && cycles < config.budget, "{cycles}");
        assert_eq!(ResultJson::from_outcome(outcome, 0).error.and_then(|e| e.line), Some(2));
    }
}

/// A batch run in several dispatches (a small first budget on a large canvas) gives exactly the
/// answers of one dispatch and of the CPU.
#[test]
fn gpu_dispatches_of_growing_budgets_give_the_same_answers() {
    let Some(engine) = gpu_engine() else { return };
    let textures: Vec<_> = (0..8)
        .map(|i| {
            let source =
                format!("SET i 0\nloop:\nCOLOR i {i} 9\nPSET i {i}\nADD i i 1\nIF i < {} loop\nHALT\n", 100 * i);
            compile(&source).unwrap_or_else(|d| panic!("{}", d[0].headline()))
        })
        .collect();
    // 512x512: the first dispatch has GPU_MIN_SLICE instructions, fewer than these programs need.
    let config = Config { width: 512, height: 512, ..Config::default() };
    let sliced = engine
        .execute_batch_until(&textures, &config, BackendChoice::Gpu, &Stop::after(Duration::from_secs(3600)))
        .expect("sliced");
    let whole = engine.execute_batch(&textures, &config, BackendChoice::Gpu).expect("one dispatch");
    let on_cpu = engine.execute_batch(&textures, &config, BackendChoice::Cpu).expect("cpu");
    assert!(on_cpu.iter().any(|o| o.result.cycles > gvpie_exec::GPU_MIN_SLICE), "some program needs a second dispatch");
    for (index, ((sliced, whole), cpu)) in sliced.iter().zip(&whole).zip(&on_cpu).enumerate() {
        assert_eq!(sliced.backend, BackendName::Gpu, "program {index}");
        assert!(sliced.stopped.is_none(), "program {index}");
        for other in [whole, cpu] {
            assert_eq!(sliced.result.status, other.result.status, "program {index}");
            assert_eq!(sliced.result.cycles, other.result.cycles, "program {index}");
            assert_eq!(sliced.result.canvas, other.result.canvas, "program {index}");
        }
    }
}
