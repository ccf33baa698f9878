//! The chat client: OpenAI-compatible `/v1/chat/completions` and Ollama's native `/api/chat`
//! and `/api/tags`, with timeouts, retries with backoff and a token budget per call site.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Which API the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// OpenAI-compatible `POST {base}/v1/chat/completions` (LM Studio, llama.cpp, vLLM, Ollama's `/v1`).
    #[default]
    OpenAi,
    /// Ollama's native `POST {base}/api/chat` (`"stream": false`) and `GET {base}/api/tags`.
    Ollama,
}

impl FromStr for Api {
    type Err = String;

    fn from_str(text: &str) -> Result<Api, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "openai" | "open-ai" | "oai" => Ok(Api::OpenAi),
            "ollama" => Ok(Api::Ollama),
            other => Err(format!("unknown LLM API '{other}' (openai or ollama)")),
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Api::OpenAi => "openai",
            Api::Ollama => "ollama",
        })
    }
}

/// Where the model is and how to ask it.
#[derive(Clone, PartialEq)]
pub struct LlmConfig {
    /// The server, e.g. `http://127.0.0.1:11434` (a trailing `/v1` is accepted for OpenAI-compatible servers).
    pub base_url: String,
    /// The model's name as the server knows it.
    pub model: String,
    /// The API spoken.
    pub api: Api,
    /// Sampling temperature.
    pub temperature: f32,
    /// At most this many tokens in a reply (`max_tokens`, Ollama's `num_predict`).
    pub max_tokens: u32,
    /// The whole request's time limit (connect, send, wait, read).
    pub timeout: Duration,
    /// Retries after a 5xx, a 429, a timeout or a refused connection (so `retries + 1` tries at most).
    pub retries: u32,
    /// The wait before the first retry; doubled before each further one.
    pub backoff: Duration,
    /// Sent as `Authorization: Bearer KEY` when set.
    pub api_key: Option<String>,
    /// Tokens each call site may spend over the client's life; `None` is no limit.
    pub token_budget: Option<u64>,
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is never printed.
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api", &self.api)
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("token_budget", &self.token_budget)
            .finish()
    }
}

impl LlmConfig {
    /// Environment variable holding the bearer key (`OPENAI_API_KEY` is read when it is unset).
    pub const KEY_ENV: &'static str = "GVPIE_LLM_KEY";

    /// Defaults for `model` at `base_url`: OpenAI API, temperature 0.7, 1024 tokens, 120 s, 2 retries from 500 ms,
    /// the key from [`LlmConfig::KEY_ENV`] or `OPENAI_API_KEY`, no token budget.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> LlmConfig {
        let api_key = std::env::var(Self::KEY_ENV)
            .ok()
            .or_else(|| std::env::var("OPENAI_API_KEY").ok())
            .filter(|k| !k.trim().is_empty());
        LlmConfig {
            base_url: base_url.into(),
            model: model.into(),
            api: Api::OpenAi,
            temperature: 0.7,
            max_tokens: 1024,
            timeout: Duration::from_secs(120),
            retries: 2,
            backoff: Duration::from_millis(500),
            api_key,
            token_budget: None,
        }
    }

    fn root(&self) -> &str {
        let url = self.base_url.trim_end_matches('/');
        url.strip_suffix("/v1").unwrap_or(url)
    }

    fn chat_url(&self) -> String {
        match self.api {
            Api::OpenAi => format!("{}/v1/chat/completions", self.root()),
            Api::Ollama => format!("{}/api/chat", self.root()),
        }
    }

    fn models_url(&self) -> String {
        match self.api {
            Api::OpenAi => format!("{}/v1/models", self.root()),
            Api::Ollama => format!("{}/api/tags", self.root()),
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Message {
        Message { role: "system".to_string(), content: content.into() }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message { role: "user".to_string(), content: content.into() }
    }
}

/// A model's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The reply's text.
    pub text: String,
    /// Tokens charged to the call site: the server's usage, or an estimate.
    pub tokens: u64,
    /// True when `tokens` is estimated (characters / 4) because the server reported no usage.
    pub estimated: bool,
    /// Tries it took (1 without retries).
    pub attempts: u32,
}

/// Why a request gave no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The server answered with an error status (after the retries, for a retryable one).
    #[error("the LLM server answered HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// No complete answer within the timeout (after the retries).
    #[error("the LLM server did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed (after the retries).
    #[error("cannot reach the LLM server: {0}")]
    Transport(String),
    /// The answer is not the API's shape.
    #[error("the LLM server's answer is not understood: {0}")]
    BadReply(String),
    /// The answer is larger than [`MAX_REPLY_BYTES`]; the rest was not read.
    #[error("the LLM server's answer is larger than {limit} bytes; refused without reading the rest")]
    ReplyTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The call site spent its token budget.
    #[error("token budget of {budget} spent at '{site}' ({used} used)")]
    BudgetExhausted {
        /// The call site.
        site: String,
        /// Tokens used there.
        used: u64,
        /// Its budget.
        budget: u64,
    },
    /// The client could not be built, or the configuration is invalid.
    #[error("bad LLM configuration: {0}")]
    Config(String),
}

