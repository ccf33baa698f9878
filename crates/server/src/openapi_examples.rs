//! Examples and links in the OpenAPI document, so that a client generator or a fuzzer
//! (schemathesis in CI, `clients/python/fuzz_api.sh`) reaches real resources instead of only
//! 404s: valid request bodies, path parameters that name the resources `fuzz_api.sh` seeds
//! (script 1, iteration 1, goal 1, cartridge `hello.png`, the program [`EXAMPLE_CODE`] and the
//! image it draws on the daemon's default 128×64 canvas), and links from each created resource
//! (and each map entry) to the operations that read or change it.
//!
//! Added to the document [`crate::openapi`] builds from the route registrations; nothing here
//! changes a route.

use base64::Engine as _;
use serde_json::{Value, json};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Operation, ParameterBuilder};
use utoipa::openapi::{OpenApi, RefOr};

/// The program of the examples (the seed's hello).
pub(crate) const EXAMPLE_CODE: &str = "TXT 10 10 Hello GPU\nHALT";

/// The cartridge path of the examples.
pub(crate) const EXAMPLE_CARTRIDGE_PATH: &str = "hello.png";

/// The hashes of [`EXAMPLE_CODE`]'s program and of its image on a 128×64 canvas.
fn example_hashes() -> Option<(String, String)> {
    let texture = gvpie_pxl::compile(EXAMPLE_CODE).ok()?;
    let program = gvpie_store::Hash::of(&texture.to_bytes()).to_hex();
    let config = gvpie_pxl::Config { width: 128, height: 64, ..gvpie_pxl::Config::default() };
    let result = gvpie_pxl::run(&texture, &config).ok()?;
    let image = gvpie_store::image_hash(128, 64, &result.canvas.to_rgba8()).to_hex();
    Some((program, image))
}

/// Adds the examples and links to `document`.
pub(crate) fn add(document: &mut OpenApi) {
    let hashes = example_hashes();
    let paths = &mut document.paths.paths;
    for (path, item) in paths.iter_mut() {
        for (method, operation) in [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("patch", item.patch.as_mut()),
            ("put", item.put.as_mut()),
            ("delete", item.delete.as_mut()),
        ] {
            let Some(operation) = operation else { continue };
            let hash = match (path.as_str(), &hashes) {
                ("/api/programs/{hash}", Some((program, _))) => Some(program.as_str()),
                ("/api/images/{hash}", Some((_, image))) => Some(image.as_str()),
                _ => None,
            };
            parameter_examples(operation, hash);
            if let Some(example) = body_example(method, path) {
                set_body_example(operation, example);
            }
            for (status, links) in links(method, path) {
                add_links(operation, status, &links);
            }
        }
    }
}

/// Path parameters name the seeded resources (`hash`: the one of this path, if any).
fn parameter_examples(operation: &mut Operation, hash: Option<&str>) {
    let Some(parameters) = operation.parameters.as_mut() else { return };
    for parameter in parameters.iter_mut() {
        let example = match parameter.name.as_str() {
            "id" | "iteration" => json!(1),
            "key" => json!(EXAMPLE_CARTRIDGE_PATH),
            "hash" => match hash {
                Some(hash) => json!(hash),
                None => continue,
            },
            "depth" => json!(5),
            "limit" => json!(10),
            _ => continue,
        };
        *parameter = ParameterBuilder::from(parameter.clone()).example(Some(example)).build();
    }
}

/// A valid body for each operation that takes one.
fn body_example(method: &str, path: &str) -> Option<Value> {
    let example = match (method, path) {
        ("post", "/api/execute") => json!({"code": EXAMPLE_CODE, "backend": "cpu", "width": 64, "height": 32}),
        ("post", "/api/execute/batch") => {
            json!({"programs": [{"code": EXAMPLE_CODE}, {"code": "RECT 1 1 4 4\nHALT"}], "backend": "cpu", "width": 32, "height": 16})
        }
        ("post", "/api/scripts") => {
            json!({"name": "hello", "code": EXAMPLE_CODE, "lang": "pixel", "purpose": "Say hello", "enabled": true})
        }
        ("patch", "/api/scripts/{id}") => json!({"enabled": false}),
        ("post", "/api/programs") => json!({"code": EXAMPLE_CODE}),
        ("post", "/api/cartridges") => json!({"cartridge": example_cartridge()?, "path": EXAMPLE_CARTRIDGE_PATH}),
        ("post", "/api/goals") => json!({"kind": "optimize", "script": "hello", "evaluations": 50}),
        ("patch", "/api/goals/{id}") => json!({"status": "paused"}),
        ("post", "/api/check") => json!({"code": EXAMPLE_CODE}),
        ("post", "/api/debug") => json!({"code": EXAMPLE_CODE, "width": 32, "height": 16, "cycle": 1}),
        ("post", "/api/cart/pack") => json!({"code": EXAMPLE_CODE, "width": 64, "height": 32}),
        ("post", "/api/cart/unpack") => json!({"cartridge": example_cartridge()?}),
        ("post", "/api/compile") => {
            json!({"description": "a red circle above a blue square", "width": 128, "height": 64})
        }
        _ => return None,
    };
    Some(example)
}

