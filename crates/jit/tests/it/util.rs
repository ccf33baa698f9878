//! Runs a texture in both tiers and compares everything observable.

use gvpie_jit::{Tier, TieredRun};
use gvpie_pxl::{Config, Status, Texture, Vm, compile};

/// Everything a run leaves behind.
#[derive(Debug, PartialEq, Eq)]
pub struct Observed {
    pub status: Status,
    pub cycles: u64,
    pub pc: u32,
    pub pixels: Vec<u32>,
    pub frames: Vec<Vec<u32>>,
    pub n_frames: u64,
    pub variables: Vec<i32>,
    pub call_stack: Vec<u32>,
    pub code: Vec<u32>,
}

fn observe(vm: Vm) -> Observed {
    let (variables, call_stack, code, pc) =
        (vm.variables().to_vec(), vm.call_stack().to_vec(), vm.code_words().to_vec(), vm.pc());
    let result = vm.into_result();
    Observed {
        status: result.status,
        cycles: result.cycles,
        pc,
        pixels: result.canvas.pixels().to_vec(),
        frames: result.frames.iter().map(|f| f.pixels().to_vec()).collect(),
        n_frames: result.n_frames,
        variables,
        call_stack,
        code,
    }
}

/// The interpreter's outcome.
pub fn interpreted(texture: &Texture, config: &Config) -> Observed {
    let mut vm = Vm::new(texture, config).expect("canvas size");
    vm.run();
    observe(vm)
}

/// The tiered outcome, run in slices of `slice` instructions; also says whether compiled code ran.
pub fn tiered(texture: &Texture, config: &Config, tier: Tier, slice: u64) -> (Observed, Tier) {
    let mut run = TieredRun::new(Vm::new(texture, config).expect("canvas size"), tier);
    while run.run(slice) == Status::Running {}
    let used = run.tier_used();
    (observe(run.into_vm()), used)
}

/// Runs `texture` interpreted and compiled (at once, in one call and in slices of 1, 3 and 7
/// instructions) and requires identical outcomes; returns the interpreter's and whether the
/// compiled tier ran.
#[track_caller]
pub fn check_texture(texture: &Texture, config: &Config) -> (Observed, Tier) {
    let expected = interpreted(texture, config);
    let (got, used) = tiered(texture, config, Tier::Jit, u64::MAX);
    assert_eq!(got, expected, "jit, one call");
    for slice in [1, 3, 7] {
        let (got, _) = tiered(texture, config, Tier::Jit, slice);
        assert_eq!(got, expected, "jit, slices of {slice}");
    }
    (expected, used)
}

/// [`check_texture`] for source text; the compiled tier must have run.
#[track_caller]
pub fn check(source: &str, config: &Config) -> Observed {
    let texture = compile(source).unwrap_or_else(|d| panic!("{}", gvpie_pxl::render_all(&d)));
    let (observed, used) = check_texture(&texture, config);
    assert_eq!(used, Tier::Jit, "the compiled tier ran");
    observed
}

/// A small canvas and a budget no fixed program reaches.
pub fn small() -> Config {
    Config { width: 32, height: 16, budget: 1_000_000, max_frames: 4 }
}
