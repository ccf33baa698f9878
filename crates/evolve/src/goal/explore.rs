//! The explore goal: a steady stream of new programs, kept in a MAP-Elites archive described by what their
//! pictures look like, so that the archive grows in kinds of pictures, not in copies.
//!
//! Each step makes a batch of children of archive programs (structural mutations and crossovers, see
//! [`Variation`]), runs them through the host, and describes every child that halts with a picture that is not a
//! single colour by its [`PictureFeatures`]: dominant hue, edge density, left-right symmetry and motion across
//! `FRAME`s. A child that lands in an empty cell of the archive, or clearly beats the cell's elite on detail
//! (distinct colours and edges: 10 % more, or as much in 10 % fewer cycles), is kept; a picture already in the archive is not. The goal's score
//! is the number of empty cells (lower is better), so a full archive is its known optimum.

use gvpie_pxl::{Config, RunResult, Status, Texture};
use gvpie_raster::Canvas;
use serde::{Deserialize, Serialize};

use super::{ArmDelta, Clock, GoalHost, GoalProgress, Kept, Lineage, SliceLimits, SliceReport, StopRules};
use crate::{Operator, Rng, Variation};

/// Hue buckets: achromatic, then twelve 30° sectors centred on red, orange, yellow, ... (red first).
const HUES: u8 = 13;
/// Edge density buckets.
const EDGES: u8 = 6;
/// Symmetry buckets: none, left-right, top-bottom, both.
const SYMMETRY: u8 = 4;
/// Colour-count buckets.
const COLOURS: u8 = 5;
/// Motion buckets: still, a little, a lot.
const MOTION: u8 = 3;
/// Cells in the archive.
pub const EXPLORE_CELLS: usize =
    HUES as usize * EDGES as usize * SYMMETRY as usize * COLOURS as usize * MOTION as usize;
/// Frames kept per child to see motion.
const FRAMES_SEEN: usize = 4;

/// Where a picture falls in the archive: five visual features, each in a few buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PictureFeatures {
    /// 0: achromatic (under a tenth of the pixels saturated); 1..=12: the dominant 30° hue sector, red first.
    pub hue: u8,
    /// 0..=5: share of pixels that differ from their right or lower neighbour (<1, <3, <10, <20, <40 %, more).
    pub edges: u8,
    /// 0..=3: bit 0 when at least 95 % of the pixels equal their left-right mirror, bit 1 top-bottom.
    pub symmetry: u8,
    /// 0..=4: distinct colours (2, 3–4, 5–8, 9–16, more).
    #[serde(default)]
    pub colours: u8,
    /// 0: still; 1: the FRAMEs change under 10 % of the pixels; 2: more.
    pub motion: u8,
}

impl PictureFeatures {
    /// Describes a finished run, or `None` when its picture is a single colour (nothing to see).
    pub fn of(run: &RunResult) -> Option<PictureFeatures> {
        let canvas = &run.canvas;
        let pixels = canvas.pixels();
        let first = *pixels.first()?;
        if pixels.iter().all(|&p| p == first) {
            return None;
        }
        let (width, height) = (canvas.width() as usize, canvas.height() as usize);
        let mut sectors = [0u64; 12];
        let mut chromatic = 0u64;
        let mut edges = 0u64;
        let (mut left_right, mut top_bottom) = (0u64, 0u64);
        for y in 0..height {
            for x in 0..width {
                let p = pixels[y * width + x];
                let [r, g, b, _] = p.to_le_bytes();
                if let Some(sector) = hue_sector(r, g, b) {
                    chromatic += 1;
                    sectors[sector] += 1;
                }
                let right = x + 1 < width && pixels[y * width + x + 1] != p;
                let below = y + 1 < height && pixels[(y + 1) * width + x] != p;
                edges += u64::from(right || below);
                left_right += u64::from(pixels[y * width + (width - 1 - x)] == p);
                top_bottom += u64::from(pixels[(height - 1 - y) * width + x] == p);
            }
        }
        let total = (width * height) as u64;
        let hue = if chromatic * 10 < total {
            0
        } else {
            let (best, _) =
                sectors.iter().enumerate().max_by_key(|&(i, n)| (*n, std::cmp::Reverse(i))).unwrap_or((0, &0));
            1 + best as u8
        };
        let share = |n: u64| n as f64 / total as f64;
        let edges = [0.01, 0.03, 0.10, 0.20, 0.40].iter().take_while(|&&limit| share(edges) >= limit).count() as u8;
        let symmetry = u8::from(share(left_right) >= 0.95) | (u8::from(share(top_bottom) >= 0.95) << 1);
        let mut distinct = pixels.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let colours = [3, 5, 9, 17].iter().take_while(|&&limit| distinct.len() >= limit).count() as u8;
        let changed = run
            .frames
            .windows(2)
            .map(|pair| pair[0].pixels().iter().zip(pair[1].pixels()).filter(|(a, b)| a != b).count() as u64)
            .max()
            .unwrap_or(0);
        let motion = match changed {
            0 => 0,
            n if n * 10 < total => 1,
            _ => 2,
        };
        Some(PictureFeatures { hue, edges, symmetry, colours, motion })
    }

