//! `familiar user add | disable | enable | reset | scope | list`: accounts for the web app.

use std::io::BufRead;
use std::path::Path;

use anyhow::{bail, Context, Result};
use familiar_store::{AccessStore, UserRole};
use familiar_web::users::{self, Credentials, PasswordParams, UserSpec};

use super::serve::cli_actor;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a user. Prints the password (when generated) and the TOTP secret once.
    Add {
        name: String,
        /// admin | analyst | case_manager | agency_liaison | viewer
        #[arg(long, value_parser = parse_role)]
        role: UserRole,
        /// Read the password from the first line of standard input (else one is generated).
        #[arg(long)]
        password_stdin: bool,
        /// agency_liaison: the agency whose records the user sees.
        #[arg(long)]
        agency: Option<String>,
        /// case_manager: the person ids the user sees, comma-separated.
        #[arg(long, value_delimiter = ',')]
        assign: Vec<String>,
    },
    /// Disable a user and end their sessions.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// New password and TOTP secret (printed once); ends the user's sessions.
    Reset {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's agency and assigned persons (replaces both).
    Scope {
        name: String,
        #[arg(long)]
        agency: Option<String>,
        #[arg(long, value_delimiter = ',')]
        assign: Vec<String>,
    },
    /// List users (never secrets).
    List,
    /// Start a new secret key when the store's is lost (or another key is set): every account's
    /// TOTP secret becomes unusable until `familiar user reset NAME`; the old key file is kept
    /// aside. Refused once source rows are sealed under the old key (they would be lost).
    /// Needs `--yes`.
    NewKey {
        /// Confirm: every account will need a reset.
        #[arg(long)]
        yes: bool,
    },
    /// Re-seal the store (source rows, rejected rows, TOTP secrets) under a new secret key, in
    /// one transaction, for a key that may have been seen: the old key file is kept aside
    /// (delete it once the store opens), or, when the key is in `FAMILIAR_SECRET_KEY`, the new
    /// key is left in `<db>.key.next` to be moved into the variable. Stop `familiar serve` and
    /// other commands on the store first. Needs `--yes`.
    RotateKey {
        /// Confirm: the old key stops opening the store.
        #[arg(long)]
        yes: bool,
    },
}

/// Seal the TOTP secrets older builds stored in the clear (the commands that manage accounts
/// do it), saying so on standard error.
pub(crate) async fn seal_plain_secrets(
    store: &familiar_store::SqliteStore,
    db: &Path,
) -> Result<()> {
    // rows first: a store with rows in the clear gets its key, with a message, here
    seal_plain_rows(store, db).await?;
    let (sealed, checkpointed) = store.seal_plain_secrets().await?;
    if sealed > 0 {
        eprintln!(
            "sealed the TOTP secrets of {sealed} accounts stored in the clear; copies SQLite \
             freed before may stay in the file's free pages until `sqlite3 STORE.db VACUUM` \
             (run with Familiar stopped)"
        );
    }
    if !checkpointed {
        eprintln!(
            "warning: the write-ahead log was busy: old secrets may stay in it until the next \
             checkpoint"
        );
    }
    Ok(())
}

/// Seal the source rows an older build stored in the clear (making the store's key if it has
/// none), saying so on standard error: what was sealed, and where a new key is, to be backed up
/// apart from the store.
pub(crate) async fn seal_plain_rows(store: &familiar_store::SqliteStore, db: &Path) -> Result<()> {
    let key_file = familiar_store::seal::key_file_for(db);
    let had_key = key_file.exists();
    let (sealed, checkpointed) = store.seal_plain_rows().await?;
    if !had_key && key_file.exists() {
        eprintln!(
            "made the store's secret key: {} (names, dates of birth and the rows as read are \
             sealed under it). Back it up apart from the store's backups: without it they \
             cannot be read",
            key_file.display()
        );
    }
    if sealed > 0 {
        eprintln!(
            "sealed {sealed} rows stored in the clear by an older build; copies SQLite freed \
             before may stay in the file's free pages until `sqlite3 STORE.db VACUUM` (run with \
             Familiar stopped)"
        );
    }
    if !checkpointed {
        eprintln!(
            "warning: the write-ahead log was busy: old rows may stay in it until the next \
             checkpoint"
        );
    }
    Ok(())
}

fn parse_role(s: &str) -> Result<UserRole, String> {
    s.parse()
}

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!("no password on standard input");
    }
    Ok(p)
}

