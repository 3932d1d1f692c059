//! Compiles the probes (`probes/*.c`) with `cc -static -O2 -s` (`CC` overrides `cc`) into
//! `OUT_DIR`; the library embeds them, so a test binary carries its own root file system
//! content and runs from anywhere (scripts/test-as-user.sh runs copies from /tmp).
//!
//! Without a C compiler or a static libc (libc6-dev, glibc-static) the build still succeeds,
//! so `cargo build --workspace` does not need them, but every test then fails with the
//! compiler's message: the tests never pass without having run.

use std::path::PathBuf;
use std::process::Command;

const PROBES: [&str; 3] = ["rootfs-probe", "zombie-maker", "spawner"];

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-changed=probes");
    let mut failures = Vec::new();
    for name in PROBES {
        let src = format!("probes/{name}.c");
        let exe = out.join(name);
        let _ = std::fs::remove_file(&exe);
        let built = Command::new(&cc)
            .args(["-static", "-O2", "-s", "-Wall", "-Iprobes", "-o"])
            .arg(&exe)
            .arg(&src)
            .output();
        match built {
            Ok(o) if o.status.success() => {}
            Ok(o) => failures.push(format!(
                "{cc} -static {src}: {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => failures.push(format!("{cc}: {e}")),
        }
        if !exe.exists() {
            std::fs::write(&exe, b"").expect("placeholder");
        }
    }
    let failure = failures.join("; ").replace('\n', " ");
    if !failure.is_empty() {
        println!("cargo:warning=rootfs probes not built (the rootfs tests will fail): {failure}");
    }
    println!("cargo:rustc-env=ROOTFS_PROBES_BUILD_ERROR={failure}");
}
