/*
 * test=net: ICMP echo requests through a virtio-net device to dpdk-testpmd in
 * icmpecho mode, which swaps the addresses and turns each into a reply. Every
 * reply is checked: addresses swapped, IPv4 and ICMP checksums valid, id,
 * sequence number and payload unchanged. Frame sizes vary from 60 to 1514
 * bytes. Parameters: count= (1000), window= (frames in flight, 16).
 * Figures: frames, packets per second (round trips).
 */
#include "args.h"
#include "clock.h"
#include "fw_errno.h"
#include "io.h"
#include "lib.h"
#include "net.h"
#include "report.h"
#include "tests.h"

#define ETH_HDR     14
#define IP_HDR      20
#define ICMP_HDR    8
#define HDRS        (ETH_HDR + IP_HDR + ICMP_HDR)
#define ICMP_ID     0x4d56
#define TIMEOUT_TSC (30ULL * 1000 * 1000 * 1000)

static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t our_ip[4] = {10, 0, 0, 2};
static const uint8_t peer_ip[4] = {10, 0, 0, 1};

static struct net net;

static uint16_t csum(const uint8_t *p, uint32_t len)
{
    uint32_t sum = 0;

    for (uint32_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Frame length for sequence number seq: 60..1514 bytes. */
static uint32_t frame_len(uint16_t seq)
{
    return 60 + (uint32_t)seq * 97 % (1514 - 60 + 1);
}

static uint8_t payload_byte(uint16_t seq, uint32_t i)
{
    return (uint8_t)(seq * 31 + i * 7 + (i >> 8));
}

static uint32_t build_request(uint8_t *f, uint16_t seq)
{
    uint32_t len = frame_len(seq);
    uint8_t *ip = f + ETH_HDR, *icmp = ip + IP_HDR;

    memcpy(f, peer_mac, 6);
    memcpy(f + 6, our_mac, 6);
    put16(f + 12, 0x0800);
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(len - ETH_HDR));
    put16(ip + 4, seq);
    put16(ip + 6, 0x4000); /* don't fragment */
    ip[8] = 64;
    ip[9] = 1; /* ICMP */
    put16(ip + 10, 0);
    memcpy(ip + 12, our_ip, 4);
    memcpy(ip + 16, peer_ip, 4);
    put16(ip + 10, csum(ip, IP_HDR));
    icmp[0] = 8; /* echo request */
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, ICMP_ID);
    put16(icmp + 6, seq);
    for (uint32_t i = HDRS; i < len; i++)
        f[i] = payload_byte(seq, i);
    put16(icmp + 2, csum(icmp, len - ETH_HDR - IP_HDR));
    return len;
}

/* Checks a reply; returns its sequence number, or -1 with *why set. */
static int check_reply(const uint8_t *f, uint32_t len, const char **why)
{
    const uint8_t *ip = f + ETH_HDR, *icmp = ip + IP_HDR;
    uint16_t seq;

    *why = "too short";
    if (len < HDRS)
        return -1;
    *why = "addresses not swapped";
    if (memcmp(f, our_mac, 6) || memcmp(f + 6, peer_mac, 6) || get16(f + 12) != 0x0800 ||
        memcmp(ip + 12, peer_ip, 4) || memcmp(ip + 16, our_ip, 4))
        return -1;
    seq = get16(icmp + 6);
    *why = "length changed";
    if (len != frame_len(seq) || get16(ip + 2) != len - ETH_HDR)
        return -1;
    *why = "bad IPv4 or ICMP checksum";
    if (csum(ip, IP_HDR) != 0 || csum(icmp, len - ETH_HDR - IP_HDR) != 0)
        return -1;
    *why = "not an echo reply to us";
    if (icmp[0] != 0 || icmp[1] != 0 || get16(icmp + 4) != ICMP_ID)
        return -1;
    *why = "payload changed";
    for (uint32_t i = HDRS; i < len; i++) {
        if (f[i] != payload_byte(seq, i))
            return -1;
    }
    return seq;
}

void prog_net(const struct machine *m)
{
    uint64_t count = args_get_u64(m->cmdline, "count", 1000);
    uint64_t window = args_get_u64(m->cmdline, "window", 16);
    uint64_t sent = 0, received = 0, last_progress = io_rdtsc(), t0;
    static uint8_t frame[1514];
    static uint8_t seen[65536 / 8];
    int err = net_init(&net, m);

    if (err) {
        report_fail("no usable virtio-net device: %d", err);
        return;
    }
    if (count == 0 || count > 65535 || window == 0 || window > NET_SLOTS) {
        report_fail("count must be 1..65535, window 1..%u", NET_SLOTS);
        return;
    }
    t0 = clock_ns();
    while (received < count) {
        while (sent < count && sent - received < window) {
            err = net_send(&net, frame, build_request(frame, (uint16_t)sent));
            if (err == -ENOSPC)
                break;
            if (err) {
                report_fail("transmit: %d", err);
                return;
            }
            sent++;
        }
        uint32_t len;
        const uint8_t *f = net_poll(&net, &len, &err);
        if (err) {
            report_fail("device broke the ring protocol: %d", err);
            return;
        }
        if (!f) {
            if (io_rdtsc() - last_progress > TIMEOUT_TSC) {
                report_fail("%lu of %lu replies after a long wait", received, count);
                return;
            }
            __builtin_ia32_pause();
            continue;
        }
        const char *why;
        int seq = check_reply(f, len, &why);
        if (seq < 0 || (uint64_t)seq >= sent || (seen[seq / 8] >> (seq % 8) & 1)) {
            report_fail("bad reply (%u bytes): %s", len, seq < 0 ? why : "unexpected or repeated");
            return;
        }
        seen[seq / 8] |= (uint8_t)(1 << (seq % 8));
        net_rx_done(&net, f);
        received++;
        last_progress = io_rdtsc();
    }
    report_figure("frames", "%lu", received);
    if (clock_available() && clock_ns() > t0)
        report_figure("pps", "%lu", received * 1000000000 / (clock_ns() - t0));
    report_pass("%lu echo replies verified, 60..1514-byte frames", received);
}
