//! The store contract: every backend must pass these. Each test is written against
//! `&dyn Store`; `backends()` lists the implementations to run it on.

use chrono::{NaiveDate, TimeZone, Utc};
use familiar_model::{
    default_agencies, InteractionKind, NeedFlags, NormalizedRecord, PartialDate, RawLayout, Role,
    SourceIdentity,
};
use familiar_store::{
    FileMeta, LinkDecision, Linkage, NewRecord, PersonEvent, QuarantineRow, RowCounts, SqliteStore,
    Store,
};

async fn backends() -> Vec<(Box<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("contract.db"))
        .await
        .unwrap();
    vec![(Box::new(s), dir)]
}

fn record(key: &str, event: &str, last: Option<&str>) -> NormalizedRecord {
    NormalizedRecord {
        source: "dpd".into(),
        agency: "DPD".into(),
        record_key: key.into(),
        event_key: event.into(),
        kind: InteractionKind::PoliceIncident,
        start: Utc.with_ymd_and_hms(2025, 3, 4, 15, 0, 0).unwrap(),
        local_date: NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(),
        end: None,
        location: None,
        call_type: Some("WELFARE CHECK".into()),
        disposition: None,
        units: None,
        incident_ref: Some(format!("2025-{event}")),
        role: Role::Subject,
        needs: NeedFlags {
            mental_health: true,
            ..Default::default()
        },
        transported: None,
        part2: false,
        identity: last.map(|l| SourceIdentity {
            first: Some("ALEX".into()),
            last: Some(l.into()),
            dob: Some(PartialDate {
                year: 1980,
                month: Some(2),
                day: None,
            }),
            aliases: vec!["AL".into()],
            ..Default::default()
        }),
    }
}

/// A row to ingest, owned (the store borrows it as a [`NewRecord`]).
struct Row {
    version: i64,
    file_id: i64,
    raw: Vec<u8>,
    record: NormalizedRecord,
}

impl Row {
    fn as_new(&self) -> NewRecord<'_> {
        NewRecord {
            version: self.version,
            supersedes: None,
            file_id: self.file_id,
            row_number: 2,
            raw: &self.raw,
            record: &self.record,
        }
    }
}

fn new(rec: NormalizedRecord, version: i64, file_id: i64) -> Row {
    Row {
        version,
        file_id,
        // A pipe-delimited Windows-1252 row, as in the file (see `layout`).
        raw: format!("{}|\"v{version}|x\"|", rec.record_key)
            .into_bytes()
            .into_iter()
            .chain([0xE9])
            .collect(),
        record: rec,
    }
}

fn layout() -> RawLayout {
    RawLayout::Delimited {
        delimiter: b'|',
        encoding: "windows-1252".into(),
        header: vec!["Key".into(), "Note".into(), "Name".into()],
    }
}

async fn ingest(store: &dyn Store, rows: Vec<Row>, commit: bool) {
    let mut tx = store.begin_ingest("sources.toml", "abc").await.unwrap();
    let fid = tx
        .add_file(&FileMeta {
            source: "dpd".into(),
            path: "dpd.csv".into(),
            sha256: "00".into(),
            bytes: 10,
        })
        .await
        .unwrap();
    let rows: Vec<NewRecord> = rows
        .iter()
        .map(|r| NewRecord {
            file_id: fid,
            ..r.as_new()
        })
        .collect();
    tx.insert_records(&rows).await.unwrap();
    tx.quarantine(&[QuarantineRow {
        file_id: fid,
        source: "dpd".into(),
        row_number: 9,
        kind: "bad_date".into(),
        field: Some("When".into()),
        reason: "not a date".into(),
        raw: vec![0xff, b'a', b'\n'],
    }])
    .await
    .unwrap();
    tx.finish_file(
        fid,
        RowCounts {
            read: 3,
            accepted: 2,
            rejected: 1,
            duplicate: 0,
        },
        "00ff",
        10,
        &layout(),
    )
    .await
    .unwrap();
    if commit {
        tx.commit("{}").await.unwrap();
    }
}

