//! The engine picks backends as documented and gives the CPU's answers on the GPU.

use gvpie_exec::{BackendChoice, BackendName, Engine, ExecError};
use gvpie_pxl::{Config, compile};

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
