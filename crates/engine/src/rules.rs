//! Selection rules: named, versioned conditions over `person_stats` (see [`crate::neighbors`]),
//! each turned into one SQL query, and each selected person's qualification explained in words
//! and numbers.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::costs::CostConfig;
use crate::neighbors::{ident, kinds, person_stats, read_stats, PersonStats, StatsOptions};
use crate::{EngineError, Result, Snapshot};

/// The sample rules shipped with Familiar.
pub const SAMPLE: &str = include_str!("../../../config/rules.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub version: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_window")]
    pub window_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_interactions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_agencies: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub min_by_agency: BTreeMap<String, u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub min_by_kind: BTreeMap<String, u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bed_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    #[serde(default = "default_rank")]
    pub rank_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

fn default_window() -> u32 {
    365
}
fn default_rank() -> String {
    "interactions".into()
}

impl RuleFile {
    pub fn parse(text: &str, file: &str) -> Result<RuleFile> {
        let f: RuleFile = toml::from_str(text).map_err(|e| EngineError::Config {
            file: file.into(),
            why: e.to_string(),
        })?;
        let mut seen = std::collections::HashSet::new();
        for r in &f.rules {
            r.validate().map_err(|why| EngineError::Config {
                file: file.into(),
                why: format!("rule {:?}: {why}", r.name),
            })?;
            if !seen.insert(r.name.as_str()) {
                return Err(EngineError::Config {
                    file: file.into(),
                    why: format!("rule {:?} is defined twice", r.name),
                });
            }
        }
        Ok(f)
    }

    pub fn sample() -> RuleFile {
        RuleFile::parse(SAMPLE, "config/rules.toml").expect("the sample rules are valid")
    }

    pub fn get(&self, name: &str) -> Result<&Rule> {
        self.rules.iter().find(|r| r.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
            EngineError::Invalid(format!("no rule {name:?}; rules: {}", names.join(", ")))
        })
    }
}

/// One condition a person met, for the explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub measure: String,
    pub value: f64,
    pub required: f64,
}

/// A person on a rule's list.
#[derive(Debug, Clone, Serialize)]
pub struct Selected {
    pub rank: usize,
    #[serde(flatten)]
    pub stats: PersonStats,
    /// Why this person is on the list, in words and numbers.
    pub qualification: String,
    pub checks: Vec<Check>,
}

