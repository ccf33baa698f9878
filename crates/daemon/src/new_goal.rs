//! Building a new image or optimize goal from a caller's input: the checks, the spec and the
//! row, shared by `gvpie goals add` and the API's `POST /api/goals` so both add exactly the
//! same goals and refuse exactly the same input.
//!
//! Nothing here reads files: an image goal's target arrives as a canvas (the caller decoded
//! and, if it wished, resized it) and is stored as a PNG in the `images` table.

use gvpie_raster::Canvas;
use gvpie_store::{Goal, NewGoal, NewImage, Store, StoreError};

use crate::goals::{GoalBudget, GoalProgress, ImageGoalSpec, OptimizeGoalSpec};

/// Why a goal could not be added.
#[derive(Debug)]
pub enum NewGoalError {
    /// The caller's input makes no sense (a bad number, an unknown mode or script...).
    Invalid(String),
    /// The database failed.
    Store(StoreError),
}

impl std::fmt::Display for NewGoalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NewGoalError::Invalid(message) => f.write_str(message),
            NewGoalError::Store(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for NewGoalError {}

impl From<StoreError> for NewGoalError {
    fn from(err: StoreError) -> NewGoalError {
        match err {
            StoreError::Invalid(message) => NewGoalError::Invalid(message),
            other => NewGoalError::Store(other),
        }
    }
}

fn invalid(message: impl Into<String>) -> NewGoalError {
    NewGoalError::Invalid(message.into())
}

/// What every kind of goal takes: a name, a priority, a seed, a budget and stop rules.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalOptions {
    /// The goal's description; a default that says what it asks for when `None`.
    pub name: Option<String>,
    /// Priority (higher runs first).
    pub priority: i64,
    /// Seed of the search.
    pub seed: u64,
    /// Budget and stop rules.
    pub budget: GoalBudget,
}

impl Default for GoalOptions {
    fn default() -> GoalOptions {
        GoalOptions { name: None, priority: 5, seed: 1, budget: GoalBudget::default() }
    }
}

impl GoalOptions {
    /// Checks the numbers: seconds above 0, a finite target score, a non-empty name.
    pub fn check(&self) -> Result<(), NewGoalError> {
        if let Some(seconds) = self.budget.seconds
            && !(seconds.is_finite() && seconds > 0.0)
        {
            return Err(invalid(format!("seconds {seconds} must be more than 0")));
        }
        if let Some(score) = self.budget.target_score
            && !score.is_finite()
        {
            return Err(invalid("target_score must be a finite number"));
        }
        if self.name.as_deref().is_some_and(|name| name.trim().is_empty()) {
            return Err(invalid("name cannot be empty"));
        }
        Ok(())
    }
}

/// An image goal's parameters besides its target.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageGoalParams {
    /// Shapes to place (at least 1).
    pub shapes: usize,
    /// `tri`, `rect` or `both`.
    pub mode: String,
    /// Alpha of every shape (1 to 255), or 0 to solve it per shape.
    pub alpha: u8,
    /// Threads per step (the result does not depend on it); 0 counts as 1.
    pub threads: usize,
    /// `cascade` (new goals' default), `fast` or `plain`.
    pub strategy: String,
    /// The cascade's effort preset, `cpu` or `gpu`; `None`: the preset of the scorer the daemon has.
    pub effort: Option<String>,
}

impl Default for ImageGoalParams {
    fn default() -> ImageGoalParams {
        ImageGoalParams {
            shapes: 100,
            mode: "tri".to_string(),
            alpha: 128,
            threads: 1,
            strategy: "cascade".to_string(),
            effort: None,
        }
    }
}

impl ImageGoalParams {
    /// Checks the mode, the strategy, the effort and the shape count.
    pub fn check(&self) -> Result<(), NewGoalError> {
        if !["tri", "rect", "both"].contains(&self.mode.as_str()) {
            return Err(invalid(format!("mode '{}': expected tri, rect or both", self.mode)));
        }
        if !["fast", "cascade", "plain"].contains(&self.strategy.as_str()) {
            return Err(invalid(format!("strategy '{}': expected fast, cascade or plain", self.strategy)));
        }
        match self.effort.as_deref() {
            None => {}
            Some("cpu" | "gpu") if self.strategy == "cascade" => {}
            Some("cpu" | "gpu") => {
                return Err(invalid(format!(
                    "effort applies to the cascade only, not to strategy '{}'",
                    self.strategy
                )));
            }
            Some(other) => return Err(invalid(format!("effort '{other}': expected cpu or gpu"))),
        }
        if self.shapes == 0 {
            return Err(invalid("shapes must be at least 1"));
        }
        Ok(())
    }
}

