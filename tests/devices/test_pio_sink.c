/* Unit tests for devices/pio_sink.c: ignored ports are claimed and counted. */
#include <criterion/criterion.h>

#include "pio_sink.h"

Test(pio_sink, claims_ignores_and_counts)
{
    struct pio_sink sink = {0};
    struct bus pio;
    uint8_t v = 0x42;
    uint32_t l = 0;

    bus_init(&pio, "pio");
    cr_assert_eq(pio_sink_attach(&sink, &pio, "post", PIO_SINK_POST_PORT, 1), 0);
    cr_assert(bus_write(&pio, PIO_SINK_POST_PORT, &v, 1));
    cr_assert(bus_read(&pio, PIO_SINK_POST_PORT, &v, 1));
    cr_assert_eq(v, 0xff);
    cr_assert_eq(sink.writes, 1);
    cr_assert_eq(sink.reads, 1);
    cr_assert_eq(sink.last, 0x42);
    cr_assert_not(bus_read(&pio, PIO_SINK_POST_PORT, &l, 4), "one port only");
    cr_assert_eq(pio.unclaimed, 1);
}
