//! Typed goal specs: the one definition of a goal's parameters, stop rules and progress, shared by the CLI, the
//! server, the daemon and the `development_goals.spec` column (as JSON).
//!
//! Every enumerated setting (shape mode, strategy, effort preset, backend choice) is one type with `serde`
//! and `FromStr`, so a value is spelled and refused the same way on every surface. The JSON of a spec is the
//! format stored in databases: fields are only ever added, with defaults, so older goals keep resuming.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{CascadeEffort, Effort, Evolution, ImageGoalConfig, OptimizeCheckpoint, ShapeKinds, Strategy};

/// Writes `expected a, b or c` for an error message.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Implements `FromStr` (case-insensitive, with a message naming the expected values), `Display` and serde (as the
/// lowercase name) for a plain enum.
macro_rules! named_enum {
    ($type:ty, $what:literal, [$($variant:path => $name:literal),+ $(,)?]) => {
        impl $type {
            /// Every accepted name, in order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name used in JSON, flags and messages.
            pub fn name(self) -> &'static str {
                match self {
                    $($variant => $name,)+
                }
            }
        }

        impl FromStr for $type {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                match text.to_ascii_lowercase().as_str() {
                    $($name => Ok($variant),)+
                    _ => Err(format!("unknown {} '{text}' (expected {})", $what, one_of(Self::NAMES))),
                }
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum!(ShapeKinds, "shape mode", [ShapeKinds::Triangles => "tri", ShapeKinds::Rectangles => "rect", ShapeKinds::Both => "both"]);
named_enum!(Strategy, "strategy", [Strategy::Fast => "fast", Strategy::Cascade => "cascade", Strategy::Plain => "plain"]);

/// The cascade's effort preset: sized for a CPU scorer or for a GPU's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EffortPreset {
    /// [`CascadeEffort::DEFAULT`].
    Cpu,
    /// [`CascadeEffort::GPU`].
    Gpu,
}

named_enum!(EffortPreset, "effort", [EffortPreset::Cpu => "cpu", EffortPreset::Gpu => "gpu"]);

impl EffortPreset {
    /// The cascade effort of this preset.
    pub fn cascade(self) -> CascadeEffort {
        match self {
            EffortPreset::Cpu => CascadeEffort::DEFAULT,
            EffortPreset::Gpu => CascadeEffort::GPU,
        }
    }
}

/// Which backend a caller asks for. The engine (`gvpie-exec`) owns the rule that resolves `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BackendChoice {
    /// The CPU reference VM.
    Cpu,
    /// The GPU backend; an error when no adapter exists.
    Gpu,
    /// The GPU when present and the work is large enough to profit, else the CPU.
    #[default]
    Auto,
}

named_enum!(BackendChoice, "backend", [BackendChoice::Cpu => "cpu", BackendChoice::Gpu => "gpu", BackendChoice::Auto => "auto"]);

/// The kinds of goal the engine works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GoalKind {
    /// Approximate a target picture with shapes ([`ImageGoalSpec`]).
    Image,
    /// Same pixels in fewer cycles ([`OptimizeGoalSpec`]).
    Optimize,
    /// New kinds of pictures ([`super::ExploreGoalSpec`]).
    Explore,
}

named_enum!(GoalKind, "goal kind", [GoalKind::Image => "image", GoalKind::Optimize => "optimize", GoalKind::Explore => "explore"]);

/// The budget and stop rules of a goal; a missing field is no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StopRules {
    /// Seconds of search, over all slices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Candidates evaluated, over all slices (image: shapes scored; optimize: edited programs run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<u64>,
    /// Done once the score is at most this (lower is better: RMSE, or cycles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_score: Option<f64>,
    /// Done after this many steps in a row without a better score (image: shapes; optimize: candidates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patience: Option<u64>,
}

impl StopRules {
    /// Refuses values no goal can use, naming the field.
    pub fn check(&self) -> Result<(), String> {
        if let Some(seconds) = self.seconds
            && !(seconds.is_finite() && seconds > 0.0)
        {
            return Err(format!("seconds {seconds} must be more than 0"));
        }
        if let Some(score) = self.target_score
            && !score.is_finite()
        {
            return Err("target_score must be a finite number".to_string());
        }
        Ok(())
    }

