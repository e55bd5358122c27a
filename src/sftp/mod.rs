//! A pipelining SFTP v3 client over one libssh2 channel.

mod channel;
pub mod codec;
mod ops;
mod pipeline;

pub use channel::SftpChannel;
pub use codec::{open_flags, Attrs, NameEntry};
pub use ops::{Handle, StatVfs};
pub use pipeline::{download, download_range, upload, Sink, Source};
