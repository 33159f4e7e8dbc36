//! Ground truth, computed independently of any ingest code: the key measures, top people, top
//! places, the people themselves, and the list of bad rows.

use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use familiar_model::measures::{in_window, round_share, KeyMeasures, ALL_AGENCIES};

use crate::agencies::person_id;
use crate::badrows::BadRow;
use crate::geo::{AddrStyle, Loc};
use crate::population::{surname_string, Home, NEED_HOUSING, NEED_MH, NEED_SU};
use crate::sim::{Ag, County};

/// Per-person interaction counts by agency (index = `Ag::idx`) in the window.
pub struct Counts {
    pub per_person: Vec<[u32; 5]>,
}

impl Counts {
    pub fn total(&self, i: usize) -> u32 {
        self.per_person[i].iter().sum()
    }
}

/// Count each person's distinct interactions per agency with local start date in the window.
pub fn counts(county: &County, as_of: NaiveDate, window: u32) -> Counts {
    let mut per_person = vec![[0u32; 5]; county.people.len()];
    for e in county.events.iter().filter(|e| !e.dead) {
        if !in_window(e.t.date(), as_of, window) {
            continue;
        }
        for p in e.parties() {
            per_person[p.person as usize][e.ag.idx()] += 1;
        }
    }
    Counts { per_person }
}

/// The key-measures table following `familiar_model::measures`' counting rules.
pub fn expected_measures(
    county: &County,
    as_of: NaiveDate,
    window: u32,
    thresholds: &[u32],
) -> KeyMeasures {
    let c = counts(county, as_of, window);
    let n = county.people.len();
    let totals: Vec<u32> = (0..n).map(|i| c.total(i)).collect();

    let mut by_agency = BTreeMap::new();
    let mut people = BTreeMap::new();
    let mut interactions: BTreeMap<String, u64> = BTreeMap::new();
    let mut share = BTreeMap::new();
    for ag in Ag::ALL {
        let a = ag.idx();
        let mut row = BTreeMap::new();
        for &k in thresholds {
            let q = c.per_person.iter().filter(|x| x[a] >= k).count() as u64;
            row.insert(k.to_string(), q);
        }
        by_agency.insert(ag.code().to_string(), row);
        people.insert(
            ag.code().to_string(),
            c.per_person.iter().filter(|x| x[a] >= 1).count() as u64,
        );
    }
    let mut all = BTreeMap::new();
    for &k in thresholds {
        all.insert(
            k.to_string(),
            totals.iter().filter(|&&t| t >= k).count() as u64,
        );
    }
    people.insert(
        ALL_AGENCIES.to_string(),
        totals.iter().filter(|&&t| t >= 1).count() as u64,
    );

    // Shares: interactions involving at least one person at/above the threshold.
    let mut hits = [[0u64; 8]; 6];
    let mut inter = [0u64; 6];
    for e in county.events.iter().filter(|e| !e.dead) {
        if !in_window(e.t.date(), as_of, window) {
            continue;
        }
        let a = e.ag.idx();
        inter[a] += 1;
        inter[5] += 1;
        for (ti, &k) in thresholds.iter().enumerate().take(8) {
            if e.parties()
                .iter()
                .any(|p| c.per_person[p.person as usize][a] >= k)
            {
                hits[a][ti] += 1;
            }
            if e.parties().iter().any(|p| totals[p.person as usize] >= k) {
                hits[5][ti] += 1;
            }
        }
    }
    let keys: Vec<String> = Ag::ALL
        .iter()
        .map(|a| a.code().to_string())
        .chain(std::iter::once(ALL_AGENCIES.to_string()))
        .collect();
    for (a, key) in keys.iter().enumerate() {
        interactions.insert(key.clone(), inter[a]);
        let mut row = BTreeMap::new();
        for (ti, &k) in thresholds.iter().enumerate().take(8) {
            let s = if inter[a] == 0 {
                0.0
            } else {
                round_share(hits[a][ti] as f64 / inter[a] as f64)
            };
            row.insert(k.to_string(), s);
        }
        share.insert(key.clone(), row);
    }
    KeyMeasures {
        as_of,
        window_days: window,
        thresholds: thresholds.to_vec(),
        by_agency,
        all_agencies: all,
        interactions,
        people,
        share,
    }
}

fn create(path: &Path) -> io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(1 << 16, File::create(path)?))
}

