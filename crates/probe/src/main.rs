//! `forkexec-probe`: the program the tests run inside the sandbox. It reports what it sees as
//! one JSON object on stdout, so tests check the real effect of each spec field from inside.
//!
//! - `report`: ids, groups, capabilities, no_new_privs, seccomp mode, dumpable, parent-death
//!   signal, fds, cwd, host and domain name, session, process group, controlling tty, argv,
//!   env, rlimits, id maps, setgroups, namespace ids, mountinfo, the root directory's entries.
//! - `write PATH TEXT`: try to create/overwrite PATH; reports `{"ok":true}` or the errno.
//! - `syscall NAME`: try one syscall (getppid, getpid, uname, mkdir, socket, …); reports the
//!   return value or errno.
//! - `inspect PATH…`: per path, what `lstat`, `readlink`, `statvfs` (read-only, nosuid, nodev,
//!   size) and reading it (the first 64 bytes, or a directory's entries) give; plus the
//!   numeric entries of `/proc` (the pids this process can see) and `mountinfo`.
//! - `key DESCRIPTION [user]`: searches the session keyring (or the user keyring) for a `user`
//!   key of that description and reads it: `{"session": ID, "secret": TEXT or null, "errno":
//!   E}` (`session`: that keyring's id).
//! - `addkey DESCRIPTION SECRET [user]`: adds a `user` key to the session keyring (or the user
//!   keyring): `{"id": ID, "errno": E}`.
//! - `exit CODE`, `signal SIG`: end that way. `sleep SECONDS`. `burn MS`: uses MS ms of CPU
//!   time (its own, as `getrusage` counts it), then reports `{"burned_ms": MS}`.
//! - Judge workloads (they never return on their own): `spin [PROCS]` burns CPU in PROCS
//!   processes (default 1); `alloc MIB` allocates and touches MIB MiB, then exits 0;
//!   `forkbomb` forks without end; `flood BYTES` writes BYTES zero bytes to stdout, then
//!   exits 0.

use std::ffi::CString;
use std::fs;
use std::io::Write;

use serde_json::{json, Map, Value};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cmd = args.get(1).map(String::as_str).unwrap_or("report");
    let out = match cmd {
        "report" => report(),
        "write" => write_file(&args[2], &args[3]),
        "syscall" => try_syscall(&args[2]),
        "inspect" => inspect(&args[2..]),
        "key" => key(&args[2], keyring(args.get(3))),
        "addkey" => add_key(&args[2], &args[3], keyring(args.get(4))),
        "exit" => std::process::exit(args[2].parse().unwrap()),
        "signal" => {
            let sig = args[2].parse().unwrap();
            // The default action, even for the signals std handles itself (SIGSEGV and SIGBUS,
            // whose handler returns from a raised signal, and the ignored SIGPIPE).
            // SAFETY: signal() with SIG_DFL and raise() on our own process.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
                libc::raise(sig);
            }
            std::process::exit(0);
        }
        "burn" => burn(args[2].parse().unwrap()),
        "spin" => spin(args.get(2).map_or(1, |n| n.parse().unwrap())),
        "alloc" => alloc(args[2].parse().unwrap()),
        "forkbomb" => forkbomb(),
        "flood" => flood(args[2].parse().unwrap()),
        "loopback" => loopback(),
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs_f64(args[2].parse().unwrap()));
            json!({"slept": true})
        }
        other => {
            eprintln!("forkexec-probe: unknown command {other}");
            std::process::exit(2);
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{out}");
}

