# `tools/bench pingpong`: the test firmware's test=pingpong (kick -> back-end -> call
# round trip) under minivmm against the in-tree echo back-end, against qemu-storage-daemon
# (GET_ID) under both VMMs, and the host's eventfd round trip as the physical floor.
import os
import re
import subprocess

import fwio
import report

NAME = "pingpong"
HELP = "test=pingpong kick->call round trip (echo back-end, qsd), eventfd floor"
DEFAULT_RUNS = 3
DEFAULT_MEMORY = "64M"
DEFAULT_TIMEOUT = 60  # seconds per run
TIMING = fwio.TIMING

ITERS = 2000
STATS = (("min", "rtt_min_ns"), ("median", "rtt_median_ns"), ("p99", "rtt_p99_ns"))
EVENTFD = re.compile(r"min (\d+) ns, median (\d+) ns, p99 (\d+) ns")


def eventfd_rtt(ctx, binary):
    """(min, median, p99) ns of tools/backend/eventfd-rtt, or None."""
    p = subprocess.run([binary, str(ITERS)], capture_output=True, text=True, timeout=ctx.timeout)
    m = EVENTFD.search(p.stdout)
    if p.returncode != 0 or not m:
        ctx.failed(f"pingpong: eventfd-rtt failed: {p.stdout}{p.stderr}")
        return None
    return tuple(float(v) for v in m.groups())


def run(ctx):
    fw = fwio.firmware(ctx)
    tools = os.path.join(ctx.src, "build", "tools", "backend")
    backend = os.path.join(tools, "minivmm-backend")
    cmdline = f"test=pingpong iters={ITERS}"
    qsd_runs = {"minivmm": [], "qemu": []}
    echo_runs = {"irq": [], "poll": []}
    floor = []
    for i in range(ctx.runs):
        for vmm in qsd_runs:
            label = f"pingpong-qsd-{vmm}-{i + 1}"
            ctx.log(f"pingpong: {vmm} against qemu-storage-daemon, run {i + 1}/{ctx.runs}")
            with fwio.qsd(ctx, label, 1 << 20) as b:
                m = fwio.machine(ctx, vmm, fw, cmdline, "blk", b.sock)
                qsd_runs[vmm].append(fwio.run_fw(ctx, label, m, "pingpong"))
        for mode in echo_runs:
            label = f"pingpong-echo-{mode}-{i + 1}"
            ctx.log(f"pingpong: minivmm against minivmm-backend ({mode}), run {i + 1}/{ctx.runs}")
            with fwio.echo_backend(ctx, label, backend) as b:
                m = fwio.machine(ctx, "minivmm", fw, f"{cmdline} mode={mode}", "echo", b.sock)
                r = fwio.run_fw(ctx, label, m, "pingpong")
                if r is not None and r.get("device_id") != 63:
                    ctx.failed(f"{label}: the firmware did not use the echo device")
                    r = None
                echo_runs[mode].append(r)
        floor.append(eventfd_rtt(ctx, os.path.join(tools, "eventfd-rtt")))

    figures = []
    for stat, key in STATS:
        figures.append(report.Figure(
            f"pingpong_qsd_{stat}", f"GET_ID via qemu-storage-daemon, {stat}", "ns",
            fwio.values(qsd_runs["minivmm"], key), fwio.values(qsd_runs["qemu"], key), digits=0))
    for mode in echo_runs:
        for stat, key in STATS:
            figures.append(report.Figure(
                f"pingpong_echo_{mode}_{stat}",
                f"echo via minivmm-backend, {'interrupt' if mode == 'irq' else 'polled'} "
                f"completion, {stat}", "ns", fwio.values(echo_runs[mode], key), [], digits=0))
    for n, (stat, _) in enumerate(STATS):
        figures.append(report.Figure(
            f"pingpong_eventfd_{stat}", f"host eventfd round trip (2 threads), {stat}", "ns",
            [f[n] for f in floor if f], [], digits=0))
    notes = [f"firmware {fw}, {ctx.memory} RAM, cmdline '{cmdline}', {ctx.runs} runs each "
             "(a fresh back-end per run), median [min..max] of the runs' figures",
             "qemu-storage-daemon rows: the same firmware and back-end under both VMMs (ratio); "
             "echo rows are minivmm only (QEMU has no device for virtio id 63) and the eventfd "
             "rows are the host's floor (build/tools/backend/eventfd-rtt, blocking read)"]
    echo = report.Figure("", "", "", fwio.values(echo_runs["irq"], "rtt_median_ns"), [])
    eventfd = report.Figure("", "", "", [f[1] for f in floor if f], [])
    if echo.median("minivmm") and eventfd.median("minivmm"):
        notes.append(f"minivmm + echo back-end (interrupt) median is "
                     f"{echo.median('minivmm') / eventfd.median('minivmm'):.2f}x the eventfd floor")
    return [("vhost-user round trip (tools/bench pingpong)", figures, notes)]
