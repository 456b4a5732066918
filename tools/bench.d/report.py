# Figures of one benchmark: a table for people and one `BENCH` line per figure
# for scripts: BENCH <name> minivmm=<v> qemu=<v> ratio=<minivmm/qemu> unit=<u>
# (n/a where a value could not be measured). Several runs give the median.
import statistics


class Figure:
    def __init__(self, name, what, unit, minivmm, qemu, digits=2, target=None):
        """minivmm, qemu: lists of per-run values (None for a failed measurement).
        target: (text, predicate(minivmm median, ratio) -> bool) or None."""
        self.name = name
        self.what = what
        self.unit = unit
        self.runs = {"minivmm": [v for v in minivmm if v is not None],
                     "qemu": [v for v in qemu if v is not None]}
        self.digits = digits
        self.target = target

    def median(self, vmm):
        vals = self.runs[vmm]
        return statistics.median(vals) if vals else None

    def ratio(self):
        a, b = self.median("minivmm"), self.median("qemu")
        if a is None or b is None or b == 0:
            return None
        return a / b

    def fmt(self, v):
        if v is None:
            return "n/a"
        return f"{v:.{self.digits}f}" if self.digits else f"{round(v)}"

    def cell(self, vmm):
        vals = self.runs[vmm]
        text = self.fmt(self.median(vmm))
        if len(vals) > 1:
            text += f" [{self.fmt(min(vals))}..{self.fmt(max(vals))}]"
        return text

    def verdict(self):
        if not self.target:
            return ""
        text, ok = self.target
        m, r = self.median("minivmm"), self.ratio()
        if m is None or (r is None and "QEMU" in text):
            return f"{text} ?"
        return f"{text} {'met' if ok(m, r) else 'MISSED'}"

    def bench_line(self):
        r = self.ratio()
        return (f"BENCH {self.name} minivmm={self.fmt(self.median('minivmm'))} "
                f"qemu={self.fmt(self.median('qemu'))} "
                f"ratio={'n/a' if r is None else f'{r:.3f}'} unit={self.unit}")


def table(title, figures, notes=()):
    """The report of one benchmark as text."""
    header = ("figure", "unit", "minivmm", "QEMU microvm", "ratio", "target")
    rows = [(f.what, f.unit, f.cell("minivmm"), f.cell("qemu"),
             "n/a" if f.ratio() is None else f"{f.ratio():.3f}", f.verdict()) for f in figures]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(r):
        return "  ".join(str(c).ljust(w) if i in (0, 1, 5) else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    out = [f"== {title}", line(header), line(tuple("-" * w for w in widths))]
    out += [line(r) for r in rows]
    out += [f"  note: {n}" for n in notes]
    out += [f.bench_line() for f in figures]
    return "\n".join(out)


def ms(seconds):
    return None if seconds is None else seconds * 1000.0


def mib(kib):
    return None if kib is None else kib / 1024.0