/// Uses `ms` milliseconds of this process's CPU time, then returns.
fn burn(ms: u64) -> Value {
    let used = || {
        // SAFETY: getrusage fills the zeroed struct we own.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
        let t = |tv: libc::timeval| tv.tv_sec as u64 * 1000 + tv.tv_usec as u64 / 1000;
        t(u.ru_utime) + t(u.ru_stime)
    };
    let mut x: u64 = 0;
    while used() < ms {
        for _ in 0..100_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    json!({ "burned_ms": ms })
}

/// Burns CPU in `procs` processes (this one and `procs - 1` children) until killed.
fn spin(procs: u32) -> Value {
    for _ in 1..procs {
        // SAFETY: fork in a single-threaded process; the child only loops.
        if unsafe { libc::fork() } == 0 {
            break;
        }
    }
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Allocates `mib` MiB and writes to every page, so that all of it is charged.
fn alloc(mib: usize) -> Value {
    let mut chunks = Vec::new();
    for _ in 0..mib {
        let mut chunk = vec![0u8; 1 << 20];
        for i in (0..chunk.len()).step_by(4096) {
            chunk[i] = 1;
        }
        chunks.push(std::hint::black_box(chunk));
    }
    json!({"allocated_mib": chunks.len()})
}

/// Forks without end; each process forks again and spins.
fn forkbomb() -> Value {
    loop {
        // SAFETY: fork; both sides go on looping.
        unsafe { libc::fork() };
    }
}

/// Writes `bytes` zero bytes to stdout.
fn flood(bytes: u64) -> Value {
    let buf = [0u8; 65536];
    let mut out = std::io::stdout().lock();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        if out.write_all(&buf[..n]).is_err() {
            std::process::exit(1);
        }
        left -= n as u64;
    }
    let _ = out.flush();
    std::process::exit(0);
}

/// The special keyring id: the session keyring, or with `user` the user keyring.
fn keyring(name: Option<&String>) -> libc::c_long {
    const SESSION: libc::c_long = -3;
    const USER: libc::c_long = -4;
    match name.map(String::as_str) {
        None | Some("session") => SESSION,
        Some("user") => USER,
        Some(other) => panic!("unknown keyring {other}"),
    }
}

/// Adds a `user` key to `keyring` (a run that tries to leave a secret behind).
fn add_key(description: &str, secret: &str, keyring: libc::c_long) -> Value {
    let desc = CString::new(description).unwrap();
    // SAFETY: add_key with NUL-terminated strings and a payload that outlive the call.
    let id = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            c"user".as_ptr(),
            desc.as_ptr(),
            secret.as_ptr(),
            secret.len(),
            keyring,
        )
    };
    json!({"id": id, "errno": if id < 0 { errno() } else { 0 }})
}

/// What `keyring` gives for a `user` key named `description`.
fn key(description: &str, keyring: libc::c_long) -> Value {
    const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
    const KEYCTL_SEARCH: libc::c_long = 10;
    const KEYCTL_READ: libc::c_long = 11;
    let desc = CString::new(description).unwrap();
    // SAFETY: keyctl with integer arguments and NUL-terminated strings that outlive the call;
    // KEYCTL_READ writes at most buf.len() bytes into buf.
    unsafe {
        let session = libc::syscall(libc::SYS_keyctl, KEYCTL_GET_KEYRING_ID, keyring, 0);
        let found = libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SEARCH,
            keyring,
            c"user".as_ptr(),
            desc.as_ptr(),
            0,
        );
        if found < 0 {
            return json!({"session": session, "secret": null, "errno": errno()});
        }
        let mut buf = [0u8; 256];
        let n = libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_READ,
            found,
            buf.as_mut_ptr(),
            buf.len(),
        );
        if n < 0 {
            return json!({"session": session, "secret": null, "errno": errno()});
        }
        let text = String::from_utf8_lossy(&buf[..(n as usize).min(buf.len())]).into_owned();
        json!({"session": session, "secret": text, "errno": 0})
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn read(path: &str) -> Value {
    match fs::read_to_string(path) {
        Ok(s) => Value::String(s),
        Err(e) => json!({"errno": e.raw_os_error()}),
    }
}

fn status_fields() -> Map<String, Value> {
    let mut m = Map::new();
    if let Ok(s) = fs::read_to_string("/proc/self/status") {
        for line in s.lines() {
            if let Some((k, v)) = line.split_once(':') {
                m.insert(k.to_string(), Value::String(v.trim().to_string()));
            }
        }
    }
    m
}

fn fds() -> Value {
    let mut list = Map::new();
    if let Ok(dir) = fs::read_dir("/proc/self/fd") {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let target = fs::read_link(entry.path())
                .map(|p| p.to_string_lossy().to_string())
                .unwrap_or_default();
            list.insert(name, Value::String(target));
        }
    }
    // read_dir's own fd is listed too; it is gone by now, so drop dangling /proc entries.
    list.retain(|fd, _| {
        let n: i32 = fd.parse().unwrap_or(-1);
        // SAFETY: F_GETFD on an fd number only queries the fd table.
        (unsafe { libc::fcntl(n, libc::F_GETFD) }) >= 0
    });
    Value::Object(list)
}

