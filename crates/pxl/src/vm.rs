//! The CPU reference VM: runs a machine texture on a canvas under a cycle budget.
//!
//! The VM decodes every record once into a compact form whose operands are all register
//! indices (literals live in private registers), so the dispatch loop reads every operand the
//! same way and allocates nothing. Traps are values. A [`Tracer`] observes each step for
//! debuggers; the plain run uses a tracer that compiles to nothing.
//!
//! The VM does no IO and reads no clock: the same texture, canvas size and budget always give
//! the same pixels, cycles and trap.

use gvpie_raster::{Canvas, CanvasError, Rgba};

use crate::fused::{INVALID, Inst, dispatch_match, fast_entry};
use crate::op::Op;
use crate::texture::{Decoded, OPERANDS_PER_RECORD, RECORD_WORDS, RecordError, Texture, decode_record, words_to_bytes};

/// The cycle budget when the caller gives none.
pub const DEFAULT_BUDGET: u64 = 10_000_000;
/// Nested calls allowed; the next `CALL` traps.
pub const CALL_DEPTH: usize = 256;
/// The random generator's state before any `SEED` (and after `SEED 0`).
pub const DEFAULT_SEED: u32 = 0x92D6_8CA2;
/// Frames kept when the caller asks for frames but gives no limit.
pub const DEFAULT_MAX_FRAMES: usize = 1000;

/// How to run a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Canvas width in pixels (1..=4096).
    pub width: u32,
    /// Canvas height in pixels (1..=4096).
    pub height: u32,
    /// Instructions allowed to run.
    pub budget: u64,
    /// Frames (`FRAME` snapshots) to keep; 0 keeps none (they are still counted).
    pub max_frames: usize,
}

impl Config {
    /// The default configuration at the canvas size `texture` declares (`SIZE`), if it does.
    pub fn for_texture(texture: &crate::Texture) -> Config {
        Config::default().sized_for(texture, None)
    }

    /// This configuration at the canvas size to run `texture` at: `requested` when the caller
    /// asked for one (it wins), else the size the program declares, else this one's.
    pub fn sized_for(self, texture: &crate::Texture, requested: Option<(u32, u32)>) -> Config {
        match requested.or_else(|| texture.canvas_size()) {
            Some((width, height)) => Config { width, height, ..self },
            None => self,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config { width: 128, height: 64, budget: DEFAULT_BUDGET, max_frames: 0 }
    }
}

/// What stopped a run early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapKind {
    /// `DIV` or `MOD` by zero.
    DivisionByZero,
    /// A `CALL` beyond [`CALL_DEPTH`] nested calls.
    StackOverflow,
    /// `RET` with no call to return from.
    StackUnderflow,
    /// The budget ran out before the next instruction.
    BudgetExhausted,
    /// The record at `pc` cannot execute.
    InvalidInstruction(RecordError),
    /// `PEEK` or `POKE` outside the code address space.
    AddressOutOfRange(i32),
}

impl TrapKind {
    /// The stable name used in JSON results and the database.
    pub fn name(&self) -> &'static str {
        match self {
            TrapKind::DivisionByZero => "division_by_zero",
            TrapKind::StackOverflow => "stack_overflow",
            TrapKind::StackUnderflow => "stack_underflow",
            TrapKind::BudgetExhausted => "budget_exhausted",
            TrapKind::InvalidInstruction(_) => "invalid_instruction",
            TrapKind::AddressOutOfRange(_) => "address_out_of_range",
        }
    }
}

/// A run-time error, with where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trap {
    /// What went wrong.
    pub kind: TrapKind,
    /// The 1-based source line of the instruction (0 when the record carries none).
    pub line: u32,
    /// The record index of the instruction.
    pub pc: u32,
}

