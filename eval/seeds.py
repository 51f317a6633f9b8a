#!/usr/bin/env python3
"""Compare evaluation runs made with different planting seeds: is a gap between
methods larger than what the choice of seed moves?

    eval/.venv/bin/python eval/run.py --quick --seed 1 --out eval/out/seed1
    eval/.venv/bin/python eval/run.py --quick --seed 2 --out eval/out/seed2
    eval/.venv/bin/python eval/seeds.py eval/out eval/out/seed1 eval/out/seed2

Each argument is a run's output folder (its `results.csv` and `attribution.csv`).
Prints, per method, the real tables' mean F1, AUROC and average precision over the
poisoned cases and the flag rate on the clean control for each run, then their mean and range; the F1 ratio of datavet
to each peer per run; and datavet's backdoor attribution F1 (single-attack cases).
Scoring is `run.py`'s own (`overview`).
"""
import os
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import run  # noqa: E402


def load(folder):
    """(per-method overview, attribution F1 or None, number of poisoned cases) of one run."""
    real, poisoned, clean = run.split_real(pd.read_csv(os.path.join(folder, "results.csv")))
    path = os.path.join(folder, "attribution.csv")
    attrib = run.attribution_f1(pd.read_csv(path)) if os.path.exists(path) else None
    return run.overview(poisoned, clean, real), attrib, poisoned["case"].nunique()


def main():
    folders = sys.argv[1:]
    if len(folders) < 2:
        sys.exit("usage: seeds.py RUN_DIR RUN_DIR [RUN_DIR ...]")
    runs = [load(f) for f in folders]
    names = [os.path.basename(os.path.normpath(f)) for f in folders]
    methods = [m for m in run.QUALITY_METHODS if all(m in r[0].index for r in runs)]
    for col, label, fmt in [("mean F1", "mean F1 over the poisoned real cases", "{:.3f}"),
                            ("mean AUROC", "mean AUROC of the per-row score over the poisoned real cases", "{:.3f}"),
                            ("mean AP", "mean average precision of the per-row score over the poisoned real cases",
                             "{:.3f}"),
                            ("flag rate on clean control %", "flag rate on the clean control, %", "{:.2f}")]:
        table = pd.DataFrame({n: r[0][col] for n, r in zip(names, runs)}).reindex(methods)
        table["mean"] = table[names].mean(axis=1)
        table["min–max"] = [f"{fmt.format(lo)}–{fmt.format(hi)}"
                            for lo, hi in zip(table[names].min(axis=1), table[names].max(axis=1))]
        for c in names + ["mean"]:
            table[c] = table[c].map(fmt.format)
        cases = ", ".join(str(r[2]) for r in runs)
        print(f"\n### {label} (poisoned cases per run: {cases})\n")
        print(run.md_table(table, "method"))
    if "datavet" in methods:
        ratios = {}
        for peer in [m for m in methods if m in ("cleanlab", "datalab")]:
            ratios[f"datavet / {peer}"] = [r[0].loc["datavet", "mean F1"] / r[0].loc[peer, "mean F1"] for r in runs]
        if ratios:
            table = pd.DataFrame(ratios, index=names).T
            table = table.apply(lambda c: c.map("{:.2f} ×".format))
            print("\n### F1 ratio per run\n")
            print(run.md_table(table, "ratio"))
    attrib = [r[1] for r in runs]
    if all(a is not None for a in attrib):
        print("\n### datavet backdoor attribution F1 (single-attack backdoor cases)\n")
        print(run.md_table(pd.DataFrame({"F1": [f"{a:.2f}" for a in attrib]}, index=names), "run"))


if __name__ == "__main__":
    main()
