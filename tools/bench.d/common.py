# What every start-up benchmark shares: running minivmm and QEMU one after the
# other (never in parallel: they would compete for the same cores), checking each
# run, and the start-up figures computed the same way for both VMMs.
import re

import report
import runner

VMMS = ("minivmm", "qemu")
MINIVMM_EXITS = re.compile(r"exits to the VMM: (\d+)")
MINIVMM_STREAM = re.compile(r"kernel streamed: (.*)")


def run_alternating(ctx, machines, label, runs, ok, **run_args):
    """Runs every machine runs times, alternating so slow drifts of the shared host
    hit both alike. ok(machine, result) -> None or the reason the run does not count."""
    results = {m.vmm: [] for m in machines}
    for i in range(runs):
        for m in machines:
            ctx.log(f"{label}: {m.vmm} run {i + 1}/{runs}")
            r = runner.run(f"{label}-{m.vmm}-{i + 1}", m.argv, ctx.tracer, ctx.work,
                           guest_ram=m.guest_ram, **run_args)
            r.failure = ok(m, r)
            if r.failure:
                ctx.failed(f"{label}: {m.vmm} run {i + 1}: {r.failure} (log: {r.log})")
            results[m.vmm].append(r)
    return results


def good(results, vmm):
    return [r for r in results[vmm] if not r.failure]


def per_run(results, fn):
    """(minivmm values, qemu values) of fn over the runs that count."""
    return tuple([fn(r) for r in good(results, vmm)] for vmm in VMMS)


def startup_figures(results, prefix, ready, ready_what, ready_unit="ms", ready_target=None):
    """Exec -> ready, exec -> first KVM_RUN (and where that time went), VMM RSS, exits."""
    to_unit = report.ms if ready_unit == "ms" else (lambda s: s)
    three_ms = ("<= 3 ms", lambda m, r: m <= 3.0)

    def fig(name, what, unit, fn, **kw):
        return report.Figure(f"{prefix}_{name}", what, unit, *per_run(results, fn), **kw)

    def until_run(fn):  # fn(facts, t) in seconds -> ms until the first KVM_RUN
        return lambda r: report.ms(fn(r.facts, r.facts.first_kvm_run))

    def memory(key):
        return lambda r: report.mib(r.memory[key]) if r.memory else None

    def exits_total(r):
        return None if r.facts.exits is None or r.facts.exec_time is None else len(r.facts.exits)

    return [
        fig("ready", f"exec -> {ready_what}", ready_unit, lambda r: to_unit(r.marker_time(ready)),
            digits=3 if ready_unit == "s" else 2, target=ready_target),
        fig("first_kvm_run", "exec -> first KVM_RUN", "ms",
            lambda r: report.ms(r.since_exec(r.facts.first_kvm_run)), target=three_ms),
        fig("first_kvm_run_cpu", "  VMM threads on a CPU (its own cost)", "ms",
            until_run(lambda f, t: f.cpu_until(t)), target=three_ms),
        fig("first_kvm_run_wait", "  VMM threads waiting for a CPU", "ms",
            until_run(lambda f, t: f.waiting_until(t))),
        fig("first_kvm_run_blocked", "  main thread blocked (sleeping)", "ms",
            until_run(lambda f, t: f.blocked_until(t))),
        fig("vmm_rss", f"VMM RSS without guest RAM, at {ready_what}", "MiB", memory("vmm_rss"),
            target=("<= 2 MiB", lambda m, r: m <= 2.0)),
        fig("vmm_private", "  of which private to the process", "MiB", memory("vmm_private")),
        fig("vmm_pss", "  PSS (shared pages split among their users)", "MiB", memory("vmm_pss")),
        fig("exits_ready", f"exits to the VMM until {ready_what}", "exits",
            lambda r: r.facts.exits_until(r.markers.get(ready)), digits=0),
        fig("exits_total", "exits to the VMM, whole run", "exits", exits_total, digits=0),
    ]


def startup_notes(results, ready):
    """Where the start-up time and the exits went (last good run of each VMM), and
    minivmm's own exit count next to the trace's."""
    notes = []
    for vmm in VMMS:
        runs = good(results, vmm)
        if not runs or runs[-1].facts.off_cpu is None:
            continue
        f = runs[-1].facts
        slept = sorted(f.blocked_in(f.first_kvm_run).items(), key=lambda kv: -kv[1])
        top = ", ".join(f"{name} {report.ms(sec):.1f}" for name, sec in slept[:5] if sec >= 0.0001)
        notes.append(f"{vmm} main thread blocked before the first KVM_RUN in (ms): {top or 'nothing'}")
    for vmm in VMMS:
        runs = good(results, vmm)
        if not runs or runs[-1].facts.exits is None:
            continue
        r = runs[-1]
        until = r.markers.get(ready)
        split = ", ".join(f"{k} {v}" for k, v in sorted(r.facts.exits_by_reason(until).items()))
        notes.append(f"{vmm} exits until ready by reason: {split or 'none'}; "
                     f"KVM_RUN interrupted by signals (whole run): {r.facts.restarts}")
    for r in good(results, "minivmm")[-1:]:
        m = MINIVMM_EXITS.search(r.text())
        if m and r.facts.exits is not None:
            notes.append(f"minivmm's own count (whole run): {m.group(1)} exits "
                         f"(trace: {len(r.facts.exits)})")
        m = MINIVMM_STREAM.search(r.text())
        if m:
            notes.append(f"minivmm kernel and initrd, after the first KVM_RUN: {m.group(1)}")
    return notes
