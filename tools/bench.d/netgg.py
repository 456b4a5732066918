# `tools/bench netgg`: two Linux guests talking through dpdk-testpmd (io forwarding between
# two net_vhost ports, as tests/integration/vhost_user_net.sh), first both under minivmm,
# then both under QEMU microvm, each pair with its own testpmd: a TCP stream and a burst of
# UDP datagrams from one guest to the other (guest/bench/netgg.sh, gbench), and minivmm's
# exits per packet during the transfer.
import os
import shutil

import fwio
import guestbench
import machines
import report

NAME = "netgg"
HELP = ("guest<->guest through dpdk-testpmd (two Linux guests): TCP MB/s, UDP packets/s, "
        "VMM exits per packet; sizes from BENCH_NETGG_MIB (4), BENCH_NETGG_UDP_COUNT (2000), "
        "BENCH_NETGG_UDP_SIZE (64), BENCH_NETGG_MTU (1500)")
DEFAULT_RUNS = 1
DEFAULT_MEMORY = "128M"
DEFAULT_TIMEOUT = 1800  # seconds per pair: two Linux boots side by side on a loaded PVM host
# Timing happens inside the receiving guest (gbench, CLOCK_MONOTONIC from the accepted
# connection to the sender's FIN; first to last UDP datagram): the console markers seen by
# the host would add the UART (one exit per byte, and a different path in each VMM) and
# the host's polling to a transfer of a few seconds.
TIMING = "timing by the receiving guest (gbench, CLOCK_MONOTONIC); no tracer"

PORT = 5001
# The sender's console line when its TCP stream is done and its UDP burst starts: splits
# the START..END window of CPU time in two.
TCP_DONE = "GBENCH tcp-send"
GUESTS = (("send", "10.0.0.1", "52:54:00:00:00:0a"), ("recv", "10.0.0.2", "52:54:00:00:00:0b"))


def sizes():
    env = os.environ.get
    return {"bytes": int(env("BENCH_NETGG_MIB", "4")) << 20,
            "udp_count": int(env("BENCH_NETGG_UDP_COUNT", "2000")),
            "udp_size": int(env("BENCH_NETGG_UDP_SIZE", "64")),
            "mtu": int(env("BENCH_NETGG_MTU", "1500"))}


def testpmd(ctx, label):
    """Port 0 <-> port 1 in io mode; one lcore busy-polls both."""
    a, b = (os.path.join(ctx.work, f"{label}-{p}.sock") for p in "ab")
    for s in (a, b):
        if os.path.exists(s):
            os.unlink(s)
    prefix = f"bench-{os.getpid()}-{label}"
    argv = ["dpdk-testpmd", "-l", "0,1", "--no-huge", "-m", "512", "--no-pci",
            "--file-prefix", prefix, "--vdev", f"net_vhost0,iface={a},queues=1",
            "--vdev", f"net_vhost1,iface={b},queues=1", "--", "--auto-start", "--forward-mode=io",
            "--nb-cores=1", "--total-num-mbufs=16384", "--stats-period", "1000"]
    pmd = fwio.Backend(ctx, f"{label}-testpmd", argv, a)
    pmd.runtime_dir = f"/var/run/dpdk/{prefix}"
    return pmd, (a, b)


def guest_cmdline(ctx, role, ip, sz):
    args = (f"{machines.guest_args(ctx.src)} minivmm.tests=netgg minivmm.gb_role={role} "
            f"minivmm.gb_ip={ip} minivmm.gb_port={PORT}")
    if role == "send":
        args += (f" minivmm.gb_peer={GUESTS[1][1]} minivmm.gb_bytes={sz['bytes']} "
                 f"minivmm.gb_udp_count={sz['udp_count']} minivmm.gb_udp_size={sz['udp_size']}")
    return args


def machine(ctx, vmm, kernel, initrd, cmdline, sock, mac, mtu, api):
    if vmm == "minivmm":
        extra = ["--device", f"vhost-user-net,socket={sock},mac={mac},mtu={mtu}",
                 "--api-socket", api]
        return machines.minivmm(ctx.vmm, kernel, cmdline, ctx.memory, initrd=initrd, extra=extra)
    extra = ["-chardev", f"socket,id=c0,path={sock}", "-global", "virtio-mmio.force-legacy=false",
             "-netdev", "vhost-user,id=n0,chardev=c0",
             "-device", f"virtio-net-device,netdev=n0,mac={mac},host_mtu={mtu}"]
    return machines.qemu(kernel, cmdline, ctx.memory, initrd=initrd, binary=ctx.qemu, extra=extra)


