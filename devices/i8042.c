/*
 * i8042 keyboard controller model: the controller itself (command byte,
 * self-tests, output port) with both PS/2 ports empty. Commands and status
 * bits follow the IBM PS/2 8042 interface that Linux's i8042.c drives.
 */
#include "i8042.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define STR_OBF     0x01 /* output buffer full */
#define STR_SYS     0x04 /* system flag (mirrors CTR bit 2) */
#define STR_CMD     0x08 /* last write went to the command port */
#define STR_KEYLOCK 0x10 /* set: keyboard not inhibited */
#define STR_TIMEOUT 0x40 /* the device did not answer */

#define CTR_KBDINT 0x01
#define CTR_SYS    0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

#define OUT_RESET 0x01 /* output port bit 0: CPU reset line, active low */
#define OUT_A20   0x02

#define CMD_READ_CTR    0x20
#define CMD_WRITE_CTR   0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE  0xa8
#define CMD_AUX_TEST    0xa9
#define CMD_SELF_TEST   0xaa
#define CMD_KBD_TEST    0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE  0xae
#define CMD_READ_INPUT  0xc0
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUT   0xd1
#define CMD_WRITE_KBD   0xd2
#define CMD_WRITE_AUX   0xd3
#define CMD_SEND_AUX    0xd4
#define CMD_PULSE_FIRST 0xf0

#define RET_SELF_TEST_OK 0x55
#define RET_PORT_OK      0x00
#define RET_CLOCK_LOW    0x01 /* port test: clock line stuck low, i.e. nothing there */
#define KBD_RESEND       0xfe

#define OUTQ_SIZE 8

struct i8042 {
    pthread_mutex_t lock;
    struct i8042_config cfg;
    uint8_t ctr, outport, status_cmd;
    uint8_t pending; /* command waiting for its data byte, 0 if none */
    uint8_t outq[OUTQ_SIZE];
    uint8_t outq_status[OUTQ_SIZE]; /* extra status bits for each byte */
    unsigned int outq_head, outq_count;
    uint8_t last_out; /* an empty buffer reads its last byte again */
    bool level;
    bool reset;
};

static void i8042_update_irq(struct i8042 *k)
{
    bool level = k->outq_count > 0 && (k->ctr & CTR_KBDINT);

    if (level == k->level)
        return;
    k->level = level;
    if (k->cfg.kbd_irq)
        (void)irq_line_set(k->cfg.kbd_irq, level);
}

static void i8042_queue(struct i8042 *k, uint8_t byte, uint8_t status)
{
    unsigned int slot;

    if (k->outq_count == OUTQ_SIZE)
        return; /* the guest is not reading: drop, as a busy controller would */
    slot = (k->outq_head + k->outq_count) % OUTQ_SIZE;
    k->outq[slot] = byte;
    k->outq_status[slot] = status;
    k->outq_count++;
}

/* A controller answer replaces whatever the output buffer held. */
static void i8042_reply(struct i8042 *k, uint8_t byte)
{
    k->outq_count = 0;
    i8042_queue(k, byte, 0);
}

static void i8042_request_reset(struct i8042 *k, bool *fire)
{
    if (!k->reset)
        *fire = true;
    k->reset = true;
}

static void i8042_command(struct i8042 *k, uint8_t cmd, bool *fire)
{
    k->pending = 0;
    switch (cmd) {
    case CMD_READ_CTR:
        i8042_reply(k, k->ctr);
        break;
    case CMD_WRITE_CTR:
    case CMD_WRITE_OUT:
    case CMD_WRITE_KBD:
    case CMD_WRITE_AUX:
    case CMD_SEND_AUX:
        k->pending = cmd;
        break;
    case CMD_AUX_DISABLE:
        k->ctr |= CTR_AUXDIS;
        break;
    case CMD_AUX_ENABLE:
        k->ctr &= (uint8_t)~CTR_AUXDIS;
        break;
    case CMD_AUX_TEST:
        i8042_reply(k, RET_CLOCK_LOW); /* no mouse port */
        break;
    case CMD_SELF_TEST:
        k->ctr |= CTR_SYS;
        i8042_reply(k, RET_SELF_TEST_OK);
        break;
    case CMD_KBD_TEST:
        i8042_reply(k, RET_PORT_OK);
        break;
    case CMD_KBD_DISABLE:
        k->ctr |= CTR_KBDDIS;
        break;
    case CMD_KBD_ENABLE:
        k->ctr &= (uint8_t)~CTR_KBDDIS;
        break;
    case CMD_READ_INPUT:
        i8042_reply(k, 0x80); /* keyboard not inhibited */
        break;
    case CMD_READ_OUTPUT:
        i8042_reply(k, k->outport);
        break;
    default:
        /* 0xF0-0xFF pulse output port bits 0-3 low for each 0 in the low nibble. */
        if (cmd >= CMD_PULSE_FIRST && !(cmd & OUT_RESET))
            i8042_request_reset(k, fire);
        else if (cmd < CMD_PULSE_FIRST)
            log_debug("i8042: ignoring command 0x%02x", cmd);
        break;
    }
}

