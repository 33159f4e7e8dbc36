//! Costs to systems: unit costs per agency and interaction kind, each split into variable,
//! step-fixed and fixed parts (`config/costs.toml` is the sample, with its sources).
//!
//! "Cash that would be saved" is the variable part only; the step-fixed and fixed parts are
//! reported as capacity freed, never as cash.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Float64Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use familiar_model::InteractionKind;
use serde::{Deserialize, Serialize};

use crate::{EngineError, Result};

/// The sample cost file shipped with Familiar.
pub const SAMPLE: &str = include_str!("../../../config/costs.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    pub name: String,
    pub version: String,
    #[serde(default = "usd")]
    pub currency: String,
    #[serde(default, rename = "unit")]
    pub units: Vec<UnitCost>,
}

fn usd() -> String {
    "USD".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    Interaction,
    Transport,
    BedDay,
}

impl Per {
    pub fn as_str(self) -> &'static str {
        match self {
            Per::Interaction => "interaction",
            Per::Transport => "transport",
            Per::BedDay => "bed_day",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitCost {
    /// Agency code, or `*` for every agency.
    pub agency: String,
    /// Interaction kind (`call_911`, `jail_booking`, ...).
    pub kind: String,
    pub per: Per,
    pub amount: f64,
    pub variable: f64,
    pub step_fixed: f64,
    pub fixed: f64,
    pub source: String,
    #[serde(default)]
    pub split_basis: String,
}

impl CostConfig {
    /// Parse and check a cost file; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<CostConfig> {
        let cfg: CostConfig = toml::from_str(text).map_err(|e| EngineError::Config {
            file: file.into(),
            why: e.to_string(),
        })?;
        cfg.validate(file)?;
        Ok(cfg)
    }

    pub fn sample() -> CostConfig {
        CostConfig::parse(SAMPLE, "config/costs.toml").expect("the sample cost file is valid")
    }

    fn validate(&self, file: &str) -> Result<()> {
        let bad = |i: usize, why: String| EngineError::Config {
            file: file.into(),
            why: format!("unit {} : {why}", i + 1),
        };
        let kinds: Vec<&str> = InteractionKind::ALL.iter().map(|k| k.as_str()).collect();
        let mut seen = std::collections::HashSet::new();
        for (i, u) in self.units.iter().enumerate() {
            if !kinds.contains(&u.kind.as_str()) {
                return Err(bad(
                    i,
                    format!("kind {:?} is not one of {}", u.kind, kinds.join(", ")),
                ));
            }
            if u.agency != "*"
                && !u
                    .agency
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(bad(
                    i,
                    format!("agency {:?} is not an agency code or *", u.agency),
                ));
            }
            if !(u.amount.is_finite() && u.amount >= 0.0) {
                return Err(bad(i, format!("amount {} must be a number ≥ 0", u.amount)));
            }
            for (n, v) in [
                ("variable", u.variable),
                ("step_fixed", u.step_fixed),
                ("fixed", u.fixed),
            ] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(bad(i, format!("{n} share {v} must be between 0 and 1")));
                }
            }
            let sum = u.variable + u.step_fixed + u.fixed;
            if (sum - 1.0).abs() > 1e-6 {
                return Err(bad(
                    i,
                    format!("shares variable + step_fixed + fixed add up to {sum}, not 1"),
                ));
            }
            if u.source.trim().is_empty() {
                return Err(bad(
                    i,
                    "source is empty: say where the figure comes from".into(),
                ));
            }
            if !seen.insert((u.agency.clone(), u.kind.clone(), u.per)) {
                return Err(bad(
                    i,
                    format!(
                        "a second unit for {} {} per {}",
                        u.agency,
                        u.kind,
                        u.per.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Concrete units for these agencies: wildcards expanded, the agency's own unit winning.
    pub fn resolved(&self, agencies: &[String]) -> Vec<(String, UnitCost)> {
        let mut out: BTreeMap<(String, String, Per), UnitCost> = BTreeMap::new();
        for pass_specific in [false, true] {
            for u in &self.units {
                if (u.agency != "*") != pass_specific {
                    continue;
                }
                let targets: Vec<&String> = if u.agency == "*" {
                    agencies.iter().collect()
                } else {
                    agencies.iter().filter(|a| **a == u.agency).collect()
                };
                for a in targets {
                    out.insert((a.clone(), u.kind.clone(), u.per), u.clone());
                }
            }
        }
        out.into_iter().map(|((a, _, _), u)| (a, u)).collect()
    }

    /// Register `unit_costs(agency, kind, per, variable, step_fixed, fixed)` (amounts, not
    /// shares) in a session.
    pub fn register(&self, ctx: &SessionContext, agencies: &[String]) -> Result<()> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("agency", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("per", DataType::Utf8, false),
            Field::new("variable", DataType::Float64, false),
            Field::new("step_fixed", DataType::Float64, false),
            Field::new("fixed", DataType::Float64, false),
        ]));
        let (mut a, mut k, mut p) = (
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        let (mut v, mut s, mut f) = (
            Float64Builder::new(),
            Float64Builder::new(),
            Float64Builder::new(),
        );
        for (agency, u) in self.resolved(agencies) {
            a.append_value(agency);
            k.append_value(&u.kind);
            p.append_value(u.per.as_str());
            v.append_value(u.amount * u.variable);
            s.append_value(u.amount * u.step_fixed);
            f.append_value(u.amount * u.fixed);
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(a.finish()),
                Arc::new(k.finish()),
                Arc::new(p.finish()),
                Arc::new(v.finish()),
                Arc::new(s.finish()),
                Arc::new(f.finish()),
            ],
        )?;
        ctx.register_table(
            "unit_costs",
            Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
        )?;
        Ok(())
    }
}

/// The SQL expression for one interaction's cost part (`part`: variable, step_fixed, fixed)
/// given columns of `x` (kind, transported, bed_days) joined to `unit_costs` as `c`.
pub(crate) fn cost_expr(part: &str) -> String {
    format!(
        "COALESCE(c.{part} * CASE c.per WHEN 'interaction' THEN 1.0 \
           WHEN 'transport' THEN CASE WHEN x.transported THEN 1.0 ELSE 0.0 END \
           WHEN 'bed_day' THEN CAST(x.bed_days AS DOUBLE) ELSE 0.0 END, 0.0)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_parses_and_every_unit_names_a_source() {
        let c = CostConfig::sample();
        assert!(c.units.len() >= 5);
        assert!(c.units.iter().all(|u| !u.source.is_empty()));
    }

    #[test]
    fn shares_must_add_up_to_one() {
        let bad = SAMPLE.replacen("variable = 0.10", "variable = 0.50", 1);
        let e = CostConfig::parse(&bad, "c.toml").unwrap_err().to_string();
        assert!(
            e.contains("c.toml") && e.contains("unit 1") && e.contains("add up to"),
            "{e}"
        );
    }

    #[test]
    fn unknown_kind_is_named() {
        let bad = SAMPLE.replacen("kind = \"call_911\"", "kind = \"phone_call\"", 1);
        let e = CostConfig::parse(&bad, "c.toml").unwrap_err().to_string();
        assert!(e.contains("phone_call"), "{e}");
    }

    #[test]
    fn specific_agency_beats_wildcard() {
        let text = r#"
name = "t"
version = "1"
[[unit]]
agency = "*"
kind = "call_911"
per = "interaction"
amount = 10.0
variable = 1.0
step_fixed = 0.0
fixed = 0.0
source = "s"
[[unit]]
agency = "DECC"
kind = "call_911"
per = "interaction"
amount = 20.0
variable = 1.0
step_fixed = 0.0
fixed = 0.0
source = "s"
"#;
        let c = CostConfig::parse(text, "t").unwrap();
        let r = c.resolved(&["DECC".into(), "DPD".into()]);
        let amount = |a: &str| r.iter().find(|(x, _)| x == a).unwrap().1.amount;
        assert_eq!(amount("DECC"), 20.0);
        assert_eq!(amount("DPD"), 10.0);
    }
}

/// Interactions and their cost for one agency and kind in a window.
#[derive(Debug, Clone, Serialize)]
pub struct AgencyCost {
    pub agency: String,
    pub kind: String,
    pub interactions: u64,
    pub transports: u64,
    pub bed_days: u64,
    /// Cash that would be saved if these interactions did not happen.
    pub variable: f64,
    /// Capacity freed (staff), not cash.
    pub step_fixed: f64,
    /// Capacity freed (buildings, administration), not cash.
    pub fixed: f64,
    /// Whether the cost file prices this agency and kind at all.
    pub priced: bool,
}

/// Per-agency, per-kind totals for the window (each interaction once, whoever it involved).
pub async fn agency_totals(
    snap: &crate::Snapshot,
    cfg: &CostConfig,
    as_of: chrono::NaiveDate,
    window_days: u32,
) -> Result<Vec<AgencyCost>> {
    use crate::query::{f64s, i64s, materialize, run, strings};
    let ctx = snap.context().await?;
    let agencies = crate::neighbors::agency_codes(&ctx).await?;
    cfg.register(&ctx, &agencies)?;
    let w = crate::measures::window_predicate("i.local_date", as_of, window_days);
    materialize(
        &ctx,
        "xi",
        &format!(
            "SELECT i.interaction, i.agency, i.kind, i.transported, {} AS bed_days
             FROM interactions i WHERE {w}",
            crate::neighbors::bed_days_expr("i", as_of)
        ),
    )
    .await?;
    let b = run(
        &ctx,
        &format!(
            "WITH n AS (
               SELECT agency, kind, COUNT(*) AS n, SUM(bed_days) AS bed_days,
                      SUM(CASE WHEN transported THEN 1 ELSE 0 END) AS transports
               FROM xi GROUP BY agency, kind),
             c AS (
               SELECT x.agency, x.kind, SUM({}) AS v, SUM({}) AS s, SUM({}) AS f,
                      MAX(CASE WHEN c.per IS NULL THEN 0 ELSE 1 END) AS priced
               FROM xi x LEFT JOIN unit_costs c ON c.agency = x.agency AND c.kind = x.kind
               GROUP BY x.agency, x.kind)
             SELECT n.*, c.v, c.s, c.f, c.priced FROM n JOIN c ON n.agency = c.agency AND n.kind = c.kind
             ORDER BY n.agency, n.kind",
            cost_expr("variable"),
            cost_expr("step_fixed"),
            cost_expr("fixed")
        ),
    )
    .await?;
    let (a, k) = (strings(&b, "agency")?, strings(&b, "kind")?);
    let (n, t, bd) = (
        i64s(&b, "n")?,
        i64s(&b, "transports")?,
        i64s(&b, "bed_days")?,
    );
    let (v, s, f, p) = (
        f64s(&b, "v")?,
        f64s(&b, "s")?,
        f64s(&b, "f")?,
        i64s(&b, "priced")?,
    );
    let r2 = |x: Option<f64>| (x.unwrap_or(0.0) * 100.0).round() / 100.0;
    Ok((0..a.len())
        .map(|i| AgencyCost {
            agency: a[i].clone().unwrap_or_default(),
            kind: k[i].clone().unwrap_or_default(),
            interactions: n[i].unwrap_or(0) as u64,
            transports: t[i].unwrap_or(0) as u64,
            bed_days: bd[i].unwrap_or(0) as u64,
            variable: r2(v[i]),
            step_fixed: r2(s[i]),
            fixed: r2(f[i]),
            priced: p[i] == Some(1),
        })
        .collect())
}
