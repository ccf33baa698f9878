//! The README stays true: its Python snippet runs as a script against a real server, and its
//! `--json` example shows the keys in the order `gvpie run --json` prints them.

use crate::serve::{Server, install_bridge, python};
use crate::util::{Dir, gvpie};

fn readme() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).expect("README")
}

#[test]
fn the_readme_python_snippet_runs_as_a_script() {
    let text = readme();
    let snippet = text
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("the README has no Python snippet"));
    let dir = Dir::new("readme-python");
    let site = install_bridge(&dir);
    let server = Server::start(&dir, None);
    let script = dir.write("snippet.py", snippet);
    let (code, stdout, stderr) = python(&dir, &site, &server.url(), None, &script);
    assert_eq!(code, 0, "the README's snippet failed as a script:\n{snippet}\n{stdout}{stderr}");
    let words: Vec<&str> = stdout.split_whitespace().collect();
    assert_eq!(words[..3], ["True", "2", "cpu"], "{stdout}");
    assert!(words.get(3).is_some_and(|ms| ms.parse::<f64>().is_ok()), "{stdout}");
}

#[test]
fn the_readme_json_example_has_the_real_key_order() {
    let text = readme();
    let line = text
        .lines()
        .find(|line| line.starts_with("gvpie run examples/hello_gpu.pxl --json"))
        .unwrap_or_else(|| panic!("the README has no `gvpie run examples/hello_gpu.pxl --json` line"));
    let shown = line.split("# ").nth(1).unwrap_or("").trim();
    let shown = shown.strip_prefix('{').and_then(|s| s.strip_suffix(",...}")).unwrap_or_else(|| panic!("{line}"));
    let pairs: Vec<(&str, &str)> = shown
        .split(',')
        .map(|pair| pair.split_once(':').unwrap_or_else(|| panic!("not key:value: {pair}")))
        .map(|(key, value)| (key.trim_matches('"'), value))
        .collect();

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let run = gvpie(&[&"run", &root.join("examples/hello_gpu.pxl"), &"--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let keys: Vec<String> = run
        .stdout
        .trim()
        .trim_start_matches('{')
        .split(",\"")
        .filter_map(|pair| pair.trim_start_matches('"').split_once("\":").map(|(k, _)| k.to_string()))
        .collect();
    let shown_keys: Vec<&str> = pairs.iter().map(|(key, _)| *key).collect();
    assert_eq!(shown_keys, keys[..shown_keys.len()], "the README shows {line}\nthe real output is {}", run.stdout);
    let real = run.json();
    for (key, value) in pairs {
        if key != "duration_ms" {
            assert_eq!(real[key].to_string(), value, "{key}");
        }
    }
}
