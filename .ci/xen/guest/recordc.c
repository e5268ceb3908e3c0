/*
 * recordc: the client of the Xen pair stage. It stores numbered records in the guest's service
 * (recordd), one after another, and prints each acknowledgement with its own clock, so that the
 * stage can tell how long the service was away during a migration or after a power cut, and
 * which records were acknowledged. It reconnects by itself when the service goes away.
 *
 *   recordc HOST PORT INTERVAL_MS
 *
 * Output lines (times in ms on CLOCK_MONOTONIC):
 *   ACK n t        record n was acknowledged at t
 *   DOWN t why     the connection was lost at t
 *   UP t           connected again at t
 *   VERIFY n ok    after 'verify': every record 1..n read back as written
 *   VERIFY n bad m record m (of 1..n) is missing or wrong
 *   CRASHED t      after 'crash': the guest was asked to crash its kernel
 *   PROBE t        while a request has waited over a second, a fresh connection got an answer at t:
 *                  the service is up again (after a power cut or a crash) even if this
 *                  connection still waits out TCP's retransmission backoff; once per outage
 * Commands on standard input: 'verify' (stop writing, read every acknowledged record back, then
 * go on writing), 'crash' (ask the guest to crash its kernel, then go on), 'quit'.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How long a request may wait for its answer before the client gives the connection up: as long
   as a database driver would, and longer than TCP's retransmission backoff after a migration's
   pause of several seconds under software emulation. */
#define ANSWER_MS 60000

static const char *host;
static int port;
static int fd = -1;
static char inbuf[8192];
static size_t inlen;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void payload(unsigned long long n, char *out, size_t size) {
    unsigned long long hash = n * 0x9E3779B97F4A7C15ull;
    snprintf(out, size, "record-%llu-%016llx", n, hash);
}

static void drop(const char *why) {
    if (fd >= 0) {
        close(fd);
        fd = -1;
        printf("DOWN %lld %s\n", now_ms(), why);
    }
    inlen = 0;
}

static int connect_once(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    inet_pton(AF_INET, host, &address.sin_addr);
    struct timeval timeout = {.tv_sec = 2};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (connect(s, (struct sockaddr *) &address, sizeof address) != 0) {
        close(s);
        return -1;
    }
    int on = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    fd = s;
    printf("UP %lld\n", now_ms());
    return 0;
}

static int probe_reported;

/* Asks the service for LAST on a connection of its own; 0 if it answered within a second. The
   service takes one client at a time, so while this client's connection lives the probe is not
   answered: it tells when a new instance of the service is up. */
static int probe(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    inet_pton(AF_INET, host, &address.sin_addr);
    struct timeval timeout = {.tv_usec = 500000};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    int answered = -1;
    if (connect(s, (struct sockaddr *) &address, sizeof address) == 0 && write(s, "LAST\n", 5) == 5) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        char reply[64];
        if (poll(&p, 1, 1000) > 0 && read(s, reply, sizeof reply) > 0 && strncmp(reply, "LAST ", 5) == 0) {
            answered = 0;
        }
    }
    close(s);
    return answered;
}

