# `tools/bench boot`: the minimal Linux guest (guest/build-kernel, guest/build-initramfs)
# under minivmm and QEMU microvm, to the init's MINIVMM-INIT-READY marker. The init then
# runs one short guest test and reboots, which ends both VMMs by themselves.
import os
import subprocess

import common
import machines
import report

NAME = "boot"
HELP = "Linux boot to the init marker (minutes per boot on PVM hosts)"
DEFAULT_RUNS = 1
DEFAULT_MEMORY = "128M"
DEFAULT_TIMEOUT = 3600  # seconds per boot (a loaded PVM host needs 20+ minutes)

READY = "MINIVMM-INIT-READY"
DONE = "MINIVMM-DONE"
GUEST_TEST = "smoke"  # a few seconds of guest user space, then `reboot -f`


def guest_file(ctx, env, script):
    """MINIVMM_KERNEL / MINIVMM_INITRD, or the last line the build script prints."""
    if os.environ.get(env):
        return os.environ[env]
    ctx.log(f"boot: guest/{script}" + (" (a first build takes ~10 minutes)" if "kernel" in script else ""))
    out = subprocess.run([os.path.join(ctx.src, "guest", script)], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def ok(machine, r):
    """A boot counts once the init marker is out; what follows only ends the VM."""
    if READY not in r.markers:
        return "timed out before the init marker" if r.timed_out else "no init marker"
    return None


def ending(r):
    test = "passed" if f"MINIVMM-TEST {GUEST_TEST} PASS" in r.text() else "FAILED"
    end = "killed after the guest's end" if r.killed else f"exit status {r.status}"
    return f"guest test {GUEST_TEST} {test}, {end}"


def run(ctx):
    kernel = guest_file(ctx, "MINIVMM_KERNEL", "build-kernel")
    initrd = guest_file(ctx, "MINIVMM_INITRD", "build-initramfs")
    cmdline = f"{machines.guest_args(ctx.src)} minivmm.tests={GUEST_TEST}"
    pair = [machines.minivmm(ctx.vmm, kernel, cmdline, ctx.memory, initrd=initrd),
            machines.qemu(kernel, cmdline, ctx.memory, initrd=initrd, binary=ctx.qemu)]
    results = common.run_alternating(ctx, pair, "boot", ctx.runs, ok, markers=[READY, DONE],
                                     sample_at=READY, end_marker=DONE, timeout=ctx.timeout,
                                     grace=120)
    figures = common.startup_figures(
        results, "boot", READY, "init marker", ready_unit="s",
        ready_target=("<= 0.67x QEMU", lambda m, r: r is not None and r <= 0.67))
    notes = [f"kernel {kernel}", f"initrd {initrd}",
             f"{ctx.memory} RAM, 1 vCPU, console=ttyS0 {cmdline}",
             f"{ctx.runs} run(s) each, median [min..max]; minivmm and QEMU run one after the other"]
    for vmm in common.VMMS:
        ends = sorted({ending(r) for r in common.good(results, vmm)})
        notes.append(f"{vmm}: {'; '.join(ends) or 'n/a'}")
    notes += common.startup_notes(results, READY)
    return [("Linux boot (tools/bench boot)", figures, notes)]
