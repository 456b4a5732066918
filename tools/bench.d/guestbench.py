# What the Linux-guest I/O benchmarks (netgg, fs) share: the guest (the tests' kernel and
# initramfs with guest/bench/ appended as a second cpio archive, so test boots stay as they
# are), VMM processes run side by side with their consoles in log files, minivmm's exit
# counters read through its control socket when the guest prints a marker, GBENCH lines.
import json
import os
import re
import socket
import subprocess
import time

import boot
import runner

START = "MINIVMM-BENCH-START"
END = "MINIVMM-BENCH-END"
DONE = "MINIVMM-DONE"
GBENCH = re.compile(r"^GBENCH (\S+)((?: \w+=\d+)*)\s*$", re.M)
# minivmm's per-device line at exit (vm_devices_report).
COUNTERS = re.compile(r"device (\w+) \((\S+), .*kicks-to-vmm=(\d+) irqs-from-vmm=(\d+) "
                      r"mmio-exits=(\d+)")
POLL_S = 0.1
QUERY_SETTLE_S = 0.05
# vCPU thread names: minivmm's vcpu_thread and QEMU's "CPU 0/KVM".
VCPU_THREAD = re.compile(r"^(vcpu\d+|CPU \d+/KVM)$")


def kernel(ctx):
    """The tests' kernel: vmlinux through its PVH note when it sits next to the bzImage
    (twice as fast to boot on PVM: no decompressor under emulation); both VMMs load it."""
    bz = boot.guest_file(ctx, "MINIVMM_KERNEL", "build-kernel")
    vmlinux = os.path.join(os.path.dirname(bz), "vmlinux")
    return vmlinux if os.path.exists(vmlinux) else bz


def _cpio_entry(name, mode, data, ino):
    """One newc entry: "070701", 13 eight-digit hex fields, the name, the data, 4-byte pads."""
    name_b = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0)
    head = b"070701" + b"".join(b"%08X" % f for f in fields) + name_b
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def initrd(ctx):
    """guest/build-initramfs's archive followed by a second one holding /bin/gbench (built
    here, static) and guest/bench/*.sh as /tests/*.sh: the kernel unpacks both in order."""
    base = boot.guest_file(ctx, "MINIVMM_INITRD", "build-initramfs")
    bench_dir = os.path.join(ctx.src, "guest", "bench")
    gbench = os.path.join(ctx.work, "gbench")
    if not os.path.exists(gbench):
        subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-static", "-s", "-o", gbench,
                        os.path.join(bench_dir, "gbench.c")], check=True)
    out = os.path.join(ctx.work, "initramfs-bench.cpio")
    if os.path.exists(out):
        return out
    with open(base, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        raise OSError(f"{base} is gzip-compressed: the bench appends to an uncompressed archive")
    data += b"\0" * (-len(data) % 512)  # the next archive's header must start aligned
    entries = [("bin/gbench", 0o100755, gbench)]
    entries += [(f"tests/{n}", 0o100755, os.path.join(bench_dir, n))
                for n in sorted(os.listdir(bench_dir)) if n.endswith(".sh")]
    for ino, (name, mode, path) in enumerate(entries, start=0x10000):
        with open(path, "rb") as f:
            data += _cpio_entry(name, mode, f.read(), ino)
    data += _cpio_entry("TRAILER!!!", 0, b"", 0)
    with open(out, "wb") as f:
        f.write(data)
    return out


class Vm(runner.LoggedVmm):
    """One VMM process in its own session, console to a log file."""

    def __init__(self, ctx, label, vmm, argv, api=None):
        self.label = label
        self.vmm = vmm
        self.api = api  # minivmm's control socket, or None
        self.counts = {}  # marker -> minivmm stats at that marker
        self.cpu = {}  # marker -> CPU seconds the VMM process had used (all threads)
        self.sleeps = {}  # marker -> voluntary context switches of the non-vCPU threads
        super().__init__(ctx.work, label, argv)

    def cpu_seconds(self):
        """User + system time of the whole VMM process so far: on PVM hosts the emulated
        guest kernel runs in its vCPU threads' system time, so this is the guest's cost too,
        and unlike wall time it does not stretch when other work shares the host's cores."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def vmm_sleeps(self):
        """Voluntary context switches of the VMM's threads other than its vCPUs: each is the
        thread going to sleep, so each is followed by a wake-up of the VMM's own code (event
        loop, I/O threads). The same measure for both VMMs; a thread that ended takes its
        count with it."""
        total = 0
        try:
            for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{tid}/status") as f:
                    status = f.read()
                name = re.search(r"^Name:\t(.*)$", status, re.M)
                if name and VCPU_THREAD.match(name.group(1)):
                    continue
                m = re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M)
                total += int(m.group(1)) if m else 0
        except OSError:
            return None
        return total

    def stats(self):
        """minivmm's exit counters now ({"exits", "io_exits", "mmio_exits"}), or None."""
        if not self.api:
            return None
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.api)
                s.sendall(b'{"command": "stats"}\n')
                reply = b""
                while not reply.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
            return json.loads(reply)
        except (OSError, ValueError):
            return None


