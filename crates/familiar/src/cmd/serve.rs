//! `familiar serve`: the web app (public dashboard, workspace, JSON API).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Result};
use familiar_store::SqliteStore;
use familiar_web::{AppState, Config};

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on. The app speaks plain HTTP: put a TLS proxy in front of it for
    /// anything but localhost.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Send cookies without the `Secure` flag (plain-http localhost only; refused on other
    /// addresses).
    #[arg(long)]
    pub insecure_cookies: bool,
    /// Smallest count the public dashboard shows (0 excepted); 1-10 are suppressed by default.
    #[arg(long, default_value_t = familiar_web::suppress::DEFAULT_MIN_CELL)]
    pub min_cell: u64,
    /// Agencies whose liaisons are law enforcement and never see 42 CFR Part 2 records.
    #[arg(long, value_delimiter = ',', default_values_t = ["DPD".to_string(), "DCSD".to_string()])]
    pub law_enforcement: Vec<String>,
    /// Log sessions off after this many minutes without a request.
    #[arg(long, default_value_t = 30)]
    pub idle_minutes: i64,
    /// Refuse logins from a client address after this many failures from it in 15 minutes,
    /// whatever names were tried; 0 turns it off (behind a reverse proxy every client shares
    /// the proxy's address).
    #[arg(long, default_value_t = 30)]
    pub login_failures_per_address: u32,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            addr: "127.0.0.1:8080".parse().expect("valid address"),
            insecure_cookies: false,
            min_cell: familiar_web::suppress::DEFAULT_MIN_CELL,
            law_enforcement: vec!["DPD".into(), "DCSD".into()],
            idle_minutes: 30,
            login_failures_per_address: 30,
        }
    }
}

/// The app's settings from the command line.
pub fn config(args: &Args) -> Result<Config> {
    if args.insecure_cookies && !args.addr.ip().is_loopback() {
        bail!("--insecure-cookies is only allowed on a loopback address (127.0.0.1 / ::1)");
    }
    if args.min_cell == 0 {
        bail!("--min-cell must be at least 1");
    }
    if !(1..=30).contains(&args.idle_minutes) {
        bail!("--idle-minutes must be between 1 and 30");
    }
    Ok(Config {
        secure_cookies: !args.insecure_cookies,
        min_cell: args.min_cell,
        idle_timeout_secs: args.idle_minutes * 60,
        law_enforcement_agencies: args.law_enforcement.clone(),
        address_lockout_failures: args.login_failures_per_address,
        ..Config::default()
    })
}

/// Serve an open store until Ctrl-C (also used by `familiar demo`).
pub async fn serve_store(store: SqliteStore, db: &Path, args: &Args) -> Result<()> {
    let cfg = config(args)?;
    // accounts made by a build before secrets were sealed: seal them now (this may create the
    // key; see familiar_store::seal)
    super::user::seal_plain_secrets(&store, db).await?;
    // a missing or wrong key fails here, not as every login failing
    store.verify_key().await?;
    if cfg.min_cell < familiar_web::suppress::DEFAULT_MIN_CELL {
        eprintln!(
            "warning: --min-cell {} publishes cells smaller than the usual 11",
            cfg.min_cell
        );
    }
    let state = AppState::new(Arc::new(store), cfg)?;
    state
        .audit_raw(
            &cli_actor(),
            "server.start",
            &args.addr.to_string(),
            "cli",
            "ok",
            "",
        )
        .await?;
    // Build the first snapshot in the background so the first page is quick.
    let warm = state.clone();
    tokio::spawn(async move {
        let _ = warm.snapshot().await;
    });
    println!(
        "Familiar is serving on http://{}/ (Ctrl-C to stop)",
        args.addr
    );
    familiar_web::serve(state, args.addr).await
}

/// Who is acting when a command is run from a terminal.
pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into())
    )
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    let store = super::open_existing(db).await?;
    serve_store(store, db, &args).await
}