static void i8042_data(struct i8042 *k, uint8_t val, bool *fire)
{
    uint8_t cmd = k->pending;

    k->pending = 0;
    switch (cmd) {
    case CMD_WRITE_CTR:
        k->ctr = val;
        break;
    case CMD_WRITE_OUT:
        k->outport = val;
        if (!(val & OUT_RESET))
            i8042_request_reset(k, fire);
        break;
    case CMD_WRITE_KBD:
        i8042_queue(k, val, 0);
        break;
    case CMD_WRITE_AUX:
        /*
         * With no AUX port the byte comes back as keyboard data (AUXDATA clear), which
         * Linux's AUX loop test takes as "no AUX port" at once instead of timing out.
         */
        i8042_queue(k, val, 0);
        break;
    case CMD_SEND_AUX:
        break; /* no mouse to send it to */
    default:
        /* A byte for the keyboard: nobody answers, the controller reports a timeout. */
        if (!(k->ctr & CTR_KBDDIS))
            i8042_queue(k, KBD_RESEND, STR_TIMEOUT);
        break;
    }
}

static uint8_t i8042_status(const struct i8042 *k)
{
    uint8_t st = STR_KEYLOCK | k->status_cmd | (k->ctr & CTR_SYS ? STR_SYS : 0);

    if (k->outq_count > 0)
        st |= STR_OBF | k->outq_status[k->outq_head];
    return st;
}

static void i8042_read(struct i8042 *k, bool data_port, void *data, unsigned int len)
{
    uint8_t v;

    pthread_mutex_lock(&k->lock);
    if (data_port) {
        if (k->outq_count > 0) {
            k->last_out = k->outq[k->outq_head];
            k->outq_head = (k->outq_head + 1) % OUTQ_SIZE;
            k->outq_count--;
        }
        v = k->last_out;
    } else {
        v = i8042_status(k);
    }
    i8042_update_irq(k);
    pthread_mutex_unlock(&k->lock);
    memset(data, 0, len);
    *(uint8_t *)data = v;
}

static void i8042_write(struct i8042 *k, bool data_port, const void *data)
{
    uint8_t v = *(const uint8_t *)data;
    bool fire = false;

    pthread_mutex_lock(&k->lock);
    if (data_port) {
        k->status_cmd = 0;
        i8042_data(k, v, &fire);
    } else {
        k->status_cmd = STR_CMD;
        i8042_command(k, v, &fire);
    }
    i8042_update_irq(k);
    pthread_mutex_unlock(&k->lock);
    if (fire) {
        log_debug("i8042: guest requested reset");
        if (k->cfg.on_reset)
            k->cfg.on_reset(k->cfg.opaque);
    }
}

/* Two one-port bus devices share the controller. */
static void i8042_data_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
    i8042_read(opaque, true, data, len);
}

static void i8042_data_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
    i8042_write(opaque, true, data);
}

static void i8042_cmd_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
    i8042_read(opaque, false, data, len);
}

static void i8042_cmd_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
    i8042_write(opaque, false, data);
}

bool i8042_reset_requested(struct i8042 *k)
{
    bool reset;

    pthread_mutex_lock(&k->lock);
    reset = k->reset;
    pthread_mutex_unlock(&k->lock);
    return reset;
}

struct i8042 *i8042_create(const struct i8042_config *cfg)
{
    struct i8042 *k = calloc(1, sizeof(*k));

    if (!k)
        return NULL;
    if (pthread_mutex_init(&k->lock, NULL) != 0) {
        free(k);
        return NULL;
    }
    k->cfg = *cfg;
    /* What a PC BIOS leaves behind: keyboard interrupt on, translation on, POST passed. */
    k->ctr = CTR_KBDINT | CTR_SYS | CTR_XLATE;
    k->outport = OUT_RESET | OUT_A20;
    return k;
}

void i8042_destroy(struct i8042 *k)
{
    if (!k)
        return;
    pthread_mutex_destroy(&k->lock);
    free(k);
}

int i8042_attach(struct i8042 *k, struct bus *pio)
{
    struct bus_device data = {
        .name = "i8042-data",
        .base = LAYOUT_PORT_I8042_DATA,
        .size = 1,
        .opaque = k,
        .read = i8042_data_read,
        .write = i8042_data_write,
    };
    struct bus_device cmd = {
        .name = "i8042-cmd",
        .base = LAYOUT_PORT_I8042_CMD,
        .size = 1,
        .opaque = k,
        .read = i8042_cmd_read,
        .write = i8042_cmd_write,
    };
    int ret = bus_register(pio, &data);

    if (ret < 0)
        return ret;
    return bus_register(pio, &cmd);
}
