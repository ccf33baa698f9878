//! Adapter discovery and device creation: [`GpuBackend`], [`AdapterInfo`], [`list_adapters`].
//!
//! The instance is built from the environment (`WGPU_BACKEND=vulkan|gl|...` and wgpu's other
//! variables), and `GVPIE_ADAPTER` picks an adapter by index or by a case-insensitive
//! substring of its name. This module compiles the pipeline once per backend; running
//! batches lives in `batch`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::GpuError;
use crate::shader;

/// The environment variable that picks an adapter: an index into [`list_adapters`] or a
/// case-insensitive substring of the adapter's name.
pub const ADAPTER_ENV: &str = "GVPIE_ADAPTER";

/// What an adapter is, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterInfo {
    /// The adapter's name, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The graphics API: "vulkan", "gl", "metal", "dx12".
    pub backend: String,
    /// "discrete", "integrated", "virtual", "cpu" or "other".
    pub device_type: String,
    /// The driver and its version, when the adapter tells.
    pub driver: String,
}

impl AdapterInfo {
    fn from_wgpu(info: &wgpu::AdapterInfo) -> AdapterInfo {
        let device_type = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete",
            wgpu::DeviceType::IntegratedGpu => "integrated",
            wgpu::DeviceType::VirtualGpu => "virtual",
            wgpu::DeviceType::Cpu => "cpu",
            wgpu::DeviceType::Other => "other",
        };
        let driver = [info.driver.as_str(), info.driver_info.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        AdapterInfo {
            name: info.name.clone(),
            backend: info.backend.to_str().to_string(),
            device_type: device_type.to_string(),
            driver,
        }
    }
}

impl std::fmt::Display for AdapterInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.backend, self.device_type)
    }
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Adapters that can run compute shaders, in the order `GVPIE_ADAPTER` indexes them.
fn compute_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters
        .into_iter()
        .filter(|a| a.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS))
        .collect()
}

/// Every adapter that can run the backend, in the order `GVPIE_ADAPTER` indexes them.
pub fn list_adapters() -> Vec<AdapterInfo> {
    compute_adapters(&instance()).iter().map(|a| AdapterInfo::from_wgpu(&a.get_info())).collect()
}

fn pick(adapters: Vec<wgpu::Adapter>, selector: Option<&str>) -> Result<wgpu::Adapter, GpuError> {
    if adapters.is_empty() {
        return Err(GpuError::NoAdapter);
    }
    let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
    let Some(selector) = selector.map(str::trim).filter(|s| !s.is_empty()) else {
        // Prefer a real GPU over a software one, then the enumeration order.
        let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        };
        let mut adapters = adapters;
        adapters.sort_by_key(rank);
        return adapters.into_iter().next().ok_or(GpuError::NoAdapter);
    };
    let found = match selector.parse::<usize>() {
        Ok(index) => (index < adapters.len()).then_some(index),
        Err(_) => {
            let wanted = selector.to_lowercase();
            names.iter().position(|n| n.to_lowercase().contains(&wanted))
        }
    };
    match found {
        Some(index) => adapters.into_iter().nth(index).ok_or(GpuError::NoAdapter),
        None => Err(GpuError::AdapterNotFound { selector: selector.to_string(), available: names }),
    }
}

/// A GPU device with the batch pipeline compiled: runs many programs per submission.
///
/// Create it once and reuse it: device creation and pipeline compilation take from tens of
/// milliseconds (a real GPU) to a second (lavapipe).
pub struct GpuBackend {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    /// The workgroup-memory variant, compiled on first use; `None` when the device's
    /// workgroup memory is too small for it or it failed to compile.
    workgroup_pipeline: std::sync::OnceLock<Option<wgpu::ComputePipeline>>,
    /// The score pass (`score_pass` in batch.wgsl), compiled on first use.
    score_pipeline: std::sync::OnceLock<Option<wgpu::ComputePipeline>>,
    /// The interpreter-only variant (no rasterizer), compiled on first use.
    interp_pipeline: std::sync::OnceLock<Option<wgpu::ComputePipeline>>,
    pub(crate) lost: Arc<AtomicBool>,
    pub(crate) busy: std::sync::Mutex<()>,
    /// Upload buffers reused between batches.
    pub(crate) pool: std::sync::Mutex<crate::pack::Pool>,
    /// The canvas buffer, kept between batches (allocating gigabytes per batch costs time).
    pub(crate) canvas_pool: std::sync::Mutex<Option<wgpu::Buffer>>,
    info: AdapterInfo,
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend").field("adapter", &self.info).finish_non_exhaustive()
    }
}

