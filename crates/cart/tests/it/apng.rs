//! Animated PNGs, checked by decoding them with the `png` crate.

use gvpie_cart::{Canvas, CartError, encode_apng};

fn solid(w: u32, h: u32, rgb: [u8; 3]) -> Canvas {
    let rgba: Vec<u8> = (0..w * h).flat_map(|_| [rgb[0], rgb[1], rgb[2], 255]).collect();
    Canvas::from_rgba8(w, h, &rgba).expect("valid size")
}

#[test]
fn three_frames_loop_forever_with_the_delay() {
    let frames = [crate::helpers::screen(5, 4), solid(5, 4, [0, 255, 0]), solid(5, 4, [0, 0, 255])];
    let apng = encode_apng(&frames, 120, 3).expect("encodes");

    let decoder = png::Decoder::new(std::io::Cursor::new(&apng));
    let mut reader = decoder.read_info().expect("decodes");
    let actl = reader.info().animation_control().copied().expect("has acTL");
    assert_eq!((actl.num_frames, actl.num_plays), (3, 0), "3 frames, looping forever");
    assert_eq!((reader.info().width, reader.info().height), (15, 12));

    let mut buf = vec![0; reader.output_buffer_size().expect("sane size")];
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            reader.next_frame_info().expect("another frame");
        }
        let info = reader.next_frame(&mut buf).expect("frame decodes");
        assert_eq!((info.width, info.height), (15, 12));
        assert_eq!(buf[..info.buffer_size()], frame.scaled(3).to_rgba8(), "frame {i} pixels");
        let fctl = reader.info().frame_control().copied().expect("has fcTL");
        assert_eq!((fctl.delay_num, fctl.delay_den), (120, 1000), "frame {i} delay");
    }
}

#[test]
fn one_frame_is_a_still_png() {
    let frame = solid(3, 3, [9, 8, 7]);
    let png = encode_apng(std::slice::from_ref(&frame), 100, 2).expect("encodes");
    let reader = png::Decoder::new(std::io::Cursor::new(&png)).read_info().expect("decodes");
    assert!(reader.info().animation_control().is_none());
    assert_eq!(png, gvpie_cart::encode_png(&frame, 2));
}

#[test]
fn frames_must_exist_and_agree_in_size() {
    assert_eq!(encode_apng(&[], 100, 1), Err(CartError::NoFrames));
    let frames = [solid(4, 4, [0; 3]), solid(4, 4, [1; 3]), solid(4, 5, [2; 3])];
    let err = encode_apng(&frames, 100, 1).expect_err("frame 2 differs");
    assert_eq!(err.to_string(), "animation frame 2 is 4x5 but frame 0 is 4x4; all frames must be the same size");
}
