//! pysftp's st_mode_to_int and Python open modes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::parse_mode;
use psftp::fuzzing::st_mode_to_int;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 4 {
        // 0o100644 -> 644: three decimal digits, each an octal digit of the
        // permission bits.
        let m = u32::from_le_bytes(data[..4].try_into().unwrap());
        let v = st_mode_to_int(m);
        assert!(v <= 777);
        let digits = [v / 100, v / 10 % 10, v % 10];
        assert!(digits.iter().all(|d| *d < 8));
        assert_eq!(digits[0] << 6 | digits[1] << 3 | digits[2], m & 0o777);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(m) = parse_mode(s) {
            assert!(m.readable || m.writable);
        }
    }
});
