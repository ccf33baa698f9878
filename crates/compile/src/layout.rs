//! Layout: the scene's objects get pixel boxes on a canvas of a given size.
//!
//! Objects related to each other (`a sun above a house`) form a group laid out around its root;
//! groups with a place (`in the top left corner`, `covering the bottom half`, `at 10 20`) go
//! there, the others share the free part of the canvas side by side. Every group is shrunk until
//! it fits its area and, where it would touch a group placed before it, shrunk further; counted
//! copies spread evenly over their group's box. Nothing here emits PXL.

use crate::scene::{Align, Arrangement, Kind, LineSpec, Object, Placement, Point, Region, Relation, Scene, Size};

/// A box on the canvas; `w` and `h` are at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left column.
    pub x: i32,
    /// Top row.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

impl Rect {
    fn right(self) -> i32 {
        self.x + self.w
    }
    fn bottom(self) -> i32 {
        self.y + self.h
    }
    fn touches(self, other: Rect) -> bool {
        // One pixel of gap is required between separate objects.
        self.x <= other.right() && other.x <= self.right() && self.y <= other.bottom() && other.y <= self.bottom()
    }
}

/// Where each object of a scene is drawn, in drawing order.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Canvas width.
    pub width: i32,
    /// Canvas height.
    pub height: i32,
    /// One entry per object, in the order they are drawn.
    pub items: Vec<Item>,
}

/// One object's copies on the canvas.
#[derive(Debug, Clone)]
pub struct Item {
    /// Index into the scene's objects.
    pub object: usize,
    /// The box of each copy.
    pub boxes: Vec<Rect>,
    /// A line's end points, when they were given as places or pixels.
    pub ends: Option<((i32, i32), (i32, i32))>,
}

