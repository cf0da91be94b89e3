//! The SQLite pool never hands out a connection left inside a transaction.

use sqlx::{Connection, SqliteConnection};

#[tokio::test]
async fn a_connection_left_inside_a_transaction_is_not_reused() {
    let dir = std::env::temp_dir().join("medisync-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.join(format!("{}.db", uuid::Uuid::now_v7())).display()
    );
    let mut clean = SqliteConnection::connect(&url).await.expect("connect");
    assert!(app::db::outside_any_transaction(&mut clean)
        .await
        .expect("probe"));

    // What a request cancelled between BEGIN and its transaction handle leaves.
    let mut stuck = SqliteConnection::connect(&url).await.expect("connect");
    let open = stuck.begin_with("BEGIN IMMEDIATE").await.expect("begin");
    std::mem::forget(open);
    assert!(
        stuck.begin_with("BEGIN IMMEDIATE").await.is_err(),
        "sqlx refuses the connection from now on"
    );
    assert!(!app::db::outside_any_transaction(&mut stuck)
        .await
        .expect("probe"));
    // The pool closes it, which also releases the lock it held.
    stuck.close().await.expect("close");
    // The probe itself leaves a clean connection clean.
    assert!(app::db::outside_any_transaction(&mut clean)
        .await
        .expect("probe"));
    let tx = clean
        .begin_with("BEGIN IMMEDIATE")
        .await
        .expect("still usable");
    tx.rollback().await.expect("rollback");
}
