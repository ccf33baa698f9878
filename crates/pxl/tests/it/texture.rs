//! The machine texture (`docs/texture.md`): header fields, record words, reading errors, and
//! disassembly that compiles back to an equivalent program.

use expect_test::expect;
use gvpie_pxl::{
    Config, DisasmOptions, MAGIC, Names, RECORD_WORDS, RecordError, TEXTURE_VERSION, Texture, TextureError,
    decode_record, disassemble, run,
};

use crate::util::{CORPUS, EXAMPLES, assert_same_run, compile_ok};

fn config() -> Config {
    Config { width: 64, height: 32, budget: 20_000, max_frames: 3 }
}

/// Compiles `source`, disassembles it with `options`, compiles the listing and checks that both
/// run the same way. Returns the listing.
#[track_caller]
fn round_trip(name: &str, source: &str, texture: &Texture, options: DisasmOptions) -> String {
    let listing = disassemble(texture, options);
    let again = compile_ok(&listing);
    let context = format!("{name}\n--- source\n{source}\n--- listing\n{listing}");
    let a = run(texture, &config()).expect("valid size");
    let b = run(&again, &config()).expect("valid size");
    assert_same_run(&a, &b, false, &context);
    // The code itself is the same, record for record, apart from source lines.
    assert_eq!(again.n_records(), texture.n_records(), "{context}");
    assert_eq!(again.n_vars(), texture.n_vars(), "{context}");
    assert_eq!(again.data(), texture.data(), "{context}");
    for index in 0..texture.n_records() {
        let (x, y) = (texture.record(index), again.record(index));
        assert_eq!(x[..7], y[..7], "{context}\nrecord {index}");
    }
    listing
}

#[test]
fn disassembly_compiles_to_an_equivalent_program() {
    for (name, source) in CORPUS.iter().chain(EXAMPLES) {
        let texture = compile_ok(source);
        round_trip(name, source, &texture, DisasmOptions::default());
        round_trip(name, source, &texture, DisasmOptions { show_words: true, ignore_names: false });
        round_trip(name, source, &texture, DisasmOptions { show_words: false, ignore_names: true });
        round_trip(name, source, &texture.without_names(), DisasmOptions::default());
    }
}

