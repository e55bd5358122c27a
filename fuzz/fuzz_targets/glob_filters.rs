//! Include/exclude globs: any pattern is compiled or refused, any path is
//! matched or not (paths are bytes), without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::Filters;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == b'\n');
    let mut f = Filters::default();
    if let Some(p) = parts.next().and_then(|p| std::str::from_utf8(p).ok()) {
        let _ = f.add_include(p);
    }
    if let Some(p) = parts.next().and_then(|p| std::str::from_utf8(p).ok()) {
        let _ = f.add_exclude(p);
    }
    for path in parts {
        let _ = f.copies_file(path);
        let _ = f.walks_dir(path);
    }
});
