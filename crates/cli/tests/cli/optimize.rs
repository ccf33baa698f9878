//! `gvpie optimize`: line edits alternating with the program database, checked with the real binary and the VM.

use gvpie_evolve::{OptimizeConfig, OptimizeSearch};

use crate::util::{Dir, Run, decode_png, gvpie};

/// 4 cycles a pixel where 2 do: `MUL` and `COLOR` depend on `y` only.
const SLOW: &str =
    "SET y 0\nrow:\nSET x 0\ncol:\nMUL b y 4\nCOLOR 0 0 b\nPSET x y\nLOOP x 32 col\nLOOP y 16 row\nHALT\n";

fn optimize(dir: &Dir, extra: &[&str]) -> (Run, String) {
    let (slow, fast) = (dir.write("slow.pxl", SLOW), dir.join("fast.pxl"));
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"optimize", &slow, &"-o", &fast, &"--size", &"32x16", &"--seconds", &"1", &"--json"];
    args.extend(extra.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
    let run = gvpie(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&fast).expect("written");
    (run, text)
}

#[test]
fn optimize_through_the_database_draws_the_same_pixels_in_fewer_cycles() {
    let dir = Dir::new("optimize-database");
    // Every step a generation: whatever is found, the program database found it.
    let (run, text) = optimize(&dir, &["--every", "1", "--backend", "cpu"]);
    let summary = run.json();
    let (before, after) = (summary["original_cycles"].as_u64(), summary["cycles"].as_u64());
    assert!(after < before, "{before:?} -> {after:?}");
    assert!(summary["accepted_from_database"].as_u64() > Some(0), "{summary}");
    let lineage: Vec<&str> = text.lines().filter(|l| l.starts_with("# lineage: ")).collect();
    assert!(!lineage.is_empty() && lineage.iter().all(|l| l.starts_with("# lineage: evolve:")), "{text}");
    assert!(lineage.last().is_some_and(|l| l.ends_with(&format!(" -> {} cycles", after.unwrap_or(0)))), "{text}");

    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    let fast = dir.join("fast.pxl");
    let first =
        gvpie(&[&"run", &dir.join("slow.pxl"), &"--size", &"32x16", &"--backend", &"cpu", &"-o", &a, &"--json"]);
    let second = gvpie(&[&"run", &fast, &"--size", &"32x16", &"--backend", &"cpu", &"-o", &b, &"--json"]);
    assert_eq!((first.code, second.code), (0, 0), "{}{}", first.stderr, second.stderr);
    assert_eq!(decode_png(&a), decode_png(&b));
    assert_eq!(first.json()["cycles"].as_u64(), before);
    assert_eq!(second.json()["cycles"].as_u64(), after);
}

#[test]
fn optimize_reports_the_database_in_json() {
    let dir = Dir::new("optimize-json");
    let (run, _) = optimize(&dir, &["--every", "2", "--islands", "3", "--children", "8"]);
    let summary = run.json();
    let database = &summary["database"];
    assert!(database["generation"].as_u64() > Some(0), "{summary}");
    assert_eq!(database["islands"], 3);
    assert!(database["kept"].as_u64() >= Some(1), "the original at least: {summary}");
    assert!(database["elites"].as_u64() >= Some(1), "{summary}");
    assert!(database["evaluations"].as_u64() > Some(0), "{summary}");
    let operators = database["operators"].as_array().expect("operators");
    let names: Vec<&str> = operators.iter().filter_map(|o| o["operator"].as_str()).collect();
    assert_eq!(names, ["insert", "delete", "swap", "tweak-small", "tweak-large", "crossover"]);
    assert!(operators.iter().map(|o| o["tries"].as_u64().unwrap_or(0)).sum::<u64>() > 0, "{summary}");
    // Line edits ran too, and the lineage says which search found each program.
    assert!(summary["operators"].as_array().expect("edits").iter().any(|o| o["tries"].as_u64() > Some(0)));
    let lineage = summary["lineage"].as_array().expect("lineage");
    assert_eq!(summary["accepted"].as_u64(), Some(lineage.len() as u64));
}

#[test]
fn optimize_every_0_is_the_line_edit_search_alone() {
    let dir = Dir::new("optimize-every-0");
    let (run, text) = optimize(&dir, &["--every", "0", "--seed", "3"]);
    let summary = run.json();
    assert!(summary["database"].is_null(), "{summary}");
    assert_eq!(summary["accepted_from_database"], 0);
    assert!(!text.contains("evolve:"), "{text}");
    // Exactly what the line-edit search alone reaches in as many steps.
    let steps = summary["steps"].as_u64().expect("steps");
    let vm = gvpie_pxl::Config { width: 32, height: 16, ..gvpie_pxl::Config::default() };
    let mut search = OptimizeSearch::new(SLOW, OptimizeConfig { vm, seed: 3 }).expect("valid");
    search.run(steps);
    assert_eq!(summary["evaluations"].as_u64(), Some(search.n_evaluations()));
    assert_eq!(summary["cycles"].as_u64(), Some(search.cycles()));
    let lineage: Vec<String> =
        search.history().iter().map(|a| format!("# lineage: {} -> {} cycles", a.edit, a.cycles)).collect();
    let written: Vec<&str> = text.lines().filter(|l| l.starts_with("# lineage: ")).collect();
    assert_eq!(written, lineage);
    assert!(text.ends_with(&search.source()), "{text}");
}

#[test]
fn optimize_refuses_bad_flag_values() {
    let dir = Dir::new("optimize-flags");
    let (slow, fast) = (dir.write("slow.pxl", SLOW), dir.join("fast.pxl"));
    for (flag, value, message) in [
        ("--islands", "0", "--islands 0 is out of range (1 to 256)"),
        ("--children", "0", "--children 0 is out of range (1 to 65536)"),
        ("--children", "100000", "--children 100000 is out of range (1 to 65536)"),
        ("--every", "-1", "invalid value '-1' for '--every <N>'"),
        ("--every", "often", "invalid value 'often' for '--every <N>'"),
        ("--backend", "tpu", "invalid value 'tpu' for '--backend <BACKEND>'"),
    ] {
        let run = gvpie(&[&"optimize", &slow, &"-o", &fast, &"--seconds", &"0", &format!("{flag}={value}")]);
        assert_eq!(run.code, 2, "{flag} {value}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{flag} {value}: {}", run.stderr);
        assert!(!fast.exists(), "nothing written for {flag} {value}");
    }
}