/// A box in floating point while a group is being laid out.
#[derive(Debug, Clone, Copy)]
struct Frame {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Frame {
    fn union(self, other: Frame) -> Frame {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Frame { x, y, w: (self.x + self.w).max(other.x + other.w) - x, h: (self.y + self.h).max(other.y + other.h) - y }
    }
    fn shifted(self, dx: f64, dy: f64) -> Frame {
        Frame { x: self.x + dx, y: self.y + dy, ..self }
    }
    fn rect(self) -> Rect {
        let x = self.x.round() as i32;
        let y = self.y.round() as i32;
        Rect { x, y, w: (self.w.round() as i32).max(1), h: (self.h.round() as i32).max(1) }
    }
}

fn region_frame(area: Frame, region: Region) -> Frame {
    let (hw, hh) = ((area.w / 2.0).floor(), (area.h / 2.0).floor());
    match region {
        Region::Whole => area,
        Region::TopHalf => Frame { h: hh, ..area },
        Region::BottomHalf => Frame { y: area.y + hh, h: area.h - hh, ..area },
        Region::LeftHalf => Frame { w: hw, ..area },
        Region::RightHalf => Frame { x: area.x + hw, w: area.w - hw, ..area },
    }
}

/// Whether a scene is a landscape (so suns and clouds go to the sky and houses stand on the ground).
fn is_landscape(scene: &Scene) -> bool {
    scene.objects.iter().any(|o| {
        matches!(
            o.kind,
            Kind::Tree | Kind::House | Kind::Grass | Kind::Sea | Kind::Mountain | Kind::Flower | Kind::Boat
        )
    })
}

fn is_ground(object: &Object) -> bool {
    matches!(object.kind, Kind::Grass | Kind::Sea) && object.placement.is_none() && object.relation.is_none()
}

/// The place an object goes when the description gave none.
fn default_placement(object: &Object, landscape: bool) -> Option<Placement> {
    let sky = |horizontal| Some(Placement::Align { horizontal, vertical: Align::Start, region: Region::Whole });
    match object.kind {
        Kind::Sun if landscape => sky(Align::End),
        Kind::Moon if landscape => sky(Align::Start),
        Kind::Cloud if landscape => sky(Align::Center),
        _ => None,
    }
}

/// How a group's root is placed.
#[derive(Debug, Clone, Copy)]
enum Anchor {
    /// In the shared free area, in cell `cell` of `n_cells`.
    Free { cell: usize, n_cells: usize },
    /// Aligned in an area.
    Aligned { horizontal: Align, vertical: Align, area: Frame },
    /// Its centre at a point.
    At(f64, f64),
    /// Its box is exactly this frame.
    Fixed(Frame),
}

/// Lays `scene` out on a `width` x `height` canvas.
pub fn layout(scene: &Scene, width: u32, height: u32) -> Layout {
    let (width, height) = (width.clamp(1, 4096) as i32, height.clamp(1, 4096) as i32);
    // Many copies with no arrangement said fill a grid shaped like the canvas, not one thin row.
    let mut scene = scene.clone();
    for object in &mut scene.objects {
        if !object.arranged && object.count > 6 && object.arrangement == Arrangement::Row && object.kind != Kind::Line {
            let n = f64::from(object.count);
            let columns = ((n * f64::from(width) / f64::from(height)).sqrt().ceil() as u32).clamp(1, object.count);
            let rows = object.count.div_ceil(columns);
            object.arrangement = Arrangement::Grid { columns, rows };
        }
    }
    let scene = &scene;
    let canvas = Frame { x: 0.0, y: 0.0, w: f64::from(width), h: f64::from(height) };
    let objects = &scene.objects;
    let landscape = is_landscape(scene);

    let border = objects.iter().filter(|o| o.kind == Kind::Border).map(|o| border_thickness(o, width, height)).max();
    let stage = match border {
        Some(t) => {
            let inset = f64::from(t + 1).min((canvas.w - 1.0) / 2.0).min((canvas.h - 1.0) / 2.0).max(0.0);
            Frame { x: inset, y: inset, w: canvas.w - 2.0 * inset, h: canvas.h - 2.0 * inset }
        }
        None => canvas,
    };
    // Grass and sea lie along the bottom; everything else stands above them.
    let mut ground_top = stage.y + stage.h;
    let mut fixed: Vec<Option<Frame>> = vec![None; objects.len()];
    for (index, object) in objects.iter().enumerate() {
        if object.kind == Kind::Background || object.kind == Kind::Border {
            fixed[index] = Some(canvas);
        } else if is_ground(object) {
            let share = if object.kind == Kind::Sea { 3.0 } else { 4.0 };
            let band_h = (canvas.h / share).ceil().max(1.0);
            let band = Frame { x: 0.0, y: canvas.h - band_h, w: canvas.w, h: band_h };
            ground_top = ground_top.min(band.y);
            fixed[index] = Some(band);
        } else if let Some(Placement::Cover(region)) = object.placement {
            fixed[index] = Some(region_frame(canvas, region));
        } else if object.arrangement == Arrangement::Corners && object.relation.is_none() {
            fixed[index] = Some(stage);
        }
    }
    let has_ground = ground_top < stage.y + stage.h;
    let free_stage = if has_ground && ground_top - stage.y > stage.h / 3.0 {
        Frame { h: ground_top - 1.0 - stage.y, ..stage }
    } else {
        stage
    };
    let base = free_stage.w.min(free_stage.h).max(1.0);

    // Children of each target, in description order.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); objects.len()];
    for (index, object) in objects.iter().enumerate() {
        if let Some((_, target)) = object.relation
            && target < objects.len()
        {
            children[target].push(index);
        }
    }
    let roots: Vec<usize> = (0..objects.len()).filter(|&i| objects[i].relation.is_none()).collect();
    let free_roots: Vec<usize> = roots
        .iter()
        .copied()
        .filter(|&r| {
            fixed[r].is_none() && objects[r].placement.or_else(|| default_placement(&objects[r], landscape)).is_none()
        })
        .filter(|&r| !matches!(objects[r].line, Some(LineSpec::Between(..))))
        .collect();

    let mut frames: Vec<Option<(Frame, f64)>> = vec![None; objects.len()];
    let mut placed_groups: Vec<(Frame, bool)> = Vec::new();
    let mut ends = vec![None; objects.len()];
    for &root in &roots {
        let object = &objects[root];
        if let Some(LineSpec::Between(start, end)) = object.line
            && fixed[root].is_none()
        {
            let a = point(start, stage);
            let b = point(end, stage);
            ends[root] = Some((a, b));
            let frame = Frame {
                x: f64::from(a.0.min(b.0)),
                y: f64::from(a.1.min(b.1)),
                w: f64::from((a.0 - b.0).abs() + 1),
                h: f64::from((a.1 - b.1).abs() + 1),
            };
            fixed[root] = Some(frame);
        }
        let anchor = if let Some(frame) = fixed[root] {
            Anchor::Fixed(frame)
        } else {
            match object.placement.or_else(|| default_placement(object, landscape)) {
                Some(Placement::Align { horizontal, vertical, region }) => {
                    Anchor::Aligned { horizontal, vertical, area: region_frame(free_stage, region) }
                }
                Some(Placement::At { x, y }) => Anchor::At(f64::from(x), f64::from(y)),
                Some(Placement::Cover(region)) => Anchor::Fixed(region_frame(canvas, region)),
                None => {
                    let cell = free_roots.iter().position(|&r| r == root).unwrap_or(0);
                    Anchor::Free { cell, n_cells: free_roots.len().max(1) }
                }
            }
        };
        let solid = !matches!(object.kind, Kind::Background | Kind::Border)
            && !matches!(anchor, Anchor::Fixed(_))
            && !matches!(object.placement, Some(Placement::At { .. }));
        let mut scale = 1.0;
        let mut placed = place_group(objects, &children, root, anchor, scale, base, free_stage, canvas, has_ground);
        // Shrink until the group fits its area, then until it keeps clear of earlier groups.
        for _ in 0..12 {
            let bounds = group_bounds(&placed);
            let area = match anchor {
                Anchor::Free { cell, n_cells } => free_cell(free_stage, cell, n_cells),
                Anchor::Aligned { area, .. } => area,
                Anchor::At(..) | Anchor::Fixed(_) => canvas,
            };
            let fits = bounds.x >= area.x - 0.5
                && bounds.y >= area.y - 0.5
                && bounds.x + bounds.w <= area.x + area.w + 0.5
                && bounds.y + bounds.h <= area.y + area.h + 0.5;
            let clear = !solid
                || placed_groups
                    .iter()
                    .all(|(other, other_solid)| !other_solid || !bounds.rect().touches(other.rect()));
            if fits && clear {
                break;
            }
            scale *= if fits { 0.8 } else { (area.w / bounds.w).min(area.h / bounds.h).clamp(0.3, 0.95) };
            placed = place_group(objects, &children, root, anchor, scale, base, free_stage, canvas, has_ground);
        }
        placed_groups.push((group_bounds(&placed), solid));
        for (index, frame, copy_scale) in placed {
            frames[index] = Some((frame, copy_scale));
        }
    }

    let mut items: Vec<Item> = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        let Some((frame, copy_scale)) = frames[index] else { continue };
        let boxes = copies(object, frame, copy_scale, base, free_stage)
            .into_iter()
            .map(|copy| clamp_into(copy.rect(), width, height))
            .collect();
        items.push(Item { object: index, boxes, ends: ends[index] });
    }
    items.sort_by_key(|item| draw_layer(objects, item.object));
    Layout { width, height, items }
}