impl GpuBackend {
    /// Opens the adapter that `GVPIE_ADAPTER` names, or the best one (a real GPU before a
    /// software one).
    ///
    /// # Errors
    ///
    /// [`GpuError::NoAdapter`] when there is none, [`GpuError::AdapterNotFound`] when the
    /// variable matches none, [`GpuError::Device`] when the device cannot be created.
    pub fn new() -> Result<GpuBackend, GpuError> {
        let selector = std::env::var(ADAPTER_ENV).ok();
        GpuBackend::with_adapter(selector.as_deref())
    }

    /// Opens the adapter `selector` names (index or name substring), or the best one.
    ///
    /// # Errors
    ///
    /// As [`GpuBackend::new`].
    pub fn with_adapter(selector: Option<&str>) -> Result<GpuBackend, GpuError> {
        let instance = instance();
        let adapter = pick(compute_adapters(&instance), selector)?;
        let info = AdapterInfo::from_wgpu(&adapter.get_info());
        // Ask for everything the adapter offers: large batches want large storage bindings.
        let required_limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("gvpie.device"),
            required_features: wgpu::Features::empty(),
            required_limits,
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |_reason, _message| flag.store(true, Ordering::SeqCst));

        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        // Binding order matches `@binding(n)` in batch.wgsl.
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("gvpie.batch_layout"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                storage(1, true),
                storage(2, false),
                storage(3, false),
                storage(4, false),
                storage(5, false),
                storage(6, false),
                storage(7, true),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("gvpie.batch_pipeline_layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = build_pipeline(&device, &pipeline_layout, &shader::LANES, "main")
            .map_err(|err| GpuError::Device(format!("the batch shader did not compile: {err}")))?;
        Ok(GpuBackend {
            device,
            queue,
            pipeline,
            layout,
            pipeline_layout,
            workgroup_pipeline: std::sync::OnceLock::new(),
            score_pipeline: std::sync::OnceLock::new(),
            interp_pipeline: std::sync::OnceLock::new(),
            lost,
            busy: std::sync::Mutex::new(()),
            pool: std::sync::Mutex::default(),
            canvas_pool: std::sync::Mutex::default(),
            info,
        })
    }

    /// Whether this device can run [`crate::Schedule::Workgroup`] (its workgroup memory holds
    /// the variant's canvases, code and variables); without it every program runs per lane.
    pub fn supports_workgroup_schedule(&self) -> bool {
        self.workgroup_pipeline().is_some()
    }

    /// The workgroup-memory variant of the batch pipeline (compiled on first use), or `None`
    /// where the device cannot hold its workgroup memory.
    pub(crate) fn workgroup_pipeline(&self) -> Option<&wgpu::ComputePipeline> {
        self.workgroup_pipeline
            .get_or_init(|| {
                let limit = u64::from(self.device.limits().max_compute_workgroup_storage_size);
                (shader::WORKGROUP.workgroup_bytes() <= limit)
                    .then(|| build_pipeline(&self.device, &self.pipeline_layout, &shader::WORKGROUP, "main").ok())
                    .flatten()
            })
            .as_ref()
    }

    /// The score pass of the batch shader (compiled on first use), or `None` if it failed to
    /// compile.
    pub(crate) fn score_pipeline(&self) -> Option<&wgpu::ComputePipeline> {
        self.score_pipeline
            .get_or_init(|| build_pipeline(&self.device, &self.pipeline_layout, &shader::LANES, "score_pass").ok())
            .as_ref()
    }

    /// The interpreter-only variant of the per-lane pipeline (compiled on first use), or `None`
    /// if it failed to compile (programs then start in the full pipeline).
    pub(crate) fn interp_pipeline(&self) -> Option<&wgpu::ComputePipeline> {
        self.interp_pipeline
            .get_or_init(|| build_pipeline(&self.device, &self.pipeline_layout, &shader::LANES_INTERP, "main").ok())
            .as_ref()
    }

    /// The adapter this backend runs on.
    pub fn adapter_info(&self) -> &AdapterInfo {
        &self.info
    }
}

/// Compiles one variant of the batch shader into a pipeline with entry point `entry`.
fn build_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    variant: &shader::Variant,
    entry: &str,
) -> Result<wgpu::ComputePipeline, String> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let descriptor = wgpu::ShaderModuleDescriptor {
        label: Some("gvpie.batch"),
        source: wgpu::ShaderSource::Wgsl(shader::variant_source(variant).into()),
    };
    let checks = wgpu::ShaderRuntimeChecks { force_loop_bounding: false, ..wgpu::ShaderRuntimeChecks::checked() };
    // SAFETY: bounds checks stay on; only the loop-bounding counter is off.
    let module = unsafe { device.create_shader_module_trusted(descriptor, checks) };
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("gvpie.batch_pipeline"),
        layout: Some(layout),
        module: &module,
        entry_point: Some(entry),
        // The shader initialises the workgroup memory it reads (canvases are cleared anyway).
        compilation_options: wgpu::PipelineCompilationOptions {
            zero_initialize_workgroup_memory: false,
            ..wgpu::PipelineCompilationOptions::default()
        },
        cache: None,
    });
    match pollster::block_on(scope.pop()) {
        Some(err) => Err(err.to_string()),
        None => Ok(pipeline),
    }
}

