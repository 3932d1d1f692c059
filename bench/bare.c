/* make bench's "bare kernel work": the sandbox profile's syscalls, in the helper's order, done
 * directly by a small static, libc-free program with everything hard-coded: no spec to read
 * or decode, no status records, no supervising loop. The driver spawns it exactly as it
 * spawns the helper, so the difference between the two is what the helper adds on top of the
 * kernel's own work.
 *
 *   bare sandbox     PAYLOAD ROOT   the profile (bench/src/profile.rs, docs/bench.md)
 *   bare sandbox-net PAYLOAD ROOT   the same with a net namespace
 *   bare flags       PAYLOAD ROOT   the namespaces and id maps only, then execve(PAYLOAD)
 *   bare exec        PAYLOAD ROOT   execve(PAYLOAD) at once: what any exec'd helper costs
 *
 * The parent clones the target with the namespace flags (clone3; a fork, where the helper's
 * clone shares its memory with CLONE_VM until it executes), writes its setgroups,
 * uid_map and gid_map, sends one byte, and waits for it, exiting as it did (the helper's
 * supervise shape). The target does the mounts, pivot_root, host name, chdir, rlimits,
 * no_new_privs, capability drop and seccomp, then executes /payload.
 *
 * Built by `make bench` (bench/run.sh): gcc -static -nostdlib -O2 -ffreestanding.
 */

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_exit_group 231
#define SYS_execve 59
#define SYS_wait4 61
#define SYS_chdir 80
#define SYS_mkdirat 258
#define SYS_mknodat 259
#define SYS_unlinkat 263
#define SYS_openat 257
#define SYS_mount 165
#define SYS_umount2 166
#define SYS_pivot_root 155
#define SYS_statfs 137
#define SYS_sethostname 170
#define SYS_prlimit64 302
#define SYS_prctl 157
#define SYS_capset 126
#define SYS_seccomp 317
#define SYS_setsid 112
#define SYS_socketpair 53
#define SYS_geteuid 107
#define SYS_getegid 108
#define SYS_clone3 435

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define O_WRONLY 1
#define O_CLOEXEC 02000000
#define S_IFREG 0100000

#define CLONE_NEWNS 0x00020000
#define CLONE_NEWCGROUP 0x02000000
#define CLONE_NEWUTS 0x04000000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define CLONE_NEWNET 0x40000000
#define SIGCHLD 17

#define MS_RDONLY 1
#define MS_NOSUID 2
#define MS_NODEV 4
#define MS_NOEXEC 8
#define MS_REMOUNT 32
#define MS_NOATIME 1024
#define MS_NODIRATIME 2048
#define MS_BIND 4096
#define MS_REC 16384
#define MS_PRIVATE (1 << 18)
#define MS_RELATIME (1 << 21)
#define MNT_DETACH 2

