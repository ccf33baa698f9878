//! A literal, slow transcription of the documented coverage rules.
//!
//! Each function tests every canvas pixel against the rule exactly as the
//! module docs state it, with no bounding boxes or row solving, so that the
//! property tests can compare the real (fast) implementation against it. It
//! does not blend: it only says which pixels a call covers.

use gvpie_raster::{COORD_LIMIT, FONT, GLYPH_ADVANCE};

/// Which pixels of a `w` x `h` canvas a call covers, row-major.
pub type Cover = Vec<bool>;

fn clamp(v: i32) -> i32 {
    v.clamp(-COORD_LIMIT, COORD_LIMIT)
}

fn each(w: u32, h: u32, mut f: impl FnMut(i64, i64) -> bool) -> Cover {
    let mut out = Vec::new();
    for py in 0..i64::from(h) {
        for px in 0..i64::from(w) {
            out.push(f(px, py));
        }
    }
    out
}

pub fn rect(w: u32, h: u32, x: i32, y: i32, rw: i32, rh: i32) -> Cover {
    let (x, y, rw, rh) = (i64::from(x), i64::from(y), i64::from(rw), i64::from(rh));
    each(w, h, |px, py| x <= px && px < x + rw && y <= py && py < y + rh)
}

pub fn circle(w: u32, h: u32, cx: i32, cy: i32, r: i32, filled: bool) -> Cover {
    let (cx, cy, r) = (i64::from(clamp(cx)), i64::from(clamp(cy)), i64::from(r.min(COORD_LIMIT)));
    let inside = |px: i64, py: i64| (px - cx).pow(2) + (py - cy).pow(2) <= r * r;
    each(w, h, |px, py| {
        r >= 0
            && inside(px, py)
            && (filled || !inside(px - 1, py) || !inside(px + 1, py) || !inside(px, py - 1) || !inside(px, py + 1))
    })
}

pub fn triangle(w: u32, h: u32, v: [(i32, i32); 3]) -> Cover {
    let v = v.map(|(x, y)| (i64::from(clamp(x)), i64::from(clamp(y))));
    let [v0, mut v1, mut v2] = v;
    let area2 = (v1.0 - v0.0) * (v2.1 - v0.1) - (v1.1 - v0.1) * (v2.0 - v0.0);
    if area2 < 0 {
        std::mem::swap(&mut v1, &mut v2);
    }
    let edges = [(v0, v1), (v1, v2), (v2, v0)];
    each(w, h, |px, py| {
        area2 != 0 && edges.iter().all(|&((ax, ay), (bx, by))| (bx - ax) * (py - ay) - (by - ay) * (px - ax) >= 0)
    })
}

pub fn text(w: u32, h: u32, x: i32, y: i32, text: &[u8]) -> Cover {
    let (x, y) = (i64::from(x), i64::from(y));
    each(w, h, |px, py| {
        // Only the byte whose cell spans px can cover it.
        let rel = px - x;
        let n = rel.div_euclid(i64::from(GLYPH_ADVANCE));
        let (c, r) = (rel - n * i64::from(GLYPH_ADVANCE), py - y);
        let Ok(n) = usize::try_from(n) else { return false };
        let Some(&byte) = text.get(n) else { return false };
        if !(33..=126).contains(&byte) || !(0..5).contains(&c) || !(0..7).contains(&r) {
            return false;
        }
        let row = FONT[usize::from(byte - 32)][usize::try_from(r).unwrap_or(0)];
        (row >> (4 - c)) & 1 == 1
    })
}

pub fn line(w: u32, h: u32, x0: i32, y0: i32, x1: i32, y1: i32) -> Cover {
    let (x0, y0, x1, y1) = (clamp(x0), clamp(y0), clamp(x1), clamp(y1));
    // Walk the whole unclipped line along its major axis, in i64.
    let mut points = Vec::new();
    let (dx, dy) = (i64::from(x1 - x0), i64::from(y1 - y0));
    if dx.abs() >= dy.abs() {
        let (a, b) = if x0 <= x1 { ((x0, y0), (x1, y1)) } else { ((x1, y1), (x0, y0)) };
        let (dx, dy) = (i64::from(b.0 - a.0), i64::from(b.1 - a.1));
        if dx == 0 {
            points.push((i64::from(a.0), i64::from(a.1)));
        }
        for t in 0..=dx.max(0) {
            if dx > 0 {
                let y = i64::from(a.1) + (2 * dy * t + dx).div_euclid(2 * dx);
                points.push((i64::from(a.0) + t, y));
            }
        }
    } else {
        let (a, b) = if y0 <= y1 { ((x0, y0), (x1, y1)) } else { ((x1, y1), (x0, y0)) };
        let (dx, dy) = (i64::from(b.0 - a.0), i64::from(b.1 - a.1));
        for t in 0..=dy {
            let x = i64::from(a.0) + (2 * dx * t + dy).div_euclid(2 * dy);
            points.push((x, i64::from(a.1) + t));
        }
    }
    let (w, h) = (i64::from(w), i64::from(h));
    let mut cover = vec![false; usize::try_from(w * h).unwrap_or(0)];
    for (x, y) in points {
        if (0..w).contains(&x) && (0..h).contains(&y) {
            cover[usize::try_from(y * w + x).unwrap_or(0)] = true;
        }
    }
    cover
}
