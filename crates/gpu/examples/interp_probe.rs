//! How fast can a PXL-like interpreter go on this device at all? Floors for the instruction
//! benchmark (`gpu_bench`), measured with kernels that are not gvpie's shader: a dependent ALU
//! chain per thread, and a minimal interpreter (4-word records, interleaved per lane like
//! gvpie's code, variables in workgroup memory, one switch) running `l: LOOP i N l; HALT`.
//! If the minimal interpreter is far faster than gvpie's, the gap is in gvpie's loop, not the
//! device.
//!
//! `cargo run --release -p gvpie-gpu --example interp_probe -- [--threads N] [--iters N]`.
//! One JSON line per kernel and thread count.

use std::time::Instant;

const PROBE_WGSL: &str = r#"
struct Params { n_threads: u32, iters: u32, lanes: u32, pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> prog: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
var<workgroup> wv: array<i32, 512>;

fn gid_of(wid: vec3<u32>, n: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * n.x) * 64u + lid;
}

@compute @workgroup_size(64)
fn alu(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
       @builtin(num_workgroups) n: vec3<u32>) {
    let gid = gid_of(wid, n, lid);
    if gid >= params.n_threads { return; }
    var x = gid + prog[0];
    for (var i = 0u; i < params.iters; i += 1u) {
        x = x * 1664525u + 1013904223u;
    }
    out[gid] = x;
}

// Records of 4 words: op (1 HALT, 2 LOOP var limit target, 3 ADD var var literal), a, b, c;
// word k of lane g's record r at (r * 4 + k) * lanes + g.
@compute @workgroup_size(64)
fn mini(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) n: vec3<u32>) {
    let gid = gid_of(wid, n, lid);
    for (var k = 0u; k < 8u; k += 1u) { wv[k * 64u + lid] = 0; }
    if gid >= params.n_threads { return; }
    let lanes = params.lanes;
    var pc = 0u;
    var left = params.iters;
    var ran = 0u;
    loop {
        if pc >= 2u || left == 0u { break; }
        let rb = pc * 4u * lanes + gid;
        let op = prog[rb];
        let a = prog[rb + lanes];
        let b = prog[rb + 2u * lanes];
        let c = prog[rb + 3u * lanes];
        left -= 1u;
        ran += 1u;
        pc += 1u;
        switch op {
            case 1u: { pc = 2u; }
            case 2u: {
                let v = wv[(a & 7u) * 64u + lid] + 1;
                wv[(a & 7u) * 64u + lid] = v;
                if v < bitcast<i32>(b) { pc = c; }
            }
            case 3u: { wv[(a & 7u) * 64u + lid] = wv[(b & 7u) * 64u + lid] + bitcast<i32>(c); }
            default: {}
        }
    }
    out[gid] = ran;
}
"#;

fn arg(args: &[String], name: &str) -> Option<u32> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let iters = arg(&args, "--iters").unwrap_or(160_000);
    let thread_counts: Vec<u32> = match arg(&args, "--threads") {
        Some(n) => vec![n],
        None => vec![50_000, 100_000, 200_000, 400_000],
    };
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .unwrap_or_else(|e| panic!("no adapter: {e}"));
    println!("adapter: {:?}", adapter.get_info().name);
    let (device, queue) = pollster::block_on(
        adapter.request_device(&wgpu::DeviceDescriptor { required_limits: adapter.limits(), ..Default::default() }),
    )
    .unwrap_or_else(|e| panic!("no device: {e}"));
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("probe"),
        source: wgpu::ShaderSource::Wgsl(PROBE_WGSL.into()),
    });
    let max_threads = *thread_counts.iter().max().unwrap_or(&1);
    for (kernel, per_iter) in [("alu", 2.0), ("mini", 1.0)] {
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel),
            layout: None,
            module: &module,
            entry_point: Some(kernel),
            compilation_options: Default::default(),
            cache: None,
        });
        for &threads in &thread_counts {
            // The program `l: LOOP i iters l; HALT` for every lane, interleaved.
            let lanes = threads;
            let mut words = vec![0u32; 8 * lanes as usize];
            for g in 0..lanes as usize {
                let record = [[2, 0, iters, 0], [1, 0, 0, 0]];
                for (r, rec) in record.iter().enumerate() {
                    for (k, &w) in rec.iter().enumerate() {
                        words[(r * 4 + k) * lanes as usize + g] = w;
                    }
                }
            }
            let make = |contents: &[u8], usage| {
                use wgpu::util::DeviceExt;
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: None, contents, usage })
            };
            let params = make(bytemuck::cast_slice(&[threads, iters + 10, lanes, 0u32]), wgpu::BufferUsages::UNIFORM);
            let prog = make(bytemuck::cast_slice(&words), wgpu::BufferUsages::STORAGE);
            let out = make(&vec![0u8; max_threads as usize * 4], wgpu::BufferUsages::STORAGE);
            let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: prog.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: out.as_entire_binding() },
                ],
            });
            let groups = threads.div_ceil(64);
            let (x, y) = if groups > 65_535 { (65_535, groups.div_ceil(65_535)) } else { (groups, 1) };
            let mut times = Vec::new();
            for _ in 0..4 {
                let mut encoder = device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    pass.set_pipeline(&pipeline);
                    pass.set_bind_group(0, &bind, &[]);
                    pass.dispatch_workgroups(x, y, 1);
                }
                let start = Instant::now();
                queue.submit([encoder.finish()]);
                let _ = device.poll(wgpu::PollType::wait_indefinitely());
                times.push(start.elapsed().as_secs_f64());
            }
            times.remove(0);
            times.sort_by(f64::total_cmp);
            let t = times[times.len() / 2];
            // alu: 2 ops per iteration (mul-add counted as 2); mini: LOOP runs `iters` times, then HALT.
            let work = f64::from(threads) * f64::from(iters) * per_iter;
            println!(
                "{{\"bench\":\"interp_probe\",\"kernel\":\"{kernel}\",\"threads\":{threads},\"iters\":{iters},\"seconds\":{t:.4},\"per_s\":{:.4e}}}",
                work / t
            );
        }
    }
}
