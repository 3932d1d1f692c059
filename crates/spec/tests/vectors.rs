//! Byte-exact test vectors in `crates/spec/vectors/` (format: `vectors/README.md`).
//!
//! Two independent checks:
//! - `committed_files_match_their_definitions`: each vector defined below is rendered (comments,
//!   metadata, annotated hex) and must equal the committed file byte for byte. Run with
//!   `FORKEXEC_BLESS_VECTORS=1` to rewrite the files after a deliberate change.
//! - `every_committed_vector_checks_out`: each committed file is read the way a client in another
//!   language would read it: its `# json:` line is encoded with the [`Writer`] in canonical order
//!   and compared with the hex, and the hex is decoded and compared with the JSON (valid vectors)
//!   or with the recorded fault and offset (malformed vectors).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use forkexec_spec::decode::{decode, Fault, SpecError};
use forkexec_spec::layout::{
    self, caps, cred_flag, limit, mount_kind, mount_op, mount_opt, ns, opt, record, HEADER_LEN,
};
use forkexec_spec::tables::{landlock_fs, landlock_net, landlock_scope, Entry};
use forkexec_testkit::wire::{
    build, s, Owned, OwnedCredential, OwnedMount, OwnedMountEntry, OwnedMountOp,
};

// ---------------------------------------------------------------------------------------------
// a minimal JSON reader (no dependencies in this crate, on purpose)

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(i128),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Json {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing characters in JSON");
        v
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && b" \t\r\n".contains(&self.s[self.i]) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(
            self.s.get(self.i),
            Some(&c),
            "JSON: expected '{}'",
            c as char
        );
        self.i += 1;
    }
    fn peek(&mut self) -> u8 {
        self.ws();
        *self.s.get(self.i).expect("JSON: unexpected end")
    }
    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.eat(b'{');
                let mut fields = Vec::new();
                if self.peek() != b'}' {
                    loop {
                        let Json::Str(k) = self.value() else {
                            panic!("JSON: object key must be a string")
                        };
                        self.eat(b':');
                        assert!(
                            fields.iter().all(|(f, _)| *f != k),
                            "JSON: duplicate key {k}"
                        );
                        fields.push((k, self.value()));
                        if self.peek() == b',' {
                            self.eat(b',');
                        } else {
                            break;
                        }
                    }
                }
                self.eat(b'}');
                Json::Obj(fields)
            }
            b'[' => {
                self.eat(b'[');
                let mut items = Vec::new();
                if self.peek() != b']' {
                    loop {
                        items.push(self.value());
                        if self.peek() == b',' {
                            self.eat(b',');
                        } else {
                            break;
                        }
                    }
                }
                self.eat(b']');
                Json::Arr(items)
            }
            b'"' => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let c = self.s[self.i];
                    self.i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            let e = self.s[self.i];
                            self.i += 1;
                            out.push(match e {
                                b'"' => '"',
                                b'\\' => '\\',
                                b'/' => '/',
                                b'n' => '\n',
                                b't' => '\t',
                                b'r' => '\r',
                                b'b' => '\u{8}',
                                b'f' => '\u{c}',
                                b'u' => {
                                    let hex =
                                        std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                                    self.i += 4;
                                    char::from_u32(u32::from_str_radix(hex, 16).unwrap())
                                        .expect("JSON: no surrogate pairs here")
                                }
                                _ => panic!("JSON: bad escape"),
                            });
                        }
                        _ => {
                            // Copy one UTF-8 sequence.
                            let start = self.i - 1;
                            let mut end = self.i;
                            while end < self.s.len() && (self.s[end] & 0xc0) == 0x80 {
                                end += 1;
                            }
                            out.push_str(std::str::from_utf8(&self.s[start..end]).unwrap());
                            self.i = end;
                        }
                    }
                }
                Json::Str(out)
            }
            b't' | b'f' | b'n' => {
                for (word, v) in [
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                    ("null", Json::Null),
                ] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return v;
                    }
                }
                panic!("JSON: bad literal");
            }
            _ => {
                let start = self.i;
                if self.s[self.i] == b'-' {
                    self.i += 1;
                }
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Num(
                    text.parse()
                        .unwrap_or_else(|_| panic!("JSON: bad number {text}")),
                )
            }
        }
    }
}

