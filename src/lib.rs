//! psftp: the pysftp 0.2.9 API as a C ABI library, on libssh2.
//!
//! `core` holds all behaviour as safe Rust; `capi` only converts C
//! arguments, guards against panics and records errors. Only `capi` (the C
//! ABI, which the Rust integration tests also use) is public: the rest is
//! an implementation detail, free to change without a semver break.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod capi;
mod core;
mod error;
mod sftp;

pub(crate) use crate::core::log::log_to;
pub(crate) use error::Error;

/// The internals the fuzz targets (fuzz/fuzz_targets) exercise: parsers and
/// checks that take untrusted input. Only with the `fuzzing` feature, which
/// fuzz/Cargo.toml turns on; not part of psftp's API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::core::file::parse_mode;
    pub use crate::core::helpers::{path_advance, path_retreat, reparent, st_mode_to_int};
    pub use crate::core::local::check_remote_name;
    pub use crate::core::options::Filters;
    pub use crate::core::paths::bytes_path;
    pub use crate::core::ssh_config::{check_tokens, parse_jump_list, resolve_text, Local};
    pub use crate::sftp::codec::{decode_reply, decode_version, Reply};
}
