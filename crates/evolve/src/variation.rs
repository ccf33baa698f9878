//! Structural mutation and crossover for general PXL programs.
//!
//! A program is parsed into [`Gene`]s: one per label definition and one per instruction (comments and blank lines
//! are dropped). The [`Operator`]s edit that list:
//!
//! - **insert** a line: a copy of one of the program's own instructions, or a new instruction of an opcode the
//!   program already uses with operands drawn from the program's vocabulary (its variables, labels and literals);
//! - **delete** a line, **swap** two neighbours;
//! - **tweak** one integer literal by a small step (±1..4) or a large one (±16..128);
//! - **crossover** of two parents: the head of one up to a random cut point and the tail of the other from another.
//!
//! After every edit the labels are repaired: a second definition of a label is dropped, and a reference to a label
//! that no longer exists is pointed at a defined one (chosen at random), or its line is dropped when the child has
//! no label at all. Then the child is compiled; a child that does not compile is rejected and counted
//! ([`VariationStats`]), never returned. Everything is drawn from the caller's [`Rng`], so the same seed gives the
//! same children.

use std::collections::BTreeSet;
use std::fmt;

use gvpie_pxl::{Cmp, Instr, Operand, OperandKind, Texture};
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// The default most lines (genes) a child may have.
pub const DEFAULT_MAX_LINES: usize = 512;

/// One element of a program's genome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gene {
    /// A label definition (`name:`).
    Label(String),
    /// One instruction.
    Instr(Instr),
}

impl Gene {
    /// The gene as one source line.
    pub fn text(&self) -> String {
        match self {
            Gene::Label(name) => format!("{name}:"),
            Gene::Instr(instr) => gvpie_pxl::format_instr(instr),
        }
    }
}

/// A variation operator: a mutation kind or crossover.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operator {
    /// Insert a copied or synthesized instruction.
    Insert,
    /// Delete a line.
    Delete,
    /// Swap two neighbouring lines.
    Swap,
    /// Change one literal by ±1..4.
    TweakSmall,
    /// Change one literal by ±16..128.
    TweakLarge,
    /// Cut two parents and join the head of one to the tail of the other.
    Crossover,
}

impl Operator {
    /// Every operator, in arm order (the index is [`Operator::index`]).
    pub const ALL: [Operator; 6] = [
        Operator::Insert,
        Operator::Delete,
        Operator::Swap,
        Operator::TweakSmall,
        Operator::TweakLarge,
        Operator::Crossover,
    ];

    /// The mutations (every operator but crossover).
    pub const MUTATIONS: [Operator; 5] =
        [Operator::Insert, Operator::Delete, Operator::Swap, Operator::TweakSmall, Operator::TweakLarge];

    /// The position of this operator in [`Operator::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short name, as used for generator names (`mutation:insert`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Operator::Insert => "insert",
            Operator::Delete => "delete",
            Operator::Swap => "swap",
            Operator::TweakSmall => "tweak-small",
            Operator::TweakLarge => "tweak-large",
            Operator::Crossover => "crossover",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A valid child: its source and its compiled texture.
#[derive(Clone, Debug)]
pub struct Child {
    /// The child's source, one gene per line.
    pub source: String,
    /// The compiled program.
    pub texture: Texture,
    /// The operator that made it.
    pub operator: Operator,
}

/// Why no child came out of a variation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// A parent does not compile.
    Parent(String),
    /// The operator has nothing to work on (no literal to tweak, a single line to swap, ...).
    NotApplicable,
    /// The child has more lines than allowed.
    TooLong,
    /// The child does not compile (the first diagnostic's headline).
    DoesNotCompile(String),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Parent(message) => write!(f, "a parent does not compile: {message}"),
            Rejection::NotApplicable => f.write_str("the operator does not apply to this parent"),
            Rejection::TooLong => f.write_str("the child is too long"),
            Rejection::DoesNotCompile(message) => write!(f, "the child does not compile: {message}"),
        }
    }
}

impl std::error::Error for Rejection {}

/// Per-operator counts, indexed like [`Operator::ALL`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariationStats {
    /// Variations attempted.
    pub attempts: [u64; 6],
    /// Children that compiled and were returned.
    pub valid: [u64; 6],
    /// Children rejected because they did not compile or were too long.
    pub invalid: [u64; 6],
    /// Attempts where the operator did not apply (or a parent did not compile).
    pub not_applicable: [u64; 6],
}

