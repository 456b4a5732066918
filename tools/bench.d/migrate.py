# `tools/bench migrate`: live migration of the test firmware's dirty guest (256 MiB) over a
# UNIX socket, minivmm -> minivmm (control socket + minivmm-ctl migrate) vs QEMU microvm ->
# QEMU microvm (QMP migrate / query-migrate), idle and busy, same policy for both:
#   idle: test=dirty passes=2 idle=1: every page written twice, then the vCPU sleeps (hlt);
#   busy: test=dirty passes=0: the guest rewrites a cache line of every page, pass after
#         pass, while it migrates, and checks each page's previous stamp on the destination;
#   both: downtime target 300 ms (QEMU's default downtime-limit), at most 30 rounds (then
#         stop and copy; QEMU gets the limit by raising its downtime-limit once its dirty
#         sync count reaches it), QEMU's 32 MiB/s default bandwidth cap lifted.
# Total time and downtime are each VMM's own report (minivmm: vCPU pause on the source to
# the destination's go-ahead; QEMU: its "downtime", stop on the source to the end of
# sending, so QEMU's is the narrower of the two).
#
# Transfer rate vs loopback, defined: minivmm's rate is the idle migration's bytes on the
# wire divided by its total time (connect, dirty logging, every page, state and handover
# included; the idle guest's RAM is all written, so this is a whole-RAM copy). The loopback
# copy moves the same number of bytes in the same run between two processes over a connected
# AF_UNIX stream socket with the socket buffers minivmm asks for (MCONN_SOCKET_BUF, 4 MiB),
# from a fully populated memfd mapping (like guest RAM) into another populated memfd mapping
# (like the destination's pre-faulted RAM), 1 MiB per send(), no framing, no checksum: timed
# from the first send to the receiver's acknowledgement of the last byte. Ratio = minivmm /
# loopback. What differs, for judging: minivmm frames runs and sends pages with vmsplice +
# splice (the receiver's read is the only copy) where the plain copy send()s (two copies:
# into the socket, out of it); on AF_UNIX its pages carry no CRC (section headers do:
# vmm/migrate_stream.h says why), so one more idle run goes over TCP on 127.0.0.1, where
# every page is CRC-32C'd on both sides, to show what the checks cost.
import json
import mmap
import os
import socket
import subprocess
import time

import fwio
import machines
import report
import runner

NAME = "migrate"
HELP = "live migration of the dirty firmware guest, idle and busy: total time, downtime, rate vs loopback"
DEFAULT_RUNS = 3
DEFAULT_MEMORY = "256M"
DEFAULT_TIMEOUT = 120  # seconds per migration
TIMING = ("timing by each VMM's own migration report (minivmm-ctl / QMP query-migrate); "
          "VMM pairs run one at a time")

DOWNTIME_MS = 300
MAX_ROUNDS = 30
GUESTS = {"idle": ("test=dirty passes=2 idle=1", "dirty LOG idle after"),
          "busy": ("test=dirty passes=0", "dirty LOG pass 16 ")}
LOOP_CHUNK = 1 << 20
LOOP_SOCKET_BUF = 4 << 20  # vmm/migrate_conn.h MCONN_SOCKET_BUF


