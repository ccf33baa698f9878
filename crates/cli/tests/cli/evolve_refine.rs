//! `gvpie evolve` refines by default: the output reruns exactly in the VM, is never worse than the search alone,
//! says what refinement gained; `--no-refine` is the search alone.

use crate::util::{Dir, decode_png, gvpie};

fn chelsea() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test_data/images/chelsea.png")
}

/// Runs `gvpie evolve` on chelsea at 48 px, 10 shapes, seed 3, plus `more`; returns the JSON summary and the
/// program, after checking that `gvpie run` draws the output PNG exactly.
fn evolve(dir: &Dir, name: &str, more: &[&str]) -> (serde_json::Value, String) {
    let (out, program) = (dir.join(&format!("{name}.png")), dir.join(&format!("{name}.pxl")));
    let args: [&dyn AsRef<std::ffi::OsStr>; 14] = [
        &"evolve",
        &chelsea(),
        &"-n",
        &"10",
        &"-o",
        &out,
        &"--program",
        &program,
        &"--resize",
        &"48",
        &"--seed",
        &"3",
        &"-j",
        &"2",
    ];
    let more: Vec<&dyn AsRef<std::ffi::OsStr>> = more.iter().map(|m| m as &dyn AsRef<std::ffi::OsStr>).collect();
    let run = gvpie(&[&args[..], &more[..], &[&"--json"]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rerun = dir.join(&format!("{name}-rerun.png"));
    let again = gvpie(&[&"run", &program, &"--backend", &"cpu", &"-o", &rerun]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(decode_png(&rerun), decode_png(&out), "{name}: the program does not draw the output");
    let scored = gvpie(&[&"evolve", &chelsea(), &"--resize", &"48", &"--score", &out, &"--json"]);
    assert_eq!(scored.json()["rmse"], run.json()["rmse"]);
    (run.json(), std::fs::read_to_string(program).expect("program written"))
}

#[test]
fn refinement_is_on_by_default_reruns_exactly_and_is_never_worse() {
    let dir = Dir::new("evolve-refine");
    let (alone, alone_program) = evolve(&dir, "alone", &["--no-refine"]);
    let (refined, refined_program) = evolve(&dir, "refined", &[]);
    let rmse = |v: &serde_json::Value| v["rmse"].as_f64().unwrap_or(f64::NAN);
    assert!(rmse(&refined) <= rmse(&alone), "{} > {}", rmse(&refined), rmse(&alone));
    assert_eq!(refined["shapes"], 10);
    assert_eq!(refined_program.matches("\nTRI ").count(), 10, "{refined_program}");
    // The summary says what refinement did; the final refinement's "after" is the output's RMSE when it was kept.
    let summary = &refined["refine"];
    assert!(summary["refinements"].as_u64().is_some_and(|n| n >= 1), "{refined}");
    let (before, after) = (summary["rmse_before"].as_f64(), summary["rmse_after"].as_f64());
    assert!(before.zip(after).is_some_and(|(b, a)| a <= b), "{refined}");
    assert_eq!(after, Some(rmse(&refined)));
    assert!(summary["gained"].as_f64().is_some_and(|g| g >= 0.0), "{refined}");
    // `--no-refine` is the search alone: no refinement reported, and refinement settings that never refine give
    // the same program.
    assert!(alone.get("refine").is_none(), "{alone}");
    let (_, idle_program) = evolve(&dir, "idle", &["--refine-every", "0", "--final-steps", "0"]);
    assert_eq!(idle_program, alone_program);
    // Same seed, same program, refinement included.
    assert_eq!(evolve(&dir, "again", &[]).1, refined_program);
}

#[test]
fn the_text_report_says_what_refinement_gained_and_help_explains_it() {
    let dir = Dir::new("evolve-refine-text");
    let out = dir.join("out.png");
    let args: [&dyn AsRef<std::ffi::OsStr>; 10] =
        [&"evolve", &chelsea(), &"-n", &"6", &"-o", &out, &"--resize", &"40", &"--refine-every", &"3"];
    let run = gvpie(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("refined ") && run.stderr.contains(" at the last"), "{}", run.stderr);
    let help = gvpie(&[&"evolve", &"--help"]);
    assert_eq!(help.code, 0);
    for words in ["--no-refine", "Refinement is on by default", "--refine-every", "--final-steps"] {
        assert!(help.stdout.contains(words), "--help lacks {words}: {}", help.stdout);
    }
}
