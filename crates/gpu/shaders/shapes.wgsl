// gvpie shape scorer: the first stage of the image goal's evaluator cascade.
//
// One thread scores one candidate shape (a TRI or a RECT) against a small canvas: it walks the
// shape's rows with the TRI/RECT pixel rules of docs/pxl.md, sums the per-row prefix entries of
// the error table (Σe and Σp per channel, Σe·p and Σp² over the channels), solves the alpha (or
// takes the fixed one) and the colour in closed form, and writes the estimated change of the
// squared error. This is gvpie-evolve's `ErrorTable::score`, operation for operation: the small
// canvas has at most 4096 pixels, so every sum fits i32; the alpha's regression and the final
// delta need 64 bits (two u32 words).

struct Params {
    width: u32,
    height: u32,
    // The fixed alpha (1 to 255) in the low byte, or 0 to solve it per shape; the smallest solved alpha in the next.
    alpha: u32,
    n_shapes: u32,
}

// kind (0 = triangle, 1 = rectangle), six coordinates, padding.
struct Candidate {
    kind: u32,
    c0: i32,
    c1: i32,
    c2: i32,
    c3: i32,
    c4: i32,
    c5: i32,
    pad: u32,
}

// delta as (low word, high word) of a two's-complement i64, colour as r | g << 8 | b << 16 | a << 24, pixels covered
// (0: the shape covers no pixel and the other words are 0).
struct Score {
    delta_lo: u32,
    delta_hi: u32,
    color: u32,
    n_pixels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// Rows of width + 1 entries of 8 words: e.r e.g e.b p.r p.g p.b ep pp.
@group(0) @binding(1) var<storage, read> prefix: array<vec4<i32>>;
@group(0) @binding(2) var<storage, read> candidates: array<Candidate>;
@group(0) @binding(3) var<storage, read_write> scores: array<Score>;

const COORD_LIMIT: i32 = 8192;

struct Sums {
    n: i32,
    e: vec3<i32>,
    p: vec3<i32>,
    ep: i32,
    pp: i32,
}

// Adds the entries of row y between columns lo..=hi (already clipped) to the sums.
fn add_span(s: ptr<function, Sums>, y: i32, lo: i32, hi: i32) {
    let stride = i32(params.width) + 1;
    let left = u32(y * stride + lo) * 2u;
    let right = u32(y * stride + hi + 1) * 2u;
    // Each entry is two vec4: (e.r, e.g, e.b, p.r) and (p.g, p.b, ep, pp).
    let l0 = prefix[left];
    let l1 = prefix[left + 1u];
    let r0 = prefix[right];
    let r1 = prefix[right + 1u];
    (*s).n += hi - lo + 1;
    (*s).e += r0.xyz - l0.xyz;
    (*s).p += vec3<i32>(r0.w, r1.x, r1.y) - vec3<i32>(l0.w, l1.x, l1.y);
    (*s).ep += r1.z - l1.z;
    (*s).pp += r1.w - l1.w;
}

// Floor division for a positive divisor (WGSL's `/` truncates towards zero).
fn floor_div(n: i32, d: i32) -> i32 {
    let q = n / d;
    if (n % d != 0) && (n < 0) {
        return q - 1;
    }
    return q;
}

fn rectangle_sums(c: Candidate) -> Sums {
    var s: Sums;
    let lo = max(c.c0, 0);
    let hi = min(c.c2, i32(params.width) - 1);
    if lo > hi {
        return s;
    }
    let y_hi = min(c.c3, i32(params.height) - 1);
    for (var y = max(c.c1, 0); y <= y_hi; y++) {
        add_span(&s, y, lo, hi);
    }
    return s;
}

// A triangle ready for the TRI rule: counter-clockwise edges a[k] → b[k] and the rows and columns it may touch,
// clipped to the canvas (`y_lo > y_hi` or `x_lo > x_hi`: it covers no pixel).
struct Triangle {
    a: array<vec2<i32>, 3>,
    b: array<vec2<i32>, 3>,
    x_lo: i32,
    x_hi: i32,
    y_lo: i32,
    y_hi: i32,
}

fn triangle_setup(c: Candidate) -> Triangle {
    var t: Triangle;
    t.y_lo = 1;
    t.y_hi = 0;
    let v0 = clamp(vec2<i32>(c.c0, c.c1), vec2<i32>(-COORD_LIMIT), vec2<i32>(COORD_LIMIT));
    var v1 = clamp(vec2<i32>(c.c2, c.c3), vec2<i32>(-COORD_LIMIT), vec2<i32>(COORD_LIMIT));
    var v2 = clamp(vec2<i32>(c.c4, c.c5), vec2<i32>(-COORD_LIMIT), vec2<i32>(COORD_LIMIT));
    let area2 = (v1.x - v0.x) * (v2.y - v0.y) - (v1.y - v0.y) * (v2.x - v0.x);
    if area2 == 0 {
        return t;
    }
    if area2 < 0 {
        let swap = v1;
        v1 = v2;
        v2 = swap;
    }
    t.a = array<vec2<i32>, 3>(v0, v1, v2);
    t.b = array<vec2<i32>, 3>(v1, v2, v0);
    t.x_lo = max(min(min(v0.x, v1.x), v2.x), 0);
    t.x_hi = min(max(max(v0.x, v1.x), v2.x), i32(params.width) - 1);
    t.y_lo = max(min(min(v0.y, v1.y), v2.y), 0);
    t.y_hi = min(max(max(v0.y, v1.y), v2.y), i32(params.height) - 1);
    // A horizontal edge cuts off the rows on its outer side.
    for (var k = 0; k < 3; k++) {
        if t.b[k].y == t.a[k].y {
            if t.b[k].x > t.a[k].x {
                t.y_lo = max(t.y_lo, t.a[k].y);
            } else {
                t.y_hi = min(t.y_hi, t.a[k].y);
            }
        }
    }
    return t;
}

// The TRI rule: a pixel is in when it is on the inner side of all three edges, edges included. Each sloped edge
// bounds the row's span by base ± floor(ex·(py − ay) / |ey|), walked row by row as a quotient and a remainder so
// that a row costs additions, not divisions (the same numbers as the rasterizer's division per row).
fn triangle_sums(c: Candidate) -> Sums {
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
    // Per edge: sign (+1 an upper bound on px, -1 a lower bound, 0 none), base, quotient, remainder, steps, divisor.
    var sign = array<i32, 3>(0, 0, 0);
    var base = array<i32, 3>(0, 0, 0);
    var q = array<i32, 3>(0, 0, 0);
    var r = array<i32, 3>(0, 0, 0);
    var q_step = array<i32, 3>(0, 0, 0);
    var r_step = array<i32, 3>(0, 0, 0);
    var d = array<i32, 3>(1, 1, 1);
    for (var k = 0; k < 3; k++) {
        let ex = b[k].x - a[k].x;
        let ey = b[k].y - a[k].y;
        if ey != 0 {
            sign[k] = select(-1, 1, ey > 0);
            d[k] = abs(ey);
            base[k] = a[k].x;
            let c0 = ex * (y_lo - a[k].y);
            q[k] = floor_div(c0, d[k]);
            r[k] = c0 - q[k] * d[k];
            q_step[k] = floor_div(ex, d[k]);
            r_step[k] = ex - q_step[k] * d[k];
        }
    }
    for (var py = y_lo; py <= y_hi; py++) {
        var lo = x_lo;
        var hi = x_hi;
        for (var k = 0; k < 3; k++) {
            if sign[k] > 0 {
                hi = min(hi, base[k] + q[k]);
            } else if sign[k] < 0 {
                lo = max(lo, base[k] - q[k]);
            }
            q[k] += q_step[k];
            r[k] += r_step[k];
            if r[k] >= d[k] {
                q[k] += 1;
                r[k] -= d[k];
            }
        }
        if lo <= hi {
            add_span(&s, py, lo, hi);
        }
    }
    return s;
}

// The 64-bit product of two u32, as (low, high), from 16-bit halves.
fn mul_wide(x: u32, y: u32) -> vec2<u32> {
    let x0 = x & 0xffffu;
    let x1 = x >> 16u;
    let y0 = y & 0xffffu;
    let y1 = y >> 16u;
    let p00 = x0 * y0;
    // Each partial product is at most (2^16 - 1)^2, so adding a 16-bit carry cannot wrap.
    let mid = x0 * y1 + (p00 >> 16u);
    let mid2 = x1 * y0 + (mid & 0xffffu);
    return vec2<u32>((mid2 << 16u) | (p00 & 0xffffu), x1 * y1 + (mid >> 16u) + (mid2 >> 16u));
}

// x * y as a two's-complement i64 for y >= 0.
fn mul_signed(x: i32, y: u32) -> vec2<u32> {
    let m = mul_wide(u32(abs(x)), y);
    if x >= 0 {
        return m;
    }
    let lo = ~m.x + 1u;
    return vec2<u32>(lo, ~m.y + select(0u, 1u, lo == 0u));
}

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

// x * k for x < 2^64 / k (unsigned).
fn mul64_small(x: vec2<u32>, k: u32) -> vec2<u32> {
    let lo = mul_wide(x.x, k);
    return vec2<u32>(lo.x, lo.y + x.y * k);
}

// a <= b, unsigned.
fn le64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x <= b.x);
}

