/* escape-probe: the static program the escape tests (crates/client/tests/escape.rs) run
 * inside a sandbox that holds nothing from the host but this file. Each command tries one
 * thing and prints one JSON object on stdout: {"ret": N} or {"errno": N} for a call,
 * or what it saw.
 *
 * Built by the tests with `cc -static -O1` (glibc's static libc, as `gcc -static` links it);
 * it needs no loader, no /lib and no /proc unless a command reads /proc.
 *
 *   ids                        real/effective/saved uid and gid
 *   caps                       the five capability sets, securebits, no_new_privs, dumpable
 *   write PATH TEXT            create/overwrite PATH
 *   stat PATH                  its device and inode
 *   readlink PATH              the link's text
 *   ls PATH                    the directory's entries
 *   cwd                        getcwd, and where ".." and 64 x chdir("..") lead
 *   kill PID SIG               kill(PID, SIG)
 *   ptrace PID                 PTRACE_ATTACH (then detach)
 *   connect IPV4 PORT          a TCP connect (2 s at most)
 *   unix NAME                  connect to the abstract unix socket "\0NAME"
 *   ifaces                     the network interfaces
 *   remount-rw PATH [FILE TEXT]
 *                              mount(MS_REMOUNT | MS_BIND) of PATH without MS_RDONLY; then,
 *                              when it worked, write TEXT to FILE
 *   syscall NAME               one call a seccomp policy should refuse (see try_syscall)
 *   tiocsti FD                 push a character into the terminal FD's input (TIOCSTI)
 *   fds PID                    PID's fds as /proc shows them: listed, and links readable
 *   parent                     what /proc shows of the parent (the host's pid of it, from
 *                              /proc/self/stat): its exe link, its fds, a ptrace attach
 *   exec PATH ARG...           execv
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

/* x86_64 numbers of the newer calls, for older headers. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static int result(long ret) {
    if (ret < 0)
        printf("{\"ret\": -1, \"errno\": %d}\n", errno);
    else
        printf("{\"ret\": %ld}\n", ret);
    return 0;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int cmd_ids(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("{\"uid\": [%u, %u, %u], \"gid\": [%u, %u, %u]}\n", r, e, s, gr, ge, gs);
    return 0;
}

static int cmd_caps(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) < 0)
        return result(-1);
    unsigned long long eff = d[0].effective | (unsigned long long)d[1].effective << 32;
    unsigned long long prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
    unsigned long long inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
    unsigned long long bnd = 0, amb = 0;
    for (int cap = 0; cap < 64; cap++) {
        int in_bnd = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (in_bnd < 0)
            break; /* past the kernel's last capability */
        if (in_bnd)
            bnd |= 1ULL << cap;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
            amb |= 1ULL << cap;
    }
    printf("{\"eff\": \"%016llx\", \"prm\": \"%016llx\", \"inh\": \"%016llx\", "
           "\"bnd\": \"%016llx\", \"amb\": \"%016llx\", \"securebits\": %d, "
           "\"no_new_privs\": %d, \"dumpable\": %d}\n",
           eff, prm, inh, bnd, amb, prctl(PR_GET_SECUREBITS, 0, 0, 0, 0),
           prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    return 0;
}

static int cmd_write(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return result(-1);
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n)
        return result(-1);
    return result(close(fd));
}

static int cmd_stat(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0)
        return result(-1);
    printf("{\"dev\": %llu, \"ino\": %llu, \"uid\": %u, \"mode\": %u}\n",
           (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, st.st_uid,
           st.st_mode);
    return 0;
}

static int cmd_readlink(const char *path) {
    char buf[4096];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0)
        return result(-1);
    buf[n] = 0;
    printf("{\"link\": ");
    json_string(buf);
    printf("}\n");
    return 0;
}

static int cmd_ls(const char *path) {
    DIR *d = opendir(path);
    if (!d)
        return result(-1);
    printf("{\"entries\": [");
    int first = 1;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        printf(first ? "" : ", ");
        json_string(e->d_name);
        first = 0;
    }
    printf("]}\n");
    return 0;
}