/// A real cartridge of [`EXAMPLE_CODE`] (base64 PNG).
fn example_cartridge() -> Option<String> {
    let canvas = gvpie_raster::Canvas::new(16, 8).ok()?;
    let png = gvpie_cart::pack(EXAMPLE_CODE, &canvas).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(png))
}

fn set_body_example(operation: &mut Operation, example: Value) {
    let Some(body) = operation.request_body.as_mut() else { return };
    if let Some(content) = body.content.get_mut("application/json") {
        content.example = Some(example);
    }
}

/// (status, [(link name, target operation id, parameter, runtime expression)]).
type Links = Vec<(&'static str, Vec<(&'static str, &'static str, &'static str, &'static str)>)>;

/// Links from what an operation answers to the operations that use it.
fn links(method: &str, path: &str) -> Links {
    match (method, path) {
        ("post", "/api/scripts") => vec![(
            "201",
            vec![
                ("GetScript", "get_script", "id", "$response.body#/id"),
                ("UpdateScript", "update_script", "id", "$response.body#/id"),
            ],
        )],
        ("post", "/api/goals") => vec![(
            "201",
            vec![
                ("GetGoal", "get_goal", "id", "$response.body#/id"),
                ("UpdateGoal", "update_goal", "id", "$response.body#/id"),
                ("GoalProposals", "goal_proposals", "id", "$response.body#/id"),
            ],
        )],
        ("post", "/api/programs") => {
            vec![("201", vec![("GetProgram", "get_program", "hash", "$response.body#/hash")])]
        }
        ("post", "/api/cartridges") => vec![(
            "201",
            vec![
                ("GetCartridge", "get_cartridge", "key", "$response.body#/path"),
                ("GetCartridgePng", "cartridge_png", "key", "$response.body#/path"),
            ],
        )],
        ("get", "/api/map/{iteration}") => vec![(
            "200",
            vec![
                ("GetProgram", "get_program", "hash", "$response.body#/program_hash"),
                ("GetImage", "image", "hash", "$response.body#/image_hash"),
                ("GetLineage", "lineage", "iteration", "$response.body#/iteration"),
                ("GetIterationImage", "iteration_image", "iteration", "$response.body#/iteration"),
            ],
        )],
        _ => Vec::new(),
    }
}

/// Writes the response's `links` object. Not through utoipa's `Link` type: utoipa 5.5 serialises
/// its fields in snake case (`operation_id`), which no OpenAPI reader understands; an extension
/// entry named `links` is serialised, flattened, exactly as written here.
fn add_links(operation: &mut Operation, status: &str, links: &[(&str, &str, &str, &str)]) {
    let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) else { return };
    let mut object = serde_json::Map::new();
    for (name, target, parameter, expression) in links {
        object.insert((*name).to_string(), json!({"operationId": target, "parameters": {*parameter: expression}}));
    }
    response.extensions.get_or_insert_with(Extensions::default).insert("links".to_string(), Value::Object(object));
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_link_targets_an_operation_and_every_body_example_is_there() {
        let document = serde_json::to_value(crate::openapi()).expect("json");
        let mut ids = Vec::new();
        for item in document["paths"].as_object().expect("paths").values() {
            for operation in item.as_object().expect("item").values() {
                if let Some(id) = operation["operationId"].as_str() {
                    ids.push(id.to_string());
                }
            }
        }
        let mut links = 0;
        for item in document["paths"].as_object().expect("paths").values() {
            for operation in item.as_object().expect("item").values() {
                let Some(responses) = operation["responses"].as_object() else { continue };
                for response in responses.values() {
                    for link in response["links"].as_object().into_iter().flat_map(|l| l.values()) {
                        links += 1;
                        let target = link["operationId"].as_str().expect("operationId");
                        assert!(ids.iter().any(|id| id == target), "link to unknown operation {target}");
                    }
                }
                if let Some(content) = operation["requestBody"]["content"]["application/json"].as_object() {
                    assert!(content.contains_key("example"), "no example body: {operation}");
                }
            }
        }
        assert!(links >= 12, "{links} links");
        let id = &document["paths"]["/api/scripts/{id}"]["get"]["parameters"][0];
        assert_eq!(id["example"], 1, "{id}");
    }
}
