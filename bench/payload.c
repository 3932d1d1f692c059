/* The benchmark's payload: the smallest static program that does something a real target
 * does, exit(0). No libc, no start files: one execve, one exit_group. */
void _start(void)
{
	__asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall\n\thlt");
	__builtin_unreachable();
}
