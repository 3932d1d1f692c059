//! A pool of reusable per-run cgroups (as go-judge keeps one): taking one back costs a kill
//! check and a few counter resets instead of creating and removing directories.

use std::sync::Mutex;

use super::{Cgroup, CgroupError, Layout, Limits};

/// Cgroups under one parent, reused from run to run. Dropping the pool removes them.
#[derive(Debug)]
pub struct Pool {
    layout: Layout,
    parent: String,
    free: Mutex<Vec<Cgroup>>,
    /// How many emptied cgroups are kept.
    keep: usize,
}

impl Pool {
    /// A pool making its cgroups under `parent` (see [`Cgroup::create`]), keeping at most
    /// `keep` of them between runs.
    pub fn new(layout: Layout, parent: impl Into<String>, keep: usize) -> Pool {
        Pool {
            layout,
            parent: parent.into(),
            free: Mutex::new(Vec::new()),
            keep,
        }
    }

    /// A cgroup with `limits`: a kept one when there is one, else a new one.
    pub fn get(&self, limits: &Limits) -> Result<Cgroup, CgroupError> {
        let kept = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(mut cg) = kept {
            // A pooled cgroup needs the CPU controller only if made with a quota; one
            // without it cannot take a quota.
            if limits.cpu_quota.is_none() || cg.dir_of(super::CPU).is_some() {
                cg.set_limits(limits)?;
                cg.reset();
                return Ok(cg);
            }
        }
        Cgroup::create(&self.layout, &self.parent, limits)
    }

    /// Takes a cgroup back after its run: emptied (killed) first; one that cannot be emptied
    /// or is not needed is removed.
    pub fn put(&self, cg: Cgroup) {
        if cg.kill().is_err() {
            return; // dropped: removal is tried again there
        }
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.keep {
            free.push(cg);
        }
    }

    /// How many cgroups are waiting for reuse.
    pub fn idle(&self) -> usize {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