static void dev_ino(const char *name, const char *path) {
    struct stat st;
    if (stat(path, &st) < 0)
        printf("\"%s\": %d", name, -errno);
    else
        printf("\"%s\": [%llu, %llu]", name, (unsigned long long)st.st_dev,
               (unsigned long long)st.st_ino);
}

static int cmd_cwd(void) {
    char buf[4096];
    printf("{\"cwd\": ");
    if (getcwd(buf, sizeof buf))
        json_string(buf);
    else
        printf("%d", -errno);
    printf(", ");
    dev_ino("root", "/");
    printf(", ");
    dev_ino("dot", ".");
    printf(", ");
    dev_ino("dotdot", "..");
    for (int i = 0; i < 64; i++)
        if (chdir("..") < 0)
            break;
    printf(", ");
    dev_ino("up", ".");
    printf(", \"up_cwd\": ");
    if (getcwd(buf, sizeof buf))
        json_string(buf);
    else
        printf("%d", -errno);
    printf("}\n");
    return 0;
}

static int cmd_ptrace(pid_t pid) {
    long r = ptrace(PTRACE_ATTACH, pid, 0, 0);
    int e = errno;
    if (r == 0) {
        waitpid(pid, NULL, __WALL);
        ptrace(PTRACE_DETACH, pid, 0, 0);
    }
    errno = e;
    return result(r);
}

static int cmd_connect(const char *ip, int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return result(-1);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return result(0);
    if (errno != EINPROGRESS)
        return result(-1);
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, 2000) == 0) {
        errno = ETIMEDOUT;
        return result(-1);
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err;
    return result(err ? -1 : 0);
}

static int cmd_unix(const char *name) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return result(-1);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    if (n > sizeof a.sun_path - 1)
        n = sizeof a.sun_path - 1;
    memcpy(a.sun_path + 1, name, n);
    return result(connect(fd, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + n));
}

static int cmd_ifaces(void) {
    struct if_nameindex *list = if_nameindex();
    if (!list)
        return result(-1);
    printf("{\"ifaces\": [");
    for (struct if_nameindex *i = list; i->if_index; i++) {
        printf(i == list ? "" : ", ");
        json_string(i->if_name);
    }
    printf("]}\n");
    return 0;
}

/* What this process can see of PID's fds: the listing's errno, or how many entries it
 * listed and how many of their links it could read (a link is the way to the file). */
static void print_fds(int pid) {
    char path[320], link[4096];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d) {
        printf("%d", -errno);
        return;
    }
    int listed = 0, readable = 0, err = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        listed++;
        snprintf(path, sizeof path, "/proc/%d/fd/%s", pid, e->d_name);
        if (readlink(path, link, sizeof link) >= 0)
            readable++;
        else if (!err)
            err = errno;
    }
    closedir(d);
    printf("{\"listed\": %d, \"readable\": %d, \"errno\": %d}", listed, readable, err);
}

static int cmd_parent(void) {
    char stat[1024], path[64], link[4096];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof stat - 1);
    if (n < 0)
        return result(-1);
    stat[n] = 0;
    char *after = strrchr(stat, ')');
    int ppid = 0;
    char state;
    if (!after || sscanf(after + 1, " %c %d", &state, &ppid) != 2)
        return result(-1);
    printf("{\"ppid\": %d, \"exe\": ", ppid);
    snprintf(path, sizeof path, "/proc/%d/exe", ppid);
    ssize_t len = readlink(path, link, sizeof link - 1);
    if (len < 0) {
        printf("%d", -errno);
    } else {
        link[len] = 0;
        json_string(link);
    }
    printf(", \"fds\": ");
    print_fds(ppid);
    long r = ptrace(PTRACE_ATTACH, ppid, 0, 0);
    printf(", \"ptrace\": %d}\n", r == 0 ? 0 : -errno);
    if (r == 0) {
        waitpid(ppid, NULL, __WALL);
        ptrace(PTRACE_DETACH, ppid, 0, 0);
    }
    return 0;
}

/* Calls the kernel should not be asked from a sandbox; each with arguments that would do
 * something if allowed. */
