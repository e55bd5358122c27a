//! What a bulk transfer costs the client beyond the bytes themselves,
//! counted (never timed): memory is not allocated and returned per SSH
//! packet (vendor/libssh2-sys/psftp-recv-pool.patch).

mod common;

use common::*;

/// Minor page faults of the calling thread so far.
fn thread_minor_faults() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes only the struct it is given.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }, 0);
    ru.ru_minflt
}

struct OneConnection(*mut psftp_transfer_opts);

impl OneConnection {
    fn new() -> OneConnection {
        let mut p = std::ptr::null_mut();
        check(unsafe { psftp_transfer_opts_new(&mut p) }).unwrap();
        // The whole transfer on this thread: a split would run helpers on
        // threads of their own, whose faults RUSAGE_THREAD does not see.
        check(psftp_transfer_opts_set_parallelism(p, 1)).unwrap();
        OneConnection(p)
    }
}

impl Drop for OneConnection {
    fn drop(&mut self) {
        psftp_transfer_opts_free(self.0)
    }
}

#[test]
fn a_bulk_get_allocates_no_memory_per_packet() {
    // libssh2 allocated every incoming packet's buffer (~32 KiB) and freed
    // it once read: glibc grew and trimmed its heap over and over, and each
    // regrowth touched fresh pages. Those page faults are counted here:
    // 128 MiB is 4,096 SSH packets, which took 1,000-5,000 faults on this
    // thread before; the buffers are now reused (a pool per session).
    let rdir = remote_scratch("cpu-faults");
    let ldir = local_scratch("cpu-faults");
    let data = pattern(128 * 1024 * 1024, 7);
    put_remote_file(&rdir.join("big"), &data);
    let conn = connect();
    let opts = OneConnection::new();
    let local = ldir.join("big");
    let remote = rdir.join("big");
    // A first, small get: the buffers every transfer needs once (the
    // pipeline's reply buffer, the pool itself) are in place before
    // counting.
    put_remote_file(&rdir.join("small"), &data[..4 * 1024 * 1024]);
    get_full(
        &conn,
        rdir.join("small").to_str().unwrap(),
        &ldir.join("small"),
        NO_PROGRESS,
        false,
        opts.0,
    )
    .unwrap();
    let before = thread_minor_faults();
    get_full(
        &conn,
        remote.to_str().unwrap(),
        &local,
        NO_PROGRESS,
        false,
        opts.0,
    )
    .unwrap();
    let faults = thread_minor_faults() - before;
    assert!(
        std::fs::read(&local).unwrap() == data,
        "the download differs from the file"
    );
    assert!(
        faults < 400,
        "a 128 MiB get took {faults} page faults on its thread: memory is allocated and \
         returned per packet again"
    );
}
