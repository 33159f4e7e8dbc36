//! A pooled connection handed back while sqlx still counts it inside a transaction (what a
//! request cancelled between `BEGIN IMMEDIATE` and the transaction's creation leaves) must not
//! poison the store: it holds the write lock, and it would refuse every later `BEGIN`.

use familiar_store::{AccessStore, NewAudit, SqliteStore};
use sqlx::Connection;
use std::time::Duration;

fn entry(i: usize) -> NewAudit {
    NewAudit {
        actor: "test".into(),
        action: "person.view".into(),
        target: format!("P{i}"),
        source: "cli".into(),
        outcome: "ok".into(),
        detail: String::new(),
    }
}

#[tokio::test]
async fn a_connection_left_in_a_transaction_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pool.db"))
        .await
        .unwrap();
    store.append_audit(&entry(0)).await.unwrap();
    {
        let mut conn = store.pool().acquire().await.unwrap();
        let tx = conn.begin_with("BEGIN IMMEDIATE").await.unwrap();
        // no commit, no rollback: the transaction object is gone, the transaction is not
        std::mem::forget(tx);
        assert!(conn.is_in_transaction());
    } // the connection goes back to the pool here
    for i in 1..=8 {
        // every pooled connection is used in turn; none may be stuck or wait for the lock
        tokio::time::timeout(Duration::from_secs(10), store.append_audit(&entry(i)))
            .await
            .unwrap_or_else(|_| panic!("append {i} waited for a lock held by a lost transaction"))
            .unwrap_or_else(|e| panic!("append {i}: {e}"));
    }
    let v = store.verify_audit().await.unwrap();
    assert_eq!(v.rows, 9);
    assert!(v.first_break.is_none());
}