    /// `Some(reason)` when a goal with this progress and best score is done.
    pub fn stop_reason(&self, progress: &GoalProgress, score: f64) -> Option<String> {
        if let Some(target) = self.target_score
            && score <= target
        {
            return Some(format!("target score {target} reached ({score:.6})"));
        }
        if let Some(evaluations) = self.evaluations
            && progress.evaluations >= evaluations
        {
            return Some(format!("evaluation budget {evaluations} spent"));
        }
        if let Some(seconds) = self.seconds
            && progress.seconds >= seconds
        {
            return Some(format!("time budget {seconds}s spent"));
        }
        if let Some(patience) = self.patience
            && progress.stale_steps >= patience
        {
            return Some(format!("no improvement in {patience} steps (patience)"));
        }
        None
    }
}

/// How far a goal got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoalProgress {
    /// Steps taken (image: shapes placed; optimize: candidates evaluated).
    pub steps: u64,
    /// Candidates evaluated.
    pub evaluations: u64,
    /// Seconds of search.
    pub seconds: f64,
    /// Steps in a row without a better score.
    pub stale_steps: u64,
    /// Kept candidates recorded.
    pub kept: u64,
    /// Why the goal is done, once it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

/// What every new goal has besides its kind's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalOptions {
    /// The goal in words; a default naming the goal's parameters when `None`.
    pub name: Option<String>,
    /// Priority (the seed's default is 5).
    pub priority: i64,
    /// The search's seed.
    pub seed: u64,
    /// Budget and stop rules.
    pub stop: StopRules,
}

impl Default for GoalOptions {
    fn default() -> GoalOptions {
        GoalOptions { name: None, priority: 5, seed: 1, stop: StopRules::default() }
    }
}

impl GoalOptions {
    /// Refuses an empty name and unusable stop rules.
    pub fn check(&self) -> Result<(), String> {
        self.stop.check()?;
        if self.name.as_deref().is_some_and(|name| name.trim().is_empty()) {
            return Err("name cannot be empty".to_string());
        }
        Ok(())
    }
}

/// A goal ready to be stored: its words, priority, kind and spec (JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct GoalDraft {
    /// The goal in words.
    pub goal: String,
    /// Priority.
    pub priority: i64,
    /// Its kind.
    pub kind: GoalKind,
    /// The spec, as stored in `development_goals.spec`.
    pub spec: serde_json::Value,
}

fn one() -> u64 {
    1
}
fn one_usize() -> usize {
    1
}
fn triangles() -> ShapeKinds {
    ShapeKinds::Triangles
}
fn half() -> u8 {
    128
}
fn default_width() -> u32 {
    128
}
fn default_height() -> u32 {
    64
}
fn default_budget() -> u64 {
    gvpie_pxl::DEFAULT_BUDGET
}

/// An image goal's parameters, as a caller gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageGoalParams {
    /// Shapes to place.
    pub shapes: usize,
    /// Which shapes.
    pub mode: ShapeKinds,
    /// Alpha of every shape (0: solved per shape).
    pub alpha: u8,
    /// Threads per step (the result does not depend on it).
    pub threads: usize,
    /// The search strategy.
    pub strategy: Strategy,
    /// The cascade's effort preset; `None`: the preset of the scorer that runs it.
    pub effort: Option<EffortPreset>,
}

impl Default for ImageGoalParams {
    fn default() -> ImageGoalParams {
        ImageGoalParams {
            shapes: 100,
            mode: ShapeKinds::Triangles,
            // Solved per shape: the better picture at a given shape count, on the GPU's scorer as on the CPU's.
            alpha: 0,
            threads: 1,
            strategy: Strategy::Cascade,
            effort: None,
        }
    }
}

impl ImageGoalParams {
    /// Refuses parameters no search can use.
    pub fn check(&self) -> Result<(), String> {
        if self.effort.is_some() && self.strategy != Strategy::Cascade {
            return Err(format!("effort applies to the cascade only, not to strategy '{}'", self.strategy));
        }
        if self.shapes == 0 {
            return Err("shapes must be at least 1".to_string());
        }
        Ok(())
    }
}