class Proc(runner.LoggedVmm):
    """A VMM in its own process group, console to a log file."""

    def __init__(self, ctx, label, argv):
        super().__init__(ctx.work, label, argv)

    def wait_for(self, pattern, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if pattern in self.text():
                return True
            if self.proc.poll() is not None:
                return pattern in self.text()
            time.sleep(0.05)
        return False


class Qmp:
    def __init__(self, path, seconds=30):
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rw")
        self.file.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.file.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.file.flush()
        while True:
            msg = json.loads(self.file.readline())
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise OSError(f"QMP {name}: {msg['error'].get('desc')}")

    def close(self):
        self.sock.close()


def ctl_path(ctx):
    return os.path.join(os.path.dirname(os.path.dirname(ctx.vmm)), "tools", "minivmm-ctl")


def fresh(*paths):
    for p in paths:
        if os.path.exists(p):
            os.unlink(p)


def after_check(dst, kind):
    """None if the destination runs the guest correctly, else why not."""
    if kind == "busy":
        # A pass logged on the destination after resuming: every stamp checked once more.
        text = dst.text()
        before = text.count("dirty LOG pass")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and dst.text().count("dirty LOG pass") <= before:
            time.sleep(0.1)
        text = dst.text()
        if "dirty FAIL" in text:
            return "the destination found a page that lost its stamp"
        if text.count("dirty LOG pass") <= before:
            return "the guest did not run on after the migration"
    return None


def minivmm_once(ctx, fw, kind, label, tcp=False):
    cmdline, ready = GUESTS[kind]
    api_src, api_dst = (os.path.join(ctx.work, f"{label}-{x}.api") for x in ("src", "dst"))
    mig = os.path.join(ctx.work, f"{label}.mig")
    fresh(api_src, api_dst, mig)
    uri = f"tcp:127.0.0.1:{20000 + os.getpid() % 20000}" if tcp else f"unix:{mig}"
    base = [ctx.vmm, "--kernel", fw, "--memory", ctx.memory, "--cpus", "1", "--serial", "stdio",
            "--cmdline", cmdline]
    src = Proc(ctx, f"{label}-src", base + ["--api-socket", api_src])
    dst = Proc(ctx, f"{label}-dst", base + ["--api-socket", api_dst, "--incoming", uri])
    try:
        if not src.wait_for(ready, ctx.timeout) or not dst.wait_for("waiting for the migration", 60):
            return None, f"a VMM did not get ready (logs: {src.log}, {dst.log})"
        out = subprocess.run([ctl_path(ctx), "--api-socket", api_src, "--downtime-ms",
                              str(DOWNTIME_MS), "--max-rounds", str(MAX_ROUNDS), "migrate",
                              uri], capture_output=True, text=True, timeout=ctx.timeout)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        st = json.loads(lines[-1]) if lines else {}
        if out.returncode != 0 or st.get("status") != "completed":
            return None, f"migration failed: {st.get('error', out.stderr.strip())} (log {src.log})"
        why = after_check(dst, kind)
        if why:
            return None, f"{why} (log {dst.log})"
        total = st["total_ms"]
        return {"total_ms": total, "downtime_ms": st["downtime_ms"], "rounds": st["rounds"],
                "bytes": st["bytes_sent"], "rate": st["bytes_sent"] / (total / 1000.0)
                if total else None, "round_rate": st["rate_bps"]}, None
    finally:
        subprocess.run([ctl_path(ctx), "--api-socket", api_dst, "quit"], capture_output=True,
                       timeout=10)
        src.stop()
        dst.stop()


def qemu_once(ctx, fw, kind, label):
    cmdline, ready = GUESTS[kind]
    qmp_src, qmp_dst = (os.path.join(ctx.work, f"{label}-{x}.qmp") for x in ("src", "dst"))
    mig = os.path.join(ctx.work, f"{label}.mig")
    fresh(qmp_src, qmp_dst, mig)

    def argv(qmp, extra=()):
        return machines.qemu(fw, cmdline, ctx.memory, debug_exit=True, binary=ctx.qemu,
                             extra=["-qmp", f"unix:{qmp},server=on,wait=off"] + list(extra)).argv

    src = Proc(ctx, f"{label}-src", argv(qmp_src))
    dst = Proc(ctx, f"{label}-dst", argv(qmp_dst, ["-incoming", f"unix:{mig}"]))
    qs = qd = None
    try:
        if not src.wait_for(ready, ctx.timeout):
            return None, f"the source did not get ready (log {src.log})"
        qs, qd = Qmp(qmp_src), Qmp(qmp_dst)
        qs.cmd("migrate-set-parameters", **{"downtime-limit": DOWNTIME_MS,
                                             "max-bandwidth": 1 << 40})
        qs.cmd("migrate", uri=f"unix:{mig}")
        deadline = time.monotonic() + ctx.timeout
        forced = False
        while True:
            st = qs.cmd("query-migrate")
            if st.get("status") in ("completed", "failed", "cancelled"):
                break
            # minivmm's round limit: then stop and copy whatever is left.
            if not forced and st.get("ram", {}).get("dirty-sync-count", 0) >= MAX_ROUNDS:
                qs.cmd("migrate-set-parameters", **{"downtime-limit": 1 << 30})
                forced = True
            if time.monotonic() >= deadline:
                return None, f"QEMU's migration did not end in {ctx.timeout} s (log {src.log})"
            time.sleep(0.01)
        if st.get("status") != "completed":
            return None, f"QEMU's migration {st.get('status')}: {st.get('error-desc', '')}"
        why = after_check(dst, kind)
        if why:
            return None, f"{why} (log {dst.log})"
        ram = st.get("ram", {})
        total = st.get("total-time")
        return {"total_ms": total, "downtime_ms": st.get("downtime"),
                "rounds": ram.get("dirty-sync-count"), "bytes": ram.get("transferred"),
                "rate": ram.get("transferred") / (total / 1000.0) if total else None,
                "round_rate": ram.get("mbps", 0) * 1e6 / 8}, None
    finally:
        for q in (qs, qd):
            if q:
                q.close()
        src.stop()
        dst.stop()


def populated(size, name):
    fd = os.memfd_create(name)
    os.ftruncate(fd, size)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED)
    os.close(fd)
    for off in range(0, size, mmap.PAGESIZE):
        m[off] = 1
    return m


