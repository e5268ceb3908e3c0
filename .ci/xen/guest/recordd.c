/*
 * recordd: the service in the Xen pair stage's guest. It keeps numbered records on its disk and
 * acknowledges each only once it is durable there (O_DIRECT and O_DSYNC): what the client was
 * told is stored must survive a live migration and a power cut of the host, since the disk is one
 * of the pair's replicated volumes.
 *
 *   recordd DEVICE OFFSET PORT
 *
 * Record n lives in the 4 KiB block at OFFSET + n * 4096: a magic, n, the payload's length and a
 * CRC-32 of the payload, then the payload. On start the service counts the valid records from 1
 * on. Protocol, one line each way:
 *   PUT n payload  ->  OK n           (n at most one above the last record; rewrites are allowed)
 *   GET n          ->  VAL n payload | NONE n
 *   LAST           ->  LAST n
 *   CRASH          ->  (the guest kernel panics: sysrq c)
 * One client at a time; another waits for the first to go.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BLOCK 4096
#define MAGIC "AVREC001"
#define MAX_PAYLOAD 3000

static int disk;
static off_t area;
static uint64_t last;
static unsigned char *block;

static uint32_t crc32(const unsigned char *data, size_t length) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < length; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* Reads record n into buf; returns its length, or -1 if the block holds no valid record n. */
static int read_record(uint64_t n, char *buf) {
    if (pread(disk, block, BLOCK, area + (off_t) n * BLOCK) != BLOCK) {
        return -1;
    }
    uint64_t seq;
    uint32_t length, crc;
    if (memcmp(block, MAGIC, 8) != 0) {
        return -1;
    }
    memcpy(&seq, block + 8, 8);
    memcpy(&length, block + 16, 4);
    memcpy(&crc, block + 20, 4);
    if (seq != n || length > MAX_PAYLOAD || crc32(block + 24, length) != crc) {
        return -1;
    }
    memcpy(buf, block + 24, length);
    buf[length] = 0;
    return (int) length;
}

static int write_record(uint64_t n, const char *payload) {
    uint32_t length = (uint32_t) strlen(payload);
    if (length > MAX_PAYLOAD) {
        return -1;
    }
    memset(block, 0, BLOCK);
    memcpy(block, MAGIC, 8);
    memcpy(block + 8, &n, 8);
    memcpy(block + 16, &length, 4);
    uint32_t crc = crc32((const unsigned char *) payload, length);
    memcpy(block + 20, &crc, 4);
    memcpy(block + 24, payload, length);
    return pwrite(disk, block, BLOCK, area + (off_t) n * BLOCK) == BLOCK ? 0 : -1;
}

static void serve(int client) {
    FILE *in = fdopen(dup(client), "r");
    char line[4096], value[MAX_PAYLOAD + 1], answer[MAX_PAYLOAD + 64];
    while (in != NULL && fgets(line, sizeof line, in) != NULL) {
        line[strcspn(line, "\r\n")] = 0;
        unsigned long long n = 0;
        int used = 0;
        answer[0] = 0;
        if (sscanf(line, "PUT %llu %n", &n, &used) == 1 && used > 0) {
            if (n < 1 || n > last + 1) {
                snprintf(answer, sizeof answer, "ERR %llu out of order (last %llu)\n", n, (unsigned long long) last);
            } else if (write_record(n, line + used) != 0) {
                snprintf(answer, sizeof answer, "ERR %llu write failed: %s\n", n, strerror(errno));
            } else {
                if (n > last) {
                    last = n;
                }
                snprintf(answer, sizeof answer, "OK %llu\n", n);
            }
        } else if (sscanf(line, "GET %llu", &n) == 1) {
            if (read_record(n, value) >= 0) {
                snprintf(answer, sizeof answer, "VAL %llu %s\n", n, value);
            } else {
                snprintf(answer, sizeof answer, "NONE %llu\n", n);
            }
        } else if (strcmp(line, "LAST") == 0) {
            snprintf(answer, sizeof answer, "LAST %llu\n", (unsigned long long) last);
        } else if (strcmp(line, "CRASH") == 0) {
            printf("recordd: crashing the kernel on request\n");
            fflush(stdout);
            int trigger = open("/proc/sysrq-trigger", O_WRONLY);
            if (trigger >= 0 && write(trigger, "c", 1) == 1) {
                pause();
            }
            snprintf(answer, sizeof answer, "ERR cannot crash\n");
        } else {
            snprintf(answer, sizeof answer, "ERR unknown request\n");
        }
        if (write(client, answer, strlen(answer)) < 0) {
            break;
        }
    }
    if (in != NULL) {
        fclose(in);
    }
    close(client);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: recordd DEVICE OFFSET PORT\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A client that went away mid-answer is that client's problem, not the service's end. */
    signal(SIGPIPE, SIG_IGN);
    area = (off_t) strtoll(argv[2], NULL, 10);
    disk = open(argv[1], O_RDWR | O_DIRECT | O_DSYNC);
    if (disk < 0 || posix_memalign((void **) &block, BLOCK, BLOCK) != 0) {
        fprintf(stderr, "recordd: cannot open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    char value[MAX_PAYLOAD + 1];
    while (read_record(last + 1, value) >= 0) {
        last++;
    }
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(argv[3])),
                                  .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(server, (struct sockaddr *) &address, sizeof address) != 0 || listen(server, 4) != 0) {
        fprintf(stderr, "recordd: cannot listen on port %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    printf("recordd: listening on port %s, %llu records on the disk\n", argv[3], (unsigned long long) last);
    while (1) {
        int client = accept(server, NULL, NULL);
        if (client < 0) {
            continue;
        }
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        serve(client);
    }
}
