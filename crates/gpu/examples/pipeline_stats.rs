//! What the driver made of gvpie's compute pipelines: registers, memory and the occupancy they allow.
//!
//! wgpu cannot ask the driver for `VK_KHR_pipeline_executable_properties`, so this report builds every pipeline
//! of [`gvpie_gpu::pipeline_sources`] itself: WGSL through naga to SPIR-V (bounds checks on, workgroup memory not
//! zeroed, as gvpie asks wgpu), then a Vulkan compute pipeline created with `CAPTURE_STATISTICS`, whose statistics
//! the driver then reports (NVIDIA: registers, shared memory, binary size; Mesa: its own counters). From a
//! register count it works out the warps a streaming multiprocessor can hold (H100: 65,536 registers and 64 warps
//! per SM, registers allocated per warp in units of 256).
//!
//! Usage: `cargo run --release -p gvpie-gpu --example pipeline_stats` (the first Vulkan device that has the
//! extension, a discrete GPU first; `--device N` picks another).

use std::error::Error;
use std::ffi::CStr;

use ash::vk;

fn main() {
    if let Err(err) = run() {
        eprintln!("pipeline_stats: {err}");
        std::process::exit(1);
    }
}

/// Writes the internal representations the driver gives for one executable (the two-call
/// pattern: sizes first, then the data) into `dir`; prints how many there were.
fn write_internal_representations(
    statistics: &ash::khr::pipeline_executable_properties::Device,
    info: &vk::PipelineExecutableInfoKHR<'_>,
    dir: &std::path::Path,
    name: &str,
    index: u32,
) -> Result<(), Box<dyn Error>> {
    let fp = statistics.fp().get_pipeline_executable_internal_representations_khr;
    let device = statistics.device();
    let mut count = 0u32;
    unsafe { fp(device, info, &mut count, std::ptr::null_mut()) }.result()?;
    let mut reps = vec![vk::PipelineExecutableInternalRepresentationKHR::default(); count as usize];
    unsafe { fp(device, info, &mut count, reps.as_mut_ptr()) }.result()?;
    let mut buffers: Vec<Vec<u8>> = reps.iter().map(|r| vec![0u8; r.data_size]).collect();
    for (rep, buffer) in reps.iter_mut().zip(&mut buffers) {
        rep.p_data = buffer.as_mut_ptr().cast();
    }
    unsafe { fp(device, info, &mut count, reps.as_mut_ptr()) }.result()?;
    println!("    internal representations: {count}");
    std::fs::create_dir_all(dir)?;
    for (k, (rep, buffer)) in reps.iter().zip(&buffers).enumerate() {
        let label = rep.name_as_c_str().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
        let file = dir.join(format!("{name}.{index}.{k}.{}", label.replace(|c: char| !c.is_alphanumeric(), "_")));
        std::fs::write(&file, buffer)?;
        println!("      {} ({} bytes, text: {}) -> {}", label, buffer.len(), rep.is_text != 0, file.display());
    }
    Ok(())
}

/// One statistic as the driver reports it.
struct Statistic {
    name: String,
    value: String,
    number: Option<f64>,
}

