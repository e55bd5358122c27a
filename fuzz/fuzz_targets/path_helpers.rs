//! pysftp's path_advance, path_retreat and reparent on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::{path_advance, path_retreat, reparent};

fuzz_target!(|data: &[u8]| {
    let (a, b) = match data.iter().position(|&c| c == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    if let (Ok(fwd), Ok(back)) = (path_advance(a), path_retreat(a)) {
        // Every prefix path_advance yields is a leading part of the input
        // (the root '/' may be re-attached) and never empty.
        assert!(fwd.iter().all(|p| !p.is_empty()));
        assert!(back.iter().all(|p| !p.is_empty()));
    }
    if let Ok(r) = reparent(a, b) {
        // A rooted old path is never allowed to replace the new parent.
        if !a.is_empty() && (b.starts_with(b"/") || b.starts_with(b"\\")) {
            assert!(r.starts_with(a), "{r:?} lost its parent {a:?}");
        }
    }
});
