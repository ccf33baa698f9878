//! The web UI's opcode table (`ui/js/pxl.js`, hand-written for the browser) agrees with
//! gvpie-pxl's: the same mnemonics, operand kinds, minimum operand counts and synopses, and
//! the same `IF` comparisons. The UI has no opcode numbers; the block view and the
//! highlighter only need how a line looks.

use gvpie_pxl::{Cmp, OPS, OperandKind};

const PXL_JS: &str = include_str!("../../ui/js/pxl.js");

/// One row of the UI's `OPS`: `op('NAME', [KINDS], min, 'synopsis', 'group', 'help')`.
#[derive(Debug)]
struct UiOp {
    mnemonic: String,
    /// Operand kinds as the UI spells them: `value`, `dest`, `label`, `text`, `cmp`.
    operands: Vec<String>,
    min: usize,
    synopsis: String,
}

/// Splits `text` at commas outside quotes and brackets, trimming each piece.
fn split_top_level(text: &str) -> Vec<String> {
    let (mut pieces, mut current, mut depth, mut quoted) = (Vec::new(), String::new(), 0usize, false);
    for c in text.chars() {
        match c {
            '\'' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                pieces.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        pieces.push(current.trim().to_string());
    }
    pieces
}

/// A JS single-quoted string literal's text (the table's strings have no escapes).
fn unquote(literal: &str) -> String {
    let text = literal.strip_prefix('\'').and_then(|l| l.strip_suffix('\''));
    text.unwrap_or_else(|| panic!("not a string literal: {literal}")).to_string()
}

/// The kind an operand expression of the UI table stands for: a constant (`VALUE`) is the
/// constant's value, a string literal (`'cmp'`) its text.
fn operand_kind(expression: &str) -> String {
    match expression {
        "VALUE" | "DEST" | "LABEL" | "TEXT" => expression.to_lowercase(),
        literal => unquote(literal),
    }
}

/// Every row of the `OPS` array of `pxl_js`, in the UI's order.
fn ui_ops(pxl_js: &str) -> Vec<UiOp> {
    ui_table(pxl_js, "OPS")
}

/// Every row of the array `name` of `pxl_js` (`OPS`, `DIRECTIVES`), in the UI's order.
fn ui_table(pxl_js: &str, name: &str) -> Vec<UiOp> {
    let table = pxl_js
        .split(&format!("export const {name} = ["))
        .nth(1)
        .and_then(|rest| rest.split("\n];").next())
        .unwrap_or_else(|| panic!("pxl.js has no `export const {name} = [...];`"));
    table
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .map(|line| {
            let args = line
                .strip_prefix("op(")
                .and_then(|rest| rest.strip_suffix("),"))
                .unwrap_or_else(|| panic!("not an `op(...)` row of the table: {line}"));
            let args = split_top_level(args);
            assert_eq!(args.len(), 6, "{line}");
            let operands = args[1].strip_prefix('[').and_then(|a| a.strip_suffix(']'));
            let operands = operands.unwrap_or_else(|| panic!("operands are not a list: {line}"));
            UiOp {
                mnemonic: unquote(&args[0]),
                operands: split_top_level(operands).iter().map(|o| operand_kind(o)).collect(),
                min: args[2].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
                synopsis: unquote(&args[3]),
            }
        })
        .collect()
}

/// The UI's name of an operand kind (`export const VALUE = 'value'` and so on in pxl.js).
fn ui_kind(kind: OperandKind) -> &'static str {
    match kind {
        OperandKind::Value => "value",
        OperandKind::Dest => "dest",
        OperandKind::Label => "label",
        OperandKind::Text => "text",
    }
}

#[test]
fn the_ui_operand_kinds_are_spelt_as_the_test_reads_them() {
    for (constant, spelling) in [("VALUE", "value"), ("DEST", "dest"), ("LABEL", "label"), ("TEXT", "text")] {
        let declaration = format!("export const {constant} = '{spelling}';");
        assert!(PXL_JS.contains(&declaration), "pxl.js lacks `{declaration}`");
    }
}

