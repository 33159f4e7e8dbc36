//! `familiar ingest`: mapping file → validated → every row read, mapped, and either stored,
//! quarantined, or counted as a duplicate — all in one transaction.
//!
//! Reading and mapping run on a blocking thread; batches cross a bounded channel to the writer,
//! so parsing and SQLite writes overlap on two cores. The writer decides duplicate / new
//! version against the source's key map and writes each batch in place (the store borrows the
//! rows); written batches go to a third thread that frees them (`Recycler`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use familiar_ingest::{LoadedConfig, RowOutcome};
use familiar_store::{
    AccessStore, FileMeta, IngestTx, KnownVersion, NewRecord, QuarantineRow, RowCounts, Store,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(clap::Args)]
pub struct Args {
    /// The mapping file describing each agency export.
    #[arg(long)]
    pub config: PathBuf,
    /// Print a machine-readable summary.
    #[arg(long)]
    pub json: bool,
    /// Read and map every row without touching the store: per source, what would be accepted
    /// and rejected (by kind, with the first rejected rows and why), repeated keys within the
    /// files, and the values left empty with a warning. For onboarding a new export.
    #[arg(long)]
    pub check: bool,
    /// Also write this run's rejected rows (source, line, kind, field, why, and the raw row) to
    /// FILE as CSV, created for the owner only. They name people: the store keeps them sealed
    /// either way, and `familiar rejects` writes them out later.
    #[arg(long, value_name = "FILE", conflicts_with = "check")]
    pub rejects_out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct RejectsArgs {
    /// Only the rows one ingest run rejected (its run number; default: every run's).
    #[arg(long)]
    pub run: Option<i64>,
    /// Write the CSV here (created for the owner only) instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Rows sent from the reader thread per channel message (and written per insert call).
const READ_BATCH: usize = 4096;

/// Where written batches go to be dropped: a thread of their own, so that neither the reader nor
/// the writer (each with a core of its own) spends its time freeing rows; the emptied vectors
/// come back to the reader for reuse.
struct Recycler {
    send: Option<std::sync::mpsc::Sender<Vec<RowOutcome>>>,
    spares: Arc<std::sync::Mutex<Vec<Vec<RowOutcome>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recycler {
    fn start() -> Result<Recycler> {
        let (send, recv) = std::sync::mpsc::channel::<Vec<RowOutcome>>();
        let spares = Arc::new(std::sync::Mutex::new(Vec::new()));
        let back = Arc::clone(&spares);
        let thread = std::thread::Builder::new()
            .name("ingest-drop".into())
            .spawn(move || {
                for mut batch in recv {
                    batch.clear();
                    let mut spares = back.lock().unwrap_or_else(|e| e.into_inner());
                    if spares.len() < 16 {
                        spares.push(batch);
                    }
                }
            })
            .context("starting the ingest drop thread")?;
        Ok(Recycler {
            send: Some(send),
            spares,
            thread: Some(thread),
        })
    }

    /// A written batch, to be dropped off the hot threads.
    fn give(&self, batch: Vec<RowOutcome>) {
        if let Some(s) = &self.send {
            let _ = s.send(batch);
        }
    }
}

/// An empty batch vector: a recycled one if there is one.
fn spare_batch(spares: &std::sync::Mutex<Vec<Vec<RowOutcome>>>) -> Vec<RowOutcome> {
    spares
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_else(|| Vec::with_capacity(READ_BATCH))
}

impl Drop for Recycler {
    fn drop(&mut self) {
        self.send = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceSummary {
    pub source: String,
    pub agency: String,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicate: u64,
    /// Accepted rows that replaced an earlier version of the same source key.
    pub new_versions: u64,
    pub rejected_by_kind: BTreeMap<String, u64>,
    /// Values dropped without rejecting their row (e.g. an unreadable DOB), by kind.
    pub warnings: BTreeMap<String, u64>,
    pub files: Vec<FileSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(flatten)]
    pub counts: RowCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub run_id: i64,
    pub config: String,
    pub sources: Vec<SourceSummary>,
    pub totals: RowCounts,
    /// Where the rejected rows were written, when `--rejects-out` asked (they are kept sealed
    /// in the store's quarantine table either way).
    pub rejects_file: Option<String>,
    /// From the start of the run through its commit (rows durable in the store).
    pub seconds: f64,
    pub rows_per_second: f64,
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    // Validate the mapping before creating or touching the store.
    let cfg = load(&args.config)?;
    if args.check {
        let report = check(&cfg)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", check_table(&report));
        }
        return Ok(());
    }
    let store = super::open_store(db).await?;
    super::user::seal_plain_rows(&store, db).await?;
    let progress = !args.json && std::io::stderr().is_terminal();
    // made before the ingest, so that a path that cannot be written fails first
    let rejects_out = match &args.rejects_out {
        Some(p) => Some((p, private_file(p)?)),
        None => None,
    };
    let mut report = match ingest_run(&store, cfg, progress).await {
        Ok(r) => r,
        Err(e) => {
            if let Some((p, _)) = &rejects_out {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
    };
    if let Some((path, file)) = rejects_out {
        export_rejects(&store, Some(report.run_id), path, file).await?;
        report.rejects_file = Some(path.display().to_string());
    }
    store.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report_table(&report, db));
    }
    Ok(())
}

/// What `--check` found for one source.
#[derive(Debug, Serialize)]
pub struct CheckedSource {
    pub source: String,
    pub agency: String,
    pub files: usize,
    pub read: u64,
    /// Rows that would be stored (or found already stored: the store is not read).
    pub accepted: u64,
    pub rejected: u64,
    pub rejected_by_kind: BTreeMap<String, u64>,
    /// Accepted rows whose record key an earlier row of these files already had: the same
    /// bytes are duplicates, other bytes a new version (both are kept, as ingest would).
    pub repeated_keys: u64,
    /// Values left empty, by reason (an unreadable date of birth, an unknown sex code...).
    pub warnings: BTreeMap<String, u64>,
    /// Rows that name nobody (no identity: a placeholder name, or none mapped).
    pub unnamed: u64,
    /// The earliest and latest local dates of accepted rows, and how many fall after today: a
    /// day/month order the wrong way round, or a two-digit year read in the wrong century,
    /// shows here before anything is stored.
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub future_dates: u64,
    /// Among the rows that name someone, how many carry each identifier linkage uses (a last
    /// name, a date of birth, a phone, a home address, the agency's own person id, a CAD
    /// incident number): what linkage will have to go on.
    pub identifiers: BTreeMap<&'static str, u64>,
    /// The first rejected rows: `file:row`, kind, field and reason.
    pub first_rejections: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub config: String,
    pub sources: Vec<CheckedSource>,
}

/// How many rejected rows `--check` shows per source.
const CHECK_SHOWN: usize = 5;

/// Read and map every row of every source, storing nothing.
fn check(cfg: &LoadedConfig) -> Result<CheckReport> {
    let mut sources = Vec::new();
    for plan in &cfg.sources {
        let mut seen: std::collections::HashSet<String> = Default::default();
        let (mut repeated, mut unnamed, mut future) = (0u64, 0u64, 0u64);
        let mut span: Option<(chrono::NaiveDate, chrono::NaiveDate)> = None;
        let mut identifiers: BTreeMap<&'static str, u64> = BTreeMap::new();
        let today = chrono::Utc::now().date_naive();
        let mut first = Vec::new();
        let rep = familiar_ingest::read_source(plan, |o| -> Result<(), std::convert::Infallible> {
            match o {
                RowOutcome::Accepted { record, .. } => {
                    match &record.identity {
                        None => unnamed += 1,
                        Some(id) => {
                            for (name, has) in [
                                ("last_name", id.last.is_some()),
                                ("dob", id.dob.is_some()),
                                ("phone", id.phone.is_some()),
                                ("address", id.address.is_some()),
                                ("agency_person_id", id.agency_person_id.is_some()),
                                ("incident_ref", record.incident_ref.is_some()),
                            ] {
                                *identifiers.entry(name).or_insert(0) += u64::from(has);
                            }
                        }
                    }
                    let d = record.local_date;
                    span = Some(span.map_or((d, d), |(a, b)| (a.min(d), b.max(d))));
                    if d > today {
                        future += 1;
                    }
                    if !seen.insert(record.record_key) {
                        repeated += 1;
                    }
                }
                RowOutcome::Rejected(r) => {
                    if first.len() < CHECK_SHOWN {
                        first.push(r.to_string());
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        sources.push(CheckedSource {
            source: rep.source.clone(),
            agency: rep.agency.clone(),
            files: rep.files.len(),
            read: rep.rows(),
            accepted: rep.accepted(),
            rejected: rep.rejected(),
            rejected_by_kind: rep.rejected_by_kind(),
            repeated_keys: repeated,
            warnings: rep.warnings(),
            unnamed,
            first_date: span.map(|s| s.0.to_string()),
            last_date: span.map(|s| s.1.to_string()),
            future_dates: future,
            identifiers,
            first_rejections: first,
        });
    }
    Ok(CheckReport {
        config: cfg.path.display().to_string(),
        sources,
    })
}

fn check_table(r: &CheckReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} checked: nothing was stored.\n\n{:<16} {:<6} {:>8} {:>9} {:>9} {:>9} {:>8}  dates",
        r.config, "source", "agency", "read", "accepted", "rejected", "repeated", "unnamed"
    );
    for s in &r.sources {
        let dates = match (&s.first_date, &s.last_date) {
            (Some(a), Some(b)) => format!("{a} .. {b}"),
            _ => String::new(),
        };
        let future = if s.future_dates > 0 {
            format!(
                "  ({} after today: is the date format right?)",
                s.future_dates
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:<16} {:<6} {:>8} {:>9} {:>9} {:>9} {:>8}  {dates}{future}",
            s.source, s.agency, s.read, s.accepted, s.rejected, s.repeated_keys, s.unnamed
        );
    }
    for s in &r.sources {
        let named = s.accepted.saturating_sub(s.unnamed);
        let _ = writeln!(out, "\n{}:", s.source);
        if named > 0 {
            let cover: Vec<String> = s
                .identifiers
                .iter()
                .map(|(k, n)| format!("{k} {:.0}%", 100.0 * *n as f64 / named as f64))
                .collect();
            let _ = writeln!(out, "  of {named} named rows: {}", cover.join(", "));
        }
        if !s.rejected_by_kind.is_empty() {
            let kinds: Vec<String> = s
                .rejected_by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = writeln!(out, "  rejected: {}", kinds.join(", "));
            for e in &s.first_rejections {
                let _ = writeln!(out, "    {e}");
            }
        }
        if !s.warnings.is_empty() {
            let w: Vec<String> = s.warnings.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(out, "  left empty: {}", w.join(", "));
        }
    }
    out
}

fn load(config: &Path) -> Result<LoadedConfig> {
    let cfg = familiar_ingest::load_config(config)?;
    familiar_ingest::preflight(&cfg)?;
    Ok(cfg)
}

/// Load, validate and ingest a mapping file into `store` (used by `demo`).
pub async fn ingest(store: &dyn Store, config: &Path, progress: bool) -> Result<IngestReport> {
    let cfg = load(config)?;
    ingest_run(store, cfg, progress).await
}

/// `familiar rejects`: the rows ingest runs rejected, as CSV, from the store's sealed
/// quarantine table (audited: they name people).
pub async fn rejects(db: &Path, a: RejectsArgs) -> Result<()> {
    let store = super::open_existing(db).await?;
    match &a.out {
        Some(path) => {
            let n = export_rejects(&store, a.run, path, private_file(path)?).await?;
            eprintln!("{n} rejected rows written to {}", path.display());
        }
        None => {
            export_rejects(&store, a.run, Path::new("-"), std::io::stdout().lock()).await?;
        }
    }
    store.close().await;
    Ok(())
}

/// Write the rejected rows of run `run` (all runs: None) to `out` (`target`, `-` for standard
/// output); recorded in the audit log first, so no export goes unrecorded. Returns the rows.
async fn export_rejects(
    store: &familiar_store::SqliteStore,
    run: Option<i64>,
    target: &Path,
    out: impl std::io::Write,
) -> Result<usize> {
    let rows = store.quarantine_rows(run).await?;
    store
        .append_audit(&familiar_store::NewAudit {
            actor: super::analysis::actor(),
            action: "rejects.export".into(),
            target: if target == Path::new("-") {
                "stdout".into()
            } else {
                target.display().to_string()
            },
            source: "cli".into(),
            outcome: "ok".into(),
            detail: format!(
                "{} rows{}",
                rows.len(),
                run.map(|r| format!(", run {r}")).unwrap_or_default()
            ),
        })
        .await?;
    write_rejects(&rows, out)?;
    Ok(rows.len())
}

async fn ingest_run(store: &dyn Store, cfg: LoadedConfig, progress: bool) -> Result<IngestReport> {
    let started = std::time::Instant::now();
    let config_text =
        std::fs::read(&cfg.path).with_context(|| format!("reading {}", cfg.path.display()))?;
    let config_sha = hex::encode(Sha256::digest(&config_text));
    store.upsert_agencies(&cfg.agencies).await?;

    let cfg = Arc::new(cfg);
    let mut tx = store
        .begin_ingest(&cfg.path.display().to_string(), &config_sha)
        .await?;
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec})")
                .expect("valid template"),
        );
        b
    });
    let recycler = Recycler::start()?;
    let mut sources = Vec::new();
    let mut totals = RowCounts::default();
    for si in 0..cfg.sources.len() {
        let plan = &cfg.sources[si];
        let mut summary = SourceSummary {
            source: plan.def.name.clone(),
            agency: plan.agency.code.clone(),
            ..Default::default()
        };
        let mut known = tx.known_versions(&plan.def.name).await?;
        for fi in 0..plan.files.len() {
            if let Some(b) = &bar {
                b.set_message(format!("{} {}", plan.def.name, plan.files[fi].display()));
            }
            let f = ingest_file(
                tx.as_mut(),
                &cfg,
                (si, fi),
                &recycler,
                &mut known,
                &mut summary,
                bar.as_ref(),
            )
            .await?;
            summary.files.push(f);
        }
        totals.add(RowCounts {
            read: summary.read,
            accepted: summary.accepted,
            rejected: summary.rejected,
            duplicate: summary.duplicate,
        });
        sources.push(summary);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut report = IngestReport {
        run_id: tx.run_id(),
        config: cfg.path.display().to_string(),
        sources,
        totals,
        rejects_file: None,
        seconds,
        rows_per_second: totals.read as f64 / seconds.max(1e-9),
    };
    let json = serde_json::to_string(&report)?;
    report.run_id = tx.commit(&json).await?;
    // The printed rate counts the commit: rows are durable only then.
    report.seconds = started.elapsed().as_secs_f64();
    report.rows_per_second = totals.read as f64 / report.seconds.max(1e-9);
    Ok(report)
}

async fn ingest_file(
    tx: &mut dyn IngestTx,
    cfg: &Arc<LoadedConfig>,
    (si, fi): (usize, usize),
    recycler: &Recycler,
    known: &mut familiar_store::KnownKeys,
    summary: &mut SourceSummary,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<FileSummary> {
    let plan = &cfg.sources[si];
    let path = plan.files[fi].clone();
    let file_id = tx
        .add_file(&FileMeta {
            source: plan.def.name.clone(),
            path: path.display().to_string(),
            sha256: String::new(),
            bytes: 0,
        })
        .await?;

    let (send, mut recv) = tokio::sync::mpsc::channel::<Vec<RowOutcome>>(8);
    let spares = Arc::clone(&recycler.spares);
    let reader_cfg = Arc::clone(cfg);
    let reader = tokio::task::spawn_blocking(move || {
        let plan = &reader_cfg.sources[si];
        let mut batch = Vec::with_capacity(READ_BATCH);
        let report = familiar_ingest::read_file(plan, &plan.files[fi], &mut |o| {
            batch.push(o);
            if batch.len() >= READ_BATCH {
                let full = std::mem::replace(&mut batch, spare_batch(&spares));
                send.blocking_send(full).map_err(|_| "the writer stopped")?;
            }
            Ok::<(), &'static str>(())
        });
        if !batch.is_empty() {
            let _ = send.blocking_send(batch);
        }
        report
    });

    // The source's rows, estimated from its files' sizes and the first batch's bytes per row,
    // so the key map grows once instead of doubling its way up (each growth rehashes every
    // key). Keys already stored count against it: a re-ingest reserves nothing.
    let source_bytes: u64 = plan
        .files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let mut reserved = fi > 0;
    let mut counts = RowCounts::default();
    let mut rejected: Vec<QuarantineRow> = Vec::new();
    while let Some(batch) = recv.recv().await {
        counts.read += batch.len() as u64;
        if let Some(b) = bar {
            b.inc(batch.len() as u64);
        }
        if !reserved {
            reserved = true;
            // bytes per record: a row that makes one record per party counts its bytes once
            let mut last_row = None;
            let sample: usize = batch
                .iter()
                .map(|o| {
                    let (row, len) = match o {
                        RowOutcome::Accepted { raw, .. } => (raw.row_number, raw.raw.len()),
                        RowOutcome::Rejected(r) => (r.row_number, r.raw.len()),
                    };
                    let again = last_row.replace(row) == Some(row);
                    if again {
                        0
                    } else {
                        len + 1
                    }
                })
                .sum();
            if sample > 0 {
                let rows = (source_bytes as u128 * batch.len() as u128 / sample as u128) as usize;
                known.reserve(rows.min(50_000_000).saturating_sub(known.len()));
            }
        }
        // The accepted rows, borrowed from the batch: nothing is moved or copied to write them.
        let mut accepted: Vec<NewRecord<'_>> = Vec::with_capacity(batch.len());
        for outcome in &batch {
            match outcome {
                RowOutcome::Accepted { record, raw } => {
                    let (version, supersedes) = match known.get(&record.record_key) {
                        Some(k) if k.content_hash == raw.content_hash => {
                            counts.duplicate += 1;
                            continue;
                        }
                        Some(k) => {
                            summary.new_versions += 1;
                            (k.version + 1, k.record_id)
                        }
                        None => (1, None),
                    };
                    known.insert(
                        record.record_key.clone(),
                        KnownVersion {
                            version,
                            content_hash: raw.content_hash,
                            record_id: None,
                        },
                    );
                    counts.accepted += 1;
                    accepted.push(NewRecord {
                        version,
                        supersedes,
                        file_id,
                        row_number: raw.row_number,
                        raw: &raw.raw,
                        record,
                    });
                }
                RowOutcome::Rejected(r) => {
                    counts.rejected += 1;
                    *summary
                        .rejected_by_kind
                        .entry(r.kind.as_str().to_string())
                        .or_default() += 1;
                    rejected.push(QuarantineRow {
                        file_id,
                        source: plan.def.name.clone(),
                        row_number: r.row_number,
                        kind: r.kind.as_str().to_string(),
                        field: r.column.clone().or(r.field.map(str::to_string)),
                        reason: r.reason.clone(),
                        raw: r.raw.clone(),
                    });
                }
            }
        }
        tx.insert_records(&accepted).await?;
        drop(accepted);
        recycler.give(batch);
    }
    let file_report = reader
        .await
        .context("the reader thread panicked")?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.quarantine(&rejected).await?;
    let layout = file_report
        .layout
        .as_ref()
        .context("the reader reported no raw layout")?;
    tx.finish_file(
        file_id,
        counts,
        &file_report.sha256,
        file_report.bytes,
        layout,
    )
    .await?;
    debug_assert!(counts.reconciles());
    summary.read += counts.read;
    summary.accepted += counts.accepted;
    summary.rejected += counts.rejected;
    summary.duplicate += counts.duplicate;
    for (k, v) in file_report.warnings {
        *summary.warnings.entry(k).or_default() += v;
    }
    Ok(FileSummary {
        path: path.display().to_string(),
        sha256: file_report.sha256,
        bytes: file_report.bytes,
        counts,
    })
}

/// A new file at `path` for the owner only (0600); an existing file (or link) is refused, so
/// an export never overwrites anything.
fn private_file(path: &Path) -> Result<std::fs::File> {
    familiar_store::create_private(path).with_context(|| {
        if path.exists() {
            format!("{} exists: give a new file", path.display())
        } else {
            format!("writing {}", path.display())
        }
    })
}

/// Rejected rows as CSV: source, row, kind, field, reason, raw.
fn write_rejects(rows: &[QuarantineRow], out: impl std::io::Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["source", "row", "kind", "field", "reason", "raw"])?;
    for r in rows {
        // The exact bytes stay in the quarantine table; the report shows them decoded lossily.
        let raw = String::from_utf8_lossy(&r.raw);
        w.write_record([
            r.source.as_str(),
            &r.row_number.to_string(),
            &r.kind,
            r.field.as_deref().unwrap_or(""),
            &r.reason,
            raw.trim_end_matches(['\r', '\n']),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The per-source reconciliation table printed after an ingest.
pub fn report_table(r: &IngestReport, db: &Path) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<16} {:<7} {:>10} {:>10} {:>9} {:>10}",
        "source", "agency", "read", "accepted", "rejected", "duplicate"
    );
    for x in &r.sources {
        let _ = writeln!(
            s,
            "{:<16} {:<7} {:>10} {:>10} {:>9} {:>10}",
            x.source, x.agency, x.read, x.accepted, x.rejected, x.duplicate
        );
    }
    let t = r.totals;
    let _ = writeln!(
        s,
        "{:<16} {:<7} {:>10} {:>10} {:>9} {:>10}   ({:.1}s, {:.0} rows/s)",
        "total", "", t.read, t.accepted, t.rejected, t.duplicate, r.seconds, r.rows_per_second
    );
    if let Some(f) = &r.rejects_file {
        let _ = writeln!(s, "rejected rows: {f}");
    } else if t.rejected > 0 {
        let _ = writeln!(
            s,
            "rejected rows are kept sealed in the store: `familiar rejects --db {} --run {} --out \
             FILE` writes them out",
            db.display(),
            r.run_id
        );
    }
    s
}
