//! The generic actor kernel: OTP-style supervision on top of actix.
//!
//! This crate knows nothing of MCP. It will hold child specs, restart
//! strategies, restart intensity, backoff and the lifecycle event bus.
