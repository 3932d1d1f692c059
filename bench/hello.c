/* The start of a static C program with glibc, printing one line: what `forkexec-run
 * --version` is compared with (make bench, issue 17). */
#include <stdio.h>

int main(void) {
    puts("hello 0.1.0");
    return 0;
}
