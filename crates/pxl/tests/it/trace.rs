//! The tracer API and single-stepping: a tracer sees every executed instruction with its cycle,
//! line, opcode and the variable it changed; stepping one instruction at a time ends in exactly
//! the state that one `run` reaches.

use expect_test::{Expect, expect};
use gvpie_pxl::{Config, Status, StepEvent, Texture, Vm, run};

use crate::util::{CORPUS, EXAMPLES, compile_ok, small, status_line};

/// Runs `source` with a tracer and prints one line per event, then the outcome.
#[track_caller]
fn check(source: &str, config: &Config, expect: Expect) {
    let texture = compile_ok(source);
    let names = texture.names().unwrap_or_default();
    let mut vm = Vm::new(&texture, config).expect("valid size");
    let mut events: Vec<StepEvent> = Vec::new();
    let status = vm.run_traced(u64::MAX, &mut |event: &StepEvent| events.push(*event));
    let mut out = String::new();
    for event in &events {
        let op = event.op.map_or("(invalid)", |op| op.info().mnemonic);
        out.push_str(&format!("cycle {} line {} pc {} {op}", event.cycle, event.line, event.pc));
        if let Some(write) = event.write {
            let name = names.variables.get(write.index as usize).map_or("?", String::as_str);
            out.push_str(&format!(" {name}: {} -> {}", write.old, write.new));
        }
        out.push('\n');
    }
    out.push_str(&status_line(&status, vm.cycles()));
    out.push('\n');
    expect.assert_eq(&out);
}