impl Trap {
    /// A sentence for people, without the line (callers add it where they print it).
    pub fn message(&self, budget: u64, code_words: usize) -> String {
        match self.kind {
            TrapKind::DivisionByZero => "division by zero".to_string(),
            TrapKind::StackOverflow => format!("stack overflow (more than {CALL_DEPTH} nested calls)"),
            TrapKind::StackUnderflow => "stack underflow (RET with no CALL)".to_string(),
            TrapKind::BudgetExhausted => format!("cycle budget of {budget} exhausted"),
            TrapKind::InvalidInstruction(why) => format!("invalid instruction at record {}: {why}", self.pc),
            TrapKind::AddressOutOfRange(addr) => {
                format!("code address {addr} is out of range (0 to {})", code_words.saturating_sub(1))
            }
        }
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It can take more steps.
    Running,
    /// It reached `HALT` or the end of the program.
    Halted,
    /// It stopped with a run-time error.
    Trapped(Trap),
}

/// A variable written by one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarWrite {
    /// The variable's index.
    pub index: u32,
    /// Its value before the step.
    pub old: i32,
    /// Its value after the step.
    pub new: i32,
}

/// One executed instruction, as a tracer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepEvent {
    /// The record that ran.
    pub pc: u32,
    /// Its source line.
    pub line: u32,
    /// Cycles after the step (the step's own cycle counted).
    pub cycle: u64,
    /// Its opcode (None for an invalid record).
    pub op: Option<Op>,
    /// The variable it wrote, if any.
    pub write: Option<VarWrite>,
}

/// Observes execution one step at a time.
pub trait Tracer {
    /// When false, the VM builds no events: the fast path pays nothing.
    const ENABLED: bool;
    /// Called after each executed instruction (also one that traps).
    fn step(&mut self, event: &StepEvent);
}

/// The tracer that observes nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;
    #[inline(always)]
    fn step(&mut self, _event: &StepEvent) {}
}

impl<F: FnMut(&StepEvent)> Tracer for F {
    const ENABLED: bool = true;
    fn step(&mut self, event: &StepEvent) {
        self(event)
    }
}

/// A program loaded for execution, with its whole machine state.
#[derive(Clone)]
pub struct Vm {
    code: Vec<Decoded>,
    /// The dispatch table: `code` with fusable neighbours fused (see `fused.rs`).
    fast: Vec<Inst>,
    invalid: Vec<Option<RecordError>>,
    regs: Vec<i32>,
    words: Vec<u32>,
    data: Vec<u8>,
    n_vars: usize,
    n_records: usize,
    pc: u32,
    cycles: u64,
    budget: u64,
    stack: Vec<u32>,
    color: Rgba,
    rng: u32,
    canvas: Canvas,
    frames: Vec<Canvas>,
    n_frames: u64,
    max_frames: usize,
    status: Status,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm").field("pc", &self.pc).field("cycles", &self.cycles).field("status", &self.status).finish()
    }
}

/// The outcome of a finished run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Halted or trapped.
    pub status: Status,
    /// Instructions executed.
    pub cycles: u64,
    /// The canvas as drawn (up to the trap, if any).
    pub canvas: Canvas,
    /// Kept `FRAME` snapshots.
    pub frames: Vec<Canvas>,
    /// `FRAME` instructions executed.
    pub n_frames: u64,
}

/// The machine state between two instructions, lent to a compiled tier (`gvpie-jit`).
///
/// A compiled tier runs a stretch of the program itself and writes its effects here, then lets
/// [`Vm::step`] run whatever it does not run itself (a trap, `PEEK`, `POKE`, the end). It must
/// keep the VM's rules: `pc` at most the number of records, `cycles` at most the budget, at most
/// [`CALL_DEPTH`] return addresses on the call stack, and every effect exactly as the interpreter
/// would have had it. The code (and so `POKE`) is not lent. Whatever is written, the VM stays
/// memory-safe: a broken rule gives wrong results, never undefined behaviour.
#[derive(Debug)]
pub struct MachineState<'a> {
    /// Index of the next record to run.
    pub pc: &'a mut u32,
    /// Instructions executed so far.
    pub cycles: &'a mut u64,
    /// Variable values by index.
    pub variables: &'a mut [i32],
    /// Return addresses, innermost last.
    pub call_stack: &'a mut Vec<u32>,
    /// The drawing colour.
    pub color: &'a mut Rgba,
    /// The random generator's state.
    pub rng: &'a mut u32,
    /// The canvas.
    pub canvas: &'a mut Canvas,
    /// Kept `FRAME` snapshots.
    pub frames: &'a mut Vec<Canvas>,
    /// `FRAME` instructions executed.
    pub n_frames: &'a mut u64,
    /// How many `FRAME` snapshots to keep.
    pub max_frames: usize,
    /// The data section's bytes as they are now (what `TXT` draws).
    pub data: &'a [u8],
}

