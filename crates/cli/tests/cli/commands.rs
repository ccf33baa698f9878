//! `check`, `fmt`, `asm`, `disasm`, `cart`, `--help`.

use crate::util::{Dir, examples_dir, gvpie};

#[test]
fn help_on_every_command() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["check", "--help"],
        &["fmt", "--help"],
        &["asm", "--help"],
        &["disasm", "--help"],
        &["cart", "--help"],
        &["cart", "pack", "--help"],
        &["cart", "unpack", "--help"],
    ] {
        let run = gvpie(&args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>).collect::<Vec<_>>());
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(run.stdout.contains("Usage:"), "{args:?}: {}", run.stdout);
    }
    let run = gvpie(&[&"frobnicate"]);
    assert_eq!(run.code, 2);
}

#[test]
fn check_reports_per_file() {
    let dir = Dir::new("check");
    let good = dir.write("good.pxl", "HALT\n");
    let bad = dir.write("bad.pxl", "HALT 1\n");
    assert_eq!(gvpie(&[&"check", &good]).code, 0);
    let run = gvpie(&[&"check", &good, &bad]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.pxl:1:6: HALT expects no operands, found 1"), "{}", run.stderr);
}

#[test]
fn fmt_is_canonical_and_checkable() {
    let dir = Dir::new("fmt");
    let messy =
        dir.write("m.pxl", "\n\n  start:   set x   0X1f # hex\n\n\n  txt 1 2  two  spaces\nif x  <  3  start\n\n");
    let run = gvpie(&[&"fmt", &messy]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    expect_test::expect![[r#"
        start:
        SET x 0x1f # hex

        TXT 1 2  two  spaces
        IF x < 3 start
    "#]]
    .assert_eq(&run.stdout);
    assert_eq!(gvpie(&[&"fmt", &"--check", &messy]).code, 1);
    assert_eq!(gvpie(&[&"fmt", &"--write", &messy]).code, 0);
    assert_eq!(gvpie(&[&"fmt", &"--check", &messy]).code, 0);
    assert_eq!(std::fs::read_to_string(&messy).expect("read"), run.stdout);
}

#[test]
fn asm_and_disasm_round_trip() {
    let dir = Dir::new("asm");
    let source = examples_dir().join("fibonacci.pxl");
    for name in ["fib.pxt", "fib.png"] {
        let texture = dir.join(name);
        let run = gvpie(&[&"asm", &source, &"-o", &texture]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let from_texture = gvpie(&[&"run", &texture, &"--json"]).json();
        let from_source = gvpie(&[&"run", &source, &"--json"]).json();
        assert_eq!(from_texture["cycles"], from_source["cycles"]);
        assert_eq!(from_texture["cycles"], 76);
    }
    let listing = gvpie(&[&"disasm", &dir.join("fib.pxt")]);
    assert_eq!(listing.code, 0);
    assert!(listing.stdout.contains("show:\nCOLOR 0 255 128\nNUM 2 y a\nRET\n"), "{}", listing.stdout);
    let relisted = dir.write("relisted.pxl", &listing.stdout);
    let a = dir.join("a.png");
    let b = dir.join("b.png");
    gvpie(&[&"run", &source, &"-o", &a]);
    gvpie(&[&"run", &relisted, &"-o", &b]);
    assert_eq!(std::fs::read(a).expect("a"), std::fs::read(b).expect("b"));

    let stripped = dir.join("stripped.pxt");
    assert_eq!(gvpie(&[&"asm", &source, &"-o", &stripped, &"--strip"]).code, 0);
    let listing = gvpie(&[&"disasm", &stripped]);
    assert!(listing.stdout.contains("NUM 2 v2 v0\n"), "{}", listing.stdout);
}

#[test]
fn cartridge_pack_unpack_run() {
    let dir = Dir::new("cart");
    let source = examples_dir().join("circles.pxl");
    let cart = dir.join("circles.png");
    let run = gvpie(&[&"cart", &"pack", &source, &"-o", &cart]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let unpacked = gvpie(&[&"cart", &"unpack", &cart]);
    assert_eq!(unpacked.code, 0);
    assert_eq!(unpacked.stdout, std::fs::read_to_string(&source).expect("source"));
    let from_cart = gvpie(&[&"run", &cart, &"--json"]).json();
    assert_eq!(from_cart["success"], true);
    assert_eq!(from_cart["cycles"], 10);
    // The cartridge shows the program's screen, scaled up.
    let image = gvpie_cart::decode_png(&std::fs::read(&cart).expect("cart")).expect("png");
    assert_eq!(image.width() % 128, 0);
    assert!(image.width() >= 256);
}

/// A reader that goes away (`gvpie … | head`) ends a printing command quietly, never with a panic;
/// a server keeps ignoring SIGPIPE (it is not reset for `serve`, `daemon`, `up`).
#[test]
#[cfg(unix)]
fn a_closed_stdout_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let program = examples_dir().join("countdown.pxl");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gvpie"))
        .arg("disasm")
        .arg(&program)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run gvpie");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "a panic on a closed pipe: {stderr}");
    const SIGPIPE: i32 = 13;
    assert_eq!(output.status.signal(), Some(SIGPIPE), "ended by SIGPIPE like cat: {:?} {stderr}", output.status);
}

/// `-o /dev/null` writes into the device instead of renaming a file over it (as root that turned
/// `/dev/null` into a regular file), and an output that is a symbolic link stays one.
#[test]
#[cfg(unix)]
fn outputs_that_are_not_plain_files_are_written_into() {
    use std::os::unix::fs::FileTypeExt;
    let run = gvpie(&[&"compile", &"a red circle", &"-o", &"/dev/null"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let null = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(null.file_type().is_char_device(), "/dev/null is no longer a device: {null:?}");

    let dir = Dir::new("symlinked-output");
    let real = dir.write("real.pxl", "old");
    let link = dir.join("link.pxl");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let run = gvpie(&[&"compile", &"a red circle", &"-o", &link]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink(), "the link was replaced");
    let written = std::fs::read_to_string(&real).expect("target");
    assert!(written.contains("CIRC"), "the link's target holds the program: {written}");
}