impl VariationStats {
    /// Total rejected children (invalid), over all operators.
    pub fn total_invalid(&self) -> u64 {
        self.invalid.iter().sum()
    }

    /// Total valid children, over all operators.
    pub fn total_valid(&self) -> u64 {
        self.valid.iter().sum()
    }
}

/// Makes validated children and counts the rejected ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variation {
    /// The most lines a child may have.
    pub max_lines: usize,
    /// What happened so far.
    pub stats: VariationStats,
}

impl Default for Variation {
    fn default() -> Variation {
        Variation { max_lines: DEFAULT_MAX_LINES, stats: VariationStats::default() }
    }
}

impl Variation {
    /// Applies mutation `operator` to `parent` (for [`Operator::Crossover`], crosses `parent` with itself).
    ///
    /// # Errors
    ///
    /// A [`Rejection`], counted in [`Variation::stats`].
    pub fn mutate(&mut self, parent: &str, operator: Operator, rng: &mut Rng) -> Result<Child, Rejection> {
        let result = genes(parent).map_err(Rejection::Parent).and_then(|genes| {
            let child = match operator {
                Operator::Crossover => crossover_genes(&genes, &genes, rng),
                _ => mutate_genes(&genes, operator, rng),
            };
            child.ok_or(Rejection::NotApplicable)
        });
        self.finish(result, operator, rng)
    }

    /// Crosses two parents: `a`'s lines before a random cut, then `b`'s lines from a random cut; labels repaired.
    ///
    /// # Errors
    ///
    /// A [`Rejection`], counted in [`Variation::stats`].
    pub fn crossover(&mut self, a: &str, b: &str, rng: &mut Rng) -> Result<Child, Rejection> {
        let result = genes(a)
            .and_then(|a| Ok((a, genes(b)?)))
            .map_err(Rejection::Parent)
            .and_then(|(a, b)| crossover_genes(&a, &b, rng).ok_or(Rejection::NotApplicable));
        self.finish(result, Operator::Crossover, rng)
    }

    fn finish(
        &mut self,
        result: Result<Vec<Gene>, Rejection>,
        operator: Operator,
        rng: &mut Rng,
    ) -> Result<Child, Rejection> {
        let k = operator.index();
        self.stats.attempts[k] += 1;
        let checked = result.and_then(|mut genes| {
            repair_labels(&mut genes, rng);
            if genes.len() > self.max_lines {
                return Err(Rejection::TooLong);
            }
            let source = render(&genes);
            match gvpie_pxl::compile(&source) {
                Ok(texture) => Ok(Child { source, texture, operator }),
                Err(diagnostics) => {
                    Err(Rejection::DoesNotCompile(diagnostics.first().map(|d| d.headline()).unwrap_or_default()))
                }
            }
        });
        match &checked {
            Ok(_) => self.stats.valid[k] += 1,
            Err(Rejection::TooLong | Rejection::DoesNotCompile(_)) => self.stats.invalid[k] += 1,
            Err(_) => self.stats.not_applicable[k] += 1,
        }
        checked
    }
}

/// Parses `source` into genes (comments and blank lines dropped).
///
/// # Errors
///
/// The first diagnostic's headline when the program does not parse.
pub fn genes(source: &str) -> Result<Vec<Gene>, String> {
    let (parsed, diagnostics) = gvpie_pxl::parse(source);
    if let Some(first) = diagnostics.first() {
        return Err(first.headline());
    }
    let mut out = Vec::new();
    for line in parsed.lines {
        if let Some(label) = line.label {
            out.push(Gene::Label(label));
        }
        if let Some(instr) = line.instr {
            out.push(Gene::Instr(instr));
        }
    }
    Ok(out)
}

/// The genes as source text, one per line, with a final newline.
pub fn render(genes: &[Gene]) -> String {
    let mut out = String::new();
    for gene in genes {
        out.push_str(&gene.text());
        out.push('\n');
    }
    out
}

