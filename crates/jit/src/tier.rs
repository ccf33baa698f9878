//! Tiering: interpret first, compile a program once it has run long enough, run the compiled
//! code from then on, and hand every instruction it does not run itself to the interpreter.
//!
//! A [`TieredRun`] owns the [`Vm`]; the VM's state is always the truth between two calls into
//! compiled code, so switching tiers happens at any instruction boundary with nothing to
//! convert. Compiled programs are cached by a hash of their code (checked word for word on a
//! hit), at most [`CACHE_CAPACITY`] of them, least recently used first out.
//!
//! Self-modifying code: compiled code never runs `POKE`; the interpreter does. When a `POKE`
//! changed a code word the compiled program no longer matches the code, so it is dropped at
//! that instruction boundary and the program goes on interpreted (and is compiled again, from
//! the new code, by the same rule as at the start; after [`MAX_RECOMPILES`] recompilations it
//! stays interpreted).

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cranelift_jit::JITModule;
use gvpie_pxl::{NoTrace, Op, RECORD_WORDS, Status, Vm};

use crate::codegen::{self, CompileError, Operand, Rec};
use crate::runtime::{self, EXIT_STOP, EntryFn};

/// Compiled programs kept for reuse.
pub const CACHE_CAPACITY: usize = 32;
/// Times a self-modifying program is compiled again before it stays interpreted.
pub const MAX_RECOMPILES: u32 = 4;
/// Under `auto`, a program is compiled once it has run this many instructions interpreted,
/// plus [`THRESHOLD_PER_RECORD`] per instruction of its code (compile time grows with the
/// code). Measured (BENCHMARKS.md, "Compiled tier"; docs/jit.md): about 1 ms to compile a
/// small program, 0.02–0.2 ms per instruction of code for larger ones (more with many
/// variables), against 2–7 ns per instruction saved by compiled code; so a small program pays
/// for its compilation after a few hundred thousand executed instructions, a large one after
/// some 10,000 per instruction of its code.
pub const THRESHOLD_BASE: u64 = 200_000;
/// See [`THRESHOLD_BASE`].
pub const THRESHOLD_PER_RECORD: u64 = 20_000;

/// Which execution tier to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tier {
    /// The interpreter only.
    Interp,
    /// Compile before the first instruction (falling back to the interpreter if it cannot).
    Jit,
    /// Interpret first; compile when the program has run long enough to pay for it.
    #[default]
    Auto,
}