impl Json {
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("expected a string, got {self:?}"),
        }
    }
    fn num<T: TryFrom<i128>>(&self) -> T {
        match self {
            Json::Num(n) => T::try_from(*n).unwrap_or_else(|_| panic!("{n} out of range")),
            _ => panic!("expected a number, got {self:?}"),
        }
    }
    fn bool(&self) -> bool {
        match self {
            Json::Bool(b) => *b,
            _ => panic!("expected a boolean, got {self:?}"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("expected an array, got {self:?}"),
        }
    }
    fn obj(&self) -> &[(String, Json)] {
        match self {
            Json::Obj(o) => o,
            _ => panic!("expected an object, got {self:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the JSON form (docs/json.md) to the fields of a spec

/// `RLIMIT_*` resources by name (Linux numbering).
const RLIMIT_NAMES: [&str; 16] = layout::RLIMIT_NAMES;

/// `MS_*` mount flags by name.
const MOUNT_FLAG_NAMES: [(&str, u64); 24] = [
    ("rdonly", 1),
    ("nosuid", 2),
    ("nodev", 4),
    ("noexec", 8),
    ("synchronous", 16),
    ("remount", 32),
    ("mandlock", 64),
    ("dirsync", 128),
    ("nosymfollow", 256),
    ("noatime", 1024),
    ("nodiratime", 2048),
    ("bind", 4096),
    ("move", 8192),
    ("rec", 16384),
    ("silent", 32768),
    ("posixacl", 1 << 16),
    ("unbindable", 1 << 17),
    ("private", 1 << 18),
    ("slave", 1 << 19),
    ("shared", 1 << 20),
    ("relatime", 1 << 21),
    ("i_version", 1 << 23),
    ("strictatime", 1 << 24),
    ("lazytime", 1 << 25),
];

const CLONE_FLAG_NAMES: [(&str, u64); 7] = [
    ("newns", ns::NEWNS),
    ("newcgroup", ns::NEWCGROUP),
    ("newuts", ns::NEWUTS),
    ("newipc", ns::NEWIPC),
    ("newuser", ns::NEWUSER),
    ("newpid", ns::NEWPID),
    ("newnet", ns::NEWNET),
];

/// JSON keys of the OPTIONS bits (`setsid` is the inverse of NO_SETSID and defaults to true).
const OPTION_NAMES: [(&str, u64); 21] = [
    ("sync", opt::SYNC),
    ("ptrace", opt::PTRACE),
    ("no_new_privs", opt::NO_NEW_PRIVS),
    ("stop_before_seccomp", opt::STOP_BEFORE_SECCOMP),
    (
        "gid_mappings_enable_setgroups",
        opt::GID_MAPPINGS_ENABLE_SETGROUPS,
    ),
    ("drop_caps", opt::DROP_CAPS),
    ("unshare_cgroup_after_sync", opt::UNSHARE_CGROUP_AFTER_SYNC),
    ("ctty", opt::CTTY),
    ("detach", opt::DETACH),
    ("init", opt::INIT),
    ("die_with_parent", opt::DIE_WITH_PARENT),
    ("writable_root", opt::WRITABLE_ROOT),
    ("new_session_keyring", opt::NEW_SESSION_KEYRING),
    ("parents_from_mode", opt::PARENTS_FROM_MODE),
    ("only_end_records", opt::ONLY_END_RECORDS),
    ("dumpable_init", opt::DUMPABLE_INIT),
    ("no_wait_init", opt::NO_WAIT_INIT),
    ("bwrap_errors", opt::BWRAP_ERRORS),
    ("loopback", opt::LOOPBACK),
    ("disable_userns", opt::DISABLE_USERNS),
    ("assert_userns_disabled", opt::ASSERT_USERNS_DISABLED),
];

fn flag_names(v: &Json, table: &[(&str, u64)]) -> u64 {
    v.arr().iter().fold(0, |acc, n| {
        let name = n.str();
        let bit = table
            .iter()
            .find(|(t, _)| *t == name)
            .unwrap_or_else(|| panic!("unknown flag name {name}"))
            .1;
        acc | bit
    })
}

fn bytes_of(v: &Json) -> Vec<u8> {
    v.str().as_bytes().to_vec()
}

/// One seccomp program of the JSON form: its `sock_filter` bytes.
fn seccomp_program(v: &Json) -> Vec<u8> {
    let mut bytes = Vec::new();
    for insn in v.arr() {
        let (mut code, mut jt, mut jf, mut k) = (None, None, None, None);
        for (key, x) in insn.obj() {
            match key.as_str() {
                "code" => code = Some(x.num::<u16>()),
                "jt" => jt = Some(x.num::<u8>()),
                "jf" => jf = Some(x.num::<u8>()),
                "k" => k = Some(x.num::<u32>()),
                _ => panic!("unknown seccomp key {key}"),
            }
        }
        bytes.extend_from_slice(&code.unwrap().to_le_bytes());
        bytes.push(jt.unwrap());
        bytes.push(jf.unwrap());
        bytes.extend_from_slice(&k.unwrap().to_le_bytes());
    }
    bytes
}

fn nonempty(v: &Json) -> Option<Vec<u8>> {
    match v {
        Json::Null => None,
        _ => Some(bytes_of(v)).filter(|b| !b.is_empty()),
    }
}

fn id_map(v: &Json) -> Option<Vec<(u32, u32, u32)>> {
    let entries: Vec<_> = v
        .arr()
        .iter()
        .map(|e| {
            let (mut c, mut h, mut n) = (None, None, None);
            for (k, x) in e.obj() {
                match k.as_str() {
                    "container_id" => c = Some(x.num()),
                    "host_id" => h = Some(x.num()),
                    "size" => n = Some(x.num()),
                    _ => panic!("unknown id map key {k}"),
                }
            }
            (c.unwrap(), h.unwrap(), n.unwrap())
        })
        .collect();
    Some(entries).filter(|e| !e.is_empty())
}

/// The JSON `type` of each mount kind, in kind order (1 = bind).
/// The keys a mount operation of each kind takes, besides `type` and `target`.
fn mount_op_keys(kind: u16) -> &'static [&'static str] {
    match kind {
        mount_kind::BIND => &["source", "source_fd", "readonly", "dev", "optional"],
        mount_kind::TMPFS => &["size", "mode", "readonly"],
        mount_kind::DIR => &["mode"],
        mount_kind::SYMLINK => &["source"],
        mount_kind::FILE => &["mode", "content", "content_fd"],
        mount_kind::MASK => &["optional"],
        mount_kind::OVERLAY => &["lower", "upper", "work"],
        mount_kind::TMP_OVERLAY | mount_kind::RO_OVERLAY => &["lower"],
        _ => &[],
    }
}

/// A mode: an octal string ("1777", "0755", "755") or an integer taken as is.
fn mode_of(v: &Json) -> u32 {
    let mode = match v {
        Json::Str(text) => {
            assert!(
                !text.is_empty() && text.bytes().all(|c| (b'0'..=b'7').contains(&c)),
                "mode {text:?} is not octal"
            );
            u32::from_str_radix(text, 8).unwrap_or_else(|_| panic!("mode {text:?}"))
        }
        _ => v.num(),
    };
    assert!(mode <= limit::MODE, "mode {mode:o} over 7777");
    mode
}

/// A size: an integer of bytes, or a string of digits with an optional k, m or g (1024-based).
fn size_of(v: &Json) -> u64 {
    match v {
        Json::Str(text) => {
            let (digits, shift) = match text.as_bytes().last() {
                Some(b'k' | b'K') => (&text[..text.len() - 1], 10),
                Some(b'm' | b'M') => (&text[..text.len() - 1], 20),
                Some(b'g' | b'G') => (&text[..text.len() - 1], 30),
                _ => (&text[..], 0),
            };
            let n: u64 = digits.parse().unwrap_or_else(|_| panic!("size {text:?}"));
            n.checked_mul(1 << shift)
                .unwrap_or_else(|| panic!("size {text:?}"))
        }
        _ => v.num(),
    }
}

/// A `mounts` entry with a `type` (the JSON form of a MOUNT_OP record, vectors/README.md).
fn mount_op_from_json(m: &Json) -> OwnedMountOp {
    let fields = m.obj();
    let name = fields.iter().find(|(k, _)| k == "type").unwrap().1.str();
    let kind = mount_kind::from_name(name).unwrap_or_else(|| panic!("unknown mount type {name}"));
    // An overlay's layers, written into the content: upper and work, then the lower ones.
    let (mut upper, mut lower) = (Vec::new(), Vec::new());
    let mut op = OwnedMountOp {
        kind,
        // The documented default modes.
        mode: match kind {
            mount_kind::TMPFS | mount_kind::DIR => 0o755,
            mount_kind::FILE => 0o644,
            _ => 0,
        },
        ..OwnedMountOp::default()
    };
    let flag = |x: &Json, bit: u16| if x.bool() { bit } else { 0 };
    for (k, x) in fields {
        let k = k.as_str();
        if k != "type" && k != "target" && !mount_op_keys(kind).contains(&k) {
            panic!("mount type {name} does not take {k}");
        }
        match k {
            "type" => {}
            "target" => op.target = bytes_of(x),
            "source" => op.source = bytes_of(x),
            "source_fd" | "content_fd" => {
                assert!(op.fd.is_none(), "an fd twice");
                op.fd = Some(x.num());
            }
            "content" => op.content = bytes_of(x),
            "upper" | "work" => upper.push(bytes_of(x)),
            "lower" => lower = x.arr().iter().map(bytes_of).collect(),
            "readonly" => op.flags |= flag(x, mount_op::READONLY),
            "dev" => op.flags |= flag(x, mount_op::DEV),
            "optional" => op.flags |= flag(x, mount_op::OPTIONAL),
            "cover" => op.flags |= flag(x, mount_op::COVER),
            "mode" => op.mode = mode_of(x),
            "size" => op.size = size_of(x),
            _ => unreachable!(),
        }
    }
    let has = |key: &str| fields.iter().any(|(k, _)| k == key);
    assert!(
        !(has("source") && has("source_fd")),
        "a bind takes source or source_fd, not both"
    );
    assert!(
        !(has("content") && has("content_fd")),
        "a file takes content or content_fd, not both"
    );
    assert!(
        !(has("upper")
            && fields.iter().position(|(k, _)| k == "upper")
                > fields.iter().position(|(k, _)| k == "work")),
        "upper before work"
    );
    for layer in upper.into_iter().chain(lower) {
        op.content.extend(layer);
        op.content.push(0);
    }
    op
}

/// An fd of the JSON form, `null` for none.
fn fd_of(v: &Json) -> Option<u32> {
    (*v != Json::Null).then(|| v.num())
}

/// Right or scope names of a `landlock` entry: a table's names, or the groups `read` and
/// `write` (filesystem rights).
fn rights(v: &Json, table: &[Entry<u64>], groups: &[(&str, u64)]) -> u64 {
    v.arr().iter().fold(0, |acc, n| {
        let name = n.str();
        let bits = groups
            .iter()
            .find(|(g, _)| *g == name)
            .map(|g| g.1)
            .or_else(|| table.iter().find(|e| e.name == name).map(|e| e.value))
            .unwrap_or_else(|| panic!("unknown Landlock right {name}"));
        acc | bits
    })
}

const FS_GROUPS: [(&str, u64); 2] = [
    ("read", layout::landlock::FS_READ),
    ("write", layout::landlock::FS_WRITE),
];

/// The `landlock` object (docs/json.md): `fs` and `net` present (even empty) handle every
/// right of their kind, and their rules follow in list order.
fn landlock_from_json(v: &Json, o: &mut Owned) {
    let (mut fs, mut net, mut scoped, mut flags) = (0, 0, 0, 0);
    for (k, x) in v.obj() {
        match k.as_str() {
            "exact" if x.bool() => flags |= layout::landlock::EXACT,
            "exact" => {}
            "fs" if *x != Json::Null => {
                fs = landlock_fs::KNOWN;
                for rule in x.arr() {
                    let (mut access, mut path) = (None, None);
                    for (rk, rx) in rule.obj() {
                        match rk.as_str() {
                            "access" => access = Some(rights(rx, landlock_fs::ALL, &FS_GROUPS)),
                            "path" => path = Some(bytes_of(rx)),
                            _ => panic!("unknown Landlock path rule key {rk}"),
                        }
                    }
                    o.landlock_paths.push((access.unwrap(), path.unwrap()));
                }
            }
            "net" if *x != Json::Null => {
                net = landlock_net::KNOWN;
                for rule in x.arr() {
                    let (mut access, mut port) = (None, None);
                    for (rk, rx) in rule.obj() {
                        match rk.as_str() {
                            "access" => access = Some(rights(rx, landlock_net::ALL, &[])),
                            "port" => port = Some(rx.num::<u16>().into()),
                            _ => panic!("unknown Landlock port rule key {rk}"),
                        }
                    }
                    o.landlock_ports.push((access.unwrap(), port.unwrap()));
                }
            }
            "fs" | "net" => {}
            "scope" => scoped = rights(x, landlock_scope::ALL, &[]),
            _ => panic!("unknown landlock key {k}"),
        }
    }
    o.landlock = Some((fs, net, scoped, flags));
}

/// The fields a JSON spec stands for. Absent, null, empty and false values mean "no record".
fn owned_from_json(j: &Json) -> Owned {
    let mut o = Owned::default();
    let mut setsid = true;
    for (key, v) in j.obj() {
        if let Some((_, bit)) = OPTION_NAMES.iter().find(|(n, _)| n == key) {
            if v.bool() {
                o.options |= bit;
            }
            continue;
        }
        match key.as_str() {
            "args" => o.args = v.arr().iter().map(bytes_of).collect(),
            "env" => o.env = v.arr().iter().map(bytes_of).collect(),
            "exec_path" => o.exec_path = nonempty(v),
            "exec_file" => o.exec_fd = fd_of(v),
            "rlimits" => {
                o.rlimits = v
                    .arr()
                    .iter()
                    .map(|r| {
                        let (mut res, mut cur, mut max) = (None, None, None);
                        for (k, x) in r.obj() {
                            match k.as_str() {
                                "resource" => {
                                    res = Some(match x {
                                        Json::Str(name) => RLIMIT_NAMES
                                            .iter()
                                            .position(|n| n == name)
                                            .unwrap_or_else(|| panic!("rlimit {name}"))
                                            as u32,
                                        _ => x.num(),
                                    })
                                }
                                "cur" => cur = Some(x.num()),
                                "max" => max = Some(x.num()),
                                _ => panic!("unknown rlimit key {k}"),
                            }
                        }
                        (res.unwrap(), cur.unwrap(), max.unwrap())
                    })
                    .collect()
            }
            "files" => o.files = v.arr().iter().map(Json::num).collect(),
            "work_dir" => o.work_dir = nonempty(v),
            "seccomp" => {
                // One program (a list of instructions) or a list of programs.
                let programs = match v.arr().first() {
                    Some(Json::Arr(_)) => v.arr().iter().collect(),
                    _ => vec![v],
                };
                o.seccomp = programs.into_iter().map(seccomp_program).collect();
                o.seccomp.retain(|p| !p.is_empty());
            }
            "clone_flags" => o.clone_flags = flag_names(v, &CLONE_FLAG_NAMES),
            "mounts" => {
                o.mounts = v
                    .arr()
                    .iter()
                    .map(|m| {
                        if m.obj().iter().any(|(k, _)| k == "type") {
                            return OwnedMountEntry::Op(mount_op_from_json(m));
                        }
                        // `mkdir` defaults to true, as in the client's JSON form.
                        let mut om = OwnedMount {
                            options: mount_opt::MKDIR,
                            ..OwnedMount::default()
                        };
                        for (k, x) in m.obj() {
                            match k.as_str() {
                                "source" => om.source = bytes_of(x),
                                "target" => om.target = bytes_of(x),
                                "fstype" => om.fstype = bytes_of(x),
                                "data" => om.data = bytes_of(x),
                                "flags" => om.flags = flag_names(x, &MOUNT_FLAG_NAMES),
                                "mkdir" if x.bool() => om.options |= mount_opt::MKDIR,
                                "mkdir" => om.options &= !mount_opt::MKDIR,
                                "file" | "make_nod" if x.bool() => om.options |= mount_opt::FILE,
                                "file" | "make_nod" => {}
                                _ => panic!("unknown mount key {k}"),
                            }
                        }
                        OwnedMountEntry::Raw(om)
                    })
                    .collect()
            }
            "pivot_root" => o.pivot_root = nonempty(v),
            "host_name" => o.host_name = nonempty(v),
            "domain_name" => o.domain_name = nonempty(v),
            "uid_mappings" => o.uid_map = id_map(v),
            "gid_mappings" => o.gid_map = id_map(v),
            "credential" if *v != Json::Null => {
                let mut c = OwnedCredential::default();
                for (k, x) in v.obj() {
                    match k.as_str() {
                        "uid" => c.uid = x.num(),
                        "gid" => c.gid = x.num(),
                        "groups" => c.groups = x.arr().iter().map(Json::num).collect(),
                        "no_set_groups" if x.bool() => c.flags |= cred_flag::NO_SETGROUPS,
                        "no_set_groups" => {}
                        _ => panic!("unknown credential key {k}"),
                    }
                }
                o.credential = Some(c);
            }
            "credential" => {}
            "setsid" => setsid = v.bool(),
            "status_fd" => o.status_fd = fd_of(v),
            "cgroup" => o.cgroup_path = nonempty(v),
            "cgroup_fd" => o.cgroup_fd = fd_of(v),
            "landlock" if *v != Json::Null => landlock_from_json(v, &mut o),
            "landlock" => {}
            "info_fd" => o.info_fd = fd_of(v),
            "json_status_fd" => o.json_status_fd = fd_of(v),
            "join_ns" if *v != Json::Null => {
                let (mut user, mut pid, mut user2) = (None, None, None);
                for (k, x) in v.obj() {
                    match k.as_str() {
                        "user" => user = fd_of(x),
                        "pid" => pid = fd_of(x),
                        "user2" => user2 = fd_of(x),
                        _ => panic!("unknown join_ns key {k}"),
                    }
                }
                o.join_ns = Some((user, pid, user2));
            }
            "join_ns" => {}
            "lock_files" => o.lock_files = v.arr().iter().map(bytes_of).collect(),
            "sync_fd" => o.sync_fd = fd_of(v),
            "caps" if *v != Json::Null => {
                let (mut kept, mut flags) = (None, 0);
                for (k, x) in v.obj() {
                    match k.as_str() {
                        "keep" => {
                            kept = Some(x.arr().iter().fold(0u64, |acc, c| {
                                let c: u32 = c.num();
                                assert!(c < 64, "capability {c} is not 0-63");
                                acc | 1 << c
                            }))
                        }
                        "leave_sets" if x.bool() => flags |= caps::LEAVE_SETS,
                        "leave_sets" => {}
                        _ => panic!("unknown caps key {k}"),
                    }
                }
                o.caps = Some((kept.expect("caps needs keep"), flags));
            }
            "caps" => {}
            "block_fd" => o.block_fd = fd_of(v),
            "userns_block_fd" => o.userns_block_fd = fd_of(v),
            _ => panic!("unknown JSON key {key}"),
        }
    }
    if !setsid {
        o.options |= opt::NO_SETSID;
    }
    o
}

// ---------------------------------------------------------------------------------------------
// vector definitions

enum Bytes {
    /// The canonical encoding of the vector's JSON.
    Canonical,
    /// Built by the steps of its `# build:` line (crates/spec/vectors/README.md, "How a vector
    /// is built"), which every client replays with its own encoder.
    Build(&'static str),
}

struct Def {
    name: &'static str,
    about: &'static [&'static str],
    /// What the bytes stand for (valid vectors), or the JSON they encode (malformed ones).
    json: Option<&'static str>,
    bytes: Bytes,
    /// `None`: decodes. `Some`: refused with this fault at this offset.
    expect: Option<(Fault, u32)>,
}

fn minimal_bytes() -> Vec<u8> {
    build(|w| w.args(s(&["/bin/true"])))
}

const MINIMAL_JSON: &str = r#"{"args":["/bin/true"]}"#;

const TYPICAL_JSON: &str = concat!(
    r#"{"args":["/bin/sh","-c","echo hello"],"#,
    r#""env":["PATH=/usr/bin:/bin","HOME=/tmp","LANG=C.UTF-8"],"#,
    r#""rlimits":[{"resource":"cpu","cur":1,"max":2},"#,
    r#"{"resource":"fsize","cur":8589934592,"max":8589934592},"#,
    r#"{"resource":"nofile","cur":256,"max":256}],"#,
    r#""files":[0,1,2],"work_dir":"/tmp","#,
    r#""seccomp":[{"code":32,"jt":0,"jf":0,"k":4},{"code":21,"jt":0,"jf":1,"k":3221225534},"#,
    r#"{"code":6,"jt":0,"jf":0,"k":2147418112},{"code":6,"jt":0,"jf":0,"k":2147483648}],"#,
    r#""clone_flags":["newns","newuts","newipc","newuser","newnet"],"#,
    r#""mounts":[{"source":"tmpfs","target":"tmp","fstype":"tmpfs","flags":["nosuid","nodev"],"data":"size=16m,mode=1777","mkdir":true},"#,
    r#"{"source":"/usr","target":"usr","fstype":"","flags":["bind","rec","rdonly","nosuid"],"data":"","mkdir":true}],"#,
    r#""pivot_root":"/tmp","host_name":"sandbox","#,
    r#""uid_mappings":[{"container_id":0,"host_id":1000,"size":1}],"#,
    r#""gid_mappings":[{"container_id":0,"host_id":1000,"size":1}],"#,
    r#""credential":{"uid":0,"gid":0,"groups":[0,100],"no_set_groups":false},"#,
    r#""sync":true,"no_new_privs":true,"drop_caps":true}"#,
);

const EXEC_FILE_JSON: &str = concat!(
    r#"{"args":["prog","--flag"],"env":["A=1"],"exec_file":3,"files":[0,1,-1],"#,
    r#""sync":true,"ptrace":true,"setsid":false,"status_fd":4}"#,
);

const ALL_FIELDS_JSON: &str = concat!(
    r#"{"args":["env","-i"],"env":["TERM=dumb"],"exec_path":"/usr/bin/env","#,
    r#""rlimits":[{"resource":"as","cur":1073741824,"max":1073741824},"#,
    r#"{"resource":"rttime","cur":0,"max":18446744073709551615}],"#,
    r#""files":[2,1,0,-1,7],"work_dir":"/","#,
    r#""seccomp":[{"code":6,"jt":0,"jf":0,"k":2147418112}],"#,
    r#""clone_flags":["newns","newcgroup","newuts","newipc","newuser","newpid","newnet"],"#,
    r#""mounts":[{"source":"/etc/hosts","target":"etc/hosts","fstype":"","flags":["bind","rdonly"],"data":"","mkdir":true,"file":true},"#,
    r#"{"source":"proc","target":"proc","fstype":"proc","flags":["nosuid","nodev","noexec"],"data":"","mkdir":true}],"#,
    r#""pivot_root":"/srv/root","host_name":"h","domain_name":"d","#,
    r#""uid_mappings":[{"container_id":0,"host_id":1000,"size":1},{"container_id":1,"host_id":100000,"size":65536}],"#,
    r#""gid_mappings":[{"container_id":0,"host_id":1000,"size":1},{"container_id":1,"host_id":100000,"size":65536}],"#,
    r#""credential":{"uid":1000,"gid":1000,"groups":[],"no_set_groups":true},"#,
    r#""sync":true,"ptrace":true,"no_new_privs":true,"stop_before_seccomp":true,"#,
    r#""gid_mappings_enable_setgroups":true,"drop_caps":true,"unshare_cgroup_after_sync":true,"#,
    r#""ctty":true,"setsid":true,"status_fd":1048575}"#,
);

const MOUNT_OPS_JSON: &str = concat!(
    r#"{"args":["/bin/sh"],"files":[0,1,2,-1,-1,5],"#,
    r#""clone_flags":["newns","newipc","newpid"],"#,
    r#""mounts":[{"type":"bind","source":"/usr","target":"/usr","readonly":true},"#,
    r#"{"type":"bind","source":"/lib64","target":"/lib64","readonly":true,"optional":true},"#,
    r#"{"type":"bind","source_fd":5,"target":"/data","dev":true},"#,
    r#"{"source":"tmpfs","target":"run","fstype":"tmpfs","flags":["nosuid","nodev"],"data":"mode=755","mkdir":true},"#,
    r#"{"type":"tmpfs","target":"/tmp","size":67108864,"mode":"1777"},"#,
    r#"{"type":"tmpfs","target":"/ro","mode":"0555","readonly":true},"#,
    r#"{"type":"proc","target":"/proc"},"#,
    r#"{"type":"dev","target":"/dev"},"#,
    r#"{"type":"mqueue","target":"/dev/mqueue"},"#,
    r#"{"type":"dir","target":"/work","mode":"0700"},"#,
    r#"{"type":"symlink","source":"usr/bin","target":"/bin"},"#,
    r#"{"type":"file","target":"/etc/hostname","mode":"0644","content":"box\n"},"#,
    r#"{"type":"file","target":"/input.txt","mode":"0600","content_fd":7},"#,
    r#"{"type":"remount_ro","target":"/data"},"#,
    r#"{"type":"mask","target":"/proc/kcore","optional":true}],"#,
    r#""pivot_root":"/srv/root","writable_root":true}"#,
);

const MOUNT_OVERLAYS_JSON: &str = concat!(
    r#"{"args":["/bin/sh"],"clone_flags":["newns"],"#,
    r#""mounts":[{"type":"overlay","target":"/src","lower":["/top","/bottom"],"upper":"/u","work":"/w"},"#,
    r#"{"type":"tmp_overlay","target":"/usr","lower":["/usr"]},"#,
    r#"{"type":"ro_overlay","target":"/opt","lower":["/opt/b","/opt/a"]}],"#,
    r#""pivot_root":"/srv/root"}"#,
);

const MOUNT_OP_FD_REPLACED_JSON: &str = concat!(
    r#"{"args":["/bin/cat","/data/x"],"files":[0,1,2,-1],"clone_flags":["newns"],"#,
    r#""mounts":[{"type":"bind","source_fd":3,"target":"/data"}]}"#,
);

const LANDLOCK_JSON: &str = concat!(
    r#"{"args":["/bin/sh"],"no_new_privs":true,"landlock":{"exact":true,"#,
    r#""fs":[{"path":"/usr","access":["read","execute"]},{"path":"/tmp","access":["read","write"]},"#,
    r#"{"path":"/dev/null","access":["write_file","read_file","truncate"]}],"#,
    r#""net":[{"port":443,"access":["connect_tcp"]},{"port":8080,"access":["bind_tcp","connect_tcp"]}],"#,
    r#""scope":["abstract_unix_socket","signal"]}}"#,
);

const BWRAP_FDS_JSON: &str = concat!(
    r#"{"args":["/bin/sh"],"clone_flags":["newuser","newpid"],"#,
    r#""info_fd":5,"json_status_fd":6,"block_fd":8,"userns_block_fd":9}"#,
);

fn defs() -> Vec<Def> {
    vec![
        Def {
            name: "minimal",
            about: &["The smallest useful spec: argv = [\"/bin/true\"], nothing else."],
            json: Some(MINIMAL_JSON),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "typical",
            about: &[
                "A container-like spec: argv, env, fds 0-2, three rlimits, a work dir, a",
                "4-instruction seccomp filter (ld [4] = arch; jeq AUDIT_ARCH_X86_64, true: next,",
                "false: skip one; ret ALLOW; ret KILL_PROCESS), five namespaces, a tmpfs and a",
                "read-only recursive bind mount (both with mkdir), pivot_root, a host name,",
                "single self uid/gid maps, a credential with two groups, and three options.",
                "Decode-valid; whether the chain succeeds depends on the runtime's privileges.",
            ],
            json: Some(TYPICAL_JSON),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "exec_file",
            about: &[
                "Executes helper fd 3 (execveat AT_EMPTY_PATH) with argv [\"prog\", \"--flag\"];",
                "target fds 0 and 1 are helper fds 0 and 1, target fd 2 is closed; status",
                "records go to fd 4; sync, ptrace, and no new session (setsid false).",
            ],
            json: Some(EXEC_FILE_JSON),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "all_fields",
            about: &[
                "Every record type of the first version of the format (1-18) but EXEC_FD, the",
                "eight go-sandbox option bits (SYNC to CTTY), every namespace flag, both",
                "mount options (a file bind with mkdir + file), multi-entry id maps, an",
                "rlimit of RLIM_INFINITY (2^64-1), a credential without setgroups, and the",
                "largest status fd (2^20 - 1). The rest is in other vectors: EXEC_FD in",
                "exec_file, CGROUP_PATH (19) and DETACH in cgroup_path, CGROUP_FD (20) and",
                "INIT in cgroup_fd, DIE_WITH_PARENT in both, MOUNT_OP (21) and WRITABLE_ROOT",
                "in mount_ops, NO_SETSID in exec_file.",
                "Decode-valid; needs the clone shape (new pid namespace, multi-entry maps).",
            ],
            json: Some(ALL_FIELDS_JSON),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "skip_unknown",
            about: &[
                "The minimal spec followed by an advisory record of unknown type 0x8000",
                "(32768) with the SKIP_IF_UNKNOWN record flag (1) and the 4-byte payload",
                "01 02 03 04. A v1 decoder skips it, so this decodes exactly like minimal.",
            ],
            json: Some(MINIMAL_JSON),
            bytes: Bytes::Build(r#"[["json"],["record",32768,1,"01020304"]]"#),
            expect: None,
        },
        Def {
            name: "bad_magic",
            about: &[
                "The minimal spec with the magic's last byte changed from 'P' (0x50) to 'Q'",
                "(0x51): refused at the first byte that differs from \"FXSP\".",
            ],
            json: None,
            bytes: Bytes::Build(r#"[["encode",{"args":["/bin/true"]}],["set",3,"51"]]"#),
            expect: Some((Fault::BadMagic, 3)),
        },
        Def {
            name: "trailing_bytes",
            about: &[
                "The minimal spec (total length 30) followed by one extra 0x00 byte: the",
                "buffer is longer than the header's total length, refused at the length field.",
            ],
            json: None,
            bytes: Bytes::Build(r#"[["encode",{"args":["/bin/true"]}],["append","00"]]"#),
            expect: Some((Fault::BadTotalLength, 8)),
        },
        Def {
            name: "truncated",
            about: &[
                "The minimal spec without its last byte (the NUL of \"/bin/true\"); the header",
                "still says 30 bytes, so the spec is truncated where the bytes end (29).",
            ],
            json: None,
            bytes: Bytes::Build(r#"[["encode",{"args":["/bin/true"]}],["truncate",29]]"#),
            expect: Some((Fault::Truncated, 29)),
        },
        Def {
            name: "missing_args",
            about: &[
                "A header alone (total length 12) and no records: there is no ARGS record;",
                "refused at the end of the spec.",
            ],
            json: None,
            bytes: Bytes::Build(r#"[["header"]]"#),
            expect: Some((Fault::MissingArgs, 12)),
        },
        Def {
            name: "unterminated_args",
            about: &[
                "An ARGS record whose 9-byte payload \"/bin/true\" lacks its NUL terminator",
                "(total length 29): refused at the end of the payload.",
            ],
            json: None,
            bytes: Bytes::Build(r#"[["header"],["record",1,0,"2f62696e2f74727565"]]"#),
            expect: Some((Fault::Unterminated, 29)),
        },
        Def {
            name: "unknown_record",
            about: &[
                "The minimal spec followed by a record of type 32767 (not defined in v1), record",
                "flags 0, and the 4-byte payload 00 00 00 00: without SKIP_IF_UNKNOWN it is",
                "refused at the start of its record header (30).",
            ],
            json: None,
            bytes: Bytes::Build(
                r#"[["encode",{"args":["/bin/true"]}],["record",32767,0,"00000000"]]"#,
            ),
            expect: Some((Fault::UnknownRecord, 30)),
        },
        Def {
            name: "duplicate_record",
            about: &[
                "argv [\"/bin/true\"], then WORK_DIR \"/a\", then a second WORK_DIR \"/b\":",
                "refused at the start of the second WORK_DIR record (41).",
            ],
            json: None,
            bytes: Bytes::Build(
                r#"[["encode",{"args":["/bin/true"],"work_dir":"/a"}],["record",7,0,"2f6200"]]"#,
            ),
            expect: Some((Fault::DuplicateRecord, 41)),
        },
        Def {
            name: "fd_out_of_range",
            about: &[
                "FILES [0, 1, 1048576]: 2^20 is past the largest fd; refused at the third",
                "entry's offset.",
            ],
            json: Some(r#"{"args":["/bin/cat"],"files":[0,1,1048576]}"#),
            bytes: Bytes::Canonical,
            expect: Some((Fault::FdOutOfRange, 45)),
        },
        Def {
            name: "bad_rlimit",
            about: &[
                "RLIMIT nofile with soft limit 1024 over hard limit 64: refused at the soft",
                "limit's offset.",
            ],
            json: Some(
                r#"{"args":["/bin/true"],"rlimits":[{"resource":"nofile","cur":1024,"max":64}]}"#,
            ),
            bytes: Bytes::Canonical,
            expect: Some((Fault::BadValue, 42)),
        },
        Def {
            name: "mount_without_newns",
            about: &[
                "A tmpfs mount without the newns clone flag: refused at the start of the",
                "MOUNT record.",
            ],
            json: Some(concat!(
                r#"{"args":["/bin/true"],"#,
                r#""mounts":[{"source":"tmpfs","target":"/tmp","fstype":"tmpfs","flags":[],"data":"","mkdir":false}]}"#
            )),
            bytes: Bytes::Canonical,
            expect: Some((Fault::Conflict, 30)),
        },
        Def {
            name: "mount_ops",
            about: &[
                "Mount operations (MOUNT_OP, type 21) of every kind, with a raw MOUNT among",
                "them (the two share one list, in record order, written where MOUNT goes):",
                "read-only binds of /usr and of an optional /lib64, a bind of helper fd 5 with",
                "device nodes (target fd 5 is fd 5, so the fd table leaves it alone), a raw",
                "tmpfs, a 64 MiB tmpfs 1777, a read-only tmpfs 0555, proc, dev, mqueue, a",
                "directory 0700, a symlink /bin -> usr/bin, a file with content \"box\\n\", a",
                "file 0600 read from helper fd 7 (past the fd table), a recursive read-only",
                "remount, and an optional mask; pivot_root with writable_root.",
            ],
            json: Some(MOUNT_OPS_JSON),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "mount_overlays",
            about: &[
                "The overlay mount operations (kinds 12-14): an overlay of /top over /bottom",
                "with upper /u and work /w, a tmp_overlay of /usr, a read-only overlay of",
                "/opt/b over /opt/a. The layers are the record's content: NUL-terminated",
                "paths, upper and work first, then the lower directories, topmost first.",
            ],
            json: Some(MOUNT_OVERLAYS_JSON),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "mount_op_bad_kind",
            about: &[
                "argv [\"/bin/true\"], clone flags newns, and a MOUNT_OP of kind 65535 (the",
                "highest kind number, never given to a kind, so adding a kind leaves this",
                "vector as it is) on target \"/x\": refused at the kind, the first byte of",
                "the payload.",
            ],
            json: None,
            bytes: Bytes::Build(
                r#"[["encode",{"args":["/bin/true"],"clone_flags":["newns"],"mounts":[{"type":"mask","target":"/x"}]}],["set",54,"ffff"]]"#,
            ),
            expect: Some((Fault::BadValue, 54)),
        },
        Def {
            name: "mount_op_fd_replaced",
            about: &[
                "A bind of helper fd 3 while the target's fd table [0, 1, 2, -1] closes fd 3:",
                "the mounts are made after the fd table is set up, so the fd would be gone.",
                "Refused at the MOUNT_OP's fd field.",
            ],
            json: Some(MOUNT_OP_FD_REPLACED_JSON),
            bytes: Bytes::Canonical,
            expect: Some((Fault::Conflict, 101)),
        },
        Def {
            name: "cgroup_path",
            about: &[
                "CGROUP_PATH (type 19): the target starts in the cgroup (v2) directory",
                "/sys/fs/cgroup/sandbox/job1. Options DETACH (the target is the runtime's own",
                "child; the helper exits after the pid record) and DIE_WITH_PARENT.",
            ],
            json: Some(concat!(
                r#"{"args":["/bin/true"],"detach":true,"die_with_parent":true,"#,
                r#""cgroup":"/sys/fs/cgroup/sandbox/job1"}"#
            )),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "cgroup_fd",
            about: &[
                "CGROUP_FD (type 20): the target starts in the cgroup (v2) directory open on",
                "helper fd 5. A new pid namespace with option INIT (the helper's init is pid 1,",
                "the target pid 2) and DIE_WITH_PARENT.",
            ],
            json: Some(concat!(
                r#"{"args":["/bin/true"],"clone_flags":["newpid"],"init":true,"#,
                r#""die_with_parent":true,"cgroup_fd":5}"#
            )),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "cgroup_conflict",
            about: &[
                "Both CGROUP_PATH \"/sys/fs/cgroup/x\" and CGROUP_FD 3: refused at the start",
                "of the later of the two records (CGROUP_FD, 55).",
            ],
            json: Some(r#"{"args":["/bin/true"],"cgroup":"/sys/fs/cgroup/x","cgroup_fd":3}"#),
            bytes: Bytes::Canonical,
            expect: Some((Fault::Conflict, 55)),
        },
        Def {
            name: "lock_file_without_init",
            about: &[
                "The minimal spec followed by a LOCK_FILE (type 28) \"/l\" and no option INIT:",
                "init holds the locks, so without it nobody would; refused at the LOCK_FILE",
                "record (30). Option INIT alone, without newpid, is accepted (init is then the",
                "target's parent).",
            ],
            json: None,
            bytes: Bytes::Build(r#"[["encode",{"args":["/bin/true"]}],["record",28,0,"2f6c00"]]"#),
            expect: Some((Fault::Conflict, 30)),
        },
        Def {
            name: "detach_with_init",
            about: &[
                "Options DETACH and INIT together (with newpid): the two shapes exclude each",
                "other; refused at the OPTIONS payload (54).",
            ],
            json: Some(
                r#"{"args":["/bin/true"],"clone_flags":["newpid"],"detach":true,"init":true}"#,
            ),
            bytes: Bytes::Canonical,
            expect: Some((Fault::Conflict, 54)),
        },
        Def {
            name: "seccomp_stacked",
            about: &[
                "Two seccomp programs (two SECCOMP records, loaded in this order): the first",
                "returns ERRNO(EPERM) for getppid (x86_64 number 110) and allows the rest, the",
                "second allows everything. JSON spells several programs as a list of lists.",
            ],
            json: Some(concat!(
                r#"{"args":["/bin/true"],"seccomp":[[{"code":32,"jt":0,"jf":0,"k":0},"#,
                r#"{"code":21,"jt":0,"jf":1,"k":110},{"code":6,"jt":0,"jf":0,"k":327681},"#,
                r#"{"code":6,"jt":0,"jf":0,"k":2147418112}],"#,
                r#"[{"code":6,"jt":0,"jf":0,"k":2147418112}]]}"#,
            )),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "seccomp_too_many",
            about: &[
                "Seventeen one-instruction SECCOMP records (ret ALLOW): at most 16 programs;",
                "refused at the start of the 17th record (286), before its payload.",
            ],
            json: None,
            bytes: Bytes::Build(
                r#"[["encode",{"args":["/bin/true"],"seccomp":[[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}],[{"code":6,"jt":0,"jf":0,"k":2147418112}]]}]]"#,
            ),
            expect: Some((Fault::TooMany, 286)),
        },
        Def {
            name: "landlock",
            about: &[
                "Landlock (LANDLOCK 22, LANDLOCK_PATH 23, LANDLOCK_PORT 24), in the JSON form of",
                "docs/json.md: `fs` and `net` present handle every filesystem and network right",
                "(0xffff, 0x3), and their rules follow the LANDLOCK record in list order. Path",
                "rules with the groups `read` (read_file + read_dir) and `write` (every right",
                "but execute and the reading ones), and with rights named out of table order;",
                "port rules for TCP 443 and 8080; both scopes; option EXACT; no_new_privs.",
            ],
            json: Some(LANDLOCK_JSON),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "landlock_fs_only",
            about: &[
                "A `landlock` with `fs: []` and nothing else: the filesystem rights are all",
                "handled (0xffff) and no rule allows any, network rights are not handled (no",
                "`net`), no scopes, best effort (EXACT clear). An empty list is not absent.",
            ],
            json: Some(r#"{"args":["/bin/true"],"landlock":{"fs":[]}}"#),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "landlock_port_unhandled",
            about: &[
                "landlock_fs_only's spec followed by a LANDLOCK_PORT rule (connect_tcp on TCP",
                "443) while the ruleset handles no network right: refused at the rule's",
                "payload (74).",
            ],
            json: None,
            bytes: Bytes::Build(
                r#"[["encode",{"args":["/bin/true"],"landlock":{"fs":[]}}],["record",24,0,"0200000000000000bb01000000000000"]]"#,
            ),
            expect: Some((Fault::Conflict, 74)),
        },
        Def {
            name: "join_ns",
            about: &[
                "JOIN_NS (27): join the user namespace open on helper fd 5 before anything",
                "else and the one on fd 7 after the mounts (bubblewrap's --userns and",
                "--userns2); no pid namespace to join, written as -1.",
            ],
            json: Some(r#"{"args":["/bin/sh"],"join_ns":{"user":5,"user2":7}}"#),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "join_ns_with_newpid",
            about: &[
                "JOIN_NS with a pid namespace (fd 6) together with the newpid clone flag: the",
                "target is born in one pid namespace or the other; refused at the start of the",
                "JOIN_NS record (46).",
            ],
            json: Some(r#"{"args":["/bin/true"],"clone_flags":["newpid"],"join_ns":{"pid":6}}"#),
            bytes: Bytes::Canonical,
            expect: Some((Fault::Conflict, 46)),
        },
        Def {
            name: "caps",
            about: &[
                "CAPS (30): the target keeps capabilities 0 (CAP_CHOWN), 10",
                "(CAP_NET_BIND_SERVICE), 21 (CAP_SYS_ADMIN) and 63 (the highest bit of the",
                "kept set) and no other; the sets are set to the kept set (leave_sets false).",
            ],
            json: Some(r#"{"args":["/bin/sh"],"caps":{"keep":[0,10,21,63]}}"#),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "caps_with_drop_caps",
            about: &[
                "CAPS with an empty kept set and LEAVE_SETS together with option DROP_CAPS: a",
                "kept set and dropping every capability contradict each other; refused at the",
                "start of the CAPS record (46).",
            ],
            json: Some(
                r#"{"args":["/bin/true"],"drop_caps":true,"caps":{"keep":[],"leave_sets":true}}"#,
            ),
            bytes: Bytes::Canonical,
            expect: Some((Fault::Conflict, 46)),
        },
        Def {
            name: "init_lock_files",
            about: &[
                "What the helper's init holds while it lives (bubblewrap's --lock-file and",
                "--sync-fd): LOCK_FILE (28) twice, in list order, and SYNC_FD (29) 7, with",
                "option INIT in a new pid namespace.",
            ],
            json: Some(concat!(
                r#"{"args":["/bin/sh"],"clone_flags":["newpid"],"init":true,"#,
                r#""lock_files":["/run/lock/a","/tmp/b.lock"],"sync_fd":7}"#
            )),
            bytes: Bytes::Canonical,
            expect: None,
        },
        Def {
            name: "bwrap_fds",
            about: &[
                "bubblewrap's fds: INFO_FD (25) 5 and JSON_STATUS_FD (26) 6 for the pid and",
                "namespace ids, BLOCK_FD (31) 8 and USERNS_BLOCK_FD (32) 9, in a new user",
                "namespace whose id maps another process writes (no UID_MAP, no GID_MAP).",
            ],
            json: Some(BWRAP_FDS_JSON),
            bytes: Bytes::Canonical,
            expect: None,
        },
    ]
}

/// The bytes a `# build:` line describes: a JSON array of steps, each an array naming the step
/// first (crates/spec/vectors/README.md, "How a vector is built"). `json` is the vector's
/// `json` line.
fn build_steps(steps: &str, json: Option<&str>) -> Vec<u8> {
    let hex_of = |h: &Json| -> Vec<u8> {
        let s = h.str();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let mut b = Vec::new();
    for step in Parser::parse(steps).arr() {
        let a = step.arr();
        match a[0].str() {
            "json" => b = owned_from_json(&Parser::parse(json.expect("a json line"))).encode(),
            "encode" => b = owned_from_json(&a[1]).encode(),
            "header" => b = build(|_| {}),
            "record" => {
                let payload = hex_of(&a[3]);
                b.extend_from_slice(&a[1].num::<u16>().to_le_bytes());
                b.extend_from_slice(&a[2].num::<u16>().to_le_bytes());
                b.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                b.extend_from_slice(&payload);
                let total = (b.len() as u32).to_le_bytes();
                b[8..12].copy_from_slice(&total);
            }
            "set" => {
                let (at, v) = (a[1].num::<usize>(), hex_of(&a[2]));
                b[at..at + v.len()].copy_from_slice(&v);
            }
            "append" => b.extend(hex_of(&a[1])),
            "truncate" => b.truncate(a[1].num()),
            other => panic!("unknown build step {other}"),
        }
    }
    b
}

impl Def {
    /// The `# build:` line's steps.
    fn build_line(&self) -> &'static str {
        match self.bytes {
            Bytes::Canonical => r#"[["json"]]"#,
            Bytes::Build(steps) => steps,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self.bytes {
            Bytes::Canonical => owned_from_json(&Parser::parse(self.json.unwrap())).encode(),
            Bytes::Build(steps) => build_steps(steps, self.json),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// rendering: metadata, then the bytes one header or record per group, each with a comment

fn quote(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for &c in b {
        match c {
            0 => out.push_str("\\0"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(c as char),
            _ => write!(out, "\\x{c:02x}").unwrap(),
        }
    }
    out.push('"');
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn names(bits: u64, table: &[(&str, u64)]) -> String {
    let mut v: Vec<&str> = table
        .iter()
        .filter(|(_, b)| bits & b != 0)
        .map(|(n, _)| *n)
        .collect();
    let rest = table.iter().fold(bits, |acc, (_, b)| acc & !b);
    let extra = format!("0x{rest:x}");
    if rest != 0 {
        v.push(&extra);
    }
    if v.is_empty() {
        "none".into()
    } else {
        v.join("|")
    }
}

/// The names of a table's bits set in `bits` (as [`names`]).
fn table_names(bits: u64, table: &[Entry<u64>]) -> String {
    let pairs: Vec<(&str, u64)> = table.iter().map(|e| (e.name, e.value)).collect();
    names(bits, &pairs)
}

/// A human description of one record's payload.
fn describe(ty: u16, p: &[u8]) -> String {
    let strings = |p: &[u8]| {
        p.split_inclusive(|&b| b == 0)
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ")
    };
    match ty {
        record::ARGS | record::ENV => strings(p),
        record::EXEC_PATH
        | record::WORK_DIR
        | record::PIVOT_ROOT
        | record::HOST_NAME
        | record::DOMAIN_NAME
        | record::CGROUP_PATH
        | record::LOCK_FILE => quote(p),
        record::EXEC_FD
        | record::STATUS_FD
        | record::CGROUP_FD
        | record::INFO_FD
        | record::JSON_STATUS_FD
        | record::SYNC_FD
        | record::BLOCK_FD
        | record::USERNS_BLOCK_FD
            if p.len() == 4 =>
        {
            format!("fd {}", u32_at(p, 0))
        }
        record::LANDLOCK if p.len() == layout::LANDLOCK_LEN => {
            let flags = u32_at(p, 24);
            format!(
                "handled fs 0x{:x} ({}), handled net 0x{:x} ({}), scopes 0x{:x} ({}), flags 0x{flags:x} ({})",
                u64_at(p, 0),
                table_names(u64_at(p, 0), landlock_fs::ALL),
                u64_at(p, 8),
                table_names(u64_at(p, 8), landlock_net::ALL),
                u64_at(p, 16),
                table_names(u64_at(p, 16), landlock_scope::ALL),
                names(flags.into(), &[("exact", layout::landlock::EXACT.into())]),
            )
        }
        record::LANDLOCK_PATH if p.len() > 8 => {
            let access = u64_at(p, 0);
            format!(
                "access 0x{access:x} ({}), path {}",
                table_names(access, landlock_fs::ALL),
                quote(&p[8..])
            )
        }
        record::LANDLOCK_PORT if p.len() == layout::LANDLOCK_PORT_LEN => {
            let access = u64_at(p, 0);
            format!(
                "access 0x{access:x} ({}), port {}",
                table_names(access, landlock_net::ALL),
                u64_at(p, 8)
            )
        }
        record::JOIN_NS if p.len() == layout::JOIN_NS_LEN => {
            let fds: Vec<String> = ["user", "pid", "user2"]
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{n} {}", u32_at(p, 4 * i) as i32))
                .collect();
            format!("fds {}", fds.join(", "))
        }
        record::CAPS if p.len() == layout::CAPS_LEN => {
            let kept = u64_at(p, 0);
            let flags = u32_at(p, 8);
            let caps: Vec<String> = (0..64)
                .filter(|c| kept & 1 << c != 0)
                .map(|c: u32| c.to_string())
                .collect();
            format!(
                "kept 0x{kept:x} (capabilities [{}]), flags 0x{flags:x} ({})",
                caps.join(", "),
                names(flags.into(), &[("leave_sets", caps::LEAVE_SETS.into())]),
            )
        }
        record::RLIMIT if p.len() == layout::RLIMIT_LEN => {
            let r = u32_at(p, 0);
            let name = RLIMIT_NAMES.get(r as usize).copied().unwrap_or("?");
            format!(
                "resource {r} ({name}), cur {}, max {}",
                u64_at(p, 4),
                u64_at(p, 12)
            )
        }
        record::FILES => {
            let fds: Vec<String> = p
                .chunks(4)
                .map(|c| {
                    if c.len() == 4 {
                        (u32_at(c, 0) as i32).to_string()
                    } else {
                        "?".into()
                    }
                })
                .collect();
            format!("target fds 0.. = [{}]", fds.join(", "))
        }
        record::SECCOMP => {
            let insns: Vec<String> = p
                .chunks(8)
                .map(|c| {
                    if c.len() == 8 {
                        format!(
                            "{{code 0x{:02x}, jt {}, jf {}, k 0x{:x}}}",
                            u16_at(c, 0),
                            c[2],
                            c[3],
                            u32_at(c, 4)
                        )
                    } else {
                        "?".into()
                    }
                })
                .collect();
            format!("{} instructions: {}", insns.len(), insns.join(" "))
        }
        record::CLONE_FLAGS | record::OPTIONS if p.len() == 8 => {
            let v = u64_at(p, 0);
            let table: Vec<(&str, u64)> = if ty == record::OPTIONS {
                let mut t = OPTION_NAMES.to_vec();
                t.push(("no_setsid", opt::NO_SETSID));
                t
            } else {
                CLONE_FLAG_NAMES.to_vec()
            };
            format!("0x{v:x} ({})", names(v, &table))
        }
        record::MOUNT if p.len() >= layout::MOUNT_FIXED_LEN => {
            let flags = u64_at(p, 0);
            let o = u32_at(p, 8);
            let opts = names(
                o.into(),
                &[
                    ("mkdir", mount_opt::MKDIR.into()),
                    ("file", mount_opt::FILE.into()),
                ],
            );
            let strs: Vec<String> = p[layout::MOUNT_FIXED_LEN..]
                .split_inclusive(|&b| b == 0)
                .map(quote)
                .collect();
            let label = ["source", "target", "fstype", "data"];
            let strs: Vec<String> = strs
                .iter()
                .enumerate()
                .map(|(i, q)| format!("{} {q}", label.get(i).unwrap_or(&"extra")))
                .collect();
            format!(
                "flags 0x{flags:x} ({}), options 0x{o:x} ({opts}), {}",
                names(flags, &MOUNT_FLAG_NAMES),
                strs.join(", ")
            )
        }
        record::MOUNT_OP if p.len() >= layout::MOUNT_OP_FIXED_LEN => {
            let kind = u16_at(p, 0);
            let flags = u16_at(p, 2);
            let fd = u32_at(p, 16) as i32;
            let mut rest = p[layout::MOUNT_OP_FIXED_LEN..].split_inclusive(|&b| b == 0);
            let source = rest.next().map_or("(missing)".into(), quote);
            let target = rest.next().map_or("(missing)".into(), quote);
            let strings = layout::MOUNT_OP_FIXED_LEN
                + p[layout::MOUNT_OP_FIXED_LEN..]
                    .iter()
                    .enumerate()
                    .filter(|(_, &b)| b == 0)
                    .nth(1)
                    .map_or(p.len() - layout::MOUNT_OP_FIXED_LEN, |(i, _)| i + 1);
            let content = &p[strings.min(p.len())..];
            let content = if content.is_empty() {
                String::new()
            } else {
                format!(", content ({} bytes) {}", content.len(), quote(content))
            };
            format!(
                "kind {kind} ({}), flags 0x{flags:x} ({}), mode 0o{:04o}, size {}, fd {fd}, \
                 source {source}, target {target}{content}",
                mount_kind::name(kind),
                names(
                    flags.into(),
                    &[
                        ("optional", mount_op::OPTIONAL.into()),
                        ("readonly", mount_op::READONLY.into()),
                        ("dev", mount_op::DEV.into()),
                        ("cover", mount_op::COVER.into()),
                    ],
                ),
                u32_at(p, 4),
                u64_at(p, 8),
            )
        }
        record::UID_MAP | record::GID_MAP => {
            let e: Vec<String> = p
                .chunks(12)
                .map(|c| {
                    if c.len() == 12 {
                        format!(
                            "{{container {}, host {}, size {}}}",
                            u32_at(c, 0),
                            u32_at(c, 4),
                            u32_at(c, 8)
                        )
                    } else {
                        "?".into()
                    }
                })
                .collect();
            e.join(" ")
        }
        record::CREDENTIAL if p.len() >= layout::CREDENTIAL_FIXED_LEN => {
            let groups: Vec<String> = p[12..]
                .chunks(4)
                .map(|c| {
                    if c.len() == 4 {
                        u32_at(c, 0).to_string()
                    } else {
                        "?".into()
                    }
                })
                .collect();
            let flags = u32_at(p, 8);
            format!(
                "uid {}, gid {}, flags 0x{flags:x} ({}), groups [{}]",
                u32_at(p, 0),
                u32_at(p, 4),
                names(flags.into(), &[("no_set_groups", 1)]),
                groups.join(", ")
            )
        }
        _ if !record::known(ty) => "(unknown type)".into(),
        _ => "(malformed)".into(),
    }
}

/// Payload bytes, at most 32 to a line.
fn payload_lines(out: &mut String, p: &[u8]) {
    for chunk in p.chunks(32) {
        writeln!(out, "{}", hex(chunk)).unwrap();
    }
}

fn annotate(out: &mut String, b: &[u8]) {
    if b.len() < HEADER_LEN {
        writeln!(out, "# header, cut short after {} bytes", b.len()).unwrap();
        writeln!(out, "{}", hex(b)).unwrap();
        return;
    }
    writeln!(
        out,
        "# header: magic {}, version {}, header flags {}, total length {}",
        quote(&b[..4]),
        u16_at(b, 4),
        u16_at(b, 6),
        u32_at(b, 8)
    )
    .unwrap();
    writeln!(
        out,
        "{} {} {} {}",
        hex(&b[..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..12])
    )
    .unwrap();
    let mut at = HEADER_LEN;
    while at < b.len() {
        let rest = &b[at..];
        if rest.len() < layout::RECORD_HEADER_LEN {
            writeln!(out, "# @{at}: {} stray bytes", rest.len()).unwrap();
            writeln!(out, "{}", hex(rest)).unwrap();
            return;
        }
        let (ty, fl, len) = (u16_at(rest, 0), u16_at(rest, 2), u32_at(rest, 4) as usize);
        let avail = rest.len() - layout::RECORD_HEADER_LEN;
        let p = &rest[layout::RECORD_HEADER_LEN..layout::RECORD_HEADER_LEN + len.min(avail)];
        let name = record::name(ty).to_uppercase();
        let short = if len > avail {
            format!(" (only {avail} present)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "# @{at}: {name} (type {ty}), record flags {fl}, payload {len} bytes{short}: {}",
            describe(ty, p)
        )
        .unwrap();
        writeln!(
            out,
            "{} {} {}",
            hex(&rest[..2]),
            hex(&rest[2..4]),
            hex(&rest[4..8])
        )
        .unwrap();
        payload_lines(out, p);
        at += layout::RECORD_HEADER_LEN + p.len();
    }
}

fn render(def: &Def) -> String {
    let bytes = def.bytes();
    let mut out = String::new();
    writeln!(out, "# forkexec spec v1 test vector: {}", def.name).unwrap();
    for line in def.about {
        writeln!(out, "# {line}").unwrap();
    }
    writeln!(out, "#").unwrap();
    match def.expect {
        None => writeln!(out, "# expect: ok").unwrap(),
        Some((fault, offset)) => {
            writeln!(out, "# expect: error").unwrap();
            writeln!(out, "# fault: {} {fault:?}", fault as u32).unwrap();
            writeln!(out, "# offset: {offset}").unwrap();
            writeln!(out, "# errno: {}", fault.errno()).unwrap();
        }
    }
    if let Some(json) = def.json {
        writeln!(out, "# json: {json}").unwrap();
        let canonical = matches!(def.bytes, Bytes::Canonical);
        writeln!(out, "# canonical: {}", if canonical { "yes" } else { "no" }).unwrap();
    }
    writeln!(out, "# build: {}", def.build_line()).unwrap();
    writeln!(out, "# length: {}", bytes.len()).unwrap();
    writeln!(out, "#").unwrap();
    annotate(&mut out, &bytes);
    out
}

/// The committed vectors; `FORKEXEC_VECTORS_DIR` points elsewhere when the checkout is not
/// readable (the unprivileged test run copies them).
fn vectors_dir() -> PathBuf {
    match std::env::var_os("FORKEXEC_VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors"),
    }
}

// ---------------------------------------------------------------------------------------------
// reading a vector file, as any client would

const KEYS: [&str; 8] = [
    "expect",
    "fault",
    "offset",
    "errno",
    "json",
    "canonical",
    "build",
    "length",
];

struct VectorFile {
    meta: BTreeMap<String, String>,
    bytes: Vec<u8>,
}

fn read_vector(text: &str) -> VectorFile {
    let mut meta = BTreeMap::new();
    let mut hex_digits = String::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((key, value)) = comment.strip_prefix(' ').and_then(|c| c.split_once(": ")) {
                if KEYS.contains(&key) {
                    assert!(
                        meta.insert(key.to_string(), value.to_string()).is_none(),
                        "duplicate key {key}"
                    );
                }
            }
            continue;
        }
        for c in line.chars().filter(|c| !c.is_whitespace()) {
            assert!(
                c.is_ascii_digit() || ('a'..='f').contains(&c),
                "not lowercase hex: {c:?}"
            );
            hex_digits.push(c);
        }
    }
    assert_eq!(hex_digits.len() % 2, 0, "odd number of hex digits");
    let bytes = (0..hex_digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_digits[i..i + 2], 16).unwrap())
        .collect();
    VectorFile { meta, bytes }
}

// ---------------------------------------------------------------------------------------------
// tests

#[test]
fn committed_files_match_their_definitions() {
    let dir = vectors_dir();
    let bless = std::env::var_os("FORKEXEC_BLESS_VECTORS").is_some();
    let mut stale = Vec::new();
    for def in defs() {
        let path = dir.join(format!("{}.hex", def.name));
        let text = render(&def);
        if bless {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "vector files differ from their definitions (re-run with FORKEXEC_BLESS_VECTORS=1 \
         after a deliberate change): {stale:?}"
    );
}

#[test]
fn every_committed_vector_checks_out() {
    if std::env::var_os("FORKEXEC_BLESS_VECTORS").is_some() {
        return; // the files are being rewritten by the other test right now
    }
    let defs = defs();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("hex") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let v = read_vector(&std::fs::read_to_string(&path).unwrap());
        let ctx = &name;
        assert_eq!(
            v.meta["length"].parse::<usize>().unwrap(),
            v.bytes.len(),
            "{ctx}"
        );
        // The build line, replayed as any client would (the Python client does it with its
        // own encoder: clients/python/tests/test_vectors.py).
        let json_line = v.meta.get("json").map(String::as_str);
        assert_eq!(
            build_steps(&v.meta["build"], json_line),
            v.bytes,
            "{ctx}: build"
        );
        let json = v
            .meta
            .get("json")
            .map(|j| owned_from_json(&Parser::parse(j)));
        if let Some(json) = &json {
            match v.meta["canonical"].as_str() {
                "yes" => assert_eq!(json.encode(), v.bytes, "{ctx}: canonical encoding"),
                "no" => {}
                other => panic!("{ctx}: canonical: {other}"),
            }
        }
        match v.meta["expect"].as_str() {
            "ok" => {
                let spec = decode(&v.bytes).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let json = json.as_ref().expect("a valid vector has a json line");
                assert_eq!(&Owned::of(&spec), json, "{ctx}: decoded fields");
            }
            "error" => {
                let (num, fault_name) = v.meta["fault"].split_once(' ').unwrap();
                let fault = Fault::from_u32(num.parse().unwrap()).unwrap();
                assert_eq!(format!("{fault:?}"), fault_name, "{ctx}");
                assert_eq!(
                    v.meta["errno"].parse::<i32>().unwrap(),
                    fault.errno(),
                    "{ctx}"
                );
                let offset: u32 = v.meta["offset"].parse().unwrap();
                assert_eq!(
                    decode(&v.bytes).map(|s| Owned::of(&s)),
                    Err(SpecError { offset, fault }),
                    "{ctx}"
                );
            }
            other => panic!("{ctx}: expect: {other}"),
        }
        names.push(name);
    }
    names.sort();
    let mut expected: Vec<String> = defs.iter().map(|d| d.name.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "vector files on disk vs definitions");
}

/// Every record type of the table is in at least one valid vector, so every client's encoder is
/// checked on it: a new record type fails here until it has one.
#[test]
fn every_record_type_is_in_a_valid_vector() {
    let mut seen = std::collections::BTreeSet::new();
    for def in defs().iter().filter(|d| d.expect.is_none()) {
        let b = def.bytes();
        let mut at = HEADER_LEN;
        while at + layout::RECORD_HEADER_LEN <= b.len() {
            seen.insert(u16_at(&b, at));
            at += layout::RECORD_HEADER_LEN + u32_at(&b, at + 4) as usize;
        }
    }
    let missing: Vec<&str> = record::ALL
        .iter()
        .filter(|e| !seen.contains(&e.value))
        .map(|e| e.name)
        .collect();
    assert!(
        missing.is_empty(),
        "record types in no valid vector: {missing:?}"
    );
}

#[test]
fn readme_lists_every_vector() {
    let readme = std::fs::read_to_string(vectors_dir().join("README.md")).unwrap();
    for def in defs() {
        assert!(
            readme.contains(&format!("`{}.hex`", def.name)),
            "README.md does not mention {}.hex",
            def.name
        );
    }
}

#[test]
fn minimal_vector_is_the_documented_bytes() {
    // The worked example in docs/spec.md.
    let expected = "46585350 0100 0000 1e000000 0100 0000 0a000000 2f62696e2f7472756500";
    assert_eq!(hex(&minimal_bytes()), expected.replace(' ', ""));
}

#[test]
fn json_reader_and_names() {
    let j = Parser::parse(r#" { "a" : [1, -2, "x\"\u0041"], "b": null, "c": true } "#);
    assert_eq!(
        j,
        Json::Obj(vec![
            (
                "a".into(),
                Json::Arr(vec![Json::Num(1), Json::Num(-2), Json::Str("x\"A".into())])
            ),
            ("b".into(), Json::Null),
            ("c".into(), Json::Bool(true)),
        ])
    );
    // setsid defaults to true; false sets NO_SETSID.
    let o = owned_from_json(&Parser::parse(
        r#"{"args":["x"],"setsid":false,"ctty":false}"#,
    ));
    assert_eq!(o.options, opt::NO_SETSID);
    let o = owned_from_json(&Parser::parse(r#"{"args":["x"],"setsid":true}"#));
    assert_eq!(o.options, 0);
    // A mount's mkdir defaults to true; make_nod is an alias of file.
    let o = owned_from_json(&Parser::parse(
        r#"{"args":["x"],"mounts":[{"source":"a","target":"b"},{"source":"a","target":"b","mkdir":false,"make_nod":true}]}"#,
    ));
    let raw = |e: &OwnedMountEntry| match e {
        OwnedMountEntry::Raw(m) => m.options,
        OwnedMountEntry::Op(op) => panic!("not a raw mount: {op:?}"),
    };
    assert_eq!(raw(&o.mounts[0]), mount_opt::MKDIR);
    assert_eq!(raw(&o.mounts[1]), mount_opt::FILE);
    assert_eq!(
        CLONE_FLAG_NAMES.iter().fold(0, |a, (_, b)| a | b),
        ns::KNOWN
    );
    assert_eq!(
        OPTION_NAMES.iter().fold(opt::NO_SETSID, |a, (_, b)| a | b),
        opt::KNOWN
    );
}

/// The mount operations of a JSON spec's `mounts`.
fn ops_of(json: &str) -> Vec<OwnedMountOp> {
    owned_from_json(&Parser::parse(json))
        .mounts
        .into_iter()
        .map(|e| match e {
            OwnedMountEntry::Op(op) => op,
            OwnedMountEntry::Raw(m) => panic!("not an op: {m:?}"),
        })
        .collect()
}

#[test]
fn json_reader_of_mount_ops() {
    use mount_kind as k;
    // Default modes: tmpfs and dir 0755, file 0644, the others 0; booleans default false.
    let ops = ops_of(concat!(
        r#"{"args":["x"],"mounts":[{"type":"tmpfs","target":"/t"},{"type":"dir","target":"/d"},"#,
        r#"{"type":"file","target":"/f"},{"type":"proc","target":"/p"},"#,
        r#"{"type":"bind","source":"/s","target":"/b","readonly":false,"dev":false,"optional":false}]}"#
    ));
    let modes: Vec<_> = ops.iter().map(|o| (o.kind, o.mode, o.flags)).collect();
    assert_eq!(
        modes,
        [
            (k::TMPFS, 0o755, 0),
            (k::DIR, 0o755, 0),
            (k::FILE, 0o644, 0),
            (k::PROC, 0, 0),
            (k::BIND, 0, 0)
        ]
    );
    // Modes as octal strings or integers; sizes as integers or with k/m/g.
    let ops = ops_of(concat!(
        r#"{"args":["x"],"mounts":[{"type":"tmpfs","target":"/a","mode":"1777","size":"64m"},"#,
        r#"{"type":"tmpfs","target":"/b","mode":"0755","size":"2k"},"#,
        r#"{"type":"tmpfs","target":"/c","mode":"700","size":"1g"},"#,
        r#"{"type":"tmpfs","target":"/d","mode":493,"size":12345}]}"#
    ));
    let got: Vec<_> = ops.iter().map(|o| (o.mode, o.size)).collect();
    assert_eq!(
        got,
        [
            (0o1777, 64 << 20),
            (0o755, 2048),
            (0o700, 1 << 30),
            (0o755, 12345)
        ]
    );
    // Every key: fds, flags, content.
    let ops = ops_of(concat!(
        r#"{"args":["x"],"mounts":[{"type":"bind","source_fd":5,"target":"/b","readonly":true,"dev":true,"optional":true},"#,
        r#"{"type":"file","target":"/f","content_fd":7},"#,
        r#"{"type":"file","target":"/g","content":"a\nb"},"#,
        r#"{"type":"symlink","source":"usr/bin","target":"/bin"},"#,
        r#"{"type":"mask","target":"/m","optional":true},"#,
        r#"{"type":"remount_ro","target":"/r"},{"type":"dev","target":"/dev"},{"type":"mqueue","target":"/q"}]}"#
    ));
    assert_eq!(ops[0].fd, Some(5));
    assert_eq!(
        ops[0].flags,
        mount_op::READONLY | mount_op::DEV | mount_op::OPTIONAL
    );
    assert_eq!((ops[1].fd, ops[1].mode), (Some(7), 0o644));
    assert_eq!(ops[2].content, b"a\nb");
    assert_eq!(ops[3].source, b"usr/bin");
    assert_eq!(ops[4].flags, mount_op::OPTIONAL);
    let kinds: Vec<_> = ops.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        [
            k::BIND,
            k::FILE,
            k::FILE,
            k::SYMLINK,
            k::MASK,
            k::REMOUNT_RO,
            k::DEV,
            k::MQUEUE
        ]
    );
    // Refused: unknown keys and types, keys the type does not take, both of a pair, bad modes.
    for bad in [
        r#"{"type":"bind","source":"/s","target":"/b","mode":"0755"}"#,
        r#"{"type":"bind","source":"/s","source_fd":3,"target":"/b"}"#,
        r#"{"type":"file","target":"/f","content":"x","content_fd":3}"#,
        r#"{"type":"proc","target":"/p","readonly":true}"#,
        r#"{"type":"dir","target":"/d","size":1}"#,
        r#"{"type":"tmpfs","target":"/t","fstype":"tmpfs"}"#,
        r#"{"type":"tmpfs","target":"/t","mode":"10000"}"#,
        r#"{"type":"tmpfs","target":"/t","mode":"0x1ff"}"#,
        r#"{"type":"tmpfs","target":"/t","size":"64x"}"#,
        r#"{"type":"overlayfs","target":"/o"}"#,
        r#"{"type":"tmp_overlay","target":"/o","upper":"/u"}"#,
    ] {
        let json = format!(r#"{{"args":["x"],"mounts":[{bad}]}}"#);
        let result = std::panic::catch_unwind(|| owned_from_json(&Parser::parse(&json)));
        assert!(result.is_err(), "accepted {bad}");
    }
    // writable_root is an option bit.
    let o = owned_from_json(&Parser::parse(r#"{"args":["x"],"writable_root":true}"#));
    assert_eq!(o.options, opt::WRITABLE_ROOT);
}
