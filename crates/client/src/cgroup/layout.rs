//! Which cgroup hierarchies this machine has: the layout (v1, v2 or hybrid) and where each
//! controller is mounted, read from `/proc/self/mountinfo`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The controllers a judge run uses.
pub const MEMORY: &str = "memory";
/// The pids controller (the process limit).
pub const PIDS: &str = "pids";
/// The cpu controller (the CPU quota; CPU time on v2).
pub const CPU: &str = "cpu";
/// The v1 cpuacct controller (CPU time on v1).
pub const CPUACCT: &str = "cpuacct";
/// The v1 freezer controller (killing everything at once on v1).
pub const FREEZER: &str = "freezer";

/// How the machine's cgroups are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only v1 hierarchies (one per controller or co-mounted), no cgroup2 mount.
    V1,
    /// One cgroup2 tree with the controllers.
    V2,
    /// v1 hierarchies for the controllers and a cgroup2 tree as well (systemd's "hybrid":
    /// the v2 tree usually has no controller but is still used for placement, `cgroup.kill`
    /// and `cgroup.events`).
    Hybrid,
}

impl Kind {
    /// `v1`, `v2` or `hybrid`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::V1 => "v1",
            Kind::V2 => "v2",
            Kind::Hybrid => "hybrid",
        }
    }
}

/// The cgroup mounts: each v1 controller's hierarchy, and the cgroup2 tree with its
/// controllers (those of its root's `cgroup.controllers`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// v1 controller name -> mount point (co-mounted controllers share one).
    pub v1: BTreeMap<String, PathBuf>,
    /// The cgroup2 mount point, if any.
    pub v2: Option<PathBuf>,
    /// Controllers available in the v2 tree.
    pub v2_controllers: Vec<String>,
}

impl Layout {
    /// This machine's layout.
    pub fn detect() -> io::Result<Layout> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
        let mut layout = Layout::from_mountinfo(&mountinfo);
        if let Some(root) = &layout.v2 {
            layout.v2_controllers = fs::read_to_string(root.join("cgroup.controllers"))
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default();
        }
        Ok(layout)
    }

    /// The mounts named in a `/proc/self/mountinfo` text (v2 controllers left empty).
    pub fn from_mountinfo(text: &str) -> Layout {
        let mut layout = Layout::default();
        for line in text.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let fields: Vec<&str> = left.split(' ').collect();
            let rfields: Vec<&str> = right.split(' ').collect();
            let (Some(mount_point), Some(fstype)) = (fields.get(4), rfields.first()) else {
                continue;
            };
            let mount_point = PathBuf::from(unescape(mount_point));
            match *fstype {
                "cgroup2" => {
                    layout.v2.get_or_insert(mount_point);
                }
                "cgroup" => {
                    let options = rfields.get(2).copied().unwrap_or("");
                    for option in options.split(',') {
                        if [MEMORY, PIDS, CPU, CPUACCT, FREEZER].contains(&option) {
                            layout
                                .v1
                                .entry(option.to_owned())
                                .or_insert_with(|| mount_point.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        layout
    }

    /// v1 when the memory controller is a v1 hierarchy (with or without a cgroup2 mount:
    /// hybrid), v2 when the cgroup2 tree has it; `None` when neither has it.
    pub fn kind(&self) -> Option<Kind> {
        if self.v1.contains_key(MEMORY) {
            Some(if self.v2.is_some() {
                Kind::Hybrid
            } else {
                Kind::V1
            })
        } else if self.v2.is_some() && self.v2_has(MEMORY) {
            Some(Kind::V2)
        } else {
            None
        }
    }

    /// Whether the cgroup2 tree offers `controller`.
    pub fn v2_has(&self, controller: &str) -> bool {
        self.v2_controllers.iter().any(|c| c == controller)
    }

    /// The v1 mount of `controller`.
    pub fn v1_mount(&self, controller: &str) -> Option<&Path> {
        self.v1.get(controller).map(PathBuf::as_path)
    }

    /// `parent` (relative to each mount, as [`super::Cgroup::create`] takes it) in every
    /// hierarchy: where per-run cgroups under it are made, each directory once (co-mounted
    /// controllers share one).
    pub fn dirs_of(&self, parent: &str) -> Vec<PathBuf> {
        let parent = parent.trim_start_matches('/');
        let mut dirs: Vec<PathBuf> = self
            .v1
            .values()
            .chain(self.v2.as_ref())
            .map(|m| m.join(parent))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            Some(kind) => write!(f, "{}", kind.name())?,
            None => write!(f, "no memory controller")?,
        }
        for (c, p) in &self.v1 {
            write!(f, ", {c} (v1) at {}", p.display())?;
        }
        if let Some(v2) = &self.v2 {
            write!(
                f,
                ", cgroup2 at {} [{}]",
                v2.display(),
                self.v2_controllers.join(" ")
            )?;
        }
        Ok(())
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 30 0:23 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
28 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
29 25 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
30 25 0:28 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
31 25 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
32 25 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn layouts_are_told_apart() {
        let hybrid = Layout::from_mountinfo(HYBRID);
        assert_eq!(hybrid.kind(), Some(Kind::Hybrid));
        assert_eq!(hybrid.v1_mount(CPU), Some(Path::new("/sys/fs/cgroup/cpu")));
        assert_eq!(hybrid.v1_mount("systemd"), None);
        assert_eq!(
            hybrid.v2.as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified"))
        );

        let v1: String = HYBRID
            .lines()
            .filter(|l| !l.contains("cgroup2"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(Layout::from_mountinfo(&v1).kind(), Some(Kind::V1));

        let comounted =
            "40 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                         41 25 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let l = Layout::from_mountinfo(comounted);
        assert_eq!(l.v1_mount(CPU), l.v1_mount(CPUACCT));
        assert_eq!(l.kind(), Some(Kind::V1));

        let mut v2 = Layout::from_mountinfo(
            "50 1 0:33 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
        );
        assert_eq!(
            v2.kind(),
            None,
            "a cgroup2 tree without the memory controller"
        );
        v2.v2_controllers = vec!["cpu".into(), "memory".into(), "pids".into()];
        assert_eq!(v2.kind(), Some(Kind::V2));
        assert_eq!(v2.v2.as_deref(), Some(Path::new("/sys/fs/cgroup")));

        let escaped = Layout::from_mountinfo("1 1 0:1 / /a\\040b rw - cgroup2 cgroup2 rw\n");
        assert_eq!(escaped.v2.as_deref(), Some(Path::new("/a b")));
    }
}
