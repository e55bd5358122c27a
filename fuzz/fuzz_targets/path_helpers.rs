//! pysftp's path_advance, path_retreat and reparent on any strings.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::{path_advance, path_retreat, reparent};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (a, b) = text.split_once('\0').unwrap_or((text, ""));
    if let (Ok(fwd), Ok(back)) = (path_advance(a), path_retreat(a)) {
        // Every prefix path_advance yields is a leading part of the input
        // (the root '/' may be re-attached) and never empty.
        assert!(fwd.iter().all(|p| !p.is_empty()));
        assert!(back.iter().all(|p| !p.is_empty()));
    }
    if let Ok(r) = reparent(a, b) {
        // A rooted old path is never allowed to replace the new parent.
        if !a.is_empty() && (b.starts_with('/') || b.starts_with('\\')) {
            assert!(r.starts_with(a), "{r:?} lost its parent {a:?}");
        }
    }
});
