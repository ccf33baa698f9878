//! `--llm-*` flags of `gvpie daemon` and `gvpie up`: the local-LLM generator for optimize goals
//! (crate `gvpie-llm`), off unless a URL and a model are given (flags or `GVPIE_LLM_URL`,
//! `GVPIE_LLM_MODEL`, `GVPIE_LLM_API`; the bearer key only from `GVPIE_LLM_KEY` or `OPENAI_API_KEY`).

use std::time::Duration;

use clap::Args;
use gvpie_llm::{Api, LlmConfig, Proposer};

use crate::UsageError;

/// The local-LLM generator's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct LlmArgs {
    /// Ask a local LLM for faster programs in optimize goals: its server (env GVPIE_LLM_URL), e.g. http://127.0.0.1:11434.
    #[arg(long, value_name = "URL")]
    pub llm_url: Option<String>,
    /// The model's name (env GVPIE_LLM_MODEL).
    #[arg(long, value_name = "MODEL")]
    pub llm_model: Option<String>,
    /// openai (/v1/chat/completions) or ollama (/api/chat) (env GVPIE_LLM_API; default openai).
    #[arg(long, value_name = "API")]
    pub llm_api: Option<String>,
    /// Sampling temperature (default 0.7).
    #[arg(long, value_name = "T")]
    pub llm_temperature: Option<f32>,
    /// Most tokens in a reply (default 1024).
    #[arg(long, value_name = "N")]
    pub llm_max_tokens: Option<u32>,
    /// Seconds a request may take (default 120).
    #[arg(long, value_name = "SECONDS")]
    pub llm_timeout: Option<f64>,
    /// Tokens each goal may spend over the daemon's life (default: no limit).
    #[arg(long, value_name = "N")]
    pub llm_token_budget: Option<u64>,
}

fn flag_or_env(flag: &Option<String>, env: &str) -> Option<String> {
    flag.clone().or_else(|| std::env::var(env).ok()).filter(|v| !v.trim().is_empty())
}

impl LlmArgs {
    /// The configuration, or `None` when no URL is given.
    pub fn config(&self) -> anyhow::Result<Option<LlmConfig>> {
        let Some(url) = flag_or_env(&self.llm_url, "GVPIE_LLM_URL") else {
            return Ok(None);
        };
        let model = flag_or_env(&self.llm_model, "GVPIE_LLM_MODEL")
            .ok_or_else(|| UsageError::new("--llm-url needs --llm-model (or GVPIE_LLM_MODEL)"))?;
        let mut config = LlmConfig::new(url, model);
        if let Some(api) = flag_or_env(&self.llm_api, "GVPIE_LLM_API") {
            config.api = api.parse::<Api>().map_err(UsageError::new)?;
        }
        if let Some(t) = self.llm_temperature {
            config.temperature = t;
        }
        if let Some(n) = self.llm_max_tokens {
            config.max_tokens = n;
        }
        if let Some(seconds) = self.llm_timeout {
            config.timeout = Duration::try_from_secs_f64(seconds)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| UsageError::new("--llm-timeout must be a positive number of seconds"))?;
        }
        config.token_budget = self.llm_token_budget;
        Ok(Some(config))
    }

    /// The proposer, or `None` when no URL is given.
    pub fn proposer(&self) -> anyhow::Result<Option<Proposer>> {
        match self.config()? {
            Some(config) => Ok(Some(Proposer::from_config(config).map_err(|e| UsageError::new(e.to_string()))?)),
            None => Ok(None),
        }
    }
}