/// A rule's list.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: Rule,
    pub as_of: NaiveDate,
    pub data_version: String,
    /// People meeting the conditions before any `limit`.
    pub qualifying: u64,
    pub people: Vec<Selected>,
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl Rule {
    /// A rule for a plain ranked list: everyone with `min` or more interactions (with `agency`
    /// if given), ranked by that count.
    pub fn ranking(agency: Option<&str>, min: u32, window_days: u32) -> Rule {
        Rule {
            name: match agency {
                Some(a) => format!("top-{}", a.to_lowercase()),
                None => "top".into(),
            },
            version: 1,
            description: "ranked by interactions".into(),
            window_days,
            min_interactions: if agency.is_none() { Some(min) } else { None },
            min_agencies: None,
            min_by_agency: agency.map(|a| (a.to_string(), min)).into_iter().collect(),
            min_by_kind: BTreeMap::new(),
            min_bed_days: None,
            needs: vec![],
            rank_by: match agency {
                Some(a) => format!("agency:{a}"),
                None => "interactions".into(),
            },
            limit: None,
        }
    }

    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if self.window_days == 0 {
            return Err("window_days must be at least 1".into());
        }
        for a in self.min_by_agency.keys() {
            if !is_code(a) {
                return Err(format!("{a:?} is not an agency code"));
            }
        }
        let ks = kinds();
        for k in self.min_by_kind.keys() {
            if !ks.contains(&k.as_str()) {
                return Err(format!("kind {k:?} is not one of {}", ks.join(", ")));
            }
        }
        for n in &self.needs {
            if !familiar_model::NeedFlags::NAMES.contains(&n.as_str()) {
                return Err(format!(
                    "need {n:?} is not one of {:?}",
                    familiar_model::NeedFlags::NAMES
                ));
            }
        }
        self.rank_column()?;
        Ok(())
    }

    fn rank_column(&self) -> std::result::Result<String, String> {
        Ok(match self.rank_by.as_str() {
            "interactions" => "total".into(),
            "variable_cost" => "cost_variable".into(),
            "total_cost" => "cost_total".into(),
            "bed_days" => "bed_days".into(),
            s => match s.strip_prefix("agency:") {
                Some(a) if is_code(a) => ident(&format!("a_{a}")),
                _ => {
                    return Err(format!(
                        "rank_by {s:?} must be interactions, variable_cost, total_cost, bed_days or agency:CODE"
                    ))
                }
            },
        })
    }

    /// The WHERE clause over `person_stats`.
    fn conditions(&self, agencies: &[String]) -> Result<String> {
        let mut c = vec!["total >= 1".to_string()];
        if let Some(n) = self.min_interactions {
            c.push(format!("total >= {n}"));
        }
        if let Some(n) = self.min_agencies {
            c.push(format!("agencies >= {n}"));
        }
        for (a, n) in &self.min_by_agency {
            if !agencies.contains(a) {
                return Err(EngineError::Invalid(format!(
                    "rule {:?} names agency {a:?}, which the store does not know ({})",
                    self.name,
                    agencies.join(", ")
                )));
            }
            c.push(format!("{} >= {n}", ident(&format!("a_{a}"))));
        }
        for (k, n) in &self.min_by_kind {
            c.push(format!("k_{k} >= {n}"));
        }
        if let Some(n) = self.min_bed_days {
            c.push(format!("bed_days >= {n}"));
        }
        for n in &self.needs {
            c.push(n.clone());
        }
        Ok(c.join(" AND "))
    }

    fn explain(
        &self,
        s: &PersonStats,
        rank: usize,
        as_of: NaiveDate,
        currency: &str,
    ) -> (String, Vec<Check>) {
        let mut checks = Vec::new();
        let mut words = Vec::new();
        let by: Vec<String> = s
            .by_agency
            .iter()
            .map(|(a, n)| format!("{a} {n}"))
            .collect();
        if let Some(n) = self.min_interactions {
            checks.push(Check {
                measure: "interactions".into(),
                value: s.interactions as f64,
                required: n.into(),
            });
            words.push(format!(
                "{} interactions (at least {n} required)",
                s.interactions
            ));
        }
        if let Some(n) = self.min_agencies {
            checks.push(Check {
                measure: "agencies".into(),
                value: s.distinct_agencies as f64,
                required: n.into(),
            });
            words.push(format!(
                "across {} agencies (at least {n})",
                s.distinct_agencies
            ));
        }
        for (a, n) in &self.min_by_agency {
            let v = s.by_agency.get(a).copied().unwrap_or(0);
            checks.push(Check {
                measure: format!("interactions with {a}"),
                value: v as f64,
                required: (*n).into(),
            });
            words.push(format!("{v} with {a} (at least {n})"));
        }
        for (k, n) in &self.min_by_kind {
            let v = s.by_kind.get(k).copied().unwrap_or(0);
            checks.push(Check {
                measure: k.clone(),
                value: v as f64,
                required: (*n).into(),
            });
            words.push(format!("{v} {} (at least {n})", k.replace('_', " ")));
        }
        if let Some(n) = self.min_bed_days {
            checks.push(Check {
                measure: "jail bed-days".into(),
                value: s.jail_bed_days as f64,
                required: n.into(),
            });
            words.push(format!("{} jail bed-days (at least {n})", s.jail_bed_days));
        }
        for n in &self.needs {
            checks.push(Check {
                measure: format!("need {n}"),
                value: 1.0,
                required: 1.0,
            });
            words.push(format!("flagged {}", n.replace('_', " ")));
        }
        let ranked = match self.rank_by.as_str() {
            "variable_cost" => format!("variable cost {currency} {:.2}", s.cost.variable),
            "total_cost" => format!("total cost {currency} {:.2}", s.cost.total),
            "bed_days" => format!("{} jail bed-days", s.jail_bed_days),
            r => match r.strip_prefix("agency:") {
                Some(a) => format!(
                    "{} interactions with {a}",
                    s.by_agency.get(a).copied().unwrap_or(0)
                ),
                None => format!("{} interactions", s.interactions),
            },
        };
        let limit = self
            .limit
            .map(|l| format!(" of the first {l}"))
            .unwrap_or_default();
        // The ranking measure is often a condition too: say it once.
        let ranked_is_checked = words.iter().any(|w| w.starts_with(&ranked));
        let mut parts = Vec::new();
        if !ranked_is_checked {
            parts.push(ranked);
        }
        parts.extend(words);
        let text = format!(
            "rank {rank}{limit} by {} under rule {} v{}: {} in the {} days ending {as_of} ({})",
            self.rank_by.replace('_', " "),
            self.name,
            self.version,
            parts.join(", "),
            self.window_days,
            if by.is_empty() {
                "no interactions".to_string()
            } else {
                by.join(", ")
            },
        );
        (text, checks)
    }
}

