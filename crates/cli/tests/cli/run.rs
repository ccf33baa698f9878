//! `gvpie run`: results, JSON, exit codes, outputs.

use crate::util::{Dir, decode_png, examples_dir, gvpie};
use gvpie_raster::Rgba;

#[test]
fn hello_gpu_runs_in_two_cycles() {
    let dir = Dir::new("hello");
    let png = dir.join("hello.png");
    let run = gvpie(&[&"run", &examples_dir().join("hello_gpu.pxl"), &"--json", &"-o", &png]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["success"], true);
    assert_eq!(json["cycles"], 2);
    assert_eq!(json["backend"], "cpu");
    assert!(json["error"].is_null());
    assert!(json["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    let canvas = decode_png(&png);
    assert_eq!((canvas.width(), canvas.height()), (128, 64));
    // 'H' at (10,10): its left column is lit from the top row down.
    assert_eq!(canvas.get(10, 10), Some(Rgba::WHITE));
    assert_eq!(canvas.get(9, 10), Some(Rgba::BLACK));
    let lit = canvas.pixels().iter().filter(|&&p| p == Rgba::WHITE.to_u32()).count();
    assert!(lit > 50, "text drew {lit} pixels");
}

#[test]
fn run_time_error_exits_1_and_keeps_canvas() {
    let dir = Dir::new("trap");
    let program = dir.write("trap.pxl", "RECT 0 0 4 4\n# a comment\n\nDIV x 1 0\nHALT\n");
    let png = dir.join("out.png");
    let run = gvpie(&[&"run", &program, &"--json", &"-o", &png, &"--size", &"8x8"]);
    assert_eq!(run.code, 1);
    let json = run.json();
    assert_eq!(json["success"], false);
    assert_eq!(json["cycles"], 2);
    assert_eq!(json["error"]["kind"], "division_by_zero");
    assert_eq!(json["error"]["line"], 4);
    assert_eq!(json["error"]["message"], "division by zero");
    let canvas = decode_png(&png);
    assert_eq!(canvas.get(3, 3), Some(Rgba::WHITE));
    assert_eq!(canvas.get(4, 4), Some(Rgba::BLACK));

    let text = gvpie(&[&"run", &program]);
    assert_eq!(text.code, 1);
    assert!(text.stderr.contains(":4: run-time error: division by zero (after 2 cycles)"), "{}", text.stderr);
}

#[test]
fn parse_errors_exit_2_with_every_diagnostic() {
    let dir = Dir::new("parse");
    let program = dir.write("bad.pxl", "RECTT 1 2 3 4\nSET x 5\nRECT 1 2 3\nJMP nowhere\n");
    let run = gvpie(&[&"run", &program, &"--json"]);
    assert_eq!(run.code, 2);
    let json = run.json();
    assert_eq!(json["success"], false);
    assert_eq!(json["error"]["kind"], "parse");
    assert_eq!(json["error"]["line"], 1);
    assert_eq!(json["error"]["column"], 1);
    let diagnostics = json["error"]["diagnostics"].as_array().expect("diagnostics");
    let lines: Vec<String> = diagnostics
        .iter()
        .map(|d| format!("{}:{}: {}", d["line"], d["column"], d["message"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        lines,
        [
            "1:1: unknown mnemonic 'RECTT' (did you mean RECT?)",
            "3:1: RECT expects 4 operands (x y w h), found 3",
            "4:5: undefined label 'nowhere'",
        ]
    );

    // Each diagnostic names the file, as `gvpie check` does.
    let text = gvpie(&[&"run", &program]);
    assert_eq!(text.code, 2);
    expect_test::expect![[r#"
        bad.pxl:1:1: unknown mnemonic 'RECTT' (did you mean RECT?)
            RECTT 1 2 3 4
            ^^^^^
        bad.pxl:3:1: RECT expects 4 operands (x y w h), found 3
            RECT 1 2 3
            ^^^^
        bad.pxl:4:5: undefined label 'nowhere'
            JMP nowhere
                ^^^^^^^
    "#]]
    .assert_eq(&text.stderr.replace(&format!("{}", dir.join("bad.pxl").display()), "bad.pxl"));
}

#[test]
fn budget_size_and_scale() {
    let dir = Dir::new("budget");
    let program = dir.write("spin.pxl", "loop:\nJMP loop\n");
    let run = gvpie(&[&"run", &program, &"--json", &"--budget", &"1000"]);
    assert_eq!(run.code, 1);
    let json = run.json();
    assert_eq!(json["cycles"], 1000);
    assert_eq!(json["error"]["kind"], "budget_exhausted");
    assert_eq!(json["error"]["line"], 2);

    let png = dir.join("big.png");
    let rect = dir.write("rect.pxl", "RECT 1 1 2 2\n");
    let run = gvpie(&[&"run", &rect, &"--size", &"5x4", &"--scale", &"3", &"-o", &png]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let canvas = decode_png(&png);
    assert_eq!((canvas.width(), canvas.height()), (15, 12));
    assert_eq!(canvas.get(2, 2), Some(Rgba::BLACK));
    assert_eq!(canvas.get(3, 3), Some(Rgba::WHITE));
    assert_eq!(canvas.get(8, 8), Some(Rgba::WHITE));
    assert_eq!(canvas.get(9, 9), Some(Rgba::BLACK));
}

#[test]
fn trace_prints_every_step() {
    let dir = Dir::new("trace");
    let program = dir.write("t.pxl", "SET x 5\nloop:\nADD i i 1\nIF i < 2 loop\nHALT\n");
    let run = gvpie(&[&"run", &program, &"--trace"]);
    assert_eq!(run.code, 0);
    expect_test::expect![[r#"
        1     1  SET x 5  x: 0 -> 5
        2     3  ADD i i 1  i: 0 -> 1
        3     4  IF i < 2 loop
        4     3  ADD i i 1  i: 1 -> 2
        5     4  IF i < 2 loop
        6     5  HALT
    "#]]
    .assert_eq(&run.stdout.lines().map(|l| format!("{}\n", l.trim_start())).collect::<String>());
}

#[test]
fn frames_and_animation() {
    let dir = Dir::new("frames");
    let frames = dir.join("frames");
    let anim = dir.join("anim.png");
    let run =
        gvpie(&[&"run", &examples_dir().join("countdown.pxl"), &"--frames", &frames, &"--anim", &anim, &"--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["frames"], 10);
    let mut names: Vec<String> = std::fs::read_dir(&frames)
        .expect("frames dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 10);
    assert_eq!(names[0], "frame_0000.png");
    assert_eq!(names[9], "frame_0009.png");
    // The first frame is the background colour of the countdown.
    assert_eq!(decode_png(&frames.join("frame_0000.png")).get(0, 0), Some(Rgba::new(0, 0, 64, 255)));
    let bytes = std::fs::read(&anim).expect("anim");
    assert!(bytes.windows(4).any(|w| w == b"acTL"), "animated PNG has an acTL chunk");
}

#[test]
fn every_example_runs() {
    let mut n_examples = 0;
    for entry in std::fs::read_dir(examples_dir()).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "pxl") {
            n_examples += 1;
            let run = gvpie(&[&"run", &path, &"--json", &"--backend", &"cpu"]);
            assert_eq!(run.code, 0, "{}: {}", path.display(), run.stdout);
        }
    }
    assert!(n_examples >= 10, "only {n_examples} examples");
}

#[test]
fn timeout_stops_an_endless_program_with_a_time_limit_error() {
    let dir = Dir::new("timeout");
    let program = dir.write("forever.pxl", "RECT 0 0 2 2\ntop:\nJMP top\n");
    let png = dir.join("so_far.png");
    let budget = "1000000000000";
    let run =
        gvpie(&[&"run", &program, &"--json", &"--timeout", &"1", &"--budget", &budget, &"-o", &png, &"--size", &"4x4"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["success"], false);
    assert_eq!(json["backend"], "cpu");
    assert_eq!(json["error"]["kind"], "time_limit");
    assert_eq!(json["error"]["line"], 3);
    assert!(json["cycles"].as_u64().is_some_and(|c| c > 1), "{json}");
    // The canvas drawn so far is written.
    assert_eq!(decode_png(&png).get(1, 1), Some(Rgba::WHITE));

    let text = gvpie(&[&"run", &program, &"--timeout", &"0.2", &"--budget", &budget]);
    assert_eq!(text.code, 1);
    assert!(text.stderr.contains(":3: run-time error: stopped by the time limit"), "{}", text.stderr);
    // --trace honours it too.
    let traced = gvpie(&[&"run", &program, &"--trace", &"--json", &"--timeout", &"0.2", &"--budget", &budget]);
    assert_eq!((traced.code, traced.json()["error"]["kind"].as_str()), (1, Some("time_limit")));

    for bad in ["0", "-1", "soon", "1e99"] {
        let run = gvpie(&[&"run", &program, &format!("--timeout={bad}")]);
        assert_eq!(run.code, 2, "--timeout {bad}: {}", run.stderr);
        assert!(run.stderr.contains("for '--timeout <SECONDS>'"), "{}", run.stderr);
    }
}

/// Issue 17 (finding 9): Ctrl-C ended `gvpie run` without writing anything. Now SIGINT stops the
/// run like the time limit: the canvas so far is written, the result says `time_limit`
/// (cancelled), and the exit status is 1.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_writes_the_canvas_so_far() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = Dir::new("ctrl-c");
    let program = dir.write("forever.pxl", "RECT 0 0 2 2\ntop:\nJMP top\n");
    let png = dir.join("so_far.png");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gvpie"))
        .args(["run", "--json", "--budget", "1000000000000", "--size", "4x4", "-o"])
        .arg(&png)
        .arg(&program)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gvpie run");
    let pid = child.id();
    // Wait until the process catches SIGINT (bit 2 of SigCgt in /proc): an event, not a sleep.
    let catches_sigint = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & 0b10 != 0)
    };
    let ready = (0..2000).any(|_| {
        let ready = catches_sigint();
        if !ready {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        ready
    });
    assert!(ready, "gvpie run never installed its Ctrl-C handler");
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill").success());
    let mut stdout = String::new();
    let mut stderr = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut stdout).expect("read stdout");
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read stderr");
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(1), "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(json["error"]["kind"], "time_limit", "{json}");
    assert!(json["error"]["message"].as_str().is_some_and(|m| m.starts_with("cancelled after")), "{json}");
    assert!(stderr.contains("interrupted (Ctrl-C); the canvas so far is in"), "{stderr}");
    // The RECT before the loop is on the canvas written.
    assert_eq!(decode_png(&png).get(1, 1), Some(Rgba::WHITE));
}

#[test]
fn backend_names_are_case_insensitive() {
    let hello = examples_dir().join("hello_gpu.pxl");
    for backend in ["CPU", "Cpu", "AUTO", "auto"] {
        let run = gvpie(&[&"run", &hello, &"--json", &"--backend", &backend]);
        assert_eq!((run.code, run.json()["backend"].as_str()), (0, Some("cpu")), "{backend}: {}", run.stderr);
    }
    // `GPU` is accepted: it runs on the GPU, or says there is none (never clap's "invalid value").
    let run = gvpie(&[&"run", &hello, &"--json", &"--backend", &"GPU"]);
    if run.code == 0 {
        assert_eq!(run.json()["backend"], "gpu");
    } else {
        assert!(std::env::var_os("GVPIE_REQUIRE_GPU").is_none(), "GVPIE_REQUIRE_GPU is set: {}", run.stderr);
        assert_eq!(run.code, 2);
        assert!(run.stderr.starts_with("gvpie: --backend gpu: "), "{}", run.stderr);
    }
    let run = gvpie(&[&"run", &hello, &"--backend", &"tpu"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("invalid value 'tpu' for '--backend <BACKEND>'"), "{}", run.stderr);
}

#[test]
fn every_tier_gives_the_same_result_and_says_which_ran() {
    let dir = Dir::new("tiers");
    // 2.4M cycles: past the auto threshold, so auto compiles too.
    let program = dir.write("tiers.pxl", "loop:\nADD i i 1\nXOR s s i\nPSET s i\nIF i < 800000 loop\nDIV z s 0\n");
    let mut results = Vec::new();
    for (tier, ran) in [("interp", "interp"), ("JIT", "jit"), ("auto", "jit")] {
        let png = dir.join(&format!("{tier}.png"));
        let run = gvpie(&[&"run", &program, &"--json", &"--tier", &tier, &"-o", &png, &"--size", &"16x8"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let json = run.json();
        assert_eq!(json["tier"], ran, "{tier}");
        assert!(json.get("jit_fallback").is_none(), "{json}");
        assert_eq!(
            (json["error"]["kind"].as_str(), json["error"]["line"].as_u64()),
            (Some("division_by_zero"), Some(6))
        );
        results.push((json["cycles"].clone(), std::fs::read(&png).expect("png")));
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    let run = gvpie(&[&"run", &program, &"--tier", &"fast"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("expected interp, jit or auto"), "{}", run.stderr);
}

/// A cartridge carries its program's `SIZE`: `cart pack` draws its screen at that size and `run`
/// runs it at that size, both without flags.
#[test]
fn cartridges_keep_the_declared_size() {
    let dir = Dir::new("cart-size");
    let program = dir.write("dot.pxl", "SIZE 12 5\nPSET 11 4\nHALT\n");
    let cart = dir.join("dot.png");
    let pack = gvpie(&[&"cart", &"pack", &program, &"-o", &cart]);
    assert_eq!(pack.code, 0, "{}", pack.stderr);
    let run = gvpie(&[&"run", &cart, &"--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!((run.json()["width"].as_u64(), run.json()["height"].as_u64()), (Some(12), Some(5)));
    let disasm = gvpie(&[&"asm", &program, &"-o", &dir.join("dot.pxt")]);
    assert_eq!(disasm.code, 0, "{}", disasm.stderr);
    let back = gvpie(&[&"disasm", &dir.join("dot.pxt")]);
    assert!(back.stdout.lines().any(|line| line == "SIZE 12 5"), "{}", back.stdout);
}
