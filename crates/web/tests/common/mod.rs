//! A small synthetic county in a temporary store, users of every role, and a cookie-keeping
//! client that drives the real router with `tower::ServiceExt::oneshot`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{NaiveDate, TimeZone, Utc};
use familiar_model::{
    default_agencies, Address, AddressKind, InteractionKind, NeedFlags, NormalizedRecord,
    PartialDate, Role, SourceIdentity,
};
use familiar_store::{FileMeta, Linkage, NewRecord, SqliteStore, Store, UserRole};
use familiar_web::users::{add_user, totp_code, PasswordParams, UserSpec};
use familiar_web::{app, AppState, Clock, Config};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";
/// The name of person P1, who is also the XSS probe.
pub const XSS_NAME: &str = "<script>alert('x')</script>";

pub struct Fixture {
    pub app: Router,
    pub state: AppState,
    pub store: Arc<SqliteStore>,
    pub secrets: HashMap<String, String>,
    pub clock: Clock,
    pub _dir: tempfile::TempDir,
}

struct Rec {
    agency: &'static str,
    source: &'static str,
    kind: InteractionKind,
    key: String,
    event: String,
    date: NaiveDate,
    person: Option<String>,
    first: String,
    last: String,
    dob: PartialDate,
    part2: bool,
    needs: NeedFlags,
    location: Option<&'static str>,
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn dob(y: i32, m: u32, day: u32) -> PartialDate {
    PartialDate::full(d(y, m, day))
}

#[allow(clippy::too_many_arguments)]
fn rec(
    agency: &'static str,
    n: usize,
    date: NaiveDate,
    person: &str,
    first: &str,
    last: &str,
    born: PartialDate,
) -> Rec {
    let (source, kind) = match agency {
        "DECC" => ("decc_cad", InteractionKind::Call911),
        "DPD" => ("dpd_rms", InteractionKind::PoliceIncident),
        "DFD" => ("dfd_ems", InteractionKind::EmsRun),
        "DCSD" => ("dcsd_jail", InteractionKind::JailBooking),
        _ => ("heart", InteractionKind::CrisisResponse),
    };
    Rec {
        agency,
        source,
        kind,
        key: format!("{person}-{agency}-{n}"),
        event: format!("{person}-{agency}-E{n}"),
        date,
        person: Some(person.to_string()),
        first: first.to_string(),
        last: last.to_string(),
        dob: born,
        part2: false,
        needs: NeedFlags::default(),
        location: Some("100 MAIN ST"),
    }
}

/// The county:
/// - D01..D30: 6+ DECC calls each; D01..D12 12+; D01..D03 25+ (a small 20+ cell).
/// - P1 (named [`XSS_NAME`]): 6 HEART responses (one 42 CFR Part 2), 3 DPD incidents.
/// - L01..L40: one EMS run each (people with "any contact" but few).
/// - P2: 4 DECC calls.  P3 and P4: the same "LUIS GARCIA", born 1980-05-05, in two persons
///   (a review pair).
fn county() -> Vec<Rec> {
    let mut v = Vec::new();
    for i in 1..=30 {
        let p = format!("D{i:02}");
        let n = if i <= 3 {
            25
        } else if i <= 12 {
            12
        } else {
            6
        };
        for k in 0..n {
            v.push(rec(
                "DECC",
                k,
                d(2025, 1 + (k % 6) as u32, 1 + (k / 6) as u32),
                &p,
                "PAT",
                &format!("SURNAMEVERYLONG{i:02}"),
                dob(1970 + i, 1, 1),
            ));
        }
    }
    for k in 0..6 {
        let mut r = rec(
            "HEART",
            k,
            d(2025, 2 + k as u32, 10),
            "P1",
            "ANA",
            XSS_NAME,
            dob(1985, 3, 3),
        );
        r.needs.mental_health = true;
        if k == 0 {
            r.part2 = true;
            r.needs.substance_use = true;
        }
        v.push(r);
    }
    for k in 0..3 {
        v.push(rec(
            "DPD",
            k,
            d(2025, 3, 1 + k as u32),
            "P1",
            "ANA",
            XSS_NAME,
            dob(1985, 3, 3),
        ));
    }
    for k in 0..4 {
        v.push(rec(
            "DECC",
            100 + k,
            d(2025, 4, 1 + k as u32),
            "P2",
            "BO",
            "WILLIAMSONLY",
            dob(1990, 7, 7),
        ));
    }
    for i in 1..=40 {
        v.push(rec(
            "DFD",
            1,
            d(2025, 5, 1 + (i % 28) as u32),
            &format!("L{i:02}"),
            "LEE",
            &format!("LIGHTUSER{i:02}"),
            dob(1960 + i, 2, 2),
        ));
    }
    v.push(rec(
        "DFD",
        1,
        d(2025, 5, 5),
        "P3",
        "LUIS",
        "GARCIA",
        dob(1980, 5, 5),
    ));
    v.push(rec(
        "DCSD",
        1,
        d(2025, 6, 30),
        "P4",
        "LUIS",
        "GARCIA",
        dob(1980, 5, 5),
    ));
    v
}

fn normalized(r: &Rec) -> NormalizedRecord {
    NormalizedRecord {
        source: r.source.into(),
        agency: r.agency.into(),
        record_key: r.key.clone(),
        event_key: r.event.clone(),
        kind: r.kind,
        start: Utc.from_utc_datetime(&r.date.and_hms_opt(12, 0, 0).unwrap()),
        local_date: r.date,
        end: None,
        location: r.location.map(|l| Address {
            raw: l.to_string(),
            key: l.to_string(),
            kind: AddressKind::Street,
            ..Default::default()
        }),
        call_type: Some("WELFARE CHECK".into()),
        disposition: None,
        units: None,
        // police incidents cite the 911 call that sent them
        incident_ref: (r.agency == "DPD").then(|| "2025000123".to_string()),
        role: Role::Subject,
        needs: r.needs,
        transported: None,
        part2: r.part2,
        identity: Some(SourceIdentity {
            first: Some(r.first.clone()),
            last: Some(r.last.clone()),
            dob: Some(r.dob),
            sex: Some("M".into()),
            ..Default::default()
        }),
    }
}

pub async fn load_county(store: &SqliteStore) {
    store.upsert_agencies(&default_agencies()).await.unwrap();
    let recs = county();
    let mut tx = store.begin_ingest("sources.toml", "00").await.unwrap();
    let mut by_source: HashMap<&str, Vec<&Rec>> = HashMap::new();
    for r in &recs {
        by_source.entry(r.source).or_default().push(r);
    }
    let mut sources: Vec<_> = by_source.into_iter().collect();
    sources.sort_by_key(|(s, _)| *s);
    for (source, rs) in sources {
        let fid = tx
            .add_file(&FileMeta {
                source: source.into(),
                path: format!("/data/{source}.csv"),
                sha256: "00".into(),
                bytes: 1,
            })
            .await
            .unwrap();
        let records: Vec<NormalizedRecord> = rs.iter().map(|r| normalized(r)).collect();
        let rows: Vec<NewRecord> = rs
            .iter()
            .zip(&records)
            .enumerate()
            .map(|(i, (r, record))| NewRecord {
                version: 1,
                supersedes: None,
                file_id: fid,
                row_number: i as u64 + 2,
                raw: r.key.as_bytes(),
                record,
            })
            .collect();
        tx.insert_records(&rows).await.unwrap();
        tx.finish_file(
            fid,
            familiar_store::RowCounts {
                read: rows.len() as u64,
                accepted: rows.len() as u64,
                rejected: 0,
                duplicate: 0,
            },
            "00",
            1,
            &familiar_model::RawLayout::Delimited {
                delimiter: b',',
                encoding: "UTF-8".into(),
                header: vec!["key".into()],
            },
        )
        .await
        .unwrap();
    }
    tx.commit("{}").await.unwrap();
    let ids = store.record_ids().await.unwrap();
    let links: Vec<(i64, String)> = recs
        .iter()
        .map(|r| {
            (
                ids[&(r.source.to_string(), r.key.clone())],
                r.person.clone().unwrap(),
            )
        })
        .collect();
    store
        .save_linkage(&Linkage {
            method: "test".into(),
            actor: "test".into(),
            links,
            ..Default::default()
        })
        .await
        .unwrap();
}

/// The principals of the route × role matrix, and the user names that play them.
pub const ROLES: &[(&str, UserRole)] = &[
    ("admin", UserRole::Admin),
    ("analyst", UserRole::Analyst),
    ("cm", UserRole::CaseManager),
    ("liaison", UserRole::AgencyLiaison),
    ("viewer", UserRole::Viewer),
];

pub async fn fixture() -> Fixture {
    fixture_with(Config {
        secure_cookies: false,
        password: PasswordParams::fast_for_tests(),
        ..Config::default()
    })
    .await
}

pub async fn fixture_with(config: Config) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("f.db")).await.unwrap());
    load_county(&store).await;
    let mut secrets = HashMap::new();
    let users: Vec<(&str, UserRole, Option<&str>, Vec<String>)> = vec![
        ("admin", UserRole::Admin, None, vec![]),
        ("analyst", UserRole::Analyst, None, vec![]),
        ("cm", UserRole::CaseManager, None, vec!["P1".into()]),
        ("liaison", UserRole::AgencyLiaison, Some("DPD"), vec![]),
        ("heart", UserRole::AgencyLiaison, Some("HEART"), vec![]),
        ("viewer", UserRole::Viewer, None, vec![]),
        ("spare", UserRole::Viewer, None, vec![]),
    ];
    for (name, role, agency, assignments) in users {
        let c = add_user(
            store.as_ref(),
            &UserSpec {
                username: name.into(),
                role,
                password: Some(PASSWORD.into()),
                agency: agency.map(String::from),
                assignments,
            },
            PasswordParams::fast_for_tests(),
            "test",
        )
        .await
        .unwrap();
        secrets.insert(name.to_string(), c.totp_secret);
    }
    let clock = Clock::default();
    let state = AppState::with_clock(store.clone(), config, clock.clone()).unwrap();
    Fixture {
        app: app(state.clone()),
        state,
        store,
        secrets,
        clock,
        _dir: dir,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// A browser-ish client: keeps cookies, knows its CSRF token.
#[derive(Clone)]
pub struct Client {
    pub app: Router,
    pub cookies: HashMap<String, String>,
    pub csrf: String,
}

pub fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                familiar_web::auth::url_encode(k),
                familiar_web::auth::url_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

impl Client {
    pub fn new(app: &Router) -> Client {
        Client {
            app: app.clone(),
            cookies: HashMap::new(),
            csrf: String::new(),
        }
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        b = b.header(header::HOST, "localhost");
        if !self.cookies.is_empty() {
            let c = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            b = b.header(header::COOKIE, c);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some((ct, bytes)) => b
                .header(header::CONTENT_TYPE, ct)
                .body(Body::from(bytes))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Method::GET, path, None, &[]).await
    }

    /// POST a form with this client's CSRF token added.
    pub async fn post_form(&mut self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf.clone();
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        all.push(("csrf", &csrf));
        self.send(
            Method::POST,
            path,
            Some(("application/x-www-form-urlencoded", form(&all))),
            &[],
        )
        .await
    }

    pub async fn post_json(&mut self, path: &str, v: serde_json::Value) -> Resp {
        let csrf = self.csrf.clone();
        self.send(
            Method::POST,
            path,
            Some(("application/json", serde_json::to_vec(&v).unwrap())),
            &[("x-csrf-token", &csrf)],
        )
        .await
    }

    /// Fill in and submit the login form. Returns the POST's response.
    pub async fn try_login(&mut self, user: &str, password: &str, code: &str) -> Resp {
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let form_at = page.body.find("action=\"/login\"").expect("login form");
        let token = between(&page.body[form_at..], "name=\"csrf\" value=\"", "\"")
            .expect("login form token")
            .to_string();
        self.send(
            Method::POST,
            "/login",
            Some((
                "application/x-www-form-urlencoded",
                form(&[
                    ("username", user),
                    ("password", password),
                    ("totp", code),
                    ("csrf", &token),
                ]),
            )),
            &[],
        )
        .await
    }
}

impl Fixture {
    pub fn code(&self, user: &str) -> String {
        totp_code(&self.secrets[user], self.clock.now()).unwrap()
    }

    /// A signed-in client. Moves the clock one TOTP step on, so the same user can log in again.
    pub async fn login(&self, user: &str) -> Client {
        self.clock.advance(30);
        let mut c = Client::new(&self.app);
        let code = self.code(user);
        let r = c.try_login(user, PASSWORD, &code).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login {user}: {}", r.body);
        let me = c.get("/api/me").await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        let v: serde_json::Value = serde_json::from_str(&me.body).unwrap();
        c.csrf = v["csrf"].as_str().unwrap().to_string();
        c
    }

    pub async fn audit_actions(&self) -> Vec<(String, String, String)> {
        use familiar_store::{AccessStore, AuditQuery};
        self.store
            .audit_entries(&AuditQuery::default())
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, e.outcome))
            .collect()
    }
}