/// An image goal's spec (`development_goals.spec` with `kind = 'image'`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageGoalSpec {
    /// The target: the hash of a PNG in the `images` table.
    pub target: String,
    /// The target's width (the program's canvas).
    pub width: u32,
    /// Its height.
    pub height: u32,
    /// Shapes to place.
    pub shapes: usize,
    /// The search's seed.
    #[serde(default = "one")]
    pub seed: u64,
    /// `tri`, `rect` or `both`.
    #[serde(default = "triangles")]
    pub mode: ShapeKinds,
    /// Alpha of every shape (0: solved per shape).
    #[serde(default = "half")]
    pub alpha: u8,
    /// Restarts per shape (default: gvpie evolve's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    /// Random shapes tried per restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_tries: Option<u32>,
    /// Failed mutations in a row that end a climb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<u32>,
    /// Threads per step (the result does not depend on it).
    #[serde(default = "one_usize")]
    pub threads: usize,
    /// `fast`, `cascade` or `plain`. Goals stored before the cascade have none and go on as `fast`, so that a
    /// resumed goal continues exactly where it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// The cascade's effort preset, `cpu` or `gpu`; none: the preset of the scorer that runs it (so a goal
    /// resumed on another machine may search differently unless it is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<EffortPreset>,
    /// Budget and stop rules (stored under the seed-era name `budget`).
    #[serde(default, rename = "budget")]
    pub stop: StopRules,
    /// Progress so far.
    #[serde(default)]
    pub progress: GoalProgress,
    /// Differentiable refinement between shapes and at the end (generator `image:refine`); none: never. Goals
    /// stored before it existed have none, so a resumed goal continues exactly where it stopped, and so do new
    /// goals unless their spec asks for it (`"refine": {}` is [`ImageRefine::default`]); `gvpie evolve` refines
    /// unless `--no-refine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refine: Option<ImageRefine>,
}

fn zero_u32() -> u32 {
    0
}

/// How an image goal refines its program with gradients (`docs/refine.md`): every `every` shapes the session's
/// bandit may choose a refinement of `steps` Adam steps instead of a shape, and once every shape is placed one
/// final refinement of `final_steps` Adam steps runs before the goal is done. Every refinement polishes its
/// rounded numbers with at most `sweeps` sweeps of coordinate descent and `moves` random moves per shape, each
/// scored exactly (`crate::polish_stack`), and is kept only when it lowers the RMSE; the final one then regrows up
/// to `regrow` of the least useful shapes. The budget is in steps, not seconds, so a goal gives the same program on every machine and
/// after any restart: like a shape, a refinement is one step that a slice's end does not cut (a goal's own time
/// budget does). Refinement keeps the background (`CLS`) and a fixed alpha, so the search continues from the
/// refined shapes exactly as from its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageRefine {
    /// Shapes between two refinements (0: only the final one).
    pub every: u64,
    /// Adam steps of a refinement between shapes.
    pub steps: usize,
    /// Adam steps of the final refinement.
    pub final_steps: usize,
    /// The most coordinate-descent sweeps of a refinement's polish between shapes.
    pub sweeps: usize,
    /// The most coordinate-descent sweeps of the final refinement's polish.
    pub final_sweeps: usize,
    /// The gradient steps work on the target reduced to at most this many pixels (the polish is at full size).
    pub soft_pixels: u32,
    /// With a time budget (`--seconds`): the share of it kept for the final refinement.
    pub final_share: f64,
    /// Random moves of a vertex or corner tried per shape in each polish sweep (after its coordinate descent).
    /// Specs stored before moves existed have none.
    #[serde(default = "zero_u32")]
    pub moves: u32,
    /// After the final refinement: how many times the least useful shape is taken out and a new one searched on
    /// top (kept when the picture gets better). Specs stored before regrowth existed have none.
    #[serde(default = "zero_u32")]
    pub regrow: u32,
    /// Run each refinement between shapes beside the search when its gradients leave the CPU free (a GPU's
    /// renderer): its gradient steps start on a thread of their own on the shapes placed so far, the search goes
    /// on placing shapes meanwhile, and at the next decision the refined shapes go under the ones placed since
    /// (kept when the picture gets better). The same seed gives the same program, whatever the timing; but a
    /// slice that ends in between merges early, so goals resumed slice by slice (the daemon's) leave it off.
    /// Specs stored before it existed have it off.
    #[serde(default)]
    pub overlap: bool,
    /// Where the refinements are (part of the goal's checkpoint).
    pub state: RefineState,
}