#[test]
fn every_step_with_cycle_line_op_and_write() {
    check(
        "SET a 5\n# a comment\nADD a a 1\nSET a a\n\nPSET a 0\nDIV b a 0\nHALT",
        &small(),
        expect![[r#"
            cycle 1 line 1 pc 0 SET a: 0 -> 5
            cycle 2 line 3 pc 1 ADD a: 5 -> 6
            cycle 3 line 4 pc 2 SET
            cycle 4 line 6 pc 3 PSET
            cycle 5 line 7 pc 4 DIV
            division_by_zero at line 7 (record 4) after 5 cycles
        "#]],
    );
}

#[test]
fn control_flow_and_writes_of_every_kind() {
    check(
        "CALL f\nHALT\nf: LOOP i 2 f\nPGET p 0 0\nRAND r 0\nPEEK w 0\nSEED 3\nRET",
        &small(),
        expect![[r#"
            cycle 1 line 1 pc 0 CALL
            cycle 2 line 3 pc 2 LOOP i: 0 -> 1
            cycle 3 line 3 pc 2 LOOP i: 1 -> 2
            cycle 4 line 4 pc 3 PGET
            cycle 5 line 5 pc 4 RAND r: 0 -> 723471715
            cycle 6 line 6 pc 5 PEEK w: 0 -> 19
            cycle 7 line 7 pc 6 SEED
            cycle 8 line 8 pc 7 RET
            cycle 9 line 2 pc 1 HALT
            halted after 9 cycles
        "#]],
    );
}

#[test]
fn the_instruction_that_does_not_run_is_not_traced() {
    check(
        "top: ADD i i 1\nJMP top",
        &Config { budget: 3, ..small() },
        expect![[r#"
            cycle 1 line 1 pc 0 ADD i: 0 -> 1
            cycle 2 line 2 pc 1 JMP
            cycle 3 line 1 pc 0 ADD i: 1 -> 2
            budget_exhausted at line 2 (record 1) after 3 cycles
        "#]],
    );
}

#[test]
fn an_invalid_record_is_traced_without_an_opcode() {
    check(
        "POKE 8 0\nHALT",
        &small(),
        expect![[r#"
            cycle 1 line 1 pc 0 POKE
            cycle 2 line 2 pc 1 (invalid)
            invalid_instruction at line 2 (record 1) after 2 cycles
        "#]],
    );
}

/// Everything observable about a machine.
fn state(vm: &Vm) -> String {
    format!(
        "{} pc={} next_line={} vars={:?} stack={:?} color={:?} code={:x?} data={:?} canvas={:x}",
        status_line(&vm.status(), vm.cycles()),
        vm.pc(),
        vm.next_line(),
        vm.variables(),
        vm.call_stack(),
        vm.color(),
        vm.code_words(),
        vm.data(),
        vm.canvas().pixels().iter().fold(0u64, |h, &p| h.rotate_left(5) ^ u64::from(p)),
    )
}

fn step_to_the_end(texture: &Texture, config: &Config) -> (Vm, u64) {
    let mut vm = Vm::new(texture, config).expect("valid size");
    let mut steps = 0;
    loop {
        let before = vm.cycles();
        let status = vm.step();
        steps += 1;
        if status != Status::Running {
            // The last step either ran one more instruction (HALT, a trap, the end) or none
            // (budget exhausted, or already past the end).
            assert!(vm.cycles() - before <= 1);
            break;
        }
        assert_eq!(vm.cycles(), before + 1, "a running step runs exactly one instruction");
    }
    (vm, steps)
}

#[test]
fn stepping_ends_where_running_ends() {
    for (name, source) in CORPUS.iter().chain(EXAMPLES) {
        let texture = compile_ok(source);
        for budget in [0, 1, 2, 7, 100, 5_000] {
            let config = Config { budget, width: 64, height: 32, max_frames: 2 };
            let mut whole = Vm::new(&texture, &config).expect("valid size");
            whole.run();
            let (stepped, steps) = step_to_the_end(&texture, &config);
            assert_eq!(state(&stepped), state(&whole), "{name} with budget {budget}");
            assert!(stepped.canvas() == whole.canvas(), "{name} with budget {budget}");
            assert!(steps >= stepped.cycles(), "{name}");
            // A finished machine stays finished.
            let status = stepped.status();
            let mut again = stepped.clone();
            assert_eq!(again.step(), status);
            assert_eq!(again.run(), status);
            assert_eq!(state(&again), state(&stepped));
            // And the result matches the plain run function.
            let result = run(&texture, &config).expect("valid size");
            assert_eq!((result.status, result.cycles), (status, stepped.cycles()), "{name}");
            assert!(result.canvas == *stepped.canvas(), "{name}");
        }
    }
}

#[test]
fn traced_and_untraced_runs_agree() {
    for (name, source) in CORPUS.iter().chain(EXAMPLES) {
        let texture = compile_ok(source);
        let config = Config { budget: 5_000, width: 64, height: 32, max_frames: 2 };
        let mut plain = Vm::new(&texture, &config).expect("valid size");
        plain.run();
        let mut traced = Vm::new(&texture, &config).expect("valid size");
        let mut n_events = 0u64;
        let mut last_cycle = 0;
        traced.run_traced(u64::MAX, &mut |event: &StepEvent| {
            n_events += 1;
            assert_eq!(event.cycle, last_cycle + 1, "{name}: cycles count up by one");
            last_cycle = event.cycle;
        });
        assert_eq!(state(&traced), state(&plain), "{name}");
        assert_eq!(n_events, plain.cycles(), "{name}: one event per cycle");
    }
}

#[test]
fn every_budget_stops_at_the_same_place_as_stepping() {
    // Long runs of arithmetic, which the CPU VM may run two at a time: whatever the budget, it
    // must stop after exactly that many instructions.
    let source = "top: ADD a a 1\nSUB b b 1\nMUL c a b\nXOR d c a\nSET e d\nLOOP i 4 top\nSHL f a 2\nSHR g f 1\nJMP end\nHALT\nend:";
    let texture = compile_ok(source);
    for budget in 0..=40 {
        let config = Config { budget, ..small() };
        let mut whole = Vm::new(&texture, &config).expect("valid size");
        whole.run();
        let (stepped, _) = step_to_the_end(&texture, &config);
        assert_eq!(state(&whole), state(&stepped), "budget {budget}");
        let expected = if budget >= 27 { 27 } else { budget };
        assert_eq!(whole.cycles(), expected, "budget {budget}");
    }
}

#[test]
fn run_traced_stops_after_max_steps_and_resumes() {
    let texture = compile_ok("SET i 0\ntop: ADD i i 1\nIF i < 10 top\nPSET i 0");
    let mut vm = Vm::new(&texture, &small()).expect("valid size");
    let mut lines = Vec::new();
    assert_eq!(vm.run_traced(3, &mut |e: &StepEvent| lines.push(e.line)), Status::Running);
    assert_eq!((vm.cycles(), vm.pc(), vm.next_line()), (3, 1, 2));
    assert_eq!(vm.run_traced(0, &mut |e: &StepEvent| lines.push(e.line)), Status::Running);
    assert_eq!(vm.cycles(), 3);
    assert_eq!(vm.run_traced(u64::MAX, &mut |e: &StepEvent| lines.push(e.line)), Status::Halted);
    assert_eq!(vm.cycles(), 22);
    assert_eq!(lines.len(), 22);
    assert_eq!(lines[..5], [1, 2, 3, 2, 3]);
    assert_eq!(vm.line_of(3), 4);
    assert_eq!(vm.line_of(99), 0);
    assert_eq!(vm.next_line(), 0, "past the end");
    assert_eq!(vm.budget(), small().budget);
    assert_eq!(vm.code_len(), 4 * 8);
}
