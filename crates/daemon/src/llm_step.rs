//! The local-LLM generator's step in an optimize goal: one proposal per goal and cycle.
//!
//! The model sees the goal, the best program so far with its cycles (and the original when it
//! differs) and the reasons its last proposals were rejected. Its reply is parsed, compiled
//! and run under the goal's cycle budget by [`gvpie_llm::Proposer`], then offered to the
//! goal's [`OptimizeSearch`], which adopts it only when it draws exactly the original's
//! pixels and frames in fewer cycles than the best so far: the same check as every mutation.
//! The caller records an adopted proposal with generator `llm:MODEL`.

use gvpie_evolve::OptimizeSearch;
use gvpie_llm::{Parent, ProposeError, Proposer};
use gvpie_store::Goal;

use crate::goals::OptimizeGoalSpec;

/// What the step did.
pub(crate) struct LlmTry {
    /// The adopted program and its cycles.
    pub accepted: Option<(String, u64)>,
    /// True when a program was evaluated (the reply held one that compiled and halted, and was offered).
    pub evaluated: bool,
    /// A short summary for the goal's console line.
    pub note: String,
}

/// The first line of `text`, at most 160 characters.
fn short(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out: String = line.chars().take(160).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    out
}

/// Asks the model for a faster program for `goal` and offers it to `search`.
pub(crate) fn optimize_step(
    proposer: &mut Proposer,
    goal: &Goal,
    spec: &OptimizeGoalSpec,
    search: &mut OptimizeSearch,
) -> LlmTry {
    let site = format!("goal-{}", goal.id);
    let best = search.source();
    let mut parents = vec![Parent {
        label: "the best program so far".to_string(),
        source: best.clone(),
        score: Some(format!("{} cycles", search.cycles())),
        errors: Vec::new(),
    }];
    if best != spec.source {
        parents.push(Parent {
            label: "the original".to_string(),
            source: spec.source.clone(),
            score: Some(format!("{} cycles", search.original_cycles())),
            errors: Vec::new(),
        });
    }
    let description = format!(
        "optimize goal {} ('{}', script {}): a PXL program that draws exactly the same pixels (and the same FRAME \
         frames) as the original on a {}x{} canvas, in fewer cycles than {} (the best so far). Fewer executed \
         instructions is all that counts: remove dead work, hoist invariant instructions out of loops, replace \
         loops of small draws by single shapes.",
        goal.id,
        goal.goal,
        spec.script,
        spec.width,
        spec.height,
        search.cycles()
    );
    let vm = gvpie_pxl::Config {
        width: spec.width,
        height: spec.height,
        budget: spec.cycle_budget,
        ..gvpie_pxl::Config::default()
    };
    match proposer.propose(&site, &description, &parents, &vm) {
        Ok(proposal) => match search.offer(&proposal.source) {
            Ok(cycles) => {
                proposer.accepted(&site);
                LlmTry {
                    accepted: Some((search.source(), cycles)),
                    evaluated: true,
                    note: format!("{} adopted ({cycles} cycles)", proposer.generator_name()),
                }
            }
            Err(reason) => {
                proposer.reject(&site, &format!("A proposal was run and refused: {reason}."));
                LlmTry {
                    accepted: None,
                    evaluated: true,
                    note: format!("{} refused: {}", proposer.generator_name(), short(&reason)),
                }
            }
        },
        Err(ProposeError::Rejected(rejection)) => LlmTry {
            accepted: None,
            evaluated: false,
            note: format!("{} rejected: {}", proposer.generator_name(), short(&rejection.to_string())),
        },
        Err(err) => LlmTry {
            accepted: None,
            evaluated: false,
            note: format!("{} unavailable: {}", proposer.generator_name(), short(&err.to_string())),
        },
    }
}
