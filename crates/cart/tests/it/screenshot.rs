//! Still PNGs: encoding a canvas, scale clamping, and decoding.

use gvpie_cart::{CartError, decode_png, encode_png};

use crate::helpers::screen;

#[test]
fn encode_decode_round_trip_at_several_scales() {
    let canvas = screen(7, 5);
    for scale in [1, 2, 4] {
        let back = decode_png(&encode_png(&canvas, scale)).expect("decodes");
        assert_eq!(back, canvas.scaled(scale), "scale {scale}");
    }
}

#[test]
fn scale_is_clamped_to_1_through_64() {
    let canvas = screen(2, 1);
    let size = |scale| {
        let c = decode_png(&encode_png(&canvas, scale)).expect("decodes");
        (c.width(), c.height())
    };
    assert_eq!(size(0), (2, 1));
    assert_eq!(size(64), (128, 64));
    assert_eq!(size(1000), (128, 64));
}

#[test]
fn decoded_images_over_4096_are_too_large() {
    let canvas = screen(2049, 1);
    let png = encode_png(&canvas, 2); // 4098 wide
    let err = decode_png(&png).expect_err("too wide for a canvas");
    assert!(matches!(err, CartError::TooLarge { what: "PNG image", .. }), "{err:?}");
}

#[test]
fn palette_and_16_bit_images_decode_too() {
    // A 2x1 palette image: red, then blue.
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 2, 1);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(vec![255, 0, 0, 0, 0, 255]);
    let mut w = enc.write_header().expect("header");
    w.write_image_data(&[0, 1]).expect("data");
    w.finish().expect("finish");
    let c = decode_png(&out).expect("palette decodes");
    assert_eq!(c.to_rgba8(), [255, 0, 0, 255, 0, 0, 255, 255]);

    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 1, 1);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Sixteen);
    let mut w = enc.write_header().expect("header");
    w.write_image_data(&[0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC]).expect("data");
    w.finish().expect("finish");
    let c = decode_png(&out).expect("16-bit decodes");
    assert_eq!(c.to_rgba8(), [0x12, 0x56, 0x9A, 255]);
}
