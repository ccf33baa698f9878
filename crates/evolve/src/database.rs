//! The program database: islands, a MAP-Elites archive, migration, elitism and parent selection.
//!
//! Every candidate is an [`Entry`]: its source, a score (**higher is better**; an optimize goal passes minus the
//! cycles, an image goal minus the RMSE), two hashes and two features. [`ProgramDatabase::add`] puts it on an island
//! and into the archive, unless it is a duplicate:
//!
//! - **program hash**: a hash of the machine texture's words, without names and with the source line numbers
//!   cleared, so two programs that differ only in comments, blank lines or variable names are the same program;
//! - **image hash**: a hash of the output canvas (size and pixels). By default an output already seen is rejected;
//!   with [`DatabaseConfig::allow_same_image_if_better`] (what an optimize goal needs: same pixels, fewer cycles)
//!   it is accepted when it scores strictly better than every earlier entry with that output.
//!
//! **Islands** evolve apart; each keeps its best [`DatabaseConfig::island_capacity`] entries (elitism: an entry
//! only leaves an island for a better one). Every [`DatabaseConfig::migration_interval`] generations
//! ([`ProgramDatabase::end_generation`]) the best of each island is copied to the next one (a ring); every
//! [`DatabaseConfig::reset_interval`] generations, when set, the weaker half of the islands is emptied and
//! restarted from the global best.
//!
//! The **archive** has one cell per (instruction-count bucket, colour-count bucket) and keeps the best entry of
//! each cell. [`ProgramDatabase::select_parent`] takes the islands in turn and mixes exploitation (the island's
//! best), exploration (a random archive cell) and a random member of the island, in configurable ratios.
//!
//! Everything random comes from the database's own seeded generator, whose state is part of the serialized
//! database: the database is plain data (serde) and continues exactly after being saved and loaded.

use std::collections::{BTreeMap, BTreeSet};

use gvpie_pxl::{RECORD_WORDS, Texture};
use gvpie_raster::Canvas;
use serde::{Deserialize, Serialize};

use crate::rng::{Rng, splitmix64};

/// A 64-bit hash of a sequence of words (SplitMix64 chained; stable across platforms and versions).
fn hash_words(words: impl IntoIterator<Item = u64>) -> u64 {
    let mut h = 0x6770_7669_6521_u64;
    for word in words {
        let mut s = h ^ word;
        h = splitmix64(&mut s);
    }
    h
}

/// The program hash: the texture's words without names and with each record's source line cleared.
pub fn program_hash(texture: &Texture) -> u64 {
    let stripped = texture.without_names();
    let words = stripped.words();
    hash_words(words.iter().enumerate().map(|(i, &w)| {
        // Word 7 of each record (after the 8-word header) is its source line.
        let in_record = i >= RECORD_WORDS && i < RECORD_WORDS * (1 + stripped.n_records());
        if in_record && i % RECORD_WORDS == RECORD_WORDS - 1 { 0 } else { u64::from(w) }
    }))
}

/// The image hash: the canvas's size and pixels.
pub fn image_hash(canvas: &Canvas) -> u64 {
    hash_words(
        [u64::from(canvas.width()), u64::from(canvas.height())]
            .into_iter()
            .chain(canvas.pixels().iter().map(|&p| u64::from(p))),
    )
}

/// The number of distinct pixel values of a canvas.
pub fn colour_count(canvas: &Canvas) -> u32 {
    canvas.pixels().iter().collect::<BTreeSet<_>>().len() as u32
}

/// One candidate program with its score, hashes and features: plain data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The database's number for it (set by [`ProgramDatabase::add`]; 0 before).
    pub id: u64,
    /// The entry it was made from, if any.
    pub parent: Option<u64>,
    /// What made it (`original`, `mutation:insert`, `crossover`, ...).
    pub generator: String,
    /// The program.
    pub source: String,
    /// Its score, higher is better (finite).
    pub score: f64,
    /// [`program_hash`] of its texture.
    pub program_hash: u64,
    /// [`image_hash`] of its output.
    pub image_hash: u64,
    /// Instructions (records) of its texture: the first feature axis.
    pub instructions: u32,
    /// Distinct colours of its output: the second feature axis.
    pub colours: u32,
}

impl Entry {
    /// The generator name under which a kept entry is recorded: `evolve:insert` for an entry made by
    /// `mutation:insert`, so the infinite map tells database finds from line edits.
    pub fn evolve_generator(&self) -> String {
        format!("evolve:{}", self.generator.strip_prefix("mutation:").unwrap_or(&self.generator))
    }

