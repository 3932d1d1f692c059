/* zombie-maker: the target of the container-init scenario. It leaves orphans behind for
 * pid 1 to reap and waits for signals; actions run in order, one line per fact:
 *
 *   orphans N         a child forks N grandchildren that exit at once, waits until they are
 *                     zombies (waitid WNOWAIT: ended, not reaped), then exits, so the zombies
 *                     are reparented to the pid namespace's init; the child itself is reaped
 *                     here. orphan PID, one per grandchild
 *   daemons N         the same with grandchildren that never exit: daemon PID
 *   await-reaped MS   up to MS ms for the orphans to be reaped (kill(PID, 0) fails with ESRCH;
 *                     a zombie still exists): reaped PID, or left PID STATE PPID (from /proc)
 *   ps                ps PID STATE PPID COMM for every process /proc lists
 *   wait-signal       handles SIGHUP, SIGINT, SIGUSR1 and SIGTERM (every other signal keeps
 *                     its default action), says ready, waits for one of them: signal N, then
 *                     exits with 64 + N
 *   exit N            exit with N (the default at the end is 0)
 */
#include "common.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_KIDS 64
static pid_t orphans[MAX_KIDS];
static int n_orphans;

/* Forks a child that forks n grandchildren (running `grandchild`) and hands their pids back
 * through a pipe; returns how many were read into out. */
static int leave_behind(int n, int zombies, pid_t *out) {
    if (n < 0 || n > MAX_KIDS)
        die("too many children");
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        die("pipe2");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        close(p[0]);
        pid_t kids[MAX_KIDS];
        for (int i = 0; i < n; i++) {
            kids[i] = fork();
            if (kids[i] < 0)
                _exit(97);
            if (kids[i] == 0) {
                if (zombies)
                    _exit(0);
                close(p[1]);
                for (;;)
                    pause();
            }
        }
        for (int i = 0; i < n; i++) {
            if (zombies) {
                siginfo_t si;
                if (waitid(P_PID, kids[i], &si, WEXITED | WNOWAIT))
                    _exit(96);
            }
            if (write(p[1], &kids[i], sizeof kids[i]) != sizeof kids[i])
                _exit(95);
        }
        _exit(0);
    }
    close(p[1]);
    int got = 0;
    pid_t pid;
    while (got < n && read(p[0], &pid, sizeof pid) == sizeof pid)
        out[got++] = pid;
    close(p[0]);
    int status;
    if (waitpid(child, &status, 0) != child)
        die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        say("fatal child status %d", status);
    return got;
}

/* State and ppid from /proc/PID/stat ("?" and -1 when /proc cannot tell). */
static void stat_of(pid_t pid, char *state, int *ppid, char *comm, size_t comm_cap) {
    char path[64], buf[1024];
    *state = '?';
    *ppid = -1;
    if (comm_cap)
        comm[0] = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (slurp(path, buf, sizeof buf) < 0)
        return;
    char *open = strchr(buf, '('), *close_ = strrchr(buf, ')');
    if (!open || !close_)
        return;
    if (comm_cap) {
        size_t len = (size_t)(close_ - open - 1);
        if (len >= comm_cap)
            len = comm_cap - 1;
        memcpy(comm, open + 1, len);
        comm[len] = 0;
    }
    sscanf(close_ + 1, " %c %d", state, ppid);
}

static void await_reaped(long ms) {
    struct timespec step = {0, 10 * 1000 * 1000};
    for (long waited = 0;; waited += 10) {
        int alive = 0;
        for (int i = 0; i < n_orphans; i++)
            if (kill(orphans[i], 0) == 0 || errno != ESRCH)
                alive++;
        if (alive == 0 || waited >= ms)
            break;
        nanosleep(&step, NULL);
    }
    for (int i = 0; i < n_orphans; i++) {
        if (kill(orphans[i], 0) != 0 && errno == ESRCH) {
            say("reaped %d", (int)orphans[i]);
        } else {
            char state;
            int ppid;
            stat_of(orphans[i], &state, &ppid, NULL, 0);
            say("left %d %c %d", (int)orphans[i], state, ppid);
        }
    }
}

static void ps(void) {
    DIR *d = opendir("/proc");
    if (!d) {
        say("ps errno %d", errno);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char state, comm[64];
        int ppid;
        stat_of((pid_t)pid, &state, &ppid, comm, sizeof comm);
        for (char *c = comm; *c; c++)
            if (*c == ' ')
                *c = '_';
        say("ps %ld %c %d %s", pid, state, ppid, comm[0] ? comm : "?");
    }
    closedir(d);
}

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

static int wait_signal(void) {
    const int handled[] = {SIGHUP, SIGINT, SIGUSR1, SIGTERM};
    sigset_t block, old;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        if (sigaction(handled[i], &sa, NULL))
            die("sigaction");
        sigaddset(&block, handled[i]);
    }
    if (sigprocmask(SIG_BLOCK, &block, &old))
        die("sigprocmask");
    say("ready");
    while (!got_signal)
        sigsuspend(&old);
    say("signal %d", (int)got_signal);
    return 64 + got_signal;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int left = argc - i - 1;
        if (!strcmp(a, "orphans") && left >= 1) {
            long n = number(argv[++i]);
            if (n_orphans + n > MAX_KIDS)
                die("too many orphans");
            int got = leave_behind((int)n, 1, orphans + n_orphans);
            for (int k = 0; k < got; k++)
                say("orphan %d", (int)orphans[n_orphans + k]);
            n_orphans += got;
        } else if (!strcmp(a, "daemons") && left >= 1) {
            pid_t kids[MAX_KIDS];
            int got = leave_behind((int)number(argv[++i]), 0, kids);
            for (int k = 0; k < got; k++)
                say("daemon %d", (int)kids[k]);
        } else if (!strcmp(a, "await-reaped") && left >= 1)
            await_reaped(number(argv[++i]));
        else if (!strcmp(a, "ps"))
            ps();
        else if (!strcmp(a, "wait-signal"))
            return wait_signal();
        else if (!strcmp(a, "exit") && left >= 1)
            return (int)number(argv[++i]);
        else {
            say("fatal unknown action %s", a);
            return 98;
        }
    }
    return 0;
}
