# `tools/bench net`: the test firmware's test=net (ICMP echo through dpdk-testpmd's
# icmpecho forwarding, every reply checked) under minivmm and QEMU microvm, each run
# against its own testpmd: echo replies per second with a window of frames in flight.
import shutil

import fwio
import report

NAME = "net"
HELP = "test=net ICMP echo through dpdk-testpmd: packets/s"
DEFAULT_RUNS = 3
DEFAULT_MEMORY = "64M"
DEFAULT_TIMEOUT = 90  # seconds per run (testpmd alone takes seconds to start)
TIMING = fwio.TIMING

COUNT = 20000
WINDOW = 16


def mean_frame(count):
    """Mean frame length of test=net's requests (replies are the same size): 60..1514 bytes
    by sequence number, as frame_len() in firmware/prog_net.c."""
    return sum(60 + seq * 97 % (1514 - 60 + 1) for seq in range(count)) / count


def run(ctx):
    fw = fwio.firmware(ctx)
    cmdline = f"test=net count={COUNT} window={WINDOW}"
    runs = {"minivmm": [], "qemu": []}
    for i in range(ctx.runs):
        for vmm in runs:
            label = f"net-{vmm}-{i + 1}"
            ctx.log(f"net: {vmm} run {i + 1}/{ctx.runs}")
            b = fwio.testpmd(ctx, label)
            try:
                m = fwio.machine(ctx, vmm, fw, cmdline, "net", b.sock)
                runs[vmm].append(fwio.run_fw(ctx, label, m, "net"))
            finally:
                b.stop()
                shutil.rmtree(b.runtime_dir, ignore_errors=True)
    good = [r for r in runs["minivmm"] if r is not None]
    figures = [
        report.Figure("net_pps", "ICMP echo replies (verified) per second", "packets/s",
                      fwio.values(runs["minivmm"], "pps"), fwio.values(runs["qemu"], "pps"),
                      digits=0, target=(">= 1.0x QEMU", lambda m, r: r is not None and r >= 1.0)),
        report.Figure("net_mbps", f"  frame bytes each way (mean frame {mean_frame(COUNT):.0f} B)",
                      "MB/s", *([v * mean_frame(COUNT) * 1e-6 for v in fwio.values(runs[vmm], "pps")
                                 if v is not None] for vmm in ("minivmm", "qemu")), digits=1),
        report.Figure("net_vmm_per_packet", "minivmm wake-ups per echo (kicks + irqs + MMIO)",
                      "per echo", [(r.counters["kicks"] + r.counters["irqs"] + r.counters["mmio"])
                                   / COUNT for r in good if r.counters], [], digits=4),
    ]
    notes = [f"firmware {fw}, {ctx.memory} RAM, cmdline '{cmdline}', {ctx.runs} runs each "
             "(a fresh testpmd per run), median [min..max]",
             "dpdk-testpmd -l 0,1 --no-huge --forward-mode=icmpecho on one net_vhost port: "
             "it busy-polls one of the host's cores, so the guest competes with it"]
    return [("virtio-net through vhost-user (tools/bench net)", figures, notes)]
