//! Hand-written programs, CPU against GPU: every opcode, every trap, budget edges, huge
//! coordinates, clipping, alpha, text, self-modifying code, and every example program.

use gvpie_pxl::{Config, Texture};

use crate::util::{check_sources, check_textures, check_textures_long, check_with, compile, small};

#[test]
fn every_example_program() {
    let dir = crate::util::repo_root().join("examples");
    let mut labels = Vec::new();
    let mut programs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|e| e == "pxl") {
            let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            labels.push(path.display().to_string());
            programs.push(compile(&source));
        }
    }
    assert!(!programs.is_empty(), "no examples found in {}", dir.display());
    // The CLI's default canvas and budget (run to the end on every driver, in slices), and
    // short budgets under every schedule.
    check_textures_long(&labels, &programs, &Config::default());
    check_textures(&labels, &programs, &Config { width: 37, height: 19, budget: 2000, max_frames: 0 });
    check_textures(&labels, &programs, &Config { width: 128, height: 64, budget: 1500, max_frames: 0 });
}

#[test]
fn arithmetic_and_control_flow() {
    let sources = [
        "SET a 7\nSET b -3\nADD c a b\nSUB d a b\nMUL e a b\nDIV f a b\nMOD g a b\nAND h a b\nOR i a b\nXOR j a b\nSHL k a 30\nSHR l b 1\nSHL m a 33\nSHR n -8 65\nNUM 0 0 c\nNUM 0 8 f\nNUM 0 16 g\nNUM 20 0 k\nNUM 20 8 m\nNUM 20 16 n",
        "SET a 2147483647\nADD a a 1\nNUM 0 0 a\nSET b -2147483648\nDIV c b -1\nMOD d b -1\nMUL e b -1\nNUM 0 8 c\nNUM 0 16 d\nSUB f 0 b\nNUM 20 0 e",
        "SET x -7\nDIV q x 2\nMOD r x 2\nDIV s 7 -2\nMOD t 7 -2\nNUM 0 0 q\nNUM 0 8 r\nNUM 20 0 s\nNUM 20 8 t",
        "SET i 0\nloop:\nIF i == 3 three\nIF i != 4 notfour\nJMP next\nthree:\nPSET i 0\nJMP next\nnotfour:\nPSET i 1\nnext:\nIF i < 2 a\nIF i <= 2 b\nIF i > 5 c\nIF i >= 5 d\nJMP e\na:\nPSET i 2\nJMP e\nb:\nPSET i 3\nJMP e\nc:\nPSET i 4\nJMP e\nd:\nPSET i 5\ne:\nLOOP i 8 loop",
        // LOOP whose limit is the counter itself: the limit is read after the increment.
        "SET i 0\nl:\nADD n n 1\nLOOP i i l\nNUM 0 0 n",
        "SET i 5\nl:\nADD n n 1\nLOOP i 3 l\nNUM 0 0 n\nNUM 0 8 i",
        "CALL f\nCALL f\nNUM 0 0 n\nHALT\nf:\nADD n n 1\nCALL g\nRET\ng:\nADD n n 10\nRET",
        "SET n 0\nCALL r\nNUM 0 0 n\nHALT\nr:\nADD n n 1\nIF n < 256 go\nRET\ngo:\nCALL r\nRET",
        "RAND a 100\nRAND b 0\nRAND c -5\nSEED 12345\nRAND d 1000\nSEED 0\nRAND e 7\nSEED -1\nRAND f 2147483647\nNUM 0 0 a\nNUM 0 8 b\nNUM 0 16 c\nNUM 0 0 d\nNUM 20 8 e\nNUM 20 16 f",
        "FRAME\nSET i 0\nl:\nFRAME\nLOOP i 5 l",
        "HALT\nPSET 0 0",
        "JMP end\nPSET 0 0\nend:",
        "",
        "COLOR 300 -4 128 999\nPSET 1 1\nPGET v 1 1\nNUM 0 8 v\nPGET w -1 0\nNUM 0 16 w\nPGET u 40 0\nNUM 20 16 u",
    ];
    check_sources(&sources, &small(100_000));
}