static int try_syscall(const char *name) {
    static char buf[256];
    if (!strcmp(name, "unshare_user"))
        return result(syscall(SYS_unshare, CLONE_NEWUSER));
    if (!strcmp(name, "unshare_ns"))
        return result(syscall(SYS_unshare, CLONE_NEWNS));
    if (!strcmp(name, "clone_newuser")) {
        long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0)
            _exit(0);
        if (pid > 0)
            waitpid(pid, NULL, 0);
        return result(pid);
    }
    if (!strcmp(name, "mount"))
        return result(syscall(SYS_mount, "none", "/", "tmpfs", 0, 0));
    if (!strcmp(name, "umount2"))
        return result(syscall(SYS_umount2, "/", MNT_DETACH));
    if (!strcmp(name, "pivot_root"))
        return result(syscall(SYS_pivot_root, "/", "/"));
    if (!strcmp(name, "chroot"))
        return result(syscall(SYS_chroot, "/"));
    if (!strcmp(name, "setns"))
        return result(syscall(SYS_setns, 0, 0));
    if (!strcmp(name, "keyctl"))
        return result(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
    if (!strcmp(name, "add_key"))
        return result(syscall(SYS_add_key, "user", "forkexec", "x", 1, -3));
    if (!strcmp(name, "request_key"))
        return result(syscall(SYS_request_key, "user", "forkexec", 0, -3));
    if (!strcmp(name, "bpf"))
        return result(syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, buf, 48));
    if (!strcmp(name, "io_uring_setup"))
        return result(syscall(SYS_io_uring_setup, 1, buf));
    if (!strcmp(name, "userfaultfd"))
        return result(syscall(SYS_userfaultfd, O_CLOEXEC));
    if (!strcmp(name, "perf_event_open")) {
        memset(buf, 0, sizeof buf);
        *(unsigned *)(buf + 4) = 128; /* attr.size; type 0 = PERF_TYPE_HARDWARE */
        return result(syscall(SYS_perf_event_open, buf, 0, -1, -1, 0));
    }
    if (!strcmp(name, "ptrace_traceme"))
        return result(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
    if (!strcmp(name, "init_module"))
        return result(syscall(SYS_init_module, buf, 0, ""));
    if (!strcmp(name, "finit_module"))
        return result(syscall(SYS_finit_module, 0, "", 0));
    if (!strcmp(name, "kexec_load"))
        return result(syscall(SYS_kexec_load, 0, 0, 0, 0));
    if (!strcmp(name, "open_by_handle_at"))
        return result(syscall(SYS_open_by_handle_at, AT_FDCWD, buf, O_RDONLY));
    if (!strcmp(name, "name_to_handle_at"))
        return result(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", buf, buf + 128, 0));
    if (!strcmp(name, "reboot"))
        return result(syscall(SYS_reboot, 0, 0, 0 /* an invalid magic */, 0));
    if (!strcmp(name, "swapon"))
        return result(syscall(SYS_swapon, "/", 0));
    if (!strcmp(name, "acct"))
        return result(syscall(SYS_acct, 0));
    if (!strcmp(name, "settimeofday"))
        return result(syscall(SYS_settimeofday, 0, 0));
    if (!strcmp(name, "iopl"))
        return result(syscall(SYS_iopl, 0));
    if (!strcmp(name, "ioperm"))
        return result(syscall(SYS_ioperm, 0, 0, 0));
    if (!strcmp(name, "process_vm_readv"))
        return result(syscall(SYS_process_vm_readv, 1, 0, 0, 0, 0, 0));
    if (!strcmp(name, "fanotify_init"))
        return result(syscall(SYS_fanotify_init, 0, 0));
    if (!strcmp(name, "clone3_newuser")) {
        unsigned long long args[11] = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD};
        long pid = syscall(SYS_clone3, args, 88);
        if (pid == 0)
            _exit(0);
        if (pid > 0)
            waitpid(pid, NULL, 0);
        return result(pid);
    }
    if (!strcmp(name, "fsopen"))
        return result(syscall(SYS_fsopen, "tmpfs", 0));
    if (!strcmp(name, "fsmount"))
        return result(syscall(SYS_fsmount, -1, 0, 0));
    if (!strcmp(name, "open_tree"))
        return result(syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
    if (!strcmp(name, "move_mount"))
        return result(syscall(SYS_move_mount, -1, "", AT_FDCWD, "/", 0));
    if (!strcmp(name, "io_uring_enter"))
        return result(syscall(SYS_io_uring_enter, -1, 0, 0, 0, 0, 0));
    if (!strcmp(name, "process_vm_writev"))
        return result(syscall(SYS_process_vm_writev, 1, 0, 0, 0, 0, 0));
    if (!strcmp(name, "pidfd_getfd"))
        return result(syscall(SYS_pidfd_getfd, -1, 0, 0));
    if (!strcmp(name, "delete_module"))
        return result(syscall(SYS_delete_module, "forkexec", O_NONBLOCK));
    if (!strcmp(name, "kexec_file_load"))
        return result(syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
    if (!strcmp(name, "swapoff"))
        return result(syscall(SYS_swapoff, "/"));
    if (!strcmp(name, "clock_settime"))
        return result(syscall(SYS_clock_settime, 0, NULL));
    if (!strcmp(name, "adjtimex"))
        return result(syscall(SYS_adjtimex, NULL));
    if (!strcmp(name, "syslog"))
        return result(syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, 0, 0));
    if (!strcmp(name, "quotactl"))
        return result(syscall(SYS_quotactl, 0, NULL, 0, NULL));
    if (!strcmp(name, "getpid"))
        return result(syscall(SYS_getpid));
    fprintf(stderr, "escape-probe: unknown syscall %s\n", name);
    return 2;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "";
#define NEED(n)                                                                \
    if (argc < (n) + 2) {                                                      \
        fprintf(stderr, "escape-probe: %s needs %d arguments\n", cmd, n);     \
        return 2;                                                              \
    }
    if (!strcmp(cmd, "ids"))
        return cmd_ids();
    if (!strcmp(cmd, "caps"))
        return cmd_caps();
    if (!strcmp(cmd, "write")) {
        NEED(2);
        return cmd_write(argv[2], argv[3]);
    }
    if (!strcmp(cmd, "stat")) {
        NEED(1);
        return cmd_stat(argv[2]);
    }
    if (!strcmp(cmd, "readlink")) {
        NEED(1);
        return cmd_readlink(argv[2]);
    }
    if (!strcmp(cmd, "ls")) {
        NEED(1);
        return cmd_ls(argv[2]);
    }
    if (!strcmp(cmd, "cwd"))
        return cmd_cwd();
    if (!strcmp(cmd, "kill")) {
        NEED(2);
        return result(kill(atoi(argv[2]), atoi(argv[3])));
    }
    if (!strcmp(cmd, "ptrace")) {
        NEED(1);
        return cmd_ptrace(atoi(argv[2]));
    }
    if (!strcmp(cmd, "connect")) {
        NEED(2);
        return cmd_connect(argv[2], atoi(argv[3]));
    }
    if (!strcmp(cmd, "unix")) {
        NEED(1);
        return cmd_unix(argv[2]);
    }
    if (!strcmp(cmd, "ifaces"))
        return cmd_ifaces();
    if (!strcmp(cmd, "remount-rw")) {
        NEED(1);
        if (mount(NULL, argv[2], NULL, MS_REMOUNT | MS_BIND, NULL) < 0)
            return result(-1);
        return argc >= 5 ? cmd_write(argv[3], argv[4]) : result(0);
    }
    if (!strcmp(cmd, "syscall")) {
        NEED(1);
        return try_syscall(argv[2]);
    }
    if (!strcmp(cmd, "tiocsti")) {
        NEED(1);
        return result(ioctl(atoi(argv[2]), TIOCSTI, "x"));
    }
    if (!strcmp(cmd, "fds")) {
        NEED(1);
        printf("{\"fds\": ");
        print_fds(atoi(argv[2]));
        printf("}\n");
        return 0;
    }
    if (!strcmp(cmd, "parent"))
        return cmd_parent();
    if (!strcmp(cmd, "exec")) {
        NEED(1);
        execv(argv[2], argv + 2);
        return result(-1);
    }
    fprintf(stderr, "escape-probe: unknown command %s\n", cmd);
    return 2;
}
