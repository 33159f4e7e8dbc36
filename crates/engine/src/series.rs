//! Monthly series: interactions per month per agency for a set of persons (everyone, a rule's
//! list, a cohort) — the data behind the seed's "# of Familiar Neighbor Interactions" chart.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use serde::Serialize;

use crate::neighbors::agency_codes;
use crate::query::{i64s, run, strings};
use crate::{Result, Snapshot};

/// Whose interactions to count.
#[derive(Debug, Clone)]
pub enum Persons {
    /// Every interaction, named or not (the agencies' workload).
    Everyone,
    /// Interactions involving any of these person ids (each interaction once).
    Only(Vec<String>),
}

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// First day of the month.
    pub month: NaiveDate,
    pub by_agency: BTreeMap<String, u64>,
    pub total: u64,
}

fn month_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("day 1 exists")
}

fn next_month(d: NaiveDate) -> NaiveDate {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
    .expect("valid month")
}

/// Months from `from`'s month to `to`'s month inclusive, every month present (zeros included).
pub async fn monthly(
    snap: &Snapshot,
    persons: &Persons,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Month>> {
    let ctx = snap.context().await?;
    let agencies = agency_codes(&ctx).await?;
    let (lo, hi) = (month_start(from), next_month(month_start(to)));
    let source = match persons {
        Persons::Everyone => "SELECT interaction, agency, local_date FROM interactions".to_string(),
        Persons::Only(ids) => {
            let schema = Arc::new(Schema::new(vec![Field::new(
                "person_id",
                DataType::Utf8,
                false,
            )]));
            let mut b = StringBuilder::new();
            for id in ids {
                b.append_value(id);
            }
            let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(b.finish())])?;
            ctx.register_table(
                "selected",
                Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
            )?;
            // each interaction once, on its own date (its rows may carry different ones)
            "SELECT i.interaction, i.agency, i.local_date FROM interactions i
             JOIN (SELECT DISTINCT v.interaction FROM involvements v
                   JOIN selected s ON v.person_id = s.person_id) p
               ON p.interaction = i.interaction"
                .to_string()
        }
    };
    let b = run(
        &ctx,
        &format!(
            "SELECT CAST(date_trunc('month', CAST(local_date AS TIMESTAMP)) AS DATE) AS month,
                    agency, COUNT(*) AS n
             FROM ({source}) s
             WHERE local_date >= DATE '{lo}' AND local_date < DATE '{hi}'
             GROUP BY 1, 2 ORDER BY 1, 2"
        ),
    )
    .await?;
    let mut out: BTreeMap<NaiveDate, Month> = BTreeMap::new();
    let mut m = lo;
    while m < hi {
        out.insert(
            m,
            Month {
                month: m,
                by_agency: agencies.iter().map(|a| (a.clone(), 0)).collect(),
                total: 0,
            },
        );
        m = next_month(m);
    }
    for ((month, agency), n) in strings(&b, "month")?
        .into_iter()
        .zip(strings(&b, "agency")?)
        .zip(i64s(&b, "n")?)
    {
        let (Some(month), Some(agency)) = (month, agency) else {
            continue;
        };
        let Ok(month) = NaiveDate::parse_from_str(&month, "%Y-%m-%d") else {
            continue;
        };
        if let Some(e) = out.get_mut(&month) {
            let n = n.unwrap_or(0) as u64;
            *e.by_agency.entry(agency).or_default() += n;
            e.total += n;
        }
    }
    Ok(out.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::test_row;
    use familiar_model::Agency;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn each_interaction_counts_once_in_its_month() {
        // e1 has two rows of P1 written on different days of June; e2 is P2's; e3 nobody's
        let mut rows = vec![
            test_row(1, "DPD", "e1", d("2025-06-01"), Some("P1")),
            test_row(2, "DPD", "e1", d("2025-06-03"), Some("P1")),
            test_row(3, "DPD", "e2", d("2025-07-02"), Some("P2")),
            test_row(4, "DECC", "e3", d("2025-07-09"), None),
        ];
        rows[1].record_id = 2;
        let snap = Snapshot::build(
            &[
                Agency::new("DECC", "911", ""),
                Agency::new("DPD", "Police", ""),
            ],
            &rows,
            "test",
        );
        let (from, to) = (d("2025-05-15"), d("2025-07-31"));
        let totals = |m: &[Month]| m.iter().map(|x| x.total).collect::<Vec<_>>();
        let p1 = monthly(&snap, &Persons::Only(vec!["P1".into()]), from, to)
            .await
            .unwrap();
        assert_eq!(totals(&p1), [0, 1, 0], "May, June, July");
        let both = monthly(
            &snap,
            &Persons::Only(vec!["P1".into(), "P2".into()]),
            from,
            to,
        )
        .await
        .unwrap();
        assert_eq!(totals(&both), [0, 1, 1]);
        let all = monthly(&snap, &Persons::Everyone, from, to).await.unwrap();
        assert_eq!(totals(&all), [0, 1, 2]);
        assert_eq!(all[2].by_agency["DECC"], 1);
    }
}
