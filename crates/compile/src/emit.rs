//! Emission: a laid-out scene → readable PXL source, one `#` comment per described object.
//!
//! Each kind of object is a few primitives (`CIRCF`, `RECT`, `TRI`, `LINE`, `TXT`) drawn inside
//! its box; composed objects (sun, house, tree, ...) use fixed secondary colours for their parts
//! and the object's colour for the main part. Coordinates are integers computed here, so the
//! program has no variables and no loops: what you read is what is drawn.

use gvpie_raster::Rgba;

use crate::colors;
use crate::layout::{Layout, Rect, wrap_text};
use crate::scene::{Kind, LineSpec, Object, Scene};

/// The PXL program for `scene` laid out as `layout`; `description` goes in the header comment.
pub(crate) fn emit(description: &str, scene: &Scene, layout: &Layout) -> String {
    let mut out = Emitter { source: String::new(), color: None, width: layout.width, height: layout.height };
    let one_line: String = description.chars().map(|c| if c.is_control() { ' ' } else { c }).take(200).collect();
    out.line(&format!("# gvpie compile: {}", one_line.trim()));
    // The canvas it was laid out for, so `gvpie run` and the API draw it at that size.
    out.line(&format!("SIZE {} {}", layout.width, layout.height));
    let background = scene
        .objects
        .iter()
        .rev()
        .find(|o| o.kind == Kind::Background)
        .map_or(Rgba::BLACK, |o| o.color.unwrap_or(Kind::Background.default_color()));
    for item in &layout.items {
        let object = &scene.objects[item.object];
        let color = object_color(scene, item.object, background);
        out.source.push('\n');
        out.comment(object, color, &item.boxes);
        for (copy, rect) in item.boxes.iter().enumerate() {
            if copy > 0 && item.boxes.len() > 1 && matches!(object.kind, Kind::Text) {
                continue;
            }
            out.draw(object, color, *rect, item.ends, background);
        }
    }
    out.source.push('\n');
    out.line("HALT");
    out.source
}

/// The colour an object is drawn in: its own, else its kind's; text inside a light shape is black.
pub(crate) fn object_color(scene: &Scene, index: usize, background: Rgba) -> Rgba {
    let object = &scene.objects[index];
    let mut color = object.color.unwrap_or_else(|| object.kind.default_color());
    if object.color.is_none() {
        let behind = match object.relation {
            Some((crate::scene::Relation::Inside, target)) => {
                scene.objects.get(target).map(|t| t.color.unwrap_or_else(|| t.kind.default_color()))
            }
            _ if object.kind != Kind::Background => Some(background),
            _ => None,
        };
        if let Some(behind) = behind
            && distance(behind, color) < 60
        {
            // White on white would be invisible: use black, or white on a dark colour.
            color = if luminance(behind) > 140 { Rgba::BLACK } else { Rgba::WHITE };
        }
    }
    Rgba { a: object.alpha, ..color }
}

fn distance(a: Rgba, b: Rgba) -> u32 {
    let d = |x: u8, y: u8| u32::from(x.abs_diff(y));
    d(a.r, b.r) + d(a.g, b.g) + d(a.b, b.b)
}

fn luminance(c: Rgba) -> u32 {
    (u32::from(c.r) * 3 + u32::from(c.g) * 6 + u32::from(c.b)) / 10
}

struct Emitter {
    source: String,
    color: Option<Rgba>,
    width: i32,
    height: i32,
}

/// The unit star: ten points (outer, inner, ...) from the top, x and y in thousandths.
const STAR_POINTS: [(i32, i32); 10] = [
    (0, -1000),
    (225, -309),
    (951, -309),
    (363, 118),
    (588, 809),
    (0, 382),
    (-588, 809),
    (-363, 118),
    (-951, -309),
    (-225, -309),
];

/// Petal directions of a flower, in thousandths.
const PETALS: [(i32, i32); 6] = [(1000, 0), (500, 866), (-500, 866), (-1000, 0), (-500, -866), (500, -866)];

