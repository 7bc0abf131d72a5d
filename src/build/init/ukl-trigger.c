/*
 * The file at the UKL trigger path (/app) in a UKL-mode initramfs. A UKL kernel whose
 * CONFIG_UKL_NAME is "/app" starts the application linked into vmlinux when init execs this
 * path (it compares the name, then neither opens nor loads the file), so this program never runs
 * there. If it does run, the kernel did not intercept the exec
 * (a kernel without UKL, or a different CONFIG_UKL_NAME): say so on the console and fail.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr,
		"ukl-trigger: %s ran as an ordinary program: this kernel did not start the UKL application "
		"(not a UKL kernel, or CONFIG_UKL_NAME is not \"%s\")\n",
		argv[0] != NULL ? argv[0] : "/app", argv[0] != NULL ? argv[0] : "/app");
	return 3;
}
