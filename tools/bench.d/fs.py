# `tools/bench fs`: a Linux guest reading one large host file through virtio-fs
# (/usr/lib/qemu/virtiofsd behind minivmm --device vhost-user-fs, then behind QEMU microvm's
# vhost-user-fs-device), each run with its own virtiofsd on the same file: MB/s of one cold
# sequential read (guest/bench/fsread.sh, gbench) and minivmm's exits per MiB.
import os

import fwio
import guestbench
import machines
import report

NAME = "fs"
HELP = ("virtio-fs read through virtiofsd (Linux guest): MB/s, VMM exits per MiB; "
        "file size from BENCH_FS_MIB (64)")
DEFAULT_RUNS = 1
DEFAULT_MEMORY = "256M"  # the file goes through the guest's page cache
DEFAULT_TIMEOUT = 1200  # seconds per run (a Linux boot on a loaded PVM host)
# Timing inside the guest (gbench, CLOCK_MONOTONIC around open + read to EOF): the console
# markers seen by the host would add the UART and the host's polling to the read.
TIMING = "timing by the guest (gbench, CLOCK_MONOTONIC); no tracer"

VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
TAG = "bench"
QUEUE_SIZE = 128  # QEMU's vhost-user-fs-device default, given to both VMMs


def share(ctx, mib):
    """The shared directory: big.bin, mib MiB of pseudo-random bytes (written once)."""
    d = os.path.join(ctx.work, "fs-share")
    path = os.path.join(d, "big.bin")
    if not os.path.exists(path):
        os.makedirs(d, exist_ok=True)
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
    return d


