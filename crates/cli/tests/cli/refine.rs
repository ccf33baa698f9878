//! `gvpie refine`: a program from `gvpie evolve` refined against the same photo never gets worse, and the written
//! program draws exactly the reported picture in the VM; programs with loops keep them; bad input is refused.

use crate::util::{Dir, decode_png, gvpie};

fn image(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test_data/images").join(name)
}

#[test]
fn refining_an_evolved_program_never_gets_worse_and_reruns_exactly() {
    let dir = Dir::new("refine-evolved");
    let (evolved, program) = (dir.join("evolved.png"), dir.join("evolved.pxl"));
    let args: [&dyn AsRef<std::ffi::OsStr>; 12] = [
        &"evolve",
        &image("chelsea.png"),
        &"-n",
        &"8",
        &"-o",
        &evolved,
        &"--program",
        &program,
        &"--resize",
        &"48",
        &"--seed",
        &"3",
    ];
    let run = gvpie(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let (refined, png) = (dir.join("refined.pxl"), dir.join("refined.png"));
    let args: [&dyn AsRef<std::ffi::OsStr>; 12] = [
        &"refine",
        &program,
        &image("chelsea.png"),
        &"-o",
        &refined,
        &"--png",
        &png,
        &"--seconds",
        &"3",
        &"--backend",
        &"cpu",
        &"--json",
    ];
    let run = gvpie(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.json();
    let (before, after) =
        (summary["rmse_before"].as_f64().unwrap_or(0.0), summary["rmse_after"].as_f64().unwrap_or(1.0));
    assert!(after <= before, "{after} > {before}");
    assert!(before > 0.0);
    assert_eq!((summary["width"].as_u64(), summary["height"].as_u64()), (Some(48), Some(32)));
    assert_eq!(summary["gradients_on"], "cpu");
    assert!(run.stderr.contains("rmse ") && run.stderr.contains(" -> "), "{}", run.stderr);

    // The refined program draws the refined PNG exactly in the VM, and that picture has the reported RMSE.
    let rerun = dir.join("rerun.png");
    let run = gvpie(&[&"run", &refined, &"--backend", &"cpu", &"-o", &rerun]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(decode_png(&rerun), decode_png(&png));
    let scored = gvpie(&[&"evolve", &image("chelsea.png"), &"--resize", &"48", &"--score", &png, &"--json"]);
    assert_eq!(scored.code, 0, "{}", scored.stderr);
    assert_eq!(scored.json()["rmse"].as_f64(), Some(after));
    // The evolved program's own picture has the "before" RMSE.
    let scored = gvpie(&[&"evolve", &image("chelsea.png"), &"--resize", &"48", &"--score", &evolved, &"--json"]);
    assert_eq!(scored.json()["rmse"].as_f64(), Some(before));
}

#[test]
fn a_crude_program_improves_a_lot_and_loops_are_kept() {
    let dir = Dir::new("refine-crude");
    // Half-transparent triangles drawn in a loop whose x offset is computed: only the literals move.
    let source = "CLS 128 128 128\nSET i 0\nloop:\nMUL x i 12\nCOLOR 200 120 90 128\nTRI x 5 30 10 10 28\nLOOP i 3 loop\n\
                  COLOR 30 60 90 128\nTRI 2 30 40 2 46 30\nRECT 10 10 8 8\nCIRCF 30 20 6\nLINE 0 0 47 31\n";
    let program = dir.write("crude.pxl", source);
    let refined = dir.join("refined.pxl");
    let args: [&dyn AsRef<std::ffi::OsStr>; 12] = [
        &"refine",
        &program,
        &image("coffee.png"),
        &"-o",
        &refined,
        &"--resize",
        &"48",
        &"--seconds",
        &"4",
        &"--backend",
        &"cpu",
        &"--json",
    ];
    let run = gvpie(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.json();
    let (before, after) =
        (summary["rmse_before"].as_f64().unwrap_or(0.0), summary["rmse_after"].as_f64().unwrap_or(1.0));
    assert!(after < 0.8 * before, "{after} vs {before}");
    let text = std::fs::read_to_string(&refined).expect("written");
    assert!(text.contains("LOOP i 3 loop") && text.contains("MUL x i 12"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("TRI x ")), "{text}");
    // The target's size is declared, so a plain run draws the reported picture.
    assert!(text.lines().any(|l| l.starts_with("SIZE ")), "{text}");
}

#[test]
fn bad_input_is_refused_with_exit_2() {
    let dir = Dir::new("refine-bad");
    let broken = dir.write("broken.pxl", "RECTT 1 2 3 4\n");
    let out = dir.join("out.pxl");
    let run = gvpie(&[&"refine", &broken, &image("chelsea.png"), &"-o", &out]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("unknown mnemonic 'RECTT'"), "{}", run.stderr);
    let fine = dir.write("fine.pxl", "RECT 1 2 3 4\n");
    let run = gvpie(&[&"refine", &fine, &dir.join("missing.png"), &"-o", &out]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = gvpie(&[&"refine", &fine, &image("chelsea.png"), &"-o", &out, &"--seconds", &"-1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!out.exists());
    let help = gvpie(&[&"refine", &"--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("operands computed at run time (variables) stay as they are"), "{}", help.stdout);
}

/// `--backend gpu` computes the gradients on the GPU (lavapipe in CI) or is refused with exit 2 where there is none;
/// `auto` never takes a software adapter. The program written is the same kind of exact result either way.
#[test]
fn gpu_gradients_and_auto_never_on_a_software_adapter() {
    let dir = Dir::new("refine-gpu");
    let program = dir.write("p.pxl", "CLS 100 100 100\nCOLOR 200 80 40 128\nTRI 2 2 40 8 10 30\nRECT 20 10 12 12\n");
    for backend in ["gpu", "auto"] {
        let (out, png) = (dir.join(&format!("{backend}.pxl")), dir.join(&format!("{backend}.png")));
        let args: [&dyn AsRef<std::ffi::OsStr>; 14] = [
            &"refine",
            &program,
            &image("coffee.png"),
            &"--resize",
            &"48",
            &"-o",
            &out,
            &"--png",
            &png,
            &"--seconds",
            &"3",
            &"--backend",
            &backend,
            &"--json",
        ];
        let run = gvpie(&args);
        if backend == "gpu" && run.code == 2 {
            assert!(run.stderr.contains("--backend gpu"), "{}", run.stderr);
            continue;
        }
        assert_eq!(run.code, 0, "{}", run.stderr);
        let summary = run.json();
        let on = summary["gradients_on"].as_str().unwrap_or_default().to_string();
        if backend == "gpu" {
            assert!(on.starts_with("gpu") || on.starts_with("cpu (the GPU failed"), "{on}");
        } else {
            assert!(!on.contains(", cpu)"), "auto picked a software adapter: {on}");
        }
        let (before, after) = (summary["rmse_before"].as_f64(), summary["rmse_after"].as_f64());
        assert!(after.is_some() && after <= before, "{after:?} {before:?}");
        let rerun = dir.join(&format!("{backend}-rerun.png"));
        let run = gvpie(&[&"run", &out, &"--backend", &"cpu", &"-o", &rerun]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(decode_png(&rerun), decode_png(&png));
    }
}