def loopback(nbytes):
    """Bytes per second of the plain copy defined at the top of this file."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    for sk in (a, b):
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, LOOP_SOCKET_BUF)
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, LOOP_SOCKET_BUF)
    pid = os.fork()
    if pid == 0:
        try:
            a.close()
            view = memoryview(populated(nbytes, "loopback-dst"))
            b.sendall(b"r")
            got = 0
            while got < nbytes:
                n = b.recv_into(view[got:got + LOOP_CHUNK])
                if n == 0:
                    os._exit(1)
                got += n
            b.sendall(b"d")
        finally:
            os._exit(0)
    b.close()
    try:
        view = memoryview(populated(nbytes, "loopback-src"))
        a.recv(1)
        t0 = time.monotonic()
        for off in range(0, nbytes, LOOP_CHUNK):
            a.sendall(view[off:off + LOOP_CHUNK])
        done = a.recv(1) == b"d"
        seconds = time.monotonic() - t0
    finally:
        a.close()
        os.waitpid(pid, 0)
    return nbytes / seconds if done else None


def run(ctx):
    fw = fwio.firmware(ctx)
    res = {(vmm, kind): [] for vmm in ("minivmm", "qemu") for kind in GUESTS}
    loop = []
    tcp = []
    for i in range(ctx.runs):
        for kind in GUESTS:
            for vmm, once in (("minivmm", minivmm_once), ("qemu", qemu_once)):
                label = f"migrate-{kind}-{vmm}-{i + 1}"
                ctx.log(f"migrate: {kind} guest, {vmm} run {i + 1}/{ctx.runs}")
                r, why = once(ctx, fw, kind, label)
                if why:
                    ctx.failed(f"{label}: {why}")
                res[(vmm, kind)].append(r)
                if vmm == "minivmm" and kind == "idle" and r:
                    loop.append((r["rate"], loopback(r["bytes"])))
        label = f"migrate-idle-minivmm-tcp-{i + 1}"
        ctx.log(f"migrate: idle guest over TCP (page CRCs on), minivmm run {i + 1}/{ctx.runs}")
        r, why = minivmm_once(ctx, fw, "idle", label, tcp=True)
        if why:
            ctx.failed(f"{label}: {why}")
        tcp.append(r["rate"] * 1e-9 if r else None)

    def vals(vmm, kind, key, scale=1.0):
        return [r[key] * scale if r and r.get(key) is not None else None
                for r in res[(vmm, kind)]]

    def fig(name, what, unit, key, kind, digits=1, target=None, scale=1.0):
        return report.Figure(f"migrate_{kind}_{name}", what, unit, vals("minivmm", kind, key, scale),
                             vals("qemu", kind, key, scale), digits=digits, target=target)

    half = ("<= 0.5x QEMU", lambda m, r: r is not None and r <= 0.5)
    figures = []
    for kind in GUESTS:
        figures += [
            fig("total", f"{kind} guest: total migration time", "ms", "total_ms", kind),
            fig("downtime", f"{kind} guest: downtime", "ms", "downtime_ms", kind, target=half),
            fig("rounds", f"  {kind}: rounds (QEMU: dirty syncs)", "rounds", "rounds", kind, 0),
            fig("rate", f"  {kind}: bytes on the wire / total time", "GB/s", "rate", kind, 2,
                scale=1e-9),
        ]
    figures.append(report.Figure(
        "migrate_rate_vs_loopback", "idle page transfer rate (QEMU column: loopback copy)",
        "GB/s", [m / 1e9 for m, lb in loop if m and lb], [lb / 1e9 for m, lb in loop if m and lb],
        digits=2, target=(">= 0.70x loopback", lambda m, r: r is not None and r >= 0.70)))
    figures.append(report.Figure(
        "migrate_idle_rate_tcp", "  idle over TCP 127.0.0.1, every page CRC-32C'd", "GB/s", tcp,
        [], digits=2))
    pairs = ", ".join(f"{m / 1e9:.2f}/{lb / 1e9:.2f}" for m, lb in loop if m and lb)
    notes = [f"firmware {fw}, {ctx.memory} RAM, 1 vCPU, UNIX socket, {ctx.runs} runs each, "
             f"median [min..max]; downtime target {DOWNTIME_MS} ms, at most {MAX_ROUNDS} rounds, "
             "for both VMMs",
             "idle: test=dirty passes=2 idle=1 (all RAM written, then hlt); busy: test=dirty "
             "passes=0 (every page rewritten continuously; its stamps checked on the destination "
             "after the move)",
             "downtime: minivmm from vCPU pause to the destination's go-ahead; QEMU's own "
             "'downtime' (source stop to end of sending)",
             "loopback: the same bytes, two processes, AF_UNIX stream (4 MiB socket buffers, as "
             "minivmm's), populated memfd to populated memfd, 1 MiB send()s, no checksum; minivmm "
             "splices pages into the socket (one copy; the plain copy makes two) and, on AF_UNIX "
             "only, sends no page CRCs (headers are checked; TCP row: with them): defined in "
             "tools/bench.d/migrate.py; "
             f"per run minivmm/loopback GB/s: {pairs or 'n/a'}"]
    return [("live migration, 256 MiB firmware guest (tools/bench migrate)", figures, notes)]
