/*
 * The load plan and its two ways of being carried out: copied at once here, or streamed
 * (kload_stream.c). Which one is decided in kload_start, after the loaders have said
 * everything they want written.
 */
#include "kload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kload_int.h"

void kload_init(struct kload *l)
{
    memset(l, 0, sizeof(*l));
    l->uffd = -1;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->finished_cond, NULL);
}

int kload_add(struct kload *l, uint64_t gpa, const void *src, uint64_t len)
{
    if (len == 0)
        return 0;
    if (l->npieces == l->cap) {
        unsigned int cap = l->cap ? 2 * l->cap : 8;
        struct kload_piece *p = realloc(l->pieces, cap * sizeof(*p));

        if (!p)
            return -ENOMEM;
        l->pieces = p;
        l->cap = cap;
    }
    l->pieces[l->npieces++] = (struct kload_piece){.gpa = gpa, .src = src, .len = len};
    return 0;
}

int kload_keep_mapping(struct kload *l, void *addr, size_t len)
{
    if (l->nmaps == KLOAD_MAX_MAPPINGS)
        return -ENOSPC;
    l->maps[l->nmaps++] = (struct kload_mapping){addr, len};
    return 0;
}

void kload_set_producer(struct kload *l, const struct kload_producer *p)
{
    l->prod = *p;
}

uint64_t kload_ready(const struct kload *l, const struct kload_piece *p)
{
    const struct kload_producer *d = &l->prod;
    size_t from, end;

    if (!d->step || p->src < d->buf || p->src >= d->buf + d->len)
        return p->len;
    from = (size_t)(p->src - d->buf);
    end = d->ready(d->ctx, from);
    if (end <= from)
        return 0;
    return end - from < p->len ? end - from : p->len;
}

void kload_release_sources(struct kload *l)
{
    if (l->prod.release)
        l->prod.release(l->prod.ctx);
    memset(&l->prod, 0, sizeof(l->prod));
    for (unsigned int i = 0; i < l->nmaps; i++)
        munmap(l->maps[i].addr, l->maps[i].len);
    l->nmaps = 0;
}

static int kload_copy_all(struct kload *l, struct gmem *gm)
{
    int ret = 1;

    while (l->prod.step && ret > 0)
        ret = l->prod.step(l->prod.ctx);
    if (ret < 0)
        return ret;
    for (unsigned int i = 0; i < l->npieces; i++) {
        struct kload_piece *p = &l->pieces[i];
        uint8_t *dst = gmem_ptr(gm, p->gpa, p->len);
        uintptr_t page = (uintptr_t)dst & ~(uintptr_t)4095;

        if (!dst)
            return -EFAULT; /* the loaders checked: cannot happen */
        /* One call faults the destination in: thousands of page faults less than memcpy's. */
        (void)madvise((void *)page, (uintptr_t)dst + p->len - page, MADV_POPULATE_WRITE);
        memcpy(dst, p->src, p->len);
        p->done = p->len;
        l->stats.bytes += p->len;
    }
    return 0;
}

static int kload_by_gpa(const void *a, const void *b)
{
    const struct kload_piece *x = a, *y = b;

    return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/*
 * Streaming writes whole pages, so no two pieces may share one (a page written for the first
 * would hide the second's bytes). Sorts the pieces by address, which is also the order the
 * kernel runs in first: its text, then data, then the initrd above it.
 */
static bool kload_pages_disjoint(struct kload *l)
{
    qsort(l->pieces, l->npieces, sizeof(l->pieces[0]), kload_by_gpa);
    for (unsigned int i = 1; i < l->npieces; i++) {
        const struct kload_piece *a = &l->pieces[i - 1], *b = &l->pieces[i];

        if (((a->gpa + a->len + KLOAD_PAGE - 1) & ~(uint64_t)(KLOAD_PAGE - 1)) >
            (b->gpa & ~(uint64_t)(KLOAD_PAGE - 1)))
            return false;
    }
    return true;
}

static uint64_t kload_total(const struct kload *l)
{
    uint64_t n = 0;

    for (unsigned int i = 0; i < l->npieces; i++)
        n += l->pieces[i].len;
    return n;
}

/* Why the plan cannot stream, or NULL when it can. */
static const char *kload_cannot_stream(struct kload *l, const struct gmem *gm)
{
    if (gm->page_size != KLOAD_PAGE)
        return "guest RAM is on huge pages";
    if (!kload_pages_disjoint(l))
        return "two loaded pieces share a page";
    return NULL;
}

int kload_start(struct kload *l, struct gmem *gm, enum kload_mode mode,
                void (*on_error)(void *opaque, const char *reason), void *opaque)
{
    const char *why = mode == KLOAD_COPY ? "copy" : kload_cannot_stream(l, gm);
    int ret;

    if (!why && mode == KLOAD_AUTO && kload_total(l) < KLOAD_STREAM_MIN)
        why = "small";
    if (!why) {
        l->on_error = on_error;
        l->opaque = opaque;
        ret = kload_stream_start(l, gm);
        if (ret == 0)
            return 0;
        if (mode == KLOAD_STREAM) {
            log_err("--kernel-load stream: userfaultfd: %s", strerror(-ret));
            return ret;
        }
        why = strerror(-ret);
    } else if (mode == KLOAD_STREAM) {
        log_err("--kernel-load stream: cannot stream the kernel: %s", why);
        return -ENOTSUP;
    }
    log_debug("kernel and initrd copied before the vCPUs start (%s)", why);
    ret = kload_copy_all(l, gm);
    kload_release_sources(l);
    l->finished = true;
    l->result = ret;
    return ret;
}

int kload_wait(struct kload *l)
{
    int ret;

    pthread_mutex_lock(&l->lock);
    while (l->streaming && !l->finished)
        pthread_cond_wait(&l->finished_cond, &l->lock);
    ret = l->result;
    pthread_mutex_unlock(&l->lock);
    return ret;
}

void kload_stop(struct kload *l)
{
    if (l->thread_started) {
        __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
        pthread_join(l->thread, NULL);
        l->thread_started = false;
    } else if (l->streaming && !l->finished) {
        close(l->uffd); /* armed, never started: release whoever waits */
        l->uffd = -1;
        pthread_mutex_lock(&l->lock);
        l->finished = true;
        l->result = -ECANCELED;
        pthread_cond_broadcast(&l->finished_cond);
        pthread_mutex_unlock(&l->lock);
    }
}

void kload_close(struct kload *l)
{
    kload_stop(l);
    kload_release_sources(l);
    free(l->pieces);
    l->pieces = NULL;
    l->npieces = l->cap = 0;
}
