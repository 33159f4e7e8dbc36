//! `familiar bench-snapshot` (hidden): write a synthetic snapshot of N interactions in the
//! canonical Parquet schema for the engine benchmark (`scripts/bench.sh engine`), so Familiar
//! and DuckDB read the same files. Not for analysis: the people are random numbers.
//!
//! Heavy-tailed like the real thing (domain notes: a lognormal propensity with sigma ≈ 1.8
//! puts ~30% of interactions on the top 1% of people); 25% of interactions name nobody; 10%
//! name a second person; 2% list the same person twice (two roles).
//!

use std::sync::Arc;

use chrono::NaiveDate;
use familiar_engine::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int16Builder, Int64Builder, RecordBatch, StringBuilder,
};
use familiar_engine::snapshot::{interactions_schema, involvements_schema};
use familiar_engine::{Manifest, Snapshot};
use familiar_model::default_agencies;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

const AGENCIES: [(&str, &str, &str, f64); 5] = [
    ("DECC", "decc_cad", "call_911", 0.40),
    ("DPD", "dpd_rms", "police_incident", 0.25),
    ("DFD", "dfd_runs", "ems_run", 0.20),
    ("DCSD", "dcsd_jail", "jail_booking", 0.05),
    ("HEART", "heart", "crisis_response", 0.10),
];

#[derive(clap::Args)]
pub struct Args {
    /// Directory to write (replaced if it exists).
    pub out: std::path::PathBuf,
    #[arg(long, default_value_t = 10_000_000)]
    pub interactions: usize,
    #[arg(long, default_value_t = 2_000_000)]
    pub people: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let (out, n, people, seed) = (a.out, a.interactions, a.people.max(1), a.seed);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let ln = LogNormal::new(0.0, 1.8).expect("lognormal");
    let mut cum = Vec::with_capacity(people);
    let mut acc = 0.0f64;
    for _ in 0..people {
        acc += ln.sample(&mut rng);
        cum.push(acc);
    }
    let pick = |r: &mut rand_chacha::ChaCha8Rng| -> i64 {
        let x = r.gen::<f64>() * acc;
        cum.partition_point(|c| *c < x).min(people - 1) as i64
    };
    let as_of = NaiveDate::from_ymd_opt(2025, 12, 31).expect("date");
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let last_day = (as_of - epoch).num_days() as i32;
    let batch = 256 * 1024;
    let (mut inter, mut invol) = (Vec::new(), Vec::new());
    let mut involvements = 0u64;
    let mut i = 0usize;
    while i < n {
        let m = batch.min(n - i);
        let (mut id, mut ag, mut src, mut ev, mut kind) = (
            Int64Builder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        let (mut date, mut start, mut end) = (
            Date32Builder::new(),
            Int64Builder::new(),
            Int64Builder::new(),
        );
        let mut incident = StringBuilder::new();
        let (mut lk, mut lt, mut lkind, mut call, mut disp) = (
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        let (mut tr, mut p2) = (BooleanBuilder::new(), BooleanBuilder::new());
        let (mut v_int, mut v_rec, mut v_ag, mut v_kind, mut v_date) = (
            Int64Builder::new(),
            Int64Builder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            Date32Builder::new(),
        );
        let mut v_aix = Int16Builder::new();
        let (mut v_p, mut v_pid, mut v_role) = (
            Int64Builder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        let (mut mh, mut su, mut hi, mut vp2) = (
            BooleanBuilder::new(),
            BooleanBuilder::new(),
            BooleanBuilder::new(),
            BooleanBuilder::new(),
        );
        for k in 0..m {
            let iid = (i + k) as i64;
            let u: f64 = rng.gen();
            let mut c = 0.0;
            let ax = AGENCIES
                .iter()
                .position(|a| {
                    c += a.3;
                    u < c
                })
                .unwrap_or(0);
            let a = &AGENCIES[ax];
            let d = last_day - rng.gen_range(0..730);
            let t = i64::from(d) * 86400 + rng.gen_range(0..86400);
            id.append_value(iid);
            ag.append_value(a.0);
            src.append_value(a.1);
            ev.append_value(format!("E{iid}"));
            kind.append_value(a.2);
            date.append_value(d);
            start.append_value(t);
            end.append_option((a.2 == "jail_booking").then(|| t + rng.gen_range(3600..20 * 86400)));
            let place = rng.gen_range(0..200_000);
            lk.append_value(format!("{place} MAIN"));
            lt.append_value(format!("{place} Main St"));
            lkind.append_value("street");
            call.append_value(["welfare check", "disturbance", "medical", "trespass"][place % 4]);
            disp.append_null();
            incident.append_null();
            tr.append_option((a.2 == "ems_run").then(|| rng.gen_bool(0.6)));
            p2.append_value(false);
            let named = rng.gen_bool(0.75);
            let mut parties: Vec<Option<i64>> = vec![named.then(|| pick(&mut rng))];
            if named && rng.gen_bool(0.10) {
                parties.push(Some(pick(&mut rng)));
            }
            if named && rng.gen_bool(0.02) {
                parties.push(parties[0]);
            }
            for p in parties {
                involvements += 1;
                v_int.append_value(iid);
                v_rec.append_value(involvements as i64);
                v_ag.append_value(a.0);
                v_aix.append_value(ax as i16);
                v_kind.append_value(a.2);
                v_date.append_value(d);
                v_p.append_option(p);
                v_pid.append_option(p.map(|p| format!("P{p:07}")));
                v_role.append_value("subject");
                mh.append_value(p.is_some_and(|p| p % 7 == 0));
                su.append_value(p.is_some_and(|p| p % 11 == 0));
                hi.append_value(p.is_some_and(|p| p % 13 == 0));
                vp2.append_value(false);
            }
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(ag.finish()),
            Arc::new(src.finish()),
            Arc::new(ev.finish()),
            Arc::new(kind.finish()),
            Arc::new(date.finish()),
            Arc::new(start.finish()),
            Arc::new(end.finish()),
            Arc::new(lk.finish()),
            Arc::new(lt.finish()),
            Arc::new(lkind.finish()),
            Arc::new(call.finish()),
            Arc::new(disp.finish()),
            Arc::new(incident.finish()),
            Arc::new(tr.finish()),
            Arc::new(p2.finish()),
        ];
        inter.push(RecordBatch::try_new(interactions_schema(), cols).expect("interactions"));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(v_int.finish()),
            Arc::new(v_rec.finish()),
            Arc::new(v_ag.finish()),
            Arc::new(v_aix.finish()),
            Arc::new(v_kind.finish()),
            Arc::new(v_date.finish()),
            Arc::new(v_p.finish()),
            Arc::new(v_pid.finish()),
            Arc::new(v_role.finish()),
            Arc::new(mh.finish()),
            Arc::new(su.finish()),
            Arc::new(hi.finish()),
            Arc::new(vp2.finish()),
        ];
        invol.push(RecordBatch::try_new(involvements_schema(), cols).expect("involvements"));
        i += m;
    }
    let manifest = Manifest {
        schema_version: familiar_engine::snapshot::SNAPSHOT_SCHEMA_VERSION,
        data_version: format!("gen_snapshot n={n} people={people} seed={seed}"),
        interactions: n as u64,
        involvements,
        latest: Some(as_of),
    };
    Snapshot::from_batches(manifest, inter, invol, &default_agencies()).write(&out)?;
    println!(
        "{}: {n} interactions, {involvements} involvements, {people} people",
        out.display()
    );
    Ok(())
}