impl LlmError {
    fn retryable(&self) -> bool {
        match self {
            LlmError::Http { status, .. } => *status >= 500 || *status == 429,
            LlmError::Timeout(_) | LlmError::Transport(_) => true,
            _ => false,
        }
    }
}

/// A blocking chat client; see the crate docs. Do not call it from inside an async runtime.
#[derive(Debug)]
pub struct LlmClient {
    config: LlmConfig,
    http: reqwest::blocking::Client,
    used: HashMap<String, u64>,
}

/// At most this much of an error body is kept.
const MAX_ERROR_BODY: usize = 300;

/// The largest answer read from an LLM server (8 MiB: a chat reply is a few kilobytes); a larger one is
/// [`LlmError::ReplyTooLarge`], and memory stays bounded whatever the server sends.
pub const MAX_REPLY_BYTES: u64 = 8 << 20;

impl LlmClient {
    /// A client for `config`.
    ///
    /// # Errors
    ///
    /// [`LlmError::Config`] when the URL is not `http://` or `https://`, the model is empty, or the HTTP client
    /// cannot be built.
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(LlmError::Config(format!("'{}' is not an http:// URL", config.base_url)));
        }
        if config.model.trim().is_empty() {
            return Err(LlmError::Config("the model name is empty".to_string()));
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| LlmError::Config(e.to_string()))?;
        Ok(LlmClient { config, http, used: HashMap::new() })
    }

    /// The configuration.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Tokens spent at `site` so far.
    pub fn tokens_used(&self, site: &str) -> u64 {
        self.used.get(site).copied().unwrap_or(0)
    }

    /// Tokens left at `site`, `None` when there is no budget.
    pub fn tokens_left(&self, site: &str) -> Option<u64> {
        self.config.token_budget.map(|budget| budget.saturating_sub(self.tokens_used(site)))
    }

    /// Sends `messages` and returns the reply, charging its tokens to `site`.
    ///
    /// # Errors
    ///
    /// [`LlmError::BudgetExhausted`] before sending when `site` spent its budget; otherwise the last try's error.
    pub fn chat(&mut self, site: &str, messages: &[Message]) -> Result<Completion, LlmError> {
        let used = self.tokens_used(site);
        if let Some(budget) = self.config.token_budget
            && used >= budget
        {
            return Err(LlmError::BudgetExhausted { site: site.to_string(), used, budget });
        }
        let body = self.chat_body(messages);
        let url = self.config.chat_url();
        let mut attempts = 0;
        let value = loop {
            attempts += 1;
            match self.send(reqwest::Method::POST, &url, Some(&body)) {
                Ok(value) => break value,
                Err(err) if err.retryable() && attempts <= self.config.retries => {
                    let factor = 1u32 << (attempts - 1).min(16);
                    std::thread::sleep(self.config.backoff.saturating_mul(factor));
                }
                Err(err) => return Err(err),
            }
        };
        let (text, usage) = match self.config.api {
            Api::OpenAi => parse_openai(&value)?,
            Api::Ollama => parse_ollama(&value)?,
        };
        let (tokens, estimated) = match usage {
            Some(tokens) => (tokens, false),
            None => {
                let chars: usize =
                    messages.iter().map(|m| m.content.chars().count()).sum::<usize>() + text.chars().count();
                ((chars as u64).div_ceil(4), true)
            }
        };
        *self.used.entry(site.to_string()).or_insert(0) += tokens;
        Ok(Completion { text, tokens, estimated, attempts })
    }

    /// The models the server offers: Ollama's `/api/tags` (`models[].name`) or OpenAI's `/v1/models` (`data[].id`).
    ///
    /// # Errors
    ///
    /// As [`LlmClient::chat`], without retries.
    pub fn list_models(&self) -> Result<Vec<String>, LlmError> {
        let value = self.send(reqwest::Method::GET, &self.config.models_url(), None)?;
        let (list, key) = match self.config.api {
            Api::Ollama => ("models", "name"),
            Api::OpenAi => ("data", "id"),
        };
        let items = value
            .get(list)
            .and_then(Value::as_array)
            .ok_or_else(|| LlmError::BadReply(format!("no '{list}' array in the model list")))?;
        Ok(items.iter().filter_map(|m| m.get(key).and_then(Value::as_str)).map(str::to_string).collect())
    }

    fn chat_body(&self, messages: &[Message]) -> Value {
        let c = &self.config;
        match c.api {
            Api::OpenAi => json!({
                "model": c.model,
                "messages": messages,
                "temperature": c.temperature,
                "max_tokens": c.max_tokens,
                "stream": false,
            }),
            Api::Ollama => json!({
                "model": c.model,
                "messages": messages,
                "stream": false,
                "options": { "temperature": c.temperature, "num_predict": c.max_tokens },
            }),
        }
    }

    fn send(&self, method: reqwest::Method, url: &str, body: Option<&Value>) -> Result<Value, LlmError> {
        let mut request = self.http.request(method, url);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().map_err(|e| self.transport(&e))?;
        let status = response.status();
        let text = self.read_bounded(response)?;
        if !status.is_success() {
            let body: String = text.chars().take(MAX_ERROR_BODY).collect();
            return Err(LlmError::Http { status: status.as_u16(), body });
        }
        serde_json::from_str(&text).map_err(|e| LlmError::BadReply(format!("not JSON: {e}")))
    }

    /// The body as text, at most [`MAX_REPLY_BYTES`] of it: a larger one (announced or sent) is refused.
    fn read_bounded(&self, response: reqwest::blocking::Response) -> Result<String, LlmError> {
        use std::io::Read;
        if response.content_length().is_some_and(|length| length > MAX_REPLY_BYTES) {
            return Err(LlmError::ReplyTooLarge { limit: MAX_REPLY_BYTES });
        }
        let mut bytes = Vec::new();
        response.take(MAX_REPLY_BYTES + 1).read_to_end(&mut bytes).map_err(|err| {
            if err.kind() == std::io::ErrorKind::TimedOut {
                LlmError::Timeout(self.config.timeout)
            } else {
                LlmError::Transport(format!("reading the answer: {err}"))
            }
        })?;
        if bytes.len() as u64 > MAX_REPLY_BYTES {
            return Err(LlmError::ReplyTooLarge { limit: MAX_REPLY_BYTES });
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn transport(&self, err: &reqwest::Error) -> LlmError {
        if err.is_timeout() {
            LlmError::Timeout(self.config.timeout)
        } else {
            // The source chain says why (refused, reset, ...); the top error only names the URL.
            let mut message = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(inner) = source {
                message.push_str(": ");
                message.push_str(&inner.to_string());
                source = inner.source();
            }
            LlmError::Transport(message)
        }
    }
}

/// `choices[0].message.content` and `usage.total_tokens` (or prompt + completion).
fn parse_openai(value: &Value) -> Result<(String, Option<u64>), LlmError> {
    let text = value
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| LlmError::BadReply("no choices[0].message.content".to_string()))?;
    let usage = value.get("usage");
    let tokens = usage.and_then(|u| u.get("total_tokens")).and_then(Value::as_u64).or_else(|| {
        let prompt = usage?.get("prompt_tokens")?.as_u64()?;
        let completion = usage?.get("completion_tokens")?.as_u64()?;
        Some(prompt + completion)
    });
    Ok((text.to_string(), tokens))
}

