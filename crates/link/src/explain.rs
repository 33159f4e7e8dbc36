//! The match-weight waterfall of one pair: prior, each comparison's level and weight (with the
//! term-frequency adjustment), total weight and probability.

use crate::linker::Linker;
use crate::model::{level_of, probability};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub comparison: String,
    pub left_value: Option<String>,
    pub right_value: Option<String>,
    /// Level index (0 = null) and its label.
    pub level: u8,
    pub level_label: String,
    pub m: Option<f64>,
    pub u: Option<f64>,
    /// log2(m/u) of the level (0 for null).
    pub weight: f64,
    /// Added to `weight`: the term-frequency adjustment of an exact match, or what caps a
    /// `swapped` match at the exact weight of the same value (≤ 0).
    pub tf_adjustment: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub left: String,
    pub right: String,
    pub prior_weight: f64,
    pub terms: Vec<Term>,
    pub total_weight: f64,
    pub probability: f64,
}

pub fn explain(l: &Linker, a: u32, b: u32) -> Explanation {
    let w = l.weights.as_ref().expect("train() before explain");
    let params = l.params.as_ref().expect("train() before explain");
    let v = l.cmp.vector(&l.table, a, b);
    let prior = w.prior_of(&l.table.source, a, b);
    let mut total = prior;
    let terms = l
        .cmp
        .comps
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let lv = level_of(v, ci);
            let weight = w.w[ci][lv];
            let tf = w.adjustment(c, ci, lv as u8, || (l.cmp.code(ci, a), l.cmp.code(ci, b)));
            total += weight + tf;
            let col = &l.table.columns[c.col];
            let (m, u) = if lv == 0 {
                (None, None)
            } else {
                let p = &params.comparisons[ci].levels[lv - 1];
                (Some(p.m), Some(p.u))
            };
            Term {
                comparison: c.name.clone(),
                left_value: col.value(a as usize).map(str::to_string),
                right_value: col.value(b as usize).map(str::to_string),
                level: lv as u8,
                level_label: c.labels[lv].clone(),
                m,
                u,
                weight,
                tf_adjustment: tf,
            }
        })
        .collect();
    Explanation {
        left: l.table.record_label(a as usize),
        right: l.table.record_label(b as usize),
        prior_weight: prior,
        terms,
        total_weight: total,
        probability: probability(total),
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}  vs  {}", self.left, self.right)?;
        writeln!(
            f,
            "{:<18} {:<22} {:<22} {:<22} {:>8} {:>7} {:>8}",
            "comparison", "left", "right", "level", "weight", "tf", "running"
        )?;
        let mut run = self.prior_weight;
        writeln!(
            f,
            "{:<18} {:<22} {:<22} {:<22} {:>8.2} {:>7} {:>8.2}",
            "prior (λ)", "", "", "", self.prior_weight, "", run
        )?;
        let cut = |s: &Option<String>| -> String {
            let s = s.as_deref().unwrap_or("∅");
            if s.chars().count() > 21 {
                let mut t: String = s.chars().take(20).collect();
                t.push('…');
                t
            } else {
                s.to_string()
            }
        };
        for t in &self.terms {
            run += t.weight + t.tf_adjustment;
            let tf = if t.tf_adjustment != 0.0 {
                format!("{:+.2}", t.tf_adjustment)
            } else {
                String::new()
            };
            writeln!(
                f,
                "{:<18} {:<22} {:<22} {:<22} {:>8.2} {:>7} {:>8.2}",
                t.comparison,
                cut(&t.left_value),
                cut(&t.right_value),
                t.level_label,
                t.weight,
                tf,
                run
            )?;
        }
        writeln!(
            f,
            "total match weight {:.2}  →  match probability {:.6}",
            self.total_weight, self.probability
        )
    }
}
