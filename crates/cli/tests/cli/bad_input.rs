//! Hostile and broken input: clear errors, exit status 2, no panic.

use crate::util::{Dir, gvpie};

fn assert_usage_error(args: &[&dyn AsRef<std::ffi::OsStr>], needle: &str) {
    let run = gvpie(args);
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert!(run.stderr.contains(needle), "expected {needle:?} in {:?}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn garbage_bytes() {
    let dir = Dir::new("garbage");
    let path = dir.write("garbage.pxl", [0x48, 0x41, 0x4c, 0x54, 0x0a, 0xff, 0xfe, 0x00, 0x81]);
    assert_usage_error(&[&"run", &path], "2:1: not UTF-8 text (byte offset 5)");
    let binary = dir.write("binary.pxl", (0..=255u8).cycle().take(4096).collect::<Vec<_>>());
    assert_usage_error(&[&"run", &binary], "not UTF-8 text");
}

#[test]
fn hundred_megabyte_file() {
    let dir = Dir::new("huge");
    let path = dir.join("huge.pxl");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(100 << 20).expect("sparse file");
    assert_usage_error(&[&"run", &path], "file is 104857600 bytes; the limit is");
}

#[test]
fn megabyte_line() {
    let dir = Dir::new("longline");
    let path = dir.write("long.pxl", format!("TXT 0 0 {}\n", "A".repeat(1 << 20)));
    assert_usage_error(&[&"run", &path], "1:9: TXT text is 1048576 bytes; the limit is 4096");
    let operands = dir.write("ops.pxl", format!("RECT {}\n", "1 ".repeat(1 << 19)));
    assert_usage_error(&[&"run", &operands], "1:14: RECT expects 4 operands (x y w h), found 524288");
}

#[test]
fn png_that_is_not_a_cartridge() {
    let dir = Dir::new("notcart");
    let canvas = gvpie_raster::Canvas::new(4, 4).expect("canvas");
    let path = dir.write("plain.png", gvpie_cart::encode_png(&canvas, 1));
    assert_usage_error(&[&"run", &path], "no gvpie cartridge");
    assert_usage_error(&[&"cart", &"unpack", &path], "no gvpie cartridge");
}

#[test]
fn truncated_cartridge() {
    let dir = Dir::new("truncated");
    let source = dir.write("p.pxl", "TXT 1 1 HI\n");
    let cart = dir.join("p.png");
    assert_eq!(gvpie(&[&"cart", &"pack", &source, &"-o", &cart]).code, 0);
    let bytes = std::fs::read(&cart).expect("cart");
    for cut in [9, bytes.len() / 2, bytes.len() - 20] {
        let truncated = dir.write("t.png", &bytes[..cut]);
        let run = gvpie(&[&"run", &truncated]);
        assert_eq!(run.code, 2, "cut at {cut}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
        assert!(run.stderr.starts_with("gvpie: "), "{}", run.stderr);
    }
}

#[test]
fn cartridge_from_a_newer_version() {
    let dir = Dir::new("newer");
    let mut payload = gvpie_cart::payload_bytes("HALT\n").expect("payload");
    payload[4] = gvpie_cart::CART_VERSION + 1;
    let screen = gvpie_raster::Canvas::new(128, 64).expect("canvas");
    let path = dir.write("new.png", gvpie_cart::pack_payload(&payload, &screen).expect("pack"));
    assert_usage_error(
        &[&"run", &path],
        "cartridge format version 2 is newer than this gvpie supports (1); upgrade gvpie",
    );
}

#[test]
fn texture_from_a_newer_version() {
    let dir = Dir::new("newtex");
    let source = dir.write("p.pxl", "HALT\n");
    let texture = dir.join("p.pxt");
    assert_eq!(gvpie(&[&"asm", &source, &"-o", &texture]).code, 0);
    let mut bytes = std::fs::read(&texture).expect("texture");
    bytes[4] = 3;
    let newer = dir.write("newer.pxt", bytes);
    assert_usage_error(
        &[&"run", &newer],
        "machine texture version 3 is newer than this gvpie supports (2); upgrade gvpie",
    );
}

#[test]
fn bad_flags() {
    let dir = Dir::new("flags");
    let path = dir.write("p.pxl", "HALT\n");
    assert_usage_error(&[&"run", &path, &"--size", &"0x10"], "size 0x10 is out of range (1x1 to 4096x4096)");
    assert_usage_error(&[&"run", &path, &"--size", &"4097x1"], "out of range");
    assert_usage_error(&[&"run", &path, &"--size", &"big"], "must look like 128x64");
    assert_usage_error(&[&"run", &path, &"--budget", &"-1"], "unexpected argument '-1'");
    assert_usage_error(&[&"run", &path, &"--budget", &"1000000000001"], "above the limit");
    assert_usage_error(&[&"run", &path, &"--scale", &"0"], "--scale 0 is out of range");
    assert_usage_error(&[&"run", &dir.join("missing.pxl")], "missing.pxl: No such file");
    assert_usage_error(&[&"run", &dir.path], "is a directory");
}

#[test]
fn an_adapter_that_names_no_gpu() {
    // Checked before anything else: no database is created, and the adapters are listed (or their absence said).
    let dir = Dir::new("adapter");
    let db = dir.join("gvpie.db");
    for command in ["daemon", "up"] {
        let run = gvpie(&[&command, &"--db", &db, &"--adapter", &"no-such-gpu-xyz", &"--cycles", &"1"]);
        assert_eq!(run.code, 2, "gvpie {command}: {}", run.stderr);
        assert!(run.stderr.contains("--adapter 'no-such-gpu-xyz' matches no GPU adapter"), "{}", run.stderr);
        assert!(
            run.stderr.contains("the adapters are:\n  0: ") || run.stderr.contains("this machine has no GPU adapter"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let run = gvpie(&[&command, &"--db", &db, &"--adapter", &"999", &"--cycles", &"1"]);
        assert_eq!(run.code, 2, "gvpie {command} --adapter 999: {}", run.stderr);
        assert!(run.stderr.contains("--adapter '999' matches no GPU adapter"), "{}", run.stderr);
    }
    assert!(!db.exists(), "a refused --adapter created the database");
}

/// An unreachable PostgreSQL server: one clear line naming the database (its password hidden),
/// exit 2, for every command that takes `--db`.
#[test]
fn an_unreachable_postgres_database() {
    let url = "postgres://gvpie:s3cret@127.0.0.1:1/gvpie";
    for command in [&["stats"][..], &["agents"], &["scripts", "list"], &["goals", "list"], &["replay", "1"]] {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            command.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>).collect();
        args.extend([&"--db" as &dyn AsRef<std::ffi::OsStr>, &url]);
        let run = gvpie(&args);
        assert_eq!(run.code, 2, "{command:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim(),
            "gvpie: cannot open the database postgres://gvpie:***@127.0.0.1:1/gvpie: error connecting to server: \
             Connection refused (os error 111)",
            "{command:?}"
        );
    }
}