/* Sends a request and waits up to timeout_ms for one answer line; -1 on a lost connection. */
static int call(const char *request, char *answer, size_t size, int timeout_ms) {
    if (fd < 0 && connect_once() != 0) {
        return -1;
    }
    if (write(fd, request, strlen(request)) != (ssize_t) strlen(request)) {
        drop("write failed");
        return -1;
    }
    long long sent = now_ms();
    long long deadline = sent + timeout_ms;
    long long next_probe = sent + 1000;
    while (1) {
        char *newline = memchr(inbuf, '\n', inlen);
        if (newline != NULL) {
            probe_reported = 0;
            size_t line = (size_t) (newline - inbuf);
            size_t copy = line < size - 1 ? line : size - 1;
            memcpy(answer, inbuf, copy);
            answer[copy] = 0;
            memmove(inbuf, newline + 1, inlen - line - 1);
            inlen -= line + 1;
            return 0;
        }
        long long left = deadline - now_ms();
        if (left <= 0) {
            drop("no answer in time");
            return -1;
        }
        if (!probe_reported && now_ms() >= next_probe) {
            if (probe() == 0) {
                printf("PROBE %lld\n", now_ms());
                probe_reported = 1;
            }
            next_probe = now_ms() + 500;
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int) (left < 500 ? left : 500)) <= 0) {
            continue;
        }
        ssize_t got = read(fd, inbuf + inlen, sizeof inbuf - inlen);
        if (got <= 0) {
            drop(got == 0 ? "closed by the service" : "read failed");
            return -1;
        }
        inlen += (size_t) got;
    }
}

static void verify(unsigned long long acked) {
    char request[128], answer[4096], expected[128], want[256];
    unsigned long long bad = 0;
    for (unsigned long long n = 1; n <= acked; n++) {
        snprintf(request, sizeof request, "GET %llu\n", n);
        while (call(request, answer, sizeof answer, ANSWER_MS) != 0) {
            usleep(200000);
        }
        payload(n, expected, sizeof expected);
        snprintf(want, sizeof want, "VAL %llu %s", n, expected);
        if (strcmp(answer, want) != 0) {
            bad = n;
            break;
        }
    }
    if (bad == 0) {
        printf("VERIFY %llu ok\n", acked);
    } else {
        printf("VERIFY %llu bad %llu\n", acked, bad);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: recordc HOST PORT INTERVAL_MS\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Unbuffered, so that poll() on descriptor 0 sees every command line that has arrived. */
    setvbuf(stdin, NULL, _IONBF, 0);
    host = argv[1];
    port = atoi(argv[2]);
    int interval = atoi(argv[3]);
    unsigned long long next = 1, acked = 0;
    char request[256], answer[4096], value[128], command[64];
    printf("recordc: writing records to %s:%d every %d ms\n", host, port, interval);
    while (1) {
        struct pollfd input = {.fd = 0, .events = POLLIN};
        if (poll(&input, 1, 0) > 0 && fgets(command, sizeof command, stdin) != NULL) {
            if (strncmp(command, "verify", 6) == 0) {
                verify(acked);
            } else if (strncmp(command, "crash", 5) == 0) {
                if (fd >= 0 || connect_once() == 0) {
                    printf("CRASHED %lld\n", now_ms());
                    if (write(fd, "CRASH\n", 6) < 0) {
                        drop("write failed");
                    }
                }
            } else if (strncmp(command, "quit", 4) == 0) {
                return 0;
            }
        }
        if (fd < 0 && connect_once() != 0) {
            usleep(100000);
            continue;
        }
        payload(next, value, sizeof value);
        snprintf(request, sizeof request, "PUT %llu %s\n", next, value);
        if (call(request, answer, sizeof answer, ANSWER_MS) != 0) {
            continue;
        }
        unsigned long long n;
        if (sscanf(answer, "OK %llu", &n) == 1 && n == next) {
            printf("ACK %llu %lld\n", n, now_ms());
            /* Never lower: records rewritten after a loss must not hide it from 'verify'. */
            if (n > acked) {
                acked = n;
            }
            next++;
        } else if (strncmp(answer, "ERR", 3) == 0) {
            /* The service restarted with fewer records than were sent (the unacknowledged ones
               were lost, as they may be): go back to one after the last it holds. */
            if (call("LAST\n", answer, sizeof answer, ANSWER_MS) == 0 && sscanf(answer, "LAST %llu", &n) == 1) {
                if (n < acked) {
                    printf("LOST acknowledged records: the service holds %llu, %llu were acknowledged\n", n, acked);
                }
                next = n + 1;
            }
        }
        usleep((useconds_t) interval * 1000);
    }
}
