/* rootfs-probe: what a program sees from inside a scratch root. Each argument group is an
 * action, run in order; each prints lines "KEY ...", errors as "... errno N".
 *
 *   pids              pid N / ppid N
 *   ids               uid REAL EFFECTIVE SAVED / gid REAL EFFECTIVE SAVED
 *   mounts            mount MOUNT_POINT FSTYPE MOUNT_OPTIONS SOURCE, one per mountinfo line
 *                     (fields as the kernel escapes them: no spaces)
 *   ls DIR            entry DIR NAME, one per entry but . and ..
 *   read PATH         read PATH ok TEXT (newlines as spaces, trailing one dropped)
 *   stat PATH         stat PATH ok MODE TYPE UID GID (lstat; MODE in octal, 4 digits; TYPE
 *                     dir, file, link or other)
 *   write PATH TEXT   write PATH ok (created or truncated)
 *   exit N            exit with N (the default at the end is 0)
 */
#include "common.h"

#include <dirent.h>
#include <sys/stat.h>

static void pids(void) {
    say("pid %d", (int)getpid());
    say("ppid %d", (int)getppid());
}

static void ids(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    if (getresuid(&r, &e, &s) || getresgid(&gr, &ge, &gs))
        die("getresuid");
    say("uid %u %u %u", r, e, s);
    say("gid %u %u %u", gr, ge, gs);
}

static void mounts(void) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) {
        say("mounts errno %d", errno);
        return;
    }
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        /* id parent maj:min root mount_point options [optional...] - fstype source super */
        char *field[32];
        int n = 0;
        for (char *tok = strtok(line, " \n"); tok && n < 32; tok = strtok(NULL, " \n"))
            field[n++] = tok;
        int dash = -1;
        for (int i = 6; i < n; i++)
            if (strcmp(field[i], "-") == 0) {
                dash = i;
                break;
            }
        if (n < 6 || dash < 0 || dash + 2 >= n) {
            say("mounts unparsed");
            continue;
        }
        say("mount %s %s %s %s", field[4], field[dash + 1], field[5], field[dash + 2]);
    }
    fclose(f);
}

static void ls(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        say("ls %s errno %d", dir, errno);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            say("entry %s %s", dir, e->d_name);
    closedir(d);
}

static void read_file(const char *path) {
    char buf[2048];
    ssize_t n = slurp(path, buf, sizeof buf);
    if (n < 0) {
        say("read %s errno %d", path, errno);
        return;
    }
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = ' ';
    say("read %s ok %s", path, buf);
}

static void stat_path(const char *path) {
    struct stat st;
    if (lstat(path, &st)) {
        say("stat %s errno %d", path, errno);
        return;
    }
    const char *type = S_ISDIR(st.st_mode) ? "dir"
                       : S_ISREG(st.st_mode) ? "file"
                       : S_ISLNK(st.st_mode) ? "link"
                                             : "other";
    say("stat %s ok %04o %s %u %u", path, (unsigned)(st.st_mode & 07777), type, st.st_uid,
        st.st_gid);
}

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        say("write %s errno %d", path, errno);
        return;
    }
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int err = errno;
    close(fd);
    if (w != (ssize_t)len)
        say("write %s errno %d", path, w < 0 ? err : EIO);
    else
        say("write %s ok", path);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int left = argc - i - 1;
        if (!strcmp(a, "pids"))
            pids();
        else if (!strcmp(a, "ids"))
            ids();
        else if (!strcmp(a, "mounts"))
            mounts();
        else if (!strcmp(a, "ls") && left >= 1)
            ls(argv[++i]);
        else if (!strcmp(a, "read") && left >= 1)
            read_file(argv[++i]);
        else if (!strcmp(a, "stat") && left >= 1)
            stat_path(argv[++i]);
        else if (!strcmp(a, "write") && left >= 2) {
            write_file(argv[i + 1], argv[i + 2]);
            i += 2;
        } else if (!strcmp(a, "exit") && left >= 1)
            return (int)number(argv[++i]);
        else {
            say("fatal unknown action %s", a);
            return 98;
        }
    }
    return 0;
}