    /// An entry for `source`, compiled to `texture`, which drew `canvas` and scored `score`.
    pub fn new(source: &str, texture: &Texture, canvas: &Canvas, score: f64) -> Entry {
        Entry {
            id: 0,
            parent: None,
            generator: String::new(),
            source: source.to_string(),
            score,
            program_hash: program_hash(texture),
            image_hash: image_hash(canvas),
            instructions: texture.n_records() as u32,
            colours: colour_count(canvas),
        }
    }

    /// The same entry with its lineage set.
    pub fn with_origin(mut self, parent: Option<u64>, generator: &str) -> Entry {
        self.parent = parent;
        self.generator = generator.to_string();
        self
    }
}

/// The settings of a [`ProgramDatabase`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseConfig {
    /// Number of islands (at least 1).
    pub n_islands: usize,
    /// Entries kept per island (at least 1).
    pub island_capacity: usize,
    /// Migrate every this many generations (0: never).
    pub migration_interval: u64,
    /// Reset the weaker half of the islands every this many generations (0: never).
    pub reset_interval: u64,
    /// Share of parent selections that take the island's best.
    pub exploitation: f64,
    /// Share that takes a random archive cell; the rest take a random member of the island.
    pub exploration: f64,
    /// Bucket bounds of the instruction count: bucket `k` holds counts below `bounds[k]` and at least the one
    /// before; the last bucket holds the rest.
    pub instruction_bounds: Vec<u32>,
    /// Bucket bounds of the distinct colour count, the same way.
    pub colour_bounds: Vec<u32>,
    /// Accept an output already seen when the entry scores strictly better than every earlier one with it.
    pub allow_same_image_if_better: bool,
    /// The seed of parent selection and resets.
    pub seed: u64,
}

impl Default for DatabaseConfig {
    fn default() -> DatabaseConfig {
        DatabaseConfig {
            n_islands: 4,
            island_capacity: 16,
            migration_interval: 5,
            reset_interval: 0,
            exploitation: 0.5,
            exploration: 0.2,
            instruction_bounds: vec![4, 8, 16, 32, 64, 128, 256],
            colour_bounds: vec![2, 3, 5, 9, 17, 65, 257, 4097],
            allow_same_image_if_better: false,
            seed: 0,
        }
    }
}

/// What [`ProgramDatabase::add`] did with an entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Added {
    /// Kept with this id.
    Kept {
        /// Its id.
        id: u64,
        /// It is the new global best.
        new_best: bool,
        /// It became the best of its archive cell.
        new_elite: bool,
    },
    /// Rejected: the same program is already known.
    DuplicateProgram,
    /// Rejected: the same output is already known (and the entry is not better).
    DuplicateImage,
    /// Rejected: the score is not finite.
    BadScore,
}

/// How a parent was selected.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Selection {
    /// The best of the island.
    Exploit,
    /// A random archive cell.
    Explore,
    /// A random member of the island.
    Random,
}

/// A selected parent and the island its children go to.
#[derive(Clone, Debug, PartialEq)]
pub struct Parent {
    /// The island whose turn it is (children are added to it).
    pub island: usize,
    /// How it was chosen.
    pub selection: Selection,
    /// The parent.
    pub entry: Entry,
}

/// Counts of what the database did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseStats {
    /// Entries kept.
    pub kept: u64,
    /// Rejected as the same program.
    pub duplicate_programs: u64,
    /// Rejected as the same output.
    pub duplicate_images: u64,
    /// Entries copied to another island by migration.
    pub migrated: u64,
    /// Islands reset.
    pub resets: u64,
}

/// Islands, an archive, and the hashes seen: the whole state of a population search, serializable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramDatabase {
    config: DatabaseConfig,
    /// Per island, its entries, best first.
    islands: Vec<Vec<Entry>>,
    /// One optional elite per cell, row-major by (instruction bucket, colour bucket).
    archive: Vec<Option<Entry>>,
    best: Option<Entry>,
    programs: BTreeSet<u64>,
    /// Per output hash, the best score seen with it.
    images: BTreeMap<u64, f64>,
    generation: u64,
    next_island: usize,
    next_id: u64,
    rng: [u64; 4],
    stats: DatabaseStats,
}

fn bucket(value: u32, bounds: &[u32]) -> usize {
    bounds.iter().filter(|&&b| value >= b).count()
}