/// Runs `texture` to the end under `config`.
pub fn run(texture: &Texture, config: &Config) -> Result<RunResult, CanvasError> {
    let mut vm = Vm::new(texture, config)?;
    vm.run();
    Ok(vm.into_result())
}

impl Vm {
    /// Loads `texture` with a fresh canvas.
    pub fn new(texture: &Texture, config: &Config) -> Result<Vm, CanvasError> {
        let canvas = Canvas::new(config.width, config.height)?;
        let n_records = texture.n_records();
        let n_vars = texture.n_vars();
        let mut vm = Vm {
            code: vec![Decoded { op: None, aux: 0, slots: [0; OPERANDS_PER_RECORD], line: 0 }; n_records],
            fast: vec![Inst { kind: INVALID, aux: 0, slots: [0; OPERANDS_PER_RECORD], line: 0 }; n_records],
            invalid: vec![None; n_records],
            regs: vec![0; n_vars + n_records * OPERANDS_PER_RECORD],
            words: texture.code_words().to_vec(),
            data: texture.data(),
            n_vars,
            n_records,
            pc: 0,
            cycles: 0,
            budget: config.budget,
            stack: Vec::with_capacity(CALL_DEPTH),
            color: Rgba::WHITE,
            rng: DEFAULT_SEED,
            canvas,
            frames: Vec::new(),
            n_frames: 0,
            max_frames: config.max_frames,
            status: Status::Running,
        };
        let mut memory = vm.memory();
        for index in 0..n_records {
            memory.redecode(index);
        }
        for index in 0..n_records {
            vm.fast[index] = fast_entry(&vm.code, index);
        }
        Ok(vm)
    }