#define PR_SET_NO_NEW_PRIVS 38
#define PR_SET_SECUREBITS 28
#define PR_CAPBSET_DROP 24
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#define SECCOMP_SET_MODE_FILTER 1

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* GCC may emit calls to these even with -nostdlib. */
void *memset(void *d, int c, unsigned long n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}
void *memcpy(void *d, const void *s, unsigned long n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

static unsigned long len(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static int eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Appends `s` (or the decimal `v`) at `p`, returns the new end. */
static char *put(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}
static char *put_u(char *p, u64 v)
{
	char buf[24];
	int i = 0;
	do
		buf[i++] = (char)('0' + v % 10);
	while (v /= 10);
	while (i)
		*p++ = buf[--i];
	return p;
}

static __attribute__((noreturn)) void die(const char *what, long err)
{
	char msg[128], *p = msg;
	p = put(p, "bare: ");
	p = put(p, what);
	p = put(p, ": errno ");
	p = put_u(p, (u64)-err);
	*p++ = '\n';
	sys(SYS_write, 2, msg, p - msg);
	sys(SYS_exit_group, 125, 0, 0);
	__builtin_unreachable();
}

static void check(const char *what, long r)
{
	if (r < 0)
		die(what, r);
}

static void write_file(const char *path, const char *text)
{
	long fd = sys(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
	check(path, fd);
	check(path, sys(SYS_write, fd, text, len(text)));
	sys(SYS_close, fd, 0, 0);
}

/* mkdir (EEXIST is fine), mount; a bind with per-mount flags is remounted keeping the flags
 * statfs reports (the kernel locks them in a user namespace), as the helper does. */
static void mount_at(const char *src, const char *dst, const char *type, u64 flags,
		     const char *data, int file)
{
	long r = file ? sys(SYS_mknodat, AT_FDCWD, dst, S_IFREG | 0644)
		      : sys(SYS_mkdirat, AT_FDCWD, dst, 0755);
	if (r < 0 && r != -17)
		die(dst, r);
	check(dst, sys5(SYS_mount, src, dst, type, flags, data));
	const u64 per_mount = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
			      MS_NODIRATIME | MS_RELATIME;
	if ((flags & MS_BIND) && (flags & per_mount)) {
		u64 st[15];
		check(dst, sys(SYS_statfs, dst, st, 0));
		u64 f = st[9], kept = 0; /* f_flags */
		kept |= (f & 1) ? MS_RDONLY : 0;
		kept |= (f & 2) ? MS_NOSUID : 0;
		kept |= (f & 4) ? MS_NODEV : 0;
		kept |= (f & 8) ? MS_NOEXEC : 0;
		kept |= (f & 1024) ? MS_NOATIME : 0;
		kept |= (f & 2048) ? MS_NODIRATIME : 0;
		kept |= (f & 4096) ? MS_RELATIME : 0;
		check(dst, sys5(SYS_mount, "", dst, "", MS_REMOUNT | MS_BIND | (flags & per_mount) | kept, ""));
	}
}

struct sock_filter {
	u16 code;
	u8 jt, jf;
	u32 k;
};
struct sock_fprog {
	u16 len;
	struct sock_filter *filter;
};

/* The profile's filter (bench/src/profile.rs, seccomp_filter): arch check, x32 and 16
 * syscalls get EPERM, everything else allowed. */
static const u32 denied[16] = {101, 246, 320, 175, 313, 176, 169, 167,
			       168, 163, 248, 249, 250, 321, 298, 323};

static void load_seccomp(void)
{
	struct sock_filter f[23];
	int n = 0, errno_at = 6 + 16;
	f[n++] = (struct sock_filter){0x20, 0, 0, 4};
	f[n++] = (struct sock_filter){0x15, 1, 0, 0xc000003e};
	f[n++] = (struct sock_filter){0x06, 0, 0, 0x80000000};
	f[n++] = (struct sock_filter){0x20, 0, 0, 0};
	f[n++] = (struct sock_filter){0x35, (u8)(errno_at - 5), 0, 0x40000000};
	for (int i = 0; i < 16; i++, n++)
		f[n] = (struct sock_filter){0x15, (u8)(errno_at - n - 1), 0, denied[i]};
	f[n++] = (struct sock_filter){0x06, 0, 0, 0x7fff0000};
	f[n++] = (struct sock_filter){0x06, 0, 0, 0x00050001};
	struct sock_fprog prog = {(u16)n, f};
	check("seccomp", sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
}

static void drop_caps(void)
{
	/* SECBIT_NOROOT | _LOCKED | NO_SETUID_FIXUP | _LOCKED | KEEP_CAPS_LOCKED, as the helper */
	check("securebits", sys(SYS_prctl, PR_SET_SECUREBITS, 0x2f, 0));
	for (long cap = 0; cap < 64; cap++)
		if (sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0) < 0)
			break;
	check("ambient", sys5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	struct {
		u32 version;
		int pid;
	} hdr = {0x20080522, 0};
	u32 data[6] = {0};
	check("capset", sys(SYS_capset, &hdr, data, 0));
}

static void sandbox(const char *payload, const char *root)
{
	check("setsid", sys(SYS_setsid, 0, 0, 0));
	check("mount /", sys5(SYS_mount, "none", "/", 0, MS_REC | MS_PRIVATE, 0));
	check("tmpfs root", sys5(SYS_mount, "tmpfs", root, "tmpfs", 0, 0));
	check("chdir root", sys(SYS_chdir, root, 0, 0));
	const u64 bind = MS_BIND | MS_NOSUID | MS_PRIVATE | MS_REC;
	mount_at("/usr", "usr", 0, bind | MS_RDONLY, 0, 0);
	mount_at(payload, "payload", 0, bind | MS_RDONLY, 0, 1);
	mount_at("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, 0, 0);
	mount_at("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOATIME | MS_NODEV, "mode=755", 0);
	static const char *const nodes[6][2] = {
		{"/dev/null", "dev/null"},     {"/dev/zero", "dev/zero"},
		{"/dev/full", "dev/full"},     {"/dev/random", "dev/random"},
		{"/dev/urandom", "dev/urandom"}, {"/dev/tty", "dev/tty"},
	};
	for (int i = 0; i < 6; i++)
		mount_at(nodes[i][0], nodes[i][1], 0, MS_BIND, 0, 1);
	check("mkdir old_root", sys(SYS_mkdirat, AT_FDCWD, "old_root", 0755));
	check("pivot_root", sys(SYS_pivot_root, root, "old_root", 0));
	check("umount", sys(SYS_umount2, "old_root", MNT_DETACH, 0));
	check("rmdir", sys(SYS_unlinkat, AT_FDCWD, "old_root", AT_REMOVEDIR));
	check("ro /", sys5(SYS_mount, "tmpfs", "/", "tmpfs",
			   MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOATIME | MS_NOSUID, 0));
	check("hostname", sys(SYS_sethostname, "sandbox", 7, 0));
	check("chdir /", sys(SYS_chdir, "/", 0, 0));
	static const u64 limits[5][2] = {
		{7, 64}, {4, 0}, {0, 10}, {1, 64 << 20}, {9, 1 << 30},
	};
	for (int i = 0; i < 5; i++) {
		u64 lim[2] = {limits[i][1], limits[i][1]};
		check("prlimit", sys5(SYS_prlimit64, 0, limits[i][0], lim, 0, 0));
	}
	check("no_new_privs", sys5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	drop_caps();
	load_seccomp();
}

struct clone_args {
	u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
		set_tid_size, cgroup;
};

__attribute__((used, noreturn)) void start(long *sp);
void start(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	if (argc != 4)
		die("usage: bare sandbox|sandbox-net|flags|exec PAYLOAD ROOT", -22);
	const char *mode = argv[1], *payload = argv[2], *root = argv[3];
	if (eq(mode, "exec")) {
		char *args[2] = {(char *)payload, 0};
		char *env[1] = {0};
		die("execve", sys(SYS_execve, payload, args, env));
	}
	int full = !eq(mode, "flags"), net = eq(mode, "sandbox-net");

	u64 flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
		    CLONE_NEWCGROUP | (net ? CLONE_NEWNET : 0);
	long euid = sys(SYS_geteuid, 0, 0, 0), egid = sys(SYS_getegid, 0, 0, 0);
	int sv[2];
	check("socketpair", sys5(SYS_socketpair, 1, 1 | O_CLOEXEC, 0, sv, 0));
	struct clone_args ca = {0};
	ca.flags = flags;
	ca.exit_signal = SIGCHLD;
	long pid = sys(SYS_clone3, &ca, sizeof ca, 0);
	check("clone3", pid);
	if (pid == 0) {
		char go;
		sys(SYS_close, sv[0], 0, 0);
		if (sys(SYS_read, sv[1], &go, 1) != 1)
			die("handshake", -32);
		if (full)
			sandbox(payload, root);
		char *args[2] = {full ? "/payload" : (char *)payload, 0};
		char *env[1] = {0};
		die("execve", sys(SYS_execve, args[0], args, env));
	}
	sys(SYS_close, sv[1], 0, 0);
	char path[64], map[64], *p;
	p = put(put_u(put(path, "/proc/"), (u64)pid), "/setgroups");
	*p = 0;
	write_file(path, "deny");
	p = put(put_u(put(path, "/proc/"), (u64)pid), "/uid_map");
	*p = 0;
	p = put(put_u(put(map, "0 "), (u64)euid), " 1\n");
	*p = 0;
	write_file(path, map);
	p = put(put_u(put(path, "/proc/"), (u64)pid), "/gid_map");
	*p = 0;
	p = put(put_u(put(map, "0 "), (u64)egid), " 1\n");
	*p = 0;
	write_file(path, map);
	check("go", sys(SYS_write, sv[0], "", 1));
	int status = 0;
	check("wait4", sys(SYS_wait4, pid, &status, 0));
	/* Exit as the target did (an exit code; a signal shows as 128+n). */
	int code = (status & 0x7f) ? 128 + (status & 0x7f) : (status >> 8) & 0xff;
	sys(SYS_exit_group, code, 0, 0);
	__builtin_unreachable();
}

__asm__(".globl _start\n"
	"_start:\n"
	"  xor %ebp, %ebp\n"
	"  mov %rsp, %rdi\n"
	"  and $-16, %rsp\n"
	"  call start\n"
	"  hlt\n");
