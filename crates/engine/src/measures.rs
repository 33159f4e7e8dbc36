//! The key-measures table as DataFusion plans (counting rules: `familiar_model::measures`).

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use datafusion::prelude::SessionContext;
use familiar_model::measures::{round_share, KeyMeasures, ALL_AGENCIES};

use crate::query::{i64s, materialize, run, strings};
use crate::{EngineError, Result, Snapshot};

#[derive(Debug, Clone)]
pub struct MeasureOptions {
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub thresholds: Vec<u32>,
}

/// The SQL date-range predicate for a window of `window_days` days ending on `as_of`
/// (inclusive), on column `col`: `as_of - window_days < col <= as_of`.
pub fn window_predicate(col: &str, as_of: NaiveDate, window_days: u32) -> String {
    let lo = as_of - Duration::days(i64::from(window_days));
    format!("({col} > DATE '{lo}' AND {col} <= DATE '{as_of}')")
}

/// `pe`: distinct (person, interaction, agency) in the window; `pa`: counts per person and
/// agency; `pt`: per person across agencies. Agencies are `agency_ix` integers here (see the
/// snapshot). Registered in `ctx` for the queries that follow.
pub(crate) async fn person_counts(
    ctx: &SessionContext,
    as_of: NaiveDate,
    window: u32,
) -> Result<()> {
    let w = window_predicate("local_date", as_of, window);
    materialize(
        ctx,
        "pe",
        &format!(
            "SELECT DISTINCT person, interaction, agency_ix FROM involvements
             WHERE person IS NOT NULL AND {w}"
        ),
    )
    .await?;
    materialize(
        ctx,
        "pa",
        "SELECT person, agency_ix, COUNT(*) AS n FROM pe GROUP BY person, agency_ix",
    )
    .await?;
    materialize(
        ctx,
        "pt",
        "SELECT person, SUM(n) AS n FROM pa GROUP BY person",
    )
    .await?;
    Ok(())
}

