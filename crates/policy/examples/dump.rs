//! Prints the program a policy compiles to, one instruction a line:
//! `cargo run -p forkexec-policy --example dump -- [POLICY.json]` (default: the judge policy).

use std::io::Write;
use std::process::ExitCode;

use forkexec_policy::Policy;

fn main() -> ExitCode {
    let policy = match std::env::args_os().nth(1) {
        Some(path) => Policy::from_file(path.as_ref()),
        None => Ok(Policy::default_judge()),
    };
    let program = match policy.and_then(|p| p.compile_x86_64()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("dump: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let mut lines = vec![format!("{} instructions", program.len())];
    for (pc, ins) in program.iter().enumerate() {
        let to = |off: u32| pc + 1 + off as usize;
        let text = match ins.code {
            0x20 => format!("ld  [{}]", ins.k),
            0x54 => format!("and {:#x}", ins.k),
            0x05 => format!("ja  {}", to(ins.k)),
            0x15 | 0x25 | 0x35 => format!(
                "{} {:#x} ? {} : {}",
                match ins.code {
                    0x15 => "jeq",
                    0x25 => "jgt",
                    _ => "jge",
                },
                ins.k,
                to(ins.jt.into()),
                to(ins.jf.into())
            ),
            0x06 => format!("ret {:#010x}", ins.k),
            other => format!("? {other:#x}"),
        };
        lines.push(format!("{pc:5}  {text}"));
    }
    // A closed pipe (`| head`) just ends the listing.
    let _ = writeln!(out, "{}", lines.join("\n"));
    ExitCode::SUCCESS
}