class PairRun:
    """One pair's figures: the receiver's and sender's GBENCH lines, packet counts, and
    (minivmm) exits over the START..END window and device counters at exit."""

    def __init__(self, vms):
        self.send, self.recv = (guestbench.gbench(vm.text()) for vm in vms)
        self.vms = vms
        self.texts = [vm.text() for vm in vms]

    def packets(self, i):
        p = (self.send, self.recv)[i].get("packets")
        return None if not p else p["rx"] + p["tx"]

    def exits_per_packet(self, i, key):
        n, d = self.packets(i), guestbench.window(self.vms[i], key)
        return None if d is None or not n else d / n

    def cpu(self, start, end):
        """CPU seconds both VMM processes used between two markers, or None."""
        t = [guestbench.cpu_window(vm, start, end) for vm in self.vms]
        return None if None in t else sum(t)

    def irqs_per_packet(self, i):
        p, n = (self.send, self.recv)[i].get("packets"), self.packets(i)
        return None if not p or "irqs" not in p or not n else p["irqs"] / n

    def sleeps_per_packet(self, i):
        n, d = self.packets(i), guestbench.sleeps_window(self.vms[i])
        return None if d is None or not n else d / n

    def wakeups_per_packet(self, i):
        c, n = guestbench.counters(self.texts[i], "vhost-user-net"), self.packets(i)
        return None if c is None or not n else (c["kicks"] + c["irqs"]) / n


def run_pair(ctx, vmm, i, kernel, initrd, sz):
    label = f"netgg-{vmm}-{i + 1}"
    ctx.log(f"netgg: {vmm} pair run {i + 1}/{ctx.runs}")
    pmd, socks = testpmd(ctx, label)
    vms = []
    try:
        for (role, ip, mac), sock in zip(GUESTS, socks):
            api = os.path.join(ctx.work, f"{label}-{role}.api")
            m = machine(ctx, vmm, kernel, initrd, guest_cmdline(ctx, role, ip, sz), sock, mac,
                        sz["mtu"], api)
            vms.append(guestbench.Vm(ctx, f"{label}-{role}", vmm, m.argv,
                                     api if vmm == "minivmm" else None))
        finished = guestbench.run_vms(ctx, vms, vms[0], ctx.timeout,
                                      (guestbench.START, TCP_DONE, guestbench.END))
    finally:
        for vm in vms:
            vm.stop()
        pmd.stop()
        shutil.rmtree(pmd.runtime_dir, ignore_errors=True)
    failure = None if finished else "timed out"
    for vm in vms:
        if not failure and not guestbench.guest_passed(vm.text(), "netgg"):
            failure = f"{vm.label}: guest netgg did not pass"
    if failure:
        ctx.failed(f"{label}: {failure} (logs: {vms[0].log}, {vms[1].log}, {pmd.log})")
        return None
    return PairRun(vms)


