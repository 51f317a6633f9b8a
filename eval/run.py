#!/usr/bin/env python3
"""Run datavet and its peers on the same planted cases and write the results tables.

    bash eval/setup.sh                                   # once: eval/.venv with the peers
    cargo build --release -p datavet                     # the binary under test
    eval/.venv/bin/python eval/run.py --quick            # real tables, all peers (~5 min)
    eval/.venv/bin/python eval/run.py --full             # + 100k / 1M rows speed (~30 min)
    eval/.venv/bin/python eval/run.py --quick --seed 1 --out eval/out/seed1
    eval/.venv/bin/python eval/seeds.py eval/out eval/out/seed1   # does the seed move the gaps?
    eval/.venv/bin/python eval/run.py --full --skip-quality --sizes 100000 \
        --speed-peers cleanlab,datalab --speed-repeats 3     # 100k speed, median of 3 runs

Writes under eval/out/ (git-ignored):
  cases/            the planted real-table cases (data CSV, truth CSV, meta JSON)
  scale/            synthetic Gaussian-mixture tables (CSV + Parquet), cached
  runs/             datavet's JSON reports and score tables
  results.csv       one line per (case, method): P, R, F1, AUROC, AP, time, memory
  per_attack.csv    one line per (case, method, attack): recall, AUROC, AP
  speed.csv         wall time, memory and ratios at 100k / 1M rows; hashing
  attribution.csv   backdoor cases: F1 of the rows reported as backdoor_trigger
  results.md        the summary tables (pasted into docs/benchmarks.md)

Every method runs in its own process (datavet: the binary; peers: a fork of this
process with all libraries already imported, so imports are not timed); peak memory is
that process's maximum resident set size: for the binary its own VmHWM, polled (wait4's
figure would include this Python process's peak, which Linux carries into the child);
for a forked peer wait4's, which includes the pages it shares with this process (see
the "python baseline" row of the speed table). Scoring rules are in
docs/benchmarks.md; rows marked `*_source` in a truth file are ignored for everyone.
"""
import argparse
import datetime
import json
import os
import pickle
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no eval/__pycache__ in the work tree

import peers  # noqa: E402
import plant  # noqa: E402

SEVERITIES = ["low", "medium", "high", "critical"]
QUALITY_METHODS = ["datavet", "datavet_medium", "cleanlab", "datalab", "iforest", "ecod", "knn", "dup_rule"]


# ---------------------------------------------------------------- processes


def _vm_hwm_kb(pid):
    """The process's own resident high-water mark (VmHWM, KiB), or None off Linux."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _wait(pid, timeout, hwm=None):
    """wait4 with a timeout: (status, rusage, seconds) or kill and return None status.

    With `hwm` (a one-element list), the child's VmHWM is polled into hwm[0]."""
    t0 = time.perf_counter()
    while True:
        kb = _vm_hwm_kb(pid) if hwm is not None else None
        if kb is not None:
            hwm[0] = max(hwm[0] or 0, kb)
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            return status, ru, time.perf_counter() - t0
        if timeout and time.perf_counter() - t0 > timeout:
            os.kill(pid, signal.SIGKILL)
            _, status, ru = os.wait4(pid, 0)
            return None, ru, time.perf_counter() - t0
        time.sleep(0.01)


def run_forked(fn, arg, timeout):
    """Run fn(arg) in a forked child; returns (result or None, info dict)."""
    fd, out = tempfile.mkstemp(suffix=".pkl")
    os.close(fd)
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            res = ("ok", fn(arg))
        except BaseException:  # noqa: BLE001 - report any failure to the parent
            res = ("error", traceback.format_exc(limit=3))
            code = 1
        try:
            with open(out, "wb") as f:
                pickle.dump(res, f, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(code)
    status, ru, _ = _wait(pid, timeout)
    wall = time.perf_counter() - t0
    info = {"wall_s": wall, "peak_mb": ru.ru_maxrss / 1024.0}
    res = None
    if status is None:
        info["status"] = f"timeout>{timeout:.0f}s"
    else:
        try:
            with open(out, "rb") as f:
                kind, payload = pickle.load(f)
            if kind == "ok":
                res = payload
                info["status"] = "ok"
            else:
                info["status"] = "error"
                print(payload, file=sys.stderr)
        except (OSError, EOFError, pickle.UnpicklingError):
            info["status"] = f"died({status})"
    os.unlink(out)
    return res, info


def run_binary(cmd, timeout, cwd=None):
    """Run a command; (returncode or None, info with wall_s, peak_mb, stderr tail)."""
    t0 = time.perf_counter()
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd)
    hwm = [None]
    status, ru, _ = _wait(p.pid, timeout, hwm)
    wall = time.perf_counter() - t0
    p.returncode = 0  # reaped by wait4; keep Popen from waiting again
    err.seek(0)
    tail = err.read().decode(errors="replace")[-2000:]
    # Linux carries the spawning process's high-water mark into a child's ru_maxrss
    # across fork and exec, so from this (large) Python process wait4 reports at least
    # our own peak. The child's VmHWM, polled every 10 ms, is its own; fall back to
    # wait4 where /proc is missing. Growth in the last poll interval is not seen.
    peak_kb = hwm[0] if hwm[0] is not None else ru.ru_maxrss
    info = {"wall_s": wall, "peak_mb": peak_kb / 1024.0, "stderr": tail}
    if status is None:
        return None, info
    return os.waitstatus_to_exitcode(status), info