fn run() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    // `--ir DIR`: also write what the driver shows of its compiled code (internal
    // representations, where it gives any) into DIR, one file per representation.
    let ir_dir = args.iter().position(|a| a == "--ir").and_then(|i| args.get(i + 1)).map(std::path::PathBuf::from);
    let wanted = match args.iter().position(|a| a == "--device") {
        Some(i) => Some(args.get(i + 1).ok_or("--device takes an index")?.parse::<usize>()?),
        None => None,
    };
    // SAFETY: loading the system's Vulkan loader; every call below follows the Vulkan spec's valid usage.
    let entry = unsafe { ash::Entry::load()? };
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_2);
    let instance = unsafe { entry.create_instance(&vk::InstanceCreateInfo::default().application_info(&app), None)? };
    let extension = ash::khr::pipeline_executable_properties::NAME;
    let mut candidates = Vec::new();
    for (index, pd) in unsafe { instance.enumerate_physical_devices()? }.into_iter().enumerate() {
        let props = unsafe { instance.get_physical_device_properties(pd) };
        let name = props.device_name_as_c_str().unwrap_or(c"?").to_string_lossy().into_owned();
        let has = unsafe { instance.enumerate_device_extension_properties(pd)? }
            .iter()
            .any(|e| e.extension_name_as_c_str() == Ok(extension));
        println!("device {index}: {name} ({:?}){}", props.device_type, if has { "" } else { ", no statistics" });
        if has {
            candidates.push((index, pd, props.device_type, name));
        }
    }
    let picked = match wanted {
        Some(i) => candidates.into_iter().find(|c| c.0 == i).ok_or("that device has no pipeline statistics")?,
        None => {
            candidates.sort_by_key(|c| c.2 != vk::PhysicalDeviceType::DISCRETE_GPU);
            candidates.into_iter().next().ok_or("no Vulkan device reports pipeline statistics")?
        }
    };
    let (_, pd, _, device_name) = picked;
    let family = unsafe { instance.get_physical_device_queue_family_properties(pd) }
        .iter()
        .position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE))
        .ok_or("no compute queue")? as u32;
    let priorities = [1.0];
    let queues = [vk::DeviceQueueCreateInfo::default().queue_family_index(family).queue_priorities(&priorities)];
    let names = [extension.as_ptr()];
    let mut feature =
        vk::PhysicalDevicePipelineExecutablePropertiesFeaturesKHR::default().pipeline_executable_info(true);
    let info = vk::DeviceCreateInfo::default()
        .queue_create_infos(&queues)
        .enabled_extension_names(&names)
        .push_next(&mut feature);
    let device = unsafe { instance.create_device(pd, &info, None)? };
    let statistics = ash::khr::pipeline_executable_properties::Device::new(&instance, &device);
    println!("report for {device_name}\n");

    for source in gvpie_gpu::pipeline_sources() {
        let module = naga::front::wgsl::parse_str(&source.wgsl).map_err(|e| format!("{}: {e}", source.name))?;
        let module_info =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
                .validate(&module)
                .map_err(|e| format!("{}: {e}", source.name))?;
        let checks = naga::proc::BoundsCheckPolicy::Restrict;
        let options = naga::back::spv::Options {
            lang_version: (1, 3),
            bounds_check_policies: naga::proc::BoundsCheckPolicies {
                index: checks,
                buffer: checks,
                image_load: checks,
                binding_array: naga::proc::BoundsCheckPolicy::Unchecked,
            },
            zero_initialize_workgroup_memory: naga::back::spv::ZeroInitializeWorkgroupMemoryMode::None,
            force_loop_bounding: false,
            ..naga::back::spv::Options::default()
        };
        let pipeline_options = naga::back::spv::PipelineOptions {
            shader_stage: naga::ShaderStage::Compute,
            entry_point: source.entry.to_string(),
        };
        let words = naga::back::spv::write_vec(&module, &module_info, &options, Some(&pipeline_options))
            .map_err(|e| format!("{}: {e}", source.name))?;

        // The layout the shader's bindings need, and the workgroup memory it declares.
        let mut groups: Vec<Vec<vk::DescriptorSetLayoutBinding>> = Vec::new();
        let mut workgroup_bytes = 0u32;
        for (_, global) in module.global_variables.iter() {
            let kind = match global.space {
                naga::AddressSpace::Uniform => vk::DescriptorType::UNIFORM_BUFFER,
                naga::AddressSpace::Storage { .. } => vk::DescriptorType::STORAGE_BUFFER,
                naga::AddressSpace::WorkGroup => {
                    workgroup_bytes += module.types[global.ty].inner.size(module.to_ctx());
                    continue;
                }
                _ => continue,
            };
            let Some(binding) = &global.binding else { continue };
            let group = binding.group as usize;
            if groups.len() <= group {
                groups.resize(group + 1, Vec::new());
            }
            groups[group].push(
                vk::DescriptorSetLayoutBinding::default()
                    .binding(binding.binding)
                    .descriptor_type(kind)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE),
            );
        }
        let set_layouts = groups
            .iter()
            .map(|bindings| unsafe {
                device.create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(bindings),
                    None,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let layout = unsafe {
            device.create_pipeline_layout(&vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts), None)?
        };
        let shader = unsafe { device.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None)? };
        let entry_name = std::ffi::CString::new(source.entry)?;
        let stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(shader)
            .name(&entry_name);
        let create = [vk::ComputePipelineCreateInfo::default().stage(stage).layout(layout).flags(
            vk::PipelineCreateFlags::CAPTURE_STATISTICS_KHR
                | if ir_dir.is_some() {
                    vk::PipelineCreateFlags::CAPTURE_INTERNAL_REPRESENTATIONS_KHR
                } else {
                    vk::PipelineCreateFlags::empty()
                },
        )];
        let pipeline = unsafe { device.create_compute_pipelines(vk::PipelineCache::null(), &create, None) }
            .map_err(|(_, e)| format!("{}: {e}", source.name))?[0];

        let workgroup_size =
            module.entry_points.iter().find(|e| e.name == source.entry).map_or([0; 3], |e| e.workgroup_size);
        println!(
            "{}  (entry {}, workgroup {}x{}x{}, {} B of workgroup memory declared, {} SPIR-V words)",
            source.name,
            source.entry,
            workgroup_size[0],
            workgroup_size[1],
            workgroup_size[2],
            workgroup_bytes,
            words.len()
        );
        let executables = unsafe {
            statistics.get_pipeline_executable_properties(&vk::PipelineInfoKHR::default().pipeline(pipeline))?
        };
        for index in 0..executables.len() as u32 {
            let info = vk::PipelineExecutableInfoKHR::default().pipeline(pipeline).executable_index(index);
            let stats = unsafe { statistics.get_pipeline_executable_statistics(&info)? };
            let stats: Vec<Statistic> = stats.iter().map(statistic).collect();
            for s in &stats {
                println!("    {:<28} {}", s.name, s.value);
            }
            let registers = stats
                .iter()
                .find(|s| s.name.to_lowercase().contains("register"))
                .and_then(|s| s.number)
                .filter(|&r| r > 0.0);
            if let Some(registers) = registers {
                println!("    {}", occupancy(registers, workgroup_size, workgroup_bytes));
            }
            if let Some(dir) = &ir_dir {
                write_internal_representations(&statistics, &info, dir, source.name, index)?;
            }
        }
        println!();
        unsafe {
            device.destroy_pipeline(pipeline, None);
            device.destroy_shader_module(shader, None);
            device.destroy_pipeline_layout(layout, None);
            for set in set_layouts {
                device.destroy_descriptor_set_layout(set, None);
            }
        }
    }
    unsafe {
        device.destroy_device(None);
        instance.destroy_instance(None);
    }
    Ok(())
}

