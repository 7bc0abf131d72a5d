/*
 * ukl-trim's init for an initramfs that runs one application.
 *
 * As PID 1 it mounts /proc, /sys and /dev, brings up lo and eth0 (addresses from the kernel
 * command line: ukl.ip=ADDR/PREFIX ukl.gw=GATEWAY|none, else from /ukl.conf in the image, which
 * holds the same KEY=VALUE words, else QEMU user networking's 10.0.2.15/24 via 10.0.2.2), prints
 * "ukl-init: network up", then runs /app with the arguments from ukl.args= (split at spaces) or
 * else from /app.args (one argument per line), under the argv[0] ukl.name= gives (multi-call
 * programs pick their role by it), else "/app". When the app ends it reports how and powers the
 * machine off (without ACPI: restarts it, which ends QEMU under -no-reboot).
 *
 * With ukl.mode=ukl (UKL mode), /app is the trigger path of a UKL kernel (CONFIG_UKL_NAME): the
 * kernel starts the application linked into vmlinux when it is exec'd. Init then prints UKL's own
 * marker, "UKL BOOTED", just before the exec, as UKL's init does.
 *
 * Deliberately free of anything but libc and plain ioctls, so it builds statically with glibc or
 * musl and needs no netlink, no DHCP client and no shell in the guest.
 *
 * Build: gcc -static -Os -o init init.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_IP "10.0.2.15/24"
#define DEFAULT_GATEWAY "10.0.2.2"
#define MAX_ARGS 64
#define CMDLINE_SIZE 4096

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ukl-init: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

/* The kernel opens /dev/console for us when the initramfs has it; if not, try once /dev is up. */
static void ensure_console(void)
{
	if (fcntl(1, F_GETFD) != -1)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static void mount_or_warn(const char *source, const char *target, const char *type, int required)
{
	mkdir(target, 0755);
	if (mount(source, target, type, 0, NULL) == 0 || errno == EBUSY)
		return;
	/* devtmpfs is optional (CONFIG_DEVTMPFS): /dev/console from the archive is enough for us */
	if (required)
		say("mounting %s on %s failed: %s", type, target, strerror(errno));
}

/* ---- kernel command line and /ukl.conf ------------------------------------------------------ */

static char cmdline[CMDLINE_SIZE];
static char image_config[CMDLINE_SIZE];

static void read_text(const char *path, char *out, size_t size)
{
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, size - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
}

/*
 * The value of KEY= among the space-separated words of text, copied into out with double quotes
 * removed (ukl.args="7777 -v", as the kernel quotes parameters). The last occurrence wins, as for
 * kernel parameters. Returns 0 when absent.
 */
static int find_value(const char *text, const char *key, char *out, size_t size)
{
	size_t key_len = strlen(key);
	int found = 0;
	const char *p = text;
	while (*p) {
		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		if (!*p)
			break;
		/* one word: up to a space outside double quotes */
		char word[CMDLINE_SIZE];
		size_t len = 0;
		int quoted = 0;
		for (; *p && (quoted || (*p != ' ' && *p != '\n' && *p != '\t')); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (len < sizeof word - 1)
				word[len++] = *p;
		}
		word[len] = '\0';
		if (strcmp(word, "--") == 0)
			break; /* what follows belongs to init's argv, not to us */
		if (strncmp(word, key, key_len) == 0 && word[key_len] == '=') {
			snprintf(out, size, "%s", word + key_len + 1);
			found = 1;
		}
	}
	return found;
}

/* The kernel command line overrides what the image was built with. */
static int setting(const char *key, char *out, size_t size)
{
	int from_cmdline = find_value(cmdline, key, out, size);
	return from_cmdline || find_value(image_config, key, out, size);
}

/* ---- network -------------------------------------------------------------------------------- */

static void set_sockaddr(struct sockaddr *sa, struct in_addr addr)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr = addr;
	memcpy(sa, &sin, sizeof sin);
}

static int interface_up(int sock, const char *name)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

static int interface_address(int sock, const char *name, struct in_addr addr, struct in_addr netmask)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	set_sockaddr(&ifr.ifr_addr, addr);
	if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
		return -1;
	set_sockaddr(&ifr.ifr_netmask, netmask);
	return ioctl(sock, SIOCSIFNETMASK, &ifr);
}

static int default_route(int sock, const char *name, struct in_addr gateway)
{
	struct rtentry route;
	struct in_addr any = { .s_addr = htonl(INADDR_ANY) };
	memset(&route, 0, sizeof route);
	set_sockaddr(&route.rt_dst, any);
	set_sockaddr(&route.rt_genmask, any);
	set_sockaddr(&route.rt_gateway, gateway);
	route.rt_flags = RTF_UP | RTF_GATEWAY;
	route.rt_dev = (char *)name;
	return ioctl(sock, SIOCADDRT, &route);
}