impl Emitter {
    fn line(&mut self, text: &str) {
        self.source.push_str(text);
        self.source.push('\n');
    }

    fn comment(&mut self, object: &Object, color: Rgba, boxes: &[Rect]) {
        let what = if object.words.is_empty() { object.kind.noun().to_string() } else { object.words.clone() };
        let what: String = what.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let first = boxes.first().copied().unwrap_or(Rect { x: 0, y: 0, w: 1, h: 1 });
        let copies = if boxes.len() > 1 { format!("{} copies, first ", boxes.len()) } else { String::new() };
        let alpha = if color.a == 255 { String::new() } else { format!(", alpha {}", color.a) };
        self.line(&format!(
            "# {what}: {} {}{alpha}, {copies}{}x{} at {},{}",
            colors::describe(color),
            object.kind.noun(),
            first.w,
            first.h,
            first.x,
            first.y
        ));
    }

    fn set_color(&mut self, color: Rgba) {
        if self.color == Some(color) {
            return;
        }
        self.color = Some(color);
        if color.a == 255 {
            self.line(&format!("COLOR {} {} {}", color.r, color.g, color.b));
        } else {
            self.line(&format!("COLOR {} {} {} {}", color.r, color.g, color.b, color.a));
        }
    }

    fn rect(&mut self, x: i32, y: i32, w: i32, h: i32) {
        if w > 0 && h > 0 {
            self.line(&format!("RECT {x} {y} {w} {h}"));
        }
    }

    fn disc(&mut self, x: i32, y: i32, r: i32) {
        self.line(&format!("CIRCF {x} {y} {}", r.max(0)));
    }

    fn tri(&mut self, points: [(i32, i32); 3]) {
        let [(x0, y0), (x1, y1), (x2, y2)] = points;
        self.line(&format!("TRI {x0} {y0} {x1} {y1} {x2} {y2}"));
    }

    fn segment(&mut self, x0: i32, y0: i32, x1: i32, y1: i32) {
        self.line(&format!("LINE {x0} {y0} {x1} {y1}"));
    }

    fn frame(&mut self, r: Rect, t: i32) {
        let t = t.min(r.w / 2).min(r.h / 2).max(1);
        self.rect(r.x, r.y, r.w, t);
        self.rect(r.x, r.y + r.h - t, r.w, t);
        self.rect(r.x, r.y + t, t, r.h - 2 * t);
        self.rect(r.x + r.w - t, r.y + t, t, r.h - 2 * t);
    }

