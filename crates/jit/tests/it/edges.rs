//! Traps, budgets, self-modifying code, the tiers and the cache.

use gvpie_jit::{Tier, TieredRun, clear_cache};
use gvpie_pxl::{Config, MAGIC, RECORD_WORDS, Status, Texture, TrapKind, Vm, compile};

use crate::util::{check, check_texture, small, tiered};

fn trap_of(source: &str) -> (TrapKind, u32, u64) {
    match check(source, &small()) {
        observed @ crate::util::Observed { status: Status::Trapped(trap), .. } => {
            (trap.kind, trap.line, observed.cycles)
        }
        other => panic!("no trap: {other:?}"),
    }
}

#[test]
fn every_trap_kind_with_its_line_and_cycles() {
    assert_eq!(trap_of("SET a 1\nSET b 0\nPSET 1 1\nDIV c a b\nHALT"), (TrapKind::DivisionByZero, 4, 4));
    assert_eq!(trap_of("SET a 1\n\n# comment\nMOD c a 0\nHALT"), (TrapKind::DivisionByZero, 4, 2));
    assert_eq!(trap_of("loop:\nADD i i 1\nIF i < 10 loop\nMOD c i b\n"), (TrapKind::DivisionByZero, 4, 21));
    assert_eq!(trap_of("f:\nADD d d 1\nCALL f\n"), (TrapKind::StackOverflow, 3, 514));
    assert_eq!(trap_of("SET a 1\nRET\n"), (TrapKind::StackUnderflow, 2, 2));
    assert_eq!(trap_of("CALL f\nRET\nf:\nRET\n"), (TrapKind::StackUnderflow, 2, 3));
    assert_eq!(trap_of("top:\nADD i i 1\nJMP top\n").0, TrapKind::BudgetExhausted);
    assert_eq!(trap_of("SET a 5\nPOKE -1 a\n"), (TrapKind::AddressOutOfRange(-1), 2, 2));
    assert_eq!(trap_of("PEEK a 1000\n"), (TrapKind::AddressOutOfRange(1000), 1, 1));
    // POKE makes record 2 invalid (opcode 0); it traps when it runs.
    let (kind, line, cycles) = trap_of("SET a 1\nPOKE 16 0\nADD b a a\nHALT\n");
    assert!(matches!(kind, TrapKind::InvalidInstruction(_)), "{kind:?}");
    assert_eq!((line, cycles), (3, 3));
}

/// A texture from raw records (and no data).
fn raw_texture(records: &[[u32; RECORD_WORDS]], n_vars: u32) -> Texture {
    let mut words = vec![MAGIC, 1, records.len() as u32, 0, n_vars, 0, 0, 0];
    for record in records {
        words.extend_from_slice(record);
    }
    Texture::from_words(words).expect("texture")
}

#[test]
fn hand_made_invalid_records_trap_where_they_run() {
    let set = |v: u32, value: u32, line: u32| [6 | 1 << 8, v, value, 0, 0, 0, 0, line];
    let texture = raw_texture(&[set(0, 5, 1), set(1, 6, 2), [0, 0, 0, 0, 0, 0, 0, 3], set(0, 1, 4)], 2);
    let (observed, _) = check_texture(&texture, &small());
    assert!(matches!(observed.status, Status::Trapped(t) if t.line == 3 && t.pc == 2));
    // A jump over an invalid record never traps.
    let jmp = [17, 3, 0, 0, 0, 0, 0, 1];
    let texture = raw_texture(&[jmp, set(0, 1, 2), [99, 0, 0, 0, 0, 0, 0, 3], set(1, 9, 4)], 2);
    let (observed, _) = check_texture(&texture, &small());
    assert_eq!((observed.status, observed.variables.clone()), (Status::Halted, vec![0, 9]));
}

#[test]
fn budgets_ending_at_every_cycle() {
    let programs = [
        "SET i 0\nloop:\nMUL t i 3\nADD s s t\nPSET i 1\nADD i i 1\nIF i < 6 loop\nHALT\n",
        "CALL f\nCALL f\nHALT\nf:\nADD a a 1\nRECT 0 0 a 2\nRET\n",
        "SEED 5\nloop:\nRAND x 32\nCOLOR x 0 0\nPSET x 0\nFRAME\nLOOP i 4 loop\nDIV z x 0\n",
        "SET a 7\nPOKE 8 a\nSET b 1\nPEEK c 9\nADD d c 1\nHALT\n",
    ];
    for source in programs {
        let texture = compile(source).expect("compile");
        let full = crate::util::interpreted(&texture, &small()).cycles;
        for budget in 0..=full + 1 {
            let config = Config { budget, ..small() };
            check_texture(&texture, &config);
        }
    }
}

