//! psftp: the pysftp 0.2.9 API as a C ABI library, on libssh2.
//!
//! `core` holds all behaviour as safe Rust; `capi` only converts C
//! arguments, guards against panics and records errors.

pub mod capi;
pub mod core;
pub mod error;
pub mod sftp;

pub use error::{Error, ErrorKind, Result};
