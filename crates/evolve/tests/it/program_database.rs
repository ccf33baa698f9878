//! Structural mutation and crossover, the program database (islands, archive, duplicates) and a seeded search.

use gvpie_evolve::{
    Added, DatabaseConfig, Entry, Evaluation, Evolution, EvolutionConfig, Operator, ProgramDatabase, Rejection, Rng,
    Variation, genes, image_hash, labels, program_hash,
};
use gvpie_pxl::{Config, Status, Texture};
use gvpie_raster::Canvas;

const GRADIENT: &str = include_str!("../../../../examples/gradient.pxl");
const FAN: &str = include_str!("../../../../examples/triangles.pxl");

fn vm() -> Config {
    Config { width: 32, height: 16, ..Config::default() }
}

fn canvas(source: &str) -> (Texture, Canvas) {
    let texture = gvpie_pxl::compile(source).expect("compiles");
    let result = gvpie_pxl::run(&texture, &vm()).expect("runs");
    (texture, result.canvas)
}

fn entry(source: &str, score: f64) -> Entry {
    let (texture, canvas) = canvas(source);
    Entry::new(source, &texture, &canvas, score)
}

#[test]
fn every_mutation_compiles_or_is_a_counted_rejection() {
    let mut variation = Variation::default();
    let mut rng = Rng::new(11);
    let mut valid = 0u64;
    for round in 0..400 {
        let parent = if round % 2 == 0 { GRADIENT } else { FAN };
        let operator = Operator::ALL[round % Operator::ALL.len()];
        match variation.mutate(parent, operator, &mut rng) {
            Ok(child) => {
                valid += 1;
                assert_eq!(gvpie_pxl::compile(&child.source).as_ref(), Ok(&child.texture));
                let (used, defined) = labels(&genes(&child.source).expect("parses"));
                assert!(used.is_subset(&defined), "{}", child.source);
            }
            Err(Rejection::NotApplicable | Rejection::DoesNotCompile(_) | Rejection::TooLong) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let stats = &variation.stats;
    assert_eq!(stats.attempts.iter().sum::<u64>(), 400);
    assert_eq!(stats.total_valid(), valid);
    assert_eq!(stats.total_valid() + stats.total_invalid() + stats.not_applicable.iter().sum::<u64>(), 400);
    // Same seed, same children.
    let mut again = Variation::default();
    let mut rng2 = Rng::new(11);
    for round in 0..400 {
        let parent = if round % 2 == 0 { GRADIENT } else { FAN };
        let _ = again.mutate(parent, Operator::ALL[round % Operator::ALL.len()], &mut rng2);
    }
    assert_eq!(again, variation);
    assert_eq!(rng.state(), rng2.state());
}

#[test]
fn crossover_keeps_labels_defined() {
    let mut variation = Variation::default();
    let mut rng = Rng::new(3);
    for _ in 0..300 {
        if let Ok(child) = variation.crossover(GRADIENT, FAN, &mut rng) {
            let (used, defined) = labels(&genes(&child.source).expect("parses"));
            assert!(used.is_subset(&defined), "{}", child.source);
        }
    }
    // Label repair makes every crossover child that has lines compile.
    assert_eq!(variation.stats.total_invalid(), 0, "{:?}", variation.stats);
    assert!(variation.stats.total_valid() > 250, "{:?}", variation.stats);
}

#[test]
fn duplicates_are_rejected_by_program_and_by_image() {
    let mut db = ProgramDatabase::new(DatabaseConfig::default());
    let a = entry("COLOR 255 0 0\nRECT 0 0 4 4\nHALT\n", 1.0);
    assert!(matches!(db.add(a, 0), Added::Kept { id: 1, new_best: true, new_elite: true }));
    // The same program with a comment, another variable name layout and blank lines: same program hash.
    let same_program = entry("# red\nCOLOR 255 0 0\n\nRECT 0 0 4 4\nHALT\n", 5.0);
    assert_eq!(db.add(same_program, 1), Added::DuplicateProgram);
    // A different program drawing the same pixels: same image hash.
    let same_image = entry("COLOR 255 0 0\nRECT 0 0 2 4\nRECT 2 0 2 4\nHALT\n", 2.0);
    assert_ne!(program_hash(&canvas(&same_image.source).0), db.best().expect("best").program_hash);
    assert_eq!(db.add(same_image.clone(), 0), Added::DuplicateImage);
    assert_eq!((db.stats().duplicate_programs, db.stats().duplicate_images, db.stats().kept), (1, 1, 1));
    // With allow_same_image_if_better (optimize goals), the same output is kept only when strictly better.
    let mut db = ProgramDatabase::new(DatabaseConfig { allow_same_image_if_better: true, ..Default::default() });
    db.add(entry("COLOR 255 0 0\nRECT 0 0 4 4\nHALT\n", 1.0), 0);
    let worse = Entry { score: 0.5, ..same_image.clone() };
    assert_eq!(db.add(worse, 0), Added::DuplicateImage);
    assert!(matches!(db.add(same_image, 0), Added::Kept { id: 2, new_best: true, .. }));
    let (_, red) = canvas("COLOR 255 0 0\nRECT 0 0 4 4\nHALT\n");
    assert_eq!(db.best().expect("best").image_hash, image_hash(&red));
}

#[test]
fn migration_moves_the_best_to_the_next_island() {
    let config = DatabaseConfig { n_islands: 3, island_capacity: 2, migration_interval: 2, ..Default::default() };
    let mut db = ProgramDatabase::new(config);
    db.add(entry("COLOR 1 0 0\nRECT 0 0 4 4\nHALT\n", 3.0), 0);
    db.add(entry("COLOR 2 0 0\nRECT 0 0 4 4\nHALT\n", 1.0), 0);
    db.add(entry("COLOR 3 0 0\nRECT 0 0 4 4\nHALT\n", 2.0), 1);
    db.end_generation();
    assert_eq!(db.stats().migrated, 0);
    db.end_generation();
    // Island 0's best (3.0) went to island 1, island 1's best before migration (2.0) to island 2.
    assert_eq!(db.island(1).iter().map(|e| e.score).collect::<Vec<_>>(), [3.0, 2.0]);
    assert_eq!(db.island(2).iter().map(|e| e.score).collect::<Vec<_>>(), [2.0]);
    assert_eq!(db.island(0).iter().map(|e| e.score).collect::<Vec<_>>(), [3.0, 1.0]);
    assert_eq!(db.stats().migrated, 2);
}

#[test]
fn the_archive_keeps_the_best_per_cell_and_islands_keep_their_elite() {
    let config = DatabaseConfig { n_islands: 1, island_capacity: 2, ..Default::default() };
    let mut db = ProgramDatabase::new(config);
    // Same cell: 3 instructions, 2 colours (red on black).
    let low = entry("COLOR 255 0 0\nRECT 0 0 4 4\nHALT\n", 1.0);
    let high = entry("COLOR 255 0 0\nRECT 0 0 5 4\nHALT\n", 2.0);
    let lower = entry("COLOR 255 0 0\nRECT 0 0 6 4\nHALT\n", 0.5);
    let cell = db.cell_of(&low);
    assert_eq!(cell, db.cell_of(&high));
    assert_eq!(cell, (0, 1));
    db.add(low, 0);
    assert!(matches!(db.add(high, 0), Added::Kept { new_elite: true, .. }));
    assert!(matches!(db.add(lower, 0), Added::Kept { new_elite: false, .. }));
    assert_eq!(db.elite(cell).expect("elite").score, 2.0);
    // A different cell (three colours) has its own elite.
    let other = entry("COLOR 255 0 0\nRECT 0 0 4 4\nCOLOR 0 255 0\nPSET 9 9\nHALT\n", 0.1);
    let other_cell = db.cell_of(&other);
    assert_eq!(other_cell, (1, 2));
    db.add(other, 0);
    assert_eq!(db.elites().count(), 2);
    // The island (capacity 2) kept the two best.
    assert_eq!(db.island(0).iter().map(|e| e.score).collect::<Vec<_>>(), [2.0, 1.0]);
}

#[test]
fn parent_selection_mixes_exploitation_exploration_and_random_deterministically() {
    let config = DatabaseConfig { n_islands: 2, exploitation: 0.5, exploration: 0.25, seed: 9, ..Default::default() };
    let mut db = ProgramDatabase::new(config);
    for (i, score) in [1.0, 2.0, 3.0, 4.0].into_iter().enumerate() {
        db.add(entry(&format!("COLOR {i} 0 0\nRECT 0 0 {} 4\nHALT\n", i + 1), score), i);
    }
    let mut copy: ProgramDatabase = serde_json::from_str(&serde_json::to_string(&db).expect("ser")).expect("de");
    let mut counts = std::collections::BTreeMap::new();
    for turn in 0..400 {
        let parent = db.select_parent().expect("a parent");
        assert_eq!(parent.island, turn % 2);
        assert_eq!(copy.select_parent(), Some(parent.clone()));
        *counts.entry(format!("{:?}", parent.selection)).or_insert(0) += 1;
    }
    let exploit = counts["Exploit"];
    let explore = counts["Explore"];
    let random = counts["Random"];
    assert!((160..240).contains(&exploit) && (70..130).contains(&explore) && (70..130).contains(&random), "{counts:?}");
}

/// The optimize goal's check: a candidate must halt and draw exactly the reference's pixels; its score is minus
/// its cycles.
fn optimize_evaluator(reference: Canvas, budget: u64) -> impl FnMut(&str, &Texture) -> Option<Evaluation> {
    move |_, texture| {
        let result = gvpie_pxl::run(texture, &Config { budget, ..vm() }).ok()?;
        (result.status == Status::Halted && result.canvas == reference)
            .then(|| Evaluation { score: -(result.cycles as f64), canvas: result.canvas })
    }
}

#[test]
fn a_seeded_search_makes_the_gradient_faster_and_resumes_exactly() {
    // The gradient with dead work: a cleared screen it paints over, and an invariant inside the inner loop.
    let source = "CLS 0 0 0\nCOLOR 9 9 9\nRECT 0 0 32 16\n".to_string() + GRADIENT;
    let (_, reference) = canvas(&source);
    let config = EvolutionConfig {
        database: DatabaseConfig {
            n_islands: 3,
            migration_interval: 3,
            allow_same_image_if_better: true,
            seed: 1,
            ..Default::default()
        },
        children_per_generation: 12,
        seed: 2,
        ..Default::default()
    };
    let evaluate = || optimize_evaluator(reference.clone(), 200_000);
    let mut search = Evolution::new(&source, config, evaluate()).expect("starts");
    let original = search.best().score;
    for _ in 0..10 {
        search.generation(evaluate());
    }
    let saved = serde_json::to_string(&search).expect("serializes");
    let mut resumed: Evolution = serde_json::from_str(&saved).expect("deserializes");
    for _ in 0..15 {
        let a = search.generation(evaluate());
        let b = resumed.generation(evaluate());
        assert_eq!(a, b);
    }
    assert_eq!(resumed, search);
    let best = search.best();
    assert!(best.score > original, "{} !> {original}", best.score);
    // Exact, seeded expectations (32x16 canvas: the loops shrink to what is visible).
    assert_eq!((-original, -best.score, search.evaluations()), (41093.0, 12991.0, 298));
    let (_, drawn) = canvas(&best.source);
    assert_eq!(drawn, reference);
    eprintln!(
        "cycles {} -> {}, evaluations {}, stats {:?} {:?}",
        -original,
        -best.score,
        search.evaluations(),
        search.variation().stats,
        search.database().stats()
    );
}
