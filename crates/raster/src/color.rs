//! Colours and the one blending rule.
//!
//! This module defines [`Rgba`], its packing into a `u32`, and [`blend`], the
//! integer "source over opaque destination" rule that every drawing operation
//! uses. It does not know about canvases or shapes.
//!
//! # Packing
//!
//! A colour packs as `r | g << 8 | b << 16 | a << 24`, so that the packed
//! words, written out little-endian, are exactly the RGBA8 bytes a GPU
//! texture or a PNG encoder expects.
//!
//! # Blending
//!
//! The canvas is always opaque. Writing colour `s` with alpha `a` onto a
//! pixel `d`:
//!
//! * `a == 255`: `d = (s.r, s.g, s.b, 255)`;
//! * `a == 0`: `d` is unchanged;
//! * otherwise each colour channel becomes
//!   `(s_c * a + d_c * (255 - a) + 127) / 255` (integer division, which
//!   rounds half up because every term is non-negative), and alpha stays 255.
//!
//! The largest intermediate value is `255 * 255 + 127`, so the GPU backend
//! can do the same arithmetic in `u32` and get the same bits.

/// An 8-bit-per-channel colour with straight (non-premultiplied) alpha.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rgba {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha: 255 is opaque, 0 leaves the canvas unchanged.
    pub a: u8,
}

impl Rgba {
    /// Opaque black, the colour of a new canvas.
    pub const BLACK: Rgba = Rgba::new(0, 0, 0, 255);
    /// Opaque white.
    pub const WHITE: Rgba = Rgba::new(255, 255, 255, 255);

    /// Builds a colour from its four channels.
    pub const fn new(r: u8, g: u8, b: u8, a: u8) -> Rgba {
        Rgba { r, g, b, a }
    }

    /// Packs the colour as `r | g << 8 | b << 16 | a << 24`.
    pub const fn to_u32(self) -> u32 {
        self.r as u32 | (self.g as u32) << 8 | (self.b as u32) << 16 | (self.a as u32) << 24
    }

    /// Unpacks a colour packed by [`Rgba::to_u32`].
    pub const fn from_u32(packed: u32) -> Rgba {
        // `as u8` keeps the low byte, which is exactly the channel wanted.
        Rgba { r: packed as u8, g: (packed >> 8) as u8, b: (packed >> 16) as u8, a: (packed >> 24) as u8 }
    }
}

/// Blends colour `src` onto the packed, opaque pixel `dst` and returns the new
/// packed pixel, following the rule in the [module docs](self).
///
/// The result always has alpha 255, except that `src.a == 0` returns `dst`
/// untouched (which is opaque anyway on a canvas).
#[inline]
pub const fn blend(dst: u32, src: Rgba) -> u32 {
    match src.a {
        255 => src.to_u32() | 0xFF00_0000,
        0 => dst,
        a => {
            let a = a as u32;
            mix(src.r, dst, a, 0) | mix(src.g, dst, a, 8) | mix(src.b, dst, a, 16) | 0xFF00_0000
        }
    }
}

/// One channel of the partial-alpha case of [`blend`], already shifted into
/// place. `a` is in `1..=254`.
#[inline]
const fn mix(s: u8, dst: u32, a: u32, shift: u32) -> u32 {
    let d = (dst >> shift) & 0xFF;
    ((s as u32 * a + d * (255 - a) + 127) / 255) << shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips() {
        let c = Rgba::new(1, 2, 3, 4);
        assert_eq!(c.to_u32(), 0x0403_0201);
        assert_eq!(Rgba::from_u32(0x0403_0201), c);
        assert_eq!(Rgba::BLACK.to_u32(), 0xFF00_0000);
        assert_eq!(Rgba::WHITE.to_u32(), 0xFFFF_FFFF);
    }

    #[test]
    fn blend_exact_numbers() {
        let black = Rgba::BLACK.to_u32();
        // (255*128 + 0*127 + 127) / 255 = 32767 / 255 = 128.
        assert_eq!(Rgba::from_u32(blend(black, Rgba::new(255, 255, 255, 128))), Rgba::new(128, 128, 128, 255));
        // Onto (10, 20, 30): red (255*128 + 10*127 + 127)/255 = 34037/255 = 133,
        // green (0 + 20*127 + 127)/255 = 2667/255 = 10,
        // blue (100*128 + 30*127 + 127)/255 = 16737/255 = 65.
        let d = Rgba::new(10, 20, 30, 255).to_u32();
        assert_eq!(Rgba::from_u32(blend(d, Rgba::new(255, 0, 100, 128))), Rgba::new(133, 10, 65, 255));
        // Alpha 1 barely moves: (255 + 0 + 127)/255 = 1.
        assert_eq!(Rgba::from_u32(blend(black, Rgba::new(255, 0, 0, 1))), Rgba::new(1, 0, 0, 255));
        // Alpha 254: (255*254 + 127)/255 = 254.
        assert_eq!(Rgba::from_u32(blend(black, Rgba::new(255, 0, 0, 254))), Rgba::new(254, 0, 0, 255));
        // Opaque replaces, transparent keeps.
        assert_eq!(blend(d, Rgba::new(7, 8, 9, 255)), Rgba::new(7, 8, 9, 255).to_u32());
        assert_eq!(blend(d, Rgba::new(7, 8, 9, 0)), d);
    }

    #[test]
    fn blend_same_colour_is_identity_and_stays_in_range() {
        // Blending a colour onto itself must not drift, whatever the alpha,
        // because (c*a + c*(255-a) + 127)/255 = (255c + 127)/255 = c.
        for c in [0u8, 1, 127, 128, 254, 255] {
            for a in 0..=255u8 {
                let d = Rgba::new(c, c, c, 255).to_u32();
                assert_eq!(blend(d, Rgba::new(c, c, c, a)), d);
            }
        }
    }
}
