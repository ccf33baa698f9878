//! Times a PXL file in each tier, in process: `cargo run --release -p gvpie-jit --example tiers -- FILE [WxH] [BUDGET]`;
//! `-- --compile-time` prints the compile time of generated programs of 100 to 20,000 instructions.
//!
//! Prints the interpreter's and the compiled tier's time, the compile time and the cycles; the
//! two runs must agree on everything (the example checks it).

use std::time::Instant;

use gvpie_jit::{Tier, TieredRun, clear_cache};
use gvpie_pxl::{Config, Vm, compile};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: tiers FILE [WxH] [BUDGET] | tiers --compile-time")?;
    if path == "--compile-time" {
        return compile_time();
    }
    let source = std::fs::read_to_string(path)?;
    let texture = compile(&source).map_err(|d| d[0].headline())?;
    let mut config = Config { budget: 2_000_000_000, ..Config::default() };
    if let Some((w, h)) = args.get(2).and_then(|s| s.split_once('x')) {
        (config.width, config.height) = (w.parse()?, h.parse()?);
    }
    if let Some(budget) = args.get(3) {
        config.budget = budget.parse()?;
    }
    let mut results = Vec::new();
    for tier in [Tier::Interp, Tier::Jit, Tier::Auto] {
        clear_cache();
        let start = Instant::now();
        let mut run = TieredRun::new(Vm::new(&texture, &config)?, tier);
        let status = run.run_to_end();
        let elapsed = start.elapsed();
        println!(
            "{tier:>6}: {:>9.1} ms  ran {}  compile {:.3} ms  cycles {}  {status:?}",
            elapsed.as_secs_f64() * 1000.0,
            run.tier_used(),
            run.compile_time().as_secs_f64() * 1000.0,
            run.vm().cycles()
        );
        let vm = run.into_vm();
        results.push((vm.cycles(), vm.variables().to_vec(), vm.into_result().canvas.pixels().to_vec()));
    }
    if results.windows(2).any(|w| w[0] != w[1]) {
        return Err("the tiers disagree".into());
    }
    Ok(())
}

/// Compile time per 1,000 instructions for programs of several sizes (arithmetic, drawing,
/// branches and calls mixed like real programs).
fn compile_time() -> Result<(), Box<dyn std::error::Error>> {
    for (n_blocks, n_vars) in [(20, 4), (200, 4), (2000, 4), (20, 50), (200, 50), (2000, 50)] {
        let mut source = String::new();
        for i in 0..n_blocks {
            source.push_str(&format!("l{i}:\nADD x{} x{} {i}\n", i % n_vars, (i + 1) % n_vars));
            source.push_str(&format!("RECT {} {} 10 x{}\n", i % 128, i % 64, i % 7));
            source.push_str(&format!("MUL y y x{}\n", i % n_vars));
            source.push_str(&format!("IF x{} < {} l{}\n", i % n_vars, i * 7, i / 2));
            source.push_str("PSET x0 y\n");
        }
        let texture = compile(&source).map_err(|d| d[0].headline())?;
        let vm = Vm::new(&texture, &Config::default())?;
        let mut times = Vec::new();
        for _ in 0..3 {
            let compiled = gvpie_jit::Compiled::for_vm(&vm)?;
            times.push(compiled.compile_time().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let n = texture.n_records();
        println!(
            "{n:>6} instructions, {:>2} variables: {:>8.2} ms ({:.3} ms per 1,000)",
            n_vars + 1,
            times[1],
            times[1] * 1000.0 / n as f64
        );
    }
    Ok(())
}
