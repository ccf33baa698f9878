//! The console and the rotating log file.
//!
//! Text mode prints the seed's look (banner, cycle header, a block per script, "Saved to
//! infinite map"); JSON mode prints one [`DaemonEvent`] per line. The log file gets the same
//! lines (text lines with a UTC timestamp in front) and rotates by size: `daemon.log` →
//! `daemon.log.1` → ... → `daemon.log.N`, the oldest dropped.
//!
//! Text that comes from users or programs (script names, purposes, code, file names, error
//! messages) reaches the terminal and the text log through [`sanitize_for_terminal`]: control
//! characters, escape sequences and bidirectional overrides are printed as `\u{..}` escapes, so a
//! script cannot move the cursor, recolour the terminal, rewrite the title or fake log lines.
//! JSON lines need nothing more: JSON escapes control characters itself.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::event::DaemonEvent;

/// `text` safe to print on a terminal or in a line-based log: every control character (C0 with
/// newline and tab included, DEL, C1) and every bidirectional formatting character is replaced by
/// its `\u{..}` escape; anything else is kept. Borrowed when there is nothing to replace.
pub fn sanitize_for_terminal(text: &str) -> Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// How the daemon prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// For people: the seed's console look.
    #[default]
    Text,
    /// For machines: one JSON event per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<LogFormat, String> {
        match text.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("unknown log format '{text}' (expected text or json)")),
        }
    }
}

/// A log file that starts a new file when it grows past `max_bytes`, keeping `keep` old ones.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Option<File>,
    written: u64,
    /// Only a regular file is rotated: renaming `/dev/null` or a FIFO away would leave a regular
    /// file in its place (and, as root, break every program that reads `/dev/null`).
    rotates: bool,
}

impl RotatingFile {
    /// Opens (appending) `path`, creating its folder.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> std::io::Result<RotatingFile> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let metadata = file.metadata()?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep,
            file: Some(file),
            written: metadata.len(),
            rotates: metadata.is_file(),
        })
    }

    /// The current file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `text`, rotating first when it would pass the size limit.
    pub fn write(&mut self, text: &str) -> std::io::Result<()> {
        if self.rotates && self.written > 0 && self.written + text.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        if let Some(file) = &mut self.file {
            file.write_all(text.as_bytes())?;
            self.written += text.len() as u64;
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.keep == 0 {
            std::fs::remove_file(&self.path).ok();
        } else {
            std::fs::remove_file(numbered(self.keep)).ok();
            for n in (1..self.keep).rev() {
                std::fs::rename(numbered(n), numbered(n + 1)).ok();
            }
            std::fs::rename(&self.path, numbered(1))?;
        }
        self.file = Some(OpenOptions::new().create(true).append(true).open(&self.path)?);
        self.written = 0;
        Ok(())
    }
}

/// Where the daemon's own output goes.
#[derive(Debug)]
pub(crate) struct Reporter {
    pub format: LogFormat,
    pub console: bool,
    pub file: Option<RotatingFile>,
    pub file_failed: bool,
    /// The programs (script, preview) already printed: the text console shows a script's
    /// program on its first run and when it changes, not every cycle.
    pub shown_programs: std::collections::HashSet<(Option<String>, Vec<String>)>,
}

impl Reporter {
    pub(crate) fn emit(&mut self, event: &DaemonEvent) {
        let text = match self.format {
            LogFormat::Json => serde_json::to_string(event).map(|line| line + "\n").unwrap_or_default(),
            LogFormat::Text => match event {
                DaemonEvent::ExecutionRecorded { script: Some(script), program_preview, .. }
                    if !program_preview.is_empty()
                        && !self.shown_programs.insert((Some(script.clone()), program_preview.clone())) =>
                {
                    render_text(&without_program(event))
                }
                _ => render_text(event),
            },
        };
        if text.is_empty() {
            return;
        }
        if self.console {
            let mut stdout = std::io::stdout().lock();
            // A closed stdout (a pipe whose reader left) must not stop the daemon.
            let _ = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush());
        }
        if let Some(file) = &mut self.file {
            let stamped = match self.format {
                LogFormat::Json => text,
                LogFormat::Text => {
                    let stamp = gvpie_store::format_ms(gvpie_store::now_ms());
                    text.lines().map(|line| format!("{stamp} {line}\n")).collect()
                }
            };
            if let Err(err) = file.write(&stamped)
                && !self.file_failed
            {
                self.file_failed = true;
                eprintln!("gvpie daemon: cannot write the log file {}: {err}", file.path().display());
            }
        }
    }
}

/// `event` without its program (a script's program already printed).
fn without_program(event: &DaemonEvent) -> DaemonEvent {
    let mut event = event.clone();
    if let DaemonEvent::ExecutionRecorded { program_preview, program_more_lines, .. } = &mut event {
        program_preview.clear();
        *program_more_lines = 0;
    }
    event
}

const RULE: &str = "================================================================";