#[test]
fn every_trap() {
    let sources = [
        "SET a 1\nDIV b a 0",
        "SET a 1\nMOD b a zero",
        "CALL f\nf:\nCALL f",
        "RET",
        "SET a 1\nRET",
        "l:\nJMP l",
        "PEEK v -1",
        "PEEK v 1000000",
        "SET a 2147483647\nPOKE a 0",
        "POKE 0 0\nz:\nJMP z",
        "SET x 0\nl:\nPOKE 0 x\nJMP l",
        // POKE of an unknown opcode, a bad mode, a bad variable, a bad target, bad text, bad aux.
        "POKE 8 99\nHALT\nSET a 1",
        "POKE 8 0x106\nHALT\nSET a 1",
        "POKE 9 77\nHALT\nSET a 1",
        "POKE 9 5\nHALT\nz:\nJMP z",
        "POKE 11 100\nHALT\nTXT 0 0 hello",
        "POKE 8 0x10011\nHALT\nz:\nJMP z",
        "POKE 8 0x1000006\nHALT\nSET a 1",
        "POKE 8 0x20512\nHALT\nIF 1 == 1 x\nx:",
    ];
    check_sources(&sources, &small(3_000));
}

#[test]
fn budget_edges() {
    // 2 + 3*10 + 1 = 33 cycles when run to the end.
    let source = "SET i 0\nSET s 0\nl:\nADD s s i\nNOP_FREE: \nLOOP i 10 l\nNUM 0 0 s";
    let source = source.replace("NOP_FREE: \n", "");
    let program = compile(&source);
    let full = gvpie_pxl::run(&program, &small(1_000)).unwrap_or_else(|e| panic!("{e}")).cycles;
    for budget in [0, 1, full - 1, full, full + 1, u64::from(u32::MAX), u64::from(u32::MAX) + 1, 1_000_000_000_000] {
        check_textures(&[format!("budget {budget}")], std::slice::from_ref(&program), &small(budget));
    }
    // An endless loop runs out exactly, also after 5 million cycles (issue 15: on lavapipe too,
    // in slices, within a minute).
    let endless = compile("l:\nJMP l");
    check_textures(&["endless".to_string()], std::slice::from_ref(&endless), &small(3_000));
    check_textures_long(&["endless".to_string()], std::slice::from_ref(&endless), &small(5_000_000));
    check_sources(&["HALT"], &small(0));
    check_sources(&["SET a 1"], &small(1));
}

#[test]
fn huge_coordinates_and_clipping() {
    let sources = [
        "RECT 2147483000 0 5000 5\nRECT -2147483648 -2147483648 2147483647 2147483647\nRECT 4000 3 2147483000 2",
        "RECT -5 -5 10 10\nRECT 35 20 100 100\nRECT 10 10 0 5\nRECT 10 10 5 -1\nRECT -2147483648 0 2147483647 1",
        "RECT 3 3 -2147483648 4\nRECT 39 23 1 1\nRECT 40 0 1 1\nRECT 0 24 1 1",
        "PSET -1 0\nPSET 0 -1\nPSET 40 0\nPSET 0 24\nPSET 39 23\nPSET 2147483647 -2147483648",
        "LINE -100000 -50000 100000 60000\nLINE 0 0 39 23\nLINE 39 0 0 23\nLINE 5 5 5 5\nLINE 0 10 39 10\nLINE 20 -5 20 100",
        "LINE 3 2 30 9\nLINE 30 9 3 2\nLINE 2 3 9 30\nLINE 9 30 2 3\nLINE -2147483648 0 2147483647 5\nLINE 1 1 2 20",
        "CIRC 20 12 10\nCIRCF 5 5 3\nCIRC 0 0 0\nCIRCF 39 23 0\nCIRC 20 12 -1\nCIRC 20 12 2147483647\nCIRCF -2147483648 0 9000",
        "CIRC 20 12 1\nCIRC 10 10 2\nCIRCF 30 10 5\nCIRC 40 24 30\nCIRC -8192 -8192 8192",
        "TRI 0 0 39 0 20 23\nTRI 5 5 5 5 5 5\nTRI 0 0 10 10 20 20\nTRI 30 20 2 3 38 1\nTRI -100000 -100000 100000 0 0 100000",
        "TRI 1 1 1 20 30 1\nTRI 1 1 30 1 1 20\nTRI -2147483648 -2147483648 2147483647 -5 0 2147483647",
        "CLS 10 20 30\nCLS\nCLS 300 -1 128",
    ];
    check_sources(&sources, &small(1000));
}

