//! Tuning helper: runs the image search on a PNG with a given effort and prints RMSE and time per checkpoint.
//!
//! `cargo run --release -p gvpie-evolve --example tune -- IMAGE.png SHAPES THREADS RESTARTS TRIES FAILURES POLISH fast|plain|cascade ALPHA MIN_ALPHA`
//!
//! For `cascade`, `CASCADE=climbers,tries,mutations,patience,rounds,survivors,refine,climb_failures` sets its effort.

use std::time::Instant;

use gvpie_evolve::{CascadeEffort, Effort, ImageGoalConfig, ImageSearch, Strategy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let target = gvpie_cart::decode_png(&std::fs::read(arg(1, "test_data/images/astronaut.png"))?)?;
    let n_shapes: usize = arg(2, "100").parse()?;
    let config = ImageGoalConfig {
        n_shapes,
        n_threads: arg(3, "2").parse()?,
        effort: Effort {
            restarts: arg(4, "24").parse()?,
            random_tries: arg(5, "600").parse()?,
            max_failures: arg(6, "200").parse()?,
            polish: arg(7, "1") == "1",
        },
        strategy: match arg(8, "fast").as_str() {
            "plain" => Strategy::Plain,
            "cascade" => Strategy::Cascade,
            _ => Strategy::Fast,
        },
        cascade: match std::env::var("CASCADE") {
            Ok(text) => {
                let v: Vec<u32> = text.split(',').map(str::parse).collect::<Result<_, _>>()?;
                let [
                    climbers,
                    random_tries,
                    mutations,
                    patience,
                    max_rounds,
                    survivors,
                    refine_failures,
                    climb_failures,
                ] = v[..]
                else {
                    return Err("CASCADE takes 8 numbers".into());
                };
                CascadeEffort {
                    climbers,
                    random_tries,
                    mutations,
                    patience,
                    max_rounds,
                    survivors,
                    refine_failures,
                    climb_failures,
                }
            }
            Err(_) => CascadeEffort::DEFAULT,
        },
        alpha: arg(9, "128").parse()?,
        min_alpha: arg(10, "1").parse()?,
        ..ImageGoalConfig::default()
    };
    let start = Instant::now();
    let mut search = ImageSearch::new(target, config)?;
    while !search.is_done() {
        let report = search.step();
        let n = search.placed().len();
        if n % 25 == 0 || n == n_shapes {
            println!(
                "{n:4} shapes rmse {:.5} {:6.2} s {:.2} M candidates",
                report.rmse,
                start.elapsed().as_secs_f64(),
                search.n_candidates() as f64 / 1e6
            );
        }
    }
    Ok(())
}
