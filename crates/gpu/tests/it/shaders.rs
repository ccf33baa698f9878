//! Every WGSL file of the crate parses and validates with naga, as written and as generated.

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
                other => panic!("{other} is not used by the crate"),
            }
            seen.push(name);
        }
    }
    seen.sort();
    assert_eq!(seen, ["batch.wgsl", "climb.wgsl", "shapes.wgsl"]);
}