#[tokio::test]
async fn a_committed_run_is_visible_and_a_dropped_one_leaves_nothing() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        ingest(
            store,
            vec![
                new(record("a", "e1", Some("SMITH")), 1, 0),
                new(record("b", "e1", None), 1, 0),
            ],
            false,
        )
        .await;
        assert_eq!(store.counts().await.unwrap().source_records, 0);
        assert_eq!(store.counts().await.unwrap().quarantine, 0);

        ingest(
            store,
            vec![
                new(record("a", "e1", Some("SMITH")), 1, 0),
                new(record("b", "e1", None), 1, 0),
            ],
            true,
        )
        .await;
        let c = store.counts().await.unwrap();
        assert_eq!(c.source_records, 2);
        assert_eq!(c.interactions, 2);
        assert_eq!(c.identities, 1);
        assert_eq!(c.quarantine, 1);
        assert_eq!(c.ingest_runs, 1);

        let q = store.quarantine_rows(None).await.unwrap();
        assert_eq!(
            q[0].raw,
            vec![0xff, b'a', b'\n'],
            "rejected bytes kept exactly"
        );

        let ids = store.identities().await.unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].record_key, "a");
        assert_eq!(ids[0].identity.last.as_deref(), Some("SMITH"));
        assert_eq!(ids[0].identity.dob.unwrap().to_string(), "1980-02");
        assert_eq!(ids[0].identity.aliases, vec!["AL".to_string()]);

        let rows = store.interaction_rows().await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].needs, 1);

        // Each row's bytes are kept as read and read back by name through the file's layout.
        let id = store.record_ids().await.unwrap()[&("dpd".to_string(), "a".to_string())];
        let row = store.source_row(id).await.unwrap().unwrap();
        assert_eq!(row.raw, b"a|\"v1|x\"|\xE9");
        assert_eq!((row.source.as_str(), row.record_key.as_str()), ("dpd", "a"));
        assert_eq!(
            (row.file.as_str(), row.row_number, row.version),
            ("dpd.csv", 2, 1)
        );
        assert_eq!(
            row.fields,
            [("Key", "a"), ("Note", "v1|x"), ("Name", "é")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(store.source_row(id + 1000).await.unwrap(), None);
        // a few records named by id, without reading every identity; unknown ids are absent
        let keys = store.record_keys(&[id, id + 1000]).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[&id], ("dpd".to_string(), "a".to_string()));
        assert!(store.record_keys(&[]).await.unwrap().is_empty());
        // "b" names nobody: a record, not an identity
        let b = store.record_ids().await.unwrap()[&("dpd".to_string(), "b".to_string())];
        let current = store
            .current_identity_ids(&[id, b, id + 1000])
            .await
            .unwrap();
        assert_eq!(current.into_iter().collect::<Vec<_>>(), vec![id]);
        assert_eq!(
            store.latest_date().await.unwrap(),
            NaiveDate::from_ymd_opt(2025, 3, 4)
        );
    }
}

#[tokio::test]
async fn event_keys_read_back_whether_or_not_they_equal_the_row_key() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        ingest(
            store,
            vec![
                new(record("k1", "k1", None), 1, 0),
                new(record("k2", "e9", None), 1, 0),
            ],
            true,
        )
        .await;
        let rows = store.interaction_rows().await.unwrap();
        let events: Vec<&str> = rows.iter().map(|r| r.event_key.as_str()).collect();
        assert_eq!(events, ["k1", "e9"]);
    }
}

#[tokio::test]
async fn known_versions_cover_earlier_runs_and_rows_staged_in_this_one() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        ingest(store, vec![new(record("a", "e1", None), 1, 0)], true).await;
        let mut tx = store.begin_ingest("s", "x").await.unwrap();
        assert!(tx.known_versions("elsewhere").await.unwrap().is_empty());
        let staged = new(record("b", "e2", None), 1, 1);
        tx.insert_records(&[staged.as_new()]).await.unwrap();
        let known = tx.known_versions("dpd").await.unwrap();
        let mut keys: Vec<&str> = known.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(
            known["b"].content_hash,
            familiar_model::raw::content_hash(&staged.raw)
        );
    }
}