impl Default for ImageRefine {
    fn default() -> ImageRefine {
        ImageRefine {
            every: 10,
            steps: 30,
            final_steps: 150,
            sweeps: 0,
            final_sweeps: 4,
            soft_pixels: 16_384,
            final_share: 0.5,
            moves: 40,
            regrow: 20,
            overlap: false,
            state: RefineState::default(),
        }
    }
}

impl ImageRefine {
    /// Refuses settings no refinement can use.
    pub fn check(&self) -> Result<(), String> {
        if !(self.final_share.is_finite() && (0.0..1.0).contains(&self.final_share)) {
            return Err(format!("refine final_share {} must be at least 0 and less than 1", self.final_share));
        }
        Ok(())
    }
}

/// The refinement state of an image goal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefineState {
    /// Shapes placed at the last refinement (none yet: `None`).
    pub at_shapes: Option<usize>,
    /// The RMSE just after it (or after the goal's first shape when none has run).
    pub rmse: Option<f64>,
    /// Whether the final refinement (every shape placed) has run.
    pub final_done: bool,
    /// The bandit's statistics: tries and wins of `image:shape` where a refinement could have run instead.
    pub shape_arm: [u64; 2],
    /// Tries and wins of `image:refine` (a win: it gained at least as much as one of the shapes before it).
    pub refine_arm: [u64; 2],
}

impl ImageGoalSpec {
    /// Shapes in a row without a better RMSE before a goal is done, unless the caller sets its own patience.
    pub const DEFAULT_PATIENCE: u64 = 20;

    /// A new goal's spec for a target of `width`×`height` stored under `target_hash` (hex).
    pub fn new(
        target_hash: String,
        width: u32,
        height: u32,
        params: &ImageGoalParams,
        options: &GoalOptions,
    ) -> Result<ImageGoalSpec, String> {
        params.check()?;
        options.check()?;
        Ok(ImageGoalSpec {
            target: target_hash,
            width,
            height,
            shapes: params.shapes,
            seed: options.seed,
            mode: params.mode,
            alpha: params.alpha,
            restarts: None,
            random_tries: None,
            max_failures: None,
            threads: params.threads.max(1),
            strategy: Some(params.strategy),
            effort: params.effort,
            // Every goal stops on its own: after its patience, or at the known optimum (the exact picture).
            stop: StopRules {
                patience: options.stop.patience.or(Some(Self::DEFAULT_PATIENCE)),
                target_score: options.stop.target_score.or(Some(0.0)),
                ..options.stop.clone()
            },
            progress: GoalProgress::default(),
            refine: None,
        })
    }

    /// The draft of a new goal with this spec; `label` names the target in the default description.
    pub fn draft(&self, label: &str, options: &GoalOptions) -> GoalDraft {
        GoalDraft {
            goal: options.name.clone().unwrap_or_else(|| format!("approximate {label} with {} shapes", self.shapes)),
            priority: options.priority,
            kind: GoalKind::Image,
            spec: serde_json::to_value(self).unwrap_or_default(),
        }
    }

    /// The strategy the search runs: a goal stored before the field existed goes on as `fast`.
    pub fn strategy(&self) -> Strategy {
        self.strategy.unwrap_or(Strategy::Fast)
    }

