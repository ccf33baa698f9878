//! A local-LLM program generator for gvpie: a chat client for OpenAI-compatible servers
//! (`/v1/chat/completions`: LM Studio, llama.cpp, vLLM, Ollama's `/v1`) and Ollama's native
//! `/api/chat` and `/api/tags`, prompts that carry a condensed PXL spec with the parent
//! programs, their scores and their last errors, and a reply parser that takes a whole program
//! or a unified diff against the parent.
//!
//! Nothing a model writes is executed blind: [`Proposer::propose`] compiles every reply with
//! `gvpie_pxl` (diagnostics reject it, and are kept for the next prompt) and runs it in the
//! CPU reference VM under the caller's cycle budget. Whether a proposal is *better* (the same
//! pixels in fewer cycles, say) is the caller's check: the daemon's goal engine treats a
//! proposal as one more candidate.
//!
//! [`LlmClient`] has timeouts, retries with exponential backoff on 5xx, 429, timeouts and
//! refused connections, and a token budget per call site (the usage the server reports, or
//! characters / 4 when it reports none).
//!
//! # Example
//!
//! Reply parsing and validation need no server:
//!
//! ```
//! use gvpie_llm::{check, resolve_reply};
//!
//! let parent = "CLS 0 0 0\nRECT 0 0 4 4\nRECT 0 0 4 4\nHALT\n";
//! let reply = "Drop the repeated rectangle:\n```diff\n@@ -1,4 +1,3 @@\n CLS 0 0 0\n RECT 0 0 4 4\n-RECT 0 0 4 4\n HALT\n```";
//! let program = resolve_reply(reply, Some(parent))?;
//! assert_eq!(program, "CLS 0 0 0\nRECT 0 0 4 4\nHALT\n");
//! let run = check(&program, &gvpie_pxl::Config::default())?;
//! assert_eq!(run.cycles, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use crate::client::{Api, Completion, LlmClient, LlmConfig, LlmError, MAX_REPLY_BYTES, Message};
pub use crate::prompt::{PXL_SUMMARY, Parent, build_messages};
pub use crate::propose::{Proposal, ProposeError, Proposer};
pub use crate::reply::{Extracted, ReplyError, apply_unified_diff, extract, resolve_reply};
pub use crate::validate::{Rejection, check};

mod client;
mod prompt;
mod propose;
mod reply;
mod validate;