#[tokio::test]
async fn a_new_version_supersedes_but_keeps_the_old() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        ingest(
            store,
            vec![new(record("a", "e1", Some("SMITH")), 1, 0)],
            true,
        )
        .await;
        let mut tx = store.begin_ingest("s", "x").await.unwrap();
        let known = tx.known_versions("dpd").await.unwrap();
        assert_eq!(known["a"].version, 1);
        assert_eq!(
            known["a"].content_hash,
            familiar_model::raw::content_hash(b"a|\"v1|x\"|\xE9"),
            "the SHA-256 of the stored bytes"
        );
        let changed = new(record("a", "e1", Some("SMYTH")), 2, 1);
        tx.insert_records(&[changed.as_new()]).await.unwrap();
        tx.commit("{}").await.unwrap();
        let c = store.counts().await.unwrap();
        assert_eq!(c.source_records, 2, "old version kept");
        assert_eq!(c.current_records, 1);
        let ids = store.identities().await.unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].identity.last.as_deref(), Some("SMYTH"));
        assert_eq!(store.interaction_rows().await.unwrap().len(), 1);
        // Both versions keep their own bytes.
        let new_id = ids[0].record_id;
        let old = store.source_row(new_id - 1).await.unwrap().unwrap();
        let cur = store.source_row(new_id).await.unwrap().unwrap();
        assert_eq!((old.version, &old.fields[1].1[..]), (1, "v1|x"));
        assert_eq!((cur.version, &cur.fields[1].1[..]), (2, "v2|x"));
        // only the new version is a current identity
        let current = store
            .current_identity_ids(&[new_id - 1, new_id])
            .await
            .unwrap();
        assert_eq!(current.into_iter().collect::<Vec<_>>(), vec![new_id]);
    }
}

#[tokio::test]
async fn linkage_replaces_links_and_retires_unused_persons() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        ingest(
            store,
            vec![
                new(record("a", "e1", Some("SMITH")), 1, 0),
                new(record("b", "e2", Some("SMITH")), 1, 0),
            ],
            true,
        )
        .await;
        let ids = store.record_ids().await.unwrap();
        let a = ids[&("dpd".to_string(), "a".to_string())];
        let b = ids[&("dpd".to_string(), "b".to_string())];
        store
            .save_linkage(&Linkage {
                method: "test".into(),
                actor: "tester".into(),
                links: vec![(a, "P1".into()), (b, "P2".into())],
                link_methods: vec![],
                events: vec![PersonEvent {
                    kind: "new".into(),
                    person_id: "P1".into(),
                    detail: "{}".into(),
                }],
                stats: "{}".into(),
                review: vec![],
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(store.counts().await.unwrap().persons, 2);
        store
            .save_linkage(&Linkage {
                method: "test".into(),
                actor: "tester".into(),
                links: vec![(a, "P1".into()), (b, "P1".into())],
                link_methods: vec!["review".into(), "model".into()],
                events: vec![],
                stats: "{}".into(),
                review: vec![],
                ..Default::default()
            })
            .await
            .unwrap();
        let links = store.person_links().await.unwrap();
        assert_eq!(links[&a], "P1");
        assert_eq!(links[&b], "P1");
        assert_eq!(store.counts().await.unwrap().persons, 1, "P2 retired");
        // a person's identities, read through the index, equal the scan's
        let of: Vec<i64> = store
            .identities_of("P1")
            .await
            .unwrap()
            .iter()
            .map(|r| r.record_id)
            .collect();
        let mut scan: Vec<i64> = store
            .identities()
            .await
            .unwrap()
            .iter()
            .filter(|r| links.get(&r.record_id).map(String::as_str) == Some("P1"))
            .map(|r| r.record_id)
            .collect();
        scan.sort_unstable();
        assert_eq!(of, scan);
        assert_eq!(of, {
            let mut v = vec![a, b];
            v.sort_unstable();
            v
        });
        assert!(store.identities_of("P2").await.unwrap().is_empty());
        store
            .save_linkage(&Linkage {
                method: "test".into(),
                actor: "tester".into(),
                links: vec![(a, "P1".into()), (b, "P1".into())],
                link_methods: vec![],
                events: vec![],
                stats: "{}".into(),
                review: vec![familiar_store::ReviewPair {
                    left_record: b,
                    right_record: a,
                    match_weight: 1.0,
                    match_probability: 0.67,
                }],
                ..Default::default()
            })
            .await
            .unwrap();
        let q = store.review_queue().await.unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(
            (q[0].left_record, q[0].right_record),
            (a, b),
            "stored smaller id first"
        );
        store
            .add_decision(&LinkDecision {
                id: 0,
                at: String::new(),
                actor: "reviewer".into(),
                kind: "non_match".into(),
                left_record: b,
                right_record: Some(a),
                person_id: None,
                reason: "different people".into(),
            })
            .await
            .unwrap();
        assert!(
            store.review_queue().await.unwrap().is_empty(),
            "a decided pair leaves the queue"
        );
        assert_eq!(store.person_events("P1").await.unwrap().len(), 1);
        let rows = store.interaction_rows().await.unwrap();
        assert!(rows.iter().all(|r| r.person_id.as_deref() == Some("P1")));
    }
}