fn rlimits() -> Value {
    let mut m = Map::new();
    for res in 0..16 {
        let mut lim = libc::rlimit64 {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit64 fills a struct we own.
        if unsafe { libc::getrlimit64(res, &mut lim) } == 0 {
            m.insert(res.to_string(), json!([lim.rlim_cur, lim.rlim_max]));
        }
    }
    Value::Object(m)
}

fn namespaces() -> Value {
    let mut m = Map::new();
    for ns in ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"] {
        let link = fs::read_link(format!("/proc/self/ns/{ns}"))
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        m.insert(ns.to_string(), Value::String(link));
    }
    Value::Object(m)
}

fn groups() -> Vec<u32> {
    // SAFETY: getgroups(0, NULL) returns the count; then fills a buffer of that size.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let mut g = vec![0 as libc::gid_t; n.max(0) as usize];
    // SAFETY: g has room for n entries.
    let n = unsafe { libc::getgroups(n, g.as_mut_ptr()) };
    g.truncate(n.max(0) as usize);
    g
}

fn report() -> Value {
    let (mut ruid, mut euid, mut suid, mut rgid, mut egid, mut sgid) = (0, 0, 0, 0, 0, 0);
    // SAFETY: the calls fill integers we own; getsid/getpgrp/getpid take no pointers.
    let (pid, ppid, sid, pgid) = unsafe {
        libc::getresuid(&mut ruid, &mut euid, &mut suid);
        libc::getresgid(&mut rgid, &mut egid, &mut sgid);
        (
            libc::getpid(),
            libc::getppid(),
            libc::getsid(0),
            libc::getpgrp(),
        )
    };
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills a struct we own.
    unsafe { libc::uname(&mut uts) };
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).to_string()
    };
    let status = status_fields();
    let mut pdeathsig: libc::c_int = -1;
    // SAFETY: prctl with integer arguments, or a pointer to an int we own.
    let dumpable = unsafe {
        libc::prctl(libc::PR_GET_PDEATHSIG, &mut pdeathsig as *mut libc::c_int);
        libc::prctl(libc::PR_GET_DUMPABLE)
    };
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Field 7 (tty_nr), counted after the ")" that ends the command name.
    let tty_nr: i64 = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(4))
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1);
    let root: Vec<String> = fs::read_dir("/")
        .map(|d| {
            let mut v: Vec<String> = d
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect();
            v.sort();
            v
        })
        .unwrap_or_default();
    json!({
        "pid": pid, "ppid": ppid, "sid": sid, "pgid": pgid, "tty_nr": tty_nr,
        "uid": [ruid, euid, suid], "gid": [rgid, egid, sgid], "groups": groups(),
        "cap_inh": status.get("CapInh"), "cap_prm": status.get("CapPrm"),
        "cap_eff": status.get("CapEff"), "cap_bnd": status.get("CapBnd"),
        "cap_amb": status.get("CapAmb"), "no_new_privs": status.get("NoNewPrivs"),
        "seccomp": status.get("Seccomp"),
        "dumpable": dumpable, "pdeathsig": pdeathsig,
        "fds": fds(),
        "cwd": std::env::current_dir().map(|p| p.to_string_lossy().to_string()).unwrap_or_default(),
        "hostname": field(&uts.nodename), "domainname": field(&uts.domainname),
        "argv": std::env::args_os().map(|a| a.to_string_lossy().to_string()).collect::<Vec<_>>(),
        "env": std::env::vars_os().map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())).collect::<Vec<_>>(),
        "rlimits": rlimits(),
        "uid_map": read("/proc/self/uid_map"), "gid_map": read("/proc/self/gid_map"),
        "setgroups": read("/proc/self/setgroups"),
        "ns": namespaces(),
        "mountinfo": read("/proc/self/mountinfo"),
        "cgroup": read("/proc/self/cgroup"),
        "root": root,
    })
}

fn write_file(path: &str, text: &str) -> Value {
    match fs::write(path, text) {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "errno": e.raw_os_error()}),
    }
}

