//! Forbidden arrows between crates, read from `cargo metadata`.
//!
//! Only a crate's direct dependencies count (a crate may reach a forbidden one through an
//! allowed one: the CLI reaches `gvpie-gpu` through `gvpie-exec`, which owns the backends).
//! Normal and build dependencies count for every rule, dev-dependencies only for the
//! `gvpie-evolve` rule (its tests must not do IO either). Optional dependencies count: a
//! feature can turn them on.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

/// Database drivers and clients: only `gvpie-store` may depend on one.
const DATABASE_DRIVERS: &[&str] = &[
    "rusqlite",
    "libsqlite3-sys",
    "sqlite",
    "sqlite3-sys",
    "postgres",
    "tokio-postgres",
    "postgres-types",
    "postgres-protocol",
    "pq-sys",
    "deadpool-postgres",
    "deadpool-sqlite",
    "bb8-postgres",
    "r2d2_postgres",
    "r2d2_sqlite",
    "sqlx",
    "sqlx-core",
    "sqlx-postgres",
    "sqlx-sqlite",
    "sqlx-mysql",
    "diesel",
    "diesel-async",
    "sea-orm",
    "mysql",
    "mysql_async",
    "mysqlclient-sys",
    "duckdb",
    "redis",
    "mongodb",
    "sled",
    "redb",
    "rocksdb",
];

/// Crates that do IO (network, files, processes, GPU, async runtimes), and the workspace crates
/// that do: `gvpie-evolve` depends on none of them, or on any database driver.
const IO_CRATES: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "mio",
    "socket2",
    "reqwest",
    "ureq",
    "curl",
    "isahc",
    "hyper",
    "hyper-util",
    "axum",
    "tower",
    "tower-http",
    "actix-web",
    "warp",
    "wgpu",
    "wgpu-core",
    "wgpu-hal",
    "ash",
    "tempfile",
    "walkdir",
    "notify",
    "signal-hook",
    "gvpie-store",
    "gvpie-exec",
    "gvpie-gpu",
    "gvpie-llm",
    "gvpie-daemon",
    "gvpie-server",
    "gvpie",
];

/// The crates the rules name: each must exist, or its rule would pass by accident.
const NAMED_CRATES: &[&str] = &[
    "gvpie-raster",
    "gvpie-pxl",
    "gvpie-store",
    "gvpie-evolve",
    "gvpie",
    "gvpie-gpu",
    "gvpie-server",
    "gvpie-daemon",
    "gvpie-jit",
    "gvpie-compile",
];

/// What kind of dependency an arrow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Build,
    Dev,
}

/// One dependency of one workspace crate.
struct Arrow<'a> {
    from: &'a str,
    to: &'a str,
    kind: Kind,
}

impl Arrow<'_> {
    /// `from -> to`, with ` (dev)` or ` (build)` after it for those kinds.
    fn describe(&self) -> String {
        let kind = match self.kind {
            Kind::Normal => "",
            Kind::Build => " (build)",
            Kind::Dev => " (dev)",
        };
        format!("{} -> {}{kind}", self.from, self.to)
    }
}

/// The names of the workspace's crates and their direct dependencies, from a
/// `cargo metadata --format-version 1` document.
fn workspace_arrows(metadata: &Value) -> (BTreeSet<&str>, Vec<Arrow<'_>>) {
    let members: BTreeSet<&str> =
        metadata["workspace_members"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut crates = BTreeSet::new();
    let mut arrows = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let (Some(id), Some(from)) = (package["id"].as_str(), package["name"].as_str()) else { continue };
        if !members.contains(id) {
            continue;
        }
        crates.insert(from);
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let Some(to) = dependency["name"].as_str() else { continue };
            let kind = match dependency["kind"].as_str() {
                Some("dev") => Kind::Dev,
                Some("build") => Kind::Build,
                _ => Kind::Normal,
            };
            arrows.push(Arrow { from, to, kind });
        }
    }
    (crates, arrows)
}

