#!/usr/bin/env bash
# Linkage quality on synthetic counties: pairwise / B-cubed F1, blocking recall and the key-measure
# cells against synth's truth, for one or more builds of `familiar` (to compare a change).
# Usage: scripts/link-quality.sh WORKDIR SEED BIN [BIN...]
#   e.g. scripts/link-quality.sh /tmp/lq 9 target/release/familiar /tmp/familiar-before
set -euo pipefail
W=$1; SEED=$2; shift 2
D="$W/s$SEED"; mkdir -p "$D"
first=$(realpath "$1")
[ -d "$D/d" ] || "$first" synth --people 20000 --days 730 --seed "$SEED" --end-date 2025-06-30 --out "$D/d" >/dev/null
for B in "$@"; do
  B=$(realpath "$B")
  rm -rf "$D/f.db" "$D/f.db-"* "$D/f.db.snapshot"
  if ! "$B" ingest --db "$D/f.db" --config "$D/d/sources.toml" >/dev/null 2>"$D/ingest.err"; then
    # a build older than a mapped field refuses it: compare it on the mapping without that field
    grep -v '^incident_ref' "$D/d/sources.toml" >"$D/d/sources.older.toml"
    echo "$B: refused the mapping ($(tail -n 1 "$D/ingest.err")); retrying without incident_ref" >&2
    rm -rf "$D/f.db" "$D/f.db-"*
    "$B" ingest --db "$D/f.db" --config "$D/d/sources.older.toml" >/dev/null
  fi
  "$B" link --db "$D/f.db" >/dev/null
  "$B" link evaluate --db "$D/f.db" --truth "$D/d/truth/record_map.csv" --json >"$D/eval.json"
  "$B" measures --db "$D/f.db" --as-of 2025-06-30 --json >"$D/m.json"
  python3 - "$B" "$D" <<'PY'
import json, sys
b, d = sys.argv[1], sys.argv[2]
e = json.load(open(f"{d}/eval.json"))
m = json.load(open(f"{d}/m.json")); t = json.load(open(f"{d}/d/truth/expected_measures.json"))
bad, exact = [], 0
for a in list(t["by_agency"]) + ["all"]:
    mm = m["all_agencies"] if a == "all" else m["by_agency"][a]
    tt = t["all_agencies"] if a == "all" else t["by_agency"][a]
    for k in tt:
        if mm[k] == tt[k]:
            exact += 1
        elif abs(mm[k] - tt[k]) > 0.03 * tt[k]:
            bad.append(f"{a} >={k}: {mm[k]} (truth {tt[k]})")
p = e["pairwise"]
print(f"{b}: P {p['precision']:.4f} R {p['recall']:.4f} F1 {p['f1']:.4f} "
      f"B-cubed F1 {e['bcubed']['f1']:.4f} blocking recall {e['blocking_recall']:.4f} "
      f"cells exact {exact}, outside ±3%: {bad or 'none'}")
PY
done
