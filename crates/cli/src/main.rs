//! The `gvpie` command line: a thin layer over the library crates.
//!
//! It parses arguments, loads files, calls the libraries and maps every outcome to an exit
//! status, the same for every command:
//!
//! | status | meaning | where it comes from |
//! |---|---|---|
//! | 0 | success | the command's `Ok(ExitCode::SUCCESS)`; `--help`, `--version`; a closed pipe on stdout |
//! | 1 | a program's run-time error (a trap, `--timeout`'s `time_limit`) | the command's `Ok(ExitCode::from(1))` after it reported the result (`gvpie run`), or an error carrying a [`RunTimeError`] |
//! | 2 | a source, usage or configuration error: a bad file, flag or program source, an unreachable or wrong database, an address that cannot be bound, a GPU that cannot start | clap's errors, every error carrying a [`UsageError`], and every other error (see [`exit_status`]) |
//!
//! Two checks use 1 for "the check failed", as their tools' conventions go: `gvpie fmt --check`
//! (not formatted) and `gvpie replay` (different pixels). `gvpie daemon` and `gvpie up` exit 2
//! when another daemon holds the database: a configuration the caller must fix.

mod agents_cmd;
mod bench;
mod bench_store;
mod compile_cmd;
mod daemon_cmd;
mod evolve_cmd;
mod goals_cmd;
mod gpu;
mod input;
mod llm_args;
mod optimize_cmd;
mod refine_cmd;
mod run;
mod serve_cmd;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A source, usage or configuration error, the caller's to fix: printed as is (the message
/// names the file, flag or setting), exit status 2 ([`exit_status`]).
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A program's run-time error that ends a command (a program the command needed trapped or did
/// not halt): printed as is, exit status 1 ([`exit_status`]). `gvpie run` reports its program's
/// result itself and exits 1 without this error.
#[derive(Debug)]
pub struct RunTimeError(String);

impl RunTimeError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> RunTimeError {
        RunTimeError(message.into())
    }
}

impl std::fmt::Display for RunTimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunTimeError {}

/// The exit status of a command that ended with `err` (see the table in the crate docs):
/// 0 for a closed pipe on stdout (`gvpie ... | head`), 1 when a [`RunTimeError`] is in its
/// chain, 2 for a [`UsageError`] and for every other error. An error that is neither is a file
/// that cannot be read or written, a database that cannot be opened or used, an address that
/// cannot be bound, a GPU that cannot start: configuration, the caller's to fix, so 2.
pub fn exit_status(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    for cause in err.chain() {
        if cause.is::<RunTimeError>() {
            return ExitCode::from(1);
        }
        if cause.is::<UsageError>() {
            return ExitCode::from(2);
        }
    }
    ExitCode::from(2)
}

