// The least any process can spend on the many-paths checks: one epoll loop in C, no runtime at all. Each path is
// connected every interval (spread evenly over it, as the Node floor and the manager spread theirs), read until
// the SSH banner's first 4 bytes, and reset (SO_LINGER 0, so no TIME_WAIT), with a 1 s limit per check. What is
// left is the kernel's share: the connect, the wake-ups, the read, the reset.
// Build: cc -O2 -o probe-floor probe-floor.c
// Usage: probe-floor <ports-file> <paths> <interval-ms>; prints `ready <n>`, runs until SIGTERM.
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 100000
#define LIMIT_MS 1000.0

static int ports[MAX_PATHS];
static int fds[MAX_PATHS];
static int seen[MAX_PATHS];
static double started[MAX_PATHS];
static int inflight;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// Reset rather than close: a check every interval would otherwise leave a TIME_WAIT socket each time.
static void finish(int ep, int i) {
  struct linger reset = {1, 0};
  setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
  close(fds[i]);
  fds[i] = -1;
  inflight--;
}

static void check(int ep, int i) {
  if (fds[i] >= 0) finish(ep, i);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((unsigned short)ports[i]);
  to.sin_addr.s_addr = htonl(0x7f000001);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
    close(fd);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  fds[i] = fd;
  inflight++;
  seen[i] = 0;
  started[i] = now_ms();
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: probe-floor <ports-file> <paths> <interval-ms>\n");
    return 2;
  }
  FILE *file = fopen(argv[1], "r");
  if (!file) {
    perror(argv[1]);
    return 2;
  }
  int available = 0;
  while (available < MAX_PATHS && fscanf(file, "%d,", &ports[available]) == 1) available++;
  fclose(file);
  int paths = atoi(argv[2]);
  double interval = atof(argv[3]);
  if (available < 1 || paths < 1 || paths > MAX_PATHS || interval <= 0) {
    fprintf(stderr, "probe-floor: expected ports in %s, 1..%d paths and an interval in ms\n", argv[1], MAX_PATHS);
    return 2;
  }
  for (int i = 0; i < paths; i++) {
    ports[i] = ports[i % available];
    fds[i] = -1;
  }
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(0);
  double start = now_ms();
  double step = interval / paths;
  long next = 0;  // the next check to start: path next % paths, due at start + next * step
  printf("ready %d\n", paths);
  fflush(stdout);
  struct epoll_event events[256];
  for (;;) {
    double now = now_ms();
    while (start + next * step <= now) check(ep, (int)(next++ % paths));
    // Checks start in path order, so the oldest one in flight is the next to run out of time.
    double wake = start + next * step;
    for (long k = next - paths; inflight > 0 && k < next; k++) {
      int i = (int)(((k % paths) + paths) % paths);
      if (k >= 0 && fds[i] >= 0) {
        if (started[i] + LIMIT_MS <= now) finish(ep, i);
        else if (started[i] + LIMIT_MS < wake) wake = started[i] + LIMIT_MS;
        break;
      }
    }
    double wait = wake - now_ms();
    int n = epoll_wait(ep, events, 256, wait <= 0 ? 0 : (int)wait + 1);
    for (int e = 0; e < n; e++) {
      int i = (int)events[e].data.u32;
      if (fds[i] < 0) continue;
      char buffer[256];
      ssize_t got = read(fds[i], buffer, sizeof buffer);
      if (got < 0 && errno == EAGAIN) continue;
      if (got > 0) seen[i] += (int)got;
      // Judged once 4 bytes came (the banner's `SSH-`), or the target closed or failed.
      if (got <= 0 || seen[i] >= 4) finish(ep, i);
    }
  }
}