    /// The cell's index in `0..EXPLORE_CELLS`.
    pub fn cell(self) -> usize {
        let mut index = 0usize;
        for (value, size) in [
            (self.hue, HUES),
            (self.edges, EDGES),
            (self.symmetry, SYMMETRY),
            (self.colours, COLOURS),
            (self.motion, MOTION),
        ] {
            index = index * usize::from(size) + usize::from(value.min(size - 1));
        }
        index
    }
}

/// The 30° hue sector (0: red, 1: orange, ..., 11) of a saturated, not too dark colour; `None` for greys, black
/// and near-white.
fn hue_sector(r: u8, g: u8, b: u8) -> Option<usize> {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let chroma = max - min;
    // Saturation at least 1/4 and value at least 40/255.
    if max < 40 || chroma * 4 < max {
        return None;
    }
    // Hue in sixths of the circle, integer arithmetic: h in 0..6*chroma.
    let h = if max == r {
        (g - b).rem_euclid(6 * chroma)
    } else if max == g {
        (b - r) + 2 * chroma
    } else {
        (r - g) + 4 * chroma
    };
    // Twelfths of the circle, centred on red (which covers -15°..15°): 2h/chroma in 0..12.
    let shifted = (2 * h + chroma / 2).rem_euclid(12 * chroma);
    Some((shifted / chroma) as usize % 12)
}

/// How much there is to see in a picture: distinct colours (up to 64) and the share of edge pixels.
fn detail(canvas: &Canvas) -> f64 {
    let mut colours: Vec<u32> = canvas.pixels().to_vec();
    colours.sort_unstable();
    colours.dedup();
    let (width, height) = (canvas.width() as usize, canvas.height() as usize);
    let pixels = canvas.pixels();
    let edges = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|&(x, y)| x + 1 < width && pixels[y * width + x] != pixels[y * width + x + 1])
        .count();
    colours.len().min(64) as f64 + 100.0 * edges as f64 / (width * height) as f64
}

/// FNV-1a over a picture's pixels and size: the archive keeps one program per picture.
fn picture_hash(canvas: &Canvas) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for word in [canvas.width(), canvas.height()].into_iter().chain(canvas.pixels().iter().copied()) {
        for byte in word.to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// One archive cell's program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Elite {
    /// Where it falls.
    pub features: PictureFeatures,
    /// Its source.
    pub source: String,
    /// Its detail (higher wins the cell).
    pub detail: f64,
    /// Its cycles (fewer wins a tie).
    pub cycles: u64,
    /// Its picture's hash.
    pub picture: u64,
}

impl Elite {
    /// Whether this program should take `elite`'s cell: at least 10 % more detail, or as much detail in at least
    /// 10 % fewer cycles. The margins bound how often a cell changes hands (detail is bounded), so the archive's
    /// history grows by real steps, not by the smallest differences.
    fn beats(&self, elite: &Elite) -> bool {
        self.detail > elite.detail * 1.1 || (self.detail >= elite.detail && self.cycles * 10 < elite.cycles * 9)
    }
}

