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

/// Issue 15: the GPU runs programs in resumable slices, so no driver loop limit (lavapipe ends
/// a shader after 65,535 loop iterations) or watchdog cuts a program: a program of millions
/// of cycles runs to its end on the GPU with the CPU's answer, and no fallback.
#[test]
fn long_programs_run_on_the_gpu_to_their_end() {
    let Some(engine) = gpu_engine() else { return };
    let sources = [
        // A million iterations (2 million cycles), then a picture of the count.
        "SET i 0\nloop:\nADD s s i\nLOOP i 1000000 loop\nNUM 1 1 s\nHALT\n",
        // Runs out of a budget in the millions, drawing as it goes.
        "top:\nRAND x 16\nRAND y 16\nCOLOR x y 99 128\nRECT x y 3 3\nJMP top\n",
    ];
    let textures: Vec<_> = sources.iter().map(|s| compile(s).expect("compile")).collect();
    let config = Config { width: 16, height: 16, budget: 4_000_000, max_frames: 0 };
    let on_gpu = engine.execute_batch(&textures, &config, BackendChoice::Gpu).expect("gpu");
    let on_cpu = engine.execute_batch(&textures, &config, BackendChoice::Cpu).expect("cpu");
    for (index, (gpu, cpu)) in on_gpu.iter().zip(&on_cpu).enumerate() {
        assert_eq!((gpu.backend, gpu.gpu_fallback.as_deref()), (BackendName::Gpu, None), "program {index}");
        assert_eq!(gpu.result.status, cpu.result.status, "program {index}");
        assert_eq!(gpu.result.cycles, cpu.result.cycles, "program {index}");
        assert_eq!(gpu.result.canvas, cpu.result.canvas, "program {index}");
        let json = ResultJson::from_outcome(gpu, textures[index].code_words().len());
        assert_eq!(json.backend, "gpu");
    }
    assert_eq!(on_gpu[0].result.cycles, 1 + 2 * 1_000_000 + 2);
    assert_eq!(ResultJson::from_outcome(&on_gpu[1], 0).error.map(|e| e.kind), Some("budget_exhausted".to_string()));
}

/// Issue 17, finding 2 (the rest), and issue 15: a runaway GPU batch stops between slices at
/// its deadline, on every adapter (lavapipe too): the answer is `time_limit` from the GPU,
/// with the cycles it ran, its canvas so far and the line it would run next.
#[test]
fn a_runaway_gpu_batch_stops_between_slices() {
    let Some(engine) = gpu_engine() else { return };
    for heavy in [forever(), compile("top:\nCLS 1 2 3\nJMP top\n").expect("compile")] {
        let config = Config { width: 256, height: 256, ..endless() };
        let stop = Stop::after(Duration::from_millis(300));
        let outcomes = engine.execute_batch_until(&vec![heavy; 2], &config, BackendChoice::Gpu, &stop).expect("batch");
        for outcome in &outcomes {
            assert_eq!(kind_and_backend(outcome), (TIME_LIMIT_KIND.to_string(), "gpu".to_string()));
            assert!(outcome.gpu_fallback.is_none());
            let cycles = outcome.result.cycles;
            assert!(cycles > 0 && cycles < config.budget, "{cycles}");
            let line = ResultJson::from_outcome(outcome, 0).error.and_then(|e| e.line);
            assert!(matches!(line, Some(2 | 3)), "{line:?}");
        }
    }
}

/// The cancel flag reaches the GPU path between slices too.
#[test]
fn the_cancel_flag_stops_a_gpu_batch() {
    let Some(engine) = gpu_engine() else { return };
    let flag = gvpie_exec::CancelFlag::new();
    let stop = Stop::never().with_cancel(flag.clone());
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        flag.cancel();
    });
    let outcomes =
        engine.execute_batch_until(&vec![forever(); 3], &endless(), BackendChoice::Gpu, &stop).expect("batch");
    canceller.join().expect("join");
    for outcome in &outcomes {
        let json = ResultJson::from_outcome(outcome, 0);
        assert_eq!(json.backend, "gpu");
        let error = json.error.expect("cancelled");
        assert_eq!(error.kind, TIME_LIMIT_KIND);
        assert!(error.message.starts_with("cancelled"), "{}", error.message);
    }
}

/// A batch run under a stop (in slices that ask it) gives exactly the answers of a batch run
/// without one and of the CPU.
#[test]
fn gpu_batches_under_a_stop_give_the_same_answers() {
    let Some(engine) = gpu_engine() else { return };
    let textures: Vec<_> = (0..8)
        .map(|i| {
            let source =
                format!("SET i 0\nloop:\nCOLOR i {i} 9\nPSET i {i}\nADD i i 1\nIF i < {} loop\nHALT\n", 4000 * i);
            compile(&source).unwrap_or_else(|d| panic!("{}", d[0].headline()))
        })
        .collect();
    let config = Config { width: 512, height: 512, ..Config::default() };
    let stopped = engine
        .execute_batch_until(&textures, &config, BackendChoice::Gpu, &Stop::after(Duration::from_secs(3600)))
        .expect("under a stop");
    let whole = engine.execute_batch(&textures, &config, BackendChoice::Gpu).expect("no stop");
    let on_cpu = engine.execute_batch(&textures, &config, BackendChoice::Cpu).expect("cpu");
    for (index, ((stopped, whole), cpu)) in stopped.iter().zip(&whole).zip(&on_cpu).enumerate() {
        assert_eq!(stopped.backend, BackendName::Gpu, "program {index}");
        assert!(stopped.stopped.is_none(), "program {index}");
        for other in [whole, cpu] {
            assert_eq!(stopped.result.status, other.result.status, "program {index}");
            assert_eq!(stopped.result.cycles, other.result.cycles, "program {index}");
            assert_eq!(stopped.result.canvas, other.result.canvas, "program {index}");
        }
    }
}