impl Tier {
    /// `interp`, `jit` or `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Jit => "jit",
            Tier::Auto => "auto",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tier name that is not `interp`, `jit` or `auto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTier(pub String);

impl std::fmt::Display for UnknownTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown tier '{}' (expected interp, jit or auto)", self.0)
    }
}

impl std::error::Error for UnknownTier {}

impl std::str::FromStr for Tier {
    type Err = UnknownTier;

    fn from_str(text: &str) -> Result<Tier, UnknownTier> {
        match text.to_ascii_lowercase().as_str() {
            "interp" => Ok(Tier::Interp),
            "jit" => Ok(Tier::Jit),
            "auto" => Ok(Tier::Auto),
            _ => Err(UnknownTier(text.to_string())),
        }
    }
}

/// A program compiled to native code, for one code (the records' words) and variable count.
pub struct Compiled {
    module: Mutex<Option<JITModule>>,
    entry: EntryFn,
    words: Vec<u32>,
    n_vars: usize,
    data_len: usize,
    recs: Vec<Rec>,
    entries: Vec<bool>,
    compile_time: Duration,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("records", &self.recs.len())
            .field("vars", &self.n_vars)
            .field("compile_time", &self.compile_time)
            .finish()
    }
}

impl Drop for Compiled {
    fn drop(&mut self) {
        if let Some(module) = self.module.get_mut().ok().and_then(Option::take) {
            // SAFETY: `entry` is only reachable through this `Compiled`, which is being dropped:
            // no call into the code is running (a caller holds an `Arc` for the whole call) and
            // none can start afterwards.
            unsafe { module.free_memory() };
        }
    }
}

impl Compiled {
    /// Compiles the code `vm` runs now (after any `POKE`).
    ///
    /// # Errors
    ///
    /// A [`CompileError`] when this machine has no code generator, the program is too large,
    /// or Cranelift fails; the caller interprets instead.
    pub fn for_vm(vm: &Vm) -> Result<Compiled, CompileError> {
        let start = Instant::now();
        let n_records = vm.n_records();
        let words = vm.code_words()[..n_records * RECORD_WORDS].to_vec();
        let n_vars = vm.variables().len();
        let data_len = data_len(vm);
        let recs = codegen::decode_all(&words, n_records, n_vars, data_len);
        let native = codegen::compile(&recs, n_vars)?;
        let entries = codegen::entries(&recs);
        Ok(Compiled {
            module: Mutex::new(Some(native.module)),
            entry: native.entry,
            words,
            n_vars,
            data_len,
            recs,
            entries,
            compile_time: start.elapsed(),
        })
    }

    /// How long compiling took.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Instructions compiled.
    pub fn n_records(&self) -> usize {
        self.recs.len()
    }

    fn matches(&self, vm: &Vm) -> bool {
        let n_records = vm.n_records();
        n_records == self.recs.len()
            && vm.variables().len() == self.n_vars
            && data_len(vm) == self.data_len
            && vm.code_words().get(..n_records * RECORD_WORDS) == Some(&self.words[..])
    }

    fn is_entry(&self, pc: u32) -> bool {
        self.entries.get(pc as usize).copied().unwrap_or(false)
    }

    /// The code address a `POKE` at `pc` writes, if the record there is one.
    fn poke_address(&self, pc: u32, variables: &[i32]) -> Option<i32> {
        let rec = self.recs.get(pc as usize)?;
        (rec.op == Some(Op::Poke)).then(|| match rec.operands[0] {
            Operand::Var(v) => variables.get(v as usize).copied().unwrap_or(0),
            Operand::Lit(value) => value,
        })
    }

    /// Whether code word `address` no longer holds what this program was compiled from.
    fn changed(&self, address: i32, words: &[u32]) -> bool {
        usize::try_from(address)
            .ok()
            .filter(|a| *a < self.words.len())
            .is_some_and(|a| words.get(a) != Some(&self.words[a]))
    }
}

fn data_len(vm: &Vm) -> usize {
    vm.data_len()
}

fn code_hash(vm: &Vm) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let n_records = vm.n_records();
    vm.code_words().get(..n_records * RECORD_WORDS).hash(&mut hasher);
    vm.variables().len().hash(&mut hasher);
    vm.data_len().hash(&mut hasher);
    hasher.finish()
}

static CACHE: Mutex<Vec<(u64, Arc<Compiled>)>> = Mutex::new(Vec::new());

/// The compiled program for `vm`'s current code: from the cache, or compiled now (and cached).
/// `cached_only` looks in the cache without compiling.
fn lookup(vm: &Vm, cached_only: bool) -> Option<Result<Arc<Compiled>, CompileError>> {
    let hash = code_hash(vm);
    if let Ok(mut cache) = CACHE.lock()
        && let Some(index) = cache.iter().position(|(h, c)| *h == hash && c.matches(vm))
    {
        let entry = cache.remove(index);
        let compiled = entry.1.clone();
        cache.push(entry);
        return Some(Ok(compiled));
    }
    if cached_only {
        return None;
    }
    let compiled = match Compiled::for_vm(vm) {
        Ok(compiled) => Arc::new(compiled),
        Err(err) => return Some(Err(err)),
    };
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= CACHE_CAPACITY {
            cache.remove(0);
        }
        cache.push((hash, compiled.clone()));
    }
    Some(Ok(compiled))
}

/// Empties the compiled-code cache (benchmarks use it to time compilation).
pub fn clear_cache() {
    if let Ok(mut cache) = CACHE.lock() {
        cache.clear();
    }
}

/// A run of one program on the CPU through the tiers.
#[derive(Debug)]
pub struct TieredRun {
    vm: Vm,
    tier: Tier,
    compiled: Option<Arc<Compiled>>,
    interpreted_since: u64,
    ran_compiled: bool,
    fallback: Option<String>,
    recompiles: u32,
    given_up: bool,
    checked_cache: bool,
    compile_time: Duration,
}

impl TieredRun {
    /// Runs `vm` (from wherever it stands) under `tier`.
    pub fn new(vm: Vm, tier: Tier) -> TieredRun {
        TieredRun {
            vm,
            tier,
            compiled: None,
            interpreted_since: 0,
            ran_compiled: false,
            fallback: None,
            recompiles: 0,
            given_up: tier == Tier::Interp,
            checked_cache: false,
            compile_time: Duration::ZERO,
        }
    }

    /// The VM (its state is current between calls).
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// The VM, for a caller that steps it itself (a tracer). The caller may run a `POKE` that
    /// changes the code, so the compiled program is let go; the next [`TieredRun::run`] takes it
    /// from the cache again only if it still matches the code word for word.
    pub fn vm_mut(&mut self) -> &mut Vm {
        if self.compiled.take().is_some() {
            self.checked_cache = false;
        }
        &mut self.vm
    }

    /// Gives the VM back.
    pub fn into_vm(self) -> Vm {
        self.vm
    }

    /// The tier asked for.
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// The tier that ran: [`Tier::Jit`] once any compiled code ran, else [`Tier::Interp`].
    pub fn tier_used(&self) -> Tier {
        if self.ran_compiled { Tier::Jit } else { Tier::Interp }
    }

    /// Why the program was not (or no longer) compiled, when a compile failed, the program was
    /// too large, or it modified its own code too often.
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// Time spent compiling (zero for a cache hit).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Runs at most `max_steps` more instructions, like [`Vm::run_traced`] (same status, same
    /// state at the end).
    pub fn run(&mut self, max_steps: u64) -> Status {
        let stop_at = self.vm.cycles().saturating_add(max_steps).min(self.vm.budget());
        loop {
            let status = self.vm.status();
            if status != Status::Running {
                return status;
            }
            let cycles = self.vm.cycles();
            if cycles >= stop_at {
                // The interpreter reports the end (or the budget) here too.
                if cycles >= self.vm.budget() || self.vm.pc() as usize >= self.vm.n_records() {
                    return self.vm.step();
                }
                return Status::Running;
            }
            let Some(compiled) = self.compiled.clone() else {
                self.interpret_or_compile(stop_at);
                continue;
            };
            if !compiled.is_entry(self.vm.pc()) {
                self.step_checked(&compiled);
                continue;
            }
            let Some(state) = self.vm.machine_state() else { continue };
            // SAFETY: `compiled` was compiled from this VM's current code (checked by `matches`
            // when it was looked up, and dropped below whenever a `POKE` changes a code word),
            // so it has this VM's variable count and data length; the `Arc` keeps it alive.
            let exit = unsafe { runtime::enter(compiled.entry, state, stop_at) };
            self.ran_compiled = true;
            if exit == EXIT_STOP {
                // The next block does not fit: the interpreter runs the rest of the slice.
                let left = stop_at - self.vm.cycles();
                self.vm.run_traced(left, &mut NoTrace);
                continue;
            }
            self.step_checked(&compiled);
        }
    }

    /// One interpreted step while `compiled` is current; a `POKE` that changes a code word
    /// lets go of it.
    fn step_checked(&mut self, compiled: &Compiled) {
        let poke = compiled.poke_address(self.vm.pc(), self.vm.variables());
        self.vm.step();
        if let Some(address) = poke
            && compiled.changed(address, self.vm.code_words())
        {
            self.invalidate();
        }
    }

    /// Runs to the end.
    pub fn run_to_end(&mut self) -> Status {
        self.run(u64::MAX)
    }

    fn invalidate(&mut self) {
        self.compiled = None;
        self.interpreted_since = 0;
        self.recompiles += 1;
        if self.recompiles > MAX_RECOMPILES {
            self.given_up = true;
            self.fallback =
                Some(format!("the program rewrote its code {} times; it runs interpreted from there", self.recompiles));
        }
    }

    fn threshold(&self) -> u64 {
        THRESHOLD_BASE.saturating_add(THRESHOLD_PER_RECORD.saturating_mul(self.vm.n_records() as u64))
    }

    fn interpret_or_compile(&mut self, stop_at: u64) {
        let left = stop_at - self.vm.cycles();
        if self.given_up {
            self.vm.run_traced(left, &mut NoTrace);
            return;
        }
        let compile = match self.tier {
            Tier::Jit => true,
            _ if !self.checked_cache => {
                // Already compiled (another run of the same code): use it at once.
                self.checked_cache = true;
                if let Some(Ok(compiled)) = lookup(&self.vm, true) {
                    self.compiled = Some(compiled);
                    return;
                }
                false
            }
            _ => self.interpreted_since >= self.threshold(),
        };
        if !compile {
            let steps = left.min(self.threshold().saturating_sub(self.interpreted_since).max(1));
            let before = self.vm.cycles();
            self.vm.run_traced(steps, &mut NoTrace);
            self.interpreted_since += self.vm.cycles() - before;
            return;
        }
        let start = Instant::now();
        match lookup(&self.vm, false) {
            Some(Ok(compiled)) => {
                self.compile_time += start.elapsed();
                self.compiled = Some(compiled);
            }
            Some(Err(err)) => {
                self.given_up = true;
                self.fallback = Some(err.to_string());
            }
            None => self.given_up = true,
        }
    }
}
