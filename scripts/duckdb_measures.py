#!/usr/bin/env python3
"""The key-measures table in DuckDB over a Familiar Parquet snapshot: the peer half of
`scripts/bench.sh engine`. Same SQL shape as crates/engine/src/measures.rs, same files.

Usage: duckdb_measures.py SNAPSHOT_DIR AS_OF [WINDOW_DAYS=365] [REPEAT=5] [--threads N]
Prints the measures as JSON (to compare with `familiar measures --snapshot DIR --json`) and,
on stderr, each run's wall time (connect + all queries + reading results).
"""
import datetime as dt
import json
import sys
import time

import duckdb

args = [a for a in sys.argv[1:] if not a.startswith("--")]
threads = 2
if "--threads" in sys.argv:
    threads = int(sys.argv[sys.argv.index("--threads") + 1])
    args = [a for a in args if a != str(threads)]
snap, as_of = args[0], dt.date.fromisoformat(args[1])
window = int(args[2]) if len(args) > 2 else 365
repeat = int(args[3]) if len(args) > 3 else 5
thresholds = [5, 10, 20, 40]
lo = as_of - dt.timedelta(days=window)
inv = f"read_parquet('{snap}/involvements.parquet')"
inter = f"read_parquet('{snap}/interactions.parquet')"
agencies = f"read_parquet('{snap}/agencies.parquet')"
w = f"(local_date > DATE '{lo}' AND local_date <= DATE '{as_of}')"


def over(col, prefix):
    return ", ".join(f"SUM(CASE WHEN {col} >= {t} THEN 1 ELSE 0 END) AS {prefix}{t}" for t in thresholds)


def run():
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(f"""CREATE TEMP TABLE pe AS SELECT DISTINCT person, interaction, agency_ix FROM {inv}
                    WHERE person IS NOT NULL AND {w}""")
    con.execute("CREATE TEMP TABLE pa AS SELECT person, agency_ix, COUNT(*) AS n FROM pe GROUP BY person, agency_ix")
    con.execute("CREATE TEMP TABLE pt AS SELECT person, SUM(n) AS n FROM pa GROUP BY person")
    codes = [r[0] for r in con.execute(f"SELECT code FROM {agencies}").fetchall()]
    by = con.execute(f"""SELECT a.code, COUNT(*) AS people, {over('n', 't')}
                         FROM pa JOIN {agencies} a ON pa.agency_ix = a.ix GROUP BY a.code""").fetchall()
    al = con.execute(f"SELECT COUNT(*) AS people, {over('n', 't')} FROM pt").fetchall()
    it = con.execute(f"SELECT agency, COUNT(*) FROM {inter} WHERE {w} GROUP BY agency").fetchall()
    cov = con.execute(f"""WITH pq AS (SELECT pa.person, pa.agency_ix, pa.n AS na, pt.n AS nt
                    FROM pa JOIN pt ON pa.person = pt.person),
             ev AS (SELECT pe.interaction, pe.agency_ix, MAX(pq.na) AS ma, MAX(pq.nt) AS mt
                    FROM pe JOIN pq ON pe.person = pq.person AND pe.agency_ix = pq.agency_ix
                    GROUP BY pe.interaction, pe.agency_ix)
        SELECT a.code, {over('ma', 'a')}, {over('mt', 'x')} FROM ev JOIN {agencies} a ON ev.agency_ix = a.ix GROUP BY a.code""").fetchall()
    con.close()
    return codes, by, al, it, cov


times = []
for _ in range(repeat):
    t = time.perf_counter()
    res = run()
    times.append(time.perf_counter() - t)
codes, by, al, it, cov = res
k = len(thresholds)
by_agency = {c: {str(t): 0 for t in thresholds} for c in codes}
for row in by:
    by_agency[row[0]] = {str(t): int(row[2 + i] or 0) for i, t in enumerate(thresholds)}
all_agencies = {str(t): int(al[0][1 + i] or 0) for i, t in enumerate(thresholds)}
interactions = {c: 0 for c in codes}
for a, n in it:
    interactions[a] = int(n)
total = sum(interactions.values())
interactions["ALL"] = total
share = {c: {str(t): 0.0 for t in thresholds} for c in codes}
across = [0] * k
for row in cov:
    a = row[0]
    for i, t in enumerate(thresholds):
        n = interactions.get(a, 0)
        share[a][str(t)] = round(int(row[1 + i] or 0) / n, 4) if n else 0.0
        across[i] += int(row[1 + k + i] or 0)
share["ALL"] = {str(t): (round(across[i] / total, 4) if total else 0.0) for i, t in enumerate(thresholds)}
print(json.dumps({"by_agency": by_agency, "all_agencies": all_agencies, "interactions": interactions, "share": share},
                 sort_keys=True))
times.sort()
print(f"duckdb {duckdb.__version__}: runs {', '.join(f'{x:.3f}' for x in times)} s; median {times[len(times)//2]:.3f} s, best {times[0]:.3f} s",
      file=sys.stderr)
