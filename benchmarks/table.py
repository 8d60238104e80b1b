"""Markdown table of several ``speed.py --json`` runs side by side.

    python benchmarks/table.py before1=b1.json after1=a1.json before2=b2.json ...

Rows are matched by case, the baseline they are measured against and the
metric's text; a cell is ``ratio (range over rounds); median time``, or the
median alone for a baseline, ``-`` when a run lacks the row.
"""

import json
import sys


def rows_of(path):
    with open(path) as f:
        results = json.load(f)
    keyed = {}
    for case, rows in results["cases"].items():
        baseline = parent = ""
        for r in rows:
            if "median" not in r:
                continue
            if "baseline" in r["metric"]:
                baseline = r["metric"]
            if not r["metric"].startswith(" "):
                parent = r["metric"]
            # an indented row (a detail of the row above it) keyed with its parent
            sub = parent if r["metric"].startswith(" ") else ""
            keyed[case, baseline, sub, r["metric"]] = r
    return results["machine"], keyed


def cell(r):
    if r is None:
        return "-"
    unit = "" if "(MB)" in r["metric"] else " s"
    time = f"{r['median']:.3g}{unit}"
    if "ratio" not in r:
        return time
    text = f"**{r['ratio']:.2f}**"
    if "round_ratios" in r:
        text += " ({:.2f}-{:.2f})".format(*r["round_ratios"])
    return f"{text}; {time}"


def main(args):
    runs = [arg.split("=", 1) for arg in args]
    loaded = [(label, *rows_of(path)) for label, path in runs]
    keys = []
    for _, _, keyed in loaded:
        keys += [k for k in keyed if k not in keys]
    print(
        "| case | measurement | target | "
        + " | ".join(lab for lab, *_ in loaded)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(loaded))
    for key in keys:
        case, _, _, metric = key
        found = [keyed.get(key) for _, _, keyed in loaded]
        target = next((r["target"] for r in found if r and "target" in r), "")
        cells = " | ".join(cell(r) for r in found)
        print(f"| {case} | {metric} | {target} | {cells} |")
    print()
    for label, machine, _ in loaded:
        print(
            f"- {label}: load average {machine.get('load average')}, "
            f"BLAS {machine.get('blas')}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