fn inspect(paths: &[String]) -> Value {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Map::new();
    for path in paths {
        let entry = match fs::symlink_metadata(path) {
            Err(e) => json!({"errno": e.raw_os_error()}),
            Ok(m) => {
                let ft = m.file_type();
                let kind = if ft.is_dir() {
                    "dir"
                } else if ft.is_symlink() {
                    "symlink"
                } else if ft.is_char_device() {
                    "char"
                } else if ft.is_file() {
                    "file"
                } else {
                    "other"
                };
                let mut e = json!({
                    "type": kind, "mode": m.mode() & 0o7777, "size": m.size(),
                    "uid": m.uid(), "rdev": m.rdev(),
                });
                if let Ok(link) = fs::read_link(path) {
                    e["link"] = json!(link.to_string_lossy());
                }
                if ft.is_dir() {
                    let mut names: Vec<String> = fs::read_dir(path)
                        .map(|d| {
                            d.flatten()
                                .map(|e| e.file_name().to_string_lossy().into())
                                .collect()
                        })
                        .unwrap_or_default();
                    names.sort();
                    e["entries"] = json!(names);
                } else if !ft.is_symlink() {
                    e["read"] = match fs::File::open(path) {
                        Err(err) => json!({"errno": err.raw_os_error()}),
                        Ok(f) => {
                            use std::io::Read;
                            let mut buf = Vec::new();
                            match f.take(64).read_to_end(&mut buf) {
                                Ok(_) => json!(buf),
                                Err(err) => json!({"errno": err.raw_os_error()}),
                            }
                        }
                    };
                }
                let c = CString::new(path.as_str()).unwrap();
                let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
                // SAFETY: statvfs fills a struct we own; the path is NUL-terminated.
                if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } == 0 {
                    // SAFETY: zero-initialised and filled by a successful statvfs.
                    let st = unsafe { st.assume_init() };
                    e["ro"] = json!(st.f_flag & libc::ST_RDONLY != 0);
                    e["nosuid"] = json!(st.f_flag & libc::ST_NOSUID != 0);
                    e["nodev"] = json!(st.f_flag & libc::ST_NODEV != 0);
                    e["fs_bytes"] = json!(st.f_blocks * st.f_frsize);
                }
                e
            }
        };
        out.insert(path.clone(), entry);
    }
    let mut pids: Vec<u64> = fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort();
    json!({"paths": out, "proc_pids": pids, "mountinfo": read("/proc/self/mountinfo")})
}

/// A TCP round trip on 127.0.0.1 and on ::1: listen on a free port, connect, send a byte,
/// accept and read it. `{"127.0.0.1": "ok" or the first error, "::1": ...}`.
fn loopback() -> Value {
    use std::io::Read;
    use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
    let trip = |ip: std::net::IpAddr| -> std::io::Result<()> {
        let listener = TcpListener::bind((ip, 0))?;
        let mut out = TcpStream::connect(listener.local_addr()?)?;
        out.write_all(b"x")?;
        let (mut inp, _) = listener.accept()?;
        let mut byte = [0u8; 1];
        inp.read_exact(&mut byte)?;
        assert_eq!(&byte, b"x");
        Ok(())
    };
    let mut out = Map::new();
    for ip in [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()] {
        let r = trip(ip).map_or_else(|e| e.to_string(), |()| "ok".to_string());
        out.insert(ip.to_string(), r.into());
    }
    Value::Object(out)
}

fn try_syscall(name: &str) -> Value {
    // SAFETY: each call takes no pointers, or pointers to memory we own.
    let ret: i64 = unsafe {
        match name {
            "getppid" => libc::syscall(libc::SYS_getppid),
            "getpid" => libc::syscall(libc::SYS_getpid),
            "getuid" => libc::syscall(libc::SYS_getuid),
            "socket" => libc::syscall(libc::SYS_socket, libc::AF_INET, libc::SOCK_STREAM, 0),
            "unshare-user" => libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER),
            "mkdir" => {
                let p = CString::new("/tmp/forkexec-probe-mkdir").unwrap();
                libc::syscall(libc::SYS_mkdir, p.as_ptr(), 0o700)
            }
            other => {
                eprintln!("forkexec-probe: unknown syscall {other}");
                std::process::exit(2);
            }
        }
    };
    if ret < 0 {
        json!({"ret": ret, "errno": errno()})
    } else {
        json!({"ret": ret})
    }
}
