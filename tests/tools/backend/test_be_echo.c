/*
 * Unit tests for tools/backend/be_ring.c and be_echo.c: a driver written here puts chains on
 * a split ring in a memfd "guest", the back-end's ring code serves them, and the test checks
 * the used ring, the echoed bytes, the call eventfd, the dirty log, and that every malformed
 * chain a hostile guest can build is returned unused while the ring keeps working.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "be_echo.h"

#define RAM_SIZE  (1024 * 1024ULL)
#define UADDR     0x7f0000000000ULL /* the "front-end's" address of guest RAM */
#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA  0x3000ULL
#define BUF_GPA   0x10000ULL
#define NUM       8

static int ram_fd = -1, call_fd = -1;
static uint8_t *ram; /* the driver's view */
static struct be_mem mem;
static struct be_ring ring;
static struct be_echo_stats st;
static struct be_desc *desc;
static struct be_avail *avail;
static struct be_used *used;

static void setup(void)
{
    struct vu_wire_region w = {.gpa = 0, .size = RAM_SIZE, .uaddr = UADDR, .mmap_offset = 0};
    char why[128];
    const char *map_why = "";
    int fd;

    ram_fd = memfd_create("be-echo-test", MFD_CLOEXEC);
    cr_assert_geq(ram_fd, 0);
    cr_assert_eq(ftruncate(ram_fd, RAM_SIZE), 0);
    ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
    cr_assert_neq(ram, MAP_FAILED);
    fd = dup(ram_fd);
    memset(&mem, 0, sizeof(mem));
    cr_assert_eq(be_mem_set(&mem, &w, &fd, 1, why, sizeof(why)), 0, "%s", why);
    desc = (struct be_desc *)(ram + DESC_GPA);
    avail = (struct be_avail *)(ram + AVAIL_GPA);
    used = (struct be_used *)(ram + USED_GPA);
    call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    cr_assert_geq(call_fd, 0);
    be_ring_init(&ring);
    ring.num = NUM;
    ring.has_addr = true;
    ring.addr = (struct vu_wire_vring_addr){.desc = UADDR + DESC_GPA,
                                            .avail = UADDR + AVAIL_GPA,
                                            .used = UADDR + USED_GPA,
                                            .log = USED_GPA};
    cr_assert_eq(be_ring_map(&ring, &mem, &map_why), 0, "%s", map_why);
    ring.call_fd = dup(call_fd);
    ring.started = ring.enabled = ring.call_set = true;
    memset(&st, 0, sizeof(st));
}

static void teardown(void)
{
    be_ring_reset(&ring);
    be_mem_clear(&mem);
    close(call_fd);
    munmap(ram, RAM_SIZE);
    close(ram_fd);
}

TestSuite(be_echo, .init = setup, .fini = teardown);

/* The driver: descriptor i, then make head available. */
static void put_desc(uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
    desc[i] = (struct be_desc){.addr = gpa, .len = len, .flags = flags, .next = next};
}

static void make_available(uint16_t head)
{
    avail->ring[avail->idx % NUM] = head;
    __atomic_store_n(&avail->idx, (uint16_t)(avail->idx + 1), __ATOMIC_RELEASE);
}

static uint64_t calls(void)
{
    uint64_t n = 0;

    return read(call_fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

/* One readable and one writable 8-byte buffer: what test=pingpong sends. */
static void pingpong_request(uint16_t head, uint64_t seq)
{
    memcpy(ram + BUF_GPA, &seq, sizeof(seq));
    memset(ram + BUF_GPA + 0x100, 0, 8);
    put_desc(head, BUF_GPA, 8, BE_DESC_F_NEXT, (uint16_t)((head + 1) % NUM));
    put_desc((uint16_t)((head + 1) % NUM), BUF_GPA + 0x100, 8, BE_DESC_F_WRITE, 0);
    make_available(head);
}

Test(be_echo, pingpong_request_is_echoed_and_signalled)
{
    uint64_t seq = 0x1122334455667788ULL;

    pingpong_request(0, seq);
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), 1);
    cr_assert_eq(used->idx, 1);
    cr_assert_eq(used->ring[0].id, 0);
    cr_assert_eq(used->ring[0].len, 8);
    cr_assert_eq(memcmp(ram + BUF_GPA + 0x100, &seq, 8), 0, "the sequence number came back");
    cr_assert_eq(calls(), 1);
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), 0, "nothing more pending");
    cr_assert_eq(calls(), 0, "no call without new used entries");
    cr_assert_eq(st.requests, 1);
    cr_assert_eq(st.bytes, 8);
}