#[derive(Parser)]
#[command(
    name = "gvpie",
    version,
    about = "Run pixel programs (PXL) on the CPU or GPU, and keep them as PNG cartridges."
)]
#[command(propagate_version = true, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program (PXL source, cartridge PNG or machine texture) and report the result.
    Run(run::RunArgs),
    /// Compile a plain-English description into a PXL program ("a red circle above a blue square").
    Compile(Box<compile_cmd::CompileArgs>),
    /// Check programs for errors without running them.
    Check {
        /// Programs to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a program in canonical form.
    Fmt {
        /// The program (PXL source).
        file: PathBuf,
        /// Rewrite the file in place instead of printing.
        #[arg(short, long)]
        write: bool,
        /// Print nothing; exit 1 if the file is not formatted.
        #[arg(long, conflicts_with = "write")]
        check: bool,
    },
    /// Assemble a program into its machine texture (`.pxt` raw words, or `.png` image 8 texels wide).
    Asm {
        /// The program.
        file: PathBuf,
        /// Where to write the texture.
        #[arg(short, long)]
        output: PathBuf,
        /// Leave out variable and label names.
        #[arg(long)]
        strip: bool,
    },
    /// List a machine texture (or any program) as PXL source.
    Disasm {
        /// A machine texture, cartridge or source file.
        file: PathBuf,
        /// Show each record's address and raw words.
        #[arg(long)]
        words: bool,
        /// Ignore the names kept in the texture.
        #[arg(long)]
        no_names: bool,
    },
    /// Pack and unpack cartridges: PNG images that show a program's screen and carry its source.
    #[command(subcommand)]
    Cart(CartCommand),
    /// Approximate an image (PNG or JPEG) with a PXL program of shapes, primitive-style.
    Evolve(Box<evolve_cmd::EvolveArgs>),
    /// Find a program that draws exactly the same pixels in fewer cycles (written beside the original).
    Optimize(optimize_cmd::OptimizeArgs),
    /// Tune the numbers (positions, sizes, colours, alpha) of a program's shapes towards a picture with gradients.
    Refine(Box<refine_cmd::RefineArgs>),
    /// Measure performance side by side with reference systems.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve the runtime HTTP API (default 127.0.0.1:8081; see docs/api.md).
    Serve(serve_cmd::ServeArgs),
    /// GPU adapters: `gvpie gpu info` lists them.
    #[command(subcommand)]
    Gpu(gpu::GpuCommand),
    /// Run the autonomous loop: execute the enabled scripts, record every run in the infinite map.
    Daemon(Box<daemon_cmd::DaemonArgs>),
    /// The agents (daemons) working on a database: name, host, pid, roles, state, last heartbeat, executions.
    Agents(agents_cmd::AgentsArgs),
    /// Re-run a recorded execution and check it draws the same pixels (exit 0 same, 1 different).
    Replay(daemon_cmd::ReplayArgs),
    /// List, add, enable and disable the daemon's improvement scripts.
    #[command(subcommand)]
    Scripts(daemon_cmd::ScriptsCommand),
    /// Start everything in one process on the embedded defaults (daemon, and the API server).
    Up(up::UpArgs),
    /// Add, list, show, pause and resume the improvement engine's goals (run by the daemon).
    #[command(subcommand)]
    Goals(goals_cmd::GoalsCommand),
    /// What the improvement engine learned: operator (bandit) statistics, per-script and per-opcode statistics.
    Stats(goals_cmd::StatsArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The CPU VM against Lua 5.4 on the same work, plus parse and end-to-end costs.
    Cpu(bench::CpuBenchArgs),
    /// Executions durably recorded per second and bytes stored per execution.
    Store(bench_store::StoreBenchArgs),
}

#[derive(Subcommand)]
enum CartCommand {
    /// Make a cartridge from PXL source: the image shows the program's screen.
    Pack {
        /// The program (PXL source).
        file: PathBuf,
        /// Where to write the cartridge PNG.
        #[arg(short, long)]
        output: PathBuf,
        /// Canvas size of the screen shown, WxH; default: the program's `SIZE`, else 128x64.
        #[arg(long, value_parser = run::parse_size)]
        size: Option<(u32, u32)>,
        /// Cycle budget for rendering the screen.
        #[arg(long, default_value_t = gvpie_pxl::DEFAULT_BUDGET)]
        budget: u64,
    },
    /// Print the source a cartridge carries.
    Unpack {
        /// The cartridge PNG.
        file: PathBuf,
        /// Write the source to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    quiet_mesa_runtime_dir();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    if !matches!(cli.command, Command::Serve(_) | Command::Daemon(_) | Command::Up(_)) {
        die_quietly_on_closed_pipe();
    }
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(err) => {
            if !is_broken_pipe(&err) {
                eprintln!("gvpie: {err:#}");
            }
            exit_status(&err)
        }
    }
}

