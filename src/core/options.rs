//! Transfer options shared by get/put and the tree operations.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::paths::bytes_path;
use crate::error::{Error, Result};

/// What the tree operations do with symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SymlinkPolicy {
    /// Leave links out (the default).
    #[default]
    Skip,
    /// Copy what a link points to, if that lies inside the tree being
    /// copied; links leading outside it are left out. Loops are detected.
    Follow,
    /// Recreate the link itself, with the same target text, if that target
    /// stays inside the tree (relative, never climbing above the root), as
    /// rsync --safe-links does; other links are left out (and logged).
    Copy,
    /// Recreate every link verbatim, absolute or escaping targets too.
    CopyAll,
}

/// Whether and how each transferred file is checked against its source
/// before it is put in place (verify.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// No check beyond the sizes (the default).
    #[default]
    Off,
    /// Compare digests: the server's (check-file) when offered, else of
    /// the file read back.
    On,
    /// As On, but without check-file the remote digest from `sha256sum`
    /// (or `md5sum`) run on the server over an exec channel when that
    /// works, which reads the file there instead of sending it again. Only
    /// for servers where SFTP paths are shell paths (no chroot, no
    /// SFTP-only account).
    AllowExec,
}

/// What the tree operations do when one entry fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorPolicy {
    /// Stop at the first failure (the default).
    #[default]
    Stop,
    /// Go on, and report every failed path.
    Continue,
}

/// Include/exclude glob patterns, relative to the tree's root. A pattern
/// without '/' matches an entry's name at any depth ("*.tmp"); one with '/'
/// matches the whole relative path ("logs/**/*.gz"). Excluded directories
/// are not descended into. With includes, only matching files are copied.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    include: Vec<String>,
    exclude: Vec<String>,
    include_set: Option<(GlobSet, GlobSet)>,
    exclude_set: Option<(GlobSet, GlobSet)>,
}

impl PartialEq for Filters {
    fn eq(&self, other: &Self) -> bool {
        self.include == other.include && self.exclude == other.exclude
    }
}
impl Eq for Filters {}

/// Name patterns and path patterns, compiled.
fn compile(patterns: &[String]) -> Result<Option<(GlobSet, GlobSet)>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut names = GlobSetBuilder::new();
    let mut paths = GlobSetBuilder::new();
    for p in patterns {
        let glob = GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::invalid_arg("pattern", format!("'{p}': {e}")))?;
        if p.contains('/') {
            paths.add(glob);
        } else {
            names.add(glob);
        }
    }
    let build = |b: GlobSetBuilder| b.build().map_err(|e| Error::invalid_arg("pattern", e));
    Ok(Some((build(names)?, build(paths)?)))
}

fn matches(set: &Option<(GlobSet, GlobSet)>, rel: &[u8]) -> bool {
    let Some((names, paths)) = set else {
        return false;
    };
    let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(rel);
    // Paths, not strings: names need not be UTF-8.
    names.is_match(bytes_path(name)) || paths.is_match(bytes_path(rel))
}

impl Filters {
    pub fn add_include(&mut self, pattern: &str) -> Result<()> {
        let mut v = self.include.clone();
        v.push(pattern.to_string());
        self.include_set = compile(&v)?;
        self.include = v;
        Ok(())
    }

    pub fn add_exclude(&mut self, pattern: &str) -> Result<()> {
        let mut v = self.exclude.clone();
        v.push(pattern.to_string());
        self.exclude_set = compile(&v)?;
        self.exclude = v;
        Ok(())
    }

    /// Whether a directory at `rel` (relative, '/'-separated) is walked.
    pub fn walks_dir(&self, rel: &[u8]) -> bool {
        !matches(&self.exclude_set, rel)
    }

    /// Whether a file or link at `rel` is copied.
    pub fn copies_file(&self, rel: &[u8]) -> bool {
        !matches(&self.exclude_set, rel)
            && (self.include.is_empty() || matches(&self.include_set, rel))
    }
}