/// Backgrounds first, then what covers a region, then shapes, then what is inside them, then the border.
fn draw_layer(objects: &[Object], index: usize) -> (u8, usize) {
    let object = &objects[index];
    let layer = match object.kind {
        Kind::Background => 0,
        Kind::Border => 9,
        _ if matches!(object.placement, Some(Placement::Cover(_))) || is_ground(object) => 1,
        _ => 2,
    };
    let mut depth = 0;
    let mut at = index;
    while let Some((relation, target)) = objects[at].relation {
        if relation == Relation::Inside {
            depth += 1;
        }
        at = target;
        if depth > objects.len() {
            break;
        }
    }
    (layer + depth.min(5) as u8, index)
}

fn clamp_into(rect: Rect, width: i32, height: i32) -> Rect {
    let w = rect.w.clamp(1, width);
    let h = rect.h.clamp(1, height);
    Rect { x: rect.x.clamp(0, width - w), y: rect.y.clamp(0, height - h), w, h }
}

fn free_cell(stage: Frame, cell: usize, n_cells: usize) -> Frame {
    let w = stage.w / n_cells as f64;
    Frame { x: stage.x + w * cell as f64, w, ..stage }
}

fn point(point: Point, stage: Frame) -> (i32, i32) {
    let along = |align: Align, start: f64, length: f64| match align {
        Align::Start => start,
        Align::Center => start + ((length - 1.0) / 2.0).floor(),
        Align::End => start + length - 1.0,
    };
    match point {
        Point::Exact(x, y) => (x, y),
        Point::Anchor(horizontal, vertical) => {
            (along(horizontal, stage.x, stage.w) as i32, along(vertical, stage.y, stage.h) as i32)
        }
    }
}