/// Quote a CSV field when needed.
fn q(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn write_top_people(
    path: &Path,
    county: &County,
    as_of: NaiveDate,
    window: u32,
    limit: usize,
) -> io::Result<()> {
    let c = counts(county, as_of, window);
    let mut idx: Vec<usize> = (0..county.people.len())
        .filter(|&i| c.total(i) > 0)
        .collect();
    // ids sort like indexes (zero-padded), so ties break by person id
    idx.sort_by_key(|&i| (std::cmp::Reverse(c.total(i)), i));
    let mut w = create(path)?;
    writeln!(w, "rank,person_id,interactions,decc,dpd,dfd,dcsd,heart")?;
    for (r, &i) in idx.iter().take(limit).enumerate() {
        let x = c.per_person[i];
        writeln!(
            w,
            "{},{},{},{},{},{},{},{}",
            r + 1,
            person_id(i as u32),
            c.total(i),
            x[0],
            x[1],
            x[2],
            x[3],
            x[4]
        )?;
    }
    w.flush()
}

/// Premises ranked by DECC calls in the window; distinct people = true persons named on any
/// agency's record located at the premise in the window.
pub fn write_top_addresses(
    path: &Path,
    county: &County,
    as_of: NaiveDate,
    window: u32,
    limit: usize,
) -> io::Result<()> {
    let mut calls: BTreeMap<u32, u64> = BTreeMap::new();
    let mut people: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for e in county.events.iter().filter(|e| !e.dead) {
        if !in_window(e.t.date(), as_of, window) {
            continue;
        }
        if let Loc::Premise { id, .. } = e.loc {
            if e.ag == Ag::Decc {
                *calls.entry(id).or_default() += 1;
            }
            if e.ag != Ag::Dcsd {
                people
                    .entry(id)
                    .or_default()
                    .extend(e.parties().iter().map(|p| p.person));
            }
        }
    }
    let mut rows: Vec<(u64, String, usize, &'static str)> = calls
        .iter()
        .map(|(&id, &n)| {
            let kind = county.geo.premise(id).kind.as_str();
            let distinct = people.get(&id).map_or(0, |s| s.len());
            (n, county.geo.premise_key(id), distinct, kind)
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut w = create(path)?;
    writeln!(w, "rank,address,responses,distinct_people,kind")?;
    for (r, (n, addr, d, kind)) in rows.iter().take(limit).enumerate() {
        writeln!(w, "{},{},{},{},{}", r + 1, q(addr), n, d, kind)?;
    }
    w.flush()
}

pub fn write_people(path: &Path, county: &County) -> io::Result<()> {
    let mut w = create(path)?;
    writeln!(
        w,
        "person_id,first_name,middle_name,last_name,suffix,dob,sex,race,hispanic,home_address,\
         phone,ssn_last4,mental_health,substance_use,housing_instability,former_surname,\
         surname_changed_on,twin_of,household,persona"
    )?;
    let mut addr = String::new();
    let mut rng = rand::rngs::mock::StepRng::new(0, 0);
    for (i, p) in county.people.iter().enumerate() {
        addr.clear();
        match p.home {
            Home::At(l) => county.geo.write_loc(&mut addr, l, AddrStyle::Cad, &mut rng),
            Home::Street => addr.push_str("HOMELESS"),
        }
        let (former, changed) = match p.maiden {
            Some((s, d)) => (p.legal_owned(&surname_string(s)), d.to_string()),
            None => (String::new(), String::new()),
        };
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{:04},{},{},{},{},{},{},{},{:?}",
            person_id(i as u32),
            q(&p.legal(p.first)),
            q(&p.middle.map(|m| p.legal(m)).unwrap_or_default()),
            q(&p.legal_owned(&surname_string(p.last))),
            p.suffix.unwrap_or(""),
            p.dob,
            p.sex.code(),
            p.race.code(),
            if p.hispanic { "Y" } else { "N" },
            q(&addr),
            p.phone.map(|x| x.to_string()).unwrap_or_default(),
            p.ssn4,
            p.has(NEED_MH) as u8,
            p.has(NEED_SU) as u8,
            p.has(NEED_HOUSING) as u8,
            q(&former),
            changed,
            p.twin_of.map(person_id).unwrap_or_default(),
            p.household,
            p.persona,
        )?;
    }
    w.flush()
}

pub fn write_bad_rows(path: &Path, bad: &[BadRow]) -> io::Result<()> {
    let mut w = create(path)?;
    writeln!(w, "source,line,kind,file")?;
    for b in bad {
        writeln!(
            w,
            "{},{},{},{}",
            b.source,
            b.line,
            b.kind.as_str(),
            q(&b.file)
        )?;
    }
    w.flush()
}
