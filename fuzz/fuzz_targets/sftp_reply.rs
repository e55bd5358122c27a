//! Whatever a server sends as a reply or version packet, decoding returns
//! a value or an error: no panic, no out-of-bounds read, no huge allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use psftp::fuzzing::{decode_reply, decode_version, Reply};

fuzz_target!(|data: &[u8]| {
    if let Ok((_, reply)) = decode_reply(data) {
        // Borrowed parts must lie inside the packet.
        if let Reply::Data(d) | Reply::Handle(d) = &reply {
            assert!(d.len() <= data.len());
        }
        let _ = reply.into_owned();
    }
    let _ = decode_version(data);
});