/// Every label referenced by an instruction of `genes`, and every label defined, as (used, defined).
pub fn labels(genes: &[Gene]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut used = BTreeSet::new();
    let mut defined = BTreeSet::new();
    for gene in genes {
        match gene {
            Gene::Label(name) => {
                defined.insert(name.clone());
            }
            Gene::Instr(instr) => {
                for operand in &instr.operands {
                    if let Operand::Label(name) = operand {
                        used.insert(name.clone());
                    }
                }
            }
        }
    }
    (used, defined)
}

/// What a program is made of: its opcodes (as instructions to use as templates), variables, labels, literals.
struct Vocabulary<'a> {
    instrs: Vec<&'a Instr>,
    vars: Vec<String>,
    labels: Vec<String>,
    literals: Vec<i32>,
}

impl<'a> Vocabulary<'a> {
    fn of(genes: &'a [Gene]) -> Vocabulary<'a> {
        let mut instrs = Vec::new();
        let mut vars = BTreeSet::new();
        let mut labels = BTreeSet::new();
        let mut literals = BTreeSet::new();
        for gene in genes {
            match gene {
                Gene::Label(name) => {
                    labels.insert(name.clone());
                }
                Gene::Instr(instr) => {
                    instrs.push(instr);
                    for operand in &instr.operands {
                        match operand {
                            Operand::Var(name) => {
                                vars.insert(name.clone());
                            }
                            Operand::Int { value, .. } => {
                                literals.insert(*value);
                            }
                            Operand::Label(_) => {}
                        }
                    }
                }
            }
        }
        Vocabulary {
            instrs,
            vars: vars.into_iter().collect(),
            labels: labels.into_iter().collect(),
            literals: literals.into_iter().collect(),
        }
    }
}

fn pick<'a, T>(items: &'a [T], rng: &mut Rng) -> Option<&'a T> {
    if items.is_empty() { None } else { items.get(rng.below(items.len() as u32) as usize) }
}

fn int(value: i32) -> Operand {
    Operand::Int { value, text: value.to_string() }
}

/// A new instruction: a copy of one of the program's instructions, or one of the same opcode with operands drawn
/// from the vocabulary.
fn synthesize(vocabulary: &Vocabulary<'_>, rng: &mut Rng) -> Option<Instr> {
    let template = *pick(&vocabulary.instrs, rng)?;
    if rng.coin() {
        return Some(template.clone());
    }
    let kinds = template.op.info().operands;
    let mut operands = Vec::with_capacity(template.operands.len());
    for (slot, old) in template.operands.iter().enumerate() {
        let operand = match kinds.get(slot) {
            Some(OperandKind::Dest) => Operand::Var(pick(&vocabulary.vars, rng).cloned().unwrap_or_else(|| "t".into())),
            Some(OperandKind::Label) => Operand::Label(pick(&vocabulary.labels, rng)?.clone()),
            Some(OperandKind::Value) => match rng.below(3) {
                0 if !vocabulary.vars.is_empty() => Operand::Var(pick(&vocabulary.vars, rng)?.clone()),
                1 if !vocabulary.literals.is_empty() => int(*pick(&vocabulary.literals, rng)?),
                _ => int(rng.range(0, 255)),
            },
            _ => old.clone(),
        };
        operands.push(operand);
    }
    let cmp = template.cmp.map(|_| Cmp::ALL[rng.below(6) as usize].0);
    Some(Instr { op: template.op, operands, cmp, text: template.text.clone() })
}

fn mutate_genes(genes: &[Gene], operator: Operator, rng: &mut Rng) -> Option<Vec<Gene>> {
    let mut out = genes.to_vec();
    let n = out.len() as u32;
    match operator {
        Operator::Insert => {
            let instr = synthesize(&Vocabulary::of(genes), rng)?;
            out.insert(rng.below(n + 1) as usize, Gene::Instr(instr));
        }
        Operator::Delete => {
            if n == 0 {
                return None;
            }
            out.remove(rng.below(n) as usize);
        }
        Operator::Swap => {
            if n < 2 {
                return None;
            }
            let i = rng.below(n - 1) as usize;
            if out[i] == out[i + 1] {
                return None;
            }
            out.swap(i, i + 1);
        }
        Operator::TweakSmall | Operator::TweakLarge => {
            let sites: Vec<(usize, usize)> = out
                .iter()
                .enumerate()
                .filter_map(|(g, gene)| match gene {
                    Gene::Instr(instr) => Some((g, instr)),
                    Gene::Label(_) => None,
                })
                .flat_map(|(g, instr)| {
                    instr
                        .operands
                        .iter()
                        .enumerate()
                        .filter_map(move |(o, operand)| matches!(operand, Operand::Int { .. }).then_some((g, o)))
                })
                .collect();
            let &(g, o) = pick(&sites, rng)?;
            let magnitude = if operator == Operator::TweakSmall { rng.range(1, 4) } else { rng.range(16, 128) };
            let delta = if rng.coin() { magnitude } else { -magnitude };
            if let Gene::Instr(instr) = &mut out[g]
                && let Some(Operand::Int { value, .. }) = instr.operands.get(o)
            {
                instr.operands[o] = int(value.saturating_add(delta));
            }
        }
        Operator::Crossover => return None,
    }
    Some(out)
}