#[tokio::test]
async fn an_update_changes_only_the_named_links_and_keeps_the_model() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        ingest(
            store,
            vec![
                new(record("a", "e1", Some("SMITH")), 1, 0),
                new(record("b", "e2", Some("JONES")), 1, 0),
                new(record("c", "e3", Some("BROWN")), 1, 0),
            ],
            true,
        )
        .await;
        let ids = store.record_ids().await.unwrap();
        let id = |k: &str| ids[&("dpd".to_string(), k.to_string())];
        let (a, b, c) = (id("a"), id("b"), id("c"));
        assert_eq!(store.link_state().await.unwrap(), Default::default());
        let full = store
            .save_linkage(&Linkage {
                method: "model".into(),
                actor: "t".into(),
                links: vec![(a, "P1".into()), (b, "P2".into())],
                review: vec![familiar_store::ReviewPair {
                    left_record: a,
                    right_record: b,
                    match_weight: 1.0,
                    match_probability: 0.6,
                }],
                model: Some("{\"m\":1}".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let st = store.link_state().await.unwrap();
        assert_eq!(st.model_run, Some(full));
        assert_eq!(st.last_run, Some(full));
        assert_eq!(st.model.as_deref(), Some("{\"m\":1}"));
        // c is new and joins P1; b's link is replaced (P2 retired); a is left alone
        let upd = store
            .save_linkage_update(
                &Linkage {
                    method: "model".into(),
                    actor: "t".into(),
                    links: vec![(b, "P1".into()), (c, "P1".into())],
                    decisions_through: Some(7),
                    ..Default::default()
                },
                &[b],
            )
            .await
            .unwrap();
        let links = store.person_links().await.unwrap();
        assert_eq!(links.len(), 3);
        assert!([a, b, c].iter().all(|r| links[r] == "P1"));
        assert_eq!(store.counts().await.unwrap().persons, 1, "P2 retired");
        assert!(
            store.review_queue().await.unwrap().is_empty(),
            "review pairs touching replaced records are replaced"
        );
        let st = store.link_state().await.unwrap();
        assert_eq!((st.last_run, st.model_run), (Some(upd), Some(full)));
        assert_eq!(st.decisions_through, Some(7));
    }
}

#[tokio::test]
async fn decisions_persist_in_order_and_agencies_upsert() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        for (i, kind) in ["match", "non_match"].iter().enumerate() {
            store
                .add_decision(&LinkDecision {
                    id: 0,
                    at: String::new(),
                    actor: "reviewer".into(),
                    kind: kind.to_string(),
                    left_record: 1,
                    right_record: Some(2 + i as i64),
                    person_id: None,
                    reason: "checked".into(),
                })
                .await
                .unwrap();
        }
        let d = store.decisions().await.unwrap();
        assert_eq!(d.len(), 2);
        let mut batch = d.clone();
        for x in &mut batch {
            x.kind = "assign".into();
            x.person_id = Some("P9".into());
        }
        store.add_decisions(&batch).await.unwrap();
        let all = store.decisions().await.unwrap();
        assert_eq!(all.len(), 4, "a batch adds every decision");
        assert_eq!(all[3].person_id.as_deref(), Some("P9"));
        assert_eq!(d[0].kind, "match");
        assert_eq!(d[1].right_record, Some(3));
        assert!(!d[0].at.is_empty());

        store.upsert_agencies(&default_agencies()).await.unwrap();
        let mut again = default_agencies();
        again[0].name = "Renamed".into();
        store.upsert_agencies(&again).await.unwrap();
        let a = store.agencies().await.unwrap();
        assert_eq!(a.len(), 5);
        assert_eq!(a[0].name, "Renamed");
    }
}