/// Panics, naming the first difference, unless the `OPS` of `pxl_js` is gvpie-pxl's table.
fn assert_agrees_with_gvpie_pxl(pxl_js: &str) {
    let ui = ui_ops(pxl_js);
    let mut ui_names: Vec<&str> = ui.iter().map(|op| op.mnemonic.as_str()).collect();
    let mut pxl_names: Vec<&str> = OPS.iter().map(|info| info.mnemonic).collect();
    ui_names.sort_unstable();
    pxl_names.sort_unstable();
    assert_eq!(ui_names, pxl_names, "the UI and gvpie-pxl know different opcodes");
    for op in &ui {
        let Some(info) = OPS.iter().find(|info| info.mnemonic == op.mnemonic) else { continue };
        // `IF a op b label`: the comparison is a source word of its own in the UI, and in the
        // record header (not an operand slot) in gvpie-pxl.
        let comparisons = op.operands.iter().filter(|kind| *kind == "cmp").count();
        assert_eq!(comparisons, usize::from(info.synopsis.contains(" op ")), "{op:?}");
        let operands: Vec<&str> = op.operands.iter().map(String::as_str).filter(|kind| *kind != "cmp").collect();
        let expected: Vec<&str> = info.operands.iter().map(|&kind| ui_kind(kind)).collect();
        assert_eq!(operands, expected, "operands of {}", op.mnemonic);
        assert_eq!(op.min, info.min_operands + comparisons, "minimum operands of {}", op.mnemonic);
        // gvpie-pxl brackets optional operands (`r g b [a]`); the UI does not.
        let synopsis = info.synopsis.replace(['[', ']'], "");
        assert_eq!(op.synopsis, synopsis, "synopsis of {}", op.mnemonic);
    }
}

#[test]
fn the_ui_opcode_table_is_gvpie_pxl_s() {
    assert_agrees_with_gvpie_pxl(PXL_JS);
}

#[test]
fn a_ui_table_that_drifted_is_caught() {
    let row = "op('RECT', [VALUE, VALUE, VALUE, VALUE], 4, 'x y w h',";
    assert!(PXL_JS.contains(row), "pxl.js has no RECT row to change");
    for drifted in [
        "op('RECT', [VALUE, VALUE, VALUE], 4, 'x y w h',",
        "op('RECT', [VALUE, VALUE, VALUE, VALUE], 3, 'x y w h',",
        "op('RECT', [VALUE, VALUE, VALUE, VALUE], 4, 'x y h w',",
        "op('RECTF', [VALUE, VALUE, VALUE, VALUE], 4, 'x y w h',",
    ] {
        let pxl_js = PXL_JS.replace(row, drifted);
        let caught = std::panic::catch_unwind(|| assert_agrees_with_gvpie_pxl(&pxl_js)).is_err();
        assert!(caught, "not caught: {drifted}");
    }
}

/// The directives: `SIZE width height`, two values, both required (gvpie-pxl's `SIZE_DIRECTIVE`).
#[test]
fn the_ui_directives_are_gvpie_pxl_s() {
    let directives = ui_table(PXL_JS, "DIRECTIVES");
    assert_eq!(directives.len(), 1, "{directives:?}");
    let size = &directives[0];
    assert_eq!(size.mnemonic, gvpie_pxl::SIZE_DIRECTIVE);
    assert_eq!(
        (size.operands.as_slice(), size.min, size.synopsis.as_str()),
        (["value", "value"].map(String::from).as_slice(), 2, "width height")
    );
    let compiled = gvpie_pxl::compile("size 40 30\nHALT").expect("SIZE compiles");
    assert_eq!(compiled.canvas_size(), Some((40, 30)));
}

#[test]
fn the_ui_comparisons_are_gvpie_pxl_s() {
    let list = PXL_JS
        .split("export const COMPARISONS = [")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .unwrap_or_else(|| panic!("pxl.js has no `export const COMPARISONS = [...];`"));
    let ui: Vec<String> = split_top_level(list).iter().map(|c| unquote(c)).collect();
    let pxl: Vec<&str> = Cmp::ALL.iter().map(|(_, text)| *text).collect();
    assert_eq!(ui, pxl);
}