/// Every forbidden arrow in a `cargo metadata --format-version 1` document, one line each
/// (`from -> to: the rule`), sorted.
fn forbidden_arrows(metadata: &Value) -> Vec<String> {
    let (crates, arrows) = workspace_arrows(metadata);
    let mut violations = BTreeSet::new();
    for arrow in &arrows {
        let counts = arrow.kind != Kind::Dev;
        let to_workspace = crates.contains(arrow.to);
        let mut broken = Vec::new();
        if counts && arrow.from == "gvpie-raster" && to_workspace {
            broken.push("gvpie-raster depends on no workspace crate");
        }
        if counts && arrow.from == "gvpie-pxl" && to_workspace && arrow.to != "gvpie-raster" {
            broken.push("gvpie-pxl depends on no workspace crate but gvpie-raster");
        }
        if counts && arrow.from != "gvpie-store" && DATABASE_DRIVERS.contains(&arrow.to) {
            broken.push("only gvpie-store depends on a database driver");
        }
        if arrow.from == "gvpie-evolve" && (IO_CRATES.contains(&arrow.to) || DATABASE_DRIVERS.contains(&arrow.to)) {
            broken.push("gvpie-evolve does no IO, in its tests neither (the clock and the data come from the caller)");
        }
        if counts && arrow.from == "gvpie" && arrow.to == "gvpie-gpu" {
            broken.push("the CLI runs programs through gvpie-exec and does not depend on gvpie-gpu");
        }
        if arrow.to == "gvpie-jit" && matches!(arrow.from, "gvpie-raster" | "gvpie-pxl") {
            broken.push("the compiling tier sits above the VM: gvpie-raster and gvpie-pxl never depend on gvpie-jit");
        } else if counts && arrow.to == "gvpie-jit" && !matches!(arrow.from, "gvpie-exec" | "gvpie") {
            broken.push("only gvpie-exec (the engine's tier option) and the CLI's benchmarks depend on gvpie-jit");
        }
        if counts
            && arrow.from == "gvpie-compile"
            && (IO_CRATES.contains(&arrow.to)
                || DATABASE_DRIVERS.contains(&arrow.to)
                || (to_workspace && !matches!(arrow.to, "gvpie-raster" | "gvpie-pxl")))
        {
            broken.push("gvpie-compile is pure: no IO, and no workspace crate but gvpie-raster and gvpie-pxl");
        }
        if counts && arrow.from == "gvpie-server" && arrow.to == "gvpie-daemon" {
            broken.push("the server does not depend on gvpie-daemon");
        }
        for rule in broken {
            violations.insert(format!("{}: {rule}", arrow.describe()));
        }
    }
    violations.into_iter().collect()
}

/// This workspace's `cargo metadata` (its own crates only), parsed.
fn workspace_metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = super::workspace_root().join("Cargo.toml");
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn no_forbidden_crate_arrows() {
    let metadata = workspace_metadata();
    let (crates, _) = workspace_arrows(&metadata);
    let missing: Vec<&str> = NAMED_CRATES.iter().copied().filter(|name| !crates.contains(name)).collect();
    assert!(
        missing.is_empty(),
        "the architecture rules name crates the workspace lacks: {missing:?}; update the rules"
    );
    let violations = forbidden_arrows(&metadata);
    assert!(
        violations.is_empty(),
        "forbidden crate arrows (the rules are in ARCHITECTURE.md and crates/architecture/tests/it/crate_arrows.rs):\n  {}",
        violations.join("\n  ")
    );
}

/// A package of a synthetic metadata document: its name and `(dependency, kind)` pairs.
fn package(name: &str, dependencies: &[(&str, Option<&str>)]) -> Value {
    let dependencies: Vec<Value> = dependencies
        .iter()
        .map(|(dependency, kind)| serde_json::json!({"name": dependency, "kind": kind, "optional": false}))
        .collect();
    serde_json::json!({"name": name, "id": format!("path+file:///w/{name}#0.1.0"), "dependencies": dependencies})
}