#[test]
fn self_modifying_code_goes_on_with_identical_results() {
    // The documented example: the RECT's width literal changes every pass.
    let docs = "SET i 0\nloop:\nRECT 0 0 1 4\nADD w i 1\nPOKE 11 w\nLOOP i 10 loop\n";
    check(docs, &small());
    // A loop that rewrites its own ADD's literal many times (the compiled code is dropped and
    // rebuilt a few times, then the program stays interpreted).
    let hot = "loop:\nADD s s 1\nADD k k 1\nPOKE 2 k\nIF k < 2000 loop\nNUM 0 0 s\nHALT\n";
    check(hot, &small());
    // Turning an instruction into another (ADD → SUB) and a jump target.
    // (0x308 is SUB with the same mode bits; a bare 8 would lack them and trap as invalid.)
    let rewrite = "SET n 0\nloop:\nADD x x 3\nADD n n 1\nIF n != 5 skip\nPOKE 8 0x308\nskip:\nIF n < 10 loop\nHALT\n";
    assert_eq!(check(rewrite, &small()).status, Status::Halted);
    let broken = rewrite.replace("0x308", "8");
    assert!(matches!(check(&broken, &small()).status, Status::Trapped(t) if t.line == 3));
    // POKE into the data section changes what TXT draws; the code is unchanged.
    let data = "loop:\nTXT 0 0 AB\nPOKE 32 0x43434343\nFRAME\nLOOP i 3 loop\n";
    check(data, &small());
    // A POKE writing the value a word already holds changes nothing.
    let same = "loop:\nPEEK w 0\nPOKE 0 w\nADD i i 1\nIF i < 100 loop\n";
    check(same, &small());
}

#[test]
fn the_tiers_and_what_they_report() {
    let source = "loop:\nADD i i 1\nIF i < 1000 loop\nHALT\n";
    let texture = compile(source).expect("compile");
    clear_cache();
    // interp never compiles; auto interprets a short run; jit compiles at once.
    assert_eq!(tiered(&texture, &small(), Tier::Interp, u64::MAX).1, Tier::Interp);
    assert_eq!(tiered(&texture, &small(), Tier::Auto, u64::MAX).1, Tier::Interp);
    assert_eq!(tiered(&texture, &small(), Tier::Jit, u64::MAX).1, Tier::Jit);
    // Once compiled, auto finds the program in the cache and runs it compiled.
    assert_eq!(tiered(&texture, &small(), Tier::Auto, u64::MAX).1, Tier::Jit);
    // A long run under auto tiers up after the threshold, with identical results.
    let long = compile("loop:\nADD i i 1\nXOR s s i\nIF i < 2000000 loop\nHALT\n").expect("compile");
    clear_cache();
    let config = Config { budget: 100_000_000, ..small() };
    let (got, used) = tiered(&long, &config, Tier::Auto, 65_536);
    assert_eq!(used, Tier::Jit);
    assert_eq!(got, crate::util::interpreted(&long, &config));
    assert_eq!("JIT".parse::<Tier>(), Ok(Tier::Jit));
    assert!("fast".parse::<Tier>().is_err());
}

#[test]
fn code_changed_by_hand_stepping_is_not_run_stale() {
    // The program's first pass is stepped by hand up to and through its POKE (which turns the
    // ADD into a SUB); the compiled code must not run the old ADD afterwards.
    let source = "SET n 0\nloop:\nADD x x 3\nADD n n 1\nPOKE 8 776\nIF n < 10 loop\nHALT\n";
    let texture = compile(source).expect("compile");
    let mut run = TieredRun::new(Vm::new(&texture, &small()).expect("vm"), Tier::Jit);
    run.run(1);
    for _ in 0..3 {
        run.vm_mut().step();
    }
    assert_eq!(run.run_to_end(), Status::Halted);
    let expected = crate::util::interpreted(&texture, &small());
    assert_eq!(run.vm().variables(), &expected.variables[..]);
    assert_eq!(run.vm().cycles(), expected.cycles);
}

#[test]
fn a_run_can_switch_between_tracing_and_compiled_code() {
    let texture = compile("loop:\nADD i i 1\nPSET i 0\nIF i < 40 loop\nHALT\n").expect("compile");
    let mut run = TieredRun::new(Vm::new(&texture, &small()).expect("vm"), Tier::Jit);
    run.run(5);
    run.vm_mut().step();
    run.vm_mut().step();
    run.run(11);
    assert_eq!(run.vm().cycles(), 18);
    assert_eq!(run.run_to_end(), Status::Halted);
    assert_eq!(run.vm().cycles(), crate::util::interpreted(&texture, &small()).cycles);
}
