//! Machine texture → Cranelift IR → native code.
//!
//! The program is cut into basic blocks (leaders: record 0, every jump, call and return target,
//! and the record after every branch, call, return, `HALT`, `PEEK`, `POKE` or invalid record).
//! Each block first checks that its whole length fits in the cycles left and adds it at once;
//! a block that does not fit exits (`EXIT_STOP`) and the caller interprets the rest of the
//! slice, so a budget that ends inside a block stops exactly where the interpreter stops. An
//! instruction that may trap (`DIV`/`MOD` by zero, `CALL` on a full stack, `RET` on an empty
//! one) exits *before* itself with the cycles of the instructions before it, and the
//! interpreter runs it, so traps, their cycles and lines come from the interpreter itself.
//! `PEEK`, `POKE` and invalid records are always left to the interpreter.
//!
//! PXL variables are Cranelift variables (SSA values in registers); drawing calls helpers in
//! `runtime.rs`. This module does not run anything and does not decide when to compile.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{AbiParam, Block, FuncRef, InstBuilder, MemFlagsData, Signature, Value, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};
use gvpie_pxl::{CALL_DEPTH, DEFAULT_SEED, OPERANDS_PER_RECORD, Op, RECORD_WORDS, decode_record};

use crate::runtime::{self, EXIT_INTERP, EXIT_STOP, JitCtx};

/// Programs with more records than this are interpreted (compile time grows with size).
pub const MAX_JIT_RECORDS: usize = 1 << 16;
/// Programs that name more variables than this are interpreted (every variable lives in a
/// register or a spill slot across the whole program).
pub const MAX_JIT_VARS: usize = 4096;

/// Why a program was not compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileError {
    /// Cranelift has no code generator for this machine.
    Unsupported(String),
    /// The program is larger than the compiler takes.
    TooLarge(String),
    /// Cranelift failed.
    Codegen(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Unsupported(why) => write!(f, "no native code generator for this machine: {why}"),
            CompileError::TooLarge(why) => write!(f, "program too large to compile: {why}"),
            CompileError::Codegen(why) => write!(f, "code generation failed: {why}"),
        }
    }
}

impl std::error::Error for CompileError {}

/// One operand as the compiler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operand {
    Var(u32),
    Lit(i32),
}

/// One decoded record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rec {
    /// `None` for an invalid record.
    pub op: Option<Op>,
    pub aux: u8,
    /// Value and destination operands (labels and text slots hold their raw words as `Lit`).
    pub operands: [Operand; OPERANDS_PER_RECORD],
    /// Label and text slots' raw words.
    pub raw: [u32; OPERANDS_PER_RECORD],
}

/// Decodes every record of `words` (the code words, `n_records` records).
pub(crate) fn decode_all(words: &[u32], n_records: usize, n_vars: usize, data_len: usize) -> Vec<Rec> {
    (0..n_records)
        .map(|index| {
            let mut record = [0u32; RECORD_WORDS];
            if let Some(chunk) = words.get(index * RECORD_WORDS..(index + 1) * RECORD_WORDS) {
                record.copy_from_slice(chunk);
            }
            let mut literals = [0i32; OPERANDS_PER_RECORD];
            let base = n_vars as u32;
            match decode_record(&record, n_vars, n_records, data_len, base, &mut literals) {
                Ok(decoded) => {
                    // The record is valid, so its mode bits say which value slots are variables.
                    let modes = record[0] >> 8 & 0xFF;
                    let mut operands = [Operand::Lit(0); OPERANDS_PER_RECORD];
                    for (k, operand) in operands.iter_mut().enumerate() {
                        let word = record[1 + k];
                        *operand = if modes >> k & 1 == 1 { Operand::Var(word) } else { Operand::Lit(word as i32) };
                    }
                    Rec { op: decoded.op, aux: decoded.aux, operands, raw: decoded.slots }
                }
                Err(_) => Rec {
                    op: None,
                    aux: 0,
                    operands: [Operand::Lit(0); OPERANDS_PER_RECORD],
                    raw: [0; OPERANDS_PER_RECORD],
                },
            }
        })
        .collect()
}

fn is_value_slot(op: Op, k: usize) -> bool {
    use gvpie_pxl::OperandKind;
    matches!(op.info().operands.get(k), Some(OperandKind::Value | OperandKind::Dest))
}