# ---------------------------------------------------------------- datavet


def run_datavet(binary, data, workdir, timeout, extra=()):
    """Scan `data`; returns (result dict or None, info). Result: flagged, severity, score."""
    os.makedirs(workdir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(data))[0]
    report = os.path.join(workdir, stem + ".json")
    scores = os.path.join(workdir, stem + ".scores.csv")
    cmd = [binary, "scan", data, "--label", peers.LABEL, "--json", report, "--scores", scores,
           "-q", "--fail-on", "never", *extra]
    code, info = run_binary(cmd, timeout)
    if code is None:
        info["status"] = f"timeout>{timeout:.0f}s"
        return None, info
    if code != 0:
        info["status"] = f"exit {code}"
        print(f"datavet failed on {data}:\n{info['stderr']}", file=sys.stderr)
        return None, info
    info["status"] = "ok"
    rep = json.load(open(report))
    n = rep["dataset"]["rows"]
    sev = np.full(n, -1, dtype=np.int64)
    kinds = {}
    for r in rep["rows"]:
        sev[r["row"]] = SEVERITIES.index(r["severity"])
        kinds[r["row"]] = sorted({i["kind"] for i in r["issues"]})
    table = pd.read_csv(scores)
    score = table["score"].to_numpy(dtype=np.float64)
    detectors = table.drop(columns=[c for c in ("row", "id", "score") if c in table]).astype(np.float64)
    return {"severity": sev, "score": score, "detectors": detectors, "kinds": kinds, "report": report}, info


# ---------------------------------------------------------------- scoring


def load_truth(path, n):
    """attack name per row ("" = clean)."""
    attack = np.full(n, "", dtype=object)
    t = pd.read_csv(path, dtype={"row": np.int64, "attack": str})
    attack[t["row"].to_numpy()] = t["attack"].to_numpy()
    return attack