fn print_credentials(c: &Credentials, generated_password: bool) {
    println!("user:        {}", c.username);
    if generated_password {
        println!("password:    {}", c.password);
    }
    println!("TOTP secret: {}", c.totp_secret);
    println!("TOTP URI:    {}", c.otpauth_uri);
    println!("Add the secret to an authenticator app now; it is not shown again.");
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    let store = super::open_store(db).await?;
    // accounts made before secrets were sealed are sealed by the commands that manage them
    if !matches!(
        args.command,
        UserCommand::NewKey { .. } | UserCommand::RotateKey { .. }
    ) {
        seal_plain_secrets(&store, db).await?;
    }
    let actor = cli_actor();
    match args.command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
            agency,
            assign,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let generated = password.is_none();
            let c = users::add_user(
                &store,
                &UserSpec {
                    username: name,
                    role,
                    password,
                    agency,
                    assignments: assign,
                },
                PasswordParams::default(),
                &actor,
            )
            .await?;
            print_credentials(&c, generated);
        }
        UserCommand::Disable { name } => {
            users::set_disabled(&store, &name, true, &actor, "cli").await?;
            println!("disabled {name}");
        }
        UserCommand::Enable { name } => {
            users::set_disabled(&store, &name, false, &actor, "cli").await?;
            println!("enabled {name}");
        }
        UserCommand::Reset {
            name,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let generated = password.is_none();
            let c = users::reset_user(&store, &name, password, PasswordParams::default(), &actor)
                .await?;
            print_credentials(&c, generated);
        }
        UserCommand::Scope {
            name,
            agency,
            assign,
        } => {
            if !store.set_scope(&name, agency.as_deref(), &assign).await? {
                bail!("no user {name}");
            }
            store
                .append_audit(&familiar_store::NewAudit {
                    actor,
                    action: "user.scope".into(),
                    target: name.clone(),
                    source: "cli".into(),
                    outcome: "ok".into(),
                    detail: serde_json::json!({"agency": agency, "assignments": assign.len()})
                        .to_string(),
                })
                .await?;
            println!(
                "{name}: agency {agency:?}, {} assigned persons",
                assign.len()
            );
        }
        UserCommand::NewKey { yes } => {
            if !yes {
                bail!("every account's TOTP secret becomes unusable until it is reset: run again with --yes");
            }
            let (n, moved) = store.start_new_key().await?;
            drop_snapshot_cache(db)?;
            store
                .append_audit(&familiar_store::NewAudit {
                    actor,
                    action: "user.new_key".into(),
                    target: String::new(),
                    source: "cli".into(),
                    outcome: "ok".into(),
                    detail: serde_json::json!({"accounts": n}).to_string(),
                })
                .await?;
            if let Some(p) = moved {
                println!("the old key file is kept at {}", p.display());
            }
            println!(
                "{n} accounts need `familiar user reset NAME`; the first reset makes the new key"
            );
        }
        UserCommand::RotateKey { yes } => {
            if !yes {
                bail!("the old key will stop opening the store: run again with --yes");
            }
            let r = store.rotate_key().await?;
            drop_snapshot_cache(db)?;
            // where the key is, first: nothing after may keep the operator from learning it
            println!(
                "re-sealed {} rows and {} TOTP secrets under a new key",
                r.rows, r.secrets
            );
            match (&r.key_file, r.from_env) {
                (Some(f), true) => println!(
                    "the key comes from ${}: set it to the contents of {} now, then delete that file",
                    familiar_store::seal::KEY_VAR,
                    f.display()
                ),
                (Some(f), false) => println!("the new key is in {}", f.display()),
                (None, _) => {}
            }
            if !r.checkpointed {
                println!(
                    "warning: another process was reading the store, so values sealed under the \
                     old key may stay in its write-ahead log until the next checkpoint"
                );
            }
            if let Some(p) = &r.retired {
                println!(
                    "the old key is kept at {}: backups taken before now open with it only. Take \
                     a new backup, then destroy the old backups and that file together",
                    p.display()
                );
            }
            store
                .append_audit(&familiar_store::NewAudit {
                    actor,
                    action: "store.rotate_key".into(),
                    target: String::new(),
                    source: "cli".into(),
                    outcome: "ok".into(),
                    detail: serde_json::json!({"rows": r.rows, "secrets": r.secrets}).to_string(),
                })
                .await?;
        }
        UserCommand::List => {
            println!(
                "{:<24} {:<15} {:<8} {:>9} {:<8}",
                "user", "role", "agency", "assigned", "status"
            );
            for u in store.users().await? {
                println!(
                    "{:<24} {:<15} {:<8} {:>9} {:<8}",
                    u.username,
                    u.role.as_str(),
                    u.agency.as_deref().unwrap_or("-"),
                    u.assignments.len(),
                    if u.disabled { "disabled" } else { "active" }
                );
            }
        }
    }
    Ok(())
}

/// The analysis snapshot beside the store is sealed under the store's key: once the key
/// changes only the old key would open it, so it goes (the next analysis command rebuilds it).
fn drop_snapshot_cache(db: &Path) -> Result<()> {
    let dir = familiar_engine::Snapshot::dir_for(db);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("removing {} (sealed under the old key)", dir.display()))?;
    }
    Ok(())
}
