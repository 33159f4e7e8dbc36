//! Aggregate statistics of a synthetic county (no names are printed).
//! `cargo run --release -p familiar-synth --example synth_stats -- PEOPLE DAYS SEED [OUT]`

use chrono::{Datelike, Duration};
use familiar_synth::sim::{Ag, Sub};
use familiar_synth::{truth, SynthOptions};
use std::collections::BTreeMap;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let people = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let days = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(730);
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let opts = SynthOptions {
        people,
        days,
        seed,
        ..Default::default()
    };
    let t0 = Instant::now();
    let c = familiar_synth::simulate(&opts).unwrap();
    println!("simulate: {:.2?}", t0.elapsed());
    if let Some(out) = args.get(4) {
        let t1 = Instant::now();
        let s = familiar_synth::write_county(&c, &opts, std::path::Path::new(out)).unwrap();
        println!(
            "write: {:.2?}; bad rows {}; interactions {}",
            t1.elapsed(),
            s.bad_rows,
            s.interactions
        );
        for (src, p, n) in &s.files {
            println!("  {src:16} {n:>9} {}", p.display());
        }
    }
    let years = f64::from(days) / 365.0;
    let scale = f64::from(people) / 330_000.0;
    let live: Vec<_> = c.events.iter().filter(|e| !e.dead).collect();
    for ag in Ag::ALL {
        let n = live.iter().filter(|e| e.ag == ag).count() as f64;
        let named = live
            .iter()
            .filter(|e| e.ag == ag && !e.parties().is_empty())
            .count() as f64;
        let rows: usize = live
            .iter()
            .filter(|e| e.ag == ag)
            .map(|e| e.parties().len().max(1))
            .sum();
        println!(
            "{:6} per year {:>9.0} (Durham-scale {:>8.0}); named {:.1}%; rows {}",
            ag.code(),
            n / years,
            n / years / scale,
            100.0 * named / n.max(1.0),
            rows
        );
    }
    let arrests = live.iter().filter(|e| e.sub == Sub::Arrest).count() as f64;
    println!(
        "DPD arrests per year (Durham scale) {:.0}",
        arrests / years / scale
    );
    let as_of = c.end;
    let m = truth::expected_measures(&c, as_of, 365, &[5, 10, 20, 40]);
    println!("by_agency {:?}", m.by_agency);
    println!("all {:?}", m.all_agencies);
    println!("people {:?}", m.people);
    println!("share {:?}", m.share);
    let heart_durham: Vec<f64> = ["5", "10", "20", "40"]
        .iter()
        .map(|k| m.by_agency["HEART"][*k] as f64 / scale)
        .collect();
    println!("HEART tail at Durham scale (seed 74/19/8/4): {heart_durham:.1?}");

    // top 1% share of person-interactions in the last year
    let cnt = truth::counts(&c, as_of, 365);
    let mut tot: Vec<u32> = (0..c.people.len()).map(|i| cnt.total(i)).collect();
    tot.sort_unstable_by(|a, b| b.cmp(a));
    let sum: u64 = tot.iter().map(|&x| u64::from(x)).sum();
    let top1: u64 = tot[..c.people.len() / 100]
        .iter()
        .map(|&x| u64::from(x))
        .sum();
    let top5: u64 = tot[..c.people.len() / 20]
        .iter()
        .map(|&x| u64::from(x))
        .sum();
    println!(
        "person-interactions last year {sum} ({:.2}/resident); top1% share {:.3}; top5% {:.3}; max {}",
        sum as f64 / people as f64,
        top1 as f64 / sum as f64,
        top5 as f64 / sum as f64,
        tot[0]
    );
    // regression to the mean
    if days >= 730 {
        let prev = truth::counts(&c, as_of - Duration::days(365), 365);
        let n1 = c.people.len() / 100;
        let mut idx: Vec<usize> = (0..c.people.len()).collect();
        idx.sort_by_key(|&i| (std::cmp::Reverse(prev.total(i)), i));
        let top_prev: Vec<usize> = idx[..n1].to_vec();
        idx.sort_by_key(|&i| (std::cmp::Reverse(cnt.total(i)), i));
        let top_now: std::collections::BTreeSet<usize> = idx[..n1].iter().copied().collect();
        let stay = top_prev.iter().filter(|i| top_now.contains(i)).count();
        let before: u64 = top_prev.iter().map(|&i| u64::from(prev.total(i))).sum();
        let after: u64 = top_prev.iter().map(|&i| u64::from(cnt.total(i))).sum();
        println!(
            "top 1% last-but-one year: {:.0}% still top 1%; their interactions fell {:.0}%",
            100.0 * stay as f64 / n1 as f64,
            100.0 * (1.0 - after as f64 / before as f64)
        );
    }
    // super caller month
    if let Some(sc) = c.super_caller {
        let mut months: BTreeMap<(i32, u32), u32> = BTreeMap::new();
        for e in live
            .iter()
            .filter(|e| e.ag == Ag::Decc && e.parties().iter().any(|p| p.person == sc))
        {
            *months.entry((e.t.year(), e.t.month())).or_default() += 1;
        }
        println!(
            "super caller max calls in a month {:?}; DECC last year {}",
            months.values().max(),
            cnt.per_person[sc as usize][0]
        );
    }
    for &fb in &c.frequent_bookers {
        println!(
            "frequent booker bookings last year {}",
            cnt.per_person[fb as usize][3]
        );
    }
    let dozen = cnt.per_person.iter().filter(|x| x[3] >= 12).count();
    println!("people booked 12+ times last year: {dozen}");
    // jail stays
    let stays: Vec<f64> = live
        .iter()
        .filter(|e| e.ag == Ag::Dcsd)
        .filter_map(|e| e.end.map(|r| (r - e.t).num_minutes() as f64 / 1440.0))
        .collect();
    let mut s2 = stays.clone();
    s2.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "jail stays: mean {:.1} d, median {:.1} d, share <= 2 d {:.2}",
        stays.iter().sum::<f64>() / stays.len().max(1) as f64,
        s2.get(s2.len() / 2).copied().unwrap_or(0.0),
        stays.iter().filter(|&&d| d <= 2.0).count() as f64 / stays.len().max(1) as f64
    );
    // group home
    let gh = c.geo.group_home;
    let nine = as_of - Duration::days(273);
    let gh_calls = live
        .iter()
        .filter(|e| e.ag == Ag::Decc && e.t.date() > nine)
        .filter(|e| matches!(e.loc, familiar_synth::geo::Loc::Premise { id, .. } if id == gh))
        .count();
    println!("group home DECC calls in last 9 months: {gh_calls}");
}
