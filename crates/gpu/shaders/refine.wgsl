// gvpie soft renderer: the loss of a soft render of drawing calls against a target, and its gradient with respect
// to every call's numbers. The GPU twin of gvpie-evolve's refine/soft.rs (same formulas, f32 instead of f64).
//
// One thread per pixel: the forward pass blends every call into the pixel and keeps what it saw (the colour
// before each call and the call's coverage) in `hist`; the backward pass walks the calls in reverse, and each
// workgroup sums its threads' derivatives per call in shared memory (one partial row per workgroup and call,
// summed on the CPU). Call slots: 0..5 geometry, 6..9 colour r, g, b, a (unclamped; clamped here).

struct Params {
    width: u32,
    height: u32,
    n_calls: u32,
    n_groups: u32,
    sigma: f32,
    norm: f32,
    mask_words: u32,
    pad: u32,
}

struct Call {
    kind: u32,
    mask: u32,
    pad0: u32,
    pad1: u32,
    bbox: vec4<i32>,
    v0: vec4<f32>,
    v1: vec4<f32>,
    v2: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> target_px: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> calls: array<Call>;
@group(0) @binding(3) var<storage, read> masks: array<u32>;
@group(0) @binding(4) var<storage, read_write> hist: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

const KIND_CLS: u32 = 0u;
const KIND_RECT: u32 = 1u;
const KIND_PSET: u32 = 2u;
const KIND_LINE: u32 = 3u;
const KIND_CIRC: u32 = 4u;
const KIND_CIRCF: u32 = 5u;
const KIND_TRI: u32 = 6u;
const KIND_MASK: u32 = 7u;
const LINE_TIE: f32 = 1e-3;
const GROUP: u32 = 256u;
const SLOTS: u32 = 10u;

var<workgroup> red: array<f32, 2560>;

struct Cov {
    c: f32,
    g: array<f32, 6>,
}

fn sig(u: f32) -> f32 {
    return 1.0 / (1.0 + exp(-u));
}

// A box [lo, hi] along one axis: value, d/dlo, d/dhi.
fn span(p: f32, lo: f32, hi: f32, inv: f32) -> vec3<f32> {
    let a = sig((p - lo + 0.5) * inv);
    let b = sig((hi + 0.5 - p) * inv);
    let da = a * (1.0 - a);
    let db = b * (1.0 - b);
    return vec3<f32>(a * b, -da * inv * b, a * db * inv);
}

// The disc's inside factor at offsets (dx, dy) and radius r: value, d/dcx, d/dcy, d/dr.
fn disc(dx: f32, dy: f32, r: f32, sigma: f32) -> vec4<f32> {
    let d = dx * dx + dy * dy;
    let q = r * abs(r);
    let den = 2.0 * sigma * (abs(r) + 0.5);
    let num = q + 0.5 - d;
    let s = sig(num / den);
    let ds = s * (1.0 - s);
    let du_dr = (2.0 * abs(r) * den - num * 2.0 * sigma * sign(r)) / (den * den);
    return vec4<f32>(s, ds * 2.0 * dx / den, ds * 2.0 * dy / den, ds * du_dr);
}

fn cov_rect(v_in: array<f32, 6>, w: f32, h: f32, is_rect: bool, px: f32, py: f32, inv: f32) -> Cov {
    var out: Cov;
    var v = v_in;
    let sx = span(px, v[0], v[0] + w - 1.0, inv);
    let sy = span(py, v[1], v[1] + h - 1.0, inv);
    out.c = sx.x * sy.x;
    out.g[0] = (sx.y + sx.z) * sy.x;
    out.g[1] = (sy.y + sy.z) * sx.x;
    if is_rect {
        out.g[2] = sx.z * sy.x;
        out.g[3] = sy.z * sx.x;
    }
    return out;
}

fn cov_tri(v_in: array<f32, 6>, px: f32, py: f32, inv: f32) -> Cov {
    var out: Cov;
    var v = v_in;
    let area2 = (v[2] - v[0]) * (v[5] - v[1]) - (v[3] - v[1]) * (v[4] - v[0]);
    if area2 == 0.0 {
        return out;
    }
    let s = sign(area2);
    var f: array<f32, 3>;
    var df: array<f32, 3>;
    var du: array<vec4<f32>, 3>;
    for (var i = 0u; i < 3u; i++) {
        let a = i;
        let b = (i + 1u) % 3u;
        let ax = v[2u * a];
        let ay = v[2u * a + 1u];
        let bx = v[2u * b];
        let by = v[2u * b + 1u];
        let ex = bx - ax;
        let ey = by - ay;
        let len = max(sqrt(ex * ex + ey * ey), 1e-9);
        let e = ex * (py - ay) - ey * (px - ax);
        let num = s * e + 0.5;
        let fi = sig(num * inv / len);
        f[i] = fi;
        df[i] = fi * (1.0 - fi);
        let de = vec4<f32>(by - py, px - bx, py - ay, -(px - ax));
        let dl = vec4<f32>(-ex / len, -ey / len, ex / len, ey / len);
        du[i] = s * de * inv / len - num * inv / (len * len) * dl;
    }
    out.c = f[0] * f[1] * f[2];
    for (var i = 0u; i < 3u; i++) {
        let others = f[(i + 1u) % 3u] * f[(i + 2u) % 3u];
        let k = df[i] * others;
        let a = i;
        let b = (i + 1u) % 3u;
        out.g[2u * a] += k * du[i].x;
        out.g[2u * a + 1u] += k * du[i].y;
        out.g[2u * b] += k * du[i].z;
        out.g[2u * b + 1u] += k * du[i].w;
    }
    return out;
}

fn cov_line(v_in: array<f32, 6>, px: f32, py: f32, inv: f32) -> Cov {
    var out: Cov;
    var v = v_in;
    let dx = v[2] - v[0];
    let dy = v[3] - v[1];
    if dx == 0.0 && dy == 0.0 {
        var p: array<f32, 6>;
        p[0] = v[0];
        p[1] = v[1];
        return cov_rect(p, 1.0, 1.0, false, px, py, inv);
    }
    var major = 0u;
    if abs(dx) < abs(dy) {
        major = 1u;
    }
    let minor = 1u - major;
    var p_major = px;
    var p_minor = py;
    if major == 1u {
        p_major = py;
        p_minor = px;
    }
    let a0 = v[major];
    let a1 = v[2u + major];
    let b0 = v[minor];
    let b1 = v[2u + minor];
    let da = a1 - a0;
    let sp = span(p_major, min(a0, a1), max(a0, a1), inv);
    let t = (p_major - a0) / da;
    let e = p_minor - (b0 + (b1 - b0) * t);
    let f1 = sig((0.5 + LINE_TIE - e) * inv);
    let f2 = sig((0.5 - LINE_TIE + e) * inv);
    let df1 = f1 * (1.0 - f1);
    let df2 = f2 * (1.0 - f2);
    out.c = sp.x * f1 * f2;
    let dc_de = sp.x * (-df1 * inv * f2 + f1 * df2 * inv);
    let db = b1 - b0;
    let de_a0 = -db * (p_major - a1) / (da * da);
    let de_a1 = db * (p_major - a0) / (da * da);
    let de_b0 = -(1.0 - t);
    let de_b1 = -t;
    let f12 = f1 * f2;
    var d_a0 = sp.y;
    var d_a1 = sp.z;
    if a0 > a1 {
        d_a0 = sp.z;
        d_a1 = sp.y;
    }
    out.g[major] = dc_de * de_a0 + d_a0 * f12;
    out.g[2u + major] = dc_de * de_a1 + d_a1 * f12;
    out.g[minor] = dc_de * de_b0;
    out.g[2u + minor] = dc_de * de_b1;
    return out;
}

fn coverage(call: Call, px: f32, py: f32, sigma: f32) -> Cov {
    let inv = 1.0 / sigma;
    var v: array<f32, 6>;
    v[0] = call.v0.x;
    v[1] = call.v0.y;
    v[2] = call.v0.z;
    v[3] = call.v0.w;
    v[4] = call.v1.x;
    v[5] = call.v1.y;
    var out: Cov;
    switch call.kind {
        case KIND_RECT: { return cov_rect(v, v[2], v[3], true, px, py, inv); }
        case KIND_PSET: { return cov_rect(v, 1.0, 1.0, false, px, py, inv); }
        case KIND_TRI: { return cov_tri(v, px, py, inv); }
        case KIND_LINE: { return cov_line(v, px, py, inv); }
        case KIND_CIRCF: {
            let d = disc(px - v[0], py - v[1], v[2], sigma);
            out.c = d.x;
            out.g[0] = d.y;
            out.g[1] = d.z;
            out.g[2] = d.w;
            return out;
        }
        case KIND_CIRC: {
            let d = disc(px - v[0], py - v[1], v[2], sigma);
            var n: array<vec4<f32>, 4>;
            n[0] = disc(px - 1.0 - v[0], py - v[1], v[2], sigma);
            n[1] = disc(px + 1.0 - v[0], py - v[1], v[2], sigma);
            n[2] = disc(px - v[0], py - 1.0 - v[1], v[2], sigma);
            n[3] = disc(px - v[0], py + 1.0 - v[1], v[2], sigma);
            let prod = n[0].x * n[1].x * n[2].x * n[3].x;
            out.c = d.x * (1.0 - prod);
            for (var j = 0u; j < 3u; j++) {
                var dprod = 0.0;
                for (var k = 0u; k < 4u; k++) {
                    var others = 1.0;
                    for (var m = 0u; m < 4u; m++) {
                        if m != k {
                            others *= n[m].x;
                        }
                    }
                    dprod += n[k][j + 1u] * others;
                }
                out.g[j] = d[j + 1u] * (1.0 - prod) - d.x * dprod;
            }
            return out;
        }
        default: {
            out.c = 1.0;
            return out;
        }
    }
}

fn channels(call: Call) -> vec3<f32> {
    return clamp(vec3<f32>(call.v1.z, call.v1.w, call.v2.x), vec3<f32>(0.0), vec3<f32>(255.0));
}

fn in_range(x: f32) -> f32 {
    return select(0.0, 1.0, x >= 0.0 && x <= 255.0);
}

fn masked(call: Call, pixel: u32) -> bool {
    let bit = call.mask * params.mask_words * 32u + pixel;
    return (masks[bit / 32u] >> (bit % 32u) & 1u) == 1u;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let n_pixels = params.width * params.height;
    let pixel = gid.x;
    let live = pixel < n_pixels;
    let n = params.n_calls;
    let sigma = params.sigma;
    var px = 0.0;
    var py = 0.0;
    var d = vec3<f32>(0.0);
    var g = vec3<f32>(0.0);
    var loss = 0.0;
    if live {
        let x = i32(pixel % params.width);
        let y = i32(pixel / params.width);
        px = f32(x);
        py = f32(y);
        for (var k = 0u; k < n; k++) {
            let call = calls[k];
            var c = 0.0;
            let inside = x >= call.bbox.x && x <= call.bbox.z && y >= call.bbox.y && y <= call.bbox.w;
            if inside {
                if call.kind == KIND_MASK {
                    c = select(0.0, 1.0, masked(call, pixel));
                } else {
                    c = coverage(call, px, py, sigma).c;
                }
            }
            if inside {
                // Read back only where the call covers the pixel's box.
                hist[pixel * n + k] = vec4<f32>(d, c);
                let s = channels(call);
                if call.kind == KIND_CLS {
                    d = s;
                } else {
                    let m = c * clamp(call.v2.y, 0.0, 255.0) / 255.0;
                    d += m * (s - d);
                }
            }
        }
        let t = target_px[pixel];
        let diff = d - t.xyz;
        loss = t.w * dot(diff, diff) * params.norm;
        g = 2.0 * t.w * diff * params.norm;
    }
    // The loss: summed like the gradients below, into the last row of partials.
    red[lid.x] = loss;
    workgroupBarrier();
    for (var stride = GROUP / 2u; stride > 0u; stride >>= 1u) {
        if lid.x < stride {
            red[lid.x] += red[lid.x + stride];
        }
        workgroupBarrier();
    }
    if lid.x == 0u {
        partial[(n * params.n_groups) * SLOTS + wid.x] = red[0];
    }
    workgroupBarrier();
    // The rows this workgroup's pixels lie in: a call whose box misses them adds nothing here, so the whole
    // workgroup skips its reduction (most calls of a large program are small). The test is the same for every
    // thread of the workgroup, so the barriers below stay uniform.
    let first_pixel = wid.x * GROUP;
    let last_pixel = min(first_pixel + GROUP, n_pixels) - 1u;
    let row_lo = i32(first_pixel / params.width);
    let row_hi = i32(last_pixel / params.width);
    for (var kk = 0u; kk < n; kk++) {
        let k = n - 1u - kk;
        let box = calls[k].bbox;
        if box.y > row_hi || box.w < row_lo {
            if lid.x < SLOTS {
                partial[(k * params.n_groups + wid.x) * SLOTS + lid.x] = 0.0;
            }
            continue;
        }
        var contrib: array<f32, 10>;
        if live {
            let call = calls[k];
            let inside = i32(px) >= call.bbox.x && i32(px) <= call.bbox.z && i32(py) >= call.bbox.y
                && i32(py) <= call.bbox.w;
            if inside {
                let h = hist[pixel * n + k];
                let c = h.w;
                let s = channels(call);
                if call.kind == KIND_CLS {
                    contrib[6] = g.x * in_range(call.v1.z);
                    contrib[7] = g.y * in_range(call.v1.w);
                    contrib[8] = g.z * in_range(call.v2.x);
                    g = vec3<f32>(0.0);
                } else {
                    let a = clamp(call.v2.y, 0.0, 255.0) / 255.0;
                    let m = c * a;
                    let dm = dot(g, s - h.xyz);
                    contrib[6] = g.x * m * in_range(call.v1.z);
                    contrib[7] = g.y * m * in_range(call.v1.w);
                    contrib[8] = g.z * m * in_range(call.v2.x);
                    contrib[9] = dm * c / 255.0 * in_range(call.v2.y);
                    let dc = dm * a;
                    if dc != 0.0 && call.kind != KIND_MASK {
                        let cov = coverage(call, px, py, sigma);
                        for (var j = 0u; j < 6u; j++) {
                            contrib[j] = dc * cov.g[j];
                        }
                    }
                    g *= 1.0 - m;
                }
            }
        }
        for (var j = 0u; j < SLOTS; j++) {
            red[lid.x * SLOTS + j] = contrib[j];
        }
        workgroupBarrier();
        for (var stride = GROUP / 2u; stride > 0u; stride >>= 1u) {
            if lid.x < stride {
                for (var j = 0u; j < SLOTS; j++) {
                    red[lid.x * SLOTS + j] += red[(lid.x + stride) * SLOTS + j];
                }
            }
            workgroupBarrier();
        }
        if lid.x < SLOTS {
            partial[(k * params.n_groups + wid.x) * SLOTS + lid.x] = red[lid.x];
        }
        workgroupBarrier();
    }
}
