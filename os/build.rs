//! PAM (`pam.rs`) is linked with `-lpam` (by `libpam-sys`), which needs the development symlink
//! `libpam.so` from Debian's `libpam0g-dev`. Every Debian system has the library itself
//! (`libpam.so.0`, from `libpam0g`), so on a machine without the development package the
//! link goes through a symlink of our own to it, and building needs no extra package.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let multiarch = format!("{arch}-linux-gnu");
    let dirs: Vec<PathBuf> = [
        format!("/usr/lib/{multiarch}"),
        format!("/lib/{multiarch}"),
        "/usr/lib64".to_string(),
        "/lib64".to_string(),
        "/usr/lib".to_string(),
        "/lib".to_string(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect();
    if dirs.iter().any(|d| d.join("libpam.so").exists()) {
        return;
    }
    let Some(runtime) = dirs
        .iter()
        .map(|d| d.join("libpam.so.0"))
        .find(|p| p.exists())
    else {
        println!("cargo:warning=PAM's library (libpam.so.0) was not found: install libpam0g-dev");
        return;
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let link = out.join("libpam.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&runtime, &link).expect("a symlink in OUT_DIR");
    println!(
        "cargo:rustc-link-search=native={}",
        Path::new(&out).display()
    );
}
