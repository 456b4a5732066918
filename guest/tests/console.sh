#!/bin/sh
# Guest console input test: announces MINIVMM-CONSOLE-WAITING on the console,
# then reads one line typed on the serial port (8250 receive interrupt path)
# and compares it with MINIVMM_CONSOLE_TOKEN (minivmm.console_token=...).
# Last output line is the one-line summary the init reports.

fail() {
    echo "FAIL: $*"
    exit 1
}

want=$MINIVMM_CONSOLE_TOKEN
[ -n "$want" ] || fail "no minivmm.console_token= on the kernel command line"

# Straight to the console, not through the init's output pipe: the host waits
# for this line before it types. Input typed earlier is already buffered by
# the tty, which init keeps open.
echo "MINIVMM-CONSOLE-WAITING" >/dev/console
IFS= read -r -t "${MINIVMM_CONSOLE_WAIT:-600}" line </dev/console ||
    fail "no line arrived on the console"
line=$(printf '%s' "$line" | tr -d '\r')
[ "$line" = "$want" ] || fail "read '$line', expected '$want'"
echo "console-token=received"