/// The archive and the search's random state, saved in the spec after every slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreState {
    /// The elites, one per occupied cell, in cell order.
    pub archive: Vec<Elite>,
    /// The random state.
    pub rng: [u64; 4],
    /// The variation operators' statistics.
    pub variation: Variation,
}

fn default_children() -> usize {
    16
}
fn default_budget() -> u64 {
    20_000
}

/// An explore goal's spec (`kind = 'explore'`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreGoalSpec {
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Cycle budget of every child (a child that exhausts it is not kept).
    #[serde(default = "default_budget")]
    pub cycle_budget: u64,
    /// The search's seed.
    pub seed: u64,
    /// Children per step, run as one batch.
    #[serde(default = "default_children")]
    pub children: usize,
    /// The programs the archive starts from.
    pub seeds: Vec<String>,
    /// Budget and stop rules (stored under the seed-era name `budget`).
    #[serde(default, rename = "budget")]
    pub stop: StopRules,
    /// Progress so far.
    #[serde(default)]
    pub progress: GoalProgress,
    /// The archive after the last committed slice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ExploreState>,
}

impl ExploreGoalSpec {
    /// The patience of a self-set explore goal: steps in a row without a new kind of picture.
    pub const DEFAULT_PATIENCE: u64 = 400;

    /// A new explore goal from `seeds` on a `width`×`height` canvas.
    pub fn new(width: u32, height: u32, seed: u64, seeds: Vec<String>) -> Result<ExploreGoalSpec, String> {
        let max = gvpie_raster::MAX_SIDE;
        if width == 0 || height == 0 || width > max || height > max {
            return Err(format!("size {width}x{height} is out of range (1x1 to {max}x{max})"));
        }
        if seeds.iter().all(|s| gvpie_pxl::compile(s).is_err()) {
            return Err("an explore goal needs at least one seed program that compiles".to_string());
        }
        Ok(ExploreGoalSpec {
            width,
            height,
            cycle_budget: default_budget(),
            seed,
            children: default_children(),
            seeds,
            stop: StopRules { patience: Some(Self::DEFAULT_PATIENCE), target_score: Some(0.0), ..StopRules::default() },
            progress: GoalProgress::default(),
            state: None,
        })
    }

    fn vm(&self) -> Config {
        Config { width: self.width, height: self.height, budget: self.cycle_budget, max_frames: FRAMES_SEEN }
    }
}

/// An explore goal being worked on.
#[derive(Debug)]
pub struct ExploreSession {
    goal_id: i64,
    spec: ExploreGoalSpec,
    /// Elites by cell.
    cells: Vec<Option<Elite>>,
    rng: Rng,
    variation: Variation,
}

impl ExploreSession {
    /// Resumes goal `goal_id` from the archive in its spec, or starts one.
    pub fn resume(goal_id: i64, mut spec: ExploreGoalSpec) -> ExploreSession {
        let mut cells = vec![None; EXPLORE_CELLS];
        let (rng, variation) = match spec.state.take() {
            Some(state) => {
                for elite in state.archive {
                    let cell = elite.features.cell();
                    cells[cell] = Some(elite);
                }
                (Rng::from_state(state.rng), state.variation)
            }
            None => (Rng::new(spec.seed), Variation::default()),
        };
        ExploreSession { goal_id, spec, cells, rng, variation }
    }

    /// The spec.
    pub fn spec(&self) -> &ExploreGoalSpec {
        &self.spec
    }

    /// The archive's elites, in cell order.
    pub fn archive(&self) -> impl Iterator<Item = &Elite> {
        self.cells.iter().flatten()
    }

    /// Empty cells: the score (lower is better).
    pub fn empty_cells(&self) -> usize {
        self.cells.iter().filter(|c| c.is_none()).count()
    }

    /// The spec to store after a slice, with the archive.
    pub fn into_spec(mut self) -> ExploreGoalSpec {
        self.spec.state = Some(ExploreState {
            archive: self.cells.into_iter().flatten().collect(),
            rng: self.rng.state(),
            variation: self.variation,
        });
        self.spec
    }

