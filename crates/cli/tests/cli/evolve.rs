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