/// Compute the key-measures table from a snapshot.
pub async fn key_measures(snap: &Snapshot, opts: &MeasureOptions) -> Result<KeyMeasures> {
    let mut thresholds = opts.thresholds.clone();
    thresholds.sort_unstable();
    thresholds.dedup();
    if thresholds.is_empty() {
        return Err(EngineError::Invalid(
            "at least one threshold is needed".into(),
        ));
    }
    let ctx = snap.context().await?;
    let agencies: Vec<String> = strings(&run(&ctx, "SELECT code FROM agencies").await?, "code")?
        .into_iter()
        .flatten()
        .collect();
    person_counts(&ctx, opts.as_of, opts.window_days).await?;
    let over = |col: &str, prefix: &str| -> String {
        thresholds
            .iter()
            .map(|t| format!("SUM(CASE WHEN {col} >= {t} THEN 1 ELSE 0 END) AS {prefix}{t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let w = window_predicate("local_date", opts.as_of, opts.window_days);

    // People per agency at or above each threshold.
    let by = run(
        &ctx,
        &format!(
            "SELECT a.code AS agency, COUNT(*) AS people, {}
             FROM pa JOIN agencies a ON pa.agency_ix = a.ix GROUP BY a.code",
            over("n", "t")
        ),
    )
    .await?;
    // People across agencies.
    let all = run(
        &ctx,
        &format!("SELECT COUNT(*) AS people, {} FROM pt", over("n", "t")),
    )
    .await?;
    // Interactions per agency in the window (named or not).
    let inter = run(
        &ctx,
        &format!("SELECT agency, COUNT(*) AS n FROM interactions WHERE {w} GROUP BY agency"),
    )
    .await?;
    // Interactions involving someone at or above a threshold: the largest count among the
    // interaction's people, for the agency and across agencies. Only people at or above the
    // lowest threshold across agencies can reach any (a count per agency is at most the count
    // across), so the others are left out of the join.
    let covered = run(
        &ctx,
        &format!(
            "WITH pq AS (SELECT pa.person, pa.agency_ix, pa.n AS na, pt.n AS nt
                         FROM pa JOIN pt ON pa.person = pt.person WHERE pt.n >= {}),
                  ev AS (SELECT pe.interaction, pe.agency_ix, MAX(pq.na) AS ma, MAX(pq.nt) AS mt
                         FROM pe JOIN pq ON pe.person = pq.person AND pe.agency_ix = pq.agency_ix
                         GROUP BY pe.interaction, pe.agency_ix)
             SELECT a.code AS agency, {}, {}
             FROM ev JOIN agencies a ON ev.agency_ix = a.ix GROUP BY a.code",
            thresholds[0],
            over("ma", "a"),
            over("mt", "x")
        ),
    )
    .await?;

    let key = |t: u32| t.to_string();
    let mut by_agency: BTreeMap<String, BTreeMap<String, u64>> = agencies
        .iter()
        .map(|a| (a.clone(), thresholds.iter().map(|&t| (key(t), 0)).collect()))
        .collect();
    let mut people: BTreeMap<String, u64> = agencies.iter().map(|a| (a.clone(), 0)).collect();
    let by_codes = strings(&by, "agency")?;
    let by_people = i64s(&by, "people")?;
    let mut cols: HashMap<u32, Vec<Option<i64>>> = HashMap::new();
    for &t in &thresholds {
        cols.insert(t, i64s(&by, &format!("t{t}"))?);
    }
    for (i, code) in by_codes.iter().enumerate() {
        let code = code.clone().unwrap_or_default();
        let row = by_agency.entry(code.clone()).or_default();
        for &t in &thresholds {
            row.insert(key(t), cols[&t][i].unwrap_or(0) as u64);
        }
        people.insert(code, by_people[i].unwrap_or(0) as u64);
    }
    let mut all_agencies = BTreeMap::new();
    for &t in &thresholds {
        all_agencies.insert(key(t), i64s(&all, &format!("t{t}"))?[0].unwrap_or(0) as u64);
    }
    people.insert(
        ALL_AGENCIES.into(),
        i64s(&all, "people")?[0].unwrap_or(0) as u64,
    );

    let mut interactions: BTreeMap<String, u64> = agencies.iter().map(|a| (a.clone(), 0)).collect();
    for (a, n) in strings(&inter, "agency")?
        .into_iter()
        .zip(i64s(&inter, "n")?)
    {
        interactions.insert(a.unwrap_or_default(), n.unwrap_or(0) as u64);
    }
    let total: u64 = interactions.values().sum();
    interactions.insert(ALL_AGENCIES.into(), total);

    let ratio = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            round_share(a as f64 / b as f64)
        }
    };
    let mut share: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for a in by_agency.keys() {
        share.insert(
            a.clone(),
            thresholds.iter().map(|&t| (key(t), 0.0)).collect(),
        );
    }
    let cov_codes = strings(&covered, "agency")?;
    let mut across: BTreeMap<u32, u64> = thresholds.iter().map(|&t| (t, 0)).collect();
    for &t in &thresholds {
        let a_col = i64s(&covered, &format!("a{t}"))?;
        let x_col = i64s(&covered, &format!("x{t}"))?;
        for (i, code) in cov_codes.iter().enumerate() {
            let code = code.clone().unwrap_or_default();
            let n = interactions.get(&code).copied().unwrap_or(0);
            share
                .entry(code)
                .or_default()
                .insert(key(t), ratio(a_col[i].unwrap_or(0) as u64, n));
            *across.get_mut(&t).expect("threshold") += x_col[i].unwrap_or(0) as u64;
        }
    }
    share.insert(
        ALL_AGENCIES.into(),
        across
            .iter()
            .map(|(t, c)| (key(*t), ratio(*c, total)))
            .collect(),
    );

    Ok(KeyMeasures {
        as_of: opts.as_of,
        window_days: opts.window_days,
        thresholds,
        by_agency,
        all_agencies,
        interactions,
        people,
        share,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use crate::snapshot::test_row as row;
    use familiar_model::Agency;
    use familiar_store::InteractionRow;
    use proptest::prelude::*;

    fn agencies() -> Vec<Agency> {
        ["DECC", "DPD", "HEART"]
            .iter()
            .map(|c| Agency::new(c, c, ""))
            .collect()
    }

    fn oracle(rows: &[InteractionRow], opts: &MeasureOptions) -> KeyMeasures {
        let mut f = reference::Facts::new();
        for a in agencies() {
            f.declare_agency(&a.code);
        }
        for r in rows {
            f.push(
                &r.agency,
                &r.source,
                &r.event_key,
                r.local_date,
                r.person_id.as_deref(),
            );
        }
        reference::key_measures(
            &f,
            &reference::MeasureOptions {
                as_of: opts.as_of,
                window_days: opts.window_days,
                thresholds: opts.thresholds.clone(),
            },
        )
    }

    fn sql(rows: &[InteractionRow], opts: &MeasureOptions) -> KeyMeasures {
        let snap = Snapshot::build(&agencies(), rows, "test");
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(key_measures(&snap, opts))
            .unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn distinct_interactions_roles_and_window_edges() {
        let rows = vec![
            row(1, "DPD", "e1", d("2025-01-01"), Some("P1")),
            row(2, "DPD", "e1", d("2025-01-01"), Some("P1")), // same incident, second role
            row(3, "DPD", "e2", d("2025-02-01"), Some("P1")),
            row(4, "DPD", "e3", d("2025-03-01"), Some("P1")),
            row(5, "DPD", "e3", d("2025-03-01"), Some("P2")),
            row(6, "DECC", "c1", d("2025-03-02"), Some("P2")),
            row(7, "DECC", "c2", d("2025-03-02"), None),
            row(8, "DPD", "old", d("2024-06-30"), Some("P1")), // one day before the window
            row(9, "DPD", "first", d("2024-07-01"), Some("P2")), // first day of the window
        ];
        let opts = MeasureOptions {
            as_of: d("2025-06-30"),
            window_days: 365,
            thresholds: vec![2, 3],
        };
        let m = sql(&rows, &opts);
        assert_eq!(
            m.by_agency["DPD"]["3"], 1,
            "P1: e1 e2 e3 (e1 once); P2: e3 and first = 2"
        );
        assert_eq!(m.by_agency["DPD"]["2"], 2);
        assert_eq!(m.interactions["DPD"], 4);
        assert_eq!(m.interactions["DECC"], 2);
        assert_eq!(
            m.by_agency["HEART"]["2"], 0,
            "declared agency present with zeros"
        );
        assert_eq!(m.people["ALL"], 2);
        assert_eq!(m, oracle(&rows, &opts));
    }

    fn arb_rows() -> impl Strategy<Value = Vec<InteractionRow>> {
        let ag = prop::sample::select(vec!["DECC", "DPD", "HEART"]);
        prop::collection::vec((ag, 0u8..40, 0i64..500, prop::option::of(0u8..12)), 0..300).prop_map(
            |v| {
                let base = d("2024-03-01");
                v.into_iter()
                    .enumerate()
                    .map(|(i, (a, e, day, p))| {
                        let pid = p.map(|p| format!("P{p}"));
                        // Events keep one date: derive it from the event key.
                        let day = (i64::from(e) * 37 + day % 3) % 500;
                        row(
                            i as i64,
                            a,
                            &format!("e{e}"),
                            base + Duration::days(day),
                            pid.as_deref(),
                        )
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn sql_agrees_with_the_reference(rows in arb_rows(), window in 30u32..400, t1 in 1u32..4, t2 in 4u32..9) {
            let opts = MeasureOptions { as_of: d("2025-06-30"), window_days: window, thresholds: vec![t1, t2] };
            // The reference counts an interaction in the window when any of its rows is; keep
            // rows of one interaction on one date so both definitions coincide.
            let mut rows = rows;
            let mut date_of: HashMap<(String, String), NaiveDate> = HashMap::new();
            for r in &mut rows {
                r.local_date = *date_of.entry((r.agency.clone(), r.event_key.clone())).or_insert(r.local_date);
            }
            prop_assert_eq!(sql(&rows, &opts), oracle(&rows, &opts));
        }
    }
}
