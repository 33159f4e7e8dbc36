//! Compiles and exercises `crates/familiar/src/cmd/{serve,user,audit}.rs` (the CLI's web-app
//! commands) against a real store, without building the `familiar` binary.

// The command files call `super::open_store`, `super::open_existing` and `super::serve`, which
// the crate root provides here as the binary's `cmd` module does.
#[allow(dead_code)]
#[path = "../../familiar/src/cmd/audit.rs"]
mod audit;
#[allow(dead_code)]
#[path = "../../familiar/src/cmd/serve.rs"]
mod serve;
#[allow(dead_code)]
#[path = "../../familiar/src/cmd/user.rs"]
mod user;

mod cmd {
    pub(crate) use super::{audit, serve, user};
}

use anyhow::Result;
use std::path::Path;

async fn open_store(db: &Path) -> Result<SqliteStore> {
    Ok(SqliteStore::open(db).await?)
}

async fn open_existing(db: &Path) -> Result<SqliteStore> {
    anyhow::ensure!(db.exists(), "no store at {}", db.display());
    open_store(db).await
}

use clap::Parser;
use familiar_store::{AccessStore, SqliteStore, UserRole};

#[derive(Parser)]
struct UserCli {
    #[command(flatten)]
    args: cmd::user::Args,
}

#[derive(Parser)]
struct AuditCli {
    #[command(flatten)]
    args: cmd::audit::Args,
}

#[derive(Parser)]
struct ServeCli {
    #[command(flatten)]
    args: cmd::serve::Args,
}

#[tokio::test]
async fn user_and_audit_commands() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let add = UserCli::try_parse_from([
        "user",
        "add",
        "ana",
        "--role",
        "case_manager",
        "--assign",
        "P1,P2",
    ])
    .unwrap();
    cmd::user::run(&db, add.args).await.unwrap();
    let liaison =
        UserCli::try_parse_from(["user", "add", "lee", "--role", "agency_liaison"]).unwrap();
    assert!(
        cmd::user::run(&db, liaison.args).await.is_err(),
        "liaison needs --agency"
    );
    assert!(UserCli::try_parse_from(["user", "add", "x", "--role", "root"]).is_err());
    cmd::user::run(
        &db,
        UserCli::try_parse_from(["user", "disable", "ana"])
            .unwrap()
            .args,
    )
    .await
    .unwrap();
    cmd::user::run(
        &db,
        UserCli::try_parse_from(["user", "reset", "ana"])
            .unwrap()
            .args,
    )
    .await
    .unwrap();
    cmd::user::run(&db, UserCli::try_parse_from(["user", "list"]).unwrap().args)
        .await
        .unwrap();
    {
        let s = SqliteStore::open(&db).await.unwrap();
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(u.role, UserRole::CaseManager);
        assert!(u.disabled);
        assert_eq!(u.assignments, vec!["P1", "P2"]);
    }
    cmd::audit::run(
        &db,
        AuditCli::try_parse_from(["audit", "verify"]).unwrap().args,
    )
    .await
    .unwrap();
    let out = dir.path().join("audit.json");
    cmd::audit::run(
        &db,
        AuditCli::try_parse_from(["audit", "export", "--out", out.to_str().unwrap()])
            .unwrap()
            .args,
    )
    .await
    .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let actions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["user.add", "user.disable", "user.reset", "audit.export"]
    );
    // Break the chain: verify must fail and name the row.
    {
        let s = SqliteStore::open(&db).await.unwrap();
        tamper(&s).await;
    }
    let err = cmd::audit::run(
        &db,
        AuditCli::try_parse_from(["audit", "verify"]).unwrap().args,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("row 2"), "{err}");
}

/// Tamper with row 2 as someone with file access could.
async fn tamper(s: &SqliteStore) {
    for sql in [
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET outcome = 'denied' WHERE id = 2",
    ] {
        sqlx::query(sql).execute(s.pool()).await.unwrap();
    }
}

#[test]
fn serve_config_rules() {
    let a = ServeCli::try_parse_from(["serve"]).unwrap().args;
    let c = cmd::serve::config(&a).unwrap();
    assert!(c.secure_cookies);
    assert_eq!(c.min_cell, 11);
    let a = ServeCli::try_parse_from(["serve", "--insecure-cookies"])
        .unwrap()
        .args;
    assert!(!cmd::serve::config(&a).unwrap().secure_cookies);
    let a = ServeCli::try_parse_from(["serve", "--insecure-cookies", "--addr", "0.0.0.0:80"])
        .unwrap()
        .args;
    assert!(cmd::serve::config(&a).is_err());
    let a = ServeCli::try_parse_from(["serve", "--min-cell", "0"])
        .unwrap()
        .args;
    assert!(cmd::serve::config(&a).is_err());
}
