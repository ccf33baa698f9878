//! The gallery in docs/compile/ is what the compiler writes today: each program's first line
//! names its description, and compiling it again gives the same program. `UPDATE_EXPECT=1`
//! rewrites the programs (render the pictures again with `gvpie run FILE.pxl -o FILE.png --scale 3`).

use std::path::Path;

use gvpie_compile::{Options, compile};

#[test]
fn the_gallery_programs_are_what_the_compiler_writes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compile");
    let mut entries: Vec<_> =
        std::fs::read_dir(&dir).expect("docs/compile").filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    let mut checked = 0;
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "pxl")) {
        let program = std::fs::read_to_string(path).expect("read");
        let description = program.lines().next().and_then(|l| l.strip_prefix("# gvpie compile: ")).expect("a header");
        let compiled = compile(description, &Options::default()).expect("the gallery compiles");
        if std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1") {
            std::fs::write(path, &compiled.source).expect("write");
        } else {
            assert_eq!(
                compiled.source,
                program,
                "{} is stale: UPDATE_EXPECT=1 cargo test -p gvpie-compile",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked} gallery programs");
}
