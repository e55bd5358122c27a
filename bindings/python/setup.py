"""Builds libpsftp with cargo and ships it inside the `psftp` package.

`pip install ./bindings/python` and `pip wheel ./bindings/python` run this:
it finds the repository root (the directory above holding psftp's
Cargo.toml, or $PSFTP_SOURCE_DIR), runs `cargo build --release`, and copies
target/release/libpsftp.so (debug info stripped) into the package. With
$PSFTP_BUILD_LIB set to an already built libpsftp.so, that file is packaged
instead and cargo is not needed. The wheel is tagged py3-none-<platform>:
it holds no Python extension, only the shared library loaded by ctypes.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel  # type: ignore

LIB = "libpsftp.dylib" if sys.platform == "darwin" else "libpsftp.so"
HERE = Path(__file__).resolve().parent


def source_dir() -> Path:
    env = os.environ.get("PSFTP_SOURCE_DIR")
    if env:
        return Path(env).resolve()
    for d in [HERE, *HERE.parents]:
        manifest = d / "Cargo.toml"
        if manifest.is_file() and 'name = "psftp"' in manifest.read_text():
            return d
    raise SystemExit(
        "psftp: cannot find the psftp Rust sources (a Cargo.toml with "
        'name = "psftp" above bindings/python); set PSFTP_SOURCE_DIR, or '
        "PSFTP_BUILD_LIB to a built libpsftp.so"
    )


def built_library() -> Path:
    prebuilt = os.environ.get("PSFTP_BUILD_LIB")
    if prebuilt:
        return Path(prebuilt)
    root = source_dir()
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(cargo).exists():
        raise SystemExit("psftp: building libpsftp needs cargo (https://rustup.rs)")
    subprocess.check_call([cargo, "build", "--release", "--lib"], cwd=root)
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    if not target.is_absolute():
        target = root / target
    return target / "release" / LIB


class BuildWithCargo(build_py):
    def run(self) -> None:
        super().run()
        src = built_library()
        dest = Path(self.build_lib) / "psftp" / LIB
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o755)
        strip = shutil.which("strip")
        if strip and sys.platform.startswith("linux"):
            subprocess.call([strip, "--strip-debug", str(dest)])


class PlatformWheel(bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildWithCargo, "bdist_wheel": PlatformWheel})
