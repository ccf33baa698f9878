// gvpie resident climbers: one workgroup of LANES threads runs one hill climber of the image goal's evaluator cascade
// from its random starts to the end of its climb. Every lane draws the same random numbers and takes the same
// decisions; the lanes only share the work of scoring a candidate: each sums every LANES-th row of it, the sums are
// added up in workgroup memory, and every lane finishes the score with `finish` (shapes.wgsl, which this file is
// appended to). One thread per climber would be simpler, but a climb is a chain of ~150 dependent candidates and a
// lone GPU thread walking a candidate's rows is latency-bound. This is gvpie-evolve's `climb::climb_one`, draw for
// draw: the same PCG stream, the same integer mutation steps, the same comparisons. Change both together; a
// differential test compares them.

struct ClimbParams {
    key: u32,
    n_climbers: u32,
    // 0: triangles, 1: rectangles, 2: both (each climber picks with its first random bit).
    kinds: u32,
    random_tries: u32,
    max_failures: u32,
    spread: i32,
    step: i32,
    margin: i32,
}

// The climber's best shape (kind and coordinates), the candidates it scored, and the best score.
struct ClimbOut {
    kind: u32,
    c0: i32,
    c1: i32,
    c2: i32,
    c3: i32,
    c4: i32,
    c5: i32,
    steps: u32,
    delta_lo: u32,
    delta_hi: u32,
    color: u32,
    n_pixels: u32,
}

@group(0) @binding(4) var<uniform> climb: ClimbParams;
@group(0) @binding(5) var<storage, read_write> climbed: array<ClimbOut>;

const MAX_CLIMB_STEPS: u32 = 20000u;
const MAX_SHAPE_TRIES: u32 = 16u;

var<private> rng_state: u32;

fn rng_next() -> u32 {
    rng_state = rng_state * 747796405u + 2891336453u;
    let s = rng_state;
    let word = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (word >> 22u) ^ word;
}

fn rng_below(n: u32) -> u32 {
    return rng_next() % max(n, 1u);
}

fn rng_range(lo: i32, hi: i32) -> i32 {
    return lo + i32(rng_below(u32(hi - lo + 1)));
}

fn rng_step(a: i32) -> i32 {
    var sum = 0;
    for (var i = 0; i < 4; i++) {
        sum += rng_range(-a, a);
    }
    return sum;
}

fn coords(c: Candidate) -> array<i32, 6> {
    return array<i32, 6>(c.c0, c.c1, c.c2, c.c3, c.c4, c.c5);
}

fn candidate(kind: u32, v: array<i32, 6>) -> Candidate {
    return Candidate(kind, v[0], v[1], v[2], v[3], v[4], v[5], 0u);
}

fn area2(v: array<i32, 6>) -> i32 {
    return (v[2] - v[0]) * (v[5] - v[1]) - (v[3] - v[1]) * (v[4] - v[0]);
}