/// A command whose reader went away (`gvpie stats | head`) ends silently, as `cat` does, instead of
/// panicking in `println!`. Only for commands that print and end: the long-running ones keep
/// ignoring SIGPIPE, so a client that hangs up never kills a server.
fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called on the main thread before any other thread starts; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid" on every device they open when the
/// variable is unset (containers, CI, cron). Give them a private directory instead.
fn quiet_mesa_runtime_dir() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    // One directory for every run; if another user owns it, setting its mode fails and the
    // variable stays unset.
    let dir = std::env::temp_dir().join("gvpie-runtime");
    let made = std::fs::create_dir_all(&dir).is_ok() && {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).is_ok()
    };
    if made {
        // SAFETY: called first thing in `main`, before any thread exists, so no other code
        // can be reading the environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Compile(args) => compile_cmd::compile(*args),
        Command::Check { files } => check(&files),
        Command::Fmt { file, write, check } => fmt(&file, write, check),
        Command::Asm { file, output, strip } => asm(&file, &output, strip),
        Command::Disasm { file, words, no_names } => disasm(&file, words, no_names),
        Command::Cart(CartCommand::Pack { file, output, size, budget }) => cart_pack(&file, &output, size, budget),
        Command::Cart(CartCommand::Unpack { file, output }) => cart_unpack(&file, output.as_deref()),
        Command::Bench(BenchCommand::Cpu(args)) => bench::cpu(args),
        Command::Evolve(args) => evolve_cmd::evolve(*args),
        Command::Optimize(args) => optimize_cmd::optimize(args),
        Command::Refine(args) => refine_cmd::refine(*args),
        Command::Serve(args) => serve_cmd::serve(args),
        Command::Gpu(command) => gpu::gpu(command),
        Command::Daemon(args) => daemon_cmd::daemon(*args),
        Command::Agents(args) => agents_cmd::agents(args),
        Command::Replay(args) => daemon_cmd::replay(args),
        Command::Scripts(command) => daemon_cmd::scripts(command),
        Command::Up(args) => up::up(args),
        Command::Goals(command) => goals_cmd::goals(command),
        Command::Stats(args) => goals_cmd::stats(args),
        Command::Bench(BenchCommand::Store(args)) => bench_store::store(args),
    }
}