/* "10.0.2.15/24" → address and netmask; 0 on success. */
static int parse_cidr(const char *text, struct in_addr *addr, struct in_addr *netmask)
{
	char copy[64];
	snprintf(copy, sizeof copy, "%s", text);
	long prefix = 24;
	char *slash = strchr(copy, '/');
	if (slash) {
		char *end = NULL;
		*slash = '\0';
		prefix = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end != '\0' || prefix < 0 || prefix > 32)
			return -1;
	}
	if (inet_pton(AF_INET, copy, addr) != 1)
		return -1;
	netmask->s_addr = htonl(prefix == 0 ? 0 : 0xffffffffu << (32 - prefix));
	return 0;
}

static void network_up(void)
{
	char ip_text[64] = DEFAULT_IP, gw_text[64] = DEFAULT_GATEWAY;
	setting("ukl.ip", ip_text, sizeof ip_text);
	setting("ukl.gw", gw_text, sizeof gw_text);

	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		say("no IPv4 sockets (%s): network not configured", strerror(errno));
		return;
	}
	/* bringing lo up makes the kernel give it 127.0.0.1/8 */
	if (interface_up(sock, "lo") < 0)
		say("lo: %s", strerror(errno));

	struct in_addr addr, netmask, gateway;
	if (parse_cidr(ip_text, &addr, &netmask) < 0) {
		say("ukl.ip=%s is not ADDRESS/PREFIX: eth0 left down", ip_text);
		close(sock);
		return;
	}
	if (interface_address(sock, "eth0", addr, netmask) < 0 || interface_up(sock, "eth0") < 0) {
		say("network up: lo only (eth0: %s)", strerror(errno));
		close(sock);
		return;
	}
	int routed = 0;
	if (strcmp(gw_text, "none") != 0) {
		if (inet_pton(AF_INET, gw_text, &gateway) != 1)
			say("ukl.gw=%s is not an IPv4 address: no default route", gw_text);
		else if (default_route(sock, "eth0", gateway) < 0)
			say("default route via %s: %s", gw_text, strerror(errno));
		else
			routed = 1;
	}
	close(sock);
	say("network up: eth0 %s%s%s", ip_text, routed ? " via " : "", routed ? gw_text : "");
}

/* ---- the application ------------------------------------------------------------------------ */

static char args_storage[CMDLINE_SIZE];
static char name_storage[256];

/*
 * Arguments for /app: argv[0] from ukl.name=, else "/app"; then ukl.args= (space-separated),
 * which wins over /app.args (one per line).
 */
static int app_arguments(char **argv, int max)
{
	int argc = 0;
	argv[argc++] = setting("ukl.name", name_storage, sizeof name_storage) && name_storage[0] ? name_storage : "/app";
	if (setting("ukl.args", args_storage, sizeof args_storage)) {
		for (char *save = NULL, *a = strtok_r(args_storage, " \t", &save); a && argc < max; a = strtok_r(NULL, " \t", &save))
			argv[argc++] = a;
	} else {
		int fd = open("/app.args", O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, args_storage, sizeof args_storage - 1);
			close(fd);
			args_storage[n > 0 ? n : 0] = '\0';
			for (char *save = NULL, *a = strtok_r(args_storage, "\n", &save); a && argc < max; a = strtok_r(NULL, "\n", &save))
				argv[argc++] = a;
		}
	}
	argv[argc] = NULL;
	return argc;
}

static void power_off(void)
{
	sync();
	/*
	 * Without ACPI the kernel turns a power-off into a halt and QEMU keeps running; a restart
	 * ends QEMU under -no-reboot, which is how the boot test runs it.
	 */
	struct stat st;
	if (stat("/sys/firmware/acpi", &st) == 0)
		reboot(RB_POWER_OFF);
	reboot(RB_AUTOBOOT);
	for (;;)
		pause(); /* PID 1 must not exit: the kernel would panic */
}

int main(void)
{
	ensure_console();
	mount_or_warn("proc", "/proc", "proc", 1);
	mount_or_warn("sysfs", "/sys", "sysfs", 1);
	mount_or_warn("devtmpfs", "/dev", "devtmpfs", 0);
	ensure_console();
	read_text("/proc/cmdline", cmdline, sizeof cmdline);
	read_text("/ukl.conf", image_config, sizeof image_config);
	network_up();

	char *argv[MAX_ARGS + 1];
	app_arguments(argv, MAX_ARGS);
	char *envp[] = { "HOME=/", "PATH=/", "TERM=linux", NULL };

	char mode[32];
	int ukl = setting("ukl.mode", mode, sizeof mode) && strcmp(mode, "ukl") == 0;

	pid_t app = fork();
	if (app < 0) {
		say("fork: %s", strerror(errno));
		power_off();
	}
	if (app == 0) {
		if (ukl) {
			say("exec /app, the UKL trigger: the kernel starts the application linked into it");
			fputs("UKL BOOTED\n", stdout);
			fflush(stdout);
		}
		execve("/app", argv, envp);
		say("exec /app: %s", strerror(errno));
		_exit(127);
	}
	/* as PID 1 we also reap orphans the app leaves behind, until the app itself ends */
	for (;;) {
		int status = 0;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0) {
			say("waitpid: %s", strerror(errno));
			break;
		}
		if (pid != app)
			continue;
		if (WIFEXITED(status))
			say("/app exited with status %d", WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			say("/app killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
		break;
	}
	power_off();
	return 0;
}
