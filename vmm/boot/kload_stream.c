/*
 * Streaming the load plan into guest RAM with userfaultfd (MISSING mode on the memfd
 * mapping KVM uses): until a page is written, any access to it waits in the kernel;
 * UFFDIO_COPY fills the page atomically and wakes whoever waits on it. The stream writes
 * pieces in address order as their bytes become ready, so the guest's first pages (the
 * kernel's entry) come first; closing the userfaultfd at the end, or on failure, releases
 * every remaining waiter.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kload_int.h"

/* Pages per UFFDIO_COPY: waiters wake when a whole call ends, so keep it short. */
#define KLOAD_CHUNK (64u * KLOAD_PAGE)

static uint64_t kload_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A userfaultfd, through the system call or, where that is restricted, /dev/userfaultfd. */
static int kload_uffd_open(void)
{
    struct uffdio_api api = {.api = UFFD_API};
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

        if (dev < 0)
            return -errno;
        fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
        close(dev);
        if (fd < 0)
            return -errno;
    }
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        int ret = -errno;
        close(fd);
        return ret;
    }
    return fd;
}

static int kload_register(struct kload *l, const struct kload_piece *p)
{
    uint64_t start = p->gpa & ~(uint64_t)(KLOAD_PAGE - 1);
    uint64_t end = (p->gpa + p->len + KLOAD_PAGE - 1) & ~(uint64_t)(KLOAD_PAGE - 1);
    void *hva = gmem_ptr(l->gm, start, end - start);
    struct uffdio_register reg = {
        .range = {(uintptr_t)hva, end - start},
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };

    if (!hva)
        return -EFAULT;
    if (ioctl(l->uffd, UFFDIO_REGISTER, &reg) < 0)
        return -errno;
    return reg.ioctls & (1ULL << _UFFDIO_COPY) ? 0 : -ENOTSUP;
}

/*
 * Writes len bytes (whole pages) at gpa. A page that already exists was created by someone
 * else's access through another mapping of the memfd (a back-end): it is written in place,
 * since UFFDIO_COPY only fills holes.
 */
static int kload_copy(struct kload *l, uint64_t gpa, const uint8_t *src, uint64_t len)
{
    uint8_t *hva = gmem_ptr(l->gm, gpa, len);
    uint64_t done = 0;

    while (done < len) {
        struct uffdio_copy c = {
            .dst = (uintptr_t)(hva + done), .src = (uintptr_t)(src + done), .len = len - done};

        if (ioctl(l->uffd, UFFDIO_COPY, &c) == 0) {
            done = len;
        } else if (errno == EAGAIN || errno == EINTR) {
            done += c.copy > 0 ? (uint64_t)c.copy : 0;
        } else if (errno == EEXIST) {
            struct uffdio_range page = {(uintptr_t)(hva + done), KLOAD_PAGE};

            memcpy(hva + done, src + done, KLOAD_PAGE);
            (void)ioctl(l->uffd, UFFDIO_WAKE, &page);
            done += KLOAD_PAGE;
        } else {
            return -errno;
        }
    }
    l->stats.bytes += len;
    return 0;
}

/*
 * Writes the next run of ready pages of p: up to KLOAD_CHUNK straight from the source, or
 * one edge page (the piece starts or ends inside it) through a zeroed bounce page.
 * Returns 1 when it wrote something, 0 when nothing of p is ready, -errno.
 */
static int kload_stream_step(struct kload *l, struct kload_piece *p)
{
    static _Thread_local uint8_t bounce[KLOAD_PAGE];
    uint64_t ready = kload_ready(l, p), at = p->gpa + p->done, end = p->gpa + p->len;
    uint64_t page = at & ~(uint64_t)(KLOAD_PAGE - 1), n;
    int ret;

    if (at != page || end - page < KLOAD_PAGE) {
        n = (end - page < KLOAD_PAGE ? end : page + KLOAD_PAGE) - at;
        if (p->done + n > ready)
            return 0;
        memset(bounce, 0, sizeof(bounce));
        memcpy(bounce + (at - page), p->src + p->done, n);
        ret = kload_copy(l, page, bounce, KLOAD_PAGE);
    } else {
        n = (end - page) & ~(uint64_t)(KLOAD_PAGE - 1);
        if (n > ((ready - p->done) & ~(uint64_t)(KLOAD_PAGE - 1)))
            n = (ready - p->done) & ~(uint64_t)(KLOAD_PAGE - 1);
        if (n > KLOAD_CHUNK)
            n = KLOAD_CHUNK;
        if (n == 0)
            return 0;
        ret = kload_copy(l, page, p->src + p->done, n);
    }
    if (ret < 0)
        return ret;
    p->done += n;
    return 1;
}