def sample(vms, marker, first, last):
    """Reads every VM's counters at marker. minivmm's control-socket query wakes its event
    loop: it is made at the first and last markers only, before the first sample (and a
    moment to go back to sleep) and after the last, so the window does not count it."""
    if first:
        for vm in vms:
            vm.counts[marker] = vm.stats()
        time.sleep(QUERY_SETTLE_S)
    for vm in vms:
        vm.cpu[marker] = vm.cpu_seconds()
        vm.sleeps[marker] = vm.vmm_sleeps()
    if last:
        for vm in vms:
            vm.counts[marker] = vm.stats()


def run_vms(ctx, vms, marker_vm, timeout, markers=(START, END)):
    """Waits for every VM to exit (killing them at timeout). When marker_vm's console shows
    one of markers (in order), every VM's CPU time and minivmm counters are read: the guest prints
    the marker just before (after) its measured phase, so the window is that phase give or
    take the host's reaction time. Returns True unless the timeout hit."""
    deadline = time.monotonic() + timeout
    pending = list(markers)
    try:
        while any(vm.proc.poll() is None for vm in vms):
            if time.monotonic() >= deadline:
                ctx.log(f"timed out after {timeout:g} s")
                return False
            text = marker_vm.text() if pending else ""
            while pending and pending[0] in text:
                sample(vms, pending.pop(0), first=len(pending) == len(markers) - 1,
                       last=not pending)
            time.sleep(POLL_S)
        return True
    finally:
        for vm in vms:
            vm.stop()


def gbench(text):
    """{phase: {key: int}} from the GBENCH lines of a console log (first line per phase)."""
    out = {}
    for phase, kvs in GBENCH.findall(text):
        if phase not in out:
            out[phase] = {k: int(v) for k, v in (kv.split("=") for kv in kvs.split())}
    return out


def counters(text, kind):
    """minivmm's exit-time counters of the first device of kind (e.g. vhost-user-net)."""
    for m in COUNTERS.finditer(text):
        if m.group(2) == kind:
            return {"kicks": int(m.group(3)), "irqs": int(m.group(4)), "mmio": int(m.group(5))}
    return None


def window(vm, key, start=START, end=END):
    """How much minivmm's counter key grew between two markers, or None."""
    a, b = vm.counts.get(start), vm.counts.get(end)
    if not a or not b or key not in a or key not in b:
        return None
    return b[key] - a[key]


def cpu_window(vm, start=START, end=END):
    """CPU seconds the VMM process used between two markers, or None."""
    a, b = vm.cpu.get(start), vm.cpu.get(end)
    return None if a is None or b is None else b - a


def sleeps_window(vm, start=START, end=END):
    """Wake-ups of the VMM's non-vCPU threads between two markers, or None."""
    a, b = vm.sleeps.get(start), vm.sleeps.get(end)
    return None if a is None or b is None else b - a


def guest_passed(text, test):
    return f"MINIVMM-TEST {test} PASS" in text


def rate(d, key, scale=1.0):
    """d[key] per second of d["ns"], times scale; None when missing or zero time."""
    if not d or key not in d or not d.get("ns"):
        return None
    return d[key] * 1e9 / d["ns"] * scale