/// Whether the interpreter always runs this record (compiled code exits before it).
fn interpreted(rec: &Rec) -> bool {
    matches!(rec.op, None | Some(Op::Peek | Op::Poke))
}

/// Whether the record ends a basic block.
fn ends_block(rec: &Rec) -> bool {
    matches!(rec.op, Some(Op::Jmp | Op::If | Op::Loop | Op::Call | Op::Ret | Op::Halt))
}

/// The leaders (block starts) of the program.
pub(crate) fn leaders(recs: &[Rec]) -> Vec<bool> {
    let n = recs.len();
    let mut leader = vec![false; n + 1];
    if n > 0 {
        leader[0] = true;
    }
    for (index, rec) in recs.iter().enumerate() {
        match rec.op {
            Some(Op::Jmp | Op::Call) => leader[rec.raw[0] as usize] = true,
            Some(Op::If | Op::Loop) => leader[rec.raw[2] as usize] = true,
            _ => {}
        }
        if interpreted(rec) {
            leader[index] = true;
        }
        if interpreted(rec) || ends_block(rec) {
            leader[index + 1] = true;
        }
    }
    leader.truncate(n);
    leader
}

/// The records where compiled code may be entered (from the caller or by `RET`): record 0,
/// every target of a backward jump or call (so every loop has one), every return address and
/// the record after each record the interpreter runs. Fewer entries mean fewer merge points
/// for every variable, which is most of the compile time. From any other record the caller
/// interprets until it reaches one, which takes at most a straight run of the program.
pub(crate) fn entries(recs: &[Rec]) -> Vec<bool> {
    let n = recs.len();
    let mut entry = vec![false; n + 1];
    if n > 0 {
        entry[0] = true;
    }
    for (index, rec) in recs.iter().enumerate() {
        let target = match rec.op {
            Some(Op::Jmp | Op::Call) => Some(rec.raw[0] as usize),
            Some(Op::If | Op::Loop) => Some(rec.raw[2] as usize),
            _ => None,
        };
        if let Some(target) = target
            && target <= index
        {
            entry[target] = true;
        }
        if rec.op == Some(Op::Call) || interpreted(rec) {
            entry[index + 1] = true;
        }
    }
    entry.truncate(n);
    entry
}

/// A compiled program: its machine code and the module that owns it.
pub(crate) struct Native {
    pub module: JITModule,
    pub entry: runtime::EntryFn,
}

struct Helpers {
    pset: FuncRef,
    rect: FuncRef,
    line: FuncRef,
    circ: FuncRef,
    circf: FuncRef,
    tri: FuncRef,
    cls: FuncRef,
    txt: FuncRef,
    num: FuncRef,
    pget: FuncRef,
    frame: FuncRef,
}