fn same(a: array<i32, 6>, b: array<i32, 6>) -> bool {
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

// a < b for two deltas held as two's-complement (low, high) words.
fn less(a: Score, b: Score) -> bool {
    let ah = bitcast<i32>(a.delta_hi);
    let bh = bitcast<i32>(b.delta_hi);
    if ah != bh {
        return ah < bh;
    }
    return a.delta_lo < b.delta_lo;
}

fn random_shape(kind: u32, w: i32, h: i32) -> Candidate {
    let x = rng_range(0, w - 1);
    let y = rng_range(0, h - 1);
    let sp = max(climb.spread, 1);
    if kind == 0u {
        var v = array<i32, 6>(x, y, x, y, x, y);
        for (var t = 0u; t < MAX_SHAPE_TRIES; t++) {
            let x1 = x + rng_range(-sp, sp);
            let y1 = y + rng_range(-sp, sp);
            let x2 = x + rng_range(-sp, sp);
            let y2 = y + rng_range(-sp, sp);
            v = array<i32, 6>(x, y, x1, y1, x2, y2);
            if area2(v) != 0 {
                break;
            }
        }
        return candidate(0u, v);
    }
    let x1 = min(x + rng_range(0, 2 * sp + 1), w - 1);
    let y1 = min(y + rng_range(0, 2 * sp + 1), h - 1);
    return candidate(1u, array<i32, 6>(x, y, x1, y1, 0, 0));
}

fn mutate(c: Candidate, w: i32, h: i32) -> Candidate {
    let a = max(climb.step, 1);
    let m = climb.margin;
    let v = coords(c);
    if c.kind == 0u {
        for (var t = 0u; t < MAX_SHAPE_TRIES; t++) {
            var next = v;
            let k = i32(rng_below(3u)) * 2;
            next[k] = clamp(next[k] + rng_step(a), -m, w - 1 + m);
            next[k + 1] = clamp(next[k + 1] + rng_step(a), -m, h - 1 + m);
            if area2(next) != 0 && !same(next, v) {
                return candidate(0u, next);
            }
        }
        return c;
    }
    for (var t = 0u; t < MAX_SHAPE_TRIES; t++) {
        var next = v;
        let k = i32(rng_below(2u)) * 2;
        next[k] = clamp(next[k] + rng_step(a), 0, w - 1);
        next[k + 1] = clamp(next[k + 1] + rng_step(a), 0, h - 1);
        let fixed = array<i32, 6>(min(next[0], next[2]), min(next[1], next[3]), max(next[0], next[2]),
            max(next[1], next[3]), 0, 0);
        if !same(fixed, v) {
            return candidate(1u, fixed);
        }
    }
    return c;
}

const LANES: u32 = 32u;

var<workgroup> part: array<array<i32, 9>, 32>;
var<workgroup> flag: u32;

// The sums of this lane's rows of a triangle: y_lo + lane, y_lo + lane + LANES, ... (the TRI rule per row, as in
// the rasterizer: a division per sloped edge, horizontal edges cutting off rows).
fn triangle_part(c: Candidate, lane: i32) -> Sums {
    var s: Sums;
    let t = triangle_setup(c);
    if t.x_lo > t.x_hi || t.y_lo > t.y_hi {
        return s;
    }
    let a = t.a;
    let b = t.b;
    let x_lo = t.x_lo;
    let x_hi = t.x_hi;
    let y_lo = t.y_lo;
    let y_hi = t.y_hi;
    for (var py = y_lo + lane; py <= y_hi; py += i32(LANES)) {
        var lo = x_lo;
        var hi = x_hi;
        for (var k = 0; k < 3; k++) {
            let ex = b[k].x - a[k].x;
            let ey = b[k].y - a[k].y;
            if ey > 0 {
                hi = min(hi, a[k].x + floor_div(ex * (py - a[k].y), ey));
            } else if ey < 0 {
                lo = max(lo, a[k].x - floor_div(ex * (py - a[k].y), -ey));
            }
        }
        if lo <= hi {
            add_span(&s, py, lo, hi);
        }
    }
    return s;
}

fn rectangle_part(c: Candidate, lane: i32) -> Sums {
    var s: Sums;
    let lo = max(c.c0, 0);
    let hi = min(c.c2, i32(params.width) - 1);
    if lo > hi {
        return s;
    }
    let y_hi = min(c.c3, i32(params.height) - 1);
    for (var y = max(c.c1, 0) + lane; y <= y_hi; y += i32(LANES)) {
        add_span(&s, y, lo, hi);
    }
    return s;
}

// Scores a candidate with the whole workgroup; every lane gets the score. Called in uniform control flow only.
fn score_together(c: Candidate, lane: u32) -> Score {
    var s: Sums;
    if c.kind == 0u {
        s = triangle_part(c, i32(lane));
    } else {
        s = rectangle_part(c, i32(lane));
    }
    part[lane] = array<i32, 9>(s.n, s.e.x, s.e.y, s.e.z, s.p.x, s.p.y, s.p.z, s.ep, s.pp);
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride = stride / 2u) {
        if lane < stride {
            for (var k = 0; k < 9; k++) {
                part[lane][k] += part[lane + stride][k];
            }
        }
        workgroupBarrier();
    }
    let t = part[0];
    // Nobody writes `part` again before every lane has read the total.
    workgroupBarrier();
    return finish(Sums(t[0], vec3<i32>(t[1], t[2], t[3]), vec3<i32>(t[4], t[5], t[6]), t[7], t[8]));
}

// Lane 0's `go`, the same in every lane (and known to be uniform, so barriers may follow it).
fn agree(go: bool, lane: u32) -> bool {
    if lane == 0u {
        flag = select(0u, 1u, go);
    }
    let agreed = workgroupUniformLoad(&flag);
    workgroupBarrier();
    return agreed != 0u;
}

@compute @workgroup_size(32)
fn climb_main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let index = wid.x + wid.y * groups.x;
    if index >= climb.n_climbers {
        return;
    }
    let w = i32(params.width);
    let h = i32(params.height);
    rng_state = climb.key ^ (index * 0x9E3779B9u);
    rng_next();
    var kind = 0u;
    if climb.kinds == 1u {
        kind = 1u;
    } else if climb.kinds == 2u && (rng_next() & 1u) != 0u {
        kind = 1u;
    }
    var best: Candidate;
    var best_score = Score(0u, 0u, 0u, 0u);
    var steps = 0u;
    for (var t = 0u; t < max(climb.random_tries, 1u); t++) {
        let c = random_shape(kind, w, h);
        steps += 1u;
        let s = score_together(c, lane);
        if s.n_pixels > 0u && (best_score.n_pixels == 0u || less(s, best_score)) {
            best = c;
            best_score = s;
        }
    }
    if !agree(best_score.n_pixels > 0u, lane) {
        if lane == 0u {
            climbed[index] = ClimbOut(0u, 0, 0, 0, 0, 0, 0, steps, 0u, 0u, 0u, 0u);
        }
        return;
    }
    var failures = 0u;
    loop {
        if !agree(failures < climb.max_failures && steps < MAX_CLIMB_STEPS, lane) {
            break;
        }
        let c = mutate(best, w, h);
        steps += 1u;
        let s = score_together(c, lane);
        if s.n_pixels > 0u && less(s, best_score) {
            best = c;
            best_score = s;
            failures = 0u;
        } else {
            failures += 1u;
        }
    }
    if lane == 0u {
        climbed[index] = ClimbOut(best.kind, best.c0, best.c1, best.c2, best.c3, best.c4, best.c5, steps,
            best_score.delta_lo, best_score.delta_hi, best_score.color, best_score.n_pixels);
    }
}
