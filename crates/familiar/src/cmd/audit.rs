//! `familiar audit verify | export`: check and export the hash-chained audit log.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use familiar_store::{AccessStore, AuditQuery, NewAudit};

use super::serve::cli_actor;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain. Exits 0 when intact; otherwise names the first bad row.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Write every audit row (with its hashes) as CSV or JSON.
    Export {
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// csv or json (default: from the file name, else csv).
        #[arg(long)]
        format: Option<String>,
    },
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    let store = super::open_existing(db).await?;
    match args.command {
        AuditCommand::Verify { json } => {
            let v = store.verify_audit().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            match &v.first_break {
                None => {
                    if !json {
                        println!(
                            "audit log intact: {} rows; head hash {}",
                            v.rows, v.head_hash
                        );
                    }
                    Ok(())
                }
                Some(b) => bail!(
                    "audit log broken at row {}: {} ({} rows before it verify)",
                    b.id,
                    b.reason,
                    v.rows
                ),
            }
        }
        AuditCommand::Export { out, format } => {
            let format = format.unwrap_or_else(|| {
                match out
                    .as_ref()
                    .and_then(|p| p.extension())
                    .and_then(|e| e.to_str())
                {
                    Some("json") => "json".into(),
                    _ => "csv".into(),
                }
            });
            if format != "csv" && format != "json" {
                bail!("--format must be csv or json");
            }
            store
                .append_audit(&NewAudit {
                    actor: cli_actor(),
                    action: "audit.export".into(),
                    target: out
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "stdout".into()),
                    source: "cli".into(),
                    outcome: "ok".into(),
                    detail: format.clone(),
                })
                .await?;
            let entries = store.audit_entries(&AuditQuery::default()).await?;
            let bytes = if format == "json" {
                serde_json::to_vec_pretty(&entries)?
            } else {
                familiar_web::audit_csv(&entries)?
            };
            match out {
                Some(p) => {
                    std::fs::write(&p, &bytes)
                        .with_context(|| format!("writing {}", p.display()))?;
                    eprintln!("wrote {} audit rows to {}", entries.len(), p.display());
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
            Ok(())
        }
    }
}
