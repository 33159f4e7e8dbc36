//! `familiar`: the command line. Parses arguments, opens the store, wires the crates together.
//! It is the only place that picks implementations (SQLite today; PostgreSQL later).

mod cmd;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Ingest allocates rows on the reader thread and frees them on the writer; glibc's allocator
// serialized those cross-thread frees on an arena lock (a third of ingest time in a profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "familiar",
    version,
    about = "Find and help the familiar neighbors of a city's public-safety agencies.",
    long_about = "Familiar ingests exports from 911, police, fire/EMS, jail and crisis-team systems, \
links each person across agencies, and reports the people and places with the most interactions."
)]
struct Cli {
    /// The store: a SQLite file (created if missing).
    #[arg(
        long,
        global = true,
        default_value = "familiar.db",
        env = "FAMILIAR_DB"
    )]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a synthetic county: agency exports, their sources.toml, and truth files.
    Synth(cmd::synth::Args),
    /// Load agency exports described by a mapping file into the store.
    Ingest(cmd::ingest::Args),
    /// The rows ingest runs rejected (file, line, field, why, raw row), as CSV.
    Rejects(cmd::ingest::RejectsArgs),
    /// Link source identities into persons (or import / evaluate a linkage).
    Link(cmd::link::Args),
    /// Settle uncertain links: list the queue, decide pairs, merge or split persons.
    Review(cmd::review::Args),
    /// Link or deduplicate records in files, without a store (for comparisons on public data).
    Match(cmd::matching::Args),
    /// The key-measures table: people with 5+ / 10+ / 20+ / 40+ interactions, per agency.
    Measures(cmd::measures::Args),
    /// Familiar neighbors: people ranked by interactions, per agency or across agencies.
    Top(cmd::top::TopArgs),
    /// Familiar places: locations ranked by responses, with distinct people.
    Places(cmd::top::PlacesArgs),
    /// One person's cross-agency timeline, need flags and source records.
    Journey(cmd::explore::JourneyArgs),
    /// Interactions per month per agency, for everyone, a rule's list or given people.
    Series(cmd::explore::SeriesArgs),
    /// Costs to systems per agency and kind: cash that would be saved vs capacity freed.
    Costs(cmd::explore::CostsArgs),
    /// Read-only SQL over the canonical tables (CSV, JSON, Parquet or a table).
    Sql(cmd::explore::SqlArgs),
    /// Selection rules: list them, and show recorded runs.
    Rules(cmd::explore::RulesArgs),
    /// Bring the sealed columnar snapshot beside the store up to date (and export it as Parquet).
    Snapshot(cmd::explore::SnapshotArgs),
    /// Write a random snapshot of N interactions for the engine benchmark.
    #[command(hide = true)]
    BenchSnapshot(cmd::bench_data::Args),
    /// Synthesize a county, ingest it, link it, print the key measures and serve the dashboard.
    Demo(cmd::demo::Args),
    /// Serve the web app: public dashboard, workspace pages and JSON API.
    Serve(cmd::serve::Args),
    /// Web app accounts: add, disable, enable, reset, scope, list.
    User(cmd::user::Args),
    /// Verify or export the hash-chained audit log.
    Audit(cmd::audit::Args),
    /// Write the store as one file sealed under its key (a consistent copy, while others read).
    Backup(cmd::backup::BackupArgs),
    /// Make a new store (at --db, which must not exist) from a sealed backup.
    Restore(cmd::backup::RestoreArgs),
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`familiar top | head`) panicked. A
/// command-line tool should stop quietly instead, as other Unix tools do. Not for the servers:
/// there a client closing its socket must never stop the process.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread is spawned; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FAMILIAR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
        restore_sigpipe();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = rt.block_on(async {
        match cli.command {
            Command::Synth(a) => cmd::synth::run(a),
            Command::Ingest(a) => cmd::ingest::run(&cli.db, a).await,
            Command::Rejects(a) => cmd::ingest::rejects(&cli.db, a).await,
            Command::Link(a) => cmd::link::run(&cli.db, a).await,
            Command::Review(a) => cmd::review::run(&cli.db, a).await,
            Command::Match(a) => cmd::matching::run(a),
            Command::Measures(a) => cmd::measures::run(&cli.db, a).await,
            Command::Top(a) => cmd::top::top(&cli.db, a).await,
            Command::Places(a) => cmd::top::places(&cli.db, a).await,
            Command::Journey(a) => cmd::explore::journey(&cli.db, a).await,
            Command::Series(a) => cmd::explore::series(&cli.db, a).await,
            Command::Costs(a) => cmd::explore::costs(&cli.db, a).await,
            Command::Sql(a) => cmd::explore::sql(&cli.db, a).await,
            Command::Rules(a) => cmd::explore::rules(&cli.db, a).await,
            Command::Snapshot(a) => cmd::explore::snapshot(&cli.db, a).await,
            Command::BenchSnapshot(a) => cmd::bench_data::run(a),
            Command::Demo(a) => cmd::demo::run(a).await,
            Command::Serve(a) => cmd::serve::run(&cli.db, a).await,
            Command::User(a) => cmd::user::run(&cli.db, a).await,
            Command::Audit(a) => cmd::audit::run(&cli.db, a).await,
            Command::Backup(a) => cmd::backup::backup(&cli.db, a).await,
            Command::Restore(a) => cmd::backup::restore(&cli.db, a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
