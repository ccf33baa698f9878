//! Waiting for the GPU: the crate's one loop that maps buffers and polls the device, used by
//! the batch executor (read-back, re-mapping upload buffers) and the shape scorer.
//!
//! `map_async` only reports through a callback that runs inside `device.poll`, so every wait
//! is "map, then poll until each callback has reported, the device is lost or polling
//! fails". Keeping that loop here gives one place to add a deadline or a cancel flag later.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytemuck::Pod;

/// What went wrong while waiting: every failure, in the order it was noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WaitFailed(pub Vec<String>);

impl WaitFailed {
    /// The failures as one line, for a fallback reason or a [`crate::GpuError::Device`].
    pub(crate) fn reason(&self) -> String {
        self.0.join("; ")
    }
}

/// Maps every slice in `mode` and waits until all are mapped.
///
/// # Errors
///
/// Polling that fails, each mapping that fails and a lost device, in that order. Slices
/// whose mapping failed are not mapped; the others stay mapped (the caller unmaps them or
/// drops the buffer).
pub(crate) fn map_and_wait(
    device: &wgpu::Device,
    lost: &AtomicBool,
    slices: &[wgpu::BufferSlice<'_>],
    mode: wgpu::MapMode,
) -> Result<(), WaitFailed> {
    let what = match mode {
        wgpu::MapMode::Read => "read-back failed",
        wgpu::MapMode::Write => "re-mapping an upload buffer failed",
    };
    // Each slice reports Ok or its error; the wait is over when all have reported.
    let reports: Arc<Mutex<Vec<Result<(), String>>>> = Arc::new(Mutex::new(Vec::with_capacity(slices.len())));
    for slice in slices {
        let reports = Arc::clone(&reports);
        slice.map_async(mode, move |result| {
            if let Ok(mut done) = reports.lock() {
                done.push(result.map_err(|e| format!("{what}: {e}")));
            }
        });
    }
    let mut polled = Ok(());
    loop {
        // A poisoned lock cannot report anything more: stop waiting.
        let n_reported = reports.lock().map_or(slices.len(), |done| done.len());
        if n_reported == slices.len() || lost.load(Ordering::SeqCst) {
            break;
        }
        polled = device.poll(wgpu::PollType::wait_indefinitely()).map(|_| ());
        if polled.is_err() {
            break;
        }
    }
    let mut failures = Vec::new();
    if let Err(err) = polled {
        failures.push(format!("waiting for the GPU failed: {err}"));
    }
    if let Ok(done) = reports.lock() {
        failures.extend(done.iter().filter_map(|r| r.clone().err()));
    }
    if lost.load(Ordering::SeqCst) {
        failures.push("the GPU device was lost".into());
    }
    if failures.is_empty() { Ok(()) } else { Err(WaitFailed(failures)) }
}

/// Appends a mapped slice's contents, as `T`s, to `out` and unmaps its buffer.
///
/// # Errors
///
/// The slice is not mapped (its mapping failed or nobody waited for it).
pub(crate) fn append_mapped<T: Pod>(slice: wgpu::BufferSlice<'_>, out: &mut Vec<T>) -> Result<(), String> {
    let view = slice.get_mapped_range().map_err(|e| format!("read-back failed: {e}"))?;
    out.extend_from_slice(bytemuck::cast_slice::<u8, T>(&view[..]));
    drop(view);
    slice.buffer().unmap();
    Ok(())
}
