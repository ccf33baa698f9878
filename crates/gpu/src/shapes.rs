//! The shape scorer: scores thousands of candidate shapes against a small canvas per dispatch, the first stage of
//! the image goal's evaluator cascade (see `gvpie-evolve`), and its resident climbers.
//!
//! The caller uploads the error table of a small canvas once per placed shape ([`ShapeScorer::set_table`]: rows of
//! `width + 1` prefix entries of 8 words, the layout of `gvpie_evolve::ErrorTable::prefix_words`) and then scores
//! batches of candidates ([`ShapeScorer::score`]), one GPU thread each. The shader computes exactly what
//! `ErrorTable::score` computes on the CPU, integer for integer: a differential test checks it. Its integer sums fit
//! 32 bits only for small canvases, hence [`MAX_TABLE_PIXELS`].
//!
//! Buffers are kept between calls and grow to the largest batch seen; one call is one submission and one
//! read-back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use crate::readback;
use crate::{GpuBackend, GpuError};

/// The shader of the scorer.
pub const SHAPES_WGSL: &str = include_str!("../shaders/shapes.wgsl");

/// The resident climbers' entry point, appended to [`SHAPES_WGSL`] (it scores with the same functions).
pub const CLIMB_WGSL: &str = include_str!("../shaders/climb.wgsl");

/// The source of the climb pipeline: the scorer and the climbers in one module.
pub fn climb_source() -> String {
    format!("{SHAPES_WGSL}\n{CLIMB_WGSL}")
}

/// The largest canvas the scorer takes, in pixels: the shader's sums fit `i32` up to this size.
pub const MAX_TABLE_PIXELS: u32 = 4096;

/// Words per prefix entry: Σe and Σp per channel, Σe·p and Σp² over the channels.
pub const ENTRY_WORDS: usize = 8;

/// Threads per workgroup of the scorer.
const GROUP: u32 = 64;

/// One candidate shape, in the small canvas's pixel coordinates.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct ShapeCandidate {
    kind: u32,
    coords: [i32; 6],
    pad: u32,
}

impl ShapeCandidate {
    /// `TRI x0 y0 x1 y1 x2 y2`.
    pub fn triangle(v: [i32; 6]) -> ShapeCandidate {
        ShapeCandidate { kind: 0, coords: v, pad: 0 }
    }

    /// The rectangle covering `x0..=x1` by `y0..=y1`.
    pub fn rectangle([x0, y0, x1, y1]: [i32; 4]) -> ShapeCandidate {
        ShapeCandidate { kind: 1, coords: [x0, y0, x1, y1, 0, 0], pad: 0 }
    }

    /// `Ok(vertices)` for a triangle, `Err(corners)` for a rectangle.
    pub fn shape(&self) -> Result<[i32; 6], [i32; 4]> {
        let c = self.coords;
        if self.kind == 0 { Ok(c) } else { Err([c[0], c[1], c[2], c[3]]) }
    }
}

/// The score of one candidate: `ErrorTable::score`'s result.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ShapeScore {
    /// Estimated change of the squared error, in units of `1/255²` of a squared level (negative is better).
    pub delta: i64,
    /// The solved colour, RGBA (the alpha is the fixed one, or the one solved for this shape).
    pub color: [u8; 4],
    /// Pixels covered; 0 when the shape covers none (then the other fields are 0).
    pub n_pixels: u32,
}

/// What every resident climber does (see `gvpie_evolve::ClimbJob`, whose algorithm `shaders/climb.wgsl` runs).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct ClimbParams {
    /// Seeds the climbers' random generators.
    pub key: u32,
    /// How many climbers (one workgroup each).
    pub n_climbers: u32,
    /// 0: triangles, 1: rectangles, 2: both.
    pub kinds: u32,
    /// Random starts per climber.
    pub random_tries: u32,
    /// Failed mutations in a row that end a climb.
    pub max_failures: u32,
    /// Random corners lie within this many pixels of the first.
    pub spread: i32,
    /// The mutation step's uniform half-width.
    pub step: i32,
    /// Triangle vertices stay within this many pixels of the canvas.
    pub margin: i32,
}