def run(ctx):
    sz = sizes()
    kernel = guestbench.kernel(ctx)
    initrd = guestbench.initrd(ctx)
    runs = {"minivmm": [], "qemu": []}
    for i in range(ctx.runs):
        for vmm in runs:  # alternating, so slow drifts of the shared host hit both alike
            r = run_pair(ctx, vmm, i, kernel, initrd, sz)
            if r:
                runs[vmm].append(r)

    def both(fn):
        return [fn(r) for r in runs["minivmm"]], [fn(r) for r in runs["qemu"]]

    def mb(r):
        return guestbench.rate(r.recv.get("tcp-recv"), "bytes", 1e-6)

    def udp_pps(r):
        u = r.recv.get("udp-recv")
        return None if not u or u["count"] < 2 or not u["ns"] else (u["count"] - 1) * 1e9 / u["ns"]

    def udp_offered(r):
        return guestbench.rate(r.send.get("udp-send"), "sent")

    def udp_loss(r):
        s, u = r.send.get("udp-send"), r.recv.get("udp-recv")
        return None if not s or not u or not s["sent"] else 100.0 * (1 - u["count"] / s["sent"])

    def tcp_cpu_per_mb(r):  # ms of both VMMs' CPU time per MB the receiver got
        t, d = r.cpu(guestbench.START, TCP_DONE), r.recv.get("tcp-recv")
        return None if t is None or not d or not d["bytes"] else t * 1e3 / (d["bytes"] * 1e-6)

    def udp_cpu_per_packet(r):  # ms of both VMMs' CPU time per datagram delivered
        t, u = r.cpu(TCP_DONE, guestbench.END), r.recv.get("udp-recv")
        return None if t is None or not u or not u["count"] else t * 1e3 / u["count"]

    at_least_qemu = (">= 1.0x QEMU", lambda m, r: r is not None and r >= 1.0)
    at_most_qemu = ("<= 1.0x QEMU", lambda m, r: r is not None and r <= 1.0)
    figures = [
        report.Figure("netgg_tcp_mbps", f"TCP stream guest -> guest ({sz['bytes'] >> 20} MiB)",
                      "MB/s", *both(mb), digits=3, target=at_least_qemu),
        report.Figure("netgg_tcp_cpu_per_mb", "  host CPU of both VMMs per MB (load-proof)",
                      "ms/MB", *both(tcp_cpu_per_mb), digits=0, target=at_most_qemu),
        report.Figure("netgg_udp_pps", f"UDP {sz['udp_size']}-byte datagrams delivered",
                      "packets/s", *both(udp_pps), digits=0, target=at_least_qemu),
        report.Figure("netgg_udp_mbps", "  UDP payload delivered", "MB/s",
                      *both(lambda r: None if udp_pps(r) is None
                            else udp_pps(r) * sz["udp_size"] * 1e-6), digits=4),
        report.Figure("netgg_udp_offered_pps", "  UDP datagrams sent (sender's rate)",
                      "packets/s", *both(udp_offered), digits=0),
        report.Figure("netgg_udp_loss", "  UDP datagrams lost", "%", *both(udp_loss), digits=1),
        report.Figure("netgg_udp_cpu_per_packet", "  host CPU of both VMMs per datagram delivered",
                      "ms/packet", *both(udp_cpu_per_packet), digits=2, target=at_most_qemu),
    ]
    mini = runs["minivmm"]
    for idx, side in enumerate(("sender", "receiver")):
        figures += [
            report.Figure(f"netgg_vmm_thread_wakeups_per_packet_{side[:4]}",
                          f"{side}'s VMM threads (not vCPUs) waking per packet", "per packet",
                          *both(lambda r: r.sleeps_per_packet(idx)), digits=4,
                          target=("<= 0.01", lambda m, r: m <= 0.01)),
            report.Figure(f"netgg_guest_irqs_per_packet_{side[:4]}",
                          f"  {side} guest's virtio interrupts per packet", "per packet",
                          *both(lambda r: r.irqs_per_packet(idx)), digits=3),
        ]
    for idx, side in enumerate(("sender", "receiver")):
        figures += [
            report.Figure(f"netgg_vmm_wakeups_per_packet_{side[:4]}",
                          f"minivmm ({side}) kicks + irqs through the VMM per packet", "per packet",
                          [r.wakeups_per_packet(idx) for r in mini], [], digits=4,
                          target=("0", lambda m, r: m == 0)),
            report.Figure(f"netgg_vmm_exits_per_packet_{side[:4]}",
                          f"  minivmm ({side}) exits to the VMM per packet, transfer",
                          "per packet", [r.exits_per_packet(idx, "exits") for r in mini], [],
                          digits=3),
            report.Figure(f"netgg_vmm_mmio_per_packet_{side[:4]}",
                          "  of which MMIO exits (virtio-mmio registers)", "per packet",
                          [r.exits_per_packet(idx, "mmio_exits") for r in mini], [], digits=3),
        ]
    notes = [f"kernel {kernel}, initrd {initrd} (guest/bench appended), {ctx.memory} RAM, "
             f"1 vCPU per guest, mtu {sz['mtu']}, {ctx.runs} pair run(s) per VMM, "
             "median [min..max]",
             "each pair: its own dpdk-testpmd (-l 0,1 --no-huge, io forwarding between two "
             "net_vhost ports; one busy-polling lcore), both guests booted side by side; "
             "QEMU: -netdev vhost-user + virtio-net-device on virtio-mmio, memfd share=on",
             "TCP: bytes the receiver read from accept to the sender's FIN; UDP: datagrams "
             "delivered first to last (the sender offers them as fast as its kernel can)",
             "host CPU: user+system time of both VMM processes (guest kernel emulation on PVM "
             "runs in the vCPU threads) between the sender's START / 'GBENCH tcp-send' / END "
             "console lines: unlike MB/s it does not stretch when other work shares the cores",
             "VMM threads waking: voluntary context switches of the VMM's non-vCPU threads "
             "(/proc/PID/task/*/status) over the transfer, both VMMs alike: QEMU's virtio-mmio "
             "has no irqfd, its main loop relays every back-end call; minivmm's call fds are "
             "KVM irqfds",
             "guest interrupts: /proc/interrupts virtio lines over the transfer; Linux's "
             "virtio-mmio handler reads InterruptStatus and writes InterruptACK on each: "
             "2 MMIO exits per interrupt under either VMM",
             "per packet: the guest's rx+tx packet counts over the transfer; kicks/irqs are "
             "minivmm's device counters at exit (whole run); exits are minivmm's control-socket "
             "stats at the MINIVMM-BENCH-START/END console markers (they include the marker "
             "lines' UART port I/O). QEMU has no such counters (n/a)"]
    for r in mini[-1:]:
        for idx, side in enumerate(("sender", "receiver")):
            c = guestbench.counters(r.texts[idx], "vhost-user-net")
            win = {k: guestbench.window(r.vms[idx], k) for k in ("exits", "io_exits", "mmio_exits")}
            notes.append(f"last minivmm {side}: {r.packets(idx)} packets in the transfer; exits "
                         f"in it {win}; device counters at exit {c}")
    return [("guest <-> guest virtio-net through dpdk-testpmd (tools/bench netgg)", figures, notes)]