    fn memory(&mut self) -> Memory<'_> {
        let Vm { code, fast, invalid, regs, words, data, n_vars, n_records, .. } = self;
        Memory { code, fast, invalid, regs, words, data, n_vars: *n_vars, n_records: *n_records }
    }

    /// Runs until the program halts or traps.
    pub fn run(&mut self) -> Status {
        self.run_traced(u64::MAX, &mut NoTrace)
    }

    /// Executes one instruction (or reports why none can run).
    pub fn step(&mut self) -> Status {
        self.run_traced(1, &mut NoTrace)
    }

    /// Runs at most `max_steps` instructions, reporting each to `tracer`.
    pub fn run_traced<T: Tracer>(&mut self, max_steps: u64, tracer: &mut T) -> Status {
        if self.status != Status::Running {
            return self.status;
        }
        let stop_at = self.cycles.saturating_add(max_steps).min(self.budget);
        self.status = self.dispatch(stop_at, tracer);
        if self.status == Status::Running && self.cycles >= self.budget && (self.pc as usize) < self.n_records {
            // Out of budget with an instruction still to run: that instruction is where it stopped.
            self.status = self.trap(TrapKind::BudgetExhausted, self.pc);
        }
        self.status
    }

    fn trap(&self, kind: TrapKind, pc: u32) -> Status {
        let line = self.code.get(pc as usize).map_or(0, |d| d.line);
        Status::Trapped(Trap { kind, line, pc })
    }

    /// The interpreter loop. Returns `Running` when it stopped at `stop_at` cycles.
    #[inline(always)]
    fn dispatch<T: Tracer>(&mut self, stop_at: u64, tracer: &mut T) -> Status {
        // Disjoint borrows of the machine's parts, so the loop body reads plain locals.
        let Vm {
            code,
            fast,
            invalid,
            regs,
            words,
            data,
            n_vars,
            n_records,
            stack,
            color: color_slot,
            rng: rng_slot,
            canvas,
            frames,
            n_frames,
            max_frames,
            ..
        } = self;
        let (n_vars, n_records, max_frames) = (*n_vars, *n_records, *max_frames);
        // Plain slices keep their data pointers in registers; through `&mut Vec` the compiler
        // reloads them after every store.
        let (code, fast, invalid, regs, words, data) = (
            code.as_mut_slice(),
            fast.as_mut_slice(),
            invalid.as_mut_slice(),
            regs.as_mut_slice(),
            words.as_mut_slice(),
            data.as_mut_slice(),
        );
        // The drawing colour and the random state live in registers while the loop runs (a
        // colour written as four bytes and read back as one word stalls the store buffer).
        let mut color = *color_slot;
        let mut rng = *rng_slot;
        let mut pc = self.pc as usize;
        let mut cycles = self.cycles;
        let status = loop {
            if pc >= n_records {
                break Status::Halted;
            }
            // A fused pair costs two cycles, so it is taken only with two to spare; a tracer
            // sees every instruction, so it always gets the plain ones.
            // SAFETY: `pc < n_records == code.len() == fast.len()` was checked above.
            let ins = if !T::ENABLED && cycles + 2 <= stop_at {
                unsafe { *fast.get_unchecked(pc) }
            } else if cycles >= stop_at {
                break Status::Running;
            } else {
                Inst::plain(unsafe { code.get_unchecked(pc) })
            };
            cycles += 1;
            let this_pc = pc;
            pc += 1;
            let s = ins.slots;
            let op = if T::ENABLED { Op::from_code(ins.kind) } else { None };
            let old = if T::ENABLED && op.is_some_and(Op::writes_variable) { Some(regs[s[0] as usize]) } else { None };
            // SAFETY (val, set_at): `decode_record` only yields value and destination slots below
            // `n_vars` (variables) or at `literal_base + slot` (this record's literals), and the
            // register file holds `n_vars + OPERANDS_PER_RECORD * n_records` registers; a fused
            // pair copies such slots. Invalid records never reach these macros.
            macro_rules! val {
                ($i:literal) => {
                    unsafe { *regs.get_unchecked(s[$i] as usize) }
                };
            }
            macro_rules! set_at {
                ($i:literal, $value:expr) => {{
                    let value = $value;
                    unsafe { *regs.get_unchecked_mut(s[$i] as usize) = value }
                }};
            }
            macro_rules! set {
                ($value:expr) => {
                    set_at!(0, $value)
                };
            }
            macro_rules! alu {
                (Set, $a:expr, $b:expr) => {
                    $a
                };
                (Add, $a:expr, $b:expr) => {
                    $a.wrapping_add($b)
                };
                (Sub, $a:expr, $b:expr) => {
                    $a.wrapping_sub($b)
                };
                (Mul, $a:expr, $b:expr) => {
                    $a.wrapping_mul($b)
                };
                (And, $a:expr, $b:expr) => {
                    $a & $b
                };
                (Or, $a:expr, $b:expr) => {
                    $a | $b
                };
                (Xor, $a:expr, $b:expr) => {
                    $a ^ $b
                };
                (Shl, $a:expr, $b:expr) => {
                    $a.wrapping_shl($b as u32 & 31)
                };
                (Shr, $a:expr, $b:expr) => {
                    $a >> ($b as u32 & 31)
                };
            }
            macro_rules! compare {
                ($aux:expr, $a:expr, $b:expr) => {{
                    let (a, b) = ($a, $b);
                    match $aux {
                        0 => a == b,
                        1 => a != b,
                        2 => a < b,
                        3 => a <= b,
                        4 => a > b,
                        _ => a >= b,
                    }
                }};
            }
            // The second half of a fused pair reads slots 3..=5.
            macro_rules! second {
                (Loop) => {{
                    let v = val!(3).wrapping_add(1);
                    set_at!(3, v);
                    if v < val!(4) {
                        pc = s[5] as usize;
                    }
                }};
                (If) => {{
                    if compare!(ins.aux, val!(3), val!(4)) {
                        pc = s[5] as usize;
                    }
                }};
                ($op:ident) => {
                    set_at!(3, alu!($op, val!(4), val!(5)))
                };
            }
            macro_rules! fused {
                ($a:ident, Jmp) => {{
                    cycles += 1;
                    set!(alu!($a, val!(1), val!(2)));
                    pc = s[3] as usize;
                }};
                ($a:ident, $b:ident) => {{
                    cycles += 1;
                    pc += 1;
                    set!(alu!($a, val!(1), val!(2)));
                    second!($b);
                }};
            }
            // A trap ends the loop at once (after the tracer saw the step), so the common path
            // carries no per-instruction trap test.
            macro_rules! trap {
                ($kind:expr) => {{
                    let kind = $kind;
                    if T::ENABLED {
                        tracer.step(&StepEvent { pc: this_pc as u32, line: ins.line, cycle: cycles, op, write: None });
                    }
                    pc = this_pc;
                    break Status::Trapped(Trap { kind, line: ins.line, pc: this_pc as u32 });
                }};
            }
            const SET: u8 = Op::Set as u8;
            const ADD: u8 = Op::Add as u8;
            const SUB: u8 = Op::Sub as u8;
            const MUL: u8 = Op::Mul as u8;
            const AND: u8 = Op::And as u8;
            const OR: u8 = Op::Or as u8;
            const XOR: u8 = Op::Xor as u8;
            const SHL: u8 = Op::Shl as u8;
            const SHR: u8 = Op::Shr as u8;
            const DIV: u8 = Op::Div as u8;
            const MOD: u8 = Op::Mod as u8;
            const JMP: u8 = Op::Jmp as u8;
            const IF: u8 = Op::If as u8;
            const LOOP: u8 = Op::Loop as u8;
            const CALL: u8 = Op::Call as u8;
            const RET: u8 = Op::Ret as u8;
            const HALT: u8 = Op::Halt as u8;
            const TXT: u8 = Op::Txt as u8;
            const RECT: u8 = Op::Rect as u8;
            const PSET: u8 = Op::Pset as u8;
            const COLOR: u8 = Op::Color as u8;
            const LINE: u8 = Op::Line as u8;
            const CIRC: u8 = Op::Circ as u8;
            const CIRCF: u8 = Op::Circf as u8;
            const TRI: u8 = Op::Tri as u8;
            const CLS: u8 = Op::Cls as u8;
            const PGET: u8 = Op::Pget as u8;
            const RAND: u8 = Op::Rand as u8;
            const SEED: u8 = Op::Seed as u8;
            const NUM: u8 = Op::Num as u8;
            const FRAME: u8 = Op::Frame as u8;
            const PEEK: u8 = Op::Peek as u8;
            const POKE: u8 = Op::Poke as u8;
            dispatch_match!(ins.kind, fused, {
                SET => set!(val!(1)),
                ADD => set!(alu!(Add, val!(1), val!(2))),
                SUB => set!(alu!(Sub, val!(1), val!(2))),
                MUL => set!(alu!(Mul, val!(1), val!(2))),
                AND => set!(alu!(And, val!(1), val!(2))),
                OR => set!(alu!(Or, val!(1), val!(2))),
                XOR => set!(alu!(Xor, val!(1), val!(2))),
                SHL => set!(alu!(Shl, val!(1), val!(2))),
                SHR => set!(alu!(Shr, val!(1), val!(2))),
                DIV => match val!(2) {
                    0 => trap!(TrapKind::DivisionByZero),
                    b => set!(val!(1).wrapping_div(b)),
                },
                MOD => match val!(2) {
                    0 => trap!(TrapKind::DivisionByZero),
                    b => set!(val!(1).wrapping_rem(b)),
                },
                JMP => pc = s[0] as usize,
                IF => {
                    if compare!(ins.aux, val!(0), val!(1)) {
                        pc = s[2] as usize;
                    }
                }
                LOOP => {
                    let v = val!(0).wrapping_add(1);
                    set!(v);
                    if v < val!(1) {
                        pc = s[2] as usize;
                    }
                }
                CALL => {
                    if stack.len() == CALL_DEPTH {
                        trap!(TrapKind::StackOverflow);
                    } else {
                        stack.push(pc as u32);
                        pc = s[0] as usize;
                    }
                }
                RET => match stack.pop() {
                    Some(ret) => pc = ret as usize,
                    None => trap!(TrapKind::StackUnderflow),
                },
                HALT => pc = n_records,
                TXT => {
                    let (offset, len) = (s[2] as usize, s[3] as usize);
                    canvas.text(val!(0), val!(1), &data[offset..offset + len], color);
                }
                RECT => canvas.fill_rect(val!(0), val!(1), val!(2), val!(3), color),
                PSET => canvas.pset(val!(0), val!(1), color),
                COLOR => color = Rgba::new(channel(val!(0)), channel(val!(1)), channel(val!(2)), channel(val!(3))),
                LINE => canvas.line(val!(0), val!(1), val!(2), val!(3), color),
                CIRC => canvas.circle(val!(0), val!(1), val!(2), false, color),
                CIRCF => canvas.circle(val!(0), val!(1), val!(2), true, color),
                TRI => canvas.triangle(val!(0), val!(1), val!(2), val!(3), val!(4), val!(5), color),
                CLS => canvas.clear(Rgba::new(channel(val!(0)), channel(val!(1)), channel(val!(2)), 255)),
                PGET => set!(
                    canvas.get(val!(1), val!(2)).map_or(-1, |c| i32::from(c.r) << 16 | i32::from(c.g) << 8 | i32::from(c.b))
                ),
                RAND => {
                    let mut x = rng;
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    rng = x;
                    let n = val!(1);
                    set!(if n > 0 { (x % n as u32) as i32 } else { x as i32 });
                }
                SEED => {
                    let seed = val!(0) as u32;
                    rng = if seed == 0 { DEFAULT_SEED } else { seed };
                }
                NUM => canvas.number(val!(0), val!(1), val!(2), color),
                FRAME => {
                    *n_frames += 1;
                    if frames.len() < max_frames {
                        frames.push(canvas.clone());
                    }
                }
                PEEK => {
                    let addr = val!(1);
                    match words.get(addr as u32 as usize) {
                        Some(word) if addr >= 0 => set!(*word as i32),
                        _ => trap!(TrapKind::AddressOutOfRange(addr)),
                    }
                }
                POKE => {
                    let (addr, value) = (val!(0), val!(1));
                    if addr < 0 || addr as usize >= words.len() {
                        trap!(TrapKind::AddressOutOfRange(addr));
                    } else {
                        let mut memory = Memory { code, fast, invalid, regs, words, data, n_vars, n_records };
                        memory.poke(addr as usize, value as u32);
                    }
                }
                _ => trap!(TrapKind::InvalidInstruction(invalid[this_pc].unwrap_or(RecordError::UnknownOpcode(0)))),
            });
            if T::ENABLED {
                let write =
                    old.map(|old| VarWrite { index: s[0], old, new: regs[s[0] as usize] }).filter(|w| w.old != w.new);
                tracer.step(&StepEvent { pc: this_pc as u32, line: ins.line, cycle: cycles, op, write });
            }
        };
        *color_slot = color;
        *rng_slot = rng;
        self.pc = pc as u32;
        self.cycles = cycles;
        status
    }

    /// Lends the machine state to a compiled tier while the run is [`Status::Running`] (see
    /// [`MachineState`]); `None` once it has halted or trapped.
    pub fn machine_state(&mut self) -> Option<MachineState<'_>> {
        if self.status != Status::Running {
            return None;
        }
        Some(MachineState {
            pc: &mut self.pc,
            cycles: &mut self.cycles,
            variables: &mut self.regs[..self.n_vars],
            call_stack: &mut self.stack,
            color: &mut self.color,
            rng: &mut self.rng,
            canvas: &mut self.canvas,
            frames: &mut self.frames,
            n_frames: &mut self.n_frames,
            max_frames: self.max_frames,
            data: &self.data,
        })
    }

    /// The run's state so far.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Index of the next record to run.
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// The source line of the next record to run (0 past the end).
    pub fn next_line(&self) -> u32 {
        self.code.get(self.pc as usize).map_or(0, |d| d.line)
    }

    /// The source line of record `pc`.
    pub fn line_of(&self, pc: u32) -> u32 {
        self.code.get(pc as usize).map_or(0, |d| d.line)
    }

    /// Instructions executed so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// The cycle budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Variable values by index.
    pub fn variables(&self) -> &[i32] {
        &self.regs[..self.n_vars]
    }

    /// Return addresses on the call stack, innermost last.
    pub fn call_stack(&self) -> &[u32] {
        &self.stack
    }

    /// The drawing colour.
    pub fn color(&self) -> Rgba {
        self.color
    }

    /// The canvas.
    pub fn canvas(&self) -> &Canvas {
        &self.canvas
    }

    /// Instruction records in the program (the code words are `RECORD_WORDS` times this, then
    /// the data section's).
    pub fn n_records(&self) -> usize {
        self.n_records
    }

    /// Words in the code address space (`PEEK`/`POKE` addresses are below this).
    pub fn code_len(&self) -> usize {
        self.words.len()
    }

    /// The current code address space (after any `POKE`).
    pub fn code_words(&self) -> &[u32] {
        &self.words
    }

    /// The data section's length in bytes.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// The current data section bytes.
    pub fn data(&self) -> Vec<u8> {
        words_to_bytes(&self.words[self.n_records * RECORD_WORDS..], self.data.len())
    }

    /// Finishes the run, giving back what it produced.
    pub fn into_result(self) -> RunResult {
        RunResult {
            status: self.status,
            cycles: self.cycles,
            canvas: self.canvas,
            frames: self.frames,
            n_frames: self.n_frames,
        }
    }
}

