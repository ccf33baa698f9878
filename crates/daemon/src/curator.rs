//! Self-set goals: what the daemon works on when no one tells it, and how it shares its time.
//!
//! Every cycle, [`self_set_goals`] looks at the scripts and goals and proposes, each at most once per database
//! (a goal's `origin` is unique, so several daemons on one database set it once):
//!
//! - `optimize:SCRIPT`: an optimize goal for every enabled pixel script that has run (identical pixels and frames
//!   in fewer cycles), with the default patience and the known optimum as stop rules;
//! - `explore:N`: an explore goal (a MAP-Elites archive of kinds of pictures, see
//!   `gvpie_evolve::goal::ExploreSession`) whenever none is active, seeded from the enabled scripts and the
//!   examples, so new programs keep coming after one converges.
//!
//! Self-set goals have priority 3, below a person's default of 5.
//!
//! **Adoption rule.** A self-set optimize goal that finds a better program adopts it at once: the program is
//! written as the script `SCRIPT.optimized` (a child of the original), enabled, and the original is disabled and
//! kept for replay; the adoption is recorded in `adoptions` and the program's cartridge registered as
//! `adopted/SCRIPT-ITERATION`. A program is better only when the CPU reference VM draws exactly the original's
//! pixels and frames in strictly fewer cycles (`OptimizeSearch::offer` checks every candidate so), so adopting
//! never changes what the daemon draws. A goal a person adds only proposes its `SCRIPT.optimized` (disabled).
//!
//! **Scheduling.** [`by_weight`] orders the active goals and weighs their share of a cycle's time by priority,
//! doubled for a goal that improved in its last steps (no stale steps), so converging goals yield to productive
//! ones; goals that meet their stop rules are `done` and take no time at all.

use std::collections::HashSet;

use gvpie_evolve::goal::ExploreGoalSpec;
use gvpie_evolve::{GoalOptions, OptimizeGoalParams, OptimizeGoalSpec};
use gvpie_store::{Goal, NewGoal, SelfSetGoal, Store};

/// The priority of self-set goals.
pub const SELF_SET_PRIORITY: i64 = 3;

/// Programs that seed an explore goal besides the enabled scripts: the examples that draw without input.
const EXPLORE_SEEDS: &[&str] = &[
    include_str!("../../../examples/circles.pxl"),
    include_str!("../../../examples/triangles.pxl"),
    include_str!("../../../examples/starburst.pxl"),
    include_str!("../../../examples/random_dots.pxl"),
    include_str!("../../../examples/bounce.pxl"),
];

/// The goals to set this cycle (added in the cycle's commit, each only if its origin is new). `refused` remembers
/// scripts whose goal cannot be built (a program that does not halt), so they are not run again every cycle.
pub fn self_set_goals(store: &Store, refused: &mut HashSet<String>) -> anyhow::Result<Vec<SelfSetGoal>> {
    let goals = store.list_goals()?;
    let origins: HashSet<&str> = goals.iter().filter_map(|g| g.origin.as_deref()).collect();
    let scripts = store.list_scripts()?;
    let mut set = Vec::new();
    for script in &scripts {
        let origin = format!("optimize:{}", script.name);
        if !script.enabled
            || script.lang != "pixel"
            || script.run_count == 0
            || script.name.ends_with(".optimized")
            || origins.contains(origin.as_str())
            || refused.contains(&script.name)
        {
            continue;
        }
        let options = GoalOptions { priority: SELF_SET_PRIORITY, ..GoalOptions::default() };
        let source = script.code.clone().unwrap_or_default();
        // Compared at the size the script declares (`SIZE`), else the runner's default.
        let (width, height) = gvpie_pxl::compile(&source).ok().and_then(|t| t.canvas_size()).unwrap_or((128, 64));
        let params =
            OptimizeGoalParams { script: script.name.clone(), width, height, cycle_budget: gvpie_pxl::DEFAULT_BUDGET };
        match OptimizeGoalSpec::new(source, &params, &options) {
            Ok(spec) => {
                let draft = spec.draft(&GoalOptions {
                    name: Some(format!("{} in fewer cycles (self-set)", script.name)),
                    ..options
                });
                set.push(SelfSetGoal { origin, goal: row(draft) });
            }
            Err(_) => {
                refused.insert(script.name.clone());
            }
        }
    }
    let exploring = goals.iter().any(|g| g.kind == "explore" && g.status == "active");
    if !exploring {
        let n = goals.iter().filter(|g| g.kind == "explore").count() + 1;
        let mut seeds: Vec<String> =
            scripts.iter().filter(|s| s.enabled && s.lang == "pixel").filter_map(|s| s.code.clone()).take(16).collect();
        seeds.extend(EXPLORE_SEEDS.iter().map(|s| s.to_string()));
        if let Ok(spec) = ExploreGoalSpec::new(128, 64, n as u64, seeds) {
            let draft = gvpie_evolve::GoalDraft {
                goal: format!("new kinds of pictures, round {n} (self-set)"),
                priority: SELF_SET_PRIORITY,
                kind: gvpie_evolve::GoalKind::Explore,
                spec: serde_json::to_value(&spec)?,
            };
            set.push(SelfSetGoal { origin: format!("explore:{n}"), goal: row(draft) });
        }
    }
    Ok(set)
}

fn row(draft: gvpie_evolve::GoalDraft) -> NewGoal {
    NewGoal { goal: draft.goal, priority: draft.priority, kind: draft.kind.name().to_string(), spec: Some(draft.spec) }
}

/// The goals in the order they run this cycle, with their weights (see the module docs).
pub fn by_weight(goals: Vec<Goal>) -> Vec<(Goal, f64)> {
    let mut weighted: Vec<(Goal, f64)> = goals
        .into_iter()
        .map(|goal| {
            let stale = goal.spec.as_ref().and_then(|s| s["progress"]["stale_steps"].as_u64()).unwrap_or(0);
            let improving = if stale == 0 { 2.0 } else { 1.0 };
            let weight = goal.priority.max(1) as f64 * improving;
            (goal, weight)
        })
        .collect();
    // Heaviest first; the same order every cycle for equal weights (by id).
    weighted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    weighted
}