fn statistic(s: &vk::PipelineExecutableStatisticKHR<'_>) -> Statistic {
    let name = s.name_as_c_str().map_or_else(|_| "?".to_string(), |n: &CStr| n.to_string_lossy().into_owned());
    // SAFETY: the union's member is the one `format` names.
    let (value, number) = unsafe {
        match s.format {
            vk::PipelineExecutableStatisticFormatKHR::BOOL32 => (format!("{}", s.value.b32 != 0), None),
            vk::PipelineExecutableStatisticFormatKHR::INT64 => (s.value.i64.to_string(), Some(s.value.i64 as f64)),
            vk::PipelineExecutableStatisticFormatKHR::UINT64 => (s.value.u64.to_string(), Some(s.value.u64 as f64)),
            vk::PipelineExecutableStatisticFormatKHR::FLOAT64 => (s.value.f64.to_string(), Some(s.value.f64)),
            _ => ("?".to_string(), None),
        }
    };
    Statistic { name, value, number }
}

/// The warps an H100 SM can hold with `registers` per thread: registers go per warp in units of 256 out of
/// 65,536, at most 64 warps and 32 workgroups per SM, 228 KiB of shared memory (the workgroup's declared bytes).
fn occupancy(registers: f64, workgroup: [u32; 3], workgroup_bytes: u32) -> String {
    const REGISTERS_PER_SM: f64 = 65_536.0;
    const MAX_WARPS: f64 = 64.0;
    const MAX_GROUPS: f64 = 32.0;
    const SHARED_PER_SM: f64 = 228.0 * 1024.0;
    let threads = f64::from(workgroup.iter().product::<u32>().max(1));
    let warps_per_group = (threads / 32.0).ceil();
    let per_warp = (registers * 32.0 / 256.0).ceil() * 256.0;
    let by_registers = ((REGISTERS_PER_SM / per_warp).floor() / warps_per_group).floor();
    let by_shared =
        if workgroup_bytes > 0 { (SHARED_PER_SM / f64::from(workgroup_bytes)).floor() } else { f64::INFINITY };
    let by_warps = (MAX_WARPS / warps_per_group).floor();
    let groups = by_registers.min(by_shared).min(by_warps).min(MAX_GROUPS);
    let warps = groups * warps_per_group;
    let limit = if groups == by_registers {
        "registers"
    } else if groups == by_shared {
        "shared memory"
    } else {
        "warp slots"
    };
    format!(
        "H100 occupancy: {groups} workgroups = {warps} of 64 warps per SM ({:.0} %), limited by {limit}",
        100.0 * warps / MAX_WARPS
    )
}
