//! The local-LLM generator's step in a goal: one proposal per goal and cycle.
//!
//! Optimize goals: the model sees the goal, the best program so far with its cycles (and the
//! original when it differs) and the reasons its last proposals were rejected. Its reply is
//! parsed, compiled and run under the goal's cycle budget by [`gvpie_llm::Proposer`], then
//! offered to the goal's [`OptimizeSearch`], which adopts it only when it draws exactly the
//! original's pixels and frames in fewer cycles than the best so far: the same check as every
//! mutation.
//!
//! Image goals: the model sees the goal (size, shapes allowed, the fixed alpha), the target as a
//! coarse grid of average colours and the best program so far with its RMSE. Its reply must be
//! an image program ([`gvpie_evolve::parse_program`]) that the search could have written: the
//! search's background, no more shapes than allowed, the goal's alpha and shape kinds. It is
//! adopted only when its exact RMSE is lower than the search's with no more shapes than the
//! search has placed (better at the same count), and the search then resumes from it.
//!
//! The caller records an adopted proposal as an execution with generator `llm:MODEL`, and every
//! proposal, whatever became of it, as an `llm_proposals` row ([`LlmTry::record`]).

use gvpie_evolve::{ImageSearch, OptimizeSearch, Placed, Shape};
use gvpie_llm::{Parent, ProposeError, Proposer};
use gvpie_raster::Canvas;
use gvpie_store::{Goal, NewProposal};

use crate::goals::{ImageGoalSpec, OptimizeGoalSpec};

/// What the step did.
pub(crate) struct LlmTry<T> {
    /// What was adopted (optimize: the program and its cycles; image: the program drawn by the resumed search and
    /// its RMSE).
    pub accepted: Option<T>,
    /// True when a program was evaluated (it passed every check of its form and was compared with the best).
    pub evaluated: bool,
    /// A short summary for the goal's console line.
    pub note: String,
    /// The `llm_proposals` row; the caller sets its execution when it records an adopted one.
    pub record: NewProposal,
}

impl<T> LlmTry<T> {
    fn new(proposer: &Proposer, goal: &Goal, outcome: &str, reason: Option<String>, source: Option<String>) -> Self {
        let note = match &reason {
            Some(reason) => format!("{} {outcome}: {}", proposer.generator_name(), short(reason)),
            None => format!("{} {outcome}", proposer.generator_name()),
        };
        LlmTry {
            accepted: None,
            evaluated: false,
            note,
            record: NewProposal {
                goal_id: goal.id,
                generator: proposer.generator_name(),
                outcome: outcome.to_string(),
                reason,
                source,
                ..NewProposal::default()
            },
        }
    }

    /// The proposer found no usable program (rejected, with the raw reply) or could not ask (unavailable).
    fn failed(proposer: &Proposer, goal: &Goal, err: ProposeError) -> Self {
        match err {
            ProposeError::Rejected(rejection) => LlmTry::new(
                proposer,
                goal,
                "rejected",
                Some(rejection.to_string()),
                proposer.last_reply().map(str::to_string),
            ),
            err => LlmTry::new(proposer, goal, "unavailable", Some(err.to_string()), None),
        }
    }

    fn scored(mut self, score: f64) -> Self {
        self.record.score = Some(score);
        self
    }
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
) -> LlmTry<(String, u64)> {
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
                let mut step =
                    LlmTry::new(proposer, goal, "adopted", None, Some(proposal.source)).scored(cycles as f64);
                step.note = format!("{} adopted ({cycles} cycles)", proposer.generator_name());
                step.accepted = Some((search.source(), cycles));
                step.evaluated = true;
                step
            }
            Err(reason) => {
                proposer.reject(&site, &format!("A proposal was run and refused: {reason}."));
                let mut step = LlmTry::new(proposer, goal, "refused", Some(reason), Some(proposal.source))
                    .scored(proposal.run.cycles as f64);
                step.evaluated = true;
                step
            }
        },
        Err(err) => LlmTry::failed(proposer, goal, err),
    }
}

/// Cells a side of the target's colour grid in the prompt (fewer when the image is smaller).
const GRID: u32 = 8;

/// Coordinates a proposal may use: far outside any canvas, and far from `i32` overflow.
const MAX_COORDINATE: i64 = 1 << 20;

