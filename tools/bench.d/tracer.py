# Start-up and exit accounting for one VMM process, the same way for minivmm and
# QEMU: the exec time, the first KVM_RUN and every return of KVM_RUN to the VMM.
# ftrace (a private tracefs instance, root) costs nothing measurable; strace is the
# fallback and slows every KVM_RUN down (its overhead is stated in the output).
import os
import re
import shutil
import subprocess
import time

KVM_RUN = 0xAE80
# Names for the blocked-in breakdown: the syscalls and KVM ioctls VMMs start up with.
SYSCALLS = {0: "read", 1: "write", 3: "close", 7: "poll", 9: "mmap", 10: "mprotect", 11: "munmap",
            16: "ioctl", 17: "pread64", 28: "madvise", 35: "nanosleep", 202: "futex",
            232: "epoll_wait", 257: "openat", 262: "newfstatat", 271: "ppoll", 285: "fallocate",
            319: "memfd_create", 435: "clone3", 441: "epoll_pwait2"}
KVM_IOCTLS = {0xAE01: "KVM_CREATE_VM", 0xAE41: "KVM_CREATE_VCPU", 0x4020AE46: "KVM_SET_USER_MEMORY_REGION",
              0x40A0AE49: "KVM_SET_USER_MEMORY_REGION2", 0xAE60: "KVM_CREATE_IRQCHIP",
              0x4040AE77: "KVM_CREATE_PIT2", 0x4008AE6A: "KVM_SET_GSI_ROUTING", 0x4040AE79: "KVM_IOEVENTFD",
              0x4020AE76: "KVM_IRQFD", 0x4008AE90: "KVM_SET_CPUID2", 0x4138AE84: "KVM_SET_SREGS",
              0x4090AE82: "KVM_SET_REGS", 0x4008AE89: "KVM_SET_MSRS", 0x4008AE48: "KVM_SET_IDENTITY_MAP_ADDR",
              0xAE47: "KVM_SET_TSS_ADDR", 0xC008AE05: "KVM_GET_SUPPORTED_CPUID", 0xAE04: "KVM_GET_VCPU_MMAP_SIZE",
              0x4068AEA3: "KVM_ENABLE_CAP", 0xAE03: "KVM_CHECK_EXTENSION"}
# kvm_userspace_exit reasons (include/uapi/linux/kvm.h) the tables name.
EXIT_NAMES = {2: "io", 5: "hlt", 6: "mmio", 8: "shutdown", 17: "internal-error", 24: "system-event"}
TRACEFS_DIRS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


class TraceFacts:
    """What a trace saw, in the tracer's clock (seconds)."""

    def __init__(self):
        self.exec_time = None
        self.first_kvm_run = None
        self.exits = []  # (time, reason name): KVM_RUN returned with an exit reason
        self.restarts = 0  # KVM_RUN interrupted by a signal (-EINTR): a wake-up too
        # ftrace only, up to the first KVM_RUN: [(start, end, thread id)] the VMM's
        # threads ran, [(start, end, thread id, "runnable" or "blocked", system call)]
        # they did not.
        self.on_cpu = None
        self.off_cpu = None
        self.main = None  # the thread that exec'd

    def _sum(self, intervals, t):
        if t is None or intervals is None or self.exec_time is None:
            return None
        return sum(max(0.0, min(i[1], t) - max(i[0], self.exec_time)) for i in intervals)

    def cpu_until(self, t):
        """CPU time the VMM's threads used from exec to t: its own start-up cost,
        whatever else the shared host's cores were doing."""
        return self._sum(self.on_cpu, t)

    def waiting_until(self, t):
        """Time the VMM's threads were runnable but not running (a busy host)."""
        return self._sum(self.off_cpu and [i for i in self.off_cpu if i[3] == "runnable"], t)

    def blocked_until(self, t):
        """Time the exec'd thread slept (I/O, locks, waiting for its threads)."""
        return self._sum(self._blocked(), t)

    def blocked_in(self, t):
        """blocked_until split by the system call the thread slept in: {name: seconds}."""
        split = {}
        for i in self._blocked() or []:
            split[i[4]] = split.get(i[4], 0.0) + self._sum([i], t)
        return split

    def _blocked(self):
        return self.off_cpu and [i for i in self.off_cpu if i[3] == "blocked" and i[2] == self.main]

    def exits_until(self, t):
        if t is None or self.exits is None:
            return None
        return sum(1 for ts, _ in self.exits if ts <= t)

    def exits_by_reason(self, until=None):
        counts = {}
        for ts, reason in self.exits or []:
            if until is None or ts <= until:
                counts[reason] = counts.get(reason, 0) + 1
        return counts


