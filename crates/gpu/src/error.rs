//! The errors of the GPU backend.
//!
//! Device loss and out-of-memory during a batch are not errors: the batch is re-run on the
//! CPU and [`crate::RanOn::CpuFallback`] says so. What is left are reasons why no backend can
//! be made, and bad arguments.

use std::fmt;

/// Why the GPU backend could not be created or could not run a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GpuError {
    /// No GPU adapter (Vulkan, Metal, DX12 or GL) was found.
    NoAdapter,
    /// `GVPIE_ADAPTER` (or the selector given) matches no adapter.
    AdapterNotFound {
        /// The selector: a substring of the adapter name, or an index.
        selector: String,
        /// The adapters that exist.
        available: Vec<String>,
    },
    /// The adapter refused to create a device.
    Device(String),
    /// The request itself is invalid (canvas size, target size).
    BadRequest(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NoAdapter => write!(f, "no GPU adapter found"),
            GpuError::AdapterNotFound { selector, available } => {
                write!(f, "no GPU adapter matches '{selector}' (available: {})", available.join(", "))
            }
            GpuError::Device(why) => write!(f, "cannot create a GPU device: {why}"),
            GpuError::BadRequest(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for GpuError {}
