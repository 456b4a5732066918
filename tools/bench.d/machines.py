# The two machines compared: minivmm and QEMU microvm, given the same kernel,
# initrd, command line, memory size and CPU restrictions. QEMU's RAM is a shared
# memfd like minivmm's (same page cache behaviour, same way of telling it apart in smaps).
import os
import re

QEMU = "qemu-system-x86_64"
# environment.md: the PVM emulator fails on instructions these features make Linux use.
QEMU_CPU = ("host,-xsave,-cx16,-popcnt,-movbe,-bmi1,-bmi2,-abm,-adx,-fsgsbase,-rdpid,-invpcid,-pcid,"
            "-smap,-smep,-pku,-umip,-rdrand,-rdseed,-arch-capabilities")
QEMU_MACHINE = "microvm,acpi=off,pit=on,pic=off,rtc=off,memory-backend=bench-ram"
# Used when guest/cmdline is missing: the same trims by name.
DEFAULT_GUEST_ARGS = ("reboot=k panic=-1 noxsave clearcpuid=popcnt,cx16,movbe,bmi1,bmi2,abm,adx,"
                      "fsgsbase,rdpid,invpcid,pcid,smap,smep,pku,umip,rdrand,rdseed,avx,avx2,fma,f16c")
# smaps names of the guest RAM mappings (memfd_create names).
MINIVMM_RAM = ("/memfd:minivmm-ram",)
QEMU_RAM = ("/memfd:memory-backend-memfd",)  # QEMU names the memfd after the backend type


class Machine:
    def __init__(self, vmm, argv, guest_ram):
        self.vmm = vmm  # "minivmm" or "qemu"
        self.argv = argv
        self.guest_ram = guest_ram


def memory_size(text):
    """--memory: a number with K, M or G (bare: M), as both VMMs accept it."""
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip().upper())
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"bad memory size '{text}': want e.g. 128M")
    return m.group(1) + (m.group(2) or "M")


def guest_args(src):
    """Kernel arguments both VMMs append to console=ttyS0."""
    path = os.path.join(src, "guest", "cmdline")
    if os.path.exists(path):
        with open(path) as f:
            return " ".join(f.read().split())
    return DEFAULT_GUEST_ARGS


def minivmm(binary, kernel, cmdline, memory, initrd=None, extra=()):
    """extra: more minivmm options (e.g. --device vhost-user-blk,socket=PATH).
    minivmm puts console=ttyS0 in front of --cmdline itself."""
    argv = [binary, "--kernel", kernel, "--memory", memory, "--cpus", "1", "--serial", "stdio",
            "--cmdline", cmdline]
    if initrd:
        argv += ["--initrd", initrd]
    return Machine("minivmm", argv + list(extra), MINIVMM_RAM)


def qemu(kernel, cmdline, memory, initrd=None, debug_exit=False, binary=QEMU, extra=()):
    """QEMU microvm; debug_exit adds the port-0xf4 exit device the test firmware powers off
    with; extra: more QEMU options (e.g. -chardev ... -device vhost-user-blk-device,...)."""
    argv = [binary, "-M", QEMU_MACHINE, "-enable-kvm", "-cpu", QEMU_CPU, "-smp", "1",
            "-m", memory, "-object", f"memory-backend-memfd,id=bench-ram,size={memory},share=on",
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-kernel", kernel, "-append", f"console=ttyS0 {cmdline}"]
    if initrd:
        argv += ["-initrd", initrd]
        # microvm has no keyboard controller; minivmm's i8042 is what ends the VM when
        # the guest reboots (reboot=k), so QEMU gets the same (-no-reboot then exits).
        argv += ["-device", "i8042"]
    if debug_exit:
        argv += ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    return Machine("qemu", argv + list(extra), QEMU_RAM)
