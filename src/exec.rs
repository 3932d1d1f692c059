//! execve: argv and envp as pointer arrays into the spec buffer (zero copy), the file by path
//! (`execve`) or by fd (`execveat` + `AT_EMPTY_PATH`), retried briefly on ETXTBSY as go-sandbox does.

use forkexec_helper_core::pointers;
use forkexec_spec::layout::limit;
use forkexec_spec::{Location, Spec};

use crate::rt::Static;
use crate::{sys, Channel, Failure};

/// argv's pointers, its NULL, then envp's right after them: a small argv and envp share one
/// page (one page fault, one page table), where two arrays put them 2 MiB apart.
static POINTERS: Static<[*const u8; limit::ARGS + 1 + limit::ENV + 1]> =
    Static::new([core::ptr::null(); limit::ARGS + 1 + limit::ENV + 1]);

/// ETXTBSY: another process still holds the file open for writing (e.g. a sibling that forked
/// while the file was being copied). Retry up to 50 times, 1 ms apart.
const ETXTBSY_RETRIES: usize = 50;

/// argv and envp of up to this many strings together go on the stack, on a page the chain
/// has touched already, instead of the static array's (one page fault less).
const ON_STACK: usize = 30;

/// Executes the target; returns only with the failure.
pub fn exec(spec: &Spec, chan: &Channel) -> Failure {
    let mut small = [core::ptr::null(); ON_STACK + 2];
    let all: &mut [*const u8] = if spec.args.len() + spec.env.len() <= ON_STACK {
        &mut small
    } else {
        POINTERS.get()
    };
    let argc = pointers(&spec.args, all);
    let (argv, envp) = all.split_at_mut(argc + 1);
    pointers(&spec.env, envp);
    let (argv, envp) = (argv.as_ptr(), envp.as_ptr());
    let empty_path = linux_raw_sys::general::AT_EMPTY_PATH;
    let mut attempt = 0;
    loop {
        let errno = match chan.exec_fd {
            Some(fd) => sys::execveat(fd, c"", argv, envp, empty_path),
            None => {
                let path = spec.exec_path.or(spec.args.first()).unwrap_or(c"");
                sys::execve(path, argv, envp)
            }
        };
        if errno != sys::ETXTBSY || attempt == ETXTBSY_RETRIES {
            return Failure::new(Location::Execve, errno, 0);
        }
        attempt += 1;
        sys::sleep_ms(1);
    }
}