    /// Offers a finished run; returns true when it entered the archive (a new cell, or a better elite).
    fn place(&mut self, source: &str, run: &RunResult) -> Option<bool> {
        if run.status != Status::Halted {
            return None;
        }
        let features = PictureFeatures::of(run)?;
        let picture = picture_hash(&run.canvas);
        if self.cells.iter().flatten().any(|e| e.picture == picture) {
            return None;
        }
        let candidate =
            Elite { features, source: source.to_string(), detail: detail(&run.canvas), cycles: run.cycles, picture };
        let cell = &mut self.cells[features.cell()];
        match cell {
            None => {
                *cell = Some(candidate);
                Some(true)
            }
            Some(elite) if candidate.beats(elite) => {
                *elite = candidate;
                Some(false)
            }
            Some(_) => None,
        }
    }

    /// Works on the goal until a stop rule, the slice's limits or the host ends it. Every program that enters the
    /// archive is kept with its picture, as the child of the program it was made from.
    pub fn run_slice(
        &mut self,
        limits: SliceLimits,
        clock: &dyn Clock,
        host: &mut dyn GoalHost,
    ) -> Result<SliceReport, String> {
        let vm = self.spec.vm();
        let mut kept = 0u64;
        let mut improved = false;
        let mut arms: Vec<ArmDelta> = Vec::new();
        if self.spec.state.is_none() && self.cells.iter().all(Option::is_none) {
            // The first slice places the seeds.
            let seeds: Vec<(String, Texture)> =
                self.spec.seeds.iter().filter_map(|s| gvpie_pxl::compile(s).ok().map(|t| (s.clone(), t))).collect();
            let textures: Vec<Texture> = seeds.iter().map(|(_, t)| t.clone()).collect();
            let runs = host.run_batch(&textures, &vm).unwrap_or_default();
            for ((source, _), run) in seeds.iter().zip(&runs) {
                if self.place(source, run).is_some() {
                    self.keep(host, source, "explore:seed", None, &vm)?;
                    kept += 1;
                }
            }
            self.spec.progress.evaluations += runs.len() as u64;
        }
        let mut stop = self.stop_reason();
        let mut steps = 0u64;
        let mut last = clock.seconds();
        while stop.is_none() && !host.stop_requested() && limits.more(steps, last) {
            steps += 1;
            self.spec.progress.steps += 1;
            let parents: Vec<String> = self.archive().map(|e| e.source.clone()).collect();
            if parents.is_empty() {
                // Nothing to vary: the seeds drew nothing worth keeping.
                stop = Some("no seed program draws a picture".to_string());
                break;
            }
            let mut children = Vec::with_capacity(self.spec.children);
            for _ in 0..self.spec.children.max(1) {
                let parent = &parents[self.rng.below(parents.len() as u32) as usize];
                let operator = Operator::ALL[self.rng.below(Operator::ALL.len() as u32) as usize];
                let child = match operator {
                    Operator::Crossover => {
                        let other = &parents[self.rng.below(parents.len() as u32) as usize];
                        self.variation.crossover(parent, other, &mut self.rng)
                    }
                    _ => self.variation.mutate(parent, operator, &mut self.rng),
                };
                if let Ok(child) = child {
                    children.push((child, parent.clone()));
                }
            }
            let textures: Vec<Texture> = children.iter().map(|(c, _)| c.texture.clone()).collect();
            let runs = host.run_batch(&textures, &vm).unwrap_or_default();
            self.spec.progress.evaluations += children.len() as u64;
            let mut new_kind = false;
            for ((child, parent), run) in children.iter().zip(&runs) {
                let key = format!("explore:{}", child.operator);
                let placed = self.place(&child.source, run);
                match arms.iter_mut().find(|a| a.key == key) {
                    Some(arm) => {
                        arm.tries += 1;
                        arm.improvements += u64::from(placed.is_some());
                    }
                    None => {
                        arms.push(ArmDelta { key: key.clone(), tries: 1, improvements: u64::from(placed.is_some()) })
                    }
                }
                if let Some(is_new) = placed {
                    new_kind |= is_new;
                    self.keep(host, &child.source, &key, Some(parent), &vm)?;
                    kept += 1;
                    improved = true;
                }
            }
            if new_kind {
                self.spec.progress.stale_steps = 0;
            } else {
                self.spec.progress.stale_steps += 1;
            }
            let now = clock.seconds();
            self.spec.progress.seconds += now - last;
            last = now;
            stop = self.stop_reason();
            host.stepped(&self.spec.progress, self.empty_cells() as f64);
        }
        self.spec.progress.stop_reason = stop.clone();
        let score = self.empty_cells() as f64;
        let note = format!(
            "goal {} explore: {} kinds of picture of {EXPLORE_CELLS}, +{kept} kept, {} candidates (+{steps} steps this cycle){}",
            self.goal_id,
            EXPLORE_CELLS - self.empty_cells(),
            self.spec.progress.evaluations,
            stop.as_deref().map(|r| format!(", done: {r}")).unwrap_or_default()
        );
        Ok(SliceReport { steps, kept, score, stop_reason: stop, improved, arms, proposal: None, note })
    }

