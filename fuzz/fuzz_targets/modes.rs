//! pysftp's octal-looking modes, st_mode_to_int and Python open modes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::parse_mode;
use psftp::fuzzing::{octal_int_to_mode, st_mode_to_int};

fuzz_target!(|data: &[u8]| {
    if data.len() >= 8 {
        let v = i64::from_le_bytes(data[..8].try_into().unwrap());
        if let Ok(mode) = octal_int_to_mode(v) {
            assert!(mode <= 0o7777);
            // 644 -> 0o644 -> 644 for the permission bits.
            assert_eq!(st_mode_to_int(mode) as i64, v % 1000);
        }
        let m = u32::from_le_bytes(data[..4].try_into().unwrap());
        assert_eq!(octal_int_to_mode(st_mode_to_int(m) as i64).unwrap(), m & 0o777);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(m) = parse_mode(s) {
            assert!(m.readable || m.writable);
        }
    }
});
