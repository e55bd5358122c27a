//! A pipelining SFTP v3 client over one libssh2 channel.

pub mod batch;
mod channel;
pub mod codec;
mod ops;
mod pipeline;

pub use channel::SftpChannel;
pub use codec::{fxp, open_flags, status, Attrs, NameEntry, Reply};
pub use ops::{status_error, StatVfs};
pub use pipeline::{download, download_range, upload, Sink, Source};