def tracefs_root():
    """The mounted tracefs, mounting it if we may; None when unusable."""
    for d in TRACEFS_DIRS:
        if os.path.isdir(os.path.join(d, "instances")):
            return d
    if os.geteuid() == 0 and os.path.isdir(TRACEFS_DIRS[0]):
        mount = ["mount", "-t", "tracefs", "nodev", TRACEFS_DIRS[0]]
        if subprocess.run(mount, stderr=subprocess.DEVNULL).returncode == 0:
            return TRACEFS_DIRS[0]
    return None


def choose(method):
    """A tracer for --trace METHOD (auto: ftrace if usable, else strace, else none)."""
    if method in ("auto", "ftrace"):
        root = tracefs_root()
        if root and os.access(os.path.join(root, "instances"), os.W_OK):
            return Ftrace(root)
        if method == "ftrace":
            raise SystemExit("bench: ftrace needs root and tracefs (/sys/kernel/tracing)")
    if method in ("auto", "strace"):
        if shutil.which("strace"):
            return Strace()
        if method == "strace":
            raise SystemExit("bench: strace is not installed")
    return NoTrace()


class NoTrace:
    name = "none"
    note = "no tracer: exec time is the fork time, no KVM_RUN or exit figures"

    def now(self):
        return time.monotonic()

    def wrap(self, argv, work):
        return argv

    def attach(self, pid):
        self.facts = TraceFacts()
        self.facts.exec_time = self.now()
        self.facts.exits = None  # not counted

    def drain(self):
        pass

    def vmm_pid(self, child_pid):
        return child_pid

    def finish(self):
        return self.facts

    def close(self):
        pass


# "<comm>-<pid> [cpu] <flags> <secs>: <event>: <text>", for syscall events
# "...: sys_ioctl(fd: 8, cmd: 0xae80, arg: 0)"; comm may hold spaces ("CPU 0/KVM").
FTRACE_LINE = re.compile(r"^\s*(.*)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[\d+\]\s+\S+\s+(\d+\.\d+):\s+(\w+)[:(]\s*(.*)$")
SWITCH = re.compile(r" prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=.* next_pid=(\d+) next_prio=")
CHILD = re.compile(r" child_pid=(\d+)")
SYSCALL = re.compile(r"NR (\d+) \((?:[0-9a-f]+), ([0-9a-f]+)")
EXIT_REASON = re.compile(r"reason (\S+) \((-?\d+)\)")


class Ftrace:
    """Events of one process tree in a private tracefs instance, clock CLOCK_MONOTONIC."""

    name = "ftrace"
    note = ("ftrace tracepoints (sched_process_exec/fork, sched_switch, raw_syscalls, sys_enter_ioctl KVM_RUN, "
            "kvm_userspace_exit), CLOCK_MONOTONIC: ~1 us per event, the VMM never stops")

    def __init__(self, root):
        self.dir = os.path.join(root, "instances", f"minivmm-bench-{os.getpid()}")
        self.pipe = None

    def now(self):
        return time.monotonic()

    def wrap(self, argv, work):
        return argv

    def _write(self, rel, value):
        with open(os.path.join(self.dir, rel), "w") as f:
            f.write(value)

    def attach(self, pid):
        """Starts tracing pid (and the threads it will create) before it execs."""
        self.close()
        os.mkdir(self.dir)
        self._write("trace_clock", "mono")
        self._write("buffer_size_kb", "4096")
        self._write("options/event-fork", "1")
        self._write("set_event_pid", str(pid))
        self._write("events/syscalls/sys_enter_ioctl/filter", f"cmd == {KVM_RUN:#x}")
        for ev in ("sched/sched_process_exec", "sched/sched_process_fork", "sched/sched_switch",
                   "raw_syscalls/sys_enter", "raw_syscalls/sys_exit", "syscalls/sys_enter_ioctl",
                   "kvm/kvm_userspace_exit"):
            self._write(f"events/{ev}/enable", "1")
        self._write("tracing_on", "1")
        self.pipe = os.open(os.path.join(self.dir, "trace_pipe"), os.O_RDONLY | os.O_NONBLOCK)
        self.partial = b""
        self.facts = TraceFacts()
        self.facts.on_cpu = []
        self.facts.off_cpu = []
        self.facts.main = pid
        self.running = {}  # thread id -> time it was switched in
        self.stopped = {}  # thread id -> (time it was switched out, why, system call)
        self.in_syscall = {}  # thread id -> name of the system call it is in
        self.threads = {pid}  # the VMM's threads (and their children)
        self.last = 0.0

    def drain(self):
        while self.pipe is not None:
            try:
                data = os.read(self.pipe, 65536)
            except BlockingIOError:
                return
            if not data:
                return
            lines = (self.partial + data).split(b"\n")
            self.partial = lines.pop()
            for line in lines:
                self._event(line.decode(errors="replace"))

    def _event(self, line):
        m = FTRACE_LINE.match(line)
        if not m:
            return
        ts, event, text = float(m.group(3)), m.group(4), m.group(5)
        f = self.facts
        self.last = ts
        if event == "sched_switch":
            s = SWITCH.search(text)
            if s:
                prev, state, nxt = int(s.group(1)), s.group(2), int(s.group(3))
                start = self.running.pop(prev, None)
                if start is not None:
                    f.on_cpu.append((start, ts, prev))
                    why = "runnable" if state.startswith("R") else "blocked"
                    self.stopped[prev] = (ts, why, self.in_syscall.get(prev, "no system call"))
                if nxt in self.threads:
                    self.running[nxt] = ts
                    off = self.stopped.pop(nxt, None)
                    if off:
                        f.off_cpu.append((off[0], ts, nxt) + off[1:])
        elif event == "sys_enter":
            c = SYSCALL.match(text)
            if c:
                nr, arg1 = int(c.group(1)), int(c.group(2), 16)
                name = SYSCALLS.get(nr, f"syscall {nr}")
                if nr == 16:
                    name = KVM_IOCTLS.get(arg1, f"ioctl {arg1:#x}")
                self.in_syscall[int(m.group(2))] = name
        elif event == "sys_exit":
            self.in_syscall.pop(int(m.group(2)), None)
        elif event == "sched_process_fork":
            c = CHILD.search(text)
            if c:
                self.threads.add(int(c.group(1)))
        elif event == "sched_process_exec" and f.exec_time is None:
            f.exec_time = ts
            self.running[int(m.group(2))] = ts
        elif event == "sys_ioctl" and f.first_kvm_run is None:
            f.first_kvm_run = ts
            # Scheduling is only accounted up to here; a running guest switches
            # thousands of times a second, which would cost this process real CPU.
            for ev in ("sched/sched_switch", "raw_syscalls/sys_enter", "raw_syscalls/sys_exit"):
                self._write(f"events/{ev}/enable", "0")
        elif event == "kvm_userspace_exit":
            r = EXIT_REASON.search(text)
            if r and r.group(1) == "restart":
                f.restarts += 1
            elif r:
                code = int(r.group(2))
                f.exits.append((ts, EXIT_NAMES.get(code, f"reason-{code}")))

    def vmm_pid(self, child_pid):
        return child_pid

    def finish(self):
        self._write("tracing_on", "0")
        self.drain()
        facts = self.facts
        facts.on_cpu += [(start, self.last, tid) for tid, start in self.running.items()]
        facts.off_cpu += [(off[0], self.last, tid) + off[1:] for tid, off in self.stopped.items()]
        self.close()
        return facts

    def close(self):
        if self.pipe is not None:
            os.close(self.pipe)
            self.pipe = None
        if os.path.isdir(self.dir):
            try:
                self._write("tracing_on", "0")
                os.rmdir(self.dir)
            except OSError:
                pass