/// `message.content` and `prompt_eval_count + eval_count`.
fn parse_ollama(value: &Value) -> Result<(String, Option<u64>), LlmError> {
    let text = value
        .pointer("/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| LlmError::BadReply("no message.content".to_string()))?;
    let prompt = value.get("prompt_eval_count").and_then(Value::as_u64);
    let eval = value.get("eval_count").and_then(Value::as_u64);
    let tokens = match (prompt, eval) {
        (None, None) => None,
        (p, e) => Some(p.unwrap_or(0) + e.unwrap_or(0)),
    };
    Ok((text.to_string(), tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let mut config = LlmConfig::new("http://h:1/v1/", "m");
        assert_eq!(config.chat_url(), "http://h:1/v1/chat/completions");
        config.api = Api::Ollama;
        config.base_url = "http://h:11434".to_string();
        assert_eq!(config.chat_url(), "http://h:11434/api/chat");
        assert_eq!(config.models_url(), "http://h:11434/api/tags");
    }

    #[test]
    fn api_names() {
        assert_eq!("OpenAI".parse::<Api>(), Ok(Api::OpenAi));
        assert_eq!("ollama".parse::<Api>(), Ok(Api::Ollama));
        assert!("x".parse::<Api>().is_err());
        assert_eq!(Api::Ollama.to_string(), "ollama");
    }

    #[test]
    fn key_is_not_printed() {
        let mut config = LlmConfig::new("http://h", "m");
        config.api_key = Some("secret".to_string());
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn rejects_bad_config() {
        assert!(matches!(LlmClient::new(LlmConfig::new("ftp://h", "m")), Err(LlmError::Config(_))));
        assert!(matches!(LlmClient::new(LlmConfig::new("http://h", " ")), Err(LlmError::Config(_))));
    }
}