/// Options for one transfer call. `Default` gives the safe behaviour.
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
    /// Tree operations: connections used at once (1 = only this one).
    pub parallelism: usize,
    /// The caller chose `parallelism`: a split upload uses at most that
    /// many connections; otherwise it picks its own number (split.rs).
    pub parallelism_chosen: bool,
    /// Tree operations: skip files whose size and mtime already match.
    pub sync: bool,
    pub filters: Filters,
    pub symlinks: SymlinkPolicy,
    /// Tree operations: copy permission bits of files and directories.
    pub preserve_mode: bool,
    pub on_error: ErrorPolicy,
    /// get, put and the tree operations: how many times to reconnect and
    /// go on after the link failed (CONNECTION_LOST, TIMEOUT); 0 = never.
    /// Part files are kept between attempts, as with `resume`.
    pub retries: u32,
    /// The wait before the first retry, doubled for each further one (at
    /// most MAX_RETRY_DELAY).
    pub retry_delay: std::time::Duration,
    /// Check each file against its source before putting it in place.
    pub verify: Verify,
}

/// Default connections for tree operations.
pub(crate) const DEFAULT_PARALLELISM: usize = 4;
/// Upper bound on connections for one tree operation.
pub(crate) const MAX_PARALLELISM: usize = 64;

impl Default for TransferOpts {
    fn default() -> Self {
        TransferOpts {
            atomic: true,
            resume: false,
            fsync: false,
            parallelism: DEFAULT_PARALLELISM,
            parallelism_chosen: false,
            sync: false,
            filters: Filters::default(),
            symlinks: SymlinkPolicy::Skip,
            preserve_mode: false,
            on_error: ErrorPolicy::Stop,
            retries: 0,
            retry_delay: DEFAULT_RETRY_DELAY,
            verify: Verify::Off,
        }
    }
}

impl TransferOpts {
    /// Whether a failed transfer keeps its part file for a later attempt:
    /// with resume, and with retries (the next attempt continues it).
    pub fn keeps_parts(&self) -> bool {
        self.atomic && (self.resume || self.retries > 0)
    }
}

/// The wait before the first retry.
pub(crate) const DEFAULT_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest wait between retries.
pub(crate) const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(60);
/// Upper bound on retries of one call.
pub(crate) const MAX_RETRIES: u32 = 1000;

/// The suffix of temporary names: `dir/.name.psftp.part`.
pub(crate) const PART_SUFFIX: &str = "psftp.part";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_patterns_match_at_any_depth_and_path_patterns_from_the_root() {
        let mut f = Filters::default();
        f.add_exclude("*.tmp").unwrap();
        f.add_exclude("cache").unwrap();
        f.add_exclude("logs/**/*.gz").unwrap();
        assert!(!f.copies_file(b"a/b/x.tmp"));
        assert!(f.copies_file(b"a/b/x.txt"));
        assert!(!f.walks_dir(b"deep/cache"));
        assert!(!f.copies_file(b"logs/2024/jan/a.gz"));
        assert!(
            f.copies_file(b"other/logs/a.gz"),
            "path patterns are anchored"
        );
        assert!(!f.copies_file(b"caf\xe9/x.tmp"), "names need not be UTF-8");
        let mut inc = Filters::default();
        inc.add_include("*.c").unwrap();
        assert!(inc.copies_file(b"src/main.c") && !inc.copies_file(b"src/main.h"));
        assert!(inc.walks_dir(b"src"), "includes never prune directories");
    }

    #[test]
    fn bad_patterns_are_invalid_arguments() {
        let mut f = Filters::default();
        let e = f.add_include("a[").unwrap_err();
        assert!(e.message().contains("'a['"), "{e}");
        assert!(
            f.copies_file(b"x"),
            "a failed add leaves the filters unchanged"
        );
    }
}
