//! psftp_connect_opts and psftp_connect_with, and private keys from
//! memory, through the C ABI against the real sshd.

mod common;

use common::*;
use psftp::capi::connect_opts::*;
use std::ffi::CStr;
use std::ptr::null;

/// The test server, its user, its known_hosts; no credentials yet.
fn for_server() -> COpts {
    let s = server();
    let o = COpts::new("127.0.0.1");
    check(psftp_connect_opts_set_port(o.0, s.port as i32)).unwrap();
    check(unsafe { psftp_connect_opts_set_username(o.0, c(s.user()).as_ptr()) }).unwrap();
    check(psftp_connect_opts_set_cnopts(o.0, Opts::trusting(s).0)).unwrap();
    o
}

fn pwd(conn: &Conn) -> String {
    string_out(|o| unsafe { psftp_pwd(conn.0, o) })
        .unwrap()
        .unwrap()
}

/// Every key format the fixture makes authenticates from memory: OpenSSH
/// Ed25519, PEM ECDSA and RSA, and the encrypted OpenSSH and PEM ones
/// with their passphrase.
#[test]
fn every_key_format_authenticates_from_memory() {
    let s = server();
    for (file, pass) in [
        ("id_ed25519", None),
        ("id_ecdsa_pem", None),
        ("id_rsa_pem", None),
        ("id_ed25519_enc", Some(s.passphrase())),
        ("id_rsa_enc_pem", Some(s.passphrase())),
    ] {
        let key = std::fs::read(s.file(file)).unwrap();
        let conn = for_server()
            .key_data(&key, pass)
            .connect()
            .unwrap_or_else(|f| panic!("{file}: {f:?}"));
        assert_eq!(pwd(&conn), s.home.to_str().unwrap(), "{file}");
    }
}

/// A key from memory that cannot be used fails with AUTH naming the
/// argument, never showing the key; bytes that are not text are refused
/// when set.
#[test]
fn unusable_keys_from_memory_are_clear_errors_without_the_key() {
    let s = server();
    let enc = std::fs::read_to_string(s.file("id_ed25519_enc")).unwrap();
    let body = enc.lines().nth(1).unwrap().to_string();
    let cases = [
        (enc.clone(), None, &["private_key_data", "encrypted"][..]),
        (
            enc.clone(),
            Some("not the passphrase"),
            &["private_key_data", "wrong passphrase"][..],
        ),
        (
            std::fs::read_to_string(s.file("id_unauthorized")).unwrap(),
            None,
            &["refused", "private_key_data"][..],
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nnonsense\n-----END OPENSSH PRIVATE KEY-----\n"
                .into(),
            None,
            &["private_key_data"][..],
        ),
    ];
    for (key, pass, parts) in cases {
        let msg = assert_fail(
            for_server().key_data(key.as_bytes(), pass).connect(),
            PSFTP_E_AUTH,
            parts,
        );
        assert!(!msg.contains(&body) && !msg.contains("nonsense"), "{msg}");
        if let Some(p) = pass {
            assert!(!msg.contains(p), "{msg}");
        }
    }
    let o = for_server();
    let binary = [0xffu8, 0xfe, 0x00, 0x41];
    assert_fail(
        check(unsafe { psftp_connect_opts_set_private_key_data(o.0, binary.as_ptr(), 4, null()) }),
        PSFTP_E_INVALID_ARG,
        &["data", "not text"],
    );
    assert_fail(
        check(unsafe { psftp_connect_opts_set_private_key_data(o.0, b"  ".as_ptr(), 2, null()) }),
        PSFTP_E_INVALID_ARG,
        &["data", "empty"],
    );
}

/// Every setter reaches the connection; the options can be reused, changed
/// and freed while their connections live; one key replaces the other.
#[test]
fn connect_options_set_everything_psftp_connect_takes() {
    let s = server();
    let o = for_server();
    // No credentials: the root user's default keys and agent do not get in.
    assert_fail(o.connect(), PSFTP_E_AUTH, &[s.user()]);
    check(unsafe { psftp_connect_opts_set_password(o.0, c(s.password()).as_ptr()) }).unwrap();
    let dir = remote_scratch("copts");
    check(unsafe { psftp_connect_opts_set_default_path(o.0, c(dir.to_str().unwrap()).as_ptr()) })
        .unwrap();
    let a = o.connect().unwrap();
    assert_eq!(pwd(&a), dir.to_str().unwrap());
    let cwd = string_out(|p| unsafe { psftp_getcwd(a.0, p) }).unwrap();
    assert_eq!(cwd.as_deref(), dir.to_str());

    // A key file with its passphrase; the password is still tried first,
    // so remove it to see the key used.
    check(unsafe { psftp_connect_opts_set_password(o.0, null()) }).unwrap();
    let (key, pass) = (c(&s.file("id_ed25519_enc")), c(s.passphrase()));
    check(unsafe { psftp_connect_opts_set_private_key(o.0, key.as_ptr(), pass.as_ptr()) }).unwrap();
    check(unsafe { psftp_connect_opts_set_default_path(o.0, null()) }).unwrap();
    let b = o.connect().unwrap();
    assert_eq!(pwd(&b), s.home.to_str().unwrap());
    // Key data replaces the key file (a wrong key, to see which is used).
    let wrong = std::fs::read(s.file("id_unauthorized")).unwrap();
    let o = o.key_data(&wrong, None);
    assert_fail(o.connect(), PSFTP_E_AUTH, &["private_key_data"]);
    check(unsafe { psftp_connect_opts_set_private_key(o.0, key.as_ptr(), pass.as_ptr()) }).unwrap();
    drop(o.connect().unwrap());

    // Port and CnOpts: a wrong port fails to connect, default CnOpts do
    // not know the test server's key.
    check(psftp_connect_opts_set_port(o.0, 1)).unwrap();
    assert_fail(o.connect(), PSFTP_E_CONNECT, &["127.0.0.1:1"]);
    for bad in [-1, 65536] {
        assert_fail(
            check(psftp_connect_opts_set_port(o.0, bad)),
            PSFTP_E_INVALID_ARG,
            &["port"],
        );
    }
    check(psftp_connect_opts_set_port(o.0, s.port as i32)).unwrap();
    let strict = Opts::new(Some(&s.file("known_hosts_changed")));
    check(psftp_connect_opts_set_cnopts(o.0, strict.0)).unwrap();
    drop(strict); // copied
    assert_fail(o.connect(), PSFTP_E_HOSTKEY_MISMATCH, &["MISMATCH"]);

    // Freed options leave their connections alone.
    drop(o);
    assert_eq!(pwd(&a), dir.to_str().unwrap());
    assert_eq!(pwd(&b), s.home.to_str().unwrap());
    let msg = unsafe { CStr::from_ptr(psftp_strerror(PSFTP_E_INVALID_ARG)) };
    assert_eq!(msg.to_str().unwrap(), "PSFTP_E_INVALID_ARG");
}
