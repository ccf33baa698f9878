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
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // The files need the generated prelude; the embedded copy must be the file itself.
            assert_eq!(text, gvpie_gpu::BATCH_WGSL, "{} is not the shader the crate embeds", path.display());
            validate(&path.display().to_string(), &gvpie_gpu::batch_source());
            n += 1;
        }
    }
    assert_eq!(n, 1);
}
