//! A name accepted from a server can never lead outside a directory.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::{bytes_path, check_remote_name};

fuzz_target!(|data: &[u8]| {
    if let Ok(name) = check_remote_name(data, b"/fuzz") {
        assert!(!name.is_empty() && name != b"." && name != b"..");
        assert!(!name.contains(&b'/') && !name.contains(&0));
        assert!(!name.iter().any(|b| *b < 0x20 || *b == 0x7f));
        let joined = std::path::Path::new("/base").join(bytes_path(name));
        assert_eq!(joined.parent(), Some(std::path::Path::new("/base")));
    }
});
