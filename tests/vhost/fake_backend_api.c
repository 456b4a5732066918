/*
 * Fake back-end, the test-facing side: fault scripting, waiting for and inspecting what the
 * front-end sent, guest memory through the back-end's mappings, and driving the back-end
 * channel from the test thread. Everything takes fb->lock.
 */
#include "fake_backend.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "fake_backend_rules.h"

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void fake_backend_set_fault(struct fake_backend *fb, enum fb_fault f, unsigned int at, uint32_t req)
{
    pthread_mutex_lock(&fb->lock);
    fb->cfg.fault = f;
    fb->cfg.fault_at = at;
    fb->cfg.fault_req = req;
    pthread_mutex_unlock(&fb->lock);
}

static unsigned int count_locked(struct fake_backend *fb, uint32_t req)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < fb->nlog; i++)
        n += req == 0 || fb->log[i].request == req;
    return n;
}

bool fake_backend_wait(struct fake_backend *fb, uint32_t req, unsigned int count, int timeout_ms)
{
    struct timespec until;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&fb->lock);
    while (count_locked(fb, req) < count)
        if (pthread_cond_timedwait(&fb->cond, &fb->lock, &until) == ETIMEDOUT)
            break;
    ok = count_locked(fb, req) >= count;
    pthread_mutex_unlock(&fb->lock);
    return ok;
}

unsigned int fake_backend_count(struct fake_backend *fb, uint32_t req)
{
    unsigned int n;

    pthread_mutex_lock(&fb->lock);
    n = count_locked(fb, req);
    pthread_mutex_unlock(&fb->lock);
    return n;
}

bool fake_backend_msg(struct fake_backend *fb, unsigned int i, struct fb_msg *out)
{
    bool ok;

    pthread_mutex_lock(&fb->lock);
    ok = i < fb->nlog;
    if (ok)
        *out = fb->log[i];
    pthread_mutex_unlock(&fb->lock);
    return ok;
}

bool fake_backend_last(struct fake_backend *fb, uint32_t req, struct fb_msg *out)
{
    bool ok = false;

    pthread_mutex_lock(&fb->lock);
    for (unsigned int i = fb->nlog; i-- > 0;) {
        if (fb->log[i].request == req) {
            *out = fb->log[i];
            ok = true;
            break;
        }
    }
    pthread_mutex_unlock(&fb->lock);
    return ok;
}

unsigned int fake_backend_violations(struct fake_backend *fb)
{
    unsigned int n;

    pthread_mutex_lock(&fb->lock);
    n = fb->nviolations;
    pthread_mutex_unlock(&fb->lock);
    return n;
}

const char *fake_backend_violation(struct fake_backend *fb, unsigned int i)
{
    return i < fb->nviolations ? fb->violations[i] : "";
}

const void *fake_backend_gpa(struct fake_backend *fb, uint64_t gpa, size_t len)
{
    const void *p = NULL;

    pthread_mutex_lock(&fb->lock);
    for (unsigned int i = 0; i < fb->nregions; i++) {
        const struct fb_region *r = &fb->regions[i];

        if (gpa >= r->r.gpa && gpa - r->r.gpa <= r->r.size && len <= r->r.size - (gpa - r->r.gpa)) {
            p = r->map + r->r.mmap_offset + (gpa - r->r.gpa);
            break;
        }
    }
    pthread_mutex_unlock(&fb->lock);
    return p;
}

int fake_backend_kick_fd(struct fake_backend *fb, unsigned int q)
{
    int fd;

    pthread_mutex_lock(&fb->lock);
    fd = q < FB_MAX_RINGS ? fb->kick_fd[q] : -1;
    pthread_mutex_unlock(&fb->lock);
    return fd;
}

int fake_backend_call_fd(struct fake_backend *fb, unsigned int q)
{
    int fd;

    pthread_mutex_lock(&fb->lock);
    fd = q < FB_MAX_RINGS ? fb->call_fd[q] : -1;
    pthread_mutex_unlock(&fb->lock);
    return fd;
}

int fake_backend_chan_send(struct fake_backend *fb, uint32_t req, uint32_t flags,
                           const void *payload, uint32_t size, int fd)
{
    struct vu_wire_hdr hdr = {.request = req, .flags = flags, .size = size};
    int chan;

    pthread_mutex_lock(&fb->lock);
    chan = fb->chan_fd;
    pthread_mutex_unlock(&fb->lock);
    if (chan < 0)
        return -ENOTCONN;
    return fb_send_raw(chan, &hdr, payload, size, fd) < 0 ? -errno : 0;
}

int fake_backend_chan_reply(struct fake_backend *fb, struct vu_wire_hdr *hdr, uint64_t *val)
{
    struct pollfd p;
    int chan;

    pthread_mutex_lock(&fb->lock);
    chan = fb->chan_fd;
    pthread_mutex_unlock(&fb->lock);
    p = (struct pollfd){.fd = chan, .events = POLLIN};
    if (chan < 0)
        return -ENOTCONN;
    if (poll(&p, 1, 2000) != 1)
        return -ETIMEDOUT;
    if (read(chan, hdr, sizeof(*hdr)) != sizeof(*hdr))
        return -EPROTO;
    if (hdr->size != sizeof(*val) || read(chan, val, sizeof(*val)) != sizeof(*val))
        return -EPROTO;
    return 0;
}

void fake_backend_chan_close(struct fake_backend *fb)
{
    pthread_mutex_lock(&fb->lock);
    close_fd(&fb->chan_fd);
    pthread_mutex_unlock(&fb->lock);
}
