//! Another Rust static library with its own copy of the standard library,
//! linked into one program with the static psftp (tests/artefacts/mixed.c).

/// Sum of 0..n through a heap allocation.
#[no_mangle]
pub extern "C" fn other_rust_sum(n: u32) -> u64 {
    let v: Vec<u64> = (0..u64::from(n)).collect();
    v.iter().sum()
}

/// 1 when a panic inside this library unwinds to its own catch_unwind.
#[no_mangle]
pub extern "C" fn other_rust_catches_panic() -> i32 {
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| panic!("other_rust: deliberate")).is_err();
    let _ = std::panic::take_hook();
    i32::from(caught)
}