#[test]
fn alpha_blending() {
    let sources = [
        "COLOR 255 255 255 128\nRECT 0 0 20 20\nCOLOR 255 0 100 128\nRECT 5 5 20 20\nCOLOR 10 20 30 1\nRECT 0 0 40 24\nCOLOR 200 100 50 254\nCIRCF 20 12 9",
        "CLS 10 20 30\nCOLOR 0 0 0 0\nRECT 0 0 40 24\nTRI 0 0 39 0 0 23\nLINE 0 0 39 23\nTXT 0 0 HELLO\nPSET 3 3\nCOLOR 7 7 7 77\nTRI 0 0 39 0 0 23\nLINE 0 0 39 23\nCIRC 20 12 9",
        "SET a 0\nl:\nCOLOR a 255 a a\nRECT a 0 3 24\nADD a a 3\nLOOP i 13 l",
    ];
    check_sources(&sources, &small(1000));
}

#[test]
fn text_at_odd_positions() {
    let sources = [
        "TXT 0 0 !\"#$%&'()*+,-./0123456789:;<=>?\nTXT -3 8 @ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\nTXT -100 16 `abcdefghijklmnopqrstuvwxyz{|}~ and more text here",
        "TXT -5 -6 Hello\nTXT 37 20 Hello\nTXT 39 23 x\nTXT -2147483648 0 abc\nTXT 2147483647 0 abc\nTXT 0 2147483647 a\nTXT 0 -2147483648 a",
        "TXT -4 0 ab\nTXT -5 8 ab\nTXT -6 16 ab\nTXT 34 0 ab\nTXT 35 8 ab\nTXT 36 16 ab",
        "TXT 1 1   spaced   out  \nTXT 3 10 a~b",
        "NUM -2 0 -2147483648\nNUM 1 8 2147483647\nNUM 33 16 0\nNUM -2147483648 0 5\nNUM 20 -6 -99",
        "SET y -7\nl:\nTXT -9 y Wrap\nNUM 14 y y\nADD y y 3\nIF y < 26 l",
        "COLOR 255 0 0 100\nTXT 0 0 XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    ];
    check_sources(&sources, &small(1000));
    // A canvas narrower than a glyph.
    check_sources(&sources[..3], &Config { width: 3, height: 2, budget: 1000, max_frames: 0 });
}

#[test]
fn self_modifying_code() {
    let sources = [
        // docs/pxl.md's example: the RECT width grows each round.
        "SET i 0\nloop:\nRECT 0 0 1 4\nADD w i 1\nPOKE 11 w\nLOOP i 10 loop",
        // Rewrite an opcode: SET becomes ADD.
        "SET a 5\nl:\nSET a 1\nPOKE 8 0x107\nLOOP i 3 l\nNUM 0 0 a",
        // PEEK the program and the data, then change the text.
        "PEEK v 0\nNUM 0 0 v\nTXT 0 8 abcd\nPEEK w 24\nNUM 0 16 w\nPOKE 24 0x5A5A5A5A\nTXT 20 8 abcd",
        // Break a record, then repair it before it runs.
        "PEEK h 24\nPOKE 24 0\nPOKE 24 h\nSET x 3\nNUM 0 0 x",
        // The last data word's padding bytes are addressable.
        "TXT 0 0 abcde\nPEEK v 17\nPOKE 17 0x7A7A7A65\nTXT 0 8 abcde\nPEEK w 17\nNUM 0 16 w",
        // A record pokes itself: the running instruction finishes as it was.
        "POKE 3 9\nPOKE 3 9\nNUM 0 0 0",
        // Change a jump target and a label to the end.
        "SET i 0\nl:\nADD i i 1\nIF i < 3 l\nPOKE 27 5\nJMP l\nNUM 0 0 i",
        // Change the line word: traps report the new line.
        "POKE 23 777\nDIV a 1 0",
    ];
    check_sources(&sources, &small(3_000));
}

/// Programs that declare their canvas size (`SIZE`, a version-2 texture) run at that size on the
/// GPU exactly as on the CPU, whether the size is the declared one or another the caller asks for.
#[test]
fn declared_canvas_sizes() {
    let sources = [
        "SIZE 61 23\nCLS 9 9 9\nCOLOR 200 10 10 180\nRECT 50 10 40 40\nCIRC 30 11 12\nTXT 1 1 HI\nHALT",
        "size 61 23 ; the same size, spelt otherwise\nSET i 0\nl: COLOR i 90 200\nLINE 0 i 60 22\nLOOP i 23 l",
        "SIZE 61 23\nTRI 0 0 60 0 30 22\nSIZEX: HALT",
    ];
    let programs: Vec<Texture> = sources.iter().map(|s| compile(s)).collect();
    assert!(programs.iter().all(|t| t.canvas_size() == Some((61, 23))));
    let labels: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    let declared = Config { budget: 5_000, ..Config::for_texture(&programs[0]) };
    assert_eq!((declared.width, declared.height), (61, 23));
    check_textures(&labels, &programs, &declared);
    check_textures(
        &labels,
        &programs,
        &Config { budget: 5_000, ..Config::default().sized_for(&programs[0], Some((17, 9))) },
    );
}

#[test]
fn many_programs_and_canvas_sizes() {
    // More programs than a workgroup holds, different sizes in one group, odd canvas sizes.
    let mut sources = Vec::new();
    for k in 0..150 {
        sources.push(format!(
            "SET k {k}\nRAND r 50\nCOLOR r k 200 {}\nRECT k 2 7 9\nTRI 0 0 k 17 33 5\nLINE 0 k 33 0\nCIRC k 8 5\nTXT k 1 k{k}\nNUM 2 10 r",
            (k * 37) % 256
        ));
    }
    let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
    for (w, h) in [(1, 1), (33, 17), (64, 64), (200, 3)] {
        check_sources(&refs, &Config { width: w, height: h, budget: 1000, max_frames: 0 });
    }
}

#[test]
fn large_canvas() {
    let source = "CLS 1 2 3\nCOLOR 200 10 10 200\nCIRCF 2000 2000 1500\nTRI 0 0 4095 100 300 4095\nRECT 100 100 3000 20\nTXT 4000 4090 edge text";
    let programs = [compile(source), compile("HALT")];
    let labels = [source.to_string(), "HALT".to_string()];
    // 4096x4096: every shape takes many slices' worth of raster work on lavapipe.
    check_textures_long(&labels, &programs, &Config { width: 4096, height: 4096, budget: 100, max_frames: 0 });
    let source = "CLS 1 2 3\nCOLOR 200 10 10 200\nCIRCF 200 150 120\nTRI 0 0 499 10 30 299\nRECT 10 10 300 20\nTXT 450 290 edge text";
    check_sources(&[source, "HALT"], &Config { width: 500, height: 300, budget: 100, max_frames: 0 });
}

#[test]
fn raw_textures_with_invalid_records() {
    // A hand-made texture whose record 0 has a bad variable index traps like the CPU.
    let good = compile("SET a 1\nSET b 2");
    let mut words = good.words().to_vec();
    words[8 + 1] = 99;
    let bad = Texture::from_words(words).unwrap_or_else(|e| panic!("{e}"));
    check_textures(&["bad variable".to_string()], &[bad], &small(100));
}

/// Issue 15: long loops and budgets in the millions run on the GPU to their end, in slices,
/// with the CPU's pixels, cycles and trap (no fallback on lavapipe either).
#[test]
fn a_million_iterations_and_budgets_in_the_millions() {
    let sources = [
        "SET i 0\nl:\nADD s s i\nLOOP i 1000000 l\nNUM 0 0 s\nHALT",
        "top:\nRAND x 40\nRAND y 24\nCOLOR x y 9 100\nRECT x y 4 4\nJMP top",
    ];
    let programs: Vec<Texture> = sources.iter().map(|s| compile(s)).collect();
    let labels: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    check_textures_long(&labels, &programs, &small(2_500_000));
}

/// Every kind of state a slice saves, cut at every few instructions: deep CALL/RET stacks,
/// random state, colour, frames, self-modified code (in workgroup memory too), variables in
/// workgroup memory, shapes drawn over several rounds and slices, traps after a resume.
#[test]
fn programs_cut_into_tiny_slices() {
    let sources = [
        "SET n 0\nCALL r\nNUM 0 0 n\nHALT\nr:\nADD n n 1\nRAND q 9\nIF n < 200 go\nRET\ngo:\nCALL r\nADD m m q\nRET",
        "SEED 77\nl:\nRAND a 1000\nFRAME\nCOLOR a 3 a 200\nPSET i a\nLOOP i 30 l\nNUM 0 8 a",
        "SET i 0\nloop:\nRECT 0 0 1 4\nADD w i 1\nPOKE 11 w\nLOOP i 10 loop",
        "CLS 9 9 9\nCOLOR 200 10 10 180\nCIRCF 20 12 30\nTRI 0 0 39 0 20 23\nTXT 0 0 HELLO SLICES\nLINE 0 0 39 23",
        "CALL f\nf:\nCALL f",
        "SET a 3\nl:\nADD a a -1\nIF a > -2 l\nDIV b 1 0",
        "l:\nCOLOR 1 2 3 128\nRECT 0 0 40 24\nJMP l",
    ];
    let programs: Vec<Texture> = sources.iter().map(|s| compile(s)).collect();
    let labels: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    let mut tunings = Vec::new();
    for slice in [1, 3, 40] {
        for base in crate::util::TUNINGS {
            tunings.push(gvpie_gpu::Tuning { slice, ..base });
        }
    }
    check_with(&labels, &programs, &small(3_000), &tunings);
}

/// Programs that loop start in the interpreter-only pipeline (the interpreter without the
/// rasterizer) and go on in the full one from the first shape of their group: the CPU's
/// results whichever ran, and each pipeline runs exactly where it should.
#[test]
fn looping_programs_leave_the_interpreter_pipeline_at_their_first_shape() {
    let Some(gpu) = crate::util::backend() else { return };
    let config = small(20_000);
    let cpu = |programs: &[Texture]| gvpie_gpu::cpu::run_batch(programs, &config).unwrap_or_else(|e| panic!("{e}"));
    let run = |programs: &[Texture], tuning: &gvpie_gpu::Tuning| {
        let batch = gpu.run_batch_tuned(programs, &config, tuning).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.ran_on, gvpie_gpu::RanOn::Gpu);
        batch
    };
    let looping_then_drawing = [
        // The benchmark's shape: a long ALU loop with single pixels, then shapes.
        "SET s 7\nl:\nMUL t i 3\nADD s s t\nAND x s 31\nPSET x i\nLOOP i 300 l\nCOLOR 9 80 200 160\nRECT 2 4 30 20\n\
         TRI 0 0 39 9 10 23\nNUM 2 10 s\nHALT",
        // A shape inside the loop, after 40 iterations of arithmetic only.
        "l:\nADD a a 5\nIF i < 40 skip\nCIRCF a 12 3\nskip:\nLOOP i 60 l",
        // Text after a loop that calls a subroutine.
        "l:\nCALL f\nLOOP i 25 l\nTXT 0 0 DONE\nHALT\nf:\nADD n n i\nRET",
        // Traps before any shape.
        "l:\nADD a a 1\nIF a < 50 l\nDIV b 1 0\nCLS 1 2 3",
    ];
    let interp_only = ["l:\nRAND a 40\nPSET a i\nFRAME\nLOOP i 500 l", "l:\nJMP l"];
    let straight = ["COLOR 200 10 10 128\nRECT 0 0 20 10\nPSET 3 3", "CLS 5 5 5\nTXT 1 1 HI"];
    let compile_all = |sources: &[&str]| sources.iter().map(|s| compile(s)).collect::<Vec<Texture>>();
    let same = |want: &[gvpie_pxl::RunResult], got: &[gvpie_pxl::RunResult]| {
        assert_eq!(want.len(), got.len());
        for (k, (w, g)) in want.iter().zip(got).enumerate() {
            crate::util::assert_same(&format!("program {k}"), w, g);
        }
    };
    let split = gvpie_gpu::Tuning { schedule: gvpie_gpu::Schedule::Lanes, split: true, ..gvpie_gpu::Tuning::default() };
    let unsplit = gvpie_gpu::Tuning { split: false, ..split };

    let programs = compile_all(&looping_then_drawing);
    let want = cpu(&programs);
    let batch = run(&programs, &split);
    same(&want, &batch.results);
    assert!(batch.timings.interp_dispatches >= 1, "{:?}", batch.timings);
    assert!(batch.timings.full_dispatches >= 1, "{:?}", batch.timings);
    let batch = run(&programs, &unsplit);
    same(&want, &batch.results);
    assert_eq!(batch.timings.interp_dispatches, 0, "{:?}", batch.timings);

    // Loops without shapes never need the full pipeline (the second runs out of budget).
    let programs = compile_all(&interp_only);
    let batch = run(&programs, &split);
    same(&cpu(&programs), &batch.results);
    assert_eq!(batch.timings.full_dispatches, 0, "{:?}", batch.timings);
    assert!(batch.timings.interp_dispatches >= 1);

    // Straight-line programs draw at once: they start in the full pipeline.
    let programs = compile_all(&straight);
    let batch = run(&programs, &split);
    same(&cpu(&programs), &batch.results);
    assert_eq!(batch.timings.interp_dispatches, 0, "{:?}", batch.timings);

    // All of them together, cut into tiny slices: a group moves to the full pipeline mid-run.
    let all: Vec<&str> = looping_then_drawing.iter().chain(&interp_only).chain(&straight).copied().collect();
    let programs = compile_all(&all);
    let labels: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    check_with(&labels, &programs, &config, &[gvpie_gpu::Tuning { slice: 7, ..split }, split]);
}

