#!/usr/bin/env python3
"""forkexec Python client demo: a small sandbox, its exit status and rusage, and an error.

    make helper
    PYTHONPATH=clients/python python3 clients/python/examples/demo.py

Runs /bin/sh in new user, mount, UTS, IPC and pid namespaces, on a pivot_root onto a fresh
tmpfs with the host's /usr (and /bin, /lib, /lib64 where they exist) bound read-only, a new
/proc, a private /tmp, a host name and rlimits. The caller is mapped to root inside. Works as
root and as an ordinary user (no setuid anything: a user namespace). The helper is
$FORKEXEC_HELPER, or target/release/forkexec of this checkout, or `forkexec` on PATH.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from forkexec import ChildError, IdMap, Mount, Rlimit, Runner  # noqa: E402

SCRIPT = r"""
echo "== inside the forkexec sandbox"
echo "id:        $(id)"
echo "hostname:  $(uname -n)"
echo "pid:       $$ (of $(ls /proc | grep -c '^[0-9]') processes in this pid namespace)"
echo "uid_map:   $(tr -s ' ' < /proc/self/uid_map)"
echo "root (/):  $(ls / | tr '\n' ' ')"
printf 'write /usr: '; touch /usr/forkexec-demo 2>&1 | sed 's/.*: //'
printf 'write /tmp: '; echo ok > /tmp/x && cat /tmp/x
grep -E 'open files' /proc/self/limits
exit 3
"""


def main():
    root = tempfile.mkdtemp(prefix="forkexec-demo-")
    mounts = [Mount.bind(d, d, read_only=True)
              for d in ("/usr", "/bin", "/lib", "/lib64") if os.path.exists(d)]
    mounts += [Mount.proc("proc"), Mount.tmpfs("tmp", "size=16m,mode=1777")]

    def sync(pid):
        # go-sandbox's SyncFunc: called right before exec, with the pid as we see it (e.g. to
        # put it into a cgroup). Raising here would abort: nothing would run.
        print(f"sync: target pid {pid} is ready to exec")

    runner = Runner(
        args=["/bin/sh", "-c", SCRIPT],
        env=["PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C"],
        files=[0, 1, 2],
        clone_flags=["newuser", "newns", "newuts", "newipc", "newpid"],
        uid_mappings=[IdMap(0, os.geteuid(), 1)],
        gid_mappings=[IdMap(0, os.getegid(), 1)],
        pivot_root=root,
        mounts=mounts,
        work_dir="/tmp",
        host_name="forkexec-demo",
        rlimits=[Rlimit("nofile", 64, 64), Rlimit("fsize", 1 << 20, 1 << 20)],
        no_new_privs=True,
        drop_caps=True,
        sync_func=sync,
    )
    shown = runner.spec.to_dict()
    shown["args"] = ["/bin/sh", "-c", "..."]
    print("spec (JSON form):", json.dumps(shown))
    try:
        process = runner.start()
        st = process.wait()
    finally:
        os.rmdir(root)
    _raw_status, rusage = st  # a WaitStatus unpacks as (raw wait status, Rusage)
    print(f"== helper pid {process.pid}, target pid {process.target_pid}: {st}; "
          f"user {rusage.user_time:.3f}s, system {rusage.system_time:.3f}s, "
          f"max RSS {rusage.max_rss_kib} KiB")

    # A step that fails is reported as go-sandbox's ChildError.
    try:
        Runner(args=["/no/such/program"]).start()
    except ChildError as e:
        print(f"== a missing program: {e} (location {e.location} {e.location_name}, "
              f"errno {e.errno}, helper exit code {e.exit_code})")
    return 0 if st.code == 3 else 1


if __name__ == "__main__":
    sys.exit(main())