/// Measures device memory bandwidth with a device-to-device copy of `bytes` (median of
/// `repeats`), counting bytes read plus bytes written per second. For benchmarks' floor
/// analysis.
pub fn measure_copy_bandwidth(backend: &GpuBackend, bytes: u64, repeats: usize) -> f64 {
    let make = |label: &str, usage| {
        backend.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage,
            mapped_at_creation: false,
        })
    };
    let src = make("gvpie.bandwidth_src", wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST);
    let dst = make("gvpie.bandwidth_dst", wgpu::BufferUsages::COPY_DST);
    let mut times = Vec::new();
    for _ in 0..repeats.max(1) + 1 {
        let mut encoder = backend.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(&src, 0, &dst, 0, bytes);
        let start = std::time::Instant::now();
        backend.queue.submit([encoder.finish()]);
        let _ = backend.device.poll(wgpu::PollType::wait_indefinitely());
        times.push(start.elapsed().as_secs_f64());
    }
    // The first copy also initialises the buffers; drop it.
    times.remove(0);
    times.sort_by(f64::total_cmp);
    2.0 * bytes as f64 / times[times.len() / 2]
}

/// A compute pipeline whose bindings are buffers only, bound in order at 0, 1, ... with the types of `bindings`
/// (entry point `main`), and its bind group layout: the shape scorer's and the soft renderer's. `Err` carries the
/// compiler's or validator's message.
pub(crate) fn buffer_pipeline(
    device: &wgpu::Device,
    name: &str,
    source: &str,
    bindings: &[wgpu::BufferBindingType],
) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout), String> {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
        .iter()
        .enumerate()
        .map(|(binding, &ty)| wgpu::BindGroupLayoutEntry {
            binding: binding as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(&format!("gvpie.{name}_layout")),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(&format!("gvpie.{name}_pipeline_layout")),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(&format!("gvpie.{name}")),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(&format!("gvpie.{name}_pipeline")),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions::default(),
        cache: None,
    });
    match pollster::block_on(scope.pop()) {
        Some(err) => Err(err.to_string()),
        None => Ok((pipeline, layout)),
    }
}