/// Inserts `entry` into `list` (best first, stable for equal scores) and trims it to `capacity`.
fn insert_sorted(list: &mut Vec<Entry>, entry: Entry, capacity: usize) {
    let at = list.iter().position(|e| e.score < entry.score).unwrap_or(list.len());
    list.insert(at, entry);
    list.truncate(capacity);
}

impl ProgramDatabase {
    /// An empty database (`n_islands` and `island_capacity` are raised to at least 1).
    pub fn new(mut config: DatabaseConfig) -> ProgramDatabase {
        config.n_islands = config.n_islands.max(1);
        config.island_capacity = config.island_capacity.max(1);
        let cells = (config.instruction_bounds.len() + 1) * (config.colour_bounds.len() + 1);
        ProgramDatabase {
            islands: vec![Vec::new(); config.n_islands],
            archive: vec![None; cells],
            best: None,
            programs: BTreeSet::new(),
            images: BTreeMap::new(),
            generation: 0,
            next_island: 0,
            next_id: 1,
            rng: Rng::new(config.seed).state(),
            stats: DatabaseStats::default(),
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }

    /// Generations ended so far.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The best entry ever kept.
    pub fn best(&self) -> Option<&Entry> {
        self.best.as_ref()
    }

    /// Island `index`'s entries, best first.
    pub fn island(&self, index: usize) -> &[Entry] {
        self.islands.get(index).map_or(&[], Vec::as_slice)
    }

    /// Number of islands.
    pub fn n_islands(&self) -> usize {
        self.islands.len()
    }

    /// The archive cell of an entry: (instruction bucket, colour bucket).
    pub fn cell_of(&self, entry: &Entry) -> (usize, usize) {
        (bucket(entry.instructions, &self.config.instruction_bounds), bucket(entry.colours, &self.config.colour_bounds))
    }

    /// The elite of a cell.
    pub fn elite(&self, cell: (usize, usize)) -> Option<&Entry> {
        let columns = self.config.colour_bounds.len() + 1;
        if cell.1 >= columns {
            return None;
        }
        self.archive.get(cell.0 * columns + cell.1)?.as_ref()
    }

    /// Every filled archive cell with its elite.
    pub fn elites(&self) -> impl Iterator<Item = ((usize, usize), &Entry)> {
        let columns = self.config.colour_bounds.len() + 1;
        self.archive.iter().enumerate().filter_map(move |(i, e)| Some(((i / columns, i % columns), e.as_ref()?)))
    }

    /// What the database did so far.
    pub fn stats(&self) -> &DatabaseStats {
        &self.stats
    }

    /// Whether a program with this hash was seen (kept or not: a rejected entry's program is not remembered).
    pub fn knows_program(&self, hash: u64) -> bool {
        self.programs.contains(&hash)
    }

    /// Adds `entry` to island `island` (taken modulo the number of islands) and to the archive, unless it is a
    /// duplicate or its score is not finite. The entry's `id` is set by the database.
    pub fn add(&mut self, mut entry: Entry, island: usize) -> Added {
        if !entry.score.is_finite() {
            return Added::BadScore;
        }
        if self.programs.contains(&entry.program_hash) {
            self.stats.duplicate_programs += 1;
            return Added::DuplicateProgram;
        }
        if let Some(&seen) = self.images.get(&entry.image_hash)
            && !(self.config.allow_same_image_if_better && entry.score > seen)
        {
            self.stats.duplicate_images += 1;
            return Added::DuplicateImage;
        }
        entry.id = self.next_id;
        self.next_id += 1;
        self.programs.insert(entry.program_hash);
        let best_for_image = self.images.entry(entry.image_hash).or_insert(entry.score);
        *best_for_image = best_for_image.max(entry.score);
        let new_best = self.best.as_ref().is_none_or(|b| entry.score > b.score);
        if new_best {
            self.best = Some(entry.clone());
        }
        let (row, column) = self.cell_of(&entry);
        let cell = &mut self.archive[row * (self.config.colour_bounds.len() + 1) + column];
        let new_elite = cell.as_ref().is_none_or(|e| entry.score > e.score);
        if new_elite {
            *cell = Some(entry.clone());
        }
        let id = entry.id;
        let index = island % self.islands.len();
        insert_sorted(&mut self.islands[index], entry, self.config.island_capacity);
        self.stats.kept += 1;
        Added::Kept { id, new_best, new_elite }
    }

    /// The next parent: the islands take turns; within a turn the choice is the island's best (exploitation), a
    /// random archive elite (exploration) or a random member of the island, by the configured ratios. An empty
    /// island falls back to the archive. `None` when the database is empty.
    pub fn select_parent(&mut self) -> Option<Parent> {
        let mut rng = Rng::from_state(self.rng);
        let island = self.next_island;
        self.next_island = (self.next_island + 1) % self.islands.len();
        let draw = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let members = &self.islands[island];
        let mut selection = if draw < self.config.exploitation {
            Selection::Exploit
        } else if draw < self.config.exploitation + self.config.exploration {
            Selection::Explore
        } else {
            Selection::Random
        };
        if members.is_empty() {
            selection = Selection::Explore;
        }
        let entry = match selection {
            Selection::Exploit => members.first().cloned(),
            Selection::Random => members.get(rng.below(members.len() as u32) as usize).cloned(),
            Selection::Explore => {
                let filled: Vec<&Entry> = self.archive.iter().flatten().collect();
                filled.get(rng.below(filled.len() as u32) as usize).map(|e| (*e).clone())
            }
        };
        self.rng = rng.state();
        Some(Parent { island, selection, entry: entry? })
    }

    /// Ends a generation: migrates and resets when their intervals say so.
    pub fn end_generation(&mut self) {
        self.generation += 1;
        let g = self.generation;
        if self.config.migration_interval > 0 && g.is_multiple_of(self.config.migration_interval) {
            self.migrate();
        }
        if self.config.reset_interval > 0 && g.is_multiple_of(self.config.reset_interval) {
            self.reset_weaker_half();
        }
    }

    /// Copies the best of every island to the next island in the ring (unless that island already holds it).
    pub fn migrate(&mut self) {
        let n = self.islands.len();
        if n < 2 {
            return;
        }
        let migrants: Vec<Option<Entry>> = self.islands.iter().map(|i| i.first().cloned()).collect();
        for (from, migrant) in migrants.into_iter().enumerate() {
            let Some(migrant) = migrant else { continue };
            let to = &mut self.islands[(from + 1) % n];
            if to.iter().all(|e| e.id != migrant.id) {
                insert_sorted(to, migrant, self.config.island_capacity);
                self.stats.migrated += 1;
            }
        }
    }

    /// Empties the weaker half of the islands (by their best score; an empty island is weakest) and seeds each
    /// with the global best.
    pub fn reset_weaker_half(&mut self) {
        let n = self.islands.len();
        let Some(best) = self.best.clone() else { return };
        let mut order: Vec<usize> = (0..n).collect();
        let top = |i: usize| self.islands[i].first().map_or(f64::NEG_INFINITY, |e| e.score);
        // Strongest first; ties keep the lower index first.
        order.sort_by(|&a, &b| top(b).total_cmp(&top(a)).then(a.cmp(&b)));
        for &island in &order[n.div_ceil(2)..] {
            self.islands[island] = vec![best.clone()];
            self.stats.resets += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(program: u64, image: u64, score: f64, instructions: u32, colours: u32) -> Entry {
        Entry {
            id: 0,
            parent: None,
            generator: String::new(),
            source: format!("# {program}\n"),
            score,
            program_hash: program,
            image_hash: image,
            instructions,
            colours,
        }
    }

    #[test]
    fn buckets_follow_the_bounds() {
        assert_eq!(bucket(0, &[4, 8]), 0);
        assert_eq!(bucket(3, &[4, 8]), 0);
        assert_eq!(bucket(4, &[4, 8]), 1);
        assert_eq!(bucket(100, &[4, 8]), 2);
    }

    #[test]
    fn reset_replaces_the_weaker_half_with_the_best() {
        let config = DatabaseConfig { n_islands: 4, migration_interval: 0, reset_interval: 2, ..Default::default() };
        let mut db = ProgramDatabase::new(config);
        for (i, score) in [1.0, 4.0, 2.0, 3.0].into_iter().enumerate() {
            db.add(entry(i as u64, i as u64, score, 1, 1), i);
        }
        db.end_generation();
        assert_eq!(db.stats().resets, 0);
        db.end_generation();
        assert_eq!(db.stats().resets, 2);
        assert_eq!(db.island(0)[0].score, 4.0);
        assert_eq!(db.island(2)[0].score, 4.0);
        assert_eq!(db.island(3)[0].score, 3.0);
        assert_eq!(db.island(0).len(), 1);
    }
}
