# `tools/bench blk`: the test firmware's test=blk-bench under minivmm and QEMU microvm,
# each run against its own qemu-storage-daemon on a fresh raw image: 4 KiB random
# IOPS, sequential MB/s, and how often minivmm itself woke up per I/O (ideally never).
import fwio
import report

NAME = "blk"
HELP = "test=blk-bench through qemu-storage-daemon: IOPS, MB/s, VMM wake-ups per I/O"
DEFAULT_RUNS = 3
DEFAULT_MEMORY = "64M"
DEFAULT_TIMEOUT = 60  # seconds per run
TIMING = fwio.TIMING

PHASE_MS = 250
QD = 16
DISK = 64 << 20  # bytes; the firmware's default span
PHASES = ("randread", "randwrite", "seqread", "seqwrite")


def io_count(run):
    """I/Os of the whole run: each phase's IOPS times its length (the firmware reports
    rates, not counts; a phase overruns by at most its last qd completions)."""
    iops = [run.get(f"{p}_iops") for p in PHASES]
    return None if None in iops else sum(iops) * PHASE_MS / 1000.0


def per_io(run, key):
    n = io_count(run)
    if run.counters is None or not n:
        return None
    keys = ("kicks", "irqs", "mmio") if key == "all" else (key,)
    return sum(run.counters[k] for k in keys) / n


def run(ctx):
    fw = fwio.firmware(ctx)
    cmdline = f"test=blk-bench qd={QD} ms={PHASE_MS}"
    runs = {"minivmm": [], "qemu": []}
    for i in range(ctx.runs):
        for vmm in runs:  # alternating, so slow drifts of the shared host hit both alike
            label = f"blk-{vmm}-{i + 1}"
            ctx.log(f"blk: {vmm} run {i + 1}/{ctx.runs}")
            with fwio.qsd(ctx, label, DISK) as backend:
                m = fwio.machine(ctx, vmm, fw, cmdline, "blk", backend.sock)
                runs[vmm].append(fwio.run_fw(ctx, label, m, "blk-bench"))

    def fig(name, what, unit, key, digits=0, target=None):
        return report.Figure(f"blk_{name}", what, unit, fwio.values(runs["minivmm"], key),
                             fwio.values(runs["qemu"], key), digits=digits, target=target)

    at_least_qemu = (">= 1.0x QEMU", lambda m, r: r is not None and r >= 1.0)
    figures = [
        fig("randread_iops", "4 KiB random read", "IOPS", "randread_iops", target=at_least_qemu),
        fig("randwrite_iops", "4 KiB random write", "IOPS", "randwrite_iops", target=at_least_qemu),
        fig("seqread_mbps", "64 KiB sequential read", "MB/s", "seqread_MBps", target=at_least_qemu),
        fig("seqwrite_mbps", "64 KiB sequential write", "MB/s", "seqwrite_MBps",
            target=at_least_qemu),
        fig("randread_lat", "  4 KiB random read mean latency", "us", "randread_lat_us"),
        fig("randwrite_lat", "  4 KiB random write mean latency", "us", "randwrite_lat_us"),
    ]
    good = [r for r in runs["minivmm"] if r is not None]
    for key, what in (("all", "minivmm wake-ups per I/O (kicks + irqs + MMIO exits)"),
                      ("kicks", "  kicks through the VMM per I/O"),
                      ("irqs", "  interrupts raised by the VMM per I/O"),
                      ("mmio", "  device MMIO exits per I/O")):
        figures.append(report.Figure(
            f"blk_vmm_{key}_per_io", what, "per I/O", [per_io(r, key) for r in good], [],
            digits=4, target=("<= 0.01", lambda m, r: m <= 0.01) if key == "all" else None))
    notes = [f"firmware {fw}, {ctx.memory} RAM, cmdline '{cmdline}' (4 phases of {PHASE_MS} ms, "
             f"polled completion), {ctx.runs} runs each, median [min..max]",
             f"each run: its own qemu-storage-daemon on a fresh {DISK >> 20} MiB sparse raw image "
             "(aio=threads, page cache: figures measure the vhost-user path, not a disk)",
             "wake-ups per I/O: minivmm's device counters at exit divided by the I/O count "
             "(IOPS x phase length); QEMU has no such counter (n/a). The MMIO exits are the "
             "firmware's device set-up (a fixed few dozen), not per-I/O work"]
    for r in good[-1:]:
        if r.counters:
            notes.append(f"last minivmm run's counters: kicks-to-vmm={r.counters['kicks']} "
                         f"irqs-from-vmm={r.counters['irqs']} mmio-exits={r.counters['mmio']} "
                         f"for ~{io_count(r):.0f} I/Os")
    return [("virtio-blk through vhost-user (tools/bench blk)", figures, notes)]
