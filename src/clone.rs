//! The clone shapes (docs/spec.md, "Process shapes"): the helper clones the target into its
//! namespaces, reports the pid, writes its id maps from outside (any map the helper's own
//! privilege allows), and lets it go on with one byte on a private handshake socket. Then the
//! helper supervises it, or (detach) exits, leaving it the runtime's child; with init, the
//! clone is pid 1 of the new pid namespace and runs the target as pid 2.
//!
//! The handshake socket also tells the supervisor how setup ended: a byte from the target's
//! side means it failed (its error record is already on the status fd); EOF means it executed
//! (the socket is close-on-exec).

use forkexec_spec::layout::{ns, opt};
use forkexec_spec::status::Record;
use forkexec_spec::{Location, Shape, Spec};

use core::convert::Infallible;

use crate::rt::Static;
use crate::{
    block, cgroup, dumpable, info, init, lifeline, report, supervise, sys, At, Channel, Failure,
};

const CLONE_PARENT: u64 = linux_raw_sys::general::CLONE_PARENT as u64;
const SIG_BLOCK: u32 = linux_raw_sys::general::SIG_BLOCK;
const SIG_SETMASK: u32 = linux_raw_sys::general::SIG_SETMASK;

/// What the target's side goes on with after the clone: the rest of the chain (`run` in
/// main.rs), which returns only with a failure.
pub type Then = fn(&'static Spec<'static>, &mut Channel) -> Result<Infallible, Failure>;

/// Clones the target. Returns only in the helper, with a failure before the clone; the clone
/// goes on with `then` (with init, in pid 2), the helper's side supervises or exits.
pub fn into_namespaces(
    spec: &'static Spec<'static>,
    shape: Shape,
    chan: &mut Channel,
    then: Then,
) -> Result<Infallible, Failure> {
    let mut flags = spec.clone_flags;
    if shape == Shape::Detach {
        flags |= CLONE_PARENT;
    }
    let cgroup = cgroup::open_dir(spec)?;
    let [ours, theirs] = sys::socketpair().at_index(Location::Supervise, 2)?;
    // Init reports the target's own end (a signal, which pid 1 cannot mirror) through here.
    let [report_read, report_write] = match shape {
        Shape::Init => sys::pipe().at_index(Location::Supervise, 2)?,
        _ => [-1, -1],
    };
    // Signals wait in the queue until the supervisor's signalfd reads them; the target
    // restores the mask before it runs anything.
    let old_mask = sys::sigprocmask(SIG_BLOCK, supervise::CATCHABLE).at(Location::Supervise)?;
    let helper = sys::getpid();
    // The clone is born dumpable when the helper has to write its id maps: the /proc/PID/
    // files of a non-dumpable process belong to root. Both sides are non-dumpable again as
    // soon as the maps are written.
    let maps = spec.clone_flags & ns::NEWUSER != 0;
    if maps {
        dumpable::on_for_maps()?;
    }
    let side = TargetSide {
        spec,
        shape,
        chan: *chan,
        ours,
        theirs,
        report_read,
        report_write,
        old_mask,
        helper,
        maps,
        then,
    };
    // Without init, the clone executes the target soon: it shares the helper's address space
    // until then (`sys::clone_vm`), on a stack of its own. Init lives on next to the
    // supervisor: it gets a copy.
    let shared = shape != Shape::Init;
    let pid = if shared {
        *SIDE.get() = Some(side);
        sys::clone_vm(flags, cgroup, CLONE_STACK.get(), shared_entry, 0)
    } else {
        sys::clone(flags, cgroup)
    };
    let pid = pid.at(Location::Clone)?;
    if pid == 0 {
        target_side(side, false);
    }
    let _ = sys::close(theirs);
    if report_write >= 0 {
        let _ = sys::close(report_write);
    }
    after_clone(spec, shape, chan, pid, ours, report_read, shared)
}

/// What the clone needs to go on: a copy, so that nothing it changes (its channel's fds) is
/// seen by the helper's side.
#[derive(Clone, Copy)]
struct TargetSide {
    spec: &'static Spec<'static>,
    shape: Shape,
    chan: Channel,
    ours: i32,
    theirs: i32,
    report_read: i32,
    report_write: i32,
    old_mask: sys::SigSet,
    helper: i32,
    maps: bool,
    then: Then,
}

/// Written by the helper just before a `clone_vm`, taken by the clone at its start (a copy on
/// its own stack), then touched by nobody.
static SIDE: Static<Option<TargetSide>> = Static::new(None);

/// The stack of a clone that shares the helper's address space.
static CLONE_STACK: Static<sys::CloneStack> =
    Static::new(sys::CloneStack([0; sys::CLONE_STACK_LEN]));

/// Where a clone that shares the address space starts, on its own stack.
extern "C" fn shared_entry(_: usize) -> ! {
    match *SIDE.get() {
        Some(side) => target_side(side, true),
        None => sys::exit_group(crate::status_exit::SETUP_FAILED), // never: written first
    }
}