#[tokio::test]
async fn the_data_version_moves_with_ingest_and_decisions_and_rule_runs_keep_their_list() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        let v0 = store.data_version().await.unwrap();
        ingest(
            store,
            vec![new(record("a", "e1", Some("SMITH")), 1, 0)],
            true,
        )
        .await;
        let v1 = store.data_version().await.unwrap();
        assert_ne!(v0, v1, "a committed ingest changes the version");
        ingest(store, vec![new(record("b", "e2", None), 1, 0)], false).await;
        assert_eq!(
            store.data_version().await.unwrap(),
            v1,
            "a dropped run does not"
        );
        store
            .add_decision(&LinkDecision {
                id: 0,
                at: String::new(),
                actor: "reviewer".into(),
                kind: "match".into(),
                left_record: 1,
                right_record: Some(2),
                person_id: None,
                reason: "checked".into(),
            })
            .await
            .unwrap();
        let v2 = store.data_version().await.unwrap();
        assert_ne!(v1, v2, "a reviewer's decision changes the version");

        let run = familiar_store::NewRuleRun {
            rule: "cross-agency".into(),
            rule_version: 2,
            definition: "min_interactions = 10".into(),
            as_of: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            data_version: v2.clone(),
            actor: "cli:ana".into(),
            persons: vec!["P2".into(), "P1".into()],
            result: "{}".into(),
        };
        let a = store.save_rule_run(&run).await.unwrap();
        let mut other = run.clone();
        other.rule = "fuse".into();
        let b = store.save_rule_run(&other).await.unwrap();
        let all = store.rule_runs(None).await.unwrap();
        assert_eq!(
            all.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![b, a],
            "newest first"
        );
        let mine = store.rule_runs(Some("cross-agency")).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].run, run, "kept exactly, persons in rank order");
    }
}

