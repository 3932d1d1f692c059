// Link the helper as a static, libc-free executable (docs/design.md, "What forkexec is"):
// no C runtime start files, no libc, no PIE (a static PIE has no loader to relocate it).
fn main() {
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--gc-sections",
        "-Wl,--build-id=none",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    // helper.ld drops the unwind tables (panic = "abort": nothing unwinds) and .comment.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/helper.ld");
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{script}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=helper.ld");
}
