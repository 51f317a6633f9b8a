#!/usr/bin/env python3
"""Synthetic scale data: a Gaussian mixture with many classes, for speed benchmarks.

    python3 bench/gen_mixture.py ROWS FEATURES CLASSES OUT.csv [--noise 0.01] [--seed 42]

Class centres ~N(0, 3^2) per feature, unit noise, `noise` share of labels replaced
at random. Standard library only; deterministic for a seed.
"""
import argparse
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", type=int)
    ap.add_argument("features", type=int)
    ap.add_argument("classes", type=int)
    ap.add_argument("out")
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    centres = [[rng.gauss(0, 3) for _ in range(a.features)] for _ in range(a.classes)]
    gauss = rng.gauss
    with open(a.out, "w") as f:
        f.write(",".join([f"f{j}" for j in range(a.features)] + ["label"]) + "\n")
        for _ in range(a.rows):
            c = rng.randrange(a.classes)
            ctr = centres[c]
            vals = [f"{gauss(m, 1.0):.5f}" for m in ctr]
            label = rng.randrange(a.classes) if rng.random() < a.noise else c
            vals.append(f"c{label}")
            f.write(",".join(vals) + "\n")


if __name__ == "__main__":
    main()