fn border_thickness(object: &Object, width: i32, height: i32) -> i32 {
    let requested = match object.size {
        Some(Size::Pixels { width: w, .. }) => w,
        _ if object.thick => 2.max(width.min(height) / 32),
        _ => 1,
    };
    requested.clamp(1, (width.min(height) / 4).max(1))
}

/// The natural box of one copy of an object at `scale`, for a canvas whose free part has `base`
/// as its shorter side.
fn copy_size(object: &Object, scale: f64, base: f64, stage: Frame) -> (f64, f64) {
    if object.kind == Kind::Text {
        let text = object.text.as_deref().unwrap_or("");
        let lines = wrap_text(text, stage.w.max(5.0) as i32);
        let longest = lines.iter().map(|l| l.len()).max().unwrap_or(0) as f64;
        return ((longest * 6.0 - 1.0).max(1.0), (lines.len() as f64 * 9.0 - 2.0).max(1.0));
    }
    let thickness = if object.thick { 3.0 } else { 1.0 };
    if let Some(Size::Pixels { width, height }) = object.size {
        let (w, h) = (f64::from(width), f64::from(height));
        return match (object.kind, object.line) {
            (Kind::Line, Some(LineSpec::Vertical)) => (thickness, h.max(w)),
            (Kind::Line, Some(LineSpec::Diagonal)) => (w, w),
            (Kind::Line, _) => (w.max(h), thickness),
            _ => (w, h),
        };
    }
    let level = match object.size {
        Some(Size::Tiny) => 0.13,
        Some(Size::Small) => 0.25,
        Some(Size::Large) => 0.6,
        Some(Size::Huge) => 0.85,
        Some(Size::Medium) => 0.4,
        _ => match object.kind {
            Kind::Dot => 0.0,
            Kind::Sun | Kind::Moon => 0.34,
            _ => 0.4,
        },
    };
    let d = if object.kind == Kind::Dot && object.size.is_none() {
        (base / 12.0).max(3.0)
    } else {
        (base * level * scale).max(3.0)
    };
    let d = if object.kind == Kind::Dot && object.size.is_none() { (d * scale.max(0.5)).max(3.0) } else { d };
    match object.kind {
        Kind::Rectangle => (d * 1.6, d),
        Kind::Tree | Kind::Flower => (d * 0.75, d),
        Kind::Cloud => (d * 1.6, d * 0.8),
        Kind::Mountain => (d * 1.5, d),
        Kind::Boat => (d * 1.5, d),
        Kind::Line => match object.line {
            Some(LineSpec::Vertical) => (thickness, (stage.h * 0.8 * scale.max(0.5)).max(1.0)),
            Some(LineSpec::Diagonal) => (d * 1.5, d * 1.5),
            _ => ((stage.w * 0.8 * scale.max(0.5)).max(1.0), thickness),
        },
        _ => (d, d),
    }
}

/// The gap kept between related or counted objects.
fn gap(base: f64) -> f64 {
    (base / 16.0).round().max(2.0)
}

/// The block an object's copies take before stretching.
fn block_size(object: &Object, scale: f64, base: f64, stage: Frame) -> (f64, f64) {
    let (w, h) = copy_size(object, scale, base, stage);
    let n = f64::from(object.count.max(1));
    let spacing_w = gap(base).max(w / 2.0);
    let spacing_h = gap(base).max(h / 2.0);
    match object.arrangement {
        _ if object.count <= 1 => (w, h),
        Arrangement::Row => (n * w + (n - 1.0) * spacing_w, h),
        Arrangement::Column => (w, n * h + (n - 1.0) * spacing_h),
        Arrangement::Grid { columns, rows } => {
            let (c, r) = (f64::from(columns.max(1)), f64::from(rows.max(1)));
            (c * w + (c - 1.0) * spacing_w, r * h + (r - 1.0) * spacing_h)
        }
        Arrangement::Corners => (3.0 * w, 3.0 * h),
    }
}

