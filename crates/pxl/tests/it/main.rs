//! Integration tests for gvpie-pxl.