    /// The search's settings; `scored_on_gpu` picks the effort preset when the spec names none.
    pub fn search_config(&self, scored_on_gpu: bool) -> ImageGoalConfig {
        let preset = self.effort.unwrap_or(if scored_on_gpu { EffortPreset::Gpu } else { EffortPreset::Cpu });
        ImageGoalConfig {
            n_shapes: self.shapes,
            kinds: self.mode,
            alpha: self.alpha,
            seed: self.seed,
            n_threads: self.threads.max(1),
            effort: Effort {
                restarts: self.restarts.unwrap_or(Effort::DEFAULT.restarts),
                random_tries: self.random_tries.unwrap_or(Effort::DEFAULT.random_tries),
                max_failures: self.max_failures.unwrap_or(Effort::DEFAULT.max_failures),
                polish: Effort::DEFAULT.polish,
            },
            strategy: self.strategy(),
            cascade: preset.cascade(),
            ..ImageGoalConfig::default()
        }
    }
}

/// An optimize goal's parameters, as a caller gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizeGoalParams {
    /// The script's name.
    pub script: String,
    /// Canvas width the pixels are compared at.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Cycle budget of the original.
    pub cycle_budget: u64,
}

/// An optimize goal's spec (`kind = 'optimize'`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizeGoalSpec {
    /// The script optimized (by name; the original is copied into `source`).
    pub script: String,
    /// The original program, as it was when the goal was added.
    pub source: String,
    /// Canvas width the pixels are compared at.
    #[serde(default = "default_width")]
    pub width: u32,
    /// Canvas height.
    #[serde(default = "default_height")]
    pub height: u32,
    /// Cycle budget of the original.
    #[serde(default = "default_budget")]
    pub cycle_budget: u64,
    /// The edits' seed.
    #[serde(default = "one")]
    pub seed: u64,
    /// The program-database search run beside the line edits.
    #[serde(default)]
    pub evolve: EvolveSettings,
    /// Budget and stop rules (stored under the seed-era name `budget`).
    #[serde(default, rename = "budget")]
    pub stop: StopRules,
    /// Progress so far.
    #[serde(default)]
    pub progress: GoalProgress,
    /// The search's checkpoint after the last committed slice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SavedOptimize>,
}

impl OptimizeGoalSpec {
    /// Candidates in a row without fewer cycles before a goal is done, unless the caller sets its own patience.
    pub const DEFAULT_PATIENCE: u64 = 20_000;

    /// A new goal's spec for the script `params.script` whose program is `source`. The original must run: it is
    /// the reference every candidate is compared with.
    pub fn new(source: String, params: &OptimizeGoalParams, options: &GoalOptions) -> Result<OptimizeGoalSpec, String> {
        options.check()?;
        let max = gvpie_raster::MAX_SIDE;
        let (width, height) = (params.width, params.height);
        if width == 0 || height == 0 || width > max || height > max {
            return Err(format!("size {width}x{height} is out of range (1x1 to {max}x{max})"));
        }
        let mut spec = OptimizeGoalSpec {
            script: params.script.clone(),
            source,
            width,
            height,
            cycle_budget: params.cycle_budget,
            seed: options.seed,
            evolve: EvolveSettings::default(),
            stop: options.stop.clone(),
            progress: GoalProgress::default(),
            state: None,
        };
        let search = crate::OptimizeSearch::new(&spec.source, spec.search_config())
            .map_err(|e| format!("{}: {e}", params.script))?;
        // Every goal stops on its own: after its patience, or at the known optimum (no program is shorter).
        spec.stop.patience = spec.stop.patience.or(Some(Self::DEFAULT_PATIENCE));
        spec.stop.target_score = spec.stop.target_score.or(Some(search.known_optimum() as f64));
        Ok(spec)
    }

    /// The draft of a new goal with this spec.
    pub fn draft(&self, options: &GoalOptions) -> GoalDraft {
        GoalDraft {
            goal: options.name.clone().unwrap_or_else(|| format!("{} in fewer cycles", self.script)),
            priority: options.priority,
            kind: GoalKind::Optimize,
            spec: serde_json::to_value(self).unwrap_or_default(),
        }
    }

    /// The VM configuration the original and every candidate run under.
    pub fn vm(&self) -> gvpie_pxl::Config {
        gvpie_pxl::Config {
            width: self.width,
            height: self.height,
            budget: self.cycle_budget,
            ..gvpie_pxl::Config::default()
        }
    }