/// Adds an image goal: `target` (already at the size the program will draw) is stored as a PNG
/// and the goal's spec names it by hash. `label` names the target in the default description
/// ("approximate LABEL with N shapes").
pub fn add_image_goal(
    store: &mut Store,
    target: &Canvas,
    label: &str,
    params: &ImageGoalParams,
    options: &GoalOptions,
) -> Result<Goal, NewGoalError> {
    params.check()?;
    options.check()?;
    let (width, height) = (target.width(), target.height());
    let hash = gvpie_store::image_hash(width, height, &target.to_rgba8());
    store.put_image(&NewImage { hash, width, height, png: Some(gvpie_cart::encode_png(target, 1)) })?;
    let spec = ImageGoalSpec {
        target: hash.to_hex(),
        width,
        height,
        shapes: params.shapes,
        seed: options.seed,
        mode: params.mode.clone(),
        alpha: params.alpha,
        restarts: None,
        random_tries: None,
        max_failures: None,
        threads: params.threads.max(1),
        strategy: Some(params.strategy.clone()),
        effort: params.effort.clone(),
        budget: options.budget.clone(),
        progress: GoalProgress::default(),
    };
    let name = options.name.clone().unwrap_or_else(|| format!("approximate {label} with {} shapes", params.shapes));
    create(store, name, options.priority, "image", serde_json::to_value(&spec))
}

/// An optimize goal's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizeGoalParams {
    /// The script's name (a pixel script of `improvement_scripts`).
    pub script: String,
    /// Canvas width the pixels are compared at.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Cycle budget of the original.
    pub cycle_budget: u64,
}

/// Adds an optimize goal: the script's program is copied into the spec, after checking that it
/// compiles and halts within `cycle_budget` on the canvas (what the engine could never start is
/// refused now).
pub fn add_optimize_goal(
    store: &Store,
    params: &OptimizeGoalParams,
    options: &GoalOptions,
) -> Result<Goal, NewGoalError> {
    options.check()?;
    let max = gvpie_raster::MAX_SIDE;
    let (width, height) = (params.width, params.height);
    if width == 0 || height == 0 || width > max || height > max {
        return Err(invalid(format!("size {width}x{height} is out of range (1x1 to {max}x{max})")));
    }
    let name = &params.script;
    let script = store.script_by_name(name)?.ok_or_else(|| invalid(format!("no script named '{name}'")))?;
    if script.lang != "pixel" {
        return Err(invalid(format!("'{name}' is a {} script; only pixel scripts", script.lang)));
    }
    let source = script.code.clone().unwrap_or_default();
    let vm = gvpie_pxl::Config { width, height, budget: params.cycle_budget, max_frames: 0 };
    gvpie_evolve::OptimizeSearch::new(&source, gvpie_evolve::OptimizeConfig { vm, seed: options.seed })
        .map_err(|e| invalid(format!("{name}: {e}")))?;
    let spec = OptimizeGoalSpec {
        script: name.clone(),
        source,
        width,
        height,
        cycle_budget: params.cycle_budget,
        seed: options.seed,
        evolve: crate::goals::EvolveSettings::default(),
        budget: options.budget.clone(),
        progress: GoalProgress::default(),
        state: None,
    };
    let description = options.name.clone().unwrap_or_else(|| format!("{name} in fewer cycles"));
    create(store, description, options.priority, "optimize", serde_json::to_value(&spec))
}

fn create(
    store: &Store,
    goal: String,
    priority: i64,
    kind: &str,
    spec: serde_json::Result<serde_json::Value>,
) -> Result<Goal, NewGoalError> {
    let spec = spec.map_err(|e| NewGoalError::Store(StoreError::Database(format!("goal spec: {e}"))))?;
    Ok(store.create_goal(&NewGoal { goal, priority, kind: kind.to_string(), spec: Some(spec) })?)
}