/// The copies of an object spread evenly over its block.
fn copies(object: &Object, block: Frame, scale: f64, base: f64, stage: Frame) -> Vec<Frame> {
    if object.count <= 1 {
        return vec![block];
    }
    let (w, h) = copy_size(object, scale, base, stage);
    let (w, h) = (w.min(block.w), h.min(block.h));
    if object.arrangement == Arrangement::Corners {
        let (w, h) = (w.min(block.w / 2.0 - 1.0).max(1.0), h.min(block.h / 2.0 - 1.0).max(1.0));
        let margin = if block.w.min(block.h) >= 24.0 { gap(base) } else { 0.0 };
        let (left, top) = (block.x + margin, block.y + margin);
        let (right, bottom) = (block.x + block.w - margin - w, block.y + block.h - margin - h);
        return [(left, top), (right, top), (left, bottom), (right, bottom)]
            .into_iter()
            .take(object.count as usize)
            .map(|(x, y)| Frame { x: x.floor(), y: y.floor(), w, h })
            .collect();
    }
    let (columns, rows) = match object.arrangement {
        Arrangement::Row | Arrangement::Corners => (object.count, 1),
        Arrangement::Column => (1, object.count),
        Arrangement::Grid { columns, rows } => (columns.max(1), rows.max(1)),
    };
    let pitch_x = block.w / f64::from(columns);
    let pitch_y = block.h / f64::from(rows);
    (0..object.count)
        .map(|i| {
            let (column, row) = (i % columns, i / columns);
            let cx = block.x + pitch_x * (f64::from(column) + 0.5);
            let cy = block.y + pitch_y * (f64::from(row) + 0.5);
            Frame { x: (cx - w / 2.0).floor(), y: (cy - h / 2.0).floor(), w, h }
        })
        .collect()
}

fn group_bounds(placed: &[(usize, Frame, f64)]) -> Frame {
    placed.iter().map(|(_, f, _)| *f).reduce(Frame::union).unwrap_or(Frame { x: 0.0, y: 0.0, w: 1.0, h: 1.0 })
}

