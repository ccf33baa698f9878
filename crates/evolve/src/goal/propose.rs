//! A language model's proposals inside a goal: what it is asked, and the check a proposal must pass.
//!
//! Optimize goals: the model sees the goal, the best program so far with its cycles (and the original when it
//! differs). Its program is offered to the goal's [`crate::OptimizeSearch`], which adopts it only when it draws
//! exactly the original's pixels and frames in fewer cycles than the best so far: the same check as every mutation.
//!
//! Image goals: the model sees the goal (size, shapes allowed, the fixed alpha), the target as a coarse grid of
//! average colours and the best program so far with its RMSE. Its reply must be an image program
//! ([`crate::parse_program`]) that the search could have written: the search's background, no more shapes than
//! allowed, the goal's alpha and shape kinds. It is adopted only when its exact RMSE is lower than the search's with
//! no more shapes than the search has placed, and the search then resumes from it.
//!
//! The model itself (a chat client, with its own network IO, timeouts and memory of rejections) is the caller's
//! [`ProgramProposer`]; this module only builds the request and judges the reply.

use gvpie_pxl::{Config, RunResult};
use gvpie_raster::Canvas;

use crate::{ImageSearch, Placed, Shape, ShapeKinds};

/// One program shown to the model: the best so far, the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalParent {
    /// What it is (`the best program so far`).
    pub label: String,
    /// Its source.
    pub source: String,
    /// Its score in words (`42 cycles`, `RMSE 0.1 with 3 shapes`).
    pub score: Option<String>,
}

/// What a model is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalRequest {
    /// Where the model's memory of this conversation lives (`goal-ID`).
    pub site: String,
    /// The task in words.
    pub description: String,
    /// The programs it starts from.
    pub parents: Vec<ProposalParent>,
    /// The VM configuration the proposal must run under.
    pub vm: Config,
}

/// A program the model proposed, compiled and run under the request's configuration by the proposer.
#[derive(Debug, Clone)]
pub struct ProposedProgram {
    /// Its source.
    pub source: String,
    /// What it drew.
    pub run: RunResult,
}

/// Why a model gave no program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalError {
    /// True when the model replied but its program was rejected (does not parse, does not run); false when the
    /// model could not be reached.
    pub rejected: bool,
    /// Why, in words.
    pub reason: String,
    /// The model's reply, when there was one.
    pub reply: Option<String>,
}

/// What the model is told of its proposal, for its next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    /// It was adopted.
    Accepted,
    /// It ran and was refused or rejected, with the sentence to tell the model.
    Refused(String),
}

/// A language model that proposes programs (the daemon's `gvpie_llm::Proposer`).
pub trait ProgramProposer {
    /// The generator name recorded with its programs (`llm:MODEL`).
    fn generator_name(&self) -> String;
    /// One proposal.
    fn propose(&mut self, request: &ProposalRequest) -> Result<ProposedProgram, ProposalError>;
    /// What became of the last proposal at `site`.
    fn feedback(&mut self, site: &str, feedback: Feedback);
}

/// What became of a proposal (the `llm_proposals.outcome` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalOutcome {
    /// Better: the goal goes on from it.
    Adopted,
    /// It ran and was not better.
    Refused,
    /// It was not a program of the goal's form.
    Rejected,
    /// The model could not be reached.
    Unavailable,
}

impl ProposalOutcome {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            ProposalOutcome::Adopted => "adopted",
            ProposalOutcome::Refused => "refused",
            ProposalOutcome::Rejected => "rejected",
            ProposalOutcome::Unavailable => "unavailable",
        }
    }
}

/// One proposal and what became of it, for the caller to record (every proposal is kept, whatever its outcome).
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalReport {
    /// The generator name.
    pub generator: String,
    /// What became of it.
    pub outcome: ProposalOutcome,
    /// Why, when it was not adopted.
    pub reason: Option<String>,
    /// The proposed program (or the reply that was not one).
    pub source: Option<String>,
    /// Its score when it ran (cycles or RMSE).
    pub score: Option<f64>,
    /// Whether it was evaluated (counts as a step of the goal).
    pub evaluated: bool,
    /// One line for the console.
    pub note: String,
}

impl ProposalReport {
    fn new(generator: &str, outcome: ProposalOutcome, reason: Option<String>, source: Option<String>) -> Self {
        let note = match &reason {
            Some(reason) => format!("{generator} {}: {}", outcome.name(), short(reason)),
            None => format!("{generator} {}", outcome.name()),
        };
        ProposalReport {
            generator: generator.to_string(),
            outcome,
            reason,
            source,
            score: None,
            evaluated: false,
            note,
        }
    }

    fn failed(generator: &str, err: ProposalError) -> Self {
        if err.rejected {
            ProposalReport::new(generator, ProposalOutcome::Rejected, Some(err.reason), err.reply)
        } else {
            ProposalReport::new(generator, ProposalOutcome::Unavailable, Some(err.reason), None)
        }
    }

