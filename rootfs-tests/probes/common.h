/* Shared by the rootfs probes: one line per fact on stdout, each written with one write(2)
 * (lines stay whole when several processes share the pipe), and small parsing helpers.
 * The probes are built with `cc -static` by rootfs-tests/build.rs and run in root
 * filesystems that hold nothing else: no loader, no /lib, no shell. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((unused)) static void say(const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(1, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += w;
    }
}

__attribute__((unused)) static void die(const char *what) {
    say("fatal %s errno %d", what, errno);
    _exit(99);
}

__attribute__((unused)) static long number(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *s == 0 || *end != 0) {
        say("fatal bad number %s", s);
        _exit(98);
    }
    return v;
}

/* Reads a small file (NUL-terminated, at most cap-1 bytes); returns the length or -1. */
__attribute__((unused)) static ssize_t slurp(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    int err = ferror(f);
    fclose(f);
    if (err)
        return -1;
    buf[n] = 0;
    return (ssize_t)n;
}