def _auc(pos, score, mask):
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = pos[mask]
    if y.all() or not y.any():
        return float("nan"), float("nan")
    s = score[mask]
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def score_method(attack, flagged, score):
    """Overall and per-attack metrics of one method on one case."""
    ignore = np.array([a.endswith("_source") for a in attack])
    clean = attack == ""
    pos = ~clean & ~ignore
    care = pos | clean
    tp = int((flagged & pos).sum())
    fp = int((flagged & clean).sum())
    n_pos = int(pos.sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / n_pos if n_pos else float("nan")
    if n_pos:
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    else:
        f1 = float("nan")
    auroc, ap = _auc(pos, score, care)
    overall = {
        "planted": n_pos,
        "clean_rows": int(clean.sum()),
        "flagged": int((flagged & care).sum()),
        "tp": tp,
        "fp": fp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "clean_flag_rate": fp / max(int(clean.sum()), 1),
        "auroc": auroc,
        "ap": ap,
    }
    per = []
    for a in sorted({a for a in attack[pos]}):
        pa = attack == a
        m = pa | clean
        au, apa = _auc(pa, score, m)
        per.append({"attack": a, "count": int(pa.sum()), "hits": int((flagged & pa).sum()),
                    "recall": float((flagged & pa).sum() / pa.sum()), "auroc": au, "ap": apa})
    return overall, per


# ---------------------------------------------------------------- quality suite


def quality(args, binary, out):
    cases_dir = os.path.join(out, "cases")
    runs_dir = os.path.join(out, "runs")
    shutil.rmtree(cases_dir, ignore_errors=True)
    cases = []
    for name, table, attack, data, truth, meta in plant.real_cases(args.tables.split(","), seed=args.seed):
        plant.write_case(cases_dir, name, data, truth, meta)
        cases.append((name, table, attack, os.path.join(cases_dir, name + ".csv"),
                      os.path.join(cases_dir, name + ".truth.csv"), len(data)))
    rows, per_rows, det_rows, alarm_rows, attrib_rows = [], [], [], [], []
    for name, table, attack, data, truth_path, n in cases:
        truth = load_truth(truth_path, n)
        results = {}
        dv, info = run_datavet(binary, data, runs_dir, args.timeout)
        if dv is not None:
            for row, ks in dv["kinds"].items():
                if truth[row] == "":
                    for k in ks:
                        alarm_rows.append({"case": name, "table": table, "attack": attack, "row": row,
                                           "kind": k, "sole": len(ks) == 1, "severity": SEVERITIES[dv["severity"][row]]})
            if attack.startswith("backdoor") or attack == "mix":
                attrib_rows.append(attribution(name, table, attack, truth, dv["kinds"]))
            results["datavet"] = (dv["severity"] >= 0, dv["score"], info)
            results["datavet_medium"] = (dv["severity"] >= 1, dv["score"], info)
            for col in dv["detectors"]:
                o, _ = score_method(truth, dv["detectors"][col].to_numpy() >= 0.5, dv["detectors"][col].to_numpy())
                det_rows.append({"case": name, "table": table, "attack": attack, "detector": col,
                                 "auroc": o["auroc"], "ap": o["ap"]})
        else:
            results["datavet"] = (None, None, info)
        for m in args.peers:
            res, pinfo = run_forked(peers.PEERS[m], data, args.timeout)
            if res is not None:
                pinfo.update(read_s=res["read_s"], compute_s=res["compute_s"])
                results[m] = (res["flagged"], res["score"], pinfo)
            else:
                results[m] = (None, None, pinfo)
        line = []
        for m, (flagged, score, info) in results.items():
            base = {"case": name, "table": table, "attack": attack, "n": n, "method": m,
                    "status": info.get("status", "ok"), "wall_s": info["wall_s"],
                    "compute_s": info.get("compute_s", info["wall_s"]), "peak_mb": info["peak_mb"]}
            if flagged is None:
                rows.append(base)
                continue
            o, per = score_method(truth, flagged, score)
            base.update(o)
            rows.append(base)
            for p in per:
                per_rows.append({"case": name, "table": table, "case_attack": attack, "method": m, **p})
            line.append(f"{m} F1 {o['f1']:.2f}" if attack != "clean" else f"{m} {100 * o['clean_flag_rate']:.1f}%")
        print(f"{name:<34} " + "  ".join(line), file=sys.stderr)
    return (pd.DataFrame(rows), pd.DataFrame(per_rows), pd.DataFrame(det_rows), pd.DataFrame(alarm_rows),
            pd.DataFrame(attrib_rows))


def attribution(name, table, attack, truth, kinds):
    """Backdoor attribution: the rows datavet reports as a backdoor trigger (issue kind
    `backdoor_trigger`) against the planted backdoor rows of either kind, i.e. whether
    the scan says "backdoor" about the right rows, whatever else it flags."""
    pos = np.array([a.startswith("backdoor") for a in truth])
    clean = truth == ""
    said = np.zeros(len(truth), dtype=bool)
    for row, ks in kinds.items():
        said[row] = "backdoor_trigger" in ks
    tp = int((said & pos).sum())
    n_said = int((said & (pos | clean)).sum())
    precision = tp / n_said if n_said else float("nan")
    recall = tp / int(pos.sum())
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"case": name, "table": table, "attack": attack, "planted": int(pos.sum()), "reported": n_said,
            "tp": tp, "precision": precision, "recall": recall, "f1": f1}


# ---------------------------------------------------------------- speed suite