/* Counts the accesses that waited (the messages are only information: copies wake them). */
static void kload_count_faults(struct kload *l)
{
    struct uffd_msg msg[16];
    ssize_t n;

    while ((n = read(l->uffd, msg, sizeof(msg))) > 0)
        for (size_t i = 0; i < (size_t)n / sizeof(msg[0]); i++)
            l->stats.faults += msg[i].event == UFFD_EVENT_PAGEFAULT;
}

/*
 * Strictly in address order: the first unfinished piece gets the next write, and when none
 * of it is ready the producer makes more. Guests touch their kernel before their initrd.
 */
static int kload_stream_run(struct kload *l)
{
    int produced = 1;
    unsigned int i = 0;

    for (;;) {
        int wrote;

        while (i < l->npieces && l->pieces[i].done == l->pieces[i].len)
            i++;
        if (i == l->npieces)
            return 0;
        wrote = kload_stream_step(l, &l->pieces[i]);
        if (wrote < 0)
            return wrote;
        kload_count_faults(l);
        if (__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE))
            return -ECANCELED;
        if (wrote)
            continue;
        if (produced == 0 || !l->prod.step)
            return -EIO; /* everything is produced, yet the piece is not ready: cannot happen */
        produced = l->prod.step(l->prod.ctx);
        if (produced < 0)
            return produced;
    }
}

static void *kload_stream_main(void *arg)
{
    struct kload *l = arg;
    char reason[128];
    int ret;

    pthread_setname_np(pthread_self(), "kernel-stream");
    for (unsigned int i = 0; i < l->nmaps; i++) /* the sources are read front to back now */
        (void)madvise(l->maps[i].addr, l->maps[i].len, MADV_SEQUENTIAL);
    ret = kload_stream_run(l);
    /* Reported before the waiters are released: what they run next is not the cause. */
    if (ret < 0 && ret != -ECANCELED && l->on_error) {
        snprintf(reason, sizeof(reason), "loading the kernel into guest RAM failed: %s",
                 strerror(-ret));
        l->on_error(l->opaque, reason);
    }
    kload_count_faults(l);
    close(l->uffd); /* unregisters every range and wakes anything still waiting */
    l->uffd = -1;
    kload_release_sources(l); /* the VMM's RSS is its own again */
    l->stats.end_ns = kload_now_ns();
    pthread_mutex_lock(&l->lock);
    l->finished = true;
    l->result = ret;
    pthread_cond_broadcast(&l->finished_cond);
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int kload_stream_start(struct kload *l, struct gmem *gm)
{
    int ret = kload_uffd_open();

    if (ret < 0)
        return ret;
    l->uffd = ret;
    l->gm = gm;
    for (unsigned int i = 0; i < l->npieces && ret >= 0; i++)
        ret = kload_register(l, &l->pieces[i]);
    if (ret < 0) {
        close(l->uffd); /* nothing was written: every registered page is still a hole */
        l->uffd = -1;
        return ret;
    }
    l->streaming = true;
    return 0;
}

int kload_go(struct kload *l)
{
    int ret;

    if (!l->streaming || l->thread_started || l->finished)
        return 0;
    l->stats.start_ns = kload_now_ns();
    ret = pthread_create(&l->thread, NULL, kload_stream_main, l);
    if (ret) {
        log_err("cannot start streaming the kernel: %s", strerror(ret));
        return -ret;
    }
    l->thread_started = true;
    return 0;
}