/// The seed's console look. Every string that comes from outside (names, code, messages) goes
/// through [`sanitize_for_terminal`].
pub fn render_text(event: &DaemonEvent) -> String {
    let s = sanitize_for_terminal;
    let mut out = String::new();
    match event {
        DaemonEvent::Started {
            db,
            pid,
            host,
            runtime,
            interval_s,
            per_cycle,
            executions_so_far,
            log_file,
            took_over,
            agent,
            shared,
        } => {
            out.push_str("╔════════════════════════════════════════════════════════════════╗\n");
            out.push_str("║        🤖 ZERO HUMAN DAEMON - AUTONOMOUS AI OS 🤖              ║\n");
            out.push_str("╚════════════════════════════════════════════════════════════════╝\n\n");
            out.push_str(&format!("📂 Database: {} ({executions_so_far} executions in memory)\n", s(db)));
            out.push_str(&format!("⚙️  Runtime: {} · {per_cycle} script(s) per cycle · ", s(runtime)));
            if *interval_s > 0.0 {
                out.push_str(&format!("every {interval_s}s\n"));
            } else {
                out.push_str("continuous\n");
            }
            if *shared {
                out.push_str(&format!(
                    "🤝 Agent {} (pid {pid} on {}) on a shared database: work is claimed, other agents may join\n",
                    s(agent),
                    s(host)
                ));
            } else {
                out.push_str(&format!("🔒 Lease held by pid {pid} on {} (agent {})\n", s(host), s(agent)));
            }
            if let Some(previous) = took_over {
                out.push_str(&format!("♻️  Took over a stale lease from {}\n", s(previous)));
            }
            if let Some(log) = log_file {
                out.push_str(&format!("📝 Log: {}\n", s(log)));
            }
            out.push_str("\nPress Ctrl+C to stop (the cycle in progress finishes or rolls back as a whole).\n");
        }
        DaemonEvent::ScriptsImported { file, scripts, error } => match error {
            Some(error) => out.push_str(&format!("⚠️  Could not import {}: {}\n", s(file), s(error))),
            None => out.push_str(&format!("📥 Imported {}: {}\n", s(file), s(&scripts.join(", ")))),
        },
        DaemonEvent::CycleStarted { cycle, .. } => {
            out.push_str(&format!("\n🤖 AUTONOMOUS CYCLE #{cycle}\n{RULE}\n"));
        }
        DaemonEvent::Health { healthy, message, .. } => {
            if *healthy {
                out.push_str(&format!("✅ API Health: ✅ {}\n", s(message)));
            } else {
                out.push_str(&format!("❌ API Health Check Failed: {}\n", s(message)));
                out.push_str("⚠️  AI Runtime API not available, skipping cycle\n");
            }
        }
        DaemonEvent::Executing { scripts, .. } => {
            out.push_str(&format!("\n🚀 Executing {} improvement script(s)\n", scripts.len()));
        }
        DaemonEvent::ExecutionRecorded {
            iteration,
            script,
            lang,
            purpose,
            program_preview,
            program_more_lines,
            success,
            cycles,
            backend,
            duration_ms,
            error,
            generator,
            ..
        } => {
            let Some(name) = script else {
                // A goal keeps dozens of programs a cycle: one line each, its notes say the rest.
                let outcome = match (success, error) {
                    (true, _) => format!("{cycles} cycles"),
                    (false, error) => format!("failed: {}", s(error.as_ref().map_or("error", |e| e.kind.as_str()))),
                };
                let by = s(generator.as_deref().unwrap_or("a generator"));
                out.push_str(&format!("🧬 {by} → iteration {iteration} ({outcome})\n"));
                return out;
            };
            out.push_str(&format!("\n📐 Script: {}\n", s(name)));
            if let Some(lang) = lang {
                out.push_str(&format!("   Language: {}\n", s(lang)));
            }
            out.push_str(&format!("   Purpose: {}\n", s(purpose.as_deref().unwrap_or("N/A"))));
            if !program_preview.is_empty() {
                out.push_str("   Program:\n");
                for line in program_preview {
                    out.push_str(&format!("     {}\n", s(line)));
                }
                if *program_more_lines > 0 {
                    out.push_str(&format!("     … ({program_more_lines} more lines)\n"));
                }
            }
            if *success {
                out.push_str(&format!("   ✅ Execution succeeded ({cycles} cycles)\n"));
            } else {
                let message = error.as_ref().map(|e| e.message.lines().next().unwrap_or("").to_string());
                let kind = error.as_ref().map(|e| e.kind.as_str()).unwrap_or("error");
                out.push_str(&format!(
                    "   ❌ Execution failed ({}, {cycles} cycles): {}\n",
                    s(kind),
                    s(&message.unwrap_or_default())
                ));
            }
            out.push_str(&format!("   Backend: {}\n", s(&backend.to_uppercase())));
            out.push_str(&format!("   ⏱️  Duration: {}\n", format_duration(*duration_ms)));
            out.push_str(&format!("\n💾 Saved to infinite map (iteration {iteration})\n"));
        }
        DaemonEvent::Generated { notes, .. } => {
            out.push('\n');
            for line in notes {
                out.push_str(&format!("🧠 {}\n", s(line)));
            }
        }
        DaemonEvent::CycleFinished { executions, failures, sleep_s, .. } => {
            if *executions == 0 {
                out.push_str("📭 No pending improvement scripts\n");
            } else if *failures > 0 {
                out.push_str(&format!("\n📊 {executions} execution(s), {failures} failed\n"));
            }
            if *sleep_s > 0.0 {
                out.push_str(&format!("\n⏸️  Sleeping for {sleep_s}s before next cycle...\n"));
            }
        }
        DaemonEvent::CycleAbandoned { cycle, reason } => {
            out.push_str(&format!("\n↩️  Cycle #{cycle} rolled back ({}); nothing of it was written\n", s(reason)));
        }
        DaemonEvent::Warning { message } => out.push_str(&format!("⚠️  {}\n", s(message))),
        DaemonEvent::AgentJoined { agent, host, pid, roles, restarted, replaced, own } => {
            let who = if *own { "This agent" } else { "Agent" };
            let again = if *restarted { " (restarted)" } else { "" };
            out.push_str(&format!(
                "👋 {who} {} joined{again}: pid {pid} on {}, roles {}\n",
                s(agent),
                s(host),
                s(&roles.join(","))
            ));
            if let Some(previous) = replaced {
                out.push_str(&format!("♻️  Took its name over from the still running {}\n", s(previous)));
            }
        }
        DaemonEvent::AgentLeft { agent, state, own } => {
            let who = if *own { "This agent" } else { "Agent" };
            let how = if state == "stale" { "went stale (no heartbeat within its TTL)" } else { "stopped" };
            out.push_str(&format!("🚪 {who} {} {how}\n", s(agent)));
        }
        DaemonEvent::TookOver { agent, from, work, seq } => {
            out.push_str(&format!(
                "♻️  {} took over {} (#{seq}) from the stale agent {}\n",
                s(agent),
                s(work),
                s(from)
            ));
        }
        DaemonEvent::Stopped { reason, cycles, executions } => {
            out.push_str(&format!(
                "\n🛑 Daemon stopped ({}) after {cycles} cycle(s) and {executions} execution(s)\n✅ Database closed cleanly\n",
                s(reason)
            ));
        }
    }
    out
}

