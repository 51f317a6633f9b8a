#!/usr/bin/env python3
"""Precision / recall of a datavet JSON report against planted ground truth.

    python3 eval/score_report.py REPORT.json TRUTH.csv [--min-severity medium]

TRUTH.csv has columns row,attack (0-based rows). Prints overall precision, recall,
F1 of the flagged set, and recall per attack. Rows whose attack ends in `_source`
(the originals that eval/plant.py copied a conflicting duplicate from) are ignored:
neither a hit nor a false alarm. Standard library only.
"""
import argparse
import csv
import json
from collections import defaultdict

ORDER = ["low", "medium", "high", "critical"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("truth")
    ap.add_argument("--min-severity", default="low", choices=ORDER)
    a = ap.parse_args()
    rep = json.load(open(a.report))
    floor = ORDER.index(a.min_severity)
    flagged = {r["row"] for r in rep["rows"] if ORDER.index(r["severity"]) >= floor}
    attacks = defaultdict(set)
    ignored = set()
    for row in csv.DictReader(open(a.truth)):
        if row["attack"].endswith("_source"):
            ignored.add(int(row["row"]))
        else:
            attacks[row["attack"]].add(int(row["row"]))
    truth = set().union(*attacks.values())
    flagged -= ignored
    tp = len(flagged & truth)
    p = tp / len(flagged) if flagged else 1.0
    r = tp / len(truth) if truth else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    n = rep["dataset"]["rows"]
    clean = n - len(truth) - len(ignored)
    print(f"flagged {len(flagged)}  planted {len(truth)}  precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}  "
          f"clean rows flagged {len(flagged - truth)}/{clean} ({100 * len(flagged - truth) / max(clean, 1):.2f}%)")
    for name, rows in sorted(attacks.items()):
        hit = rows & flagged
        kinds = defaultdict(int)
        for rr in rep["rows"]:
            if rr["row"] in rows:
                for i in rr["issues"]:
                    kinds[i["kind"]] += 1
        top = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:3])
        print(f"  {name:<18} recall {len(hit)}/{len(rows)} = {len(hit) / len(rows):.2f}   ({top})")


if __name__ == "__main__":
    main()