/// A batch bigger than a buffer may be is split into chunks (the same answers); a program
/// that alone needs more than a buffer may hold is refused with a message that says why, and
/// the batch is never lost (`run_batch` runs it on the CPU instead).
#[test]
fn batches_too_large_for_a_buffer_are_split_or_refused() {
    let Some(gpu) = crate::util::backend() else { return };
    let sources: Vec<String> =
        (0..300).map(|k| format!("SET k {k}\nl:\nCOLOR k 9 9 200\nPSET k i\nLOOP i {} l", k % 17)).collect();
    let programs: Vec<Texture> = sources.iter().map(|s| compile(s)).collect();
    let config = Config { width: 16, height: 16, budget: 500, max_frames: 0 };
    let tuning = gvpie_gpu::Tuning { max_binding: 48 << 10, ..gvpie_gpu::Tuning::default() };
    check_with(&sources, &programs, &config, &[tuning]);
    // A 128x128 canvas is 64 KiB: it cannot fit a 48 KiB buffer.
    let big = Config { width: 128, height: 128, budget: 500, max_frames: 0 };
    let refused = gpu.run_batch_gpu_only(&programs[..3], &big, &tuning).unwrap_or_else(|e| panic!("{e}"));
    let reason = refused.err().unwrap_or_default();
    assert!(reason.contains("needs 65536 bytes") && reason.contains("per buffer"), "{reason}");
    let batch = gpu.run_batch_tuned(&programs[..3], &big, &tuning).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(&batch.ran_on, gvpie_gpu::RanOn::CpuFallback { reason } if reason.contains("refused")));
    let cpu = gvpie_gpu::cpu::run_batch(&programs[..3], &big).unwrap_or_else(|e| panic!("{e}"));
    for (index, (c, g)) in cpu.iter().zip(&batch.results).enumerate() {
        crate::util::assert_same(&format!("program {index}"), c, g);
    }
}

