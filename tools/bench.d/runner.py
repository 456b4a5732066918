# Runs one VMM process under a tracer and watches its console: the time each
# marker appears, its memory (smaps) when a chosen marker appears, its exit.
# Leftovers are killed: the VMM runs in its own process group, killed on every exit path.
import os
import select
import signal
import subprocess
import time

DRAIN_S = 0.25


class RunResult:
    def __init__(self, label):
        self.label = label
        self.markers = {}  # marker -> time (tracer clock) its first byte was read
        self.eof = None  # time (tracer clock) the VMM closed its output (exit)
        self.memory = None  # smaps summary at the sample marker
        self.status = None  # exit status; -N: killed by signal N
        self.timed_out = False
        self.killed = False  # did not exit by itself after its end marker
        self.output = b""
        self.maxrss_kib = None  # peak RSS (getrusage), guest pages it touched included
        self.facts = None  # tracer.TraceFacts
        self.log = None  # the console output, kept in the work directory
        self.failure = None  # why the run does not count (set by the benchmark)

    def since_exec(self, t):
        """Seconds from exec to a tracer-clock time, or None."""
        if t is None or self.facts is None or self.facts.exec_time is None:
            return None
        return t - self.facts.exec_time

    def marker_time(self, marker):
        return self.since_exec(self.markers.get(marker))

    def text(self):
        return self.output.decode(errors="replace")


# warm.Warm when --warm-cache is on: run() pins each VMM's files before starting it.
WARM = None


def smaps_summary(pid, guest_ram):
    """RSS, PSS and private memory of pid in KiB, split into guest RAM (mappings whose
    name starts with one of guest_ram) and everything else (the VMM's own cost)."""
    fields = {"Rss:": "rss", "Pss:": "pss", "Private_Clean:": "private", "Private_Dirty:": "private"}
    s = {k: 0 for v in fields.values() for k in (v, "guest_" + v)}
    guest = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if not first.endswith(":"):  # a mapping header: addr perms offset dev inode [name]
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else ""
                guest = any(name.startswith(g) for g in guest_ram)
                continue
            key = fields.get(first)
            if key:
                kib = int(line.split()[1])
                s[key] += kib
                if guest:
                    s["guest_" + key] += kib
    if s["rss"] == 0:
        return None  # the process is already gone (its mappings with it)
    for key in set(fields.values()):
        s["vmm_" + key] = s[key] - s["guest_" + key]
    return s


def reap(pid, seconds):
    """wait4's result once pid has exited, or None after seconds."""
    deadline = time.monotonic() + seconds
    while True:
        reaped = os.wait4(pid, os.WNOHANG)
        if reaped[0] or time.monotonic() >= deadline:
            return reaped if reaped[0] else None
        time.sleep(0.01)


def stop(pid):
    """Ends the VMM's process group (SIGTERM, then SIGKILL); returns wait4's result."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        reaped = reap(pid, 3)
        if reaped:
            return reaped
    return os.wait4(pid, 0)


def stop_popen(proc, grace=5):
    """Ends a Popen started in its own session (SIGTERM, then SIGKILL) and anything it
    left in its process group, then reaps it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
            proc.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything it left in its group
    except ProcessLookupError:
        pass
    proc.wait()


class LoggedVmm:
    """A VMM in its own session (process group), its console in work/label.log."""

    def __init__(self, work, label, argv):
        self.log = os.path.join(work, f"{label}.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        stop_popen(self.proc)


def run(label, argv, tracer, work, markers, sample_at=None, guest_ram=(), end_marker=None,
        timeout=60, grace=10):
    """Runs argv until it exits (or timeout seconds; or grace seconds after end_marker).
    markers: console strings to time; sample_at: the marker at which to read smaps."""
    res = RunResult(label)
    res.log = os.path.join(work, f"{label}.log")
    if WARM:
        WARM.pin(argv)
    argv = tracer.wrap(argv, work)
    out_r, out_w = os.pipe()
    gate_r, gate_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: wait until the tracer follows us, then exec
        try:
            os.setpgid(0, 0)
            os.close(out_r)
            os.close(gate_w)
            os.read(gate_r, 1)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            os.execvp(argv[0], argv)
        except OSError as e:
            os.write(2, f"bench: cannot run {argv[0]}: {e}\n".encode())
        os._exit(127)
    os.close(out_w)
    os.close(gate_r)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    eof = False
    buf = bytearray()
    log = open(res.log, "wb")  # written as it arrives: a long boot can be followed live
    try:
        tracer.attach(pid)
        os.write(gate_w, b"x")
        os.close(gate_w)
        deadline = time.monotonic() + timeout
        end_deadline = None
        next_drain = 0.0
        scanned = {m: 0 for m in markers}
        while True:
            now = time.monotonic()
            limit = deadline if end_deadline is None else min(deadline, end_deadline)
            if now >= limit:
                res.timed_out = end_deadline is None or now >= deadline
                res.killed = not res.timed_out
                break
            # The trace is drained every DRAIN_S, not on every event: its buffer
            # holds seconds of events, and a wake-up per event would be a busy loop.
            if now >= next_drain:
                tracer.drain()
                next_drain = now + DRAIN_S
            ready, _, _ = select.select([out_r], [], [], max(0, min(next_drain, limit) - now))
            if out_r in ready:
                data = os.read(out_r, 65536)
                t = tracer.now()
                if not data:
                    eof = True  # the VMM closed its output: it is exiting
                    res.eof = t
                    break
                buf += data
                log.write(data)
                log.flush()
                for m in markers:
                    if m in res.markers:
                        continue
                    at = buf.find(m.encode(), scanned[m])
                    if at < 0:
                        scanned[m] = max(0, len(buf) - len(m))
                        continue
                    res.markers[m] = t
                    if m == sample_at:
                        try:
                            res.memory = smaps_summary(tracer.vmm_pid(pid), guest_ram)
                        except OSError:
                            pass
                    if m == end_marker:
                        end_deadline = time.monotonic() + grace
    finally:
        res.output = bytes(buf)
        # At end of output the VMM is exiting: let it finish; otherwise end it now.
        _, status, rusage = reap(pid, grace if eof else 0) or stop(pid)
        try:
            os.killpg(pid, signal.SIGKILL)  # anything the VMM left in its group
        except ProcessLookupError:
            pass
        os.close(out_r)
        res.status = os.waitstatus_to_exitcode(status)
        res.maxrss_kib = rusage.ru_maxrss
        res.facts = tracer.finish()
        log.close()
    return res
