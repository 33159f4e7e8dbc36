#!/usr/bin/env bash
# Whole-program benchmarks, release build. Prints markdown rows for BENCHMARKS.md.
# Usage: scripts/bench.sh [spine|link|engine|all]   (peers need ../peers-venv: see ../shared/bench/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
cargo build --release -q -p familiar
BIN=$PWD/target/release/familiar
W=${BENCH_DIR:-$(mktemp -d)}
PEERS=${PEERS_VENV:-../peers-venv}
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"

timed() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/out" 2>&1 || { cat "$W/out"; exit 1; }
  read -r secs kb <"$W/time"
  echo "| $label | ${secs}s | $((kb / 1024)) MiB |"
}

if [ "$what" = spine ] || [ "$what" = all ]; then
  echo "| step | wall | peak RSS |"
  echo "|---|---|---|"
  rm -rf "$W/county" "$W/f.db"*
  timed "synth 330k people × 730 days" "$BIN" synth --out "$W/county" --people 330000 --days 730 --seed 1
  timed "ingest (fresh SQLite store)" "$BIN" ingest --db "$W/f.db" --config "$W/county/sources.toml" --json
  python3 - "$W/out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t = j["totals"]
print(f"rows read {t['read']}, in-run rate {j['rows_per_second']:.0f} rows/s (reader + writer, excluding open/commit)")
PY
  timed "re-ingest (all duplicates)" "$BIN" ingest --db "$W/f.db" --config "$W/county/sources.toml" --json
  cargo build --release -q --example read_only -p familiar-ingest
  echo "parse-only ceiling:"; target/release/examples/read_only "$W/county/sources.toml" | tail -1
fi

if [ "$what" = link ] || [ "$what" = all ]; then
  [ -x "$PEERS/bin/python" ] || { echo "no peers venv at $PEERS (see ../shared/bench/README.md)"; exit 1; }
  DATA=../shared/data/febrl
  echo "== FEBRL4 5,000 x 5,000: Splink (unsupervised) then Familiar, same machine, same run"
  "$PEERS/bin/python" ../shared/bench/splink_febrl4.py --method splink --data-dir "$DATA" --json-out "$W/splink_f4.json" >"$W/splink_f4.log" 2>&1
  python3 - "$W/splink_f4.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(json.dumps(j, indent=1)[:1500])
PY
  for i in 1 2 3; do
    timed "familiar match FEBRL4 (run $i)" "$BIN" match --spec examples/febrl4.toml --left "$DATA/dataset4a.csv" --right "$DATA/dataset4b.csv" --out "$W/c4.csv" --json
  done
  python3 ../shared/checks/lib/cluster_f1.py "$W/c4.csv" --link

  echo "== 1M-record dedupe: Splink (writes the table), then Familiar on the same file"
  "$PEERS/bin/python" ../shared/bench/splink_scale.py --n-records 1000000 --data-dir "$DATA" --write-data "$W/big.parquet" --json-out "$W/splink_1m.json" >"$W/splink_1m.log" 2>&1
  cat "$W/splink_1m.json"; echo
  timed "familiar match 1M dedupe" "$BIN" match --spec examples/splink_scale.toml --left "$W/big.parquet" --out "$W/c1m.csv" --json
  python3 - "$W/out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
e = j.get("evaluation") or {}
print("familiar 1M:", json.dumps({k: e.get(k) for k in ("pairwise", "bcubed")}), "total_ms", j["timings"]["total_ms"])
PY
fi

if [ "$what" = engine ] || [ "$what" = all ]; then
  [ -x "$PEERS/bin/python" ] || { echo "no peers venv at $PEERS (needs PyPI duckdb)"; exit 1; }
  N=${ENGINE_INTERACTIONS:-10000000}
  # a snapshot from a build with another schema version is refused: write it again
  if [ ! -f "$W/snap$N/manifest.json" ] \
    || ! "$BIN" measures --snapshot "$W/snap$N" --as-of 2025-12-31 --json >/dev/null 2>&1; then
    rm -rf "$W/snap$N"
    timed "bench-snapshot $N interactions" "$BIN" bench-snapshot "$W/snap$N" --interactions "$N" --people 2000000 --seed 1
    cat "$W/out"
  fi
  echo "== key measures over $N interactions (Parquet snapshot; as of 2025-12-31, 365 days): DuckDB then Familiar"
  "$PEERS/bin/python" scripts/duckdb_measures.py "$W/snap$N" 2025-12-31 365 5 >"$W/duck.json" 2>"$W/duck.err"
  cat "$W/duck.err"
  for i in 1 2 3 4 5; do
    timed "familiar measures --snapshot (run $i)" "$BIN" measures --snapshot "$W/snap$N" --as-of 2025-12-31 --json
  done
  cp "$W/out" "$W/familiar.json"
  python3 - "$W/familiar.json" "$W/duck.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2]))
same = all(f[k] == d[k] for k in ("by_agency", "all_agencies", "interactions", "share"))
print("Familiar and DuckDB tables identical:", same)
if not same:
    sys.exit(1)
PY
fi