#[inline(always)]
fn channel(value: i32) -> u8 {
    value.clamp(0, 255) as u8
}

/// The parts of the machine that `POKE` touches, borrowed together.
struct Memory<'a> {
    code: &'a mut [Decoded],
    fast: &'a mut [Inst],
    invalid: &'a mut [Option<RecordError>],
    regs: &'a mut [i32],
    words: &'a mut [u32],
    data: &'a mut [u8],
    n_vars: usize,
    n_records: usize,
}

impl Memory<'_> {
    fn redecode(&mut self, index: usize) {
        let start = index * RECORD_WORDS;
        let mut record = [0u32; RECORD_WORDS];
        record.copy_from_slice(&self.words[start..start + RECORD_WORDS]);
        let base = self.n_vars + index * OPERANDS_PER_RECORD;
        let mut literals = [0i32; OPERANDS_PER_RECORD];
        match decode_record(&record, self.n_vars, self.n_records, self.data.len(), base as u32, &mut literals) {
            Ok(decoded) => {
                self.code[index] = decoded;
                self.invalid[index] = None;
                self.regs[base..base + OPERANDS_PER_RECORD].copy_from_slice(&literals);
            }
            Err(why) => {
                self.code[index] = Decoded { op: None, aux: 0, slots: [0; OPERANDS_PER_RECORD], line: record[7] };
                self.invalid[index] = Some(why);
            }
        }
    }

    /// Writes one word of the code address space. A code record is decoded again at once, so
    /// its next execution sees the new instruction (or traps if it is invalid); a data word
    /// changes the text that `TXT` draws from then on.
    fn poke(&mut self, addr: usize, value: u32) {
        self.words[addr] = value;
        let code_words = self.n_records * RECORD_WORDS;
        if addr < code_words {
            let index = addr / RECORD_WORDS;
            self.redecode(index);
            // The changed record appears in its own fast entry and in its predecessor's pair.
            for entry in index.saturating_sub(1)..=index {
                self.fast[entry] = fast_entry(self.code, entry);
            }
        } else {
            let byte = (addr - code_words) * 4;
            for (k, b) in value.to_le_bytes().into_iter().enumerate() {
                if let Some(slot) = self.data.get_mut(byte + k) {
                    *slot = b;
                }
            }
        }
    }
}