/// The target as a grid of average colours: `row R: #rrggbb ...`, one line per row of cells.
fn colour_grid(target: &Canvas) -> String {
    let (width, height) = (target.width(), target.height());
    let (cols, rows) = (GRID.min(width), GRID.min(height));
    let mut out = String::new();
    for row in 0..rows {
        let (y0, y1) = (row * height / rows, (row + 1) * height / rows);
        out.push_str(&format!("row {row} (y {y0}..{}):", y1 - 1));
        for col in 0..cols {
            let (x0, x1) = (col * width / cols, (col + 1) * width / cols);
            let mut sum = [0u64; 3];
            for y in y0..y1 {
                for x in x0..x1 {
                    if let Some(c) = target.get(x as i32, y as i32) {
                        sum[0] += u64::from(c.r);
                        sum[1] += u64::from(c.g);
                        sum[2] += u64::from(c.b);
                    }
                }
            }
            let n = u64::from((x1 - x0) * (y1 - y0)).max(1);
            let [r, g, b] = sum.map(|s| (s + n / 2) / n);
            out.push_str(&format!(" #{r:02x}{g:02x}{b:02x}"));
        }
        out.push('\n');
    }
    out
}

/// Why `program` is not an image program this goal's search could have written, if it is not: the reason is
/// stored and shown in the next prompt.
fn image_form(program: &str, spec: &ImageGoalSpec, search: &ImageSearch) -> Result<Vec<Placed>, String> {
    // Guard `parse_program`'s arithmetic against absurd numbers before reading the program.
    for (index, line) in program.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        if code.split_ascii_whitespace().skip(1).any(|w| w.parse::<i64>().is_ok_and(|v| v.abs() > MAX_COORDINATE)) {
            return Err(format!("line {}: a number beyond ±{MAX_COORDINATE}", index + 1));
        }
    }
    let (background, placed) =
        gvpie_evolve::parse_program(program).map_err(|e| format!("not an image program: {e}"))?;
    let expected = search.background();
    if background != expected {
        return Err(format!(
            "its background is CLS {} {} {}; this goal's is CLS {} {} {} (the target's average colour)",
            background[0], background[1], background[2], expected[0], expected[1], expected[2]
        ));
    }
    if placed.len() > spec.shapes {
        return Err(format!("it places {} shapes; this goal allows at most {}", placed.len(), spec.shapes));
    }
    if spec.alpha != 0
        && let Some((index, p)) = placed.iter().enumerate().find(|(_, p)| p.color.a != spec.alpha)
    {
        return Err(format!(
            "shape {} has alpha {}; every COLOR of this goal has alpha {}",
            index + 1,
            p.color.a,
            spec.alpha
        ));
    }
    let excluded = |shape: &Shape| {
        matches!((spec.mode.as_str(), shape), ("tri", Shape::Rectangle(_)) | ("rect", Shape::Triangle(_)))
    };
    if let Some(index) = placed.iter().position(|p| excluded(&p.shape)) {
        return Err(format!(
            "shape {} is not a {}; this goal's mode is {}",
            index + 1,
            mode_shapes(&spec.mode),
            spec.mode
        ));
    }
    Ok(placed)
}

/// The instructions a goal's mode allows.
fn mode_shapes(mode: &str) -> &'static str {
    match mode {
        "tri" => "TRI",
        "rect" => "RECT",
        _ => "TRI or RECT",
    }
}

