//! The safe Rust core: every behaviour of psftp lives here.

pub mod auth;
pub mod cnopts;
pub mod conn;
pub mod connect;
pub mod eyeballs;
pub mod file;
pub mod fsops;
pub mod helpers;
pub mod hostkeys;
pub mod liveness;
pub mod local;
pub mod log;
pub mod options;
pub mod paths;
pub mod plan;
pub mod remote;
pub mod resume;
pub mod retry;
pub mod route;
pub mod secret;
pub mod siblings;
pub mod split;
pub mod ssh_config;
pub mod transfer;
pub mod tree;
pub mod verify;
pub mod walk;

pub use cnopts::{CnOpts, UnknownHostPolicy};
pub use conn::{Connection, SecurityOptions};
pub use connect::ConnectSpec;
pub use fsops::DirEntry;
pub use hostkeys::ServerKey;
pub use log::LogTarget;
pub use options::{ErrorPolicy, SymlinkPolicy, TransferOpts, Verify};
pub use tree::{Failure, TreeProgress, TreeReport};
