//! Compile time per sentence: short, medium and long descriptions (`cargo bench -p gvpie-compile`).

#![allow(missing_docs, reason = "criterion's macros generate undocumented functions")]

use criterion::{Criterion, criterion_group, criterion_main};
use gvpie_compile::{Options, compile};

const SENTENCES: &[(&str, &str)] = &[
    ("short", "a red circle"),
    ("relation", "a red circle above a blue square"),
    ("scene", "a house with a tree next to it, a sun in the top right corner and grass under a blue sky"),
    ("text", "write HELLO WORLD in yellow at the top and three red hearts in a row below it"),
    ("grid", "a grid of 20 by 20 tiny light blue dots with a thick white border"),
    (
        "paragraph",
        "Draw a blue background. Put a big yellow sun in the top left corner. Add three white clouds in a row. \
         A green mountain with a small red house to the right of it. Write GVPIE in orange at the bottom.",
    ),
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    for (name, sentence) in SENTENCES {
        group.bench_function(*name, |b| b.iter(|| compile(std::hint::black_box(sentence), &Options::default())));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