def scale_files(out, rows):
    base = os.path.join(out, "scale", f"gmm_{rows}")
    if not all(os.path.exists(base + ext) for ext in (".csv", ".parquet", ".truth.csv")):
        t0 = time.perf_counter()
        plant.write_scale(rows, os.path.join(out, "scale"))
        print(f"generated {base}.csv/.parquet in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return base


def _read_only(path):
    t0 = time.perf_counter()
    peers.read(path)
    return {"read_s": time.perf_counter() - t0}


def _noop(_arg):
    return {}


def repeated(n, run):
    """Call `run()` (returning `(result, info)`) up to `n` times, in a row. Returns the
    first call's result and info, the info's wall time replaced by the median over the
    calls and its peak by their largest, and `wall_runs` listing every call's wall
    time. A result's `read_s` / `compute_s` become medians too. Stops at the first
    call that does not finish ok (its status is then the one reported)."""
    first, info = run()
    results, infos = [first], [info]
    while len(infos) < n and infos[-1]["status"] == "ok":
        r, i = run()
        if i["status"] != "ok":
            info = dict(info, status=i["status"])
            break
        results.append(r)
        infos.append(i)
    walls = [i["wall_s"] for i in infos]
    info = dict(info, wall_s=float(np.median(walls)), peak_mb=max(i["peak_mb"] for i in infos),
                wall_runs=" ".join(f"{w:.2f}" for w in walls))
    if first is not None:  # every kept call finished ok, so every result is a dict
        first = dict(first)
        for key in ("read_s", "compute_s"):
            if key in first:
                first[key] = float(np.median([r[key] for r in results]))
    return first, info


def speed(args, binary, out):
    rows, qrows, qper = [], [], []
    _, base_info = run_forked(_noop, None, 60)
    rows.append({"rows": 0, "format": "-", "method": "python baseline (no work)", "status": "ok",
                 "wall_s": base_info["wall_s"], "peak_mb": base_info["peak_mb"]})
    for size in args.sizes:
        base = scale_files(out, size)
        truth = load_truth(base + ".truth.csv", size)
        for fmt in ("csv", "parquet"):
            data = f"{base}.{fmt}"
            dv, info = repeated(args.speed_repeats, lambda: run_datavet(
                binary, data, os.path.join(out, "runs", fmt), args.scale_timeout))
            rows.append({"rows": size, "format": fmt, "method": "datavet", "status": info["status"],
                         "wall_s": info["wall_s"], "peak_mb": info["peak_mb"], "wall_runs": info["wall_runs"]})
            print(f"speed {size} {fmt} datavet {info['wall_s']:.1f}s {info['peak_mb']:.0f}MB {info['status']}",
                  file=sys.stderr)
            if dv is not None and fmt == "csv":
                for m, flagged in (("datavet", dv["severity"] >= 0), ("datavet_medium", dv["severity"] >= 1)):
                    o, per = score_method(truth, flagged, dv["score"])
                    qrows.append({"case": f"gmm_{size}__mix", "table": f"gmm_{size}", "attack": "mix", "n": size,
                                  "method": m, "status": "ok", "wall_s": info["wall_s"], "peak_mb": info["peak_mb"], **o})
                    qper += [{"case": f"gmm_{size}__mix", "table": f"gmm_{size}", "case_attack": "mix", "method": m, **p}
                             for p in per]
        pq_read, _ = repeated(args.speed_repeats, lambda: run_forked(_read_only, base + ".parquet", args.scale_timeout))
        for m in args.speed_peers:
            if m == "knn" and size > args.knn_max_rows:
                rows.append({"rows": size, "format": "csv", "method": m, "status": f"skipped (> {args.knn_max_rows} rows, quadratic)"})
                continue
            if m == "datalab" and size > args.datalab_max_rows:
                rows.append({"rows": size, "format": "csv", "method": m, "status": f"skipped (> {args.datalab_max_rows} rows)"})
                continue
            res, info = repeated(args.speed_repeats,
                                 lambda: run_forked(peers.PEERS[m], base + ".csv", args.scale_timeout))
            r = {"rows": size, "format": "csv", "method": m, "status": info["status"], "wall_s": info["wall_s"],
                 "peak_mb": info["peak_mb"], "wall_runs": info["wall_runs"]}
            if res is not None:
                r.update(read_s=res["read_s"], compute_s=res["compute_s"])
                o, per = score_method(truth, res["flagged"], res["score"])
                qrows.append({"case": f"gmm_{size}__mix", "table": f"gmm_{size}", "attack": "mix", "n": size,
                              "method": m, "status": "ok", "wall_s": info["wall_s"], "peak_mb": info["peak_mb"], **o})
                qper += [{"case": f"gmm_{size}__mix", "table": f"gmm_{size}", "case_attack": "mix", "method": m, **p}
                         for p in per]
                if pq_read is not None:
                    rows.append({"rows": size, "format": "parquet", "method": m, "status": "ok (derived)",
                                 "read_s": pq_read["read_s"], "compute_s": res["compute_s"],
                                 "wall_s": pq_read["read_s"] + res["compute_s"], "peak_mb": float("nan")})
            rows.append(r)
            print(f"speed {size} csv {m} {info['wall_s']:.1f}s {info['peak_mb']:.0f}MB {info['status']}", file=sys.stderr)
    return pd.DataFrame(rows), pd.DataFrame(qrows), pd.DataFrame(qper)


def hashing(binary, out, sizes):
    """GB/s of `datavet manifest` (if the binary has it), openssl and sha256sum on the
    largest scale CSV (warm page cache, best of 3). bench/hash.sh is the fuller bench."""
    path = os.path.join(out, "scale", f"gmm_{max(sizes)}.csv")
    root = os.path.dirname(path)
    gb = os.path.getsize(path) / 1e9
    rows = []
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    tools = [("openssl dgst -sha256", ["openssl", "dgst", "-sha256", path]), ("sha256sum", ["sha256sum", path])]
    if "manifest" in help_text:
        tools = [
            ("datavet manifest --hash-only", [binary, "manifest", path, "--hash-only", "--root", root, "-q"]),
            ("datavet manifest --no-rows (hash + parse + row fingerprints)",
             [binary, "manifest", path, "--no-rows", "--root", root, "-q"]),
        ] + tools
    else:
        rows.append({"tool": "datavet manifest", "status": "not in this build (skipped)"})
    with open(path, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    for name, cmd in tools:
        best = None
        for _ in range(3):
            code, info = run_binary(cmd, 600)
            if code != 0:
                rows.append({"tool": name, "status": f"exit {code}: {info['stderr'][-200:]}"})
                best = None
                break
            best = info["wall_s"] if best is None else min(best, info["wall_s"])
        if best is not None:
            rows.append({"tool": name, "status": "ok", "file_gb": gb, "wall_s": best, "gb_per_s": gb / best})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- report


def fmt(x, digits=2):
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    if isinstance(x, (int, np.integer)):
        return str(x)
    return f"{x:.{digits}f}"


def md_table(df, index_name, digits=2):
    cols = list(df.columns)
    lines = ["| " + " | ".join([index_name] + [str(c) for c in cols]) + " |",
             "|" + "---|" * (len(cols) + 1)]
    for idx in df.index:
        cells = []
        for c in cols:
            v = df.at[idx, c]
            if isinstance(v, str):
                cells.append(v)
            elif pd.api.types.is_integer_dtype(df[c].dtype):
                cells.append(str(int(v)))
            else:
                cells.append(fmt(float(v), digits))
        lines.append("| " + " | ".join([str(idx)] + cells) + " |")
    return "\n".join(lines)


def overview(poisoned, clean, real):
    """Per-method means over the poisoned cases, the clean-control flag rate, time and memory."""
    g = poisoned.groupby("method")
    return pd.DataFrame({
        "mean P": g["precision"].mean(),
        "mean R": g["recall"].mean(),
        "mean F1": g["f1"].mean(),
        "mean AUROC": g["auroc"].mean(),
        "mean AP": g["ap"].mean(),
        "clean rows flagged (poisoned cases)": g["clean_flag_rate"].mean() * 100,
        "flag rate on clean control %": clean.groupby("method")["clean_flag_rate"].mean() * 100,
        "mean wall s": real.groupby("method")["wall_s"].mean(),
        "max peak MB": real.groupby("method")["peak_mb"].max(),
    })


def split_real(res):
    """The real-table rows of a results table: (all, poisoned cases, clean controls)."""
    real = res[~res["table"].str.startswith("gmm")]
    return real, real[real["attack"] != "clean"], real[real["attack"] == "clean"]


def attribution_f1(attrib):
    """Mean attribution F1 over the single-attack backdoor cases, or None without any
    (an empty attribution table has no columns)."""
    if attrib is None or attrib.empty:
        return None
    single = attrib[attrib["attack"].str.startswith("backdoor")]
    return single["f1"].mean() if len(single) else None


def summarise(res, per, dets, alarms, attrib, spd, hsh, meta):
    out = []
    methods = [m for m in QUALITY_METHODS if m in set(res["method"])]
    real, poisoned, clean = split_real(res)
    out.append(f"Generated {meta['date']} on {meta['machine']} — {meta['datavet']} — `{meta['command']}` — "
               f"{meta['load']}\n")

    # Table 1: overall.
    t1 = overview(poisoned, clean, real).reindex(methods)
    out.append(f"### Real tables: mean over {poisoned['case'].nunique()} poisoned cases "
               f"({', '.join(sorted(poisoned['table'].unique()))} × {poisoned['attack'].nunique()} attack settings)\n")
    out.append(md_table(t1, "method"))

    held = poisoned[poisoned["table"].isin(plant.HELD_OUT)]
    if len(held):
        hc = clean[clean["table"].isin(plant.HELD_OUT)]
        cols = ["mean P", "mean R", "mean F1", "mean AUROC", "flag rate on clean control %"]
        th = overview(held, hc, real[real["table"].isin(plant.HELD_OUT)])[cols].reindex(methods)
        out.append(f"\n### Held-out tables only ({', '.join(sorted(held['table'].unique()))}: added after "
                   f"datavet's defaults were set on the other tables), {held['case'].nunique()} poisoned cases\n")
        out.append(md_table(th, "method"))

    # Table 2: F1 per case attack (mean over tables).
    t2 = poisoned.pivot_table(index="attack", columns="method", values="f1", aggfunc="mean").reindex(columns=methods)
    t2 = t2.reindex([a for a in plant.ATTACKS if a in t2.index])
    out.append(f"\n### F1 of the flagged set per case (mean over the {poisoned['table'].nunique()} tables)\n")
    out.append(md_table(t2, "case"))

    # Table 3: AUROC per attack (one attack's rows vs clean rows; single + mix cases).
    rp = per[~per["table"].str.startswith("gmm")]
    t3 = rp.pivot_table(index="attack", columns="method", values="auroc", aggfunc="mean").reindex(columns=methods)
    out.append("\n### AUROC of the per-row score per attack (attack rows vs clean rows; mean over tables, single and mix cases)\n")
    out.append(md_table(t3, "attack", 3))
    t3r = rp.pivot_table(index="attack", columns="method", values="recall", aggfunc="mean").reindex(columns=methods)
    out.append("\n### Recall per attack (same cases)\n")
    out.append(md_table(t3r, "attack"))

    # Table 4: per table F1 and clean-control rate.
    t4 = poisoned.pivot_table(index="table", columns="method", values="f1", aggfunc="mean").reindex(columns=methods)
    out.append("\n### Mean F1 per table\n")
    out.append(md_table(t4, "table"))
    t5 = clean.pivot_table(index="table", columns="method", values="clean_flag_rate", aggfunc="mean").reindex(columns=methods) * 100
    out.append("\n### Flag rate (%) on the untouched clean control\n")
    out.append(md_table(t5, "table", 1))

    if len(dets):
        d = dets[dets["attack"] != "clean"].pivot_table(index="detector", columns="attack", values="auroc", aggfunc="mean")
        d = d.reindex(columns=[a for a in plant.ATTACKS if a in d.columns])
        out.append("\n### datavet per-detector AUROC per case (diagnostic; mean over tables)\n")
        out.append(md_table(d, "detector", 3))

    if len(alarms):
        clean_rows = int(real[real["method"] == "datavet"]["clean_rows"].sum())
        a = alarms.groupby("kind").agg(rows=("row", "size"), sole=("sole", "sum"))
        a["% of clean rows"] = 100 * a["rows"] / clean_rows
        a["sole kind"] = a.pop("sole")
        a = a.sort_values("rows", ascending=False)
        out.append(f"\n### datavet's false alarms by issue kind (clean rows of all {real['case'].nunique()} real cases, "
                   f"{clean_rows} rows; 'sole kind' = the only issue on that row)\n")
        out.append(md_table(a, "kind", 2))

    if len(attrib):
        t = attrib.pivot_table(index="table", columns="attack", values="f1", aggfunc="mean")
        t.loc["mean"] = t.mean()
        out.append("\n### Backdoor attribution: F1 of the rows datavet reports as `backdoor_trigger` against the "
                   "planted backdoor rows (both kinds), per table and case\n")
        out.append(md_table(t, "table"))

    scale = res[res["table"].str.startswith("gmm")]
    if len(scale):
        cols = ["precision", "recall", "f1", "auroc", "ap", "clean_flag_rate", "wall_s", "peak_mb"]
        for table, g in scale.groupby("table"):
            t = g.set_index("method")[cols].reindex([m for m in QUALITY_METHODS if m in set(g["method"])])
            t["clean_flag_rate"] *= 100
            out.append(f"\n### Synthetic {table} (mix attacks), quality\n")
            out.append(md_table(t, "method"))
            sp = per[per["table"] == table].pivot_table(index="attack", columns="method", values="recall").reindex(
                columns=[m for m in QUALITY_METHODS if m in set(g["method"])])
            out.append(f"\nRecall per attack on {table}:\n")
            out.append(md_table(sp, "attack"))
            sa = per[per["table"] == table].pivot_table(index="attack", columns="method", values="auroc").reindex(
                columns=[m for m in QUALITY_METHODS if m in set(g["method"])])
            out.append(f"\nAUROC per attack on {table} (attack rows vs clean rows):\n")
            out.append(md_table(sa, "attack", 3))

    if spd is not None and len(spd):
        out.append("\n### Speed (wall seconds, peak MB; ratio = peer time / datavet time on the same file; "
                   "with --speed-repeats N, the median of N runs in a row and the largest peak)\n")
        lines = ["| rows | format | method | wall s | each run's wall s | read s | compute s | peak MB | vs datavet | status |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        for (size, f), g in spd.groupby(["rows", "format"], sort=True):
            dvt = g[g["method"] == "datavet"]["wall_s"]
            dvt = float(dvt.iloc[0]) if len(dvt) and not np.isnan(dvt.iloc[0]) else float("nan")
            for _, r in g.iterrows():
                ratio = r.get("wall_s", float("nan")) / dvt if r["method"] != "datavet" else 1.0
                runs = r.get("wall_runs")
                runs = runs if isinstance(runs, str) and " " in runs else "–"
                lines.append(f"| {size} | {f} | {r['method']} | {fmt(r.get('wall_s'), 1)} | {runs} | {fmt(r.get('read_s'), 1)} | "
                             f"{fmt(r.get('compute_s'), 1)} | {fmt(r.get('peak_mb'), 0)} | "
                             f"{fmt(ratio, 1) + '×' if not np.isnan(ratio) else '–'} | {r['status']} |")
        out.append("\n".join(lines))
    if hsh is not None and len(hsh):
        out.append("\n### Hashing (largest CSV, best of 3)\n")
        out.append("| tool | GB | wall s | GB/s | status |\n|---|---|---|---|---|")
        for _, r in hsh.iterrows():
            out.append(f"| {r['tool']} | {fmt(r.get('file_gb'))} | {fmt(r.get('wall_s'))} | {fmt(r.get('gb_per_s'))} | {r['status']} |")

    out.append("\n### Targets\n")
    out += targets(t1, t3, poisoned, spd, per, res[res["table"].str.startswith("gmm")], attrib)
    return "\n".join(out) + "\n"


def targets(t1, t3, poisoned, spd, per, poisoned_all=None, attrib=None):
    lines = []

    def say(ok, text):
        lines.append(f"- {'MET' if ok else 'NOT MET'}: {text}")

    f1 = t1["mean F1"]
    for peer in ("cleanlab", "datalab"):
        if peer in f1 and "datavet" in f1 and not np.isnan(f1["datavet"]):
            say(f1["datavet"] >= 2 * f1[peer], f"real tables: mean F1 {f1['datavet']:.3f} vs 2 × {peer} "
                f"{f1[peer]:.3f} = {2 * f1[peer]:.3f}")
    if {"iforest", "ecod", "datavet"} <= set(t3.columns) and len(t3):
        worse = [f"{a} ({t3.loc[a, 'datavet']:.4f} < {max(t3.loc[a, 'iforest'], t3.loc[a, 'ecod']):.4f})"
                 for a in t3.index if t3.loc[a, "datavet"] < max(t3.loc[a, "iforest"], t3.loc[a, "ecod"])]
        say(not worse, "real tables: AUROC ≥ best of IForest/ECOD on every attack" +
            (": below on " + ", ".join(worse) if worse else ""))
    scale_tables = sorted(t for t in per["table"].unique() if t.startswith("gmm")) if len(per) else []
    for table in scale_tables:
        rows = poisoned_all[poisoned_all["table"] == table].set_index("method")["f1"] if poisoned_all is not None else None
        if rows is not None and "datavet" in rows:
            for peer in ("cleanlab", "datalab"):
                if peer in rows:
                    say(rows["datavet"] >= 2 * rows[peer], f"{table}: F1 {rows['datavet']:.3f} vs 2 × {peer} "
                        f"{rows[peer]:.3f} = {2 * rows[peer]:.3f}")
    for table in scale_tables:
        g = per[per["table"] == table].pivot_table(index="attack", columns="method", values="auroc")
        if {"iforest", "ecod", "datavet"} <= set(g.columns):
            worse = [f"{a} ({g.loc[a, 'datavet']:.4f} < {max(g.loc[a, 'iforest'], g.loc[a, 'ecod']):.4f})"
                     for a in g.index if g.loc[a, "datavet"] < max(g.loc[a, "iforest"], g.loc[a, "ecod"])]
            say(not worse, f"{table}: AUROC ≥ best of IForest/ECOD on every attack" +
                (": below on " + ", ".join(worse) if worse else ""))
    bd = poisoned[(poisoned["method"] == "datavet") & poisoned["attack"].str.startswith("backdoor")]
    if len(bd):
        bf1 = bd["f1"].mean()
        bfp = bd["clean_flag_rate"].mean() * 100
        say(bf1 >= 0.9 and bfp <= 2.0, f"real tables: backdoor cases' F1 {bf1:.3f} (≥ 0.9) with {bfp:.2f}% of "
            "clean rows flagged (≤ 2%)")
        af1 = attribution_f1(attrib)
        if af1 is not None:
            say(af1 >= 0.9 and bfp <= 2.0, f"real tables: backdoor attribution F1 {af1:.3f} (rows reported as "
                f"backdoor_trigger vs planted backdoor rows; ≥ 0.9) with {bfp:.2f}% of clean rows flagged (≤ 2%)")
    if spd is not None and len(spd):
        def t(size, m, f="csv"):
            v = spd[(spd["rows"] == size) & (spd["method"] == m) & (spd["format"] == f)]["wall_s"]
            return float(v.iloc[0]) if len(v) and not pd.isna(v.iloc[0]) else None
        dv, dl = t(100000, "datavet"), t(100000, "datalab")
        if dv and dl:
            say(dl / dv >= 100, f"100k rows: Datalab {dl:.1f}s / datavet {dv:.1f}s = {dl / dv:.1f}× (target ≥ 100×)")
        dv, cl = t(1000000, "datavet"), t(1000000, "cleanlab")
        if dv and cl:
            say(cl > dv, f"1M rows: cleanlab label-only {cl:.1f}s vs datavet (all detectors) {dv:.1f}s = {cl / dv:.2f}×")
    return lines


# ---------------------------------------------------------------- main


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="real-table quality only (default)")
    mode.add_argument("--full", action="store_true", help="quality + 100k / 1M rows speed + hashing")
    ap.add_argument("--datavet", default=None, help="binary (default: target/release/datavet)")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--tables", default=",".join(plant.TABLES))
    ap.add_argument("--seed", type=int, default=plant.SEED,
                    help=f"planting seed of the real-table cases (default {plant.SEED}; the scale tables keep theirs)")
    ap.add_argument("--peers", default="cleanlab,datalab,iforest,ecod,knn,dup_rule")
    ap.add_argument("--speed-peers", default="cleanlab,datalab,iforest,ecod,knn,dup_rule")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--knn-max-rows", type=int, default=100000, help="PyOD KNN is quadratic: skip above this")
    ap.add_argument("--datalab-max-rows", type=int, default=100000, help="skip Datalab above this")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--scale-timeout", type=float, default=900)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--speed-repeats", type=int, default=1,
                    help="run every speed measurement this many times and report the median wall time "
                         "(default 1; Datalab's 100k run alone takes 3-5 minutes)")
    args = ap.parse_args()
    args.peers = [p for p in args.peers.split(",") if p]
    args.speed_peers = [p for p in args.speed_peers.split(",") if p]
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.speed_repeats < 1:
        ap.error("--speed-repeats must be at least 1")

    binary = args.datavet
    if binary is None:
        tgt = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(tgt, "release", "datavet")
    if not os.path.exists(binary):
        sys.exit(f"no datavet binary at {binary}: run `cargo build --release -p datavet` or pass --datavet")
    binary = os.path.abspath(binary)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    if commit:
        version += f" (source {commit})"
    os.makedirs(args.out, exist_ok=True)
    peers.preload()

    load0 = os.getloadavg()
    t0 = time.perf_counter()
    res = per = dets = alarms = attrib = pd.DataFrame()
    spd = hsh = None
    if not args.skip_quality:
        res, per, dets, alarms, attrib = quality(args, binary, args.out)
        alarms.to_csv(os.path.join(args.out, "false_alarms.csv"), index=False)
        attrib.to_csv(os.path.join(args.out, "attribution.csv"), index=False)
    if args.full:
        spd, qres, qper = speed(args, binary, args.out)
        res = pd.concat([res, qres], ignore_index=True)
        per = pd.concat([per, qper], ignore_index=True)
        hsh = hashing(binary, args.out, args.sizes)
        spd.to_csv(os.path.join(args.out, "speed.csv"), index=False)
        hsh.to_csv(os.path.join(args.out, "hashing.csv"), index=False)
    res.to_csv(os.path.join(args.out, "results.csv"), index=False)
    per.to_csv(os.path.join(args.out, "per_attack.csv"), index=False)
    dets.to_csv(os.path.join(args.out, "detectors.csv"), index=False)
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "datavet": version,
        "command": "eval/.venv/bin/python eval/run.py " + " ".join(sys.argv[1:]),
        "load": f"load average {load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
                f"total {time.perf_counter() - t0:.0f} s",
    }
    if len(res) and "table" in res:
        md = summarise(res, per, dets, alarms, attrib, spd, hsh, meta)
        with open(os.path.join(args.out, "results.md"), "w") as f:
            f.write(md)
        print(md)
    print(f"total {time.perf_counter() - t0:.0f}s; tables in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