/// Asks the model for a better image program for `goal` and adopts it into `search` when it is better at the same
/// number of shapes or fewer (the search is then resumed from it; the caller records its program).
pub(crate) fn image_step(
    proposer: &mut Proposer,
    goal: &Goal,
    spec: &ImageGoalSpec,
    search: &mut ImageSearch,
) -> LlmTry<(String, f64)> {
    let site = format!("goal-{}", goal.id);
    let placed = search.placed().len();
    let rmse = search.rmse();
    let [r, g, b] = search.background();
    let alpha = if spec.alpha == 0 {
        "each COLOR's alpha A is yours to choose (1 to 255)".to_string()
    } else {
        format!("every COLOR has alpha A = {} exactly", spec.alpha)
    };
    let description = format!(
        "image goal {} ('{}'): a PXL program that approximates a {}x{} target image with at most {} shapes ({}), \
         drawn with alpha blending over a background. Lower RMSE (root mean square RGB difference, 0 to 1) is \
         better. The best program so far places {placed} shapes with RMSE {rmse:.6}; a proposal is kept only when \
         its RMSE is lower with at most {placed} shapes. The program must have exactly this form, nothing else \
         (no variables, labels, loops or other instructions): first `CLS {r} {g} {b}` (this exact background), \
         then shapes, each after a `COLOR R G B A` line (all four numbers; it stays in effect for the next shapes), \
         where {alpha}; shapes are `TRI x0 y0 x1 y1 x2 y2` or `RECT x y w h` (w, h >= 1) as the mode allows \
         ({}); last `HALT`. The target as a grid of average colours (cells of about {}x{} pixels):\n{}",
        goal.id,
        goal.goal,
        spec.width,
        spec.height,
        spec.shapes,
        mode_shapes(&spec.mode),
        mode_shapes(&spec.mode),
        spec.width / GRID.min(spec.width.max(1)),
        spec.height / GRID.min(spec.height.max(1)),
        colour_grid(search.target())
    );
    let parents = vec![Parent {
        label: "the best program so far".to_string(),
        source: search.program(),
        score: Some(format!("RMSE {rmse:.6} with {placed} shapes")),
        errors: Vec::new(),
    }];
    // An image program runs one instruction per line: a budget for the longest allowed one stops loops early.
    let budget = (spec.shapes as u64).saturating_mul(2).saturating_add(64);
    let vm = gvpie_pxl::Config { width: spec.width, height: spec.height, budget, ..gvpie_pxl::Config::default() };
    let proposal = match proposer.propose(&site, &description, &parents, &vm) {
        Ok(proposal) => proposal,
        Err(err) => return LlmTry::failed(proposer, goal, err),
    };
    let source = Some(proposal.source.clone());
    let shapes = match image_form(&proposal.source, spec, search) {
        Ok(shapes) => shapes,
        Err(reason) => {
            proposer.reject(&site, &format!("A proposal was rejected: {reason}."));
            return LlmTry::new(proposer, goal, "rejected", Some(reason), source);
        }
    };
    let Some(proposed_rmse) = gvpie_evolve::rmse(&proposal.run.canvas, search.target()) else {
        let reason = "it draws a canvas of another size than the target".to_string();
        return LlmTry::new(proposer, goal, "rejected", Some(reason), source);
    };
    let refused = if shapes.len() > placed {
        Some(format!(
            "it places {} shapes, more than the {placed} placed so far (RMSE {proposed_rmse:.6}); proposals are \
             compared at the same number of shapes or fewer",
            shapes.len()
        ))
    } else if proposed_rmse >= rmse {
        Some(format!("its RMSE {proposed_rmse:.6} is not below the best's {rmse:.6}"))
    } else {
        None
    };
    if let Some(reason) = refused {
        proposer.reject(&site, &format!("A proposal was run and refused: {reason}."));
        let mut step = LlmTry::new(proposer, goal, "refused", Some(reason), source).scored(proposed_rmse);
        step.evaluated = true;
        return step;
    }
    let resumed = match ImageSearch::resume(search.target().clone(), search.config().clone(), &shapes) {
        Ok(resumed) if resumed.canvas() == &proposal.run.canvas => resumed,
        Ok(_) => {
            let reason = "the search draws its shapes differently from the VM".to_string();
            return LlmTry::new(proposer, goal, "rejected", Some(reason), source);
        }
        Err(err) => return LlmTry::new(proposer, goal, "rejected", Some(err.to_string()), source),
    };
    *search = resumed;
    proposer.accepted(&site);
    let mut step = LlmTry::new(proposer, goal, "adopted", None, source).scored(proposed_rmse);
    step.note = format!("{} adopted (rmse {proposed_rmse:.6}, {} shapes)", proposer.generator_name(), shapes.len());
    step.accepted = Some((search.program(), proposed_rmse));
    step.evaluated = true;
    step
}

#[cfg(test)]
mod tests {
    use gvpie_raster::Rgba;

    use super::*;

    #[test]
    fn the_grid_averages_cells() {
        let mut target = Canvas::new(4, 2).expect("canvas");
        target.clear(Rgba::new(0, 0, 0, 255));
        target.fill_rect(0, 0, 1, 1, Rgba::new(255, 255, 255, 255));
        // 4x2 gives 4x2 cells of one pixel.
        assert_eq!(
            colour_grid(&target),
            "row 0 (y 0..0): #ffffff #000000 #000000 #000000\nrow 1 (y 1..1): #000000 #000000 #000000 #000000\n"
        );
        let mut big = Canvas::new(16, 16).expect("canvas");
        big.clear(Rgba::new(10, 20, 30, 255));
        big.fill_rect(0, 0, 1, 2, Rgba::new(210, 20, 30, 255));
        // The first 2x2 cell: two of four pixels red → (210 + 210 + 10 + 10) / 4 = 110.
        let grid = colour_grid(&big);
        assert!(grid.starts_with("row 0 (y 0..1): #6e141e #0a141e"), "{grid}");
        assert_eq!(grid.lines().count(), 8);
    }
}