    fn draw(
        &mut self,
        object: &Object,
        color: Rgba,
        r: Rect,
        ends: Option<((i32, i32), (i32, i32))>,
        background: Rgba,
    ) {
        let d = r.w.min(r.h);
        let (cx, cy) = (r.x + (r.w - 1) / 2, r.y + (r.h - 1) / 2);
        let radius = (d - 1) / 2;
        let thickness = if object.thick { 2 } else { 1 };
        match object.kind {
            Kind::Circle | Kind::Dot => {
                self.set_color(color);
                let radius = if object.kind == Kind::Dot { radius.max(1) } else { radius };
                if object.outline {
                    for k in 0..thickness {
                        self.line(&format!("CIRC {cx} {cy} {}", radius - k));
                    }
                } else {
                    self.disc(cx, cy, radius);
                }
            }
            Kind::Square | Kind::Rectangle => {
                let (w, h) = if object.kind == Kind::Square { (d, d) } else { (r.w, r.h) };
                let (x, y) = (r.x + (r.w - w) / 2, r.y + (r.h - h) / 2);
                self.set_color(color);
                if object.outline {
                    self.frame(Rect { x, y, w, h }, thickness);
                } else {
                    self.rect(x, y, w, h);
                }
            }
            Kind::Triangle => {
                self.set_color(color);
                let (apex, left, right) = ((cx, r.y), (r.x, r.y + r.h - 1), (r.x + r.w - 1, r.y + r.h - 1));
                if object.outline {
                    self.segment(apex.0, apex.1, left.0, left.1);
                    self.segment(left.0, left.1, right.0, right.1);
                    self.segment(right.0, right.1, apex.0, apex.1);
                } else {
                    self.tri([apex, left, right]);
                }
            }
            Kind::Line => {
                self.set_color(color);
                let ((x0, y0), (x1, y1)) = ends.unwrap_or(match object.line {
                    Some(LineSpec::Vertical) => ((cx, r.y), (cx, r.y + r.h - 1)),
                    Some(LineSpec::Diagonal) => ((r.x, r.y), (r.x + r.w - 1, r.y + r.h - 1)),
                    _ => ((r.x, cy), (r.x + r.w - 1, cy)),
                });
                let vertical = (x1 - x0).abs() < (y1 - y0).abs();
                let n = if object.thick { 3 } else { 1 };
                for k in 0..n {
                    let offset = k - n / 2;
                    if vertical {
                        self.segment(x0 + offset, y0, x1 + offset, y1);
                    } else {
                        self.segment(x0, y0 + offset, x1, y1 + offset);
                    }
                }
            }
            Kind::Border => {
                self.set_color(color);
                let t = match object.size {
                    Some(crate::scene::Size::Pixels { width, .. }) => width,
                    _ if object.thick => 2.max(self.width.min(self.height) / 32),
                    _ => 1,
                };
                let t = t.clamp(1, (self.width.min(self.height) / 4).max(1));
                self.frame(Rect { x: 0, y: 0, w: self.width, h: self.height }, t);
            }
            Kind::Background => {
                if color.a == 255 {
                    self.line(&format!("CLS {} {} {}", color.r, color.g, color.b));
                } else {
                    self.set_color(color);
                    self.rect(0, 0, self.width, self.height);
                }
            }
            Kind::Text => {
                self.set_color(color);
                let text = object.text.as_deref().unwrap_or("");
                for (row, line) in wrap_text(text, r.w).iter().enumerate() {
                    let width = line.len() as i32 * 6 - 1;
                    let x = r.x + (r.w - width) / 2;
                    let y = r.y + row as i32 * 9;
                    if !line.trim().is_empty() {
                        self.line(&format!("TXT {x} {y} {line}"));
                    }
                }
            }
            Kind::Sun => {
                self.set_color(color);
                let core = (d / 3).max(1);
                let ray = radius.max(core);
                let diagonal = ray * 7 / 10;
                for (dx, dy) in [
                    (ray, 0),
                    (-ray, 0),
                    (0, ray),
                    (0, -ray),
                    (diagonal, diagonal),
                    (-diagonal, diagonal),
                    (diagonal, -diagonal),
                    (-diagonal, -diagonal),
                ] {
                    self.segment(cx, cy, cx + dx, cy + dy);
                }
                self.disc(cx, cy, core);
            }
            Kind::Moon => {
                self.set_color(color);
                self.disc(cx, cy, radius);
                if !object.words.split(' ').any(|w| w.eq_ignore_ascii_case("full")) && radius >= 3 {
                    // The crescent: a disc of the background colour bites the moon.
                    self.set_color(background);
                    self.disc(cx + radius / 2 + 1, cy - radius / 4, radius * 4 / 5);
                }
            }
            Kind::Star => {
                self.set_color(color);
                let scale = ((r.w - 1) * 1000 / 1902).min((r.h - 1) * 1000 / 1809).max(1);
                let top = r.y + (r.h - 1 - scale * 1809 / 1000) / 2;
                let center = (cx, top + scale);
                let points: Vec<(i32, i32)> = STAR_POINTS
                    .iter()
                    .map(|(px, py)| (center.0 + px * scale / 1000, center.1 + py * scale / 1000))
                    .collect();
                for k in 0..points.len() {
                    let next = points[(k + 1) % points.len()];
                    if object.outline {
                        self.segment(points[k].0, points[k].1, next.0, next.1);
                    } else {
                        self.tri([center, points[k], next]);
                    }
                }
                if !object.outline && scale < 12 {
                    // Thin triangles of a small star may cover no pixel; lines to the tips keep it one piece.
                    for (x, y) in points.iter().step_by(2) {
                        self.segment(center.0, center.1, *x, *y);
                    }
                }
            }
            Kind::Tree => {
                let trunk_w = (r.w / 5).max(1);
                let trunk_h = (r.h * 2 / 5).max(1);
                self.set_color(part(object, &["trunk"], Rgba::new(139, 69, 19, 255), color.a));
                self.rect(r.x + (r.w - trunk_w) / 2, r.y + r.h - trunk_h, trunk_w, trunk_h);
                self.set_color(color);
                let crown = (r.w.min(r.h * 7 / 10) - 1) / 2;
                self.disc(cx, r.y + crown, crown);
            }
            Kind::House => {
                let roof_h = (r.h * 2 / 5).max(1);
                self.set_color(color);
                self.rect(r.x, r.y + roof_h, r.w, r.h - roof_h);
                let default_roof = if distance(color, Rgba::new(178, 34, 34, 255)) < 80 {
                    Rgba::new(101, 67, 33, 255)
                } else {
                    Rgba::new(178, 34, 34, 255)
                };
                let roof = part(object, &["roof"], default_roof, color.a);
                self.set_color(roof);
                self.tri([(cx, r.y), (r.x, r.y + roof_h - 1), (r.x + r.w - 1, r.y + roof_h - 1)]);
                let (door_w, door_h) = ((r.w / 4).max(1), ((r.h - roof_h) / 2).max(1));
                self.set_color(part(object, &["door"], Rgba::new(101, 67, 33, 255), color.a));
                self.rect(cx - door_w / 2, r.y + r.h - door_h, door_w, door_h);
                let window = (r.w / 5).max(1);
                if r.w >= 10 {
                    self.set_color(part(object, &["window", "windows"], Rgba::new(173, 216, 230, 255), color.a));
                    self.rect(r.x + r.w / 8, r.y + roof_h + (r.h - roof_h) / 5, window, window);
                }
            }
            Kind::Cloud => {
                self.set_color(color);
                let bottom = r.y + r.h - 1;
                let (small, big, middle) = ((r.h / 3).max(1), ((r.h - 1) / 2).max(1), (r.h * 2 / 5).max(1));
                self.disc(r.x + small, bottom - small, small);
                self.disc(r.x + r.w * 9 / 20, bottom - big, big);
                self.disc(r.x + r.w - 1 - middle, bottom - middle, middle);
                self.rect(r.x + small, bottom - small, r.w - small - middle, small + 1);
            }
            Kind::Sea => {
                self.set_color(color);
                self.rect(r.x, r.y, r.w, r.h);
                if r.h >= 8 && r.w >= 12 {
                    self.set_color(lighter(color));
                    for row in [r.y + r.h / 4, r.y + r.h * 2 / 3] {
                        let mut x = r.x + 2 + (row % 5);
                        while x + 4 < r.x + r.w {
                            self.segment(x, row, x + 3, row);
                            x += 10;
                        }
                    }
                }
            }
            Kind::Grass => {
                self.set_color(color);
                if r.h >= 8 {
                    self.rect(r.x, r.y + 3, r.w, r.h - 3);
                    let mut x = r.x + 3;
                    while x < r.x + r.w {
                        self.tri([(x, r.y), (x - 2, r.y + 3), (x + 2, r.y + 3)]);
                        x += 8;
                    }
                } else {
                    self.rect(r.x, r.y, r.w, r.h);
                }
            }
            Kind::Mountain => {
                self.set_color(color);
                self.tri([(cx, r.y), (r.x, r.y + r.h - 1), (r.x + r.w - 1, r.y + r.h - 1)]);
                if r.h >= 9 {
                    let snow = if luminance(color) > 200 {
                        Rgba::new(211, 211, 211, color.a)
                    } else {
                        Rgba::new(255, 255, 255, color.a)
                    };
                    self.set_color(snow);
                    let (cap_h, cap_w) = (r.h / 3, r.w / 6);
                    self.tri([(cx, r.y), (cx - cap_w, r.y + cap_h), (cx + cap_w, r.y + cap_h)]);
                }
            }
            Kind::Heart => {
                self.set_color(color);
                let lobe = (r.w / 4).max(1);
                self.disc(r.x + lobe, r.y + lobe, lobe);
                self.disc(r.x + r.w - 1 - lobe, r.y + lobe, lobe);
                self.tri([(r.x, r.y + lobe), (r.x + r.w - 1, r.y + lobe), (cx, r.y + r.h - 1)]);
            }
            Kind::Smiley => {
                self.set_color(color);
                self.disc(cx, cy, radius);
                let feature = if luminance(color) > 100 {
                    Rgba::new(0, 0, 0, color.a)
                } else {
                    Rgba::new(255, 255, 255, color.a)
                };
                self.set_color(feature);
                let eye = (radius / 6).max(1);
                self.disc(cx - radius / 3, cy - radius / 4, eye);
                self.disc(cx + radius / 3, cy - radius / 4, eye);
                let (a, b) = (radius / 2, radius / 5);
                self.segment(cx - a, cy + b, cx - b, cy + a);
                self.segment(cx - b, cy + a, cx + b, cy + a);
                self.segment(cx + b, cy + a, cx + a, cy + b);
            }
            Kind::Flower => {
                let head = ((r.w - 1) / 2).max(2);
                let head_cy = r.y + head;
                self.set_color(part(object, &["stem"], Rgba::new(34, 139, 34, 255), color.a));
                self.segment(cx, head_cy, cx, r.y + r.h - 1);
                if r.w >= 9 {
                    self.segment(cx + 1, head_cy, cx + 1, r.y + r.h - 1);
                }
                self.set_color(color);
                let petal = (head * 2 / 5).max(1);
                for (px, py) in PETALS {
                    self.disc(cx + px * (head - petal) / 1000, head_cy + py * (head - petal) / 1000, petal);
                }
                let middle = if distance(color, Rgba::new(255, 215, 0, 255)) < 120 {
                    Rgba::new(139, 69, 19, color.a)
                } else {
                    Rgba::new(255, 215, 0, color.a)
                };
                self.set_color(middle);
                self.disc(cx, head_cy, (petal * 4 / 5).max(1));
            }
            Kind::Boat => {
                let hull_top = r.y + r.h * 13 / 20;
                let bottom = r.y + r.h - 1;
                let slant = r.w / 6;
                self.set_color(color);
                self.rect(r.x + slant, hull_top, r.w - 2 * slant, bottom - hull_top + 1);
                self.tri([(r.x, hull_top), (r.x + slant, hull_top), (r.x + slant, bottom)]);
                self.tri([
                    (r.x + r.w - 1, hull_top),
                    (r.x + r.w - 1 - slant, hull_top),
                    (r.x + r.w - 1 - slant, bottom),
                ]);
                self.set_color(part(object, &["mast"], Rgba::new(90, 60, 30, 255), color.a));
                self.segment(cx, r.y, cx, hull_top - 1);
                if hull_top - r.y >= 4 {
                    self.set_color(part(object, &["sail"], Rgba::new(255, 255, 255, 255), color.a));
                    self.tri([(cx + 1, r.y), (cx + 1, hull_top - 2), (cx + r.w / 3, hull_top - 2)]);
                }
            }
        }
    }
}

/// The colour the description gave a part, else `default`, at the object's opacity.
fn part(object: &Object, names: &[&str], default: Rgba, alpha: u8) -> Rgba {
    Rgba { a: alpha, ..object.part(names).unwrap_or(default) }
}

fn lighter(color: Rgba) -> Rgba {
    let mix = |c: u8| ((u16::from(c) + 255) / 2) as u8;
    Rgba::new(mix(color.r), mix(color.g), mix(color.b), color.a)
}
