//! The web app end to end through the real router: the route × role matrix, XSS, SQL
//! injection, CSRF, lockout, idle timeout, TOTP replay, scoping (assignments, agency, 42 CFR
//! Part 2), suppression on the public page, and the audit trail of it all.

mod common;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use common::*;
use familiar_engine::{key_measures, MeasureOptions, Snapshot as EngineSnapshot};
use familiar_model::measures::{DEFAULT_THRESHOLDS, DEFAULT_WINDOW_DAYS};
use familiar_store::{AccessStore, Store};
use familiar_web::routes::{RouteId, ROUTES};
use familiar_web::suppress::{check_protected, MeasureGrid};

const ANON: &str = "anon";

/// Who may reach each route, written out independently of the route table. A route in the
/// table without a row here, or a row here without a route, fails the matrix test.
const MATRIX: &[(&str, &str, &[&str])] = &[
    (
        "GET",
        "/",
        &[ANON, "admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "GET",
        "/healthz",
        &[ANON, "admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "GET",
        "/assets/app.css",
        &[ANON, "admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "GET",
        "/assets/app.js",
        &[ANON, "admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "GET",
        "/openapi.json",
        &[ANON, "admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "GET",
        "/login",
        &[ANON, "admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "POST",
        "/login",
        &[ANON, "admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "POST",
        "/logout",
        &["admin", "analyst", "cm", "liaison", "viewer"],
    ),
    ("GET", "/neighbors", &["admin", "analyst", "cm", "liaison"]),
    (
        "GET",
        "/neighbors.csv",
        &["admin", "analyst", "cm", "liaison"],
    ),
    (
        "GET",
        "/people/{id}",
        &["admin", "analyst", "cm", "liaison"],
    ),
    ("GET", "/places", &["admin", "analyst", "liaison"]),
    ("GET", "/review", &["admin", "analyst"]),
    ("POST", "/review/decide", &["admin", "analyst"]),
    ("GET", "/sources", &["admin", "analyst"]),
    ("GET", "/sources/rejects.csv", &["admin", "analyst"]),
    ("GET", "/audit", &["admin"]),
    ("GET", "/audit/export", &["admin"]),
    ("GET", "/admin/dashboard", &["admin"]),
    ("POST", "/admin/dashboard", &["admin"]),
    ("GET", "/admin/users", &["admin"]),
    ("POST", "/admin/users/toggle", &["admin"]),
    (
        "GET",
        "/api/public/measures",
        &[ANON, "admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "GET",
        "/api/me",
        &["admin", "analyst", "cm", "liaison", "viewer"],
    ),
    (
        "GET",
        "/api/neighbors",
        &["admin", "analyst", "cm", "liaison"],
    ),
    (
        "GET",
        "/api/people/{id}",
        &["admin", "analyst", "cm", "liaison"],
    ),
    ("GET", "/api/places", &["admin", "analyst", "liaison"]),
    ("GET", "/api/review", &["admin", "analyst"]),
    ("POST", "/api/review/decide", &["admin", "analyst"]),
    ("GET", "/api/sources", &["admin", "analyst"]),
    ("GET", "/api/audit", &["admin"]),
    ("GET", "/api/audit/verify", &["admin"]),
];

async fn record_id(f: &Fixture, source: &str, key: &str) -> i64 {
    f.store.record_ids().await.unwrap()[&(source.to_string(), key.to_string())]
}

#[test]
fn every_route_is_in_the_matrix_and_every_matrix_row_is_a_route() {
    for r in ROUTES {
        assert!(
            MATRIX
                .iter()
                .any(|(m, p, _)| *m == r.method && *p == r.path),
            "route {} {} exists in the router but not in the route × role matrix",
            r.method,
            r.path
        );
    }
    for (m, p, _) in MATRIX {
        assert!(
            ROUTES.iter().any(|r| r.method == *m && r.path == *p),
            "matrix row {m} {p} names no route"
        );
    }
}

#[tokio::test]
async fn route_by_role_matrix() {
    let f = fixture().await;
    let left = record_id(&f, "dfd_ems", "P3-DFD-1").await;
    let right = record_id(&f, "dcsd_jail", "P4-DCSD-1").await;
    let mut principals: Vec<(&str, Client)> = vec![(ANON, Client::new(&f.app))];
    for (name, _) in ROLES {
        principals.push((name, f.login(name).await));
    }
    // Logout last: it ends the session the other rows use.
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|r| r.id == RouteId::Logout);
    let mut checked = 0;
    for r in routes {
        let allowed = MATRIX
            .iter()
            .find(|(m, p, _)| *m == r.method && *p == r.path)
            .unwrap()
            .2;
        let path = r.path.replace("{id}", "P1");
        for (who, c) in principals.iter_mut() {
            let res = match r.id {
                RouteId::LoginSubmit => c.try_login("nobody", "wrong password!", "000000").await,
                RouteId::ReviewDecide => {
                    c.post_form(
                        &path,
                        &[
                            ("decision", "non_match"),
                            ("left", &left.to_string()),
                            ("right", &right.to_string()),
                            ("reason", "matrix"),
                        ],
                    )
                    .await
                }
                RouteId::ApiReviewDecide => {
                    c.post_json(
                        &path,
                        serde_json::json!({"decision": "non_match", "left": left, "right": right, "reason": "matrix"}),
                    )
                    .await
                }
                RouteId::AdminDashboardSave => {
                    c.post_form(&path, &[("status", "in_progress"), ("done", "a"), ("next", "b")])
                        .await
                }
                RouteId::AdminUserToggle => {
                    c.post_form(&path, &[("username", "spare"), ("disabled", "true")])
                        .await
                }
                RouteId::Logout => c.post_form(&path, &[]).await,
                _ => c.get(&path).await,
            };
            let is_allowed = allowed.contains(who);
            let expect_ok = match (r.method, r.id) {
                ("GET", _) | (_, RouteId::LoginSubmit) | (_, RouteId::ApiReviewDecide) => {
                    StatusCode::OK
                }
                _ => StatusCode::SEE_OTHER,
            };
            if is_allowed {
                assert_eq!(
                    res.status,
                    expect_ok,
                    "{who} {} {path} should be allowed: {}",
                    r.method,
                    between(&res.body, "<main>", "</main>").unwrap_or(&res.body)
                );
            } else if *who == ANON {
                let to_login = res.status == StatusCode::SEE_OTHER
                    && res.location().starts_with("/login?next=");
                assert!(
                    to_login || res.status == StatusCode::UNAUTHORIZED,
                    "anonymous {} {path} must be refused, got {}",
                    r.method,
                    res.status
                );
            } else {
                assert_eq!(
                    res.status,
                    StatusCode::FORBIDDEN,
                    "{who} {} {path} must be forbidden",
                    r.method
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * 6);
    // Denials by signed-in users are audited.
    let log = f.audit_actions().await;
    assert!(log
        .iter()
        .any(|(a, act, o)| a == "viewer" && act == "access.denied" && o == "denied"));
    assert!(log
        .iter()
        .any(|(_, act, o)| act == "login" && o == "failed"));
}

#[tokio::test]
async fn anonymous_get_of_every_non_public_path_is_refused() {
    let f = fixture().await;
    let mut c = Client::new(&f.app);
    for path in [
        "/people",
        "/persons",
        "/neighbors",
        "/review",
        "/api/people",
        "/api/persons",
        "/admin",
        "/audit",
        "/people/P1",
        "/api/people/P1",
        "/api/neighbors",
        "/sources/rejects.csv",
    ] {
        let r = c.get(path).await;
        assert_ne!(r.status, StatusCode::OK, "{path}");
    }
    // Same for every GET path the OpenAPI document lists (as the acceptance check does).
    let doc: serde_json::Value = serde_json::from_str(&c.get("/openapi.json").await.body).unwrap();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if path.contains('{') || ops.get("get").is_none() || path.contains("public") {
            continue;
        }
        let r = c.get(path).await;
        assert_ne!(r.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let f = fixture().await;
    let mut c = Client::new(&f.app);
    for path in ["/", "/login", "/nope", "/assets/app.css", "/neighbors"] {
        let r = c.get(path).await;
        let h = |k: &str| {
            r.headers
                .get(k)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        assert!(
            h("content-security-policy").contains("default-src 'self'"),
            "{path}"
        );
        assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(h("referrer-policy"), "no-referrer");
        assert_eq!(h("x-frame-options"), "DENY");
        if !path.starts_with("/assets/") {
            assert_eq!(h("cache-control"), "no-store", "{path}");
        }
    }
    // No inline script or style anywhere in the pages.
    let admin = &mut f.login("admin").await;
    for path in [
        "/",
        "/neighbors",
        "/people/P1",
        "/review",
        "/audit",
        "/admin/dashboard",
    ] {
        let body = admin.get(path).await.body;
        assert!(!body.contains("<script>"), "{path} has an inline script");
        assert!(!body.contains("style="), "{path} has an inline style");
        assert!(!body.contains("<style"), "{path} has a style element");
    }
}

#[tokio::test]
async fn session_cookie_flags() {
    let f = fixture_with(familiar_web::Config {
        password: familiar_web::PasswordParams::fast_for_tests(),
        ..familiar_web::Config::default()
    })
    .await;
    let mut c = Client::new(&f.app);
    let page = c.get("/login").await;
    let set = page.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.starts_with("__Host-familiar_login="));
    f.clock.advance(30);
    let code = f.code("admin");
    let r = c.try_login("admin", PASSWORD, &code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-familiar_session="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
    assert!(r.headers.get("strict-transport-security").is_some());
}

#[tokio::test]
async fn person_names_are_escaped() {
    let f = fixture().await;
    let mut admin = f.login("admin").await;
    for path in ["/people/P1", "/neighbors?agency=HEART&threshold=1"] {
        let r = admin.get(path).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.body.contains(XSS_NAME), "{path} shows the raw name");
        assert!(
            r.body
                .contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;")
                || r.body
                    .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
            "{path} does not show the escaped name: {:?}",
            r.body
                .find("alert")
                .map(|i| &r.body[i.saturating_sub(40)..i + 60])
        );
    }
    // The CSV neutralizes nothing it doesn't need to, but is served as an attachment.
    let csv = admin.get("/neighbors.csv?threshold=1").await;
    assert!(csv.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    // The API returns JSON (the name as data, for the client to escape).
    let api = admin.get("/api/people/P1").await;
    assert_eq!(api.headers["content-type"], "application/json");
}

#[tokio::test]
async fn sql_injection_strings_in_every_filter_are_harmless() {
    let f = fixture().await;
    let mut admin = f.login("admin").await;
    let users_before = f.store.users().await.unwrap().len();
    let probes = [
        "' OR '1'='1",
        "1; DROP TABLE users;--",
        "DPD' UNION SELECT password_hash FROM users--",
        "\" OR 1=1 --",
        "%27%20OR%201%3D1",
        "1) OR (1=1",
    ];
    for p in probes {
        let e = familiar_web::auth::url_encode(p);
        for path in [
            format!("/neighbors?agency={e}"),
            format!("/neighbors?window={e}"),
            format!("/neighbors?threshold={e}"),
            format!("/neighbors.csv?agency={e}"),
            format!("/places?agency={e}&window={e}"),
            format!("/api/neighbors?threshold={e}"),
            format!("/api/places?agency={e}"),
            format!("/audit?actor={e}&action={e}&before={e}"),
            format!("/api/audit?actor={e}"),
            format!("/people/{e}"),
            format!("/api/people/{e}"),
            format!("/audit/export?format={e}"),
        ] {
            let r = admin.get(&path).await;
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::BAD_REQUEST,
                    StatusCode::NOT_FOUND
                ]
                .contains(&r.status),
                "{path}: {}",
                r.status
            );
            assert!(!r.body.contains("$argon2"), "{path} leaked a hash");
        }
        let r = admin
            .post_form(
                "/review/decide",
                &[("decision", p), ("left", p), ("right", p), ("reason", p)],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(f.store.users().await.unwrap().len(), users_before);
    assert!(f.store.verify_audit().await.unwrap().intact());
    // The login form too: an injection string as user name is just a failed login.
    let mut c = Client::new(&f.app);
    let r = c.try_login("admin' --", "x", "000000").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Login failed"));
}

#[tokio::test]
async fn csrf_is_enforced() {
    let f = fixture().await;
    let mut a = f.login("analyst").await;
    let left = record_id(&f, "dfd_ems", "P3-DFD-1").await.to_string();
    let right = record_id(&f, "dcsd_jail", "P4-DCSD-1").await.to_string();
    let fields = [
        ("decision", "match"),
        ("left", left.as_str()),
        ("right", right.as_str()),
        ("reason", "same DOB and name"),
    ];
    // No token.
    let r = a
        .send(
            Method::POST,
            "/review/decide",
            Some(("application/x-www-form-urlencoded", form(&fields))),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Wrong token.
    let mut with_wrong = fields.to_vec();
    with_wrong.push(("csrf", "not-the-token"));
    let r = a
        .send(
            Method::POST,
            "/review/decide",
            Some(("application/x-www-form-urlencoded", form(&with_wrong))),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Right token, but from another site.
    let csrf = a.csrf.clone();
    let mut good = fields.to_vec();
    good.push(("csrf", &csrf));
    for h in [
        [
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        [("origin", "http://evil.example"), ("x-other", "1")],
        [("sec-fetch-site", "cross-site"), ("x-other", "1")],
        [("sec-fetch-site", "same-site"), ("x-other", "1")],
    ] {
        let r = a
            .send(
                Method::POST,
                "/review/decide",
                Some(("application/x-www-form-urlencoded", form(&good))),
                &h,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{h:?}");
    }
    // The API needs the header.
    let r = a
        .send(
            Method::POST,
            "/api/review/decide",
            Some(("application/json", b"{}".to_vec())),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        f.store.decisions().await.unwrap().is_empty(),
        "nothing got through"
    );
    // Same-origin with the token works, including the `Origin: null` browsers send from a
    // no-referrer page.
    let r = a
        .send(
            Method::POST,
            "/review/decide",
            Some(("application/x-www-form-urlencoded", form(&good))),
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = a
        .send(
            Method::POST,
            "/review/decide",
            Some(("application/x-www-form-urlencoded", form(&good))),
            &[
                ("origin", "http://localhost"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(f.store.decisions().await.unwrap().len(), 2);
    // Login without the form's cookie is refused too.
    let mut c = Client::new(&f.app);
    let code = f.code("viewer");
    let r = c
        .send(
            Method::POST,
            "/login",
            Some((
                "application/x-www-form-urlencoded",
                form(&[
                    ("username", "viewer"),
                    ("password", PASSWORD),
                    ("totp", &code),
                    ("csrf", "x"),
                ]),
            )),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let log = f.audit_actions().await;
    assert!(log.iter().filter(|(_, a, _)| a == "csrf.rejected").count() >= 6);
}

#[tokio::test]
async fn lockout_after_five_failures_in_fifteen_minutes() {
    let f = fixture().await;
    let mut c = Client::new(&f.app);
    for _ in 0..5 {
        let r = c.try_login("viewer", "wrong password!!", "000000").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("Login failed"));
    }
    f.clock.advance(30);
    let code = f.code("viewer");
    let r = c.try_login("viewer", PASSWORD, &code).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "locked: the right password is refused"
    );
    assert!(!c.cookies.contains_key("familiar_session"));
    // Unknown names lock the same way (no user enumeration).
    for _ in 0..6 {
        c.try_login("ghost", "x", "000000").await;
    }
    let log = f.audit_actions().await;
    assert!(log
        .iter()
        .any(|(a, act, o)| a == "viewer" && act == "login" && o == "locked"));
    assert!(log
        .iter()
        .any(|(a, act, o)| a == "ghost" && act == "login" && o == "locked"));
    // After the window the account opens again.
    f.clock.advance(15 * 60 + 1);
    let code = f.code("viewer");
    let r = c.try_login("viewer", PASSWORD, &code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/");
}

/// A TOTP secret that does not open (damaged, or sealed under another key) fails that login
/// like a wrong code, audited, and leaves every other account working.
#[tokio::test]
async fn a_secret_that_does_not_open_fails_only_that_login() {
    let f = fixture().await;
    sqlx::query("UPDATE users SET totp_secret = 'aes256gcm:00112233445566778899aabbccddeeff' WHERE username = 'viewer'")
        .execute(f.store.pool())
        .await
        .unwrap();
    f.clock.advance(30);
    let mut c = Client::new(&f.app);
    let code = f.code("viewer");
    let r = c.try_login("viewer", PASSWORD, &code).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the login page again, not an error"
    );
    assert!(r.body.contains("Login failed"));
    assert!(!c.cookies.contains_key("familiar_session"));
    let log = f.audit_actions().await;
    assert!(log
        .iter()
        .any(|(a, act, o)| a == "viewer" && act == "login" && o == "failed"));
    // the others log in, and the admin still lists every account
    let mut admin = f.login("admin").await;
    assert_eq!(admin.get("/admin/users").await.status, StatusCode::OK);
}

/// Password spraying: many names tried from one address lock that address out (even the right
/// credentials are refused) though no one name reached its own lockout; it opens again after
/// the window.
#[tokio::test]
async fn many_failures_from_one_address_lock_the_address() {
    let f = fixture().await;
    let mut c = Client::new(&f.app);
    for i in 0..30 {
        let r = c
            .try_login(&format!("sprayed{i}"), "Winter2025!", "000000")
            .await;
        assert_eq!(r.status, StatusCode::OK, "attempt {i}");
    }
    f.clock.advance(30);
    let code = f.code("analyst");
    let r = c.try_login("analyst", PASSWORD, &code).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many failed logins from this address"));
    assert!(!c.cookies.contains_key("familiar_session"));
    let log = f.audit_actions().await;
    assert!(log
        .iter()
        .any(|(a, act, o)| a == "analyst" && act == "login" && o == "locked"));
    f.clock.advance(15 * 60 + 1);
    let code = f.code("analyst");
    let r = c.try_login("analyst", PASSWORD, &code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn totp_is_required_and_single_use() {
    let f = fixture().await;
    let mut c = Client::new(&f.app);
    f.clock.advance(30);
    let r = c.try_login("analyst", PASSWORD, "").await;
    assert!(r.body.contains("Login failed"));
    let code = f.code("analyst");
    let r = c.try_login("analyst", PASSWORD, &code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut c2 = Client::new(&f.app);
    let r = c2.try_login("analyst", PASSWORD, &code).await;
    assert_eq!(r.status, StatusCode::OK, "a replayed code is refused");
    let log = f.audit_actions().await;
    assert!(log
        .iter()
        .any(|(a, act, o)| a == "analyst" && act == "login" && o == "ok"));
}

#[tokio::test]
async fn idle_sessions_are_logged_off_after_30_minutes() {
    let f = fixture().await;
    let mut a = f.login("analyst").await;
    assert_eq!(a.get("/neighbors").await.status, StatusCode::OK);
    // Activity keeps the session alive.
    f.clock.advance(20 * 60);
    assert_eq!(a.get("/neighbors").await.status, StatusCode::OK);
    f.clock.advance(20 * 60);
    assert_eq!(a.get("/neighbors").await.status, StatusCode::OK);
    // 31 minutes idle ends it.
    f.clock.advance(31 * 60);
    let r = a.get("/neighbors").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().starts_with("/login?next=/neighbors"),
        "{}",
        r.location()
    );
    assert!(r.location().contains("timeout=1"));
    assert_eq!(a.get("/api/me").await.status, StatusCode::UNAUTHORIZED);
    let log = f.audit_actions().await;
    assert!(log
        .iter()
        .any(|(a, act, _)| a == "analyst" && act == "session.timeout"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let f = fixture().await;
    let mut a = f.login("analyst").await;
    let saved = a.cookies.clone();
    let r = a.post_form("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Even replaying the old cookie does not work.
    a.cookies = saved;
    assert_eq!(a.get("/api/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scopes_cut_person_level_data() {
    let f = fixture().await;
    // Case manager: only P1.
    let mut cm = f.login("cm").await;
    assert_eq!(cm.get("/people/P1").await.status, StatusCode::OK);
    assert_eq!(cm.get("/people/P2").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        cm.get("/api/people/D01").await.status,
        StatusCode::NOT_FOUND
    );
    let list: serde_json::Value =
        serde_json::from_str(&cm.get("/api/neighbors?threshold=1").await.body).unwrap();
    let ids: Vec<&str> = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["person_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["P1"]);
    // DPD liaison: only DPD records, and never a Part 2 record or the need it carries.
    let mut dpd = f.login("liaison").await;
    let p: serde_json::Value = serde_json::from_str(&dpd.get("/api/people/P1").await.body).unwrap();
    let contacts = p["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 3);
    assert!(contacts.iter().all(|c| c["agency"] == "DPD"));
    assert!(contacts.iter().all(|c| c["incident_ref"] == "2025000123"));
    assert!(!p["needs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "substance_use"));
    assert_eq!(
        dpd.get("/api/people/D01").await.status,
        StatusCode::NOT_FOUND
    );
    let page = dpd.get("/people/P1").await.body;
    assert!(page.contains("<th>CAD call</th>") && page.contains("<td>2025000123</td>"));
    assert!(!page.contains("42 CFR Part 2"));
    assert!(!page.contains("substance_use"));
    // HEART liaison (not law enforcement) sees HEART's Part 2 record.
    let mut heart = f.login("heart").await;
    let p: serde_json::Value =
        serde_json::from_str(&heart.get("/api/people/P1").await.body).unwrap();
    assert_eq!(p["contacts"].as_array().unwrap().len(), 6);
    assert!(p["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["part2"] == true));
    // Every person view was audited, with who and from where.
    let entries = f
        .store
        .audit_entries(&familiar_store::AuditQuery {
            action_prefix: Some("person.view".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.actor == "cm" && e.target == "P2" && e.outcome == "not_found"));
    assert!(entries
        .iter()
        .any(|e| e.actor == "liaison" && e.target == "P1" && e.outcome == "ok"));
}

#[tokio::test]
async fn review_decisions_are_stored_and_audited() {
    let f = fixture().await;
    let mut a = f.login("analyst").await;
    let page = a.get("/review").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("GARCIA"), "the review pair is shown");
    let left = record_id(&f, "dfd_ems", "P3-DFD-1").await;
    let right = record_id(&f, "dcsd_jail", "P4-DCSD-1").await;
    let r = a
        .post_form(
            "/review/decide",
            &[
                ("decision", "match"),
                ("left", &left.to_string()),
                ("right", &right.to_string()),
                ("reason", "same name and date of birth"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let d = f.store.decisions().await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, "match");
    assert_eq!(d[0].actor, "analyst");
    assert_eq!((d[0].left_record, d[0].right_record), (left, Some(right)));
    assert!(
        !a.get("/review").await.body.contains("GARCIA"),
        "decided pairs leave the queue"
    );
    // A reason is required.
    let r = a
        .post_form(
            "/review/decide",
            &[
                ("decision", "non_match"),
                ("left", &left.to_string()),
                ("right", &right.to_string()),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Split a record off P1: non-matches against each of P1's other records.
    let p1_heart = record_id(&f, "heart", "P1-HEART-0").await;
    let r = a
        .post_form(
            "/review/decide",
            &[
                ("decision", "split"),
                ("left", &p1_heart.to_string()),
                ("person", "P1"),
                ("reason", "different DOB on file"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/people/P1");
    assert_eq!(f.store.decisions().await.unwrap().len(), 1 + 8);
    // Merge via the API.
    let r = a
        .post_json(
            "/api/review/decide",
            serde_json::json!({"decision": "merge", "left": left, "person": "P2", "reason": "same person"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let log = f.audit_actions().await;
    assert_eq!(
        log.iter()
            .filter(|(a, act, o)| a == "analyst" && act == "review.decide" && o == "ok")
            .count(),
        3
    );
    assert!(log
        .iter()
        .any(|(_, act, o)| act == "review.decide" && o == "rejected"));
}

#[tokio::test]
async fn exports_and_admin_changes_are_audited_and_the_chain_verifies() {
    let f = fixture().await;
    let mut admin = f.login("admin").await;
    assert_eq!(admin.get("/neighbors.csv").await.status, StatusCode::OK);
    assert_eq!(
        admin.get("/sources/rejects.csv").await.status,
        StatusCode::OK
    );
    let sources = admin.get("/sources").await;
    assert!(sources.body.contains("decc_cad.csv"));
    let r = admin
        .post_form(
            "/admin/dashboard",
            &[
                ("status", "on_hold"),
                ("done", "Built the data pipeline\nHired staff"),
                ("next", "Go live"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let public = Client::new(&f.app).get("/").await.body;
    assert!(public.contains("Built the data pipeline"));
    assert!(public.contains("pill on on-hold"));
    let r = admin
        .post_form("/admin/dashboard", &[("status", "bogus")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = admin
        .post_form(
            "/admin/users/toggle",
            &[("username", "spare"), ("disabled", "true")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        f.store
            .user_by_name("spare")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let r = admin
        .post_form(
            "/admin/users/toggle",
            &[("username", "admin"), ("disabled", "true")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no disabling yourself");
    let audit = admin.get("/audit").await;
    assert!(audit.body.contains("Hash chain intact"));
    for action in [
        "neighbors.export",
        "sources.rejects.export",
        "dashboard.edit",
        "user.disable",
        "login",
    ] {
        assert!(
            audit.body.contains(action),
            "{action} missing from the audit page"
        );
    }
    let csv = admin.get("/audit/export?format=csv").await;
    assert!(csv
        .body
        .starts_with("id,at,actor,action,target,source,outcome,detail,prev_hash,hash"));
    let json: serde_json::Value =
        serde_json::from_str(&admin.get("/audit/export?format=json").await.body).unwrap();
    assert!(json.as_array().unwrap().len() > 10);
    let v: serde_json::Value =
        serde_json::from_str(&admin.get("/api/audit/verify").await.body).unwrap();
    assert!(v["first_break"].is_null());
    // Tamper: the audit page and the API say where.
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(f.store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE id = 3")
        .execute(f.store.pool())
        .await
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&admin.get("/api/audit/verify").await.body).unwrap();
    assert_eq!(v["first_break"]["id"], 3);
    assert!(admin
        .get("/audit")
        .await
        .body
        .contains("Hash chain broken at row 3"));
}

/// The public page: aggregates only, small cells suppressed, nothing derivable.
#[tokio::test]
async fn public_dashboard_suppresses_small_cells() {
    let f = fixture().await;
    let mut anon = Client::new(&f.app);
    let page = anon.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(
        "Reduce public safety interactions with and improve outcomes for familiar neighbors"
    ));
    assert!(page.body.contains("Key Measures &amp; Data Analysis"));
    assert!(page.body.contains("# of Familiar Neighbor Interactions"));
    assert!(
        page.body.contains("<svg"),
        "{}",
        between(&page.body, "<main>", "</main>").unwrap()
    );
    for surname in [
        "SURNAMEVERYLONG01",
        "WILLIAMSONLY",
        "GARCIA",
        "LIGHTUSER",
        "alert(",
    ] {
        assert!(
            !page.body.contains(surname),
            "the public page shows {surname}"
        );
    }
    assert!(
        !page.body.contains("P1") && !page.body.contains("D01"),
        "no person ids"
    );
    // The published table, and an independent check that nothing small can be derived from it.
    let j: serde_json::Value =
        serde_json::from_str(&anon.get("/api/public/measures").await.body).unwrap();
    let engine = EngineSnapshot::build(
        &f.store.agencies().await.unwrap(),
        &f.store.interaction_rows().await.unwrap(),
        "test",
    );
    let m = key_measures(
        &engine,
        &MeasureOptions {
            as_of: f.store.latest_date().await.unwrap().unwrap(),
            window_days: DEFAULT_WINDOW_DAYS,
            thresholds: DEFAULT_THRESHOLDS.to_vec(),
        },
    )
    .await
    .unwrap();
    let g = MeasureGrid::from_measures(&m);
    let rows: BTreeMap<String, &serde_json::Value> = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .chain(std::iter::once(&j["all"]))
        .map(|r| (r["code"].as_str().unwrap().to_string(), r))
        .collect();
    let mut shown = vec![false; g.values.len()];
    let codes: Vec<String> = g.codes.iter().cloned().chain(["ALL".to_string()]).collect();
    for (ri, code) in codes.iter().enumerate() {
        let r = rows[code];
        let cells: Vec<&serde_json::Value> = std::iter::once(&r["people"])
            .chain(r["counts"].as_array().unwrap().iter())
            .collect();
        for (ci, v) in cells.iter().enumerate() {
            if let Some(n) = v.as_u64() {
                assert_eq!(
                    n,
                    g.values[g.cell(ri, ci)],
                    "{code} col {ci} is the true count"
                );
                shown[g.cell(ri, ci)] = true;
            }
        }
        if let Some(n) = r["interactions"].as_u64() {
            assert_eq!(n, g.values[g.interactions(ri)]);
            shown[g.interactions(ri)] = true;
        }
    }
    check_protected(&g.values, &g.contains, &g.sums, &shown, 11).unwrap();
    // The county's small cells are hidden: DECC 20+ = 3, HEART 5+ = 1, all-agency 20+ = 3;
    // and DECC 5+ = 30 too, because all-agency 5+ = 31 would give away the one person (P1) who
    // reaches 5+ without DECC.
    let decc = rows["DECC"]["counts"].as_array().unwrap();
    assert!(decc[0].is_null());
    assert_eq!(decc[1], 12);
    assert!(decc[2].is_null());
    assert_eq!(rows["ALL"]["counts"][0], 31);
    assert!(rows["HEART"]["counts"][0].is_null());
    assert!(rows["ALL"]["counts"][2].is_null());
    // The smallest agency totals are hidden together so the across-agency total reveals none.
    let hidden_totals = codes
        .iter()
        .filter(|c| *c != "ALL" && rows[c.as_str()]["interactions"].is_null())
        .count();
    assert!(hidden_totals == 0 || hidden_totals >= 2);
    // Viewing the public page writes nothing to the audit log (it holds no person data).
    assert!(!f
        .audit_actions()
        .await
        .iter()
        .any(|(a, _, _)| a == "anonymous"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_api_path() {
    let f = fixture().await;
    let doc: serde_json::Value =
        serde_json::from_str(&Client::new(&f.app).get("/openapi.json").await.body).unwrap();
    for r in ROUTES.iter().filter(|r| r.path.starts_with("/api/")) {
        assert!(
            doc["paths"][r.path][r.method.to_lowercase()].is_object(),
            "{} {}",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn demo_user_can_log_in() {
    let f = fixture().await;
    let (user, password, secret) = familiar_web::ensure_demo_user(f.store.as_ref())
        .await
        .unwrap();
    f.clock.advance(30);
    let code = familiar_web::users::totp_code(&secret, f.clock.now()).unwrap();
    let mut c = Client::new(&f.app);
    let r = c.try_login(&user, &password, &code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Calling it again resets the password (so the demo can print a working one).
    let (_, p2, _) = familiar_web::ensure_demo_user(f.store.as_ref())
        .await
        .unwrap();
    assert_ne!(password, p2);
}
