/*
 * gbench: the guest side of tools/bench netgg and fs, a static program in the bench
 * initramfs (busybox has neither UDP nor a clock finer than /proc/uptime's 10 ms).
 * Prints one "GBENCH <phase> key=value..." line per measurement; times with CLOCK_MONOTONIC.
 *
 *   gbench recv PORT                           TCP then UDP receiver (one sender)
 *   gbench send HOST PORT BYTES COUNT SIZE     TCP stream of BYTES, then COUNT UDP datagrams
 *   gbench read FILE                           sequential read of FILE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE         (1 << 20)
#define CONNECT_TRIES    600   /* one a second: the peer may still be booting */
#define UDP_IDLE_MS      30000 /* the receiver gives up after this long without a datagram */
#define UDP_END_EVERY_MS 20    /* the sender repeats its end datagram until it hears back */
#define UDP_DATA         'D'
#define UDP_END          'E'

static char buf[BUF_SIZE];

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "gbench: %s: %s\n", what, strerror(errno));
    return 1;
}

static struct sockaddr_in addr_of(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

    if (host)
        inet_pton(AF_INET, host, &a.sin_addr);
    else
        a.sin_addr.s_addr = htonl(INADDR_ANY);
    return a;
}

/* The receiver's reports travel back on the TCP connection as one line each. */
static int send_line(int fd, const char *line)
{
    size_t len = strlen(line);

    return write(fd, line, len) == (ssize_t)len ? 0 : -1;
}

static int recv_udp(int ufd, int cfd)
{
    uint64_t count = 0, bytes = 0, first = 0, last = 0;
    struct pollfd p = {.fd = ufd, .events = POLLIN};
    char line[160];

    for (;;) {
        if (poll(&p, 1, UDP_IDLE_MS) <= 0) {
            fprintf(stderr, "gbench: no UDP datagram for %d ms\n", UDP_IDLE_MS);
            break;
        }
        ssize_t n = recv(ufd, buf, BUF_SIZE, 0);
        if (n <= 0)
            continue;
        if (buf[0] == UDP_END)
            break;
        last = now_ns();
        if (!count)
            first = last;
        count++;
        bytes += (uint64_t)n;
    }
    /* Rates over first -> last datagram: count - 1 intervals. */
    snprintf(line, sizeof(line), "udp count=%llu bytes=%llu ns=%llu\n", (unsigned long long)count,
             (unsigned long long)bytes, (unsigned long long)(last - first));
    printf("GBENCH udp-recv %s", line + 4);
    return send_line(cfd, line);
}

static int cmd_recv(int port)
{
    struct sockaddr_in a = addr_of(NULL, port);
    int one = 1, lfd, cfd, ufd;
    uint64_t bytes = 0, start, end;
    char line[160];
    ssize_t n;

    /* UDP is bound first, so datagrams queue while the TCP phase ends. */
    ufd = socket(AF_INET, SOCK_DGRAM, 0);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (ufd < 0 || lfd < 0)
        return die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ufd, (struct sockaddr *)&a, sizeof(a)) ||
        bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1))
        return die("bind/listen");
    printf("GBENCH listening port=%d\n", port);
    fflush(stdout);
    cfd = accept(lfd, NULL, NULL);
    if (cfd < 0)
        return die("accept");
    /* From the accepted connection to the sender's FIN: all bytes delivered to us. */
    start = now_ns();
    while ((n = read(cfd, buf, BUF_SIZE)) > 0)
        bytes += (uint64_t)n;
    end = now_ns();
    if (n < 0)
        return die("read");
    snprintf(line, sizeof(line), "tcp bytes=%llu ns=%llu\n", (unsigned long long)bytes,
             (unsigned long long)(end - start));
    printf("GBENCH tcp-recv %s", line + 4);
    fflush(stdout);
    if (send_line(cfd, line))
        return die("report");
    return recv_udp(ufd, cfd) ? die("report") : 0;
}

