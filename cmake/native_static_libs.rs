//! Not an example to read: a static library with psftp as its one
//! dependency, so that `cargo rustc --example native-static-libs --
//! --print native-static-libs` makes rustc list the system libraries a
//! static link of libpsftp.a needs (cmake/cargo-build.cmake). Asking that of
//! the library itself would give it other rustc arguments than a plain
//! `cargo build --release`, and each would then rebuild it for the other.
extern crate psftp;