/// A stop asked between slices ends the batch: the programs still running come back as
/// running, with the cycles they ran, their canvas so far and their next line.
#[test]
fn a_stop_between_slices_ends_the_batch() {
    let Some(gpu) = crate::util::backend() else { return };
    let programs = [compile("HALT"), compile("SET a 1\nl:\nPSET 1 1\nJMP l")];
    let config = small(1_000_000_000);
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let stop = || asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2;
    let batch = gpu
        .run_batch_gpu_only_until(&programs, &config, &gvpie_gpu::Tuning::default(), &stop)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|reason| panic!("{reason}"));
    assert_eq!(batch.results[0].status, gvpie_pxl::Status::Halted);
    assert_eq!(batch.results[1].status, gvpie_pxl::Status::Running);
    let cycles = batch.results[1].cycles;
    assert!(cycles > 1 && cycles < config.budget, "{cycles}");
    assert_eq!(batch.next_lines, [0, if cycles % 2 == 1 { 3 } else { 4 }]);
    assert_eq!(batch.results[1].canvas.get(1, 1), Some(gvpie_raster::Rgba::WHITE));
}

/// A stop in a batch of many chunks (each packed while the one before runs): the chunks the
/// stop came before come back as running from their first line with no cycles, the others
/// as far as they got, and the buffers packed for the next chunk are not lost (a second batch
/// runs on the same backend and gives the CPU's answers).
#[test]
fn a_stop_in_a_batch_of_many_chunks_leaves_the_later_chunks_unstarted() {
    let Some(gpu) = crate::util::backend() else { return };
    let programs: Vec<Texture> = (0..96).map(|k| compile(&format!("SET k {k}\nl:\nPSET k 1\nJMP l"))).collect();
    let config = small(1_000_000_000);
    // 12 KiB buffers: three 40x24 canvases a chunk, so the batch is 32 chunks.
    let tuning = gvpie_gpu::Tuning { max_binding: 12 << 10, ..gvpie_gpu::Tuning::default() };
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let stop = || asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1;
    let batch = gpu
        .run_batch_gpu_only_until(&programs, &config, &tuning, &stop)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|reason| panic!("{reason}"));
    assert!(batch.results.iter().all(|r| r.status == gvpie_pxl::Status::Running));
    let (started, unstarted): (Vec<_>, Vec<_>) = batch.results.iter().partition(|r| r.cycles > 0);
    assert!(!started.is_empty() && !unstarted.is_empty(), "{} started, {} not", started.len(), unstarted.len());
    // Chunks run in order: every program after the first unstarted one is unstarted too.
    let first_unstarted = batch.results.iter().position(|r| r.cycles == 0).unwrap_or(0);
    assert!(batch.results[first_unstarted..].iter().all(|r| r.cycles == 0));
    assert!(batch.next_lines[first_unstarted..].iter().all(|&line| line == 1));
    let sources: Vec<String> = (0..40).map(|k| format!("SET k {k}\nl:\nPSET k 2\nLOOP i 30 l")).collect();
    let again: Vec<Texture> = sources.iter().map(|s| compile(s)).collect();
    check_with(&sources, &again, &small(10_000), &[tuning]);
}
