/*
 * The test-result device (protocol in testdev.h): a register file and a text
 * buffer the test firmware fills, turned into "MINIVMM-TEST" lines on stdout
 * and a final status. The guest is hostile: lengths are bounded, text is
 * escaped, and nothing it writes can end the run except FINISH.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "testdev.h"

#define TESTDEV_NAME_MAX 64
#define TESTDEV_FILE_MAX 128 /* bytes of an assertion's file name that are printed */
/* Room before the text: "MINIVMM-TEST", name, kind and an assertion's "file:line: ". */
#define TESTDEV_HEAD_MAX 1024
/* Worst case: every buffer byte escaped as \xNN, plus the head and the newline. */
#define TESTDEV_LINE_MAX (TESTDEV_HEAD_MAX + 4 * TESTDEV_BUF_SIZE + 1)

struct testdev {
    pthread_mutex_t lock;
    int out_fd;
    testdev_finish_fn *finish;
    void *opaque;
    uint32_t arg, len, status;
    char test[TESTDEV_NAME_MAX + 1];
    unsigned int passes, fails;
    bool finished;
    bool warned_access; /* bad accesses are logged once, the guest may repeat them */
    uint8_t buf[TESTDEV_BUF_SIZE];
    char line[TESTDEV_LINE_MAX]; /* the line being printed, under the lock */
};

struct testdev *testdev_create(int out_fd, testdev_finish_fn *finish, void *opaque)
{
    struct testdev *td = calloc(1, sizeof(*td));

    if (!td)
        return NULL;
    if (pthread_mutex_init(&td->lock, NULL) != 0) {
        free(td);
        return NULL;
    }
    td->out_fd = out_fd;
    td->finish = finish;
    td->opaque = opaque;
    strcpy(td->test, "firmware");
    return td;
}

void testdev_destroy(struct testdev *td)
{
    if (!td)
        return;
    pthread_mutex_destroy(&td->lock);
    free(td);
}

int testdev_attach(struct testdev *td, struct bus *mmio, uint64_t base)
{
    struct bus_device dev = {
        .name = "testdev",
        .base = base,
        .size = LAYOUT_TESTDEV_SIZE,
        .opaque = td,
        .read = testdev_read,
        .write = testdev_write,
    };

    return bus_register(mmio, &dev);
}

static int status_locked(const struct testdev *td)
{
    if (td->fails)
        return 1;
    return td->passes ? 0 : 2;
}

int testdev_status(struct testdev *td)
{
    int status;

    pthread_mutex_lock(&td->lock);
    status = status_locked(td);
    pthread_mutex_unlock(&td->lock);
    return status;
}

void testdev_save(struct testdev *td, struct testdev_state *out)
{
    _Static_assert(sizeof(out->test) == TESTDEV_NAME_MAX + 1, "same name size");
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&td->lock);
    memcpy(out->test, td->test, sizeof(out->test));
    out->passes = td->passes;
    out->fails = td->fails;
    out->finished = td->finished;
    pthread_mutex_unlock(&td->lock);
}

/* The state comes from a stream: the name is re-terminated, nothing else needs bounds. */
void testdev_load(struct testdev *td, const struct testdev_state *in)
{
    pthread_mutex_lock(&td->lock);
    memcpy(td->test, in->test, sizeof(td->test));
    td->test[TESTDEV_NAME_MAX] = '\0';
    td->passes = in->passes;
    td->fails = in->fails;
    td->finished = in->finished != 0;
    pthread_mutex_unlock(&td->lock);
}

/* Appends text with everything but printable ASCII escaped; returns the new length. */
static size_t append_escaped(char *line, size_t pos, const uint8_t *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        uint8_t c = text[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            line[pos++] = (char)c;
        } else if (c == '\\') {
            line[pos++] = '\\';
            line[pos++] = '\\';
        } else {
            line[pos++] = '\\';
            line[pos++] = 'x';
            line[pos++] = hex[c >> 4];
            line[pos++] = hex[c & 15];
        }
    }
    return pos;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            log_warn("testdev: writing a report: %s", r < 0 ? strerror(errno) : "short write");
            return;
        }
        p += r;
        n -= (size_t)r;
    }
}

/* Prints "MINIVMM-TEST <test> <kind> <head><text>": head is ours (trusted), text escaped. */
static void print_line(struct testdev *td, const char *kind, const char *head, const uint8_t *text,
                       size_t len)
{
    int n = snprintf(td->line, TESTDEV_HEAD_MAX, "MINIVMM-TEST %s %s %s", td->test, kind, head);
    size_t pos = n < 0 ? 0 : (size_t)n < TESTDEV_HEAD_MAX ? (size_t)n : TESTDEV_HEAD_MAX - 1;

    pos = append_escaped(td->line, pos, text, len < TESTDEV_BUF_SIZE ? len : TESTDEV_BUF_SIZE);
    td->line[pos++] = '\n';
    write_all(td->out_fd, td->line, pos);
}