    fn stop_reason(&self) -> Option<String> {
        self.spec.stop.stop_reason(&self.spec.progress, self.empty_cells() as f64)
    }

    fn keep(
        &mut self,
        host: &mut dyn GoalHost,
        source: &str,
        generator: &str,
        parent: Option<&str>,
        vm: &Config,
    ) -> Result<(), String> {
        let score = self.empty_cells() as f64;
        host.keep(&Kept {
            source,
            generator,
            detail: None,
            score,
            seconds: None,
            canvas: None,
            vm,
            parent: parent.map_or(Lineage::Root, Lineage::Of),
            picture: true,
        })?;
        self.spec.progress.kept += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primaries_and_greys_fall_in_their_hue_buckets() {
        assert_eq!(hue_sector(255, 0, 0), Some(0));
        assert_eq!(hue_sector(255, 128, 0), Some(1));
        assert_eq!(hue_sector(255, 255, 0), Some(2));
        assert_eq!(hue_sector(0, 255, 0), Some(4));
        assert_eq!(hue_sector(0, 255, 255), Some(6));
        assert_eq!(hue_sector(0, 0, 255), Some(8));
        assert_eq!(hue_sector(255, 0, 255), Some(10));
        assert_eq!(hue_sector(255, 0, 40), Some(0));
        assert_eq!(hue_sector(128, 128, 128), None);
        assert_eq!(hue_sector(10, 0, 0), None);
    }

    #[test]
    fn every_feature_combination_has_its_own_cell() {
        let mut seen = std::collections::BTreeSet::new();
        for hue in 0..HUES {
            for edges in 0..EDGES {
                for symmetry in 0..SYMMETRY {
                    for colours in 0..COLOURS {
                        for motion in 0..MOTION {
                            seen.insert(PictureFeatures { hue, edges, symmetry, colours, motion }.cell());
                        }
                    }
                }
            }
        }
        assert_eq!(seen.len(), EXPLORE_CELLS);
        assert_eq!(seen.last().copied(), Some(EXPLORE_CELLS - 1));
    }

    #[test]
    fn a_picture_is_described_by_what_it_shows() {
        let program = "CLS 0 0 0\nCOLOR 255 0 0\nRECT 0 0 64 64\nCOLOR 0 0 255\nRECT 64 0 64 64\nHALT\n";
        let texture = gvpie_pxl::compile(program).unwrap_or_else(|d| panic!("{}", d[0].headline()));
        let config = Config { max_frames: FRAMES_SEEN, ..Config::default() };
        let run = gvpie_pxl::run(&texture, &config).unwrap_or_else(|e| panic!("{e}"));
        // Half red, half blue: red wins the tie by sector order; one column of edges (0.8 %), symmetric top to
        // bottom, two colours, no frames.
        let features = PictureFeatures::of(&run).unwrap_or_else(|| panic!("not blank"));
        assert_eq!(features, PictureFeatures { hue: 1, edges: 0, symmetry: 2, colours: 0, motion: 0 });
        let blank =
            gvpie_pxl::run(&gvpie_pxl::compile("HALT").unwrap_or_else(|d| panic!("{}", d[0].headline())), &config)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(PictureFeatures::of(&blank), None);
    }
}
