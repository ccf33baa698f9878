//! Every WGSL file of the crate parses and validates with naga, as written and as generated,
//! and the generated batch shader's opcodes, trap and comparison codes and VM constants are
//! gvpie-pxl's.

use std::collections::BTreeMap;

use gvpie_pxl::{Cmp, RecordError, TrapKind};

fn validate(label: &str, source: &str) {
    let module =
        naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(source)));
    let mut validator =
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all());
    if let Err(e) = validator.validate(&module) {
        panic!("{label}: {}", e.emit_to_string(source));
    }
}

#[test]
fn generated_batch_shader_validates() {
    validate("batch (generated)", &gvpie_gpu::batch_source());
}

#[test]
fn every_wgsl_file_is_used_and_validates() {
    let dir = crate::util::repo_root().join("crates/gpu/shaders");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            // The embedded copy must be the file itself; the batch shader needs its generated prelude.
            match name.as_str() {
                "batch.wgsl" => {
                    assert_eq!(text, gvpie_gpu::BATCH_WGSL, "{} is not the shader the crate embeds", path.display());
                    validate(&name, &gvpie_gpu::batch_source());
                }
                "shapes.wgsl" => {
                    assert_eq!(text, gvpie_gpu::SHAPES_WGSL, "{} is not the shader the crate embeds", path.display());
                    validate(&name, &text);
                }
                "climb.wgsl" => {
                    // Appended to shapes.wgsl, whose scorer it calls.
                    assert_eq!(text, gvpie_gpu::CLIMB_WGSL, "{} is not the shader the crate embeds", path.display());
                    validate(&name, &gvpie_gpu::climb_source());
                }
                "refine.wgsl" => {
                    assert_eq!(text, gvpie_gpu::REFINE_WGSL, "{} is not the shader the crate embeds", path.display());
                    validate(&name, &text);
                }
                other => panic!("{other} is not used by the crate"),
            }
            seen.push(name);
        }
    }
    seen.sort();
    assert_eq!(seen, ["batch.wgsl", "climb.wgsl", "refine.wgsl", "shapes.wgsl"]);
}

/// Every `u32` constant of the generated batch shader, by name, as naga reads it.
fn generated_u32_constants() -> BTreeMap<String, u32> {
    let source = gvpie_gpu::batch_source();
    let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| panic!("{}", e.emit_to_string(&source)));
    module
        .constants
        .iter()
        .filter_map(|(_, constant)| match module.global_expressions[constant.init] {
            naga::Expression::Literal(naga::Literal::U32(value)) => Some((constant.name.clone()?, value)),
            _ => None,
        })
        .collect()
}

/// The constants whose names start with `prefix`.
fn with_prefix(constants: &BTreeMap<String, u32>, prefix: &str) -> BTreeMap<String, u32> {
    constants.iter().filter(|(name, _)| name.starts_with(prefix)).map(|(n, v)| (n.clone(), *v)).collect()
}

#[test]
fn the_shader_s_opcodes_are_gvpie_pxl_s() {
    let expected: BTreeMap<String, u32> =
        gvpie_pxl::OPS.iter().map(|info| (format!("OP_{}", info.mnemonic), info.op as u32)).collect();
    assert_eq!(expected.len(), 33);
    assert_eq!(with_prefix(&generated_u32_constants(), "OP_"), expected);
}

#[test]
fn the_shader_s_trap_codes_name_every_trap_kind() {
    let constants = generated_u32_constants();
    let traps = with_prefix(&constants, "TRAP_");
    // Named after `TrapKind::name`, one per kind of the language's trap table (docs/pxl.md,
    // the specification; `TrapKind` itself is non-exhaustive and cannot be enumerated).
    let path = crate::util::repo_root().join("docs/pxl.md");
    let spec = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table = spec.split("### Run-time errors (traps)").nth(1).and_then(|rest| rest.split("\n#").next());
    let mut documented: Vec<String> = table
        .unwrap_or_else(|| panic!("{} has no trap table", path.display()))
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .map(|kind| format!("TRAP_{}", kind.to_uppercase()))
        .collect();
    assert_eq!(documented.len(), 6, "{documented:?}");
    documented.sort();
    assert_eq!(traps.keys().cloned().collect::<Vec<_>>(), documented);
    let kinds = [
        TrapKind::DivisionByZero,
        TrapKind::StackOverflow,
        TrapKind::StackUnderflow,
        TrapKind::BudgetExhausted,
        TrapKind::InvalidInstruction(RecordError::BadText),
        TrapKind::AddressOutOfRange(0),
    ];
    for kind in kinds {
        let name = format!("TRAP_{}", kind.name().to_uppercase());
        assert!(traps.contains_key(&name), "{name} is missing from the shader");
    }
    // Distinct and never 0 (an outcome the shader did not write).
    let mut codes: Vec<u32> = traps.values().copied().collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), traps.len(), "{traps:?}");
    assert!(!codes.contains(&0), "{traps:?}");
}

#[test]
fn the_shader_s_vm_constants_are_gvpie_pxl_s() {
    let constants = generated_u32_constants();
    let comparisons = with_prefix(&constants, "CMP_");
    let expected: BTreeMap<String, u32> =
        Cmp::ALL.iter().map(|(cmp, _)| (format!("CMP_{}", format!("{cmp:?}").to_uppercase()), *cmp as u32)).collect();
    assert_eq!(comparisons, expected);
    assert_eq!(constants.get("CALL_DEPTH").copied(), Some(gvpie_pxl::CALL_DEPTH as u32));
    assert_eq!(constants.get("DEFAULT_SEED").copied(), Some(gvpie_pxl::DEFAULT_SEED));
}

#[test]
fn the_hand_written_shader_copies_no_shared_number() {
    for line in gvpie_gpu::BATCH_WGSL.lines() {
        let defined = line.trim_start().strip_prefix("const ").unwrap_or_default();
        for generated in ["OP_", "TRAP_", "CMP_", "STATUS_", "FLAG_", "CALL_DEPTH", "DEFAULT_SEED"] {
            assert!(!defined.starts_with(generated), "batch.wgsl defines a generated constant: {line}");
        }
    }
}