    fn evaluated(mut self, score: f64) -> Self {
        self.score = Some(score);
        self.evaluated = true;
        self
    }
}

/// The first non-empty line, at most 160 characters: for the console.
fn short(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out: String = line.chars().take(160).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    out
}

/// Asks for a faster program with the same pixels and offers it to `search`. On adoption the report's source is
/// the program the search now holds.
pub(crate) fn optimize_proposal(
    proposer: &mut dyn ProgramProposer,
    goal_id: i64,
    goal_words: &str,
    spec: &crate::OptimizeGoalSpec,
    search: &mut crate::OptimizeSearch,
) -> (ProposalReport, Option<u64>) {
    let name = proposer.generator_name();
    let site = &format!("goal-{goal_id}");
    let best = search.source();
    let mut parents = vec![ProposalParent {
        label: "the best program so far".to_string(),
        source: best.clone(),
        score: Some(format!("{} cycles", search.cycles())),
    }];
    if best != spec.source {
        parents.push(ProposalParent {
            label: "the original".to_string(),
            source: spec.source.clone(),
            score: Some(format!("{} cycles", search.original_cycles())),
        });
    }
    let description = format!(
        "optimize goal {goal_id} ('{goal_words}', script {}): a PXL program that draws exactly the same pixels (and the \
         same FRAME frames) as the original on a {}x{} canvas, in fewer cycles than {} (the best so far). Fewer \
         executed instructions is all that counts: remove dead work, hoist invariant instructions out of loops, \
         replace loops of small draws by single shapes.",
        spec.script,
        spec.width,
        spec.height,
        search.cycles()
    );
    let request = ProposalRequest { site: site.to_string(), description, parents, vm: spec.vm() };
    let proposal = match proposer.propose(&request) {
        Ok(proposal) => proposal,
        Err(err) => return (ProposalReport::failed(&name, err), None),
    };
    match search.offer(&proposal.source) {
        Ok(cycles) => {
            proposer.feedback(site, Feedback::Accepted);
            let mut report = ProposalReport::new(&name, ProposalOutcome::Adopted, None, Some(proposal.source))
                .evaluated(cycles as f64);
            report.note = format!("{name} adopted ({cycles} cycles)");
            (report, Some(cycles))
        }
        Err(reason) => {
            proposer.feedback(site, Feedback::Refused(format!("A proposal was run and refused: {reason}.")));
            let report = ProposalReport::new(&name, ProposalOutcome::Refused, Some(reason), Some(proposal.source))
                .evaluated(proposal.run.cycles as f64);
            (report, None)
        }
    }
}

/// The target's average colours on a grid of at most this many cells a side.
const GRID: u32 = 8;

/// Coordinates beyond this are refused before an image program is read (its arithmetic stays in range).
const MAX_COORDINATE: i64 = 1 << 20;

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

/// The shapes of `program` when it is an image program this goal's search could have written.
fn image_form(program: &str, spec: &crate::ImageGoalSpec, search: &ImageSearch) -> Result<Vec<Placed>, String> {
    // Guard `parse_program`'s arithmetic against absurd numbers before reading the program.
    for (index, line) in program.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        if code.split_ascii_whitespace().skip(1).any(|w| w.parse::<i64>().is_ok_and(|v| v.abs() > MAX_COORDINATE)) {
            return Err(format!("line {}: a number beyond ±{MAX_COORDINATE}", index + 1));
        }
    }
    let (background, placed) = crate::parse_program(program).map_err(|e| format!("not an image program: {e}"))?;
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
        matches!(
            (spec.mode, shape),
            (ShapeKinds::Triangles, Shape::Rectangle(_)) | (ShapeKinds::Rectangles, Shape::Triangle(_))
        )
    };
    if let Some(index) = placed.iter().position(|p| excluded(&p.shape)) {
        return Err(format!(
            "shape {} is not a {}; this goal's mode is {}",
            index + 1,
            mode_shapes(spec.mode),
            spec.mode
        ));
    }
    Ok(placed)
}

fn mode_shapes(mode: ShapeKinds) -> &'static str {
    match mode {
        ShapeKinds::Triangles => "TRI",
        ShapeKinds::Rectangles => "RECT",
        _ => "TRI or RECT",
    }
}

