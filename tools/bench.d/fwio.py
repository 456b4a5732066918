# What the firmware I/O benchmarks (blk, pingpong, net) share: a fresh back-end per VMM
# run (qemu-storage-daemon, the in-tree echo back-end, dpdk-testpmd), one firmware run
# under minivmm or QEMU with its FIGURE lines parsed, and minivmm's device counters.
# Command lines are those of tests/firmware/fw_test.sh, so a bench run is a test run.
import os
import re
import subprocess
import time

import machines
import runner
import tracer

FIGURE = re.compile(r"^MINIVMM-TEST (\S+) FIGURE (\w+)=(\S+)", re.M)
# minivmm's per-device line at exit (vm_devices_report): the VMM's share of the data path.
COUNTERS = re.compile(r"device (\S+) .*kicks-to-vmm=(\d+) irqs-from-vmm=(\d+) mmio-exits=(\d+)")
NO_TRACE = tracer.NoTrace()  # I/O figures come from the guest's kvmclock, not a tracer
SOCKET_WAIT_S = 30  # testpmd takes seconds on a loaded host
TIMING = ("timing by the firmware (kvmclock, in the guest); VMMs run untraced, one at a time, "
          "each with its own back-end")


def firmware(ctx):
    return subprocess.run([ctx.vmm, "--print-firmware-path"], capture_output=True, text=True,
                          check=True).stdout.strip()


class Backend:
    """A back-end process in its own process group, up once its socket exists."""

    def __init__(self, ctx, label, argv, sock):
        self.ctx = ctx
        self.sock = sock
        self.log = os.path.join(ctx.work, f"{label}.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + SOCKET_WAIT_S
        while not os.path.exists(sock):
            if self.proc.poll() is not None or time.monotonic() >= deadline:
                self.stop()
                raise OSError(f"back-end {argv[0]} did not create {sock} (log: {self.log})")
            time.sleep(0.05)

    def stop(self):
        runner.stop_popen(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def qsd(ctx, label, size):
    """qemu-storage-daemon exporting a fresh raw image of size bytes (sparse: holes read as 0)."""
    img = os.path.join(ctx.work, f"{label}.img")
    sock = os.path.join(ctx.work, f"{label}.sock")
    for path in (img, sock):
        if os.path.exists(path):
            os.unlink(path)
    with open(img, "wb") as f:
        f.truncate(size)
    argv = ["qemu-storage-daemon", "--blockdev", f"driver=file,node-name=f,filename={img}",
            "--export", "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,"
            f"addr.path={sock},writable=on"]
    return Backend(ctx, f"{label}-qsd", argv, sock)


def echo_backend(ctx, label, binary):
    sock = os.path.join(ctx.work, f"{label}.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    return Backend(ctx, f"{label}-backend", [binary, "--socket", sock, "--quiet"], sock)


def testpmd(ctx, label):
    """dpdk-testpmd answering ICMP echo on one vhost-user port (fw_test.sh net)."""
    sock = os.path.join(ctx.work, f"{label}.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    prefix = f"bench-{os.getpid()}-{label}"
    argv = ["dpdk-testpmd", "-l", "0,1", "--no-huge", "-m", "512", "--no-pci",
            "--file-prefix", prefix, "--vdev", f"net_vhost0,iface={sock},queues=1", "--",
            "--auto-start", "--forward-mode=icmpecho", "--nb-cores=1",
            "--total-num-mbufs=16384", "--stats-period", "1000"]
    b = Backend(ctx, f"{label}-testpmd", argv, sock)
    b.runtime_dir = f"/var/run/dpdk/{prefix}"
    return b


def qemu_device(kind, sock):
    """QEMU options for the vhost-user device fw_test.sh gives the reference VMM."""
    chardev = ["-chardev", f"socket,id=c,path={sock}", "-global", "virtio-mmio.force-legacy=false"]
    if kind == "blk":
        return chardev + ["-device", "vhost-user-blk,chardev=c"]
    return chardev + ["-netdev", "vhost-user,id=n,chardev=c", "-device", "virtio-net-device,netdev=n"]


def minivmm_device(kind, sock):
    spec = {"blk": f"vhost-user-blk,socket={sock}",
            "net": f"vhost-user,socket={sock},virtio-id=1,queues=2",
            "echo": f"vhost-user,socket={sock},virtio-id=63,config-size=8"}[kind]
    return ["--device", spec]


def machine(ctx, vmm, fw, cmdline, kind, sock):
    if vmm == "minivmm":
        return machines.minivmm(ctx.vmm, fw, cmdline, ctx.memory, extra=minivmm_device(kind, sock))
    return machines.qemu(fw, cmdline, ctx.memory, debug_exit=True, binary=ctx.qemu,
                         extra=qemu_device(kind, sock))


class FwRun:
    """One firmware run: its FIGURE values (numbers where they parse), minivmm's counters."""

    def __init__(self, r, test):
        self.result = r
        text = r.text()
        self.figures = {}
        for name, key, value in FIGURE.findall(text):
            if name == test:
                try:
                    self.figures[key] = float(value)
                except ValueError:
                    self.figures[key] = value
        m = COUNTERS.search(text)
        self.counters = None if not m else {
            "kicks": int(m.group(2)), "irqs": int(m.group(3)), "mmio": int(m.group(4))}

    def get(self, key):
        v = self.figures.get(key)
        return v if isinstance(v, float) else None


def run_fw(ctx, label, m, test):
    """Boots the firmware once; returns FwRun, or None (reason logged as a failure)."""
    r = runner.run(label, m.argv, NO_TRACE, ctx.work, markers=[], guest_ram=m.guest_ram,
                   timeout=ctx.timeout, grace=5)
    want = 1 if m.vmm == "qemu" else 0  # isa-debug-exit: QEMU exits with status * 2 + 1
    failure = None
    if r.timed_out:
        failure = "timed out"
    elif f"MINIVMM-TEST {test} PASS" not in r.text():
        failure = f"no PASS line from test={test}"
    elif r.status != want:
        failure = f"exit status {r.status}, want {want}"
    if failure:
        ctx.failed(f"{label}: {failure} (log: {r.log})")
        return None
    return FwRun(r, test)


def values(runs, key):
    return [r.get(key) for r in runs if r is not None]
