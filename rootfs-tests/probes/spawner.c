/* spawner: a runtime in a dozen lines of C, so the helper can run inside a sandbox that the
 * helper made. It runs
 *
 *   HELPER --spec-fd 3
 *
 * with fd 3 = SPEC (a spec file in the root file system, opened read-only) and fd 4 = the
 * write end of a pipe, which the spec must name as its status fd (the helper cannot write
 * records to a read-only spec fd). Fds 0, 1 and 2 are passed on as they are. Then it relays
 * what the helper reports:
 *
 *   helper-pid PID          the helper's pid (as seen here)
 *   record HEX              each 32-byte status record, as 64 hex digits
 *   helper-exit CODE        how the helper ended (or helper-signal SIG)
 *
 * each line prefixed with "TAG " when a TAG is given (spawners nested in each other tell
 * their lines apart), and exits with the helper's exit code (128 + SIG for a signal), so the
 * status of the innermost target reaches whoever runs the spawner.
 *
 *   spawner HELPER SPEC [TAG]
 */
#include "common.h"

#include <sys/wait.h>

static const int SPEC_FD = 3, STATUS_FD = 4;
static const char *prefix = "";

/* say() with the tag in front. */
__attribute__((format(printf, 1, 2))) static void tell(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    say("%s%s", prefix, line);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        say("fatal usage: spawner HELPER SPEC [TAG]");
        return 98;
    }
    char tag[256] = "";
    if (argc == 4) {
        snprintf(tag, sizeof tag, "%s ", argv[3]);
        prefix = tag;
    }
    int spec = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (spec < 0)
        die("open spec");
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        die("pipe2");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* Out of the way of 3 and 4 first (each is close-on-exec), then onto them: dup2 to a
         * different number clears close-on-exec on the copy. */
        int s = fcntl(spec, F_DUPFD_CLOEXEC, 10), w = fcntl(p[1], F_DUPFD_CLOEXEC, 10);
        if (s < 0 || w < 0 || dup2(s, SPEC_FD) < 0 || dup2(w, STATUS_FD) < 0)
            _exit(97);
        char *args[] = {"forkexec", "--spec-fd", "3", NULL};
        execv(argv[1], args);
        tell("spawner-exec errno %d", errno);
        _exit(127);
    }
    close(p[1]);
    close(spec);
    tell("helper-pid %d", (int)pid);
    unsigned char rec[32];
    for (;;) {
        size_t got = 0;
        while (got < sizeof rec) {
            ssize_t n = read(p[0], rec + got, sizeof rec - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got == 0)
            break;
        if (got < sizeof rec) {
            tell("fatal short record %zu", got);
            break;
        }
        char hex[65];
        for (size_t i = 0; i < sizeof rec; i++)
            snprintf(hex + 2 * i, 3, "%02x", rec[i]);
        tell("record %s", hex);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    if (WIFSIGNALED(status)) {
        tell("helper-signal %d", WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    tell("helper-exit %d", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}