/// Lays out the group rooted at `root` at `scale`: each member's block on the canvas.
#[allow(clippy::too_many_arguments, reason = "the layout context is passed explicitly, not stored")]
fn place_group(
    objects: &[Object],
    children: &[Vec<usize>],
    root: usize,
    anchor: Anchor,
    scale: f64,
    base: f64,
    stage: Frame,
    canvas: Frame,
    has_ground: bool,
) -> Vec<(usize, Frame, f64)> {
    let root_object = &objects[root];
    let single = children[root].is_empty();
    let (mut w, mut h) = match anchor {
        Anchor::Fixed(frame) => (frame.w, frame.h),
        _ => block_size(root_object, scale, base, stage),
    };
    // A lone row, column or grid spreads over its area.
    let spread_area = match anchor {
        Anchor::Free { cell, n_cells } => Some(free_cell(stage, cell, n_cells)),
        Anchor::Aligned { area, .. } => Some(area),
        _ => None,
    };
    if let Some(area) = spread_area
        && single
        && root_object.count > 1
    {
        let margin = gap(base);
        let (copy_w, copy_h) = copy_size(root_object, scale, base, stage);
        match root_object.arrangement {
            Arrangement::Row => w = w.max((area.w - 2.0 * margin).min(f64::from(root_object.count) * copy_w * 3.0)),
            Arrangement::Column => h = h.max((area.h - 2.0 * margin).min(f64::from(root_object.count) * copy_h * 3.0)),
            Arrangement::Corners => {}
            Arrangement::Grid { columns, rows } => {
                w = w.max((area.w - 2.0 * margin).min(f64::from(columns) * copy_w * 3.0));
                h = h.max((area.h - 2.0 * margin).min(f64::from(rows) * copy_h * 3.0));
            }
        }
    }
    let mut placed = vec![(root, Frame { x: 0.0, y: 0.0, w, h }, scale)];
    // Each target's frontier on each side, so several things above it stack up.
    let mut queue = vec![root];
    let mut cursor = 0;
    while cursor < queue.len() {
        let target = queue[cursor];
        cursor += 1;
        let Some(&(_, target_frame, _)) = placed.iter().find(|(i, _, _)| *i == target) else { continue };
        let mut frontier = [target_frame; 4];
        for &child in &children[target] {
            let Some((relation, _)) = objects[child].relation else { continue };
            let child_object = &objects[child];
            let spacing = gap(base) * scale.max(0.5);
            let (cw, ch) =
                if relation == Relation::Inside && child_object.size.is_none() && child_object.kind != Kind::Text {
                    let (nw, nh) = block_size(child_object, 1.0, base, stage);
                    let fit = (target_frame.w * 0.5 / nw).min(target_frame.h * 0.5 / nh);
                    block_size(child_object, fit, base, stage)
                } else {
                    block_size(child_object, scale, base, stage)
                };
            let frame = match relation {
                Relation::Above => {
                    let f = Frame {
                        x: target_frame.x + (target_frame.w - cw) / 2.0,
                        y: frontier[0].y - spacing - ch,
                        w: cw,
                        h: ch,
                    };
                    frontier[0] = f;
                    f
                }
                Relation::Below => {
                    let f = Frame {
                        x: target_frame.x + (target_frame.w - cw) / 2.0,
                        y: frontier[1].y + frontier[1].h + spacing,
                        w: cw,
                        h: ch,
                    };
                    frontier[1] = f;
                    f
                }
                Relation::LeftOf => {
                    let f = Frame {
                        x: frontier[2].x - spacing - cw,
                        y: target_frame.y + (target_frame.h - ch) / 2.0,
                        w: cw,
                        h: ch,
                    };
                    frontier[2] = f;
                    f
                }
                Relation::RightOf => {
                    let f = Frame {
                        x: frontier[3].x + frontier[3].w + spacing,
                        y: target_frame.y + (target_frame.h - ch) / 2.0,
                        w: cw,
                        h: ch,
                    };
                    frontier[3] = f;
                    f
                }
                Relation::Inside => Frame {
                    x: target_frame.x + ((target_frame.w - cw) / 2.0).floor(),
                    y: target_frame.y + ((target_frame.h - ch) / 2.0).floor(),
                    w: cw,
                    h: ch,
                },
            };
            placed.push((child, frame, scale));
            queue.push(child);
        }
    }
    // Move the group so that its root lands where its anchor says.
    let bounds = group_bounds(&placed);
    let root_frame = placed[0].1;
    let (dx, dy) = match anchor {
        Anchor::Fixed(frame) => (frame.x - root_frame.x, frame.y - root_frame.y),
        Anchor::At(x, y) => {
            (x - (root_frame.w / 2.0).floor() - root_frame.x, y - (root_frame.h / 2.0).floor() - root_frame.y)
        }
        Anchor::Free { cell, n_cells } => {
            let area = free_cell(stage, cell, n_cells);
            let x = area.x + (area.w - bounds.w) / 2.0;
            // In a landscape, things stand on the ground.
            let stands = has_ground
                && matches!(root_object.kind, Kind::Tree | Kind::House | Kind::Mountain | Kind::Flower | Kind::Boat);
            let y = if stands { area.y + area.h - bounds.h } else { area.y + (area.h - bounds.h) / 2.0 };
            (x - bounds.x, y - bounds.y)
        }
        Anchor::Aligned { horizontal, vertical, area } => {
            let margin = if area.w.min(area.h) >= 24.0 { gap(base) } else { 0.0 };
            let along = |align: Align, start: f64, length: f64, size: f64| match align {
                Align::Start => start + margin,
                Align::Center => start + (length - size) / 2.0,
                Align::End => start + length - size - margin,
            };
            (
                along(horizontal, area.x, area.w, bounds.w) - bounds.x,
                along(vertical, area.y, area.h, bounds.h) - bounds.y,
            )
        }
    };
    let mut placed: Vec<(usize, Frame, f64)> =
        placed.into_iter().map(|(i, f, s)| (i, f.shifted(dx.round(), dy.round()), s)).collect();
    // Members pushed off the canvas by a relation come back in.
    for (_, frame, _) in placed.iter_mut().skip(1) {
        frame.x = frame.x.min(canvas.w - frame.w).max(0.0);
        frame.y = frame.y.min(canvas.h - frame.h).max(0.0);
    }
    placed
}

/// Splits text into lines that fit `width` pixels, at spaces where possible.
pub(crate) fn wrap_text(text: &str, width: i32) -> Vec<String> {
    let per_line = ((width + 1) / 6).max(1) as usize;
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.len() > per_line {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let rest = word.split_off(per_line);
            lines.push(word);
            word = rest;
        }
        if line.is_empty() {
            line = word;
        } else if line.len() + 1 + word.len() <= per_line {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}
