# `tools/bench fw`: the test firmware (test=boot) under minivmm and QEMU microvm.
# It reaches ring 3 in milliseconds, so exec -> firmware-ready is the VMM's own
# start-up cost: the fair boot comparison on a host that emulates guest kernel code.
import subprocess

import common
import machines
import report

NAME = "fw"
HELP = "exec -> test firmware ready (test=boot), median of many runs"
DEFAULT_RUNS = 20
DEFAULT_MEMORY = "64M"
DEFAULT_TIMEOUT = 30  # seconds per run

READY = "fw: cmdline"  # the firmware's first console line, printed from ring 3
PASS = "MINIVMM-TEST boot PASS"


def ok(machine, r):
    if r.timed_out:
        return "timed out"
    if PASS not in r.text():
        return "no PASS line from test=boot"
    # QEMU's isa-debug-exit turns the firmware's status s into exit status 2s+1.
    want = 1 if machine.vmm == "qemu" else 0
    if r.status != want:
        return f"exit status {r.status}, want {want}"
    return None


def run(ctx):
    fw = subprocess.run([ctx.vmm, "--print-firmware-path"], capture_output=True, text=True,
                        check=True).stdout.strip()
    cmdline = "test=boot"
    pair = [machines.minivmm(ctx.vmm, fw, cmdline, ctx.memory),
            machines.qemu(fw, cmdline, ctx.memory, debug_exit=True, binary=ctx.qemu)]
    results = common.run_alternating(ctx, pair, "fw", ctx.runs, ok, markers=[READY],
                                     sample_at=READY, timeout=ctx.timeout, grace=5)
    figures = common.startup_figures(
        results, "fw", READY, "firmware ready",
        ready_target=("<= 0.67x QEMU", lambda m, r: r is not None and r <= 0.67))
    figures.insert(1, report.Figure(
        "fw_exit", "exec -> VMM exit (test done)", "ms",
        *common.per_run(results, lambda r: report.ms(r.since_exec(r.eof)))))
    figures.append(report.Figure(
        "fw_peak_rss", "peak RSS incl. touched guest RAM", "MiB",
        *common.per_run(results, lambda r: report.mib(r.maxrss_kib))))
    notes = [f"firmware {fw}, {ctx.memory} RAM, cmdline '{cmdline}', {ctx.runs} runs each, "
             "median [min..max]",
             "QEMU enters the firmware through its own boot ROM (qboot + PVH option ROM); "
             "minivmm enters the PVH entry directly"]
    notes += common.startup_notes(results, READY)
    return [("firmware start-up (tools/bench fw)", figures, notes)]
