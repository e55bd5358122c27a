//! Transfer options shared by get/put and the tree operations.

/// Options for one transfer call. `Default` gives the safe behaviour:
/// atomic replacement, no resume, no fsync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOpts {
    /// Write to a temporary name next to the destination and rename it into
    /// place on success, so an interrupted transfer never leaves a truncated
    /// file where a good one was. False writes in place.
    pub atomic: bool,
    /// Continue from the temporary file a failed atomic transfer left.
    pub resume: bool,
    /// fsync the destination (locally, or fsync@openssh.com remotely)
    /// before it is renamed into place.
    pub fsync: bool,
}

impl Default for TransferOpts {
    fn default() -> Self {
        TransferOpts {
            atomic: true,
            resume: false,
            fsync: false,
        }
    }
}

/// The suffix of temporary names: `dir/.name.psftp.part`.
pub const PART_SUFFIX: &str = "psftp.part";