/* Reads one report line from the receiver into line (NUL-terminated). */
static int read_line(int fd, char *line, size_t size)
{
    size_t len = 0;

    while (len + 1 < size) {
        if (read(fd, line + len, 1) != 1)
            return -1;
        if (line[len++] == '\n')
            break;
    }
    line[len] = '\0';
    return 0;
}

static int send_udp(int cfd, const char *host, int port, uint64_t count, size_t size)
{
    struct sockaddr_in a = addr_of(host, port);
    struct pollfd p = {.fd = cfd, .events = POLLIN};
    int ufd = socket(AF_INET, SOCK_DGRAM, 0);
    uint64_t sent = 0, start, end;
    char line[160];

    if (ufd < 0 || connect(ufd, (struct sockaddr *)&a, sizeof(a)))
        return die("udp socket");
    memset(buf, 0x5a, size);
    buf[0] = UDP_DATA;
    start = now_ns();
    for (uint64_t i = 0; i < count; i++)
        if (send(ufd, buf, size, 0) == (ssize_t)size)
            sent++;
    end = now_ns();
    printf("GBENCH udp-send count=%llu sent=%llu size=%zu ns=%llu\n", (unsigned long long)count,
           (unsigned long long)sent, size, (unsigned long long)(end - start));
    fflush(stdout);
    /* The end datagram may be dropped like any other: repeat it until the report comes. */
    buf[0] = UDP_END;
    while (poll(&p, 1, UDP_END_EVERY_MS) == 0)
        (void)send(ufd, buf, 1, 0);
    if (read_line(cfd, line, sizeof(line)))
        return die("udp report");
    printf("GBENCH udp-peer %s", line + 4);
    return 0;
}

static int cmd_send(const char *host, int port, uint64_t bytes, uint64_t count, size_t size)
{
    struct sockaddr_in a = addr_of(host, port);
    uint64_t left = bytes, start, end;
    char line[160];
    int fd = -1;

    for (int i = 0; i < CONNECT_TRIES; i++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return die("socket");
        if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
            break;
        close(fd);
        fd = -1;
        sleep(1);
    }
    if (fd < 0)
        return die("connect");
    memset(buf, 0xa5, BUF_SIZE);
    start = now_ns();
    while (left) {
        size_t chunk = left < 65536 ? (size_t)left : 65536;
        ssize_t n = write(fd, buf, chunk);
        if (n <= 0)
            return die("write");
        left -= (uint64_t)n;
    }
    shutdown(fd, SHUT_WR);
    /* Until the receiver reports: the time includes delivery, not just queueing. */
    if (read_line(fd, line, sizeof(line)))
        return die("tcp report");
    end = now_ns();
    printf("GBENCH tcp-send bytes=%llu ns=%llu\n", (unsigned long long)bytes,
           (unsigned long long)(end - start));
    printf("GBENCH tcp-peer %s", line + 4);
    fflush(stdout);
    if (size < 1 || size > BUF_SIZE)
        size = 64;
    return send_udp(fd, host, port, count, size);
}

static int cmd_read(const char *path)
{
    uint64_t bytes = 0, start, end;
    ssize_t n;
    int fd;

    start = now_ns();
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return die(path);
    while ((n = read(fd, buf, BUF_SIZE)) > 0)
        bytes += (uint64_t)n;
    end = now_ns();
    if (n < 0)
        return die("read");
    close(fd);
    printf("GBENCH read bytes=%llu ns=%llu\n", (unsigned long long)bytes,
           (unsigned long long)(end - start));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "recv"))
        return cmd_recv(atoi(argv[2]));
    if (argc == 7 && !strcmp(argv[1], "send"))
        return cmd_send(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 0),
                        strtoull(argv[5], NULL, 0), (size_t)strtoul(argv[6], NULL, 0));
    if (argc == 3 && !strcmp(argv[1], "read"))
        return cmd_read(argv[2]);
    fprintf(stderr, "usage: gbench recv PORT | send HOST PORT BYTES COUNT SIZE | read FILE\n");
    return 2;
}
