//! One module per agency export, each in its own native shape, plus the plumbing they share:
//! write order, record numbering (bad rows take numbers too, as in real exports), the record map.

use chrono::Datelike;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use familiar_model::mapping::SourceDef;

use crate::badrows::{self, BadKind, BadRow};
use crate::population::{Home, Person};
use crate::sim::{Ag, County, NONE};

pub mod dcsd;
pub mod decc;
pub mod dfd;
pub mod dpd;
pub mod heart;

/// Write order and numbers of one agency's events.
pub struct Plan {
    /// Event ids in write order (by local start, then id).
    pub order: Vec<u32>,
    /// Sequence number (per calendar year) of each event in `order`.
    pub seq: Vec<u32>,
    /// A bad row after the event at this position, and the number it takes (0 = none).
    pub bad: Vec<Option<(BadKind, u32)>>,
}

pub fn plan(county: &County, ag: Ag, kinds: &[BadKind], seed: u64) -> Plan {
    let mut order: Vec<u32> = county
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.ag == ag && !e.dead)
        .map(|(i, _)| i as u32)
        .collect();
    order.sort_by_key(|&i| (county.events[i as usize].t, i));
    let rows: usize = order
        .iter()
        .map(|&i| {
            let e = &county.events[i as usize];
            if ag == Ag::Dpd {
                e.parties().len().max(1)
            } else {
                1
            }
        })
        .sum();
    let mut rng = rng_for(seed, 100 + ag.idx() as u64);
    let slots = badrows::plan(&mut rng, order.len(), rows, kinds);
    let mut seq = Vec::with_capacity(order.len());
    let mut bad = Vec::with_capacity(order.len());
    let mut year = i32::MIN;
    let mut next = 1u32;
    for (k, &i) in order.iter().enumerate() {
        let y = county.events[i as usize].t.year();
        if y != year {
            year = y;
            next = 1;
        }
        seq.push(next);
        next += 1;
        bad.push(slots[k].map(|kind| {
            if kind == BadKind::Duplicate {
                (kind, 0)
            } else {
                next += 1;
                (kind, next - 1)
            }
        }));
    }
    Plan { order, seq, bad }
}

/// Everything a writer needs.
pub struct Ctx<'a> {
    pub county: &'a County,
    pub plans: &'a [Plan],
    /// Position of each event within its agency's plan.
    pub pos: &'a [u32],
    pub dir: &'a Path,
    pub seed: u64,
}

impl<'a> Ctx<'a> {
    pub fn seq_of(&self, eid: u32) -> u32 {
        let e = &self.county.events[eid as usize];
        self.plans[e.ag.idx()].seq[self.pos[eid as usize] as usize]
    }

    /// The 911 call number of a related DECC event ("" when none).
    pub fn cad_no(&self, link: u32) -> String {
        if link == NONE {
            return String::new();
        }
        let e = &self.county.events[link as usize];
        if e.ag != Ag::Decc || e.dead {
            return String::new();
        }
        decc::call_no(e.t.year(), self.seq_of(link))
    }

    pub fn person(&self, i: u32) -> &'a Person {
        &self.county.people[i as usize]
    }

    pub fn create_dir(&self, sub: &str) -> io::Result<PathBuf> {
        let d = self.dir.join(sub);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }
}

pub fn position_index(county: &County, plans: &[Plan]) -> Vec<u32> {
    let mut pos = vec![u32::MAX; county.events.len()];
    for p in plans {
        for (k, &i) in p.order.iter().enumerate() {
            pos[i as usize] = k as u32;
        }
    }
    pos
}

pub fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// What one source's writer produced.
pub struct SourceOut {
    pub def: SourceDef,
    /// (path relative to the output folder, data rows written incl. bad rows)
    pub files: Vec<(String, u64)>,
    pub bad: Vec<BadRow>,
}

/// Streams `truth/record_map.csv`.
pub struct RecordMap {
    out: BufWriter<File>,
    pub lines: u64,
}

impl RecordMap {
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(b"source,record_key,person_id\n")?;
        Ok(RecordMap { out, lines: 0 })
    }

    pub fn add(&mut self, source: &str, key: &str, person: u32) -> io::Result<()> {
        debug_assert!(!key.contains(',') && !key.contains('"'));
        writeln!(self.out, "{source},{key},{}", person_id(person))?;
        self.lines += 1;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The true person id written to truth files.
pub fn person_id(i: u32) -> String {
    format!("T{:06}", i + 1)
}

/// How a person's home is written when they have none.
pub fn homeless_word(salt: u32) -> &'static str {
    ["HOMELESS", "TRANSIENT", "NO FIXED ADDRESS", "HOMELESS"][(salt % 4) as usize]
}

pub fn is_unhoused(p: &Person, county: &County) -> bool {
    match p.home {
        Home::Street => true,
        Home::At(crate::geo::Loc::Premise { id, .. }) => {
            county.geo.premise(id).kind == crate::geo::PremiseKind::Shelter
        }
        _ => false,
    }
}

/// Rel path string with forward slashes.
pub fn rel(sub: &str, file: &str) -> String {
    format!("{sub}/{file}")
}
