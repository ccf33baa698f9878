//! The proposer: prompt → chat → reply → program → compiled and run in the VM; rejections are
//! remembered per call site and shown in the next prompt.

use std::collections::{HashMap, VecDeque};

use gvpie_pxl::{Config, RunResult};

use crate::client::{LlmClient, LlmConfig, LlmError};
use crate::prompt::{Parent, build_messages};
use crate::reply::resolve_reply;
use crate::validate::{Rejection, check};

/// A validated proposal: it compiles and halts within the budget. Whether it is *better* is the caller's check.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The program.
    pub source: String,
    /// Its run in the CPU reference VM.
    pub run: RunResult,
    /// Tokens the request cost.
    pub tokens: u64,
}

/// Why there is no proposal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProposeError {
    /// The request failed (server, timeout, budget).
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The reply was rejected; the reason is remembered for the next prompt at this call site.
    #[error("rejected: {0}")]
    Rejected(Rejection),
}

/// Rejections remembered per call site.
const MAX_REMEMBERED: usize = 3;
/// Characters of a remembered rejection.
const MAX_REASON_CHARS: usize = 800;

/// Asks a model for programs and validates them; see the crate docs.
#[derive(Debug)]
pub struct Proposer {
    client: LlmClient,
    errors: HashMap<String, VecDeque<String>>,
    /// The text of the last reply, so a caller can keep a rejected one.
    last_reply: Option<String>,
}

impl Proposer {
    /// A proposer over `client`.
    pub fn new(client: LlmClient) -> Proposer {
        Proposer { client, errors: HashMap::new(), last_reply: None }
    }

    /// A proposer for `config`.
    ///
    /// # Errors
    ///
    /// As [`LlmClient::new`].
    pub fn from_config(config: LlmConfig) -> Result<Proposer, LlmError> {
        Ok(Proposer::new(LlmClient::new(config)?))
    }

    /// `llm:MODEL`, the generator name recorded with its candidates.
    pub fn generator_name(&self) -> String {
        format!("llm:{}", self.client.config().model)
    }

    /// The client (configuration, tokens used).
    pub fn client(&self) -> &LlmClient {
        &self.client
    }

    /// Asks for a better program for `goal` from `parents` (a diff applies to the first) and validates the reply
    /// under `vm`. `site` names the call site: its token budget and its remembered rejections, which are added to
    /// the first parent's errors in the prompt.
    ///
    /// # Errors
    ///
    /// [`ProposeError::Llm`] when the request failed, [`ProposeError::Rejected`] when the reply holds no program,
    /// a diff that does not apply, a program that does not compile, or one that does not halt within the budget.
    pub fn propose(
        &mut self,
        site: &str,
        goal: &str,
        parents: &[Parent],
        vm: &Config,
    ) -> Result<Proposal, ProposeError> {
        let mut shown = parents.to_vec();
        if let (Some(first), Some(errors)) = (shown.first_mut(), self.errors.get(site)) {
            first.errors.extend(errors.iter().cloned());
        }
        self.last_reply = None;
        let completion = self.client.chat(site, &build_messages(goal, &shown))?;
        self.last_reply = Some(completion.text.clone());
        let parent = parents.first().map(|p| p.source.as_str());
        let verdict = resolve_reply(&completion.text, parent)
            .map_err(|e| Rejection::Reply(e.to_string()))
            .and_then(|source| check(&source, vm).map(|run| (source, run)));
        match verdict {
            Ok((source, run)) => Ok(Proposal { source, run, tokens: completion.tokens }),
            Err(rejection) => {
                self.reject(site, &rejection.to_string());
                Err(ProposeError::Rejected(rejection))
            }
        }
    }

    /// Remembers the caller's verdict on a proposal from `site` (e.g. "draws different pixels") for the next prompt.
    pub fn reject(&mut self, site: &str, reason: &str) {
        let errors = self.errors.entry(site.to_string()).or_default();
        if errors.len() == MAX_REMEMBERED {
            errors.pop_front();
        }
        errors.push_back(reason.chars().take(MAX_REASON_CHARS).collect());
    }

    /// Forgets the rejections at `site` (after an accepted proposal).
    pub fn accepted(&mut self, site: &str) {
        self.errors.remove(site);
    }

    /// The text of the last call's reply (`None` when the request failed), e.g. to record a rejected one.
    pub fn last_reply(&self) -> Option<&str> {
        self.last_reply.as_deref()
    }

    /// The rejections remembered at `site`, oldest first.
    pub fn last_errors(&self, site: &str) -> Vec<String> {
        self.errors.get(site).map(|e| e.iter().cloned().collect()).unwrap_or_default()
    }
}