// The alpha for a shape with these sums: the fixed one, or `solved_alpha` of gvpie-evolve's error table in the same
// exact integers: nV = n·Σp² − Σ_ch (Σp)², D = Σ_ch Σe·Σp − n·Σep, a = 255·D / nV rounded half up, clamped to the
// smallest allowed alpha..255; a flat patch (nV <= n / 2) is painted over opaquely.
fn solve_alpha(s: Sums) -> i32 {
    let fixed = params.alpha & 0xffu;
    if fixed != 0u {
        return i32(fixed);
    }
    let min_alpha = i32(max((params.alpha >> 8u) & 0xffu, 1u));
    let n = u32(s.n);
    var n_var = mul_wide(n, u32(s.pp));
    var d = sub64(vec2<u32>(0u, 0u), mul_signed(s.ep, n));
    for (var ch = 0; ch < 3; ch++) {
        n_var = sub64(n_var, mul_wide(u32(s.p[ch]), u32(s.p[ch])));
        d = add64(d, mul_signed(s.e[ch], u32(s.p[ch])));
    }
    if n_var.y == 0u && n_var.x <= n / 2u {
        return 255;
    }
    if i32(d.y) < 0 {
        return min_alpha;
    }
    // floor((510·D + nV) / (2·nV)) >= k exactly when (2k − 1)·nV <= 510·D: the largest such k in 1..=255.
    let d510 = mul64_small(d, 510u);
    var k = 0u;
    for (var bit = 128u; bit > 0u; bit >>= 1u) {
        let candidate = k | bit;
        if le64(mul64_small(n_var, 2u * candidate - 1u), d510) {
            k = candidate;
        }
    }
    return clamp(i32(k), min_alpha, 255);
}