Test(be_echo, ring_indices_wrap_around)
{
    for (uint64_t i = 0; i < 3 * 65536 / 7; i++) {
        pingpong_request((uint16_t)(i * 2 % NUM), i);
        cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), 1, "request %llu",
                     (unsigned long long)i);
        cr_assert_eq(memcmp(ram + BUF_GPA + 0x100, &i, 8), 0);
    }
    cr_assert_eq(used->idx, (uint16_t)(3 * 65536 / 7));
    cr_assert_eq(ring.last_avail, avail->idx);
}

Test(be_echo, stream_copy_across_buffers)
{
    memcpy(ram + BUF_GPA, "abc", 3);
    memcpy(ram + BUF_GPA + 0x10, "defgh", 5);
    memset(ram + BUF_GPA + 0x100, '.', 64);
    put_desc(3, BUF_GPA, 3, BE_DESC_F_NEXT, 5);
    put_desc(5, BUF_GPA + 0x10, 0, BE_DESC_F_NEXT, 6); /* empty descriptors are skipped */
    put_desc(6, BUF_GPA + 0x10, 5, BE_DESC_F_NEXT, 1);
    put_desc(1, BUF_GPA + 0x100, 4, BE_DESC_F_WRITE | BE_DESC_F_NEXT, 2);
    put_desc(2, BUF_GPA + 0x110, 10, BE_DESC_F_WRITE, 0);
    make_available(3);
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), 1);
    cr_assert_eq(used->ring[0].id, 3);
    cr_assert_eq(used->ring[0].len, 8, "all 8 readable bytes fit");
    cr_assert_eq(memcmp(ram + BUF_GPA + 0x100, "abcd....", 8), 0);
    cr_assert_eq(memcmp(ram + BUF_GPA + 0x110, "efgh......", 10), 0);
}

Test(be_echo, writable_space_limits_the_echo)
{
    memcpy(ram + BUF_GPA, "0123456789", 10);
    put_desc(0, BUF_GPA, 10, BE_DESC_F_NEXT, 1);
    put_desc(1, BUF_GPA + 0x100, 4, BE_DESC_F_WRITE, 0);
    make_available(0);
    put_desc(2, BUF_GPA, 10, 0, 0); /* nothing writable: length 0 */
    make_available(2);
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), 2);
    cr_assert_eq(used->ring[0].len, 4);
    cr_assert_eq(memcmp(ram + BUF_GPA + 0x100, "0123", 4), 0);
    cr_assert_eq(used->ring[1].id, 2);
    cr_assert_eq(used->ring[1].len, 0);
    cr_assert_eq(calls(), 1, "one call for the batch");
}

Test(be_echo, no_call_when_the_driver_polls)
{
    avail->flags = BE_AVAIL_F_NO_INTERRUPT;
    pingpong_request(0, 7);
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), 1);
    cr_assert_eq(calls(), 0);
}

Test(be_echo, budget_bounds_one_call)
{
    for (uint16_t i = 0; i < 6; i++) {
        put_desc(i, BUF_GPA, 1, 0, 0);
        make_available(i);
    }
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, 4, &st), 4);
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, 4, &st), 2);
}

/* A chain the guest broke: returned unused (length 0), and the ring goes on working. */
static void expect_bad(uint16_t head)
{
    memset(used, 0, sizeof(*used) + NUM * sizeof(struct be_used_elem));
    ring.used_idx = 0;
    make_available(head);
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), 1);
    cr_assert_eq(used->idx, 1);
    cr_assert_eq(used->ring[0].id, head);
    cr_assert_eq(used->ring[0].len, 0);
    cr_assert_eq(ring.bad_chains, st.bad);
    pingpong_request(4, 99); /* still served */
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), 1);
    cr_assert_eq(used->ring[1].len, 8);
}

Test(be_echo, hostile_chains_are_returned_unused)
{
    expect_bad(NUM); /* head outside the ring */
    expect_bad(0xffff);
    put_desc(0, BUF_GPA, 8, BE_DESC_F_NEXT, NUM); /* next outside the ring */
    expect_bad(0);
    put_desc(0, BUF_GPA, 8, BE_DESC_F_NEXT, 1); /* a loop: 0 -> 1 -> 0 */
    put_desc(1, BUF_GPA + 8, 8, BE_DESC_F_NEXT, 0);
    expect_bad(0);
    put_desc(0, 0, 8, BE_DESC_F_NEXT, 0); /* a descriptor pointing at itself */
    expect_bad(0);
    put_desc(0, RAM_SIZE - 4, 8, BE_DESC_F_WRITE, 0); /* runs off the end of RAM */
    expect_bad(0);
    put_desc(0, UINT64_MAX - 3, 8, BE_DESC_F_WRITE, 0); /* wraps */
    expect_bad(0);
    put_desc(0, BUF_GPA, UINT32_MAX, BE_DESC_F_WRITE, 0); /* 4 GiB into 1 MiB of RAM */
    expect_bad(0);
    put_desc(0, BUF_GPA, 8, BE_DESC_F_WRITE | BE_DESC_F_NEXT, 1); /* readable after writable */
    put_desc(1, BUF_GPA + 8, 8, 0, 0);
    expect_bad(0);
    put_desc(0, BUF_GPA, 16, BE_DESC_F_INDIRECT, 0); /* indirect: not offered */
    expect_bad(0);
    cr_assert_eq(st.bad, 10);
    cr_assert(be_ring_ready(&ring));
}