/// Where one resident climber ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ClimbResult {
    /// Its best shape, or `None` when no start covered a pixel.
    pub best: Option<(ShapeCandidate, ShapeScore)>,
    /// Candidates it scored.
    pub steps: u32,
}

#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
struct RawClimb {
    kind: u32,
    coords: [i32; 6],
    steps: u32,
    score: RawScore,
}

#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
struct Params {
    width: u32,
    height: u32,
    alpha: u32,
    n_shapes: u32,
}

#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
struct RawScore {
    delta_lo: u32,
    delta_hi: u32,
    color: u32,
    n_pixels: u32,
}

/// A compiled scorer with its buffers, for one table size and alpha rule.
pub struct ShapeScorer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    lost: Arc<AtomicBool>,
    params: Params,
    prefix: wgpu::Buffer,
    /// Candidates, scores and the read-back buffer, sized for `capacity` shapes.
    capacity: usize,
    buffers: Option<(wgpu::Buffer, wgpu::Buffer, wgpu::Buffer)>,
    has_table: bool,
    /// The climb pipeline, compiled on first use.
    climb_pipeline: Option<wgpu::ComputePipeline>,
    /// The buffers and bind group of the last climb, kept for the next one of as many climbers (a search runs one
    /// per shape).
    climb_buffers: Option<ClimbBuffers>,
}

/// What a climb of `n` climbers binds: its results and their read-back, and its two uniforms.
struct ClimbBuffers {
    n: usize,
    out: wgpu::Buffer,
    read: wgpu::Buffer,
    job: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl std::fmt::Debug for ShapeScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapeScorer")
            .field("width", &self.params.width)
            .field("height", &self.params.height)
            .field("alpha", &(self.params.alpha & 0xff))
            .field("min_alpha", &(self.params.alpha >> 8))
            .finish_non_exhaustive()
    }
}

impl GpuBackend {
    /// A shape scorer for `width` x `height` error tables and shapes of alpha `alpha`, or, when `alpha` is 0, with
    /// the alpha solved per shape and at least `min_alpha` (0 counts as 1): `gvpie_evolve::ErrorTable`'s rules, in
    /// the same exact integers.
    ///
    /// # Errors
    ///
    /// [`GpuError::BadRequest`] for a canvas over [`MAX_TABLE_PIXELS`]; [`GpuError::Device`] when the shader does
    /// not compile.
    pub fn shape_scorer(&self, width: u32, height: u32, alpha: u8, min_alpha: u8) -> Result<ShapeScorer, GpuError> {
        if width == 0 || height == 0 || u64::from(width) * u64::from(height) > u64::from(MAX_TABLE_PIXELS) {
            return Err(GpuError::BadRequest(format!(
                "the shape scorer takes canvases of 1 to {MAX_TABLE_PIXELS} pixels, not {width}x{height}"
            )));
        }
        let device = self.device.clone();
        use wgpu::BufferBindingType::{Storage, Uniform};
        let bindings =
            [Uniform, Storage { read_only: true }, Storage { read_only: true }, Storage { read_only: false }];
        let (pipeline, layout) = crate::backend::buffer_pipeline(&device, "shapes", SHAPES_WGSL, &bindings)
            .map_err(|err| GpuError::Device(format!("the shape shader did not compile: {err}")))?;
        let table_words = height as usize * (width as usize + 1) * ENTRY_WORDS;
        let prefix = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gvpie.shapes_prefix"),
            size: (table_words * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(ShapeScorer {
            device,
            queue: self.queue.clone(),
            pipeline,
            layout,
            lost: Arc::clone(&self.lost),
            params: Params { width, height, alpha: u32::from(alpha) | u32::from(min_alpha.max(1)) << 8, n_shapes: 0 },
            prefix,
            capacity: 0,
            buffers: None,
            has_table: false,
            climb_pipeline: None,
            climb_buffers: None,
        })
    }
}

impl ShapeScorer {
    /// The fixed alpha (0: solved per shape) and the smallest solved alpha this scorer was made for.
    pub fn alpha(&self) -> (u8, u8) {
        ((self.params.alpha & 0xff) as u8, (self.params.alpha >> 8) as u8)
    }