/// The clone: the target, or init (whose pid 2 is the target). `shared`: the address space
/// is the helper's, and so is the dumpable flag (the helper clears it once the maps are
/// written).
fn target_side(side: TargetSide, shared: bool) -> ! {
    let mut chan = side.chan;
    let failure = match target_setup(&side, shared, &mut chan) {
        Err(failure) => failure,
        Ok(()) => match (side.then)(side.spec, &mut chan) {
            Err(failure) => failure,
        },
    };
    report::fail(&chan, failure)
}

fn target_setup(side: &TargetSide, shared: bool, chan: &mut Channel) -> Result<(), Failure> {
    let (spec, shape, theirs) = (side.spec, side.shape, side.theirs);
    let _ = sys::close(side.ours);
    if side.report_read >= 0 {
        let _ = sys::close(side.report_read);
    }
    chan.handshake = Some(theirs);
    chan.parent = expected_parent(spec, shape, chan, side.helper);
    if shape != Shape::Init {
        sys::sigprocmask(SIG_SETMASK, side.old_mask).at(Location::Supervise)?;
    }
    lifeline::arm(spec, chan, 1)?;
    if let Err(e) = await_go(theirs) {
        // The helper is gone: nobody to tell (a write to its closed end would be SIGPIPE).
        chan.handshake = None;
        return Err(e).at(Location::UnshareUserRead);
    }
    if side.maps {
        if !shared {
            dumpable::off_after_maps()?;
        }
        crate::ns::limit_user_namespaces(spec)?;
    }
    if shape == Shape::Detach {
        // The helper has exited: nobody to tell about a failure (and a write to the closed
        // socket would be SIGPIPE rather than the exit code a failure has in place).
        let _ = sys::close(theirs);
        chan.handshake = None;
    }
    if shape == Shape::Init {
        init::run(spec, chan, side.old_mask, side.report_write)?;
    }
    Ok(())
}

/// Who the clone's parent is, when `getppid` can tell: a process in a new (or joined) pid
/// namespace sees its parent as 0 (then the handshake's EOF tells instead that the helper is
/// gone).
fn expected_parent(spec: &Spec, shape: Shape, chan: &Channel, helper: i32) -> Option<i32> {
    if spec.clone_flags & ns::NEWPID != 0 || spec.join_ns.is_some_and(|j| j.pid.is_some()) {
        return Some(0);
    }
    match shape {
        Shape::Detach => chan.parent,
        _ => Some(helper),
    }
}

/// The go byte: the id maps are written and the pid reported. EOF: the helper is gone.
fn await_go(fd: i32) -> sys::Result<()> {
    let mut byte = [0u8; 1];
    loop {
        return match sys::read(fd, &mut byte) {
            Err(sys::EINTR) => continue,
            Err(e) => Err(e),
            Ok(0) => Err(sys::EPIPE),
            Ok(_) => Ok(()),
        };
    }
}

/// The helper's side: the pid record, id maps, the go byte; then detach or supervise.
fn after_clone(
    spec: &Spec,
    shape: Shape,
    chan: &Channel,
    pid: i32,
    ours: i32,
    report: i32,
    shared: bool,
) -> ! {
    let maps = spec.clone_flags & ns::NEWUSER != 0;
    let released = (|| {
        if maps && !shared {
            dumpable::off_after_maps()?; // the helper's own side; the clone's stays on
        }
        // The pid first: a detached clone is the runtime's own child (this helper's sibling),
        // so the runtime must know whom to reap when writing the maps fails. A runtime that
        // reads only the end (ONLY_END_RECORDS) gets none from a supervisor.
        if shape == Shape::Detach || !spec.has(opt::ONLY_END_RECORDS) {
            let record = Record::Pid { pid: pid as u32 };
            report::send_record(chan, &record).at_index(Location::Supervise, 2)?;
        }
        // With USERNS_BLOCK_FD another process writes the maps (setgroups included).
        if spec.clone_flags & ns::NEWUSER != 0 && spec.userns_block_fd.is_none() {
            crate::ns::write_id_maps(spec, Some(pid))?;
        }
        info::report_start(spec, Some(pid))?; // bubblewrap's info and JSON status
        block::wait(spec.userns_block_fd, 1)?;
        if maps && shared {
            dumpable::off_after_maps()?; // one flag for both sides: the maps are written
        }
        sys::write(ours, &[0]).at_index(Location::Supervise, 2)?;
        Ok(())
    })();
    if let Err(failure) = released {
        supervise::kill_and_reap(pid);
        report::fail(chan, failure);
    }
    if shape == Shape::Detach {
        // The target is the runtime's child now; it reports on the status fd itself.
        sys::exit_group(0);
    }
    // The supervisor keeps no copy of the runtime's other fds (the target's stdio, pipes…).
    let json_status = spec.json_status_fd.map_or(-1, |fd| fd as i32);
    sys::close_all_except(&[chan.status, ours, report, json_status]);
    supervise::run(chan, pid, ours, (report >= 0).then_some(report))
}
