//! The synthetic county: agency exports in native shapes, `sources.toml` and truth files.
//!
//! [`generate`] builds a Durham-like county of `people` residents over `days` days ending on
//! `end_date`, and writes into the output folder:
//!
//! - each agency's export in its own shape (see [`agencies`]): `decc/cad_calls_YYYY.csv`
//!   (UTF-8 CSV, RFC 3339 times), `dpd/rms_persons_export.txt` (pipe-delimited windows-1252,
//!   `MM/DD/YYYY HH:MM`), `dfd/ems_fire_runs_YYYY.csv` (CSV, `YYYYMMDD` + `HHMM`),
//!   `dcsd/jail_bookings.xlsx` (Excel date cells), `heart/heart_responses.jsonl` (epoch seconds);
//! - `sources.toml`, the mapping ingest reads ([`familiar_model::mapping::SourcesConfig`]);
//! - `truth/`: `record_map.csv`, `bad_rows.csv`, `expected_measures.json`, `top_people.csv`,
//!   `top_addresses.csv`, `people.csv`.
//!
//! Output is a pure function of the options: same options, byte-identical files.

use chrono::{Duration, NaiveDate};
use rand::Rng;
use std::io;
use std::path::{Path, PathBuf};

use familiar_model::mapping::SourcesConfig;
use familiar_model::measures::{DEFAULT_THRESHOLDS, DEFAULT_WINDOW_DAYS};

pub mod agencies;
pub mod badrows;
pub mod codes;
pub mod geo;
pub mod names;
pub mod noise;
pub mod population;
pub mod sim;
pub mod timefmt;
pub mod truth;
pub mod writers;

