//! ssh_config evaluation on any text: an error or a result, never a panic,
//! a hang or unbounded memory; the first value obtained always wins.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::{check_tokens, parse_jump_list, resolve_text, Local};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (alias, config) = text.split_once('\n').unwrap_or(("host", text));
    // The first line is also a caller's jump list and proxy command.
    if let Ok(hops) = parse_jump_list(alias) {
        assert!(hops.iter().all(|h| !h.host.is_empty() && h.port != Some(0)));
    }
    let _ = check_tokens(alias, "command");
    // Includes resolve below a directory that does not exist: the fuzzer
    // never reads the machine's files.
    let local = Local {
        user: "fuzz".into(),
        home: "/nonexistent-psftp-fuzz".into(),
        hostname: "fuzzhost".into(),
        uid: 1,
    };
    let name = std::path::Path::new("/nonexistent-psftp-fuzz/.ssh/config");
    if let Ok(c) = resolve_text(alias, config, name, &local) {
        if let Some(p) = c.port {
            assert!(p > 0);
        }
    }
});
