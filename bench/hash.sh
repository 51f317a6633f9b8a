#!/usr/bin/env bash
# Hashing and row-fingerprint throughput of `datavet manifest`, against
# `openssl dgst -sha256` and `sha256sum` on the same warm files.
#
#   bash bench/hash.sh            # everything (needs ~4.5 GB free under $BENCH_DIR)
#   BENCH_DIR=/data/tmp bash bench/hash.sh
#   SKIP_BUILD=1 DATAVET=path/to/datavet FPBENCH=path/to/fingerprint_bench bash bench/hash.sh
#
# Builds datavet in release first (long on 2 cores the first time). Uses hyperfine
# when available (installs it with apt-get when possible), else a best-of-N timer.
# Results go to stdout and to bench/out/hash-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
RUNS="${RUNS:-5}"
ROWS="${ROWS:-1000000}"

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building (release)" >&2
    cargo build --release --locked -p datavet -p datavet-ingest --bins --examples >&2
fi
# Override to time other builds (e.g. when several branches share one target dir).
DATAVET="${DATAVET:-$TARGET/release/datavet}"
FPBENCH="${FPBENCH:-$TARGET/release/examples/fingerprint_bench}"
"$DATAVET" manifest --help | grep -q -- --hash-only \
    || { echo "error: $DATAVET has no 'manifest --hash-only'; set DATAVET=" >&2; exit 2; }

if ! command -v hyperfine >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
fi

if [ -n "${BENCH_DIR:-}" ]; then
    WORK=$BENCH_DIR  # kept for the next run
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
cd "$WORK"
OUT="$REPO/bench/out/hash-$(date -u +%Y%m%d-%H%M%S).md"
mkdir -p "$REPO/bench/out"

echo "== creating files in $WORK" >&2
mkdir -p one many rows
# Random bytes: hashing does not parse them (--hash-only), the extension only makes
# them count as data files.
[ -f one/big.csv ] || head -c $((1024 * 1024 * 1024)) /dev/urandom > one/big.csv
for i in 0 1 2 3; do
    [ -f "many/part-$i.csv" ] || head -c $((512 * 1024 * 1024)) /dev/urandom > "many/part-$i.csv"
done
# A 32-column numeric CSV for row fingerprinting (deterministic).
if [ ! -f rows/numeric.csv ]; then
    python3 - "$ROWS" > rows/numeric.csv <<'PY'
import random, sys
n = int(sys.argv[1]); rnd = random.Random(42)
w = sys.stdout.write
w(",".join(f"f{j}" for j in range(32)) + "\n")
for i in range(n):
    w(",".join(f"{rnd.gauss(0, 1):.6f}" if j % 4 else str(rnd.randrange(1000)) for j in range(32)) + "\n")
PY
fi
cat one/big.csv many/*.csv rows/numeric.csv > /dev/null  # warm the page cache

# time_best NAME COMMAND...: best wall time of $RUNS runs, in seconds.
time_best() {
    local name=$1; shift
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine --warmup 1 --runs "$RUNS" --export-json /tmp/dv-hf.json "$*" >&2
        python3 -c 'import json;r=json.load(open("/tmp/dv-hf.json"))["results"][0];print("%.3f" % min(r["times"]))'
    else
        local best=""
        for _ in $(seq "$RUNS"); do
            local t0 t1
            t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
            best=$(python3 -c "t=$t1-$t0;b='$best';print(f'{min(t, float(b)) if b else t:.3f}')")
        done
        echo "$best"
    fi
}

gbps() { python3 -c "print(f'{$1 / $2 / 1e9:.2f}')"; }
ONE=$(stat -c %s one/big.csv)
MANY=$(( $(stat -c %s many/part-0.csv) * 4 ))

echo "== one 1 GiB file" >&2
t_dv1=$(time_best datavet "$DATAVET" manifest one/big.csv --hash-only --root one -q)
t_os1=$(time_best openssl openssl dgst -sha256 one/big.csv)
t_ss1=$(time_best sha256sum sha256sum one/big.csv)

echo "== four 512 MiB files" >&2
t_dv4=$(time_best datavet "$DATAVET" manifest many --hash-only --root many -q)
t_dv4s=$(RAYON_NUM_THREADS=1 time_best datavet-1-thread env RAYON_NUM_THREADS=1 "$DATAVET" manifest many --hash-only --root many -q)
t_os4=$(time_best openssl openssl dgst -sha256 many/part-0.csv many/part-1.csv many/part-2.csv many/part-3.csv)
t_ss4=$(time_best sha256sum sha256sum many/part-0.csv many/part-1.csv many/part-2.csv many/part-3.csv)

echo "== row fingerprints: $ROWS rows x 32 numeric columns" >&2
FP=$("$FPBENCH" rows/numeric.csv 3)
echo "$FP" >&2
t_man=$(time_best manifest-rows "$DATAVET" manifest rows/numeric.csv --no-rows --root rows -q)

{
    echo "# datavet hashing benchmark, $(date -u +%Y-%m-%d)"
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
         "$(grep -o -m1 sha_ni /proc/cpuinfo || echo 'no sha_ni')." \
         "Best of $RUNS warm runs; $(command -v hyperfine >/dev/null && echo hyperfine || echo 'shell timer')."
    echo
    echo "| workload | tool | seconds | GB/s |"
    echo "|---|---|---|---|"
    echo "| 1 × 1 GiB | datavet manifest --hash-only | $t_dv1 | $(gbps "$ONE" "$t_dv1") |"
    echo "| 1 × 1 GiB | openssl dgst -sha256 | $t_os1 | $(gbps "$ONE" "$t_os1") |"
    echo "| 1 × 1 GiB | sha256sum | $t_ss1 | $(gbps "$ONE" "$t_ss1") |"
    echo "| 4 × 512 MiB | datavet manifest --hash-only | $t_dv4 | $(gbps "$MANY" "$t_dv4") |"
    echo "| 4 × 512 MiB | datavet, RAYON_NUM_THREADS=1 | $t_dv4s | $(gbps "$MANY" "$t_dv4s") |"
    echo "| 4 × 512 MiB | openssl dgst -sha256 | $t_os4 | $(gbps "$MANY" "$t_os4") |"
    echo "| 4 × 512 MiB | sha256sum | $t_ss4 | $(gbps "$MANY" "$t_ss4") |"
    echo
    echo "- one file, datavet vs OpenSSL: $(python3 -c "print(f'{$t_os1 / $t_dv1:.2f}')")× (target ≥ 0.95×)"
    echo "- four files, $(nproc) threads vs 1 thread: $(python3 -c "print(f'{$t_dv4s / $t_dv4:.2f}')")× (target ≥ 1.8×)"
    echo
    echo "Row fingerprints, $ROWS rows × 32 numeric columns ($(stat -c %s rows/numeric.csv) bytes of CSV):"
    echo
    echo '```'
    echo "$FP"
    echo '```'
    echo
    echo "- \`datavet manifest --no-rows\` end to end (hash + parse + fingerprint): $t_man s," \
         "$(python3 -c "print(f'{$ROWS / $t_man:,.0f}')") rows/s (target ≥ 500,000 rows/s for fingerprinting)"
} | tee "$OUT"
echo "(written to $OUT)" >&2