fn format_duration(ms: f64) -> String {
    if ms >= 10.0 { format!("{ms:.0}ms") } else { format!("{ms:.3}ms") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_printed_as_escapes() {
        assert!(matches!(sanitize_for_terminal("plain · ünïcode 🤖"), Cow::Borrowed("plain · ünïcode 🤖")));
        assert_eq!(sanitize_for_terminal("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(sanitize_for_terminal("x\ny\r\t\u{7}\u{7f}\u{9b}"), "x\\u{a}y\\u{d}\\u{9}\\u{7}\\u{7f}\\u{9b}");
        assert_eq!(sanitize_for_terminal("abc\u{202e}def"), "abc\\u{202e}def");
    }

    #[test]
    fn a_hostile_script_cannot_reach_the_terminal_raw() {
        let event = DaemonEvent::ExecutionRecorded {
            cycle: 1,
            iteration: 7,
            script: Some("evil\u{1b}]0;pwned\u{7}".to_string()),
            lang: Some("pixel".to_string()),
            purpose: Some("fake\n💾 Saved to infinite map (iteration 999)".to_string()),
            program_preview: vec!["TXT 1 1 \u{1b}[31mred".to_string()],
            program_more_lines: 0,
            success: false,
            cycles: 0,
            backend: "cpu".to_string(),
            duration_ms: 1.0,
            error: Some(gvpie_exec::ErrorJson {
                kind: "parse".to_string(),
                message: "bad \u{1b}[2J".to_string(),
                line: None,
                column: None,
                diagnostics: Vec::new(),
            }),
            image_hash: None,
            program_hash: None,
            generator: None,
        };
        let text = render_text(&event);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        // No line of its own faked by a newline in the purpose.
        assert_eq!(text.lines().filter(|line| line.starts_with("💾")).count(), 1, "{text}");
        assert!(text.contains("📐 Script: evil\\u{1b}]0;pwned\\u{7}\n"), "{text}");
    }

    #[test]
    fn agent_events_render_one_clean_line_each() {
        let events = [
            DaemonEvent::AgentJoined {
                agent: "gpu\u{1b}[2J0".to_string(),
                host: "h".to_string(),
                pid: 7,
                roles: vec!["goals".to_string()],
                restarted: true,
                replaced: None,
                own: false,
            },
            DaemonEvent::AgentLeft { agent: "a".to_string(), state: "stale".to_string(), own: false },
            DaemonEvent::TookOver {
                agent: "b".to_string(),
                from: "a".to_string(),
                work: "goal:3:0".to_string(),
                seq: 12,
            },
        ];
        let text: Vec<String> = events.iter().map(render_text).collect();
        assert_eq!(
            text,
            [
                "👋 Agent gpu\\u{1b}[2J0 joined (restarted): pid 7 on h, roles goals\n",
                "🚪 Agent a went stale (no heartbeat within its TTL)\n",
                "♻️  b took over goal:3:0 (#12) from the stale agent a\n",
            ]
        );
    }
}
