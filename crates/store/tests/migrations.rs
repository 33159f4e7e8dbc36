//! Applied migrations are never edited: sqlx keeps each migration's checksum in the store and
//! refuses to open a store whose applied migration has changed since (every county that ran the
//! old file would be locked out). A change to the schema is a new migration file; add its
//! digest here.

use sha2::{Digest, Sha256};

const APPLIED: [(&str, &str); 8] = [
    (
        "0001_init.sql",
        "e6e546ca2e984e43f90335132df8bb406d28846bd1ad8609a0edbd7f3c2d0b2c",
    ),
    (
        "0002_access.sql",
        "d855b74850962ada70400e8bdfa1226bc5816ded6d2cc9b25b4b5db81f476b4a",
    ),
    (
        "0003_link_state.sql",
        "e274d84129ffcb0876d1f26fefb91cf8c2dd24ffa2b0a061eecf2a480d4155b4",
    ),
    (
        "0004_rule_runs.sql",
        "fda05393f2c8635e9abea777405882d117c24f1e534cb7c27c8a23bec220f0ec",
    ),
    (
        "0005_incident_ref.sql",
        "788871b6357974ebc667e69b4e5a4c231979d98b49330babdb7efd40b6be7e21",
    ),
    (
        "0006_person_events_index.sql",
        "fe716a7bd811e91d70eb12fd6bd5b088c636f54cdfc7f3b9a57de0ae816b67c5",
    ),
    (
        "0007_address_failures.sql",
        "becd91947720f70d3c218cc2f3a62690de7005508a0442acf38e1d8ce504b65e",
    ),
    (
        "0008_sealed_rows.sql",
        "96296ae4a8cae2b0f55a1db9513defd6b1e0258c20b8d13ac6e7a5f8d23a08bd",
    ),
];

#[test]
fn applied_migrations_are_unchanged() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for (file, want) in APPLIED {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            got, want,
            "{file} changed after it was applied: put the change in a new migration"
        );
    }
    // every migration in the folder is listed (a new one gets its digest added here)
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = APPLIED.iter().map(|(f, _)| *f).collect();
    assert_eq!(on_disk, listed);
}
