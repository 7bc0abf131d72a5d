/*
 * A small epoll TCP echo server: the example application ukl-trim builds a kernel for.
 *
 * Listens on 0.0.0.0:PORT (default 7777; argv[1] overrides), prints one marker line once it is
 * ready, and echoes every byte it receives back to the sender. Many clients at once through one
 * epoll set, no threads, so the syscalls it needs stay few and easy to see.
 *
 * Build: gcc -static -O2 -o echo echo.c   (or musl-gcc -static -O2 -o echo echo.c)
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define BUFFER_SIZE 4096

static int open_listener(unsigned short port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("echo-server: socket");
		return -1;
	}
	int one = 1;
	/* a restarted server must not wait for TIME_WAIT sockets of the previous run */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	addr.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("echo-server: bind");
		close(fd);
		return -1;
	}
	if (listen(fd, 64) < 0) {
		perror("echo-server: listen");
		close(fd);
		return -1;
	}
	return fd;
}

/* Write all of buf; the sockets are blocking, so a short write only means "call again". */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Echo what one readable client sent; returns -1 when the client is gone. */
static int echo_once(int client)
{
	char buffer[BUFFER_SIZE];
	ssize_t n = read(client, buffer, sizeof buffer);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	return write_all(client, buffer, (size_t)n);
}

int main(int argc, char **argv)
{
	long port = 7777;
	if (argc > 1) {
		char *end = NULL;
		port = strtol(argv[1], &end, 10);
		if (end == argv[1] || *end != '\0' || port < 1 || port > 65535) {
			fprintf(stderr, "echo-server: bad port '%s'\n", argv[1]);
			return 2;
		}
	}
	int listener = open_listener((unsigned short)port);
	if (listener < 0)
		return 1;
	int epoll = epoll_create1(EPOLL_CLOEXEC);
	if (epoll < 0) {
		perror("echo-server: epoll_create1");
		return 1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = listener };
	if (epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &ev) < 0) {
		perror("echo-server: epoll_ctl");
		return 1;
	}
	/* the marker a boot test waits for: printed only once connections can be accepted */
	printf("echo-server: listening on %ld\n", port);
	fflush(stdout);

	struct epoll_event events[MAX_EVENTS];
	for (;;) {
		int ready = epoll_wait(epoll, events, MAX_EVENTS, -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			perror("echo-server: epoll_wait");
			return 1;
		}
		for (int i = 0; i < ready; i++) {
			int fd = events[i].data.fd;
			if (fd == listener) {
				int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
				if (client < 0)
					continue; /* the client may have given up already */
				struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = client };
				if (epoll_ctl(epoll, EPOLL_CTL_ADD, client, &cev) < 0)
					close(client);
				continue;
			}
			if (echo_once(fd) < 0) {
				/* closing the fd also removes it from the epoll set */
				close(fd);
			}
		}
	}
}
