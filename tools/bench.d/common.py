# What every start-up benchmark shares: running minivmm and QEMU one after the
# other (never in parallel: they would compete for the same cores), checking each
# run, and the start-up figures computed the same way for both VMMs.
import re

import report
import runner

VMMS = ("minivmm", "qemu")
MINIVMM_EXITS = re.compile(r"exits to the VMM: (\d+)")


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
    """Exec -> ready, exec -> first KVM_RUN, exits until ready and in total, VMM RSS."""
    scale = (lambda s: report.ms(s)) if ready_unit == "ms" else (lambda s: s)

    def exits_ready(r):
        return r.facts.exits_until(r.markers.get(ready))

    def exits_total(r):
        return None if r.facts.exits is None or r.facts.exec_time is None else len(r.facts.exits)

    def vmm_rss(r):
        return report.mib(r.memory["vmm_rss"]) if r.memory else None

    def vmm_private(r):
        return report.mib(r.memory["vmm_private"]) if r.memory else None

    return [
        report.Figure(f"{prefix}_ready", f"exec -> {ready_what}", ready_unit,
                      *per_run(results, lambda r: scale(r.marker_time(ready))),
                      digits=3 if ready_unit == "s" else 2, target=ready_target),
        report.Figure(f"{prefix}_first_kvm_run", "exec -> first KVM_RUN", "ms",
                      *per_run(results, lambda r: report.ms(r.since_exec(r.facts.first_kvm_run))),
                      target=("<= 3 ms", lambda m, r: m <= 3.0)),
        report.Figure(f"{prefix}_first_kvm_run_cpu", "  of which the VMM ran on a CPU", "ms",
                      *per_run(results, lambda r: report.ms(r.facts.cpu_until(r.facts.first_kvm_run))),
                      target=("<= 3 ms", lambda m, r: m <= 3.0)),
        report.Figure(f"{prefix}_vmm_rss", f"VMM RSS without guest RAM, at {ready_what}", "MiB",
                      *per_run(results, vmm_rss), target=("<= 2 MiB", lambda m, r: m <= 2.0)),
        report.Figure(f"{prefix}_vmm_private", "  of which private (not shared libraries)", "MiB",
                      *per_run(results, vmm_private)),
        report.Figure(f"{prefix}_exits_ready", f"exits to the VMM until {ready_what}", "exits",
                      *per_run(results, exits_ready), digits=0),
        report.Figure(f"{prefix}_exits_total", "exits to the VMM, whole run", "exits",
                      *per_run(results, exits_total), digits=0),
    ]


def exit_notes(results, ready):
    """Where the exits came from (last good run of each VMM), and minivmm's own count."""
    notes = []
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
    return notes
