//! A pipelining SFTP v3 client over one libssh2 channel. Every request and
//! reply of the protocol lives here (request.rs); `core` holds behaviour.

pub mod batch;
mod channel;
pub mod codec;
pub mod list;
mod ops;
mod pipeline;
pub mod request;
mod show;

pub use channel::{CallCancel, CancelToken, ExecOutput, SftpChannel, SftpLink};
pub(crate) use channel::{MAX_IO_SIZE, MIN_IO_CAP};
pub use codec::{open_flags, Attrs, NameEntry, Reply};
pub use pipeline::{
    download, download_range, download_ranges, upload, upload_ranges, NextRange, Sink, SinkAt,
    Source, SourceAt,
};
pub use request::StatVfs;
pub use show::show;