Test(be_echo, too_many_available_entries_break_the_ring)
{
    avail->idx = NUM + 1; /* more pending than the ring holds */
    cr_assert_eq(be_echo_serve(&ring, &mem, NULL, NUM, &st), -EPROTO);
    cr_assert_not(be_ring_ready(&ring), "left alone until restarted");
    cr_assert_eq(used->idx, 0, "nothing written");
}

Test(be_echo, logs_buffer_and_used_ring_writes)
{
    int log_fd = memfd_create("be-echo-log", MFD_CLOEXEC);
    struct be_dirty dlog = {0};
    uint8_t *bits;

    cr_assert_geq(log_fd, 0);
    cr_assert_eq(ftruncate(log_fd, RAM_SIZE / 4096 / 8), 0);
    bits = mmap(NULL, RAM_SIZE / 4096 / 8, PROT_READ | PROT_WRITE, MAP_SHARED, log_fd, 0);
    cr_assert_neq(bits, MAP_FAILED);
    cr_assert_eq(be_dirty_set(&dlog, dup(log_fd), RAM_SIZE / 4096 / 8, 0), 0);

    pingpong_request(0, 1); /* without VHOST_VRING_F_LOG: only the buffer is logged */
    cr_assert_eq(be_echo_serve(&ring, &mem, &dlog, NUM, &st), 1);
    cr_assert_eq(bits[(BUF_GPA + 0x100) / 4096 / 8], 1u << ((BUF_GPA + 0x100) / 4096 % 8));
    cr_assert_eq(bits[USED_GPA / 4096 / 8] & (1u << (USED_GPA / 4096 % 8)), 0);
    bits[USED_GPA / 4096 / 8] = bits[(BUF_GPA + 0x100) / 4096 / 8] = 0;

    ring.addr.flags = VU_VRING_F_LOG;
    pingpong_request(2, 2);
    cr_assert_eq(be_echo_serve(&ring, &mem, &dlog, NUM, &st), 1);
    cr_assert_neq(bits[USED_GPA / 4096 / 8] & (1u << (USED_GPA / 4096 % 8)), 0, "used ring");
    cr_assert_neq(bits[(BUF_GPA + 0x100) / 4096 / 8], 0, "buffer");
    cr_assert_eq(bits[BUF_GPA / 4096 / 8] & (1u << (BUF_GPA / 4096 % 8)),
                 bits[(BUF_GPA + 0x100) / 4096 / 8] & (1u << (BUF_GPA / 4096 % 8)),
                 "(same page as the readable buffer)");
    be_dirty_clear(&dlog);
    munmap(bits, RAM_SIZE / 4096 / 8);
    close(log_fd);
}

Test(be_echo, rings_outside_memory_do_not_map)
{
    const char *why = "";

    ring.addr.used = UADDR + RAM_SIZE - 8; /* 4 + 8 * NUM bytes do not fit */
    cr_assert_eq(be_ring_map(&ring, &mem, &why), -EINVAL);
    cr_assert_str_eq(why, "used ring outside guest memory");
    cr_assert_not(be_ring_ready(&ring));
    ring.addr.used = UADDR + USED_GPA;
    ring.addr.desc = UADDR + DESC_GPA + 8; /* descriptors are 16-byte aligned */
    cr_assert_eq(be_ring_map(&ring, &mem, &why), -EINVAL);
    cr_assert_str_eq(why, "misaligned ring part");
    ring.addr.desc = DESC_GPA; /* a gpa, not a user address */
    cr_assert_eq(be_ring_map(&ring, &mem, &why), -EINVAL);
    cr_assert_str_eq(why, "descriptor table outside guest memory");
}

Test(be_echo, ready_only_when_started_enabled_and_its_call_known)
{
    cr_assert(be_ring_ready(&ring));
    ring.call_set = false; /* SET_VRING_KICK came, SET_VRING_CALL not yet */
    cr_assert_not(be_ring_ready(&ring));
    ring.call_set = true;
    ring.enabled = false;
    cr_assert_not(be_ring_ready(&ring));
    ring.enabled = true;
    ring.started = false;
    cr_assert_not(be_ring_ready(&ring));
}