/// Asks for a better image program; on adoption `search` resumes from it and the RMSE is returned.
pub(crate) fn image_proposal(
    proposer: &mut dyn ProgramProposer,
    goal_id: i64,
    goal_words: &str,
    spec: &crate::ImageGoalSpec,
    search: &mut ImageSearch,
) -> (ProposalReport, Option<f64>) {
    let name = proposer.generator_name();
    let site = &format!("goal-{goal_id}");
    let placed = search.placed().len();
    let rmse = search.rmse();
    let [r, g, b] = search.background();
    let alpha = if spec.alpha == 0 {
        "each COLOR's alpha A is yours to choose (1 to 255)".to_string()
    } else {
        format!("every COLOR has alpha A = {} exactly", spec.alpha)
    };
    let description = format!(
        "image goal {goal_id} ('{goal_words}'): a PXL program that approximates a {}x{} target image with at most {} \
         shapes ({}), drawn with alpha blending over a background. Lower RMSE (root mean square RGB difference, 0 to \
         1) is better. The best program so far places {placed} shapes with RMSE {rmse:.6}; a proposal is kept only \
         when its RMSE is lower with at most {placed} shapes. The program must have exactly this form, nothing else \
         (no variables, labels, loops or other instructions): first `CLS {r} {g} {b}` (this exact background), \
         then shapes, each after a `COLOR R G B A` line (all four numbers; it stays in effect for the next shapes), \
         where {alpha}; shapes are `TRI x0 y0 x1 y1 x2 y2` or `RECT x y w h` (w, h >= 1) as the mode allows \
         ({}); last `HALT`. The target as a grid of average colours (cells of about {}x{} pixels):\n{}",
        spec.width,
        spec.height,
        spec.shapes,
        mode_shapes(spec.mode),
        mode_shapes(spec.mode),
        spec.width / GRID.min(spec.width.max(1)),
        spec.height / GRID.min(spec.height.max(1)),
        colour_grid(search.target())
    );
    let parents = vec![ProposalParent {
        label: "the best program so far".to_string(),
        source: search.program(),
        score: Some(format!("RMSE {rmse:.6} with {placed} shapes")),
    }];
    // An image program runs one instruction per line: a budget for the longest allowed one stops loops early.
    let budget = (spec.shapes as u64).saturating_mul(2).saturating_add(64);
    let vm = Config { width: spec.width, height: spec.height, budget, ..Config::default() };
    let request = ProposalRequest { site: site.to_string(), description, parents, vm };
    let proposal = match proposer.propose(&request) {
        Ok(proposal) => proposal,
        Err(err) => return (ProposalReport::failed(&name, err), None),
    };
    let source = Some(proposal.source.clone());
    let rejected =
        |reason: String| (ProposalReport::new(&name, ProposalOutcome::Rejected, Some(reason), source.clone()), None);
    let shapes = match image_form(&proposal.source, spec, search) {
        Ok(shapes) => shapes,
        Err(reason) => {
            proposer.feedback(site, Feedback::Refused(format!("A proposal was rejected: {reason}.")));
            return rejected(reason);
        }
    };
    let Some(proposed_rmse) = crate::rmse(&proposal.run.canvas, search.target()) else {
        return rejected("it draws a canvas of another size than the target".to_string());
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
        proposer.feedback(site, Feedback::Refused(format!("A proposal was run and refused: {reason}.")));
        let report =
            ProposalReport::new(&name, ProposalOutcome::Refused, Some(reason), source.clone()).evaluated(proposed_rmse);
        return (report, None);
    }
    let resumed = match ImageSearch::resume(search.target().clone(), search.config().clone(), &shapes) {
        Ok(resumed) if resumed.canvas() == &proposal.run.canvas => resumed,
        Ok(_) => return rejected("the search draws its shapes differently from the VM".to_string()),
        Err(err) => return rejected(err.to_string()),
    };
    *search = resumed;
    proposer.feedback(site, Feedback::Accepted);
    let mut report =
        ProposalReport::new(&name, ProposalOutcome::Adopted, None, source.clone()).evaluated(proposed_rmse);
    report.note = format!("{name} adopted (rmse {proposed_rmse:.6}, {} shapes)", shapes.len());
    (report, Some(proposed_rmse))
}

#[cfg(test)]
mod tests {
    use gvpie_raster::Rgba;

    use super::*;

    #[test]
    fn the_grid_averages_cells() {
        let mut target = Canvas::new(4, 2).unwrap_or_else(|e| panic!("{e}"));
        target.clear(Rgba::new(0, 0, 0, 255));
        target.fill_rect(0, 0, 1, 1, Rgba::new(255, 255, 255, 255));
        // 4x2 gives 4x2 cells of one pixel.
        assert_eq!(
            colour_grid(&target),
            "row 0 (y 0..0): #ffffff #000000 #000000 #000000\nrow 1 (y 1..1): #000000 #000000 #000000 #000000\n"
        );
        let mut big = Canvas::new(16, 16).unwrap_or_else(|e| panic!("{e}"));
        big.clear(Rgba::new(10, 20, 30, 255));
        big.fill_rect(0, 0, 1, 2, Rgba::new(210, 20, 30, 255));
        // The first 2x2 cell: two of four pixels red → (210 + 210 + 10 + 10) / 4 = 110.
        let grid = colour_grid(&big);
        assert!(grid.starts_with("row 0 (y 0..1): #6e141e #0a141e"), "{grid}");
        assert_eq!(grid.lines().count(), 8);
    }
}