# "<pid> <secs> ioctl(9, KVM_RUN, 0) = 0", "... <unfinished ...>", "<... ioctl resumed>) = 0"
STRACE_LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")


class Strace:
    """strace -f on the VMM: only execve and ioctl stop (seccomp-bpf), clock CLOCK_REALTIME."""

    name = "strace"
    note = "strace -f --seccomp-bpf -e execve,ioctl: every ioctl stops the VMM (~tens of us each), inflating start-up and boot times"

    def now(self):
        return time.time()

    def wrap(self, argv, work):
        self.log = os.path.join(work, "strace.log")
        return ["strace", "-f", "-ttt", "-qq", "--seccomp-bpf", "-e", "trace=execve,ioctl",
                "-e", "signal=none", "-o", self.log, "--"] + argv

    def attach(self, pid):
        self.strace_pid = pid

    def drain(self):
        pass

    def vmm_pid(self, child_pid):
        """The traced VMM is strace's child."""
        try:
            with open(f"/proc/{child_pid}/task/{child_pid}/children") as f:
                kids = f.read().split()
            return int(kids[0]) if kids else child_pid
        except OSError:
            return child_pid

    def finish(self):
        facts = TraceFacts()
        pending = set()  # threads inside KVM_RUN whose return strace reports later
        try:
            lines = open(self.log, errors="replace").read().splitlines()
        except OSError:
            return facts
        for line in lines:
            m = STRACE_LINE.match(line)
            if not m:
                continue
            tid, ts, text = m.group(1), float(m.group(2)), m.group(3)
            if text.startswith("execve(") and facts.exec_time is None:
                facts.exec_time = ts
            elif text.startswith("ioctl(") and "KVM_RUN" in text:
                if facts.first_kvm_run is None:
                    facts.first_kvm_run = ts
                if text.endswith("<unfinished ...>"):
                    pending.add(tid)
                else:
                    self._ret(facts, ts, text)
            elif text.startswith("<... ioctl resumed>") and tid in pending:
                pending.discard(tid)
                self._ret(facts, ts, text)
        return facts

    @staticmethod
    def _ret(facts, ts, text):
        if "EINTR" in text or "ERESTART" in text:
            facts.restarts += 1
        elif re.search(r"= 0$", text):
            facts.exits.append((ts, "any"))

    def close(self):
        pass
