//! Where programs run: in this process (the default) or on a remote `gvpie serve` over HTTP
//! (the seed's architecture), through the runtime API's contract: `GET /health` and
//! `POST /api/execute` answering gvpie-exec's [`ResultJson`].

use std::time::{Duration, Instant};

use gvpie_exec::{BackendChoice, Engine, ErrorJson, ResultJson};
use gvpie_pxl::{Config, Texture};
use gvpie_raster::Canvas;

/// The largest answer read from a remote runtime (8 MiB; a result without an image is a few hundred bytes).
/// A larger one is an execution failure of kind `runtime`, and the rest is not read.
pub const MAX_RUNTIME_REPLY_BYTES: u64 = 8 << 20;

/// The body of `response` as text, at most [`MAX_RUNTIME_REPLY_BYTES`] of it.
fn read_bounded(response: reqwest::blocking::Response) -> Result<String, String> {
    use std::io::Read;
    let too_large = || format!("the runtime's answer is larger than {MAX_RUNTIME_REPLY_BYTES} bytes; refused");
    if response.content_length().is_some_and(|length| length > MAX_RUNTIME_REPLY_BYTES) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    response
        .take(MAX_RUNTIME_REPLY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("the runtime's answer could not be read: {err}"))?;
    if bytes.len() as u64 > MAX_RUNTIME_REPLY_BYTES {
        return Err(too_large());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Which runtime the daemon uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RuntimeSpec {
    /// The engine in this process.
    #[default]
    InProcess,
    /// A `gvpie serve` at this base URL (e.g. `http://127.0.0.1:8081`).
    Remote(String),
}

impl std::fmt::Display for RuntimeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeSpec::InProcess => f.write_str("in-process"),
            RuntimeSpec::Remote(url) => f.write_str(url),
        }
    }
}

/// What a remote runtime is sent besides the canvas and budget.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RemoteCode<'a> {
    /// PXL source.
    Source(&'a str),
    /// A cartridge PNG.
    Cartridge(&'a [u8]),
}

/// One finished execution: its result, and its canvas when it ran here.
pub(crate) struct Executed {
    pub result: ResultJson,
    pub canvas: Option<Canvas>,
}

/// A client for a remote runtime.
pub(crate) struct Remote {
    base: String,
    client: reqwest::blocking::Client,
}

impl Remote {
    pub(crate) fn new(base: &str) -> anyhow::Result<Remote> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Remote { base: base.trim_end_matches('/').to_string(), client })
    }

    pub(crate) fn health(&self) -> Result<String, String> {
        let response = self
            .client
            .get(format!("{}/health", self.base))
            .timeout(Duration::from_secs(5))
            .send()
            .map_err(|e| format!("{} is not reachable: {e}", self.base))?;
        let status = response.status();
        let body = read_bounded(response).map_err(|e| format!("{}: {e}", self.base))?;
        if status.is_success() {
            Ok(format!("{} healthy: {}", self.base, body.trim().chars().take(200).collect::<String>()))
        } else {
            Err(format!("{} answered {status}", self.base))
        }
    }

    pub(crate) fn execute(&self, code: RemoteCode<'_>, config: &Config, backend: BackendChoice) -> Executed {
        use base64::Engine as _;
        let backend_name = match backend {
            BackendChoice::Cpu => "cpu",
            BackendChoice::Gpu => "gpu",
            BackendChoice::Auto => "auto",
        };
        let mut body = serde_json::json!({
            "backend": backend_name,
            "width": config.width,
            "height": config.height,
            "budget": config.budget,
            "image": "none",
        });
        match code {
            RemoteCode::Source(source) => body["code"] = source.into(),
            RemoteCode::Cartridge(png) => {
                body["cartridge"] = base64::engine::general_purpose::STANDARD.encode(png).into();
            }
        }
        let start = Instant::now();
        let failed = |kind: &str, message: String| Executed {
            result: ResultJson::failed(ErrorJson::new(kind, message), None, start.elapsed()),
            canvas: None,
        };
        let response = match self.client.post(format!("{}/api/execute", self.base)).json(&body).send() {
            Ok(response) => response,
            Err(err) => return failed("runtime", format!("the runtime {} did not answer: {err}", self.base)),
        };
        let status = response.status();
        let text = match read_bounded(response) {
            Ok(text) => text,
            Err(message) => return failed("runtime", message),
        };
        if status.is_success() {
            match serde_json::from_str::<ResultJson>(&text) {
                Ok(result) => Executed { result, canvas: None },
                Err(err) => failed("runtime", format!("the runtime's answer is not a result ({err})")),
            }
        } else {
            // The runtime API's error shape: {"error": {"kind", "message", ...}}.
            let error = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|value| serde_json::from_value::<ErrorJson>(value["error"].clone()).ok());
            match error {
                Some(error) => Executed { result: ResultJson::failed(error, None, start.elapsed()), canvas: None },
                None => failed(
                    "runtime",
                    format!("the runtime answered {status}: {}", text.chars().take(200).collect::<String>()),
                ),
            }
        }
    }
}

/// Runs textures in this process as one engine batch (the engine picks CPU or GPU for
/// `backend`); one result per texture, each naming the backend that really ran it.
pub(crate) fn execute_batch_local(
    engine: &Engine,
    textures: &[Texture],
    config: &Config,
    backend: BackendChoice,
) -> Vec<Executed> {
    let start = Instant::now();
    match engine.execute_batch(textures, config, backend) {
        Ok(outcomes) => outcomes
            .into_iter()
            .zip(textures)
            .map(|(outcome, texture)| Executed {
                result: ResultJson::from_outcome(&outcome, texture.code_words().len()),
                canvas: Some(outcome.result.canvas),
            })
            .collect(),
        Err(err) => textures
            .iter()
            .map(|_| Executed {
                result: ResultJson::failed(ErrorJson::new("backend", err.to_string()), None, start.elapsed()),
                canvas: None,
            })
            .collect(),
    }
}

/// Runs a texture in this process.
pub(crate) fn execute_local(engine: &Engine, texture: &Texture, config: &Config, backend: BackendChoice) -> Executed {
    let start = Instant::now();
    match engine.execute(texture, config, backend) {
        Ok(outcome) => {
            let result = ResultJson::from_outcome(&outcome, texture.code_words().len());
            Executed { result, canvas: Some(outcome.result.canvas) }
        }
        Err(err) => Executed {
            result: ResultJson::failed(ErrorJson::new("backend", err.to_string()), None, start.elapsed()),
            canvas: None,
        },
    }
}