// The colour solved for the alpha and the delta, from the sums over a candidate's pixels.
fn finish(s: Sums) -> Score {
    if s.n == 0 {
        return Score(0u, 0u, 0u, 0u);
    }
    let a = solve_alpha(s);
    let an = a * s.n;
    var linear = s.ep;
    var quadratic = s.pp;
    var color = 0u;
    for (var ch = 0; ch < 3; ch++) {
        // c = p̄ + 255·ē/a, rounded half up and clamped.
        let cv = clamp(floor_div(2 * (a * s.p[ch] + 255 * s.e[ch]) + an, 2 * an), 0, 255);
        color |= u32(cv) << (8u * u32(ch));
        linear -= cv * s.e[ch];
        quadratic += cv * (cv * s.n - 2 * s.p[ch]);
    }
    color |= u32(a) << 24u;
    // delta = 510·a·linear + a²·quadratic; quadratic is a sum of squares, never negative.
    let delta = add64(mul_signed(linear, u32(510 * a)), mul_wide(u32(quadratic), u32(a * a)));
    return Score(delta.x, delta.y, color, u32(s.n));
}

// Scores one candidate: the sums over its pixels, then `finish`.
fn score_candidate(c: Candidate) -> Score {
    if c.kind == 0u {
        return finish(triangle_sums(c));
    }
    return finish(rectangle_sums(c));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.x + gid.y * groups.x * 64u;
    if index >= params.n_shapes {
        return;
    }
    scores[index] = score_candidate(candidates[index]);
}