    /// The line-edit search's settings.
    pub fn search_config(&self) -> crate::OptimizeConfig {
        crate::OptimizeConfig { vm: self.vm(), seed: self.seed }
    }
}

/// How an optimize goal uses the program database ([`Evolution`]): every `every`-th step of the goal is one
/// generation of `children` structural mutations and crossovers over `islands` islands and the MAP-Elites archive,
/// evaluated as one batch; the other steps are line edits ([`crate::OptimizeSearch`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvolveSettings {
    /// A generation every this many steps (0: never; 1: every step).
    pub every: u64,
    /// Children per generation (the batch size).
    pub children: usize,
    /// Islands of the database.
    pub islands: usize,
}

impl Default for EvolveSettings {
    fn default() -> EvolveSettings {
        EvolveSettings { every: 8, children: 16, islands: 4 }
    }
}

impl EvolveSettings {
    /// Line edits only (no program database).
    pub fn off() -> EvolveSettings {
        EvolveSettings { every: 0, ..EvolveSettings::default() }
    }
}

/// [`OptimizeCheckpoint`] as JSON, with the program database's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedOptimize {
    /// The best program.
    pub source: String,
    /// Its cycles.
    pub cycles: u64,
    /// Candidates evaluated.
    pub evaluations: u64,
    /// The deletion sweep's next line.
    pub sweep: Option<usize>,
    /// The random state.
    pub rng: [u64; 4],
    /// (tries, improvements) per edit kind.
    pub arms: Vec<(u64, u64)>,
    /// The program database's search (islands, archive, operator bandit, random state), once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evolution: Option<Evolution>,
}

impl SavedOptimize {
    pub(crate) fn from_checkpoint(checkpoint: &OptimizeCheckpoint, evolution: Option<Evolution>) -> SavedOptimize {
        SavedOptimize {
            source: checkpoint.source.clone(),
            cycles: checkpoint.cycles,
            evaluations: checkpoint.n_evaluations,
            sweep: checkpoint.sweep,
            rng: checkpoint.rng,
            arms: checkpoint.arms.iter().map(|a| (a.tries, a.successes)).collect(),
            evolution,
        }
    }

    pub(crate) fn to_checkpoint(&self) -> OptimizeCheckpoint {
        OptimizeCheckpoint {
            source: self.source.clone(),
            cycles: self.cycles,
            n_evaluations: self.evaluations,
            sweep: self.sweep,
            rng: self.rng,
            arms: self.arms.iter().map(|&(tries, successes)| crate::ArmStats { tries, successes }).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case_and_refuse_with_the_expected_values() {
        assert_eq!("GPU".parse::<BackendChoice>(), Ok(BackendChoice::Gpu));
        assert_eq!("Rect".parse::<ShapeKinds>(), Ok(ShapeKinds::Rectangles));
        assert_eq!(
            "square".parse::<ShapeKinds>(),
            Err("unknown shape mode 'square' (expected tri, rect or both)".to_string())
        );
        assert_eq!("x".parse::<EffortPreset>(), Err("unknown effort 'x' (expected cpu or gpu)".to_string()));
    }

    #[test]
    fn a_stored_spec_of_the_old_shape_still_reads_and_writes_the_same_keys() {
        let stored = serde_json::json!({
            "target": "ab", "width": 4, "height": 3, "shapes": 2, "mode": "rect", "strategy": "cascade",
            "effort": "gpu", "budget": {"patience": 3}, "progress": {"steps": 1}
        });
        let spec: ImageGoalSpec =
            serde_json::from_value(stored).map_err(|e| e.to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.mode, ShapeKinds::Rectangles);
        assert_eq!(spec.strategy, Some(Strategy::Cascade));
        assert_eq!(spec.stop.patience, Some(3));
        let written = serde_json::to_value(&spec).unwrap_or_default();
        assert_eq!(written["mode"], "rect");
        assert_eq!(written["effort"], "gpu");
        assert_eq!(written["budget"]["patience"], 3);
    }
}