#[test]
fn disassembly_with_names() {
    let source = "SET count 3\ntop:\nCOLOR 255 0 0\nTXT 0 0 hi # there\nIF count > 0 down\nHALT\ndown: SUB count count 1\nJMP top\nend:";
    let texture = compile_ok(source);
    expect![[r#"
        ; gvpie machine texture v1: 7 records, 1 variables, 10 data bytes
        SET count 3
        top:
        COLOR 255 0 0
        TXT 0 0 hi # there
        IF count > 0 down
        HALT
        down:
        SUB count count 1
        JMP top
        end:
    "#]]
    .assert_eq(&disassemble(&texture, DisasmOptions::default()));
    // The same listing, with generated names, for a texture without metadata or when asked.
    let generated = expect![[r#"
        ; gvpie machine texture v1: 7 records, 1 variables, 10 data bytes
        SET v0 3
        L1:
        COLOR 255 0 0
        TXT 0 0 hi # there
        IF v0 > 0 L5
        HALT
        L5:
        SUB v0 v0 1
        JMP L1
    "#]];
    generated.assert_eq(&disassemble(&texture.without_names(), DisasmOptions::default()));
    generated.assert_eq(&disassemble(&texture, DisasmOptions { show_words: false, ignore_names: true }));
}

#[test]
fn disassembly_shows_words_on_request() {
    let texture = compile_ok("SET x -1\nIF x != 2 end\nend:");
    expect![[r#"
        ; gvpie machine texture v1: 2 records, 1 variables, 0 data bytes
        ; 0000: 00000106 00000000 ffffffff 00000000 00000000 00000000 00000000 00000001
        SET x -1
        ; 0008: 00010112 00000000 00000002 00000002 00000000 00000000 00000000 00000002
        IF x != 2 end
        end:
    "#]]
    .assert_eq(&disassemble(&texture, DisasmOptions { show_words: true, ignore_names: false }));
}

#[test]
fn optional_operands_at_their_defaults_are_left_out() {
    let texture =
        compile_ok("COLOR 1 2 3 255\nCOLOR 1 2 3 4\nCLS\nCLS 0 0 0\nCLS 0 0 1\nCLS 5 0 0\nSET z 0\nCLS z z z");
    expect![[r#"
        ; gvpie machine texture v1: 8 records, 1 variables, 0 data bytes
        COLOR 1 2 3
        COLOR 1 2 3 4
        CLS
        CLS
        CLS 0 0 1
        CLS 5
        SET z 0
        CLS z z z
    "#]]
    .assert_eq(&disassemble(&texture, DisasmOptions::default()));
}

#[test]
fn invalid_records_are_listed_as_comments() {
    let mut words = compile_ok("PSET 1 2\nHALT").without_names().words().to_vec();
    words[RECORD_WORDS] = 99;
    let texture = Texture::from_words(words).expect("the header is fine");
    expect![[r#"
        ; gvpie machine texture v1: 2 records, 0 variables, 0 data bytes
        ; record 0 is invalid (unknown opcode 99): 00000063
        HALT
    "#]]
    .assert_eq(&disassemble(&texture, DisasmOptions::default()));
}

#[test]
fn texts_that_source_cannot_spell_are_listed_as_comments() {
    // A hand-made texture whose text holds a newline: listing it as TXT would smuggle an extra
    // instruction into the listing.
    let source = "TXT 0 0 ABCDEFGHIJ\nHALT";
    let mut words = compile_ok(source).without_names().words().to_vec();
    let data = RECORD_WORDS * 3;
    words[data] = u32::from_le_bytes(*b"A\nRE");
    words[data + 1] = u32::from_le_bytes(*b"T 0 ");
    let texture = Texture::from_words(words).expect("the header is fine");
    let listing = disassemble(&texture, DisasmOptions::default());
    expect![[r#"
        ; gvpie machine texture v1: 2 records, 0 variables, 10 data bytes
        ; record 0 is TXT 0 0 with text that source cannot spell: "A\nRET 0 IJ"
        HALT
    "#]]
    .assert_eq(&listing);
    assert!(gvpie_pxl::compile(&listing).is_ok());
}

#[test]
fn names_survive_in_the_metadata() {
    let texture = compile_ok("start: SET speed 2\nADD pos pos speed\nend: JMP start");
    assert_eq!(
        texture.names(),
        Some(Names {
            variables: vec!["speed".to_string(), "pos".to_string()],
            labels: vec![("start".to_string(), 0), ("end".to_string(), 2)],
        })
    );
    assert_eq!(texture.without_names().names(), None);
    // The metadata is plain text after the data section.
    let bytes = texture.to_bytes();
    let text = String::from_utf8_lossy(&bytes[RECORD_WORDS * 4 * 4..]);
    assert!(text.starts_with("v speed\nv pos\nl start 0\nl end 2\n"), "{text:?}");
    // Stripping changes nothing that runs.
    let a = run(&texture, &config()).expect("valid size");
    let b = run(&texture.without_names(), &config()).expect("valid size");
    assert_same_run(&a, &b, true, "without_names");
}

#[test]
fn unusable_names_are_replaced_by_generated_ones() {
    // Metadata naming two variables the same: the disassembler falls back to v0, v1.
    let texture = compile_ok("SET a 1\nSET b 2");
    let mut words = texture.words().to_vec();
    let meta_start = RECORD_WORDS * 3;
    let meta: Vec<u8> = words[meta_start..].iter().flat_map(|w| w.to_le_bytes()).collect();
    assert!(meta.starts_with(b"v a\nv b\n"));
    words[meta_start + 1] = u32::from_le_bytes(*b"v a\n");
    let patched: Vec<u8> = words[meta_start..].iter().flat_map(|w| w.to_le_bytes()).collect();
    assert!(patched.starts_with(b"v a\nv a\n"), "{:?}", String::from_utf8_lossy(&patched));
    let texture = Texture::from_words(words).expect("the header is fine");
    expect![[r#"
        ; gvpie machine texture v1: 2 records, 2 variables, 0 data bytes
        SET v0 1
        SET v1 2
    "#]]
    .assert_eq(&disassemble(&texture, DisasmOptions::default()));
}

// ## Header

#[test]
fn header_fields() {
    let texture = compile_ok("SET a 1\nTXT 0 0 hello\nTXT 0 8 hello\nTXT 0 16 world!\nADD b a a");
    let words = texture.words();
    assert_eq!(MAGIC, 0x544C_5850);
    assert_eq!(&texture.to_bytes()[..4], b"PXLT");
    assert_eq!(words[0], MAGIC);
    assert_eq!(TEXTURE_VERSION, 2);
    assert_eq!(words[1], 1 | 1 << 8, "version 1 (no SIZE), metadata present");
    assert_eq!(words[2], 5, "records");
    assert_eq!(words[3], 11, "data bytes: the two identical texts are stored once");
    assert_eq!(words[4], 2, "variables");
    assert_eq!(words[5], "v a\nv b\n".len() as u32, "metadata bytes");
    assert_eq!(&words[6..8], [0, 0], "reserved");
    // Rows: header, 5 records, 1 data row (11 bytes = 3 words), 1 metadata row.
    assert_eq!(texture.height(), 1 + 5 + 1 + 1);
    assert_eq!(words.len(), texture.height() * RECORD_WORDS);
    assert_eq!(texture.data(), b"helloworld!");
    assert_eq!(texture.code_words().len(), 5 * 8 + 3);
    let stripped = texture.without_names();
    assert_eq!(stripped.words()[1], 1);
    assert_eq!(stripped.words()[5], 0);
    assert_eq!(stripped.height(), 1 + 5 + 1);
    // An empty program is just the header.
    let empty = compile_ok("");
    assert_eq!(empty.without_names().words(), [MAGIC, 1, 0, 0, 0, 0, 0, 0]);
}

// ## Records

#[test]
fn record_words() {
    let texture = compile_ok(
        "RECT x 2 -3 0xFFFFFFFF\n\nIF x <= y end\nTXT 7 8 hi\nCOLOR 1 2 3\nCLS\nLOOP i 10 end\nTXT 0 0 hi\nend:",
    );
    let records: Vec<String> = (0..texture.n_records())
        .map(|i| texture.record(i).iter().map(|w| format!("{w:08x}")).collect::<Vec<_>>().join(" "))
        .collect();
    expect![[r#"
        00000103 00000000 00000002 fffffffd ffffffff 00000000 00000000 00000001
        00030312 00000000 00000001 00000007 00000000 00000000 00000000 00000003
        00000002 00000007 00000008 00000000 00000002 00000000 00000000 00000004
        00000005 00000001 00000002 00000003 000000ff 00000000 00000000 00000005
        00000019 00000000 00000000 00000000 00000000 00000000 00000000 00000006
        00000121 00000002 0000000a 00000007 00000000 00000000 00000000 00000007
        00000002 00000000 00000000 00000000 00000002 00000000 00000000 00000008"#]]
    .assert_eq(&records.join("\n"));
}

#[test]
fn records_decode() {
    let texture = compile_ok("SET v 5\nIF v < 9 end\nTXT 1 2 abc\nend:");
    let mut literals = [0i32; 6];
    let decode = |index: usize, literals: &mut [i32; 6]| {
        decode_record(&texture.record(index), texture.n_vars(), texture.n_records(), texture.data_len(), 100, literals)
    };
    // SET v 5: slot 0 is variable 0; slot 1 is a literal kept in register 100 + 1.
    let set = decode(0, &mut literals).expect("valid");
    assert_eq!((set.op, set.aux, set.line), (Some(gvpie_pxl::Op::Set), 0, 1));
    assert_eq!(set.slots[..2], [0, 101]);
    assert_eq!(literals[1], 5);
    let branch = decode(1, &mut literals).expect("valid");
    assert_eq!((branch.op, branch.aux), (Some(gvpie_pxl::Op::If), gvpie_pxl::Cmp::Lt as u8));
    assert_eq!(branch.slots[..3], [0, 101, 3]);
    assert_eq!(literals[1], 9);
    let text = decode(2, &mut literals).expect("valid");
    assert_eq!(text.slots[..4], [100, 101, 0, 3]);
    assert_eq!(literals[..2], [1, 2]);
    assert_eq!(gvpie_pxl::slot_count(gvpie_pxl::Op::Txt), 4);
    assert_eq!(gvpie_pxl::slot_count(gvpie_pxl::Op::If), 3);
    assert_eq!(gvpie_pxl::slot_count(gvpie_pxl::Op::Halt), 0);
}

#[test]
fn invalid_records_are_refused_by_the_decoder() {
    let valid_pset = [4, 1, 2, 0, 0, 0, 0, 9];
    let cases: [([u32; 8], RecordError); 9] = [
        ([0, 0, 0, 0, 0, 0, 0, 1], RecordError::UnknownOpcode(0)),
        ([34, 0, 0, 0, 0, 0, 0, 1], RecordError::UnknownOpcode(34)),
        ([4 | 1 << 24, 1, 2, 0, 0, 0, 0, 1], RecordError::BadAux),
        ([18 | 6 << 16, 1, 2, 0, 0, 0, 0, 1], RecordError::BadAux),
        ([4 | 4 << 8, 1, 2, 0, 0, 0, 0, 1], RecordError::BadMode(2)),
        ([6, 0, 2, 0, 0, 0, 0, 1], RecordError::BadMode(0)),
        ([4 | 1 << 8, 1, 2, 0, 0, 0, 0, 1], RecordError::BadVariable(0)),
        ([17, 3, 0, 0, 0, 0, 0, 1], RecordError::BadTarget(0)),
        ([2, 0, 0, 1, 4, 0, 0, 1], RecordError::BadText),
    ];
    let mut literals = [0; 6];
    // One variable, two records, four data bytes.
    assert!(decode_record(&valid_pset, 1, 2, 4, 0, &mut literals).is_ok());
    assert!(decode_record(&[17, 2, 0, 0, 0, 0, 0, 1], 1, 2, 4, 0, &mut literals).is_ok(), "a jump to the end");
    assert!(decode_record(&[2, 0, 0, 0, 4, 0, 0, 1], 1, 2, 4, 0, &mut literals).is_ok(), "the whole data");
    for (record, why) in cases {
        assert_eq!(decode_record(&record, 1, 2, 4, 0, &mut literals), Err(why), "{record:?}");
    }
    assert_eq!(RecordError::BadMode(2).to_string(), "operand 3 has the wrong mode");
    assert_eq!(RecordError::UnknownOpcode(0).to_string(), "unknown opcode 0");
}

// ## Reading textures

#[test]
fn bytes_round_trip() {
    for (name, source) in CORPUS {
        let texture = compile_ok(source);
        assert_eq!(Texture::from_bytes(&texture.to_bytes()).as_ref(), Ok(&texture), "{name}");
        assert_eq!(Texture::from_words(texture.words().to_vec()).as_ref(), Ok(&texture), "{name}");
    }
}

#[test]
fn reading_refuses_bad_textures() {
    let good = compile_ok("TXT 0 0 hello\nHALT").to_bytes();
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        edit(&mut bytes);
        Texture::from_bytes(&bytes).map(|_| ()).map_err(|e| e.to_string())
    };
    assert_eq!(with(&|_| {}), Ok(()));
    assert_eq!(Texture::from_bytes(&[]).map(|_| ()), Err(TextureError::BadLength(0)));
    assert_eq!(
        with(&|b| b.truncate(33)),
        Err("machine texture length 33 is not a whole number of 8-texel rows".to_string())
    );
    assert_eq!(
        with(&|b| b.push(0)),
        Err("machine texture length 129 is not a whole number of 8-texel rows".to_string())
    );
    assert_eq!(
        with(&|b| set_word(b, 0, 0x544C_5851)),
        Err("not a gvpie machine texture (magic PXLT missing)".to_string())
    );
    assert_eq!(
        with(&|b| b[..4].copy_from_slice(b"PNG\0")),
        Err("not a gvpie machine texture (magic PXLT missing)".to_string())
    );
    assert_eq!(
        with(&|b| set_word(b, 1, 3 | 1 << 8)),
        Err("machine texture version 3 is newer than this gvpie supports (2); upgrade gvpie".to_string())
    );
    assert_eq!(
        Texture::from_bytes(&{
            let mut b = good.clone();
            b[4] = 200;
            b
        }),
        Err(TextureError::NewerVersion { found: 200 })
    );
    assert_eq!(with(&|b| set_word(b, 1, 0)), Err("machine texture header is invalid: version 0".to_string()));
    // Truncated, or an extra row: the counts disagree with the size.
    let disagree = Err("machine texture header is invalid: counts disagree with the texture size".to_string());
    assert_eq!(with(&|b| b.truncate(b.len() - 32)), disagree);
    assert_eq!(with(&|b| b.extend_from_slice(&[0; 32])), disagree);
    assert_eq!(with(&|b| set_word(b, 2, 3)), disagree);
    assert_eq!(with(&|b| set_word(b, 3, 100)), disagree);
    assert_eq!(with(&|b| set_word(b, 5, 1000)), disagree);
    assert_eq!(
        with(&|b| set_word(b, 2, u32::MAX)),
        Err("machine texture header is invalid: too many records".to_string())
    );
    assert_eq!(
        with(&|b| set_word(b, 4, 65_537)),
        Err("machine texture header is invalid: too many variables".to_string())
    );
    assert_eq!(
        with(&|b| set_word(b, 3, u32::MAX)),
        Err("machine texture header is invalid: data or metadata too large".to_string())
    );
    // Only the header row: no records, no data.
    let mut header = good[..32].to_vec();
    header[8..24].fill(0);
    header[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(Texture::from_bytes(&header).is_ok());
}

fn set_word(bytes: &mut [u8], index: usize, value: u32) {
    bytes[index * 4..index * 4 + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn a_texture_with_zero_variables_but_a_variable_operand_traps_when_run() {
    // Hand-made: SET with a variable index but no variables declared.
    let words = vec![MAGIC, 1, 1, 0, 0, 0, 0, 0, 6 | 1 << 8, 0, 5, 0, 0, 0, 0, 7];
    let texture = Texture::from_words(words).expect("the header is fine");
    let result = run(&texture, &config()).expect("valid size");
    assert_eq!(crate::util::outcome(&result), "invalid_instruction at line 7 (record 0) after 1 cycles");
}

// ## The canvas-size declaration (`SIZE`, texture version 2)

#[test]
fn size_directive_is_a_version_2_header_word_and_costs_nothing() {
    let texture = compile_ok("# a cat\nSIZE 256 170\nRECT 0 0 300 300\nHALT");
    let words = texture.words();
    assert_eq!(words[1] & 0xFF, 2, "a declared size makes a version-2 texture");
    assert_eq!(words[6], 256 | 170 << 16);
    assert_eq!(texture.canvas_size(), Some((256, 170)));
    assert_eq!(texture.n_records(), 2, "SIZE is no instruction");
    assert_eq!(texture.without_names().canvas_size(), Some((256, 170)));
    // Round trips: bytes, disassembly, the formatter.
    let back = Texture::from_bytes(&texture.to_bytes()).expect("reads back");
    assert_eq!(back.canvas_size(), Some((256, 170)));
    let source = disassemble(&texture, DisasmOptions::default());
    assert!(source.lines().any(|l| l == "SIZE 256 170"), "{source}");
    assert_eq!(compile_ok(&source).words(), texture.words());
    assert_eq!(gvpie_pxl::format("size 4 2 ; small\nHALT").expect("formats"), "SIZE 4 2 ; small\nHALT\n");
    // The run: the declared size, through Config::for_texture; 2 cycles, like without SIZE.
    let config = Config::for_texture(&texture);
    assert_eq!((config.width, config.height), (256, 170));
    let result = gvpie_pxl::run(&texture, &config).expect("runs");
    assert_eq!((result.cycles, result.canvas.width(), result.canvas.height()), (2, 256, 170));
    // The caller's size wins.
    let asked = Config::default().sized_for(&texture, Some((8, 4)));
    assert_eq!((asked.width, asked.height), (8, 4));
    // Without SIZE: version 1, word 6 zero, the default size.
    let plain = compile_ok("HALT");
    assert_eq!((plain.words()[1] & 0xFF, plain.words()[6], plain.canvas_size()), (1, 0, None));
    assert_eq!((Config::for_texture(&plain).width, Config::for_texture(&plain).height), (128, 64));
}

#[test]
fn size_directive_errors() {
    let messages = |source: &str| -> Vec<String> {
        gvpie_pxl::compile(source).err().unwrap_or_default().iter().map(|d| d.headline()).collect()
    };
    assert_eq!(messages("SIZE 0 10"), ["1:6: SIZE width must be an integer from 1 to 4096, found '0'"]);
    assert_eq!(messages("SIZE 10 4097"), ["1:9: SIZE height must be an integer from 1 to 4096, found '4097'"]);
    assert_eq!(messages("SIZE w 10"), ["1:6: SIZE width must be an integer from 1 to 4096, found 'w'"]);
    assert_eq!(messages("SIZE 10"), ["1:1: SIZE expects 2 operands (width height), found 1"]);
    assert_eq!(messages("SIZE 1 2 3"), ["1:10: SIZE expects 2 operands (width height), found 3"]);
    assert_eq!(messages("SIZE 1 2\nSIZE 1 2"), ["2:1: duplicate SIZE (first declared at 1:1)"]);
    assert_eq!(messages("SIZ 1 2"), ["1:1: unknown mnemonic 'SIZ' (did you mean SIZE?)"]);
    // A version-2 header with an impossible size is refused.
    let mut words = compile_ok("SIZE 5 5").words().to_vec();
    words[6] = 5000 | 5 << 16;
    assert_eq!(
        Texture::from_words(words).map(|_| ()).map_err(|e| e.to_string()),
        Err("machine texture header is invalid: declared canvas size out of range (1x1 to 4096x4096)".to_string())
    );
}

#[test]
fn declared_size_scans_like_the_parser() {
    for (source, want) in [
        ("SIZE 3 4\nHALT", Some((3, 4))),
        ("# c\nstart: size 5 6 ; x\nHALT", Some((5, 6))),
        ("a:SIZE 7 8", Some((7, 8))),
        ("TXT 0 0 SIZE 1 1\nHALT", None),
        ("SIZEX 1 1", None),
        ("SIZE 0 1", None),
        ("HALT", None),
        ("\u{e9}\u{e9}\u{e9}\nSIZE 2 2", Some((2, 2))),
    ] {
        assert_eq!(gvpie_pxl::declared_size(source), want, "{source:?}");
        if let Ok(texture) = gvpie_pxl::compile(source) {
            assert_eq!(texture.canvas_size(), want, "{source:?}");
        }
    }
}

/// The assembler's textures say their records are valid (the GPU then skips decoding them);
/// textures read from words do not, whatever their words; equality is by words only.
#[test]
fn assembled_textures_know_their_records_are_valid() {
    let compiled = gvpie_pxl::compile("SET a 3\nl:\nCOLOR a 2 1\nLOOP a 9 l\nTXT 0 0 hi")
        .unwrap_or_else(|d| panic!("{}", gvpie_pxl::render_all(&d)));
    assert!(compiled.records_valid());
    assert!(compiled.without_names().records_valid());
    let read = Texture::from_words(compiled.words().to_vec()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!read.records_valid());
    assert_eq!(read, compiled);
    let stripped = read.without_names();
    assert!(!stripped.records_valid());
    assert_eq!(stripped, compiled.without_names());
}