    /// The words a table of this scorer's size has: `height * (width + 1) * 8`.
    pub fn table_words(&self) -> usize {
        self.params.height as usize * (self.params.width as usize + 1) * ENTRY_WORDS
    }

    /// Uploads the error table that the next batches are scored against.
    ///
    /// # Errors
    ///
    /// [`GpuError::BadRequest`] when `prefix` does not have [`ShapeScorer::table_words`] words.
    pub fn set_table(&mut self, prefix: &[i32]) -> Result<(), GpuError> {
        if prefix.len() != self.table_words() {
            return Err(GpuError::BadRequest(format!(
                "the table has {} words, not the {} of a {}x{} canvas",
                prefix.len(),
                self.table_words(),
                self.params.width,
                self.params.height
            )));
        }
        self.queue.write_buffer(&self.prefix, 0, bytemuck::cast_slice(prefix));
        self.has_table = true;
        Ok(())
    }

    /// Scores `shapes` against the table, in order.
    ///
    /// # Errors
    ///
    /// [`GpuError::BadRequest`] before any table is set; [`GpuError::Device`] when the device fails or is lost (the
    /// caller can score on the CPU instead: the results would be the same).
    pub fn score(&mut self, shapes: &[ShapeCandidate]) -> Result<Vec<ShapeScore>, GpuError> {
        if !self.has_table {
            return Err(GpuError::BadRequest("no table was set before scoring".into()));
        }
        if shapes.is_empty() {
            return Ok(Vec::new());
        }
        if self.lost.load(Ordering::SeqCst) {
            return Err(GpuError::Device("the GPU device was lost".into()));
        }
        self.reserve(shapes.len());
        let Some((candidates, scores, read)) = &self.buffers else {
            return Err(GpuError::Device("no buffers".into()));
        };
        let n = shapes.len();
        self.queue.write_buffer(candidates, 0, bytemuck::cast_slice(shapes));
        let params = Params { n_shapes: n as u32, ..self.params };
        let params_buf = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("gvpie.shapes_params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("gvpie.shapes_bind_group"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: params_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: self.prefix.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: candidates.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: scores.as_entire_binding() },
            ],
        });
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("gvpie.shapes_pass"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            // Spread the groups over two dimensions past the per-dimension limit.
            let groups = (n as u32).div_ceil(GROUP);
            let max = self.device.limits().max_compute_workgroups_per_dimension.max(1);
            let x = groups.min(max);
            pass.dispatch_workgroups(x, groups.div_ceil(x), 1);
        }
        let bytes = (n * std::mem::size_of::<RawScore>()) as u64;
        encoder.copy_buffer_to_buffer(scores, 0, read, 0, bytes);
        self.queue.submit([encoder.finish()]);
        self.wait_mapped(read, bytes, scope)?;
        let mut raw: Vec<RawScore> = Vec::with_capacity(n);
        readback::append_mapped(read.slice(0..bytes), &mut raw).map_err(GpuError::Device)?;
        Ok(raw.iter().map(score_from_raw).collect())
    }

    /// Runs `job.n_climbers` resident climbers against the table, one workgroup each, in one dispatch.
    ///
    /// # Errors
    ///
    /// As [`ShapeScorer::score`]; [`GpuError::Device`] also when the climb shader does not compile.
    pub fn climb(&mut self, job: &ClimbParams) -> Result<Vec<ClimbResult>, GpuError> {
        if !self.has_table {
            return Err(GpuError::BadRequest("no table was set before climbing".into()));
        }
        if job.n_climbers == 0 {
            return Ok(Vec::new());
        }
        if self.lost.load(Ordering::SeqCst) {
            return Err(GpuError::Device("the GPU device was lost".into()));
        }
        if self.climb_pipeline.is_none() {
            let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("gvpie.climb"),
                source: wgpu::ShaderSource::Wgsl(climb_source().into()),
            });
            // The layout is derived from the entry point: the scorer's candidate and score buffers are not bound.
            let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("gvpie.climb_pipeline"),
                layout: None,
                module: &module,
                entry_point: Some("climb_main"),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache: None,
            });
            if let Some(err) = pollster::block_on(scope.pop()) {
                return Err(GpuError::Device(format!("the climb shader did not compile: {err}")));
            }
            self.climb_pipeline = Some(pipeline);
        }
        let Some(pipeline) = &self.climb_pipeline else {
            return Err(GpuError::Device("no climb pipeline".into()));
        };
        let n = job.n_climbers as usize;
        let bytes = (n * std::mem::size_of::<RawClimb>()) as u64;
        if self.climb_buffers.as_ref().is_none_or(|b| b.n != n) {
            let out = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.climb_out"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let read = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.climb_read"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            // The scorer's parameters with no shapes: the same for every climb of this scorer.
            let params = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("gvpie.climb_table_params"),
                contents: bytemuck::bytes_of(&Params { n_shapes: 0, ..self.params }),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let job_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.climb_params"),
                size: std::mem::size_of::<ClimbParams>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("gvpie.climb_bind_group"),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: self.prefix.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 4, resource: job_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 5, resource: out.as_entire_binding() },
                ],
            });
            self.climb_buffers = Some(ClimbBuffers { n, out, read, job: job_buf, bind_group });
        }
        let Some(ClimbBuffers { out, read, job: job_buf, bind_group, .. }) = &self.climb_buffers else {
            return Err(GpuError::Device("no climb buffers".into()));
        };
        self.queue.write_buffer(job_buf, 0, bytemuck::bytes_of(job));
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("gvpie.climb_pass"),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            // One workgroup per climber.
            let groups = job.n_climbers;
            let max = self.device.limits().max_compute_workgroups_per_dimension.max(1);
            let x = groups.min(max);
            pass.dispatch_workgroups(x, groups.div_ceil(x), 1);
        }
        encoder.copy_buffer_to_buffer(out, 0, read, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let mut raw: Vec<RawClimb> = Vec::with_capacity(n);
        let read_back = self
            .wait_mapped(read, bytes, scope)
            .and_then(|()| readback::append_mapped(read.slice(0..bytes), &mut raw).map_err(GpuError::Device));
        if let Err(err) = read_back {
            // The read-back buffer may be left mapped or pending: the next climb makes new ones.
            self.climb_buffers = None;
            return Err(err);
        }
        let results = raw
            .iter()
            .map(|r| ClimbResult {
                best: (r.score.n_pixels > 0)
                    .then(|| (ShapeCandidate { kind: r.kind, coords: r.coords, pad: 0 }, score_from_raw(&r.score))),
                steps: r.steps,
            })
            .collect();
        Ok(results)
    }

    /// Waits until the first `bytes` of `read` are mapped, then pops `scope` (validation errors of the submission).
    fn wait_mapped(&self, read: &wgpu::Buffer, bytes: u64, scope: wgpu::ErrorScopeGuard) -> Result<(), GpuError> {
        let waited = readback::map_and_wait(&self.device, &self.lost, &[read.slice(0..bytes)], wgpu::MapMode::Read);
        let scope_error = pollster::block_on(scope.pop());
        waited.map_err(|failed| GpuError::Device(failed.reason()))?;
        match scope_error {
            Some(err) => Err(GpuError::Device(err.to_string())),
            None => Ok(()),
        }
    }

    /// Grows the candidate, score and read-back buffers to hold `n` shapes (doubling, so few reallocations).
    fn reserve(&mut self, n: usize) {
        if self.buffers.is_some() && n <= self.capacity {
            return;
        }
        let capacity = n.next_power_of_two().max(1024);
        let make = |label: &str, size: usize, usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let candidates = make(
            "gvpie.shapes_candidates",
            capacity * std::mem::size_of::<ShapeCandidate>(),
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        );
        let scores = make(
            "gvpie.shapes_scores",
            capacity * std::mem::size_of::<RawScore>(),
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let read = make(
            "gvpie.shapes_read",
            capacity * std::mem::size_of::<RawScore>(),
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        self.buffers = Some((candidates, scores, read));
        self.capacity = capacity;
    }
}

fn score_from_raw(r: &RawScore) -> ShapeScore {
    ShapeScore {
        delta: ((u64::from(r.delta_hi) << 32) | u64::from(r.delta_lo)) as i64,
        color: r.color.to_le_bytes(),
        n_pixels: r.n_pixels,
    }
}
