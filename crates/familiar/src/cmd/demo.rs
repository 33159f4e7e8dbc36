//! `familiar demo`: the whole path on embedded defaults, in about a minute.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::output;

#[derive(clap::Args)]
pub struct Args {
    /// Stop after printing the key measures (do not serve the dashboard).
    #[arg(long)]
    pub no_serve: bool,
    /// Folder for the synthetic county and its store (replaced if it exists).
    #[arg(long, default_value = "familiar-demo")]
    pub out: PathBuf,
    /// Residents of the synthetic county.
    #[arg(long, default_value_t = 60_000)]
    pub people: u32,
    /// Days of history.
    #[arg(long, default_value_t = 730)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the dashboard listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
}

pub async fn run(a: Args) -> Result<()> {
    let t = std::time::Instant::now();
    if a.out.exists() {
        std::fs::remove_dir_all(&a.out)
            .with_context(|| format!("clearing the demo folder {}", a.out.display()))?;
    }
    let synth_args = super::synth::Args {
        out: a.out.join("county"),
        people: a.people,
        days: a.days,
        end_date: None,
        seed: a.seed,
    };
    println!(
        "1/4 synthesizing a county of {} people over {} days ...",
        a.people, a.days
    );
    super::synth::run(synth_args)?;

    let db = a.out.join("familiar.db");
    println!(
        "2/4 ingesting the five agencies' exports into {} ...",
        db.display()
    );
    let store = super::open_store(&db).await?;
    // says where the key is made (names and rows are sealed under it)
    super::user::seal_plain_rows(&store, &db).await?;
    let report =
        super::ingest::ingest(&store, &a.out.join("county").join("sources.toml"), false).await?;
    print!("{}", super::ingest::report_table(&report, &db));

    println!("3/4 linking people across agencies ...");
    let l = super::link::link_store(&store, super::link::DEFAULT_METHOD, "demo").await?;
    println!("    {} identities → {} persons", l.identities, l.persons);

    println!("4/4 key measures\n");
    let m = super::measures::compute(
        &db,
        &Default::default(),
        None,
        familiar_model::measures::DEFAULT_WINDOW_DAYS,
        familiar_model::measures::DEFAULT_THRESHOLDS.to_vec(),
    )
    .await?;
    print!("{}", output::measures_table(&m));
    println!(
        "\ndone in {:.1}s. The store is {}; try:",
        t.elapsed().as_secs_f64(),
        db.display()
    );
    println!("  familiar measures --db {} --json", db.display());
    println!("  familiar top --db {} --limit 10", db.display());
    println!("  familiar places --db {} --limit 10", db.display());
    println!(
        "  familiar sql --db {} \"SELECT kind, COUNT(*) FROM interactions GROUP BY kind\"",
        db.display()
    );
    if a.no_serve {
        return Ok(());
    }
    let (user, password, totp) = familiar_web::ensure_demo_user(&store).await?;
    let args = super::serve::Args {
        addr: a.addr,
        insecure_cookies: true,
        ..Default::default()
    };
    println!(
        "\nServing the dashboard at http://{}/  (Ctrl-C stops)",
        a.addr
    );
    println!("Workspace login: http://{}/login", a.addr);
    println!("  user {user}   password {password}");
    println!("  TOTP secret {totp}  (an authenticator app, or: oathtool --totp -b {totp})");
    super::serve::serve_store(store, &db, &args).await
}
