//! `gvpie evolve`: the program reproduces the output PNG exactly under `gvpie run`, JPEG input, animations, SVG.

use crate::util::{Dir, decode_png, gvpie};

fn image(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test_data/images").join(name)
}

#[test]
fn program_reproduces_the_output_exactly() {
    let dir = Dir::new("evolve-exact");
    let (out, program, svg, gif) = (dir.join("out.png"), dir.join("out.pxl"), dir.join("out.svg"), dir.join("out.gif"));
    let args: [&dyn AsRef<std::ffi::OsStr>; 19] = [
        &"evolve",
        &image("chelsea.png"),
        &"-n",
        &"12",
        &"-o",
        &out,
        &"--program",
        &program,
        &"--svg",
        &svg,
        &"--gif",
        &gif,
        &"--resize",
        &"64",
        &"--restarts",
        &"4",
        &"--seed",
        &"7",
        &"--json",
    ];
    let run = gvpie(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.json();
    assert_eq!(summary["shapes"], 12);
    assert_eq!((summary["width"].as_u64(), summary["height"].as_u64()), (Some(64), Some(43)));
    let (rmse, start) = (summary["rmse"].as_f64().unwrap_or(1.0), summary["start_rmse"].as_f64().unwrap_or(0.0));
    assert!(rmse < start, "{rmse} >= {start}");

    let evolved = decode_png(&out);
    assert_eq!((evolved.width(), evolved.height()), (64, 43));
    let rerun = dir.join("rerun.png");
    let run = gvpie(&[&"run", &program, &"--size", &"64x43", &"--backend", &"cpu", &"-o", &rerun]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(decode_png(&rerun), evolved);
    // The program declares its size (`SIZE 64 43`): a plain `gvpie run` draws the same picture.
    let source = std::fs::read_to_string(&program).expect("program written");
    assert!(source.lines().any(|line| line == "SIZE 64 43"), "{source}");
    let plain = dir.join("plain.png");
    let run = gvpie(&[&"run", &program, &"-o", &plain]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(decode_png(&plain), evolved);
    // A smaller --size wins, and says that it crops.
    let cropped = dir.join("cropped.png");
    let run = gvpie(&[&"run", &program, &"--size", &"32x20", &"-o", &cropped, &"--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!((run.json()["width"].as_u64(), run.json()["height"].as_u64()), (Some(32), Some(20)));
    assert!(
        run.stderr.contains("declares SIZE 64 43; running at --size 32x20 (the picture is cropped)"),
        "{}",
        run.stderr
    );

    // The score mode measures the output like the search does.
    let scored = gvpie(&[&"evolve", &image("chelsea.png"), &"--resize", &"64", &"--score", &out, &"--json"]);
    assert_eq!(scored.code, 0, "{}", scored.stderr);
    assert_eq!(scored.json()["rmse"].as_f64(), Some(rmse));

    let svg = std::fs::read_to_string(&svg).expect("svg written");
    assert!(svg.starts_with("<svg") && svg.matches("<polygon").count() == 12);
    let gif = std::fs::read(&gif).expect("gif written");
    assert!(gif.starts_with(b"GIF89a"));
}

#[test]
fn same_seed_same_program_and_jpeg_input() {
    let dir = Dir::new("evolve-seed");
    let run_once = |name: &str, threads: &str| {
        let program = dir.join(name);
        let out = dir.join(&format!("{name}.png"));
        let target = image("rocket.jpg");
        let args: [&dyn AsRef<std::ffi::OsStr>; 14] = [
            &"evolve",
            &target,
            &"-n",
            &"6",
            &"-o",
            &out,
            &"--program",
            &program,
            &"-j",
            &threads,
            &"--restarts",
            &"3",
            &"--resize",
            &"48",
        ];
        let run = gvpie(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        std::fs::read_to_string(program).expect("program written")
    };
    let one = run_once("a.pxl", "1");
    assert_eq!(one, run_once("b.pxl", "2"));
    assert!(one.contains("CLS ") && one.matches("\nTRI ").count() == 6, "{one}");
}

#[test]
fn apng_animation_and_bad_input() {
    let dir = Dir::new("evolve-apng");
    let (out, anim) = (dir.join("out.png"), dir.join("anim.png"));
    let run = gvpie(&[&"evolve", &image("rocket.jpg"), &"-n", &"3", &"-o", &out, &"--gif", &anim, &"--restarts", &"2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bytes = std::fs::read(&anim).expect("apng written");
    assert!(bytes.windows(4).any(|w| w == b"acTL"), "not an animated PNG");

    let not_image = dir.write("note.txt", "hello");
    let run = gvpie(&[&"evolve", &not_image, &"-o", &out]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("note.txt"), "{}", run.stderr);
    let run = gvpie(&[&"evolve", &image("rocket.jpg"), &"-o", &out, &"--resize", &"0"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--resize 0 is out of range"), "{}", run.stderr);
}

#[test]
fn optimize_keeps_pixels_and_cuts_cycles() {
    let dir = Dir::new("optimize");
    let slow = dir.write(
        "slow.pxl",
        "SET y 0\nrow:\nSET x 0\ncol:\nMUL b y 4\nCOLOR 0 0 b\nPSET x y\nLOOP x 32 col\nLOOP y 16 row\nHALT\n",
    );
    let fast = dir.join("fast.pxl");
    let run = gvpie(&[&"optimize", &slow, &"-o", &fast, &"--size", &"32x16", &"--seconds", &"1", &"--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.json();
    let (before, after) = (summary["original_cycles"].as_u64(), summary["cycles"].as_u64());
    assert!(after < before, "{before:?} -> {after:?}");
    let text = std::fs::read_to_string(&fast).expect("written");
    assert!(text.contains("# lineage: "), "{text}");

    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    let first = gvpie(&[&"run", &slow, &"--size", &"32x16", &"-o", &a, &"--json"]);
    let second = gvpie(&[&"run", &fast, &"--size", &"32x16", &"-o", &b, &"--json"]);
    assert_eq!((first.code, second.code), (0, 0));
    assert_eq!(decode_png(&a), decode_png(&b));
    assert_eq!(second.json()["cycles"].as_u64(), after);

    let same = gvpie(&[&"optimize", &slow, &"-o", &slow]);
    assert_eq!(same.code, 2);
}

#[test]
fn the_cascade_finds_the_same_program_on_the_gpu_and_the_cpu() {
    // Resident climbers (the presets) with the solved alpha and a fixed one, then lockstep rounds
    // (`--climb-failures 0`).
    for (climb_failures, alpha) in [(None, None), (None, Some("128")), (Some("0"), None)] {
        same_program_on_the_gpu_and_the_cpu(climb_failures, alpha);
    }
}

fn same_program_on_the_gpu_and_the_cpu(climb_failures: Option<&str>, alpha: Option<&str>) {
    let dir = Dir::new("evolve-cascade");
    let run_on = |backend: &str, threads: &str| {
        let (out, program) =
            (dir.join(&format!("{backend}{threads}.png")), dir.join(&format!("{backend}{threads}.pxl")));
        let mut more: Vec<&dyn AsRef<std::ffi::OsStr>> = match &climb_failures {
            Some(n) => vec![&"--climb-failures", n],
            None => Vec::new(),
        };
        if let Some(a) = &alpha {
            more.extend([&"--alpha" as &dyn AsRef<std::ffi::OsStr>, a]);
        }
        let args: [&dyn AsRef<std::ffi::OsStr>; 18] = [
            &"evolve",
            &image("coffee.png"),
            &"-n",
            &"8",
            &"-o",
            &out,
            &"--program",
            &program,
            &"--resize",
            &"96",
            &"--backend",
            &backend,
            &"--effort",
            &"cpu",
            &"-j",
            &threads,
            &"--climbers",
            &"16",
        ];
        let run = gvpie(&[&args[..], &more[..], &[&"--json"]].concat());
        (run, std::fs::read_to_string(program).unwrap_or_default())
    };
    let (cpu, cpu_program) = run_on("cpu", "2");
    assert_eq!(cpu.code, 0, "{}", cpu.stderr);
    assert_eq!(cpu.json()["strategy"], "cascade");
    assert_eq!(cpu.json()["scored_on"], "cpu");
    assert_eq!(cpu_program.matches("\nTRI ").count(), 8, "{cpu_program}");
    // The time inside the scorer: a table per shape placed, then resident climbers or lockstep
    // rounds (`score` calls), never both.
    let times = &cpu.json()["scorer_seconds"];
    let part = |name: &str| times[name].as_f64().unwrap_or(-1.0);
    assert!(times["calls"].as_u64().unwrap_or(0) >= 16, "{times}");
    assert!(part("set_table") >= 0.0, "{times}");
    match climb_failures {
        Some(_) => assert!(part("score") > 0.0 && part("climb") == 0.0, "{times}"),
        None => assert!(part("climb") > 0.0 && part("score") == 0.0, "{times}"),
    }
    // The thread count changes nothing.
    assert_eq!(run_on("cpu", "1").1, cpu_program);
    let (gpu, gpu_program) = run_on("gpu", "1");
    let required = std::env::var("GVPIE_REQUIRE_GPU").is_ok_and(|v| v == "1");
    if gpu.code != 0 && !required {
        eprintln!("\n!!! NOTE: the GPU half skipped: {}", gpu.stderr);
        return;
    }
    assert_eq!(gpu.code, 0, "{}", gpu.stderr);
    assert!(gpu.json()["scored_on"].as_str().is_some_and(|s| s.starts_with("gpu (")), "{}", gpu.stdout);
    let expected_alpha = alpha.map_or(0, |a| a.parse::<u64>().expect("a number"));
    assert_eq!(
        (gpu.json()["alpha"].as_u64(), cpu.json()["alpha"].as_u64()),
        (Some(expected_alpha), Some(expected_alpha))
    );
    if alpha.is_none() {
        // Solved per shape, so the shapes' alphas differ.
        let alphas: std::collections::BTreeSet<&str> = gpu_program
            .lines()
            .filter(|l| l.starts_with("COLOR "))
            .filter_map(|l| l.split_whitespace().nth(4))
            .collect();
        assert!(alphas.len() > 1, "{gpu_program}");
    }
    assert_eq!(gpu_program, cpu_program);
    assert_eq!(gpu.json()["rmse"], cpu.json()["rmse"]);
}

/// Without `--alpha`, the CPU solves every shape's alpha (the better picture at a given shape
/// count), and refinement tunes it with the rest; `--alpha A` fixes it.
#[test]
fn the_alpha_is_solved_per_shape_unless_fixed() {
    let dir = Dir::new("evolve-alpha");
    let run = |alpha: Option<&str>| {
        let (out, program) = (dir.join("out.png"), dir.join("out.pxl"));
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"evolve",
            &"--json",
            &"-n",
            &"12",
            &"--resize",
            &"64",
            &"-j",
            &"2",
            &"-o",
            &out,
            &"--program",
            &program,
        ];
        let coffee = image("coffee.png");
        args.push(&coffee);
        if let Some(a) = &alpha {
            args.extend([&"--alpha" as &dyn AsRef<std::ffi::OsStr>, a]);
        }
        let run = gvpie(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let source = std::fs::read_to_string(&program).unwrap_or_default();
        let alphas: std::collections::BTreeSet<String> = source
            .lines()
            .filter(|l| l.starts_with("COLOR "))
            .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
            .collect();
        (run.json()["alpha"].clone(), alphas)
    };
    let (alpha, alphas) = run(None);
    assert_eq!(alpha, 0);
    assert!(alphas.len() > 1, "one alpha for every shape: {alphas:?}");
    let (alpha, alphas) = run(Some("200"));
    assert_eq!(alpha, 200);
    assert_eq!(alphas.into_iter().collect::<Vec<_>>(), ["200"]);
}

#[test]
fn the_gpu_is_refused_where_it_cannot_score() {
    let dir = Dir::new("evolve-gpu-refused");
    let out = dir.join("out.png");
    let run = gvpie(&[&"evolve", &image("rocket.jpg"), &"-o", &out, &"--backend", &"gpu", &"--strategy", &"fast"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        "gvpie: --backend gpu scores the cascade's batches; --strategy fast searches on the CPU only (use --strategy \
         cascade)"
    );
    let run = gvpie(&[&"evolve", &image("rocket.jpg"), &"-o", &out, &"--climbers", &"0"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.trim(), "gvpie: --climbers and --survivors must be at least 1");
    let run = gvpie(&[&"evolve", &image("rocket.jpg"), &"-o", &out, &"--climbers", &"4294967295"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.trim(), "gvpie: --climbers 4294967295 is over the limit of 1048576");
    let run = gvpie(&[&"evolve", &image("rocket.jpg"), &"-o", &out, &"--survivors", &"5000"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.trim(), "gvpie: --survivors 5000 is over the limit of 1024");
    let run = gvpie(&[&"evolve", &image("rocket.jpg"), &"-o", &out, &"--regrow", &"10001"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.trim(), "gvpie: --regrow 10001 is over the limit of 10000");
    let run = gvpie(&[&"evolve", &image("rocket.jpg"), &"-o", &out, &"--polish-moves", &"100001"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.trim(), "gvpie: --polish-moves 100001 is over the limit of 100000");
    assert!(!out.exists());
}

/// Issue 15: `--seconds S` without `-n` is the best picture within S seconds, as many shapes
/// as fit (more than the default 100 when they are cheap), so equal-time comparisons are one
/// command.
#[test]
fn seconds_without_a_shape_count_places_shapes_until_the_time_is_up() {
    let dir = Dir::new("evolve-timed");
    let out = dir.join("out.png");
    let run = gvpie(&[
        &"evolve",
        &image("chelsea.png"),
        &"--seconds",
        &"2",
        &"-o",
        &out,
        &"--resize",
        &"24",
        &"--no-refine",
        &"--backend",
        &"cpu",
        &"--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.json();
    let shapes = summary["shapes"].as_u64().unwrap_or(0);
    assert!(shapes > 0, "{summary}");
    let (rmse, start) = (summary["rmse"].as_f64().unwrap_or(1.0), summary["start_rmse"].as_f64().unwrap_or(0.0));
    assert!(rmse < start, "{rmse} >= {start}");
    // Without --seconds the default count stays 100.
    let run = gvpie(&[&"evolve", &image("chelsea.png"), &"--help"]);
    assert!(run.stdout.contains("as many as fit"), "{}", run.stdout);
}

/// Issue 15: refinement's gradients on the GPU (`--refine-backend gpu`, here lavapipe in CI), reported in the
/// summary; the program still draws exactly the picture reported (the command checks it in the VM before
/// writing), and `auto` computes them on the CPU here (a software adapter is slower than the CPU).
#[test]
fn refinement_gradients_run_on_the_gpu_when_asked() {
    let dir = Dir::new("evolve-refine-gpu");
    let (out, program) = (dir.join("out.png"), dir.join("out.pxl"));
    let run_with = |backend: &str| {
        gvpie(&[
            &"evolve",
            &image("chelsea.png"),
            &"-n",
            &"6",
            &"--resize",
            &"48",
            &"--refine-every",
            &"3",
            &"--refine-steps",
            &"4",
            &"--final-steps",
            &"8",
            &"--refine-backend",
            &backend,
            &"-o",
            &out,
            &"--program",
            &program,
            &"--json",
        ])
    };
    let gpu = run_with("gpu");
    let required = std::env::var("GVPIE_REQUIRE_GPU").is_ok_and(|v| v == "1");
    if gpu.code != 0 && !required {
        eprintln!("\n!!! NOTE: the GPU half skipped: {}", gpu.stderr);
        return;
    }
    assert_eq!(gpu.code, 0, "{}", gpu.stderr);
    let summary = gpu.json();
    let on = summary["refine"]["gradients_on"].as_str().unwrap_or_default().to_string();
    assert!(on.starts_with("gpu ("), "{summary}");
    assert!(summary["refine"]["gradient_steps"].as_u64().unwrap_or(0) > 0, "{summary}");
    assert_eq!(summary["shapes"], 6);
    // The picture written is the program's: rerun it and score the picture against the target.
    let rerun = dir.join("rerun.png");
    let run = gvpie(&[&"run", &program, &"--backend", &"cpu", &"-o", &rerun]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read(&rerun).ok(), std::fs::read(&out).ok());
    // auto takes only a hardware GPU: lavapipe is slower than the CPU.
    let auto = run_with("auto");
    assert_eq!(auto.code, 0, "{}", auto.stderr);
    assert_eq!(auto.json()["refine"]["gradients_on"], "cpu", "{}", auto.stdout);
}
