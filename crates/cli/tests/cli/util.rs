//! Helpers: a scratch directory per test and a runner for the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory named after the test, removed and recreated on each run.
pub struct Dir {
    pub path: PathBuf,
}

impl Dir {
    pub fn new(name: &str) -> Dir {
        let path = std::env::temp_dir().join(format!("gvpie-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        Dir { path }
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, contents).expect("write fixture");
        path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The result of one `gvpie` invocation.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

pub fn gvpie(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let output: Output =
        Command::new(env!("CARGO_BIN_EXE_gvpie")).args(args.iter().map(|a| a.as_ref())).output().expect("run gvpie");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

pub fn decode_png(path: &Path) -> gvpie_raster::Canvas {
    gvpie_cart::decode_png(&std::fs::read(path).expect("read png")).expect("decode png")
}

/// Lets `gvpie up` grow the database at `db` by itself, one cycle at a time (bounded by cycles, never by time),
/// until it adopted at least `adoptions` successors: self-set goals, adopted successors of the seed scripts and an
/// archive of pictures. Panics after 12 cycles.
pub fn grow(db: &Path, adoptions: i64) {
    for _ in 0..12 {
        let up = gvpie(&[&"up", &"--db", &db, &"--bind", &"127.0.0.1:0", &"--cycles", &"1", &"--interval", &"0"]);
        assert_eq!(up.code, 0, "gvpie up: {}", up.stderr);
        let connection = rusqlite::Connection::open(db).expect("open the database");
        let adopted: i64 = connection.query_row("SELECT COUNT(*) FROM adoptions", [], |row| row.get(0)).expect("count");
        if adopted >= adoptions {
            return;
        }
    }
    panic!("12 cycles of gvpie up adopted fewer than {adoptions} successors");
}