/// The helpers' names, addresses, argument counts (after the context) and whether they return
/// a value.
fn helper_table() -> [(&'static str, *const u8, usize, bool); 11] {
    [
        ("gvpie_pset", runtime::helper_pset as *const u8, 2, false),
        ("gvpie_rect", runtime::helper_rect as *const u8, 4, false),
        ("gvpie_line", runtime::helper_line as *const u8, 4, false),
        ("gvpie_circ", runtime::helper_circ as *const u8, 3, false),
        ("gvpie_circf", runtime::helper_circf as *const u8, 3, false),
        ("gvpie_tri", runtime::helper_tri as *const u8, 6, false),
        ("gvpie_cls", runtime::helper_cls as *const u8, 3, false),
        ("gvpie_txt", runtime::helper_txt as *const u8, 4, false),
        ("gvpie_num", runtime::helper_num as *const u8, 3, false),
        ("gvpie_pget", runtime::helper_pget as *const u8, 2, true),
        ("gvpie_frame", runtime::helper_frame as *const u8, 0, false),
    ]
}

fn codegen_err(err: impl std::fmt::Display) -> CompileError {
    CompileError::Codegen(err.to_string())
}

/// Compiles the decoded program to native code.
pub(crate) fn compile(recs: &[Rec], n_vars: usize) -> Result<Native, CompileError> {
    if recs.len() > MAX_JIT_RECORDS {
        return Err(CompileError::TooLarge(format!("{} instructions (at most {MAX_JIT_RECORDS})", recs.len())));
    }
    let mut flags = settings::builder();
    for (name, value) in [("use_colocated_libcalls", "false"), ("is_pic", "false"), ("opt_level", "speed")] {
        flags.set(name, value).map_err(codegen_err)?;
    }
    let isa_builder = cranelift_native::builder().map_err(|why| CompileError::Unsupported(why.to_string()))?;
    let isa = isa_builder.finish(settings::Flags::new(flags)).map_err(codegen_err)?;
    let pointer = isa.pointer_type();
    let frontend_config = isa.frontend_config();
    let call_conv = isa.default_call_conv();
    let mut jit_builder = JITBuilder::with_isa(isa, default_libcall_names());
    let table = helper_table();
    for (name, address, _, _) in table {
        jit_builder.symbol(name, address);
    }
    let mut module = JITModule::new(jit_builder);
    let mut ids = Vec::new();
    for (name, _, n_args, returns) in table {
        let mut sig = Signature::new(call_conv);
        sig.params.push(AbiParam::new(pointer));
        for _ in 0..n_args {
            sig.params.push(AbiParam::new(types::I32));
        }
        if returns {
            sig.returns.push(AbiParam::new(types::I32));
        }
        ids.push(module.declare_function(name, Linkage::Import, &sig).map_err(codegen_err)?);
    }
    let mut context = module.make_context();
    context.func.signature.params.push(AbiParam::new(pointer));
    let func_id = module.declare_function("program", Linkage::Local, &context.func.signature).map_err(codegen_err)?;
    let mut builder_context = FunctionBuilderContext::new();
    {
        let mut builder = FunctionBuilder::new(&mut context.func, &mut builder_context);
        let refs: Vec<FuncRef> = ids.iter().map(|id| module.declare_func_in_func(*id, builder.func)).collect();
        let helpers = Helpers {
            pset: refs[0],
            rect: refs[1],
            line: refs[2],
            circ: refs[3],
            circf: refs[4],
            tri: refs[5],
            cls: refs[6],
            txt: refs[7],
            num: refs[8],
            pget: refs[9],
            frame: refs[10],
        };
        Gen::emit_program(&mut builder, recs, n_vars, pointer, helpers)?;
        builder.seal_all_blocks();
        builder.finalize(frontend_config);
    }
    module.define_function(func_id, &mut context).map_err(codegen_err)?;
    module.clear_context(&mut context);
    module.finalize_definitions().map_err(codegen_err)?;
    let code = module.get_finalized_function(func_id);
    // SAFETY: `code` is the finalized address of `program`, whose signature is one pointer
    // argument and no result in the platform's default calling convention, which is
    // `extern "C"` (`EntryFn`); it stays valid while `module` lives, and `Native` keeps both.
    let entry = unsafe { std::mem::transmute::<*const u8, runtime::EntryFn>(code) };
    Ok(Native { module, entry })
}

struct Gen<'a, 'b> {
    b: &'a mut FunctionBuilder<'b>,
    recs: &'a [Rec],
    helpers: Helpers,
    vars: Vec<Option<Variable>>,
    written: Vec<bool>,
    cyc: Variable,
    pcv: Variable,
    exitv: Variable,
    sp: Variable,
    rng: Variable,
    ctx: Value,
    stack: Value,
    stop_at: Value,
    pointer: types::Type,
    heads: Vec<Option<Block>>,
    exit: Block,
    end: Block,
    dispatch: Block,
}

fn off(offset: usize) -> i32 {
    offset as i32
}

impl<'a, 'b> Gen<'a, 'b> {
    fn emit_program(
        b: &'a mut FunctionBuilder<'b>,
        recs: &'a [Rec],
        n_vars: usize,
        pointer: types::Type,
        helpers: Helpers,
    ) -> Result<(), CompileError> {
        let n = recs.len();
        // Which variables the program reads or writes.
        let mut used = vec![false; n_vars];
        let mut written = vec![false; n_vars];
        for rec in recs {
            let Some(op) = rec.op else { continue };
            for (k, operand) in rec.operands.iter().enumerate() {
                if let (Operand::Var(v), true) = (operand, is_value_slot(op, k)) {
                    used[*v as usize] = true;
                    if k == 0 && op.writes_variable() {
                        written[*v as usize] = true;
                    }
                }
            }
        }
        let n_used = used.iter().filter(|u| **u).count();
        if n_used > MAX_JIT_VARS {
            return Err(CompileError::TooLarge(format!("{n_used} variables (at most {MAX_JIT_VARS})")));
        }
        let flags = MemFlagsData::trusted();
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let ctx = b.block_params(entry)[0];
        let vars_ptr = b.ins().load(pointer, flags, ctx, off(std::mem::offset_of!(JitCtx, vars)));
        let stack = b.ins().load(pointer, flags, ctx, off(std::mem::offset_of!(JitCtx, stack)));
        let stop_at = b.ins().load(types::I64, flags, ctx, off(std::mem::offset_of!(JitCtx, stop_at)));
        let mut vars = vec![None; n_vars];
        for (index, is_used) in used.iter().enumerate() {
            if *is_used {
                let var = b.declare_var(types::I32);
                let value = b.ins().load(types::I32, flags, vars_ptr, (index * 4) as i32);
                b.def_var(var, value);
                vars[index] = Some(var);
            }
        }
        let cyc = b.declare_var(types::I64);
        let pcv = b.declare_var(types::I32);
        let exitv = b.declare_var(types::I32);
        let sp = b.declare_var(types::I32);
        let rng = b.declare_var(types::I32);
        for (var, ty, offset) in [
            (cyc, types::I64, std::mem::offset_of!(JitCtx, cycles)),
            (pcv, types::I32, std::mem::offset_of!(JitCtx, pc)),
            (sp, types::I32, std::mem::offset_of!(JitCtx, sp)),
            (rng, types::I32, std::mem::offset_of!(JitCtx, rng)),
        ] {
            let value = b.ins().load(ty, flags, ctx, off(offset));
            b.def_var(var, value);
        }
        let zero = b.ins().iconst(types::I32, 0);
        b.def_var(exitv, zero);
        let exit = b.create_block();
        let end = b.create_block();
        let dispatch = b.create_block();
        let is_leader = leaders(recs);
        let heads: Vec<Option<Block>> =
            is_leader.iter().map(|l| if *l { Some(b.create_block()) } else { None }).collect();
        b.ins().jump(dispatch, &[]);
        let mut generator = Gen {
            b,
            recs,
            helpers,
            vars,
            written,
            cyc,
            pcv,
            exitv,
            sp,
            rng,
            ctx,
            stack,
            stop_at,
            pointer,
            heads,
            exit,
            end,
            dispatch,
        };
        // The dispatch block: enter at a leader, or leave for the interpreter.
        generator.b.switch_to_block(dispatch);
        let pc = generator.b.use_var(pcv);
        let mut switch = Switch::new();
        for (index, is_entry) in entries(recs).iter().enumerate() {
            if let (true, Some(head)) = (is_entry, generator.heads[index]) {
                switch.set_entry(index as u128, head);
            }
        }
        let leave = generator.b.create_block();
        switch.emit(generator.b, pc, leave);
        generator.b.switch_to_block(leave);
        generator.exit_with(EXIT_INTERP);
        // The end of the program: the interpreter reports the halt.
        generator.b.switch_to_block(end);
        generator.set_pc(n as u32);
        generator.exit_with(EXIT_INTERP);
        // The one exit.
        generator.b.switch_to_block(exit);
        for (index, var) in generator.vars.iter().enumerate() {
            if let (Some(var), true) = (var, generator.written[index]) {
                let value = generator.b.use_var(*var);
                generator.b.ins().store(flags, value, vars_ptr, (index * 4) as i32);
            }
        }
        for (var, offset) in [
            (cyc, std::mem::offset_of!(JitCtx, cycles)),
            (pcv, std::mem::offset_of!(JitCtx, pc)),
            (sp, std::mem::offset_of!(JitCtx, sp)),
            (rng, std::mem::offset_of!(JitCtx, rng)),
            (exitv, std::mem::offset_of!(JitCtx, exit)),
        ] {
            let value = generator.b.use_var(var);
            generator.b.ins().store(flags, value, ctx, off(offset));
        }
        generator.b.ins().return_(&[]);
        // The blocks.
        let mut start = 0;
        while start < n {
            let mut stop = start + 1;
            while stop < n && !is_leader[stop] {
                stop += 1;
            }
            generator.emit_block(start, stop);
            start = stop;
        }
        Ok(())
    }

    fn set_pc(&mut self, pc: u32) {
        let value = self.b.ins().iconst(types::I32, i64::from(pc));
        self.b.def_var(self.pcv, value);
    }

    fn exit_with(&mut self, code: u32) {
        let value = self.b.ins().iconst(types::I32, i64::from(code));
        self.b.def_var(self.exitv, value);
        self.b.ins().jump(self.exit, &[]);
    }

    /// The block that continues at record `target` (the end block past the last record).
    fn target(&self, target: u32) -> Block {
        self.heads.get(target as usize).copied().flatten().unwrap_or(self.end)
    }

    fn val(&mut self, operand: Operand) -> Value {
        match operand {
            Operand::Var(v) => match self.vars[v as usize] {
                Some(var) => self.b.use_var(var),
                None => self.b.ins().iconst(types::I32, 0),
            },
            Operand::Lit(value) => self.b.ins().iconst(types::I32, i64::from(value as u32)),
        }
    }

    fn set(&mut self, operand: Operand, value: Value) {
        if let Operand::Var(v) = operand
            && let Some(var) = self.vars[v as usize]
        {
            self.b.def_var(var, value);
        }
    }

    /// Leaves for the interpreter before record `pc`, the `k`-th of a block of `len` whose
    /// cycles were already counted.
    fn leave_before(&mut self, pc: usize, len: usize, k: usize) {
        let cycles = self.b.use_var(self.cyc);
        let cycles = self.b.ins().iadd_imm_s(cycles, -((len - k) as i64));
        self.b.def_var(self.cyc, cycles);
        self.set_pc(pc as u32);
        self.exit_with(EXIT_INTERP);
    }

    /// Branches to a block that leaves before record `pc` when `cond` holds; continues in a
    /// fresh block otherwise.
    fn leave_if(&mut self, cond: Value, pc: usize, len: usize, k: usize) {
        let leave = self.b.create_block();
        let go_on = self.b.create_block();
        self.b.ins().brif(cond, leave, &[], go_on, &[]);
        self.b.switch_to_block(leave);
        self.leave_before(pc, len, k);
        self.b.switch_to_block(go_on);
    }

    fn emit_block(&mut self, start: usize, stop: usize) {
        let Some(head) = self.heads[start] else { return };
        self.b.switch_to_block(head);
        let first = &self.recs[start];
        if interpreted(first) {
            self.set_pc(start as u32);
            self.exit_with(EXIT_INTERP);
            return;
        }
        let len = stop - start;
        // Does the whole block fit in the cycles left? (cycles <= stop_at always holds here.)
        let cycles = self.b.use_var(self.cyc);
        let left = self.b.ins().isub(self.stop_at, cycles);
        let fits = self.b.ins().icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, left, len as i64);
        let body = self.b.create_block();
        let no_room = self.b.create_block();
        self.b.ins().brif(fits, body, &[], no_room, &[]);
        self.b.switch_to_block(no_room);
        self.set_pc(start as u32);
        self.exit_with(EXIT_STOP);
        self.b.switch_to_block(body);
        let cycles = self.b.ins().iadd_imm_s(cycles, len as i64);
        self.b.def_var(self.cyc, cycles);
        for k in 0..len {
            if self.emit_instruction(start + k, len, k) {
                return;
            }
        }
        // Falls through to the next leader.
        let next = self.target(stop as u32);
        self.b.ins().jump(next, &[]);
    }

    /// Emits record `pc` (the `k`-th of a block of `len`); true when it ended the block.
    fn emit_instruction(&mut self, pc: usize, len: usize, k: usize) -> bool {
        let rec = self.recs[pc];
        let Some(op) = rec.op else {
            self.leave_before(pc, len, k);
            return true;
        };
        let o = rec.operands;
        let ctx = self.ctx;
        macro_rules! call {
            ($helper:ident, $($arg:expr),*) => {{
                let args = [ctx, $($arg),*];
                self.b.ins().call(self.helpers.$helper, &args)
            }};
        }
        match op {
            Op::Set => {
                let a = self.val(o[1]);
                self.set(o[0], a);
            }
            Op::Add | Op::Sub | Op::Mul | Op::And | Op::Or | Op::Xor | Op::Shl | Op::Shr => {
                let a = self.val(o[1]);
                let b = self.val(o[2]);
                let ins = self.b.ins();
                let value = match op {
                    Op::Add => ins.iadd(a, b),
                    Op::Sub => ins.isub(a, b),
                    Op::Mul => ins.imul(a, b),
                    Op::And => ins.band(a, b),
                    Op::Or => ins.bor(a, b),
                    Op::Xor => ins.bxor(a, b),
                    Op::Shl => {
                        let amount = ins.band_imm_s(b, 31);
                        self.b.ins().ishl(a, amount)
                    }
                    _ => {
                        let amount = ins.band_imm_s(b, 31);
                        self.b.ins().sshr(a, amount)
                    }
                };
                self.set(o[0], value);
            }
            Op::Div | Op::Mod => {
                let a = self.val(o[1]);
                match o[2] {
                    Operand::Lit(0) => {
                        self.leave_before(pc, len, k);
                        return true;
                    }
                    Operand::Lit(-1) => {
                        let value =
                            if op == Op::Div { self.b.ins().ineg(a) } else { self.b.ins().iconst(types::I32, 0) };
                        self.set(o[0], value);
                    }
                    Operand::Lit(d) => {
                        let d = self.b.ins().iconst(types::I32, i64::from(d as u32));
                        let value = if op == Op::Div { self.b.ins().sdiv(a, d) } else { self.b.ins().srem(a, d) };
                        self.set(o[0], value);
                    }
                    Operand::Var(_) => {
                        let d = self.val(o[2]);
                        let is_zero = self.b.ins().icmp_imm_s(IntCC::Equal, d, 0);
                        self.leave_if(is_zero, pc, len, k);
                        // x / -1 is -x (wrapping), x % -1 is 0; the hardware traps on MIN / -1.
                        let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, d, -1);
                        let one = self.b.ins().iconst(types::I32, 1);
                        let safe = self.b.ins().select(minus_one, one, d);
                        let value = if op == Op::Div {
                            let q = self.b.ins().sdiv(a, safe);
                            let neg = self.b.ins().ineg(a);
                            self.b.ins().select(minus_one, neg, q)
                        } else {
                            let r = self.b.ins().srem(a, safe);
                            let zero = self.b.ins().iconst(types::I32, 0);
                            self.b.ins().select(minus_one, zero, r)
                        };
                        self.set(o[0], value);
                    }
                }
            }
            Op::Jmp => {
                let target = self.target(rec.raw[0]);
                self.b.ins().jump(target, &[]);
                return true;
            }
            Op::If => {
                let a = self.val(o[0]);
                let b = self.val(o[1]);
                let cc = match rec.aux {
                    0 => IntCC::Equal,
                    1 => IntCC::NotEqual,
                    2 => IntCC::SignedLessThan,
                    3 => IntCC::SignedLessThanOrEqual,
                    4 => IntCC::SignedGreaterThan,
                    _ => IntCC::SignedGreaterThanOrEqual,
                };
                let cond = self.b.ins().icmp(cc, a, b);
                let (taken, not_taken) = (self.target(rec.raw[2]), self.target(pc as u32 + 1));
                self.b.ins().brif(cond, taken, &[], not_taken, &[]);
                return true;
            }
            Op::Loop => {
                let v = self.val(o[0]);
                let v = self.b.ins().iadd_imm_s(v, 1);
                self.set(o[0], v);
                // The limit is read after the increment (`LOOP v v label`).
                let limit = self.val(o[1]);
                let cond = self.b.ins().icmp(IntCC::SignedLessThan, v, limit);
                let (taken, not_taken) = (self.target(rec.raw[2]), self.target(pc as u32 + 1));
                self.b.ins().brif(cond, taken, &[], not_taken, &[]);
                return true;
            }
            Op::Call => {
                let sp = self.b.use_var(self.sp);
                let full = self.b.ins().icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, sp, CALL_DEPTH as i64);
                self.leave_if(full, pc, len, k);
                let offset = self.b.ins().ishl_imm_s(sp, 2);
                let offset = self.b.ins().uextend(self.pointer, offset);
                let address = self.b.ins().iadd(self.stack, offset);
                let ret = self.b.ins().iconst(types::I32, pc as i64 + 1);
                self.b.ins().store(MemFlagsData::trusted(), ret, address, 0);
                let sp = self.b.ins().iadd_imm_s(sp, 1);
                self.b.def_var(self.sp, sp);
                let target = self.target(rec.raw[0]);
                self.b.ins().jump(target, &[]);
                return true;
            }
            Op::Ret => {
                let sp = self.b.use_var(self.sp);
                let empty = self.b.ins().icmp_imm_s(IntCC::Equal, sp, 0);
                self.leave_if(empty, pc, len, k);
                let sp = self.b.ins().iadd_imm_s(sp, -1);
                self.b.def_var(self.sp, sp);
                let offset = self.b.ins().ishl_imm_s(sp, 2);
                let offset = self.b.ins().uextend(self.pointer, offset);
                let address = self.b.ins().iadd(self.stack, offset);
                let ret = self.b.ins().load(types::I32, MemFlagsData::trusted(), address, 0);
                self.b.def_var(self.pcv, ret);
                self.b.ins().jump(self.dispatch, &[]);
                return true;
            }
            Op::Halt => {
                self.b.ins().jump(self.end, &[]);
                return true;
            }
            Op::Color => {
                let mut packed = self.b.ins().iconst(types::I32, 0);
                for (channel, operand) in o.iter().take(4).enumerate() {
                    let value = self.val(*operand);
                    let low = self.b.ins().iconst(types::I32, 0);
                    let high = self.b.ins().iconst(types::I32, 255);
                    let value = self.b.ins().smax(value, low);
                    let value = self.b.ins().smin(value, high);
                    let value = self.b.ins().ishl_imm_s(value, 8 * channel as i64);
                    packed = self.b.ins().bor(packed, value);
                }
                self.b.ins().store(MemFlagsData::trusted(), packed, ctx, off(std::mem::offset_of!(JitCtx, color)));
            }
            Op::Pset => {
                let (x, y) = (self.val(o[0]), self.val(o[1]));
                call!(pset, x, y);
            }
            Op::Rect | Op::Line => {
                let (x, y, w, h) = (self.val(o[0]), self.val(o[1]), self.val(o[2]), self.val(o[3]));
                if op == Op::Rect {
                    call!(rect, x, y, w, h);
                } else {
                    call!(line, x, y, w, h);
                }
            }
            Op::Circ | Op::Circf | Op::Cls | Op::Num => {
                let (a, b, c) = (self.val(o[0]), self.val(o[1]), self.val(o[2]));
                match op {
                    Op::Circ => call!(circ, a, b, c),
                    Op::Circf => call!(circf, a, b, c),
                    Op::Cls => call!(cls, a, b, c),
                    _ => call!(num, a, b, c),
                };
            }
            Op::Tri => {
                let v: Vec<Value> = (0..6).map(|i| self.val(o[i])).collect();
                call!(tri, v[0], v[1], v[2], v[3], v[4], v[5]);
            }
            Op::Txt => {
                let (x, y) = (self.val(o[0]), self.val(o[1]));
                let offset = self.b.ins().iconst(types::I32, i64::from(rec.raw[2]));
                let length = self.b.ins().iconst(types::I32, i64::from(rec.raw[3]));
                call!(txt, x, y, offset, length);
            }
            Op::Pget => {
                let (x, y) = (self.val(o[1]), self.val(o[2]));
                let inst = call!(pget, x, y);
                let value = self.b.inst_results(inst)[0];
                self.set(o[0], value);
            }
            Op::Frame => {
                call!(frame,);
            }
            Op::Rand => {
                let x = self.b.use_var(self.rng);
                let t = self.b.ins().ishl_imm_s(x, 13);
                let x = self.b.ins().bxor(x, t);
                let t = self.b.ins().ushr_imm_s(x, 17);
                let x = self.b.ins().bxor(x, t);
                let t = self.b.ins().ishl_imm_s(x, 5);
                let x = self.b.ins().bxor(x, t);
                self.b.def_var(self.rng, x);
                let n = self.val(o[1]);
                let positive = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, n, 0);
                let one = self.b.ins().iconst(types::I32, 1);
                let divisor = self.b.ins().select(positive, n, one);
                let r = self.b.ins().urem(x, divisor);
                let value = self.b.ins().select(positive, r, x);
                self.set(o[0], value);
            }
            Op::Seed => {
                let s = self.val(o[0]);
                let is_zero = self.b.ins().icmp_imm_s(IntCC::Equal, s, 0);
                let default = self.b.ins().iconst(types::I32, i64::from(DEFAULT_SEED));
                let value = self.b.ins().select(is_zero, default, s);
                self.b.def_var(self.rng, value);
            }
            Op::Peek | Op::Poke => {
                self.leave_before(pc, len, k);
                return true;
            }
        }
        false
    }
}
