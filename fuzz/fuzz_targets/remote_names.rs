//! A name accepted from a server can never lead outside a directory.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::check_remote_name;

fuzz_target!(|data: &[u8]| {
    if let Ok(name) = check_remote_name(data, "/fuzz") {
        assert!(!name.is_empty() && name != "." && name != "..");
        assert!(!name.contains('/') && !name.contains('\0'));
        assert!(!name.chars().any(char::is_control));
        let joined = std::path::Path::new("/base").join(name);
        assert_eq!(joined.parent(), Some(std::path::Path::new("/base")));
    }
});