/// Run a rule over a snapshot; `max_rows` caps the list read back (after the rule's own limit).
pub async fn evaluate(
    snap: &Snapshot,
    rule: &Rule,
    as_of: NaiveDate,
    costs: &CostConfig,
    max_rows: Option<usize>,
) -> Result<RuleResult> {
    rule.validate().map_err(EngineError::Invalid)?;
    let ctx = snap.context().await?;
    let agencies = person_stats(
        &ctx,
        &StatsOptions {
            as_of,
            window_days: rule.window_days,
            costs: costs.clone(),
        },
    )
    .await?;
    let cond = rule.conditions(&agencies)?;
    let qualifying = crate::query::i64s(
        &crate::query::run(
            &ctx,
            &format!("SELECT COUNT(*) AS n FROM person_stats WHERE {cond}"),
        )
        .await?,
        "n",
    )?[0]
        .unwrap_or(0) as u64;
    let rank = rule.rank_column().map_err(EngineError::Invalid)?;
    let cap = match (rule.limit, max_rows) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    // Competition ranks (1, 2, 2, 4): people with equal values share a rank, and a limit keeps
    // everyone tied with the last place, so a list never drops someone level with its last
    // person on the order of ids.
    let within = cap
        .map(|l| format!(" WHERE list_rank <= {l}"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT * FROM (SELECT *, RANK() OVER (ORDER BY {rank} DESC) AS list_rank \
         FROM person_stats WHERE {cond}){within} ORDER BY list_rank, person_id"
    );
    let batches = crate::query::run(&ctx, &sql).await?;
    let ranks = crate::query::i64s(&batches, "list_rank")?;
    let rows = read_stats(&batches, &agencies)?;
    let mut tied = std::collections::HashMap::<i64, usize>::new();
    for r in ranks.iter().flatten() {
        *tied.entry(*r).or_default() += 1;
    }
    let people = rows
        .into_iter()
        .zip(&ranks)
        .map(|(stats, r)| {
            let r = r.unwrap_or(0);
            let rank = r.max(1) as usize;
            let (mut qualification, checks) = rule.explain(&stats, rank, as_of, &costs.currency);
            let others = tied.get(&r).copied().unwrap_or(1).saturating_sub(1);
            if others > 0 {
                let s = if others == 1 { "" } else { "s" };
                qualification = qualification.replacen(
                    &format!("rank {rank}"),
                    &format!("rank {rank} (tied with {others} other{s})"),
                    1,
                );
            }
            Selected {
                rank,
                stats,
                qualification,
                checks,
            }
        })
        .collect();
    Ok(RuleResult {
        rule: rule.clone(),
        as_of,
        data_version: snap.manifest.data_version.clone(),
        qualifying,
        people,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{test_row, Snapshot};
    use familiar_model::Agency;
    use familiar_store::InteractionRow;

    /// One 911 call per (person, day) on 2025-01-01 + day.
    fn calls(people: &[(&str, u32)]) -> Vec<InteractionRow> {
        let mut rows = Vec::new();
        for (p, n) in people {
            for k in 0..*n {
                let id = rows.len() as i64 + 1;
                let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
                    + chrono::Duration::days(i64::from(k));
                rows.push(test_row(id, "DECC", &format!("E{id}"), day, Some(p)));
            }
        }
        rows
    }

    fn top(people: &[(&str, u32)], limit: usize) -> Vec<(usize, String, u64, String)> {
        let snap = Snapshot::build(&[Agency::new("DECC", "DECC", "")], &calls(people), "t");
        let as_of = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
        let rule = Rule::ranking(None, 1, 365);
        let r = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(evaluate(
                &snap,
                &rule,
                as_of,
                &CostConfig::sample(),
                Some(limit),
            ))
            .unwrap();
        r.people
            .into_iter()
            .map(|p| {
                (
                    p.rank,
                    p.stats.person_id,
                    p.stats.interactions,
                    p.qualification,
                )
            })
            .collect()
    }

    #[test]
    fn people_level_with_the_last_place_are_kept_and_share_its_rank() {
        let people = [
            ("P1", 9),
            ("P2", 7),
            ("P3", 7),
            ("P4", 5),
            ("P5", 5),
            ("P6", 5),
            ("P7", 2),
        ];
        let got = top(&people, 4);
        let ranks: Vec<(usize, &str, u64)> = got
            .iter()
            .map(|(r, p, n, _)| (*r, p.as_str(), *n))
            .collect();
        assert_eq!(
            ranks,
            [
                (1, "P1", 9),
                (2, "P2", 7),
                (2, "P3", 7),
                (4, "P4", 5),
                (4, "P5", 5),
                (4, "P6", 5)
            ]
        );
        assert!(got[0].3.starts_with("rank 1 by"), "{}", got[0].3);
        assert!(
            got[1].3.starts_with("rank 2 (tied with 1 other)"),
            "{}",
            got[1].3
        );
        assert!(
            got[3].3.starts_with("rank 4 (tied with 2 others)"),
            "{}",
            got[3].3
        );
        // a cut that falls between two counts keeps just the limit
        assert_eq!(top(&people, 3).len(), 3);
        assert_eq!(top(&people, 7).len(), 7);
    }

    #[test]
    fn sample_rules_parse() {
        let f = RuleFile::sample();
        assert!(f.get("fuse").is_ok());
        assert!(f
            .get("nope")
            .unwrap_err()
            .to_string()
            .contains("cross-agency"));
    }

    #[test]
    fn bad_rules_are_named() {
        let e = RuleFile::parse(
            "[[rule]]\nname='x'\nversion=1\nmin_by_kind={ jail=4 }\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("r.toml") && e.contains("\"x\"") && e.contains("jail"),
            "{e}"
        );
        let e = RuleFile::parse("[[rule]]\nname='x'\nversion=1\nrank_by='cost'\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rank_by"), "{e}");
    }
}