fn crossover_genes(a: &[Gene], b: &[Gene], rng: &mut Rng) -> Option<Vec<Gene>> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let cut_a = rng.below(a.len() as u32 + 1) as usize;
    let cut_b = rng.below(b.len() as u32 + 1) as usize;
    let mut out = a[..cut_a].to_vec();
    out.extend_from_slice(&b[cut_b..]);
    if out.is_empty() { None } else { Some(out) }
}

/// Makes every label reference resolve: drops second definitions, points references to missing labels at a
/// defined label (at random), or drops their lines when no label is defined.
pub fn repair_labels(genes: &mut Vec<Gene>, rng: &mut Rng) {
    let mut seen = BTreeSet::new();
    genes.retain(|gene| match gene {
        Gene::Label(name) => seen.insert(name.clone()),
        Gene::Instr(_) => true,
    });
    let defined: Vec<String> = seen.into_iter().collect();
    let mut keep = vec![true; genes.len()];
    for (index, gene) in genes.iter_mut().enumerate() {
        let Gene::Instr(instr) = gene else { continue };
        for operand in &mut instr.operands {
            if let Operand::Label(name) = operand
                && defined.binary_search(name).is_err()
            {
                match pick(&defined, rng) {
                    Some(target) => *name = target.clone(),
                    None => keep[index] = false,
                }
            }
        }
    }
    let mut flags = keep.into_iter();
    genes.retain(|_| flags.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOP: &str =
        "# comment\nSET y 0\nrow:\nSET x 0\ncol:\nMUL r x 2\nCOLOR r 0 0\nPSET x y\nLOOP x 8 col\nLOOP y 8 row\nHALT\n";

    #[test]
    fn genes_round_trip_without_comments() {
        let parsed = genes(LOOP).expect("parses");
        assert_eq!(parsed.len(), 10);
        assert_eq!(render(&parsed), LOOP.trim_start_matches("# comment\n"));
        assert!(genes("LOOP x 8 nowhere\n").is_err());
    }

    #[test]
    fn repair_points_missing_labels_at_defined_ones_and_drops_duplicates() {
        let mut rng = Rng::new(1);
        let mut g = genes("a:\nJMP a\nb:\nJMP a\n").expect("parses");
        g.push(Gene::Label("b".into()));
        g.remove(0);
        repair_labels(&mut g, &mut rng);
        assert_eq!(render(&g), "JMP b\nb:\nJMP b\n");
        let mut g = genes("a:\nJMP a\nHALT\n").expect("parses");
        g.remove(0);
        repair_labels(&mut g, &mut rng);
        assert_eq!(render(&g), "HALT\n");
    }

    #[test]
    fn tweaks_move_literals_by_the_stated_steps() {
        let parent = genes("SET x 100\nHALT\n").expect("parses");
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            for (operator, lo, hi) in [(Operator::TweakSmall, 1, 4), (Operator::TweakLarge, 16, 128)] {
                let child = mutate_genes(&parent, operator, &mut rng).expect("a literal");
                let Gene::Instr(instr) = &child[0] else { panic!("an instruction") };
                let Operand::Int { value, .. } = instr.operands[1] else { panic!("a literal") };
                assert!((lo..=hi).contains(&(value - 100).abs()), "{operator}: {value}");
            }
        }
        assert_eq!(mutate_genes(&genes("HALT\n").expect("parses"), Operator::TweakSmall, &mut rng), None);
    }
}