fn check(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in files {
        match input::load(file) {
            Ok(loaded) => {
                if let Err(diagnostics) = loaded.program {
                    failed = true;
                    for d in &diagnostics {
                        eprintln!("{}:{}", file.display(), d.render());
                    }
                }
            }
            Err(err) => {
                failed = true;
                eprintln!("gvpie: {err:#}");
            }
        }
    }
    Ok(if failed { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn source_or_exit(file: &std::path::Path) -> anyhow::Result<String> {
    let bytes = input::read_limited(file)?;
    input::source_text(file, bytes)
}

fn print_diagnostics(diagnostics: &[gvpie_pxl::Diagnostic]) {
    eprintln!("{}", gvpie_pxl::render_all(diagnostics));
}

fn fmt(file: &std::path::Path, write: bool, check: bool) -> anyhow::Result<ExitCode> {
    let source = source_or_exit(file)?;
    let formatted = match gvpie_pxl::format(&source) {
        Ok(text) => text,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            return Ok(ExitCode::from(2));
        }
    };
    if check {
        if formatted != source {
            eprintln!("{}: not formatted", file.display());
            return Ok(ExitCode::from(1));
        }
    } else if write {
        if formatted != source {
            write_atomically(file, formatted.as_bytes())?;
        }
    } else {
        use std::io::Write;
        std::io::stdout().write_all(formatted.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
///
/// Only regular files are replaced that way: `/dev/null`, `/dev/stdout` or a FIFO is written into
/// (a rename would put a regular file in its place: `-o /dev/null` run as root once turned
/// `/dev/null` into a file that every later reader got text from), and a symbolic link keeps
/// pointing where it did while its target is replaced.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    if std::fs::metadata(path).is_ok_and(|meta| !meta.is_file()) {
        return std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()));
    }
    let resolved;
    let path = if std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()) {
        resolved = std::fs::canonicalize(path).with_context(|| format!("cannot follow {}", path.display()))?;
        resolved.as_path()
    } else {
        path
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn loaded_program(file: &std::path::Path) -> anyhow::Result<Result<gvpie_pxl::Texture, ExitCode>> {
    let loaded = input::load(file)?;
    Ok(loaded.program.map_err(|diagnostics| {
        print_diagnostics(&diagnostics);
        ExitCode::from(2)
    }))
}

fn asm(file: &std::path::Path, output: &std::path::Path, strip: bool) -> anyhow::Result<ExitCode> {
    let texture = match loaded_program(file)? {
        Ok(texture) => texture,
        Err(code) => return Ok(code),
    };
    let texture = if strip { texture.without_names() } else { texture };
    let is_png = output.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let bytes = if is_png {
        let height = texture.height() as u32;
        if height > gvpie_raster::MAX_SIDE {
            let message = format!("texture is {height} rows; a PNG texture holds at most 4096 (write .pxt instead)");
            return Err(UsageError::new(message).into());
        }
        gvpie_cart::encode_rgba(gvpie_pxl::RECORD_WORDS as u32, height, &texture.to_bytes())
            .map_err(|e| UsageError::new(e.to_string()))?
    } else {
        texture.to_bytes()
    };
    write_atomically(output, &bytes)?;
    Ok(ExitCode::SUCCESS)
}

fn disasm(file: &std::path::Path, words: bool, no_names: bool) -> anyhow::Result<ExitCode> {
    let texture = match loaded_program(file)? {
        Ok(texture) => texture,
        Err(code) => return Ok(code),
    };
    let listing =
        gvpie_pxl::disassemble(&texture, gvpie_pxl::DisasmOptions { show_words: words, ignore_names: no_names });
    use std::io::Write;
    std::io::stdout().write_all(listing.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn cart_pack(
    file: &std::path::Path,
    output: &std::path::Path,
    size: Option<(u32, u32)>,
    budget: u64,
) -> anyhow::Result<ExitCode> {
    let source = source_or_exit(file)?;
    let texture = match gvpie_pxl::compile(&source) {
        Ok(texture) => texture,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            return Ok(ExitCode::from(2));
        }
    };
    let config = gvpie_pxl::Config { budget, ..gvpie_pxl::Config::default() }.sized_for(&texture, size);
    // The screen is whatever the program drew, also when it stopped with a run-time error.
    let outcome = gvpie_exec::Engine::cpu_only()
        .execute(&texture, &config, gvpie_exec::BackendChoice::Cpu)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let png = gvpie_cart::pack(&source, &outcome.result.canvas)
        .map_err(|e| UsageError::new(format!("{}: {e}", file.display())))?;
    write_atomically(output, &png)?;
    Ok(ExitCode::SUCCESS)
}

fn cart_unpack(file: &std::path::Path, output: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let bytes = input::read_limited(file)?;
    let cart = gvpie_cart::unpack(&bytes).map_err(|e| UsageError::new(format!("{}: {e}", file.display())))?;
    match output {
        Some(path) => write_atomically(path, cart.source.as_bytes())?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(cart.source.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_follows_the_contract() {
        let status = |err: anyhow::Error| exit_status(&err);
        assert_eq!(status(UsageError::new("bad flag").into()), ExitCode::from(2));
        assert_eq!(status(RunTimeError::new("division by zero").into()), ExitCode::from(1));
        // The class survives added context.
        let wrapped = anyhow::Error::from(RunTimeError::new("trap")).context("optimizing x.pxl");
        assert_eq!(status(wrapped), ExitCode::from(1));
        let wrapped = anyhow::Error::from(UsageError::new("x.pxl: no such file")).context("loading");
        assert_eq!(status(wrapped), ExitCode::from(2));
        // Anything else (a file, a database, an address) is configuration.
        assert_eq!(status(std::io::Error::from(std::io::ErrorKind::PermissionDenied).into()), ExitCode::from(2));
        assert_eq!(status(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into()), ExitCode::SUCCESS);
    }
}