def virtiofsd(ctx, label, shared):
    sock = os.path.join(ctx.work, f"{label}.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    argv = [VIRTIOFSD, f"--socket-path={sock}", "-o", f"source={shared}", "-o", "cache=auto"]
    return fwio.Backend(ctx, f"{label}-virtiofsd", argv, sock)


def machine(ctx, vmm, kernel, initrd, cmdline, sock, api):
    if vmm == "minivmm":
        extra = ["--device", f"vhost-user-fs,socket={sock},tag={TAG},queue-size={QUEUE_SIZE}",
                 "--api-socket", api]
        return machines.minivmm(ctx.vmm, kernel, cmdline, ctx.memory, initrd=initrd, extra=extra)
    extra = ["-chardev", f"socket,id=c0,path={sock}", "-global", "virtio-mmio.force-legacy=false",
             "-device", f"vhost-user-fs-device,chardev=c0,tag={TAG},queue-size={QUEUE_SIZE}"]
    return machines.qemu(kernel, cmdline, ctx.memory, initrd=initrd, binary=ctx.qemu, extra=extra)


def run_one(ctx, vmm, i, kernel, initrd, shared, size):
    label = f"fs-{vmm}-{i + 1}"
    ctx.log(f"fs: {vmm} run {i + 1}/{ctx.runs}")
    cmdline = f"{machines.guest_args(ctx.src)} minivmm.tests=fsread minivmm.gb_tag={TAG}"
    api = os.path.join(ctx.work, f"{label}.api")
    vm = None
    with virtiofsd(ctx, label, shared) as backend:
        m = machine(ctx, vmm, kernel, initrd, cmdline, backend.sock, api)
        vm = guestbench.Vm(ctx, label, vmm, m.argv, api if vmm == "minivmm" else None)
        finished = guestbench.run_vms(ctx, [vm], vm, ctx.timeout)
    text = vm.text()
    read = guestbench.gbench(text).get("read")
    failure = None
    if not finished:
        failure = "timed out"
    elif not guestbench.guest_passed(text, "fsread"):
        failure = "guest fsread did not pass"
    elif not read or read["bytes"] != size:
        failure = f"read {read and read['bytes']} bytes, want {size}"
    if failure:
        ctx.failed(f"{label}: {failure} (log: {vm.log}, {backend.log})")
        return None
    return {"read": read, "vm": vm, "text": text}


def run(ctx):
    mib = int(os.environ.get("BENCH_FS_MIB", "64"))
    shared = share(ctx, mib)
    kernel = guestbench.kernel(ctx)
    initrd = guestbench.initrd(ctx)
    runs = {"minivmm": [], "qemu": []}
    for i in range(ctx.runs):
        for vmm in runs:  # alternating, so slow drifts of the shared host hit both alike
            r = run_one(ctx, vmm, i, kernel, initrd, shared, mib << 20)
            if r:
                runs[vmm].append(r)

    def per_mib(r, key):
        d = guestbench.window(r["vm"], key)
        return None if d is None else d / mib

    def wakeups(r):
        c = guestbench.counters(r["text"], "vhost-user-fs")
        return None if c is None else (c["kicks"] + c["irqs"]) / mib

    def cpu_per_mib(r):  # ms of the VMM process's CPU time per MiB read
        t = guestbench.cpu_window(r["vm"])
        return None if t is None else t * 1e3 / mib

    def irqs_per_mib(r):
        n = guestbench.gbench(r["text"]).get("irqs")
        return None if not n else n["irqs"] / mib

    def sleeps_per_mib(r):
        d = guestbench.sleeps_window(r["vm"])
        return None if d is None else d / mib

    mini = runs["minivmm"]
    figures = [
        report.Figure("fs_read_mbps", f"virtio-fs sequential read, {mib} MiB cold file", "MB/s",
                      [guestbench.rate(r["read"], "bytes", 1e-6) for r in mini],
                      [guestbench.rate(r["read"], "bytes", 1e-6) for r in runs["qemu"]],
                      digits=3, target=(">= 1.0x QEMU", lambda m, r: r is not None and r >= 1.0)),
        report.Figure("fs_cpu_per_mib", "  host CPU of the VMM per MiB (load-proof)", "ms/MiB",
                      [cpu_per_mib(r) for r in mini], [cpu_per_mib(r) for r in runs["qemu"]],
                      digits=0, target=("<= 1.0x QEMU", lambda m, r: r is not None and r <= 1.0)),
        report.Figure("fs_vmm_thread_wakeups_per_mib", "VMM threads (not vCPUs) waking per MiB",
                      "per MiB", [sleeps_per_mib(r) for r in mini],
                      [sleeps_per_mib(r) for r in runs["qemu"]], digits=3,
                      target=("<= 0.01", lambda m, r: m <= 0.01)),
        report.Figure("fs_guest_irqs_per_mib", "  guest's virtio interrupts per MiB", "per MiB",
                      [irqs_per_mib(r) for r in mini], [irqs_per_mib(r) for r in runs["qemu"]],
                      digits=1),
        report.Figure("fs_vmm_wakeups_per_mib", "minivmm kicks + irqs through the VMM per MiB",
                      "per MiB", [wakeups(r) for r in mini], [], digits=3,
                      target=("0", lambda m, r: m == 0)),
        report.Figure("fs_vmm_exits_per_mib", "  minivmm exits to the VMM per MiB, during the read",
                      "per MiB", [per_mib(r, "exits") for r in mini], [], digits=1),
        report.Figure("fs_vmm_mmio_per_mib", "  of which MMIO exits (virtio-mmio registers)",
                      "per MiB", [per_mib(r, "mmio_exits") for r in mini], [], digits=1),
    ]
    notes = [f"kernel {kernel}, initrd {initrd} (guest/bench appended), {ctx.memory} RAM, 1 vCPU, "
             f"{ctx.runs} run(s) per VMM, median [min..max]",
             f"each run: its own {VIRTIOFSD} (cache=auto) on the same {mib} MiB file (in the "
             f"host's page cache), queue-size {QUEUE_SIZE} on both VMMs; a fresh mount, one "
             "read with 1 MiB read() calls; QEMU: vhost-user-fs-device on virtio-mmio, memfd "
             "share=on",
             "host CPU: user+system time of the VMM process (guest kernel emulation on PVM runs "
             "in its vCPU thread) between the START/END console lines",
             "VMM threads waking: voluntary context switches of the VMM's non-vCPU threads "
             "(/proc/PID/task/*/status) during the read, both VMMs alike",
             "exits: minivmm's control-socket stats at the MINIVMM-BENCH-START/END console "
             "markers (include the marker lines' UART port I/O); kicks/irqs: device counters "
             "at exit (whole run). QEMU has no such counters (n/a)"]
    for r in mini[-1:]:
        c = guestbench.counters(r["text"], "vhost-user-fs")
        win = {k: guestbench.window(r["vm"], k) for k in ("exits", "io_exits", "mmio_exits")}
        notes.append(f"last minivmm run: exits during the read {win}; device counters at exit {c}")
    return [("virtio-fs read through virtiofsd (tools/bench fs)", figures, notes)]