/// Every field of an interaction row reads back as written, NULLs as None.
#[tokio::test]
async fn interaction_rows_read_back_every_field() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        let mut full = record("a", "e1", Some("SMITH"));
        full.end = Some(Utc.with_ymd_and_hms(2025, 3, 4, 16, 30, 0).unwrap());
        full.location = Some(familiar_model::Address {
            raw: "123 Main Street Apt 4".into(),
            key: "123 MAIN ST".into(),
            kind: familiar_model::AddressKind::Street,
            ..Default::default()
        });
        full.disposition = Some("TRANSPORTED".into());
        full.transported = Some(true);
        full.part2 = true;
        full.role = Role::Caller;
        let mut bare = record("b", "e2", None);
        bare.call_type = None;
        bare.needs = NeedFlags::default();
        ingest(store, vec![new(full, 1, 0), new(bare, 1, 0)], true).await;
        let ids = store.record_ids().await.unwrap();
        let a = ids[&("dpd".to_string(), "a".to_string())];
        store
            .save_linkage(&Linkage {
                method: "test".into(),
                actor: "tester".into(),
                links: vec![(a, "P7".into())],
                ..Default::default()
            })
            .await
            .unwrap();
        let rows = store.interaction_rows().await.unwrap();
        assert_eq!(rows.len(), 2);
        let (x, y) = (&rows[0], &rows[1]);
        assert_eq!(x.record_id, a);
        assert_eq!((x.agency.as_str(), x.source.as_str()), ("DPD", "dpd"));
        assert_eq!(
            (x.event_key.as_str(), x.kind.as_str()),
            ("e1", "police_incident")
        );
        assert_eq!(
            x.start_utc,
            Utc.with_ymd_and_hms(2025, 3, 4, 15, 0, 0)
                .unwrap()
                .timestamp()
        );
        assert_eq!(x.local_date, NaiveDate::from_ymd_opt(2025, 3, 4).unwrap());
        assert_eq!(x.end_utc, Some(x.start_utc + 5400));
        assert_eq!(x.location_key.as_deref(), Some("123 MAIN ST"));
        assert_eq!(x.location_raw.as_deref(), Some("123 Main Street Apt 4"));
        assert_eq!(x.location_kind.as_deref(), Some("street"));
        assert_eq!(x.call_type.as_deref(), Some("WELFARE CHECK"));
        assert_eq!(x.disposition.as_deref(), Some("TRANSPORTED"));
        assert_eq!((x.role.as_str(), x.needs), ("caller", 1));
        assert_eq!((x.transported, x.part2), (Some(true), true));
        assert_eq!(x.person_id.as_deref(), Some("P7"));
        // the bare row: every optional field empty
        assert_eq!(y.event_key, "e2");
        assert_eq!(y.end_utc, None);
        assert!(y.location_key.is_none() && y.location_raw.is_none() && y.location_kind.is_none());
        assert!(y.call_type.is_none() && y.disposition.is_none() && y.transported.is_none());
        assert_eq!((y.needs, y.part2, y.person_id.as_deref()), (0, false, None));
    }
}

/// An identity carries where its interaction happened when that is a street address or an
/// intersection (a crisis-team visit at the corner a 911 caller named), never a non-place.
#[tokio::test]
async fn identities_carry_street_and_intersection_places() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        let at = |key: &str, kind: familiar_model::AddressKind| familiar_model::Address {
            raw: key.into(),
            key: key.into(),
            kind,
            ..Default::default()
        };
        let mut street = record("a", "e1", Some("SMITH"));
        street.location = Some(at("123 MAIN ST", familiar_model::AddressKind::Street));
        let mut corner = record("b", "e2", Some("SMITH"));
        corner.location = Some(at("MAIN & 5TH", familiar_model::AddressKind::Intersection));
        let mut nowhere = record("c", "e3", Some("SMITH"));
        nowhere.location = Some(at("HOMELESS", familiar_model::AddressKind::Homeless));
        ingest(
            store,
            vec![new(street, 1, 0), new(corner, 1, 0), new(nowhere, 1, 0)],
            true,
        )
        .await;
        let places: Vec<(String, Option<String>)> = store
            .identities()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.record_key, r.place))
            .collect();
        assert_eq!(
            places,
            [
                ("a".to_string(), Some("123 MAIN ST".to_string())),
                ("b".to_string(), Some("MAIN & 5TH".to_string())),
                ("c".to_string(), None),
            ]
        );
    }
}

/// An identity carries the 911 call its interaction came from (linkage compares it across
/// agencies); a row whose source maps none carries none.
#[tokio::test]
async fn identities_carry_their_incident_ref() {
    for (store, _dir) in backends().await {
        let store = store.as_ref();
        let with = record("a", "e1", Some("SMITH"));
        let mut without = record("b", "e2", Some("SMITH"));
        without.incident_ref = None;
        ingest(store, vec![new(with, 1, 0), new(without, 1, 0)], true).await;
        let refs: Vec<(String, Option<String>)> = store
            .identities()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.record_key, r.incident_ref))
            .collect();
        assert_eq!(
            refs,
            [
                ("a".to_string(), Some("2025-e1".to_string())),
                ("b".to_string(), None),
            ]
        );
    }
}