use agencies::{Ctx, RecordMap, SourceOut};
use sim::{Ag, County};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    /// Residents (Durham ≈ 330,000).
    pub people: u32,
    /// Days of data, ending on `end_date` (inclusive).
    pub days: u32,
    pub end_date: NaiveDate,
    pub seed: u64,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            people: 20_000,
            days: 730,
            end_date: NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date"),
            seed: 1,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSummary {
    pub people: u32,
    /// (source name, file path, data rows written including bad rows)
    pub files: Vec<(String, PathBuf, u64)>,
    /// Rows ingest must reject or count as duplicates.
    pub bad_rows: u64,
    /// Distinct interactions (good events) across all agencies.
    pub interactions: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("invalid synth options: {0}")]
    InvalidOptions(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot serialize sources.toml: {0}")]
    Toml(#[from] toml::ser::Error),
    #[error("cannot serialize expected measures: {0}")]
    Json(#[from] serde_json::Error),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Smallest county that still has room for the scripted cases.
pub const MIN_PEOPLE: u32 = 200;

/// Build the county in memory (no files). Deterministic in the options.
pub fn simulate(opts: &SynthOptions) -> Result<County, SynthError> {
    if opts.people < MIN_PEOPLE {
        return Err(SynthError::InvalidOptions(format!(
            "people must be at least {MIN_PEOPLE} (got {})",
            opts.people
        )));
    }
    if opts.days == 0 || opts.days > 3660 {
        return Err(SynthError::InvalidOptions(format!(
            "days must be between 1 and 3660 (got {})",
            opts.days
        )));
    }
    let end = opts.end_date;
    let start = end - Duration::days(i64::from(opts.days) - 1);
    let names = names::Names::new();
    let mut geo = geo::Geo::new();
    let mut rng = agencies::rng_for(opts.seed, 1);
    let mut pop = population::build(&mut rng, &names, &mut geo, opts.people, start, end);
    let scale = f64::from(opts.people) / sim::DURHAM_PEOPLE;
    let fb = ((7.0 * scale).round() as u32).max(1);
    // crisis regulars: ~40 at Durham scale, proportionally fewer (randomly rounded) below
    let cr_exact = 40.0 * scale;
    let cr = cr_exact.floor() as u32 + u32::from(rng.gen_bool(cr_exact.fract()));
    let cast = population::assign_personas(&mut rng, &mut pop, &mut geo, end, fb, cr);
    let mut rng = agencies::rng_for(opts.seed, 2);
    Ok(sim::simulate(&mut rng, pop, geo, (start, end), cast))
}

/// Generate the county and write every file into `out_dir`.
pub fn generate(opts: &SynthOptions, out_dir: &Path) -> Result<SynthSummary, SynthError> {
    let county = simulate(opts)?;
    write_county(&county, opts, out_dir)
}

/// Remove our own year-split files left by an earlier run (they would match the globs).
fn remove_stale(out_dir: &Path) -> Result<(), SynthError> {
    for (sub, prefix) in [("decc", "cad_calls_"), ("dfd", "ems_fire_runs_")] {
        let d = out_dir.join(sub);
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(prefix) && name.ends_with(".csv") {
                std::fs::remove_file(entry.path()).map_err(io_at(&entry.path()))?;
            }
        }
    }
    Ok(())
}

pub fn write_county(
    county: &County,
    opts: &SynthOptions,
    out_dir: &Path,
) -> Result<SynthSummary, SynthError> {
    std::fs::create_dir_all(out_dir).map_err(io_at(out_dir))?;
    remove_stale(out_dir)?;
    let truth = out_dir.join("truth");
    std::fs::create_dir_all(&truth).map_err(io_at(&truth))?;

    let kinds: [&[badrows::BadKind]; 5] = [
        badrows::CSV_UTF8,
        badrows::CSV_SINGLE_BYTE,
        badrows::CSV_UTF8,
        badrows::XLSX,
        badrows::JSONL,
    ];
    let plans: Vec<agencies::Plan> = Ag::ALL
        .iter()
        .map(|&ag| agencies::plan(county, ag, kinds[ag.idx()], opts.seed))
        .collect();
    let pos = agencies::position_index(county, &plans);
    let ctx = Ctx {
        county,
        plans: &plans,
        pos: &pos,
        dir: out_dir,
        seed: opts.seed,
    };
    let map_path = truth.join("record_map.csv");
    let mut map = RecordMap::create(&map_path).map_err(io_at(&map_path))?;
    type Writer = fn(&Ctx, &mut RecordMap) -> io::Result<SourceOut>;
    let writers: [(&str, Writer); 5] = [
        ("decc", agencies::decc::write),
        ("dpd", agencies::dpd::write),
        ("dfd", agencies::dfd::write),
        ("dcsd", agencies::dcsd::write),
        ("heart", agencies::heart::write),
    ];
    let mut outs = Vec::new();
    for (sub, w) in writers {
        let p = out_dir.join(sub);
        outs.push(w(&ctx, &mut map).map_err(io_at(&p))?);
    }
    map.finish().map_err(io_at(&map_path))?;

    // sources.toml
    let config = SourcesConfig {
        timezone: Some(timefmt::TZ_NAME.to_string()),
        agencies: vec![],
        sources: outs.iter().map(|o| o.def.clone()).collect(),
    };
    let header = format!(
        "# Generated by `familiar synth` (people = {}, days = {}, end date = {}, seed = {}).\n\
         # Paths are relative to this file. Local times without an offset are America/New_York.\n\
         # The jail workbook stores dates as Excel serial date-times (format \"excel\").\n\n",
        opts.people, opts.days, opts.end_date, opts.seed
    );
    let toml_path = out_dir.join("sources.toml");
    std::fs::write(&toml_path, header + &toml::to_string(&config)?).map_err(io_at(&toml_path))?;

    // truth
    let bad: Vec<badrows::BadRow> = outs.iter().flat_map(|o| o.bad.iter().cloned()).collect();
    let p = truth.join("bad_rows.csv");
    truth::write_bad_rows(&p, &bad).map_err(io_at(&p))?;
    let (window, as_of) = (DEFAULT_WINDOW_DAYS, opts.end_date);
    let m = truth::expected_measures(county, as_of, window, &DEFAULT_THRESHOLDS);
    let p = truth.join("expected_measures.json");
    std::fs::write(&p, serde_json::to_string_pretty(&m)? + "\n").map_err(io_at(&p))?;
    let p = truth.join("top_people.csv");
    truth::write_top_people(&p, county, as_of, window, 100).map_err(io_at(&p))?;
    let p = truth.join("top_addresses.csv");
    truth::write_top_addresses(&p, county, as_of, window, 50).map_err(io_at(&p))?;
    let p = truth.join("people.csv");
    truth::write_people(&p, county).map_err(io_at(&p))?;

    let files = outs
        .iter()
        .flat_map(|o| {
            o.files
                .iter()
                .map(|(f, n)| (o.def.name.clone(), out_dir.join(f), *n))
        })
        .collect();
    Ok(SynthSummary {
        people: opts.people,
        files,
        bad_rows: bad.len() as u64,
        interactions: county.events.iter().filter(|e| !e.dead).count() as u64,
    })
}
