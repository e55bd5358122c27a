//! Generates the C header with cbindgen into OUT_DIR and compares it with
//! the committed include/psftp.h. Cargo build scripts must not write into
//! the source tree, so the committed header is only rewritten on request:
//! `PSFTP_WRITE_HEADER=1 cargo build`. CI runs that and then
//! `git diff --exit-code include/psftp.h`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=include/psftp.h");
    println!("cargo:rerun-if-env-changed=PSFTP_WRITE_HEADER");
    set_soname();
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("psftp.h");
    let config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => panic!("cbindgen.toml: {e}"),
    };
    let bindings = match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(b) => b,
        Err(e) => {
            println!("cargo:warning=cbindgen could not generate psftp.h: {e}");
            return;
        }
    };
    bindings.write_to_file(&out);
    let committed = crate_dir.join("include").join("psftp.h");
    let fresh = fs::read(&out).unwrap();
    if fs::read(&committed).ok().as_deref() == Some(&fresh[..]) {
        return;
    }
    if env::var_os("PSFTP_WRITE_HEADER").is_some_and(|v| v == "1") {
        fs::create_dir_all(committed.parent().unwrap()).unwrap();
        fs::write(&committed, &fresh).unwrap();
    } else {
        println!(
            "cargo:warning=include/psftp.h is stale; regenerate it with `PSFTP_WRITE_HEADER=1 cargo build` and commit it"
        );
    }
}

/// The shared library's soname: libpsftp.so.MAJOR, or libpsftp.so.0.MINOR
/// while the major version is 0 (the cargo-c convention), so a binary is
/// never run against an ABI-incompatible release.
fn set_soname() {
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let soname = if major == "0" {
        format!("libpsftp.so.0.{minor}")
    } else {
        format!("libpsftp.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    link_soname(&soname);
}

/// A program linked with `-L target/release -lpsftp` records the soname
/// and looks for that file at run time, but cargo only writes
/// libpsftp.so: put the soname link beside it, so that the README's plain
/// `cargo build` is enough to run such a program. The profile directory
/// (target/[TRIPLE/]PROFILE) is three levels above OUT_DIR
/// (PROFILE/build/psftp-HASH/out); the link is made before rustc writes
/// libpsftp.so and is only replaced when it points elsewhere.
fn link_soname(soname: &str) {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let Some(profile_dir) = out.ancestors().nth(3) else {
        return;
    };
    let link = profile_dir.join(soname);
    if fs::read_link(&link).is_ok_and(|t| t == Path::new("libpsftp.so")) {
        return;
    }
    let _ = fs::remove_file(&link);
    if let Err(e) = symlink("libpsftp.so", &link) {
        println!("cargo:warning=could not create {}: {e}", link.display());
    }
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &str, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "a Linux target needs a Unix build host",
    ))
}
