//! Where and how the numbers were taken: date, kernel, CPU, user, load, sizes.

use std::fs;
use std::process::Command;

use crate::{Config, Tools};

/// Facts about where and how the numbers were taken.
pub struct Machine {
    pub date: String,
    pub kernel: String,
    pub cpu: String,
    pub nproc: usize,
    pub user: String,
    /// /proc/loadavg's 1-minute figure before and after the run (other work on the machine).
    pub load: (String, String),
    pub bwrap_version: Option<String>,
    pub helper_size: u64,
    pub helper_static: bool,
    pub payload_size: u64,
    pub bwrap_size: Option<u64>,
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

pub fn machine(c: &Config, t: &Tools, load_before: String) -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    // SAFETY: plain geteuid.
    let euid = unsafe { libc::geteuid() };
    let user = if euid == 0 {
        "root".to_string()
    } else {
        format!("an ordinary user (uid {euid})")
    };
    let helper_bytes = fs::read(&c.helper).unwrap_or_default();
    // A static executable has no PT_INTERP and no PT_DYNAMIC program header.
    let helper_static = !helper_bytes.is_empty() && !has_phdr(&helper_bytes, &[2, 3]);
    Machine {
        date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default(),
        kernel: command_line("uname", &["-r"]).unwrap_or_default(),
        cpu,
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        user,
        load: (load_before, loadavg()),
        bwrap_version: t
            .bwrap
            .as_ref()
            .and_then(|b| command_line(&b.to_string_lossy(), &["--version"])),
        helper_size: helper_bytes.len() as u64,
        helper_static,
        payload_size: fs::metadata(&c.payload).map_or(0, |m| m.len()),
        bwrap_size: t
            .bwrap
            .as_ref()
            .and_then(|b| fs::metadata(b).ok())
            .map(|m| m.len()),
    }
}

/// Whether an ELF64 file has a program header of one of these types.
fn has_phdr(elf: &[u8], types: &[u32]) -> bool {
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    if elf.get(..4) != Some(b"\x7fELF") {
        return false;
    }
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36) as usize, u16_at(0x38));
    (0..phnum as usize).any(|i| types.contains(&u32_at(phoff + i * phentsize)))
}