static void cmd_begin(struct testdev *td)
{
    size_t n = td->len < TESTDEV_NAME_MAX ? td->len : TESTDEV_NAME_MAX;

    if (n == 0) {
        td->status = TESTDEV_ERR_FORMAT;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = (char)td->buf[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        td->test[i] = ok ? c : '_';
    }
    td->test[n] = '\0';
    log_debug("testdev: test %s begins", td->test);
}

/* Buffer "file\0expr", ARG = line; without the NUL the whole buffer is the file. */
static void cmd_assert(struct testdev *td)
{
    const uint8_t *nul = memchr(td->buf, '\0', td->len);
    size_t flen = nul ? (size_t)(nul - td->buf) : td->len;
    char head[TESTDEV_HEAD_MAX - 128];
    size_t pos = strlen(strcpy(head, "assertion at "));

    pos = append_escaped(head, pos, td->buf, flen < TESTDEV_FILE_MAX ? flen : TESTDEV_FILE_MAX);
    snprintf(head + pos, sizeof(head) - pos, ":%u: ", td->arg);
    td->fails++;
    if (nul)
        print_line(td, "FAIL", head, nul + 1, td->len - flen - 1);
    else
        print_line(td, "FAIL", head, NULL, 0);
}

/* Runs one command; returns true when it was FINISH (the caller then calls finish()). */
static bool run_command(struct testdev *td, uint32_t cmd)
{
    td->status = TESTDEV_OK;
    if (td->finished) {
        td->status = TESTDEV_ERR_FINISHED;
        return false;
    }
    if (td->len > TESTDEV_BUF_SIZE) {
        td->status = TESTDEV_ERR_LEN;
        return false;
    }
    switch (cmd) {
    case TESTDEV_CMD_BEGIN:
        cmd_begin(td);
        return false;
    case TESTDEV_CMD_PASS:
        td->passes++;
        print_line(td, "PASS", "", td->buf, td->len);
        return false;
    case TESTDEV_CMD_FAIL:
        td->fails++;
        print_line(td, "FAIL", "", td->buf, td->len);
        return false;
    case TESTDEV_CMD_FIGURE: {
        const uint8_t *eq = memchr(td->buf, '=', td->len);
        if (!eq || eq == td->buf) {
            td->status = TESTDEV_ERR_FORMAT;
            return false;
        }
        print_line(td, "FIGURE", "", td->buf, td->len);
        return false;
    }
    case TESTDEV_CMD_LOG:
        print_line(td, "LOG", "", td->buf, td->len);
        return false;
    case TESTDEV_CMD_ASSERT:
        cmd_assert(td);
        return false;
    case TESTDEV_CMD_FINISH: {
        char status[16];
        snprintf(status, sizeof(status), "%d", status_locked(td));
        print_line(td, "FINISH", status, NULL, 0);
        td->finished = true;
        return true;
    }
    default:
        td->status = TESTDEV_ERR_CMD;
        return false;
    }
}

static bool register_access_ok(struct testdev *td, uint64_t offset, unsigned int len, bool write)
{
    if (len == 4 && offset % 4 == 0)
        return true;
    if (!td->warned_access) {
        log_warn("testdev: refused %u-byte %s at offset 0x%llx (registers are 32-bit)", len,
                 write ? "write" : "read", (unsigned long long)offset);
        td->warned_access = true;
    }
    return false;
}

void testdev_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
    struct testdev *td = opaque;
    uint32_t v = 0;

    memset(data, 0, len);
    if (offset >= TESTDEV_BUF)
        return; /* the buffer is write-only */
    pthread_mutex_lock(&td->lock);
    if (!register_access_ok(td, offset, len, false)) {
        memset(data, 0xff, len);
        pthread_mutex_unlock(&td->lock);
        return;
    }
    switch (offset) {
    case TESTDEV_REG_MAGIC:
        v = TESTDEV_MAGIC;
        break;
    case TESTDEV_REG_VERSION:
        v = TESTDEV_VERSION;
        break;
    case TESTDEV_REG_ARG:
        v = td->arg;
        break;
    case TESTDEV_REG_LEN:
        v = td->len;
        break;
    case TESTDEV_REG_STATUS:
        v = td->status;
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&td->lock);
    memcpy(data, &v, sizeof(v));
}

void testdev_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
    struct testdev *td = opaque;
    bool finished = false;
    uint32_t v;

    pthread_mutex_lock(&td->lock);
    if (offset >= TESTDEV_BUF) {
        if ((len == 1 || len == 2 || len == 4 || len == 8) &&
            offset + len <= TESTDEV_BUF + TESTDEV_BUF_SIZE)
            memcpy(td->buf + (offset - TESTDEV_BUF), data, len);
        pthread_mutex_unlock(&td->lock);
        return;
    }
    if (!register_access_ok(td, offset, len, true)) {
        pthread_mutex_unlock(&td->lock);
        return;
    }
    memcpy(&v, data, sizeof(v));
    switch (offset) {
    case TESTDEV_REG_ARG:
        td->arg = v;
        break;
    case TESTDEV_REG_LEN:
        td->len = v;
        break;
    case TESTDEV_REG_CMD:
        finished = run_command(td, v);
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&td->lock);
    if (finished && td->finish)
        td->finish(td->opaque, testdev_status(td));
}