/// A synthetic metadata document whose workspace is `packages`.
fn document(packages: Vec<Value>) -> Value {
    let members: Vec<Value> = packages.iter().map(|p| p["id"].clone()).collect();
    serde_json::json!({"packages": packages, "workspace_members": members, "version": 1})
}

#[test]
fn forbidden_arrows_are_reported_one_line_each() {
    let metadata = document(vec![
        package("gvpie-raster", &[("gvpie-pxl", None), ("proptest", Some("dev")), ("gvpie-jit", Some("dev"))]),
        package("gvpie-pxl", &[("gvpie-raster", None), ("gvpie-cart", Some("build")), ("gvpie-cart", Some("dev"))]),
        package("gvpie-cart", &[("gvpie-raster", None), ("gvpie-jit", None)]),
        package("gvpie-jit", &[("gvpie-pxl", None)]),
        package("gvpie-store", &[("rusqlite", None)]),
        package("gvpie-evolve", &[("gvpie-pxl", None), ("gvpie-cart", Some("dev")), ("tokio", Some("dev"))]),
        package("gvpie-daemon", &[("gvpie-store", None), ("tokio-postgres", None), ("rusqlite", Some("dev"))]),
        package("gvpie-server", &[("gvpie-daemon", None)]),
        package("gvpie", &[("gvpie-exec", None), ("gvpie-gpu", None), ("gvpie-gpu", Some("dev"))]),
        package("gvpie-exec", &[("gvpie-gpu", None)]),
        package("gvpie-gpu", &[("wgpu", None)]),
    ]);
    assert_eq!(
        forbidden_arrows(&metadata),
        [
            "gvpie -> gvpie-gpu: the CLI runs programs through gvpie-exec and does not depend on gvpie-gpu",
            "gvpie-cart -> gvpie-jit: only gvpie-exec (the engine's tier option) and the CLI's benchmarks depend on \
             gvpie-jit",
            "gvpie-daemon -> tokio-postgres: only gvpie-store depends on a database driver",
            "gvpie-evolve -> tokio (dev): gvpie-evolve does no IO, in its tests neither (the clock and the data come \
             from the caller)",
            "gvpie-pxl -> gvpie-cart (build): gvpie-pxl depends on no workspace crate but gvpie-raster",
            "gvpie-raster -> gvpie-jit (dev): the compiling tier sits above the VM: gvpie-raster and gvpie-pxl never \
             depend on gvpie-jit",
            "gvpie-raster -> gvpie-pxl: gvpie-raster depends on no workspace crate",
            "gvpie-server -> gvpie-daemon: the server does not depend on gvpie-daemon",
        ]
    );
}

#[test]
fn a_workspace_that_keeps_the_rules_has_no_forbidden_arrows() {
    let metadata = document(vec![
        package("gvpie-raster", &[("proptest", Some("dev"))]),
        package("gvpie-pxl", &[("gvpie-raster", None), ("gvpie-cart", Some("dev"))]),
        package("gvpie-store", &[("rusqlite", None)]),
        package("gvpie-evolve", &[("gvpie-pxl", None), ("gvpie-cart", Some("dev"))]),
        package("gvpie", &[("gvpie-exec", None), ("gvpie-jit", None), ("rusqlite", Some("dev"))]),
        package("gvpie-exec", &[("gvpie-jit", None), ("gvpie-pxl", None)]),
        package("gvpie-jit", &[("gvpie-pxl", None), ("gvpie-raster", None)]),
        package("gvpie-server", &[("gvpie-exec", None), ("gvpie-store", None), ("tokio", None)]),
    ]);
    assert_eq!(forbidden_arrows(&metadata), Vec::<String>::new());
}

#[test]
fn crates_outside_the_workspace_are_not_judged() {
    // With dependencies resolved, `packages` also lists crates.io packages: only members count.
    let mut metadata = document(vec![package("gvpie-store", &[("rusqlite", None)])]);
    let outside = package("r2d2_sqlite", &[("rusqlite", None)]);
    metadata["packages"].as_array_mut().expect("packages").push(outside);
    assert_eq!(forbidden_arrows(&metadata), Vec::<String>::new());
}
