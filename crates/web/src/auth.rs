//! Sessions, the per-route guard (who may reach what, CSRF), login and logout.
//!
//! - **Login** takes a user name, password (Argon2id) and TOTP code. Five failures for one
//!   user name within 15 minutes lock it for the rest of that window (known and unknown names
//!   alike, so the lockout does not reveal which names exist). Every attempt is audited.
//! - **Sessions** are 256-bit random tokens in an `HttpOnly; SameSite=Strict` cookie (`Secure`
//!   unless turned off for plain-http localhost); only their SHA-256 is stored. A session ends
//!   after 30 minutes idle or 12 hours in all.
//! - **CSRF**: every state-changing request needs the session's CSRF token (form field `csrf`
//!   or header `X-CSRF-Token`) and must not come from another site (Origin / Sec-Fetch-Site).
//!   The login form uses a pre-session token in its own short-lived cookie.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use familiar_store::access::Session;
use familiar_store::{NewAudit, User, UserRole};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::routes::{Access, Kind, RouteDef};
use crate::users::{constant_time_eq, random_token, totp_match, verify_password};
use crate::views::{self, Layout};
use crate::AppState;

/// What the guard learned about a request, for the handler.
#[derive(Clone)]
pub struct Ctx {
    pub user: Option<Arc<User>>,
    /// The session's CSRF token ("" when signed out).
    pub csrf: String,
    pub ip: String,
    pub route: &'static RouteDef,
}

impl Ctx {
    pub fn actor(&self) -> String {
        self.user
            .as_ref()
            .map(|u| u.username.clone())
            .unwrap_or_else(|| "anonymous".into())
    }

    pub fn role(&self) -> Option<UserRole> {
        self.user.as_ref().map(|u| u.role)
    }

    pub fn layout(&self, st: &AppState, title: &str) -> Layout {
        Layout::new(title, self, st)
    }
}

/// State of the per-route guard: the app and the route table row it protects.
#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub def: &'static RouteDef,
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A cookie's value from the request.
pub fn get_cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

enum Resolved {
    None,
    Active(Box<User>, Session),
    TimedOut(Box<User>),
}

async fn resolve(st: &AppState, token: &str, now: i64) -> anyhow::Result<Resolved> {
    let store = st.store();
    let h = sha256_hex(token);
    let Some(s) = store.session(&h).await? else {
        return Ok(Resolved::None);
    };
    let user = store.user_by_id(s.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        store.delete_session(&h).await?;
        return Ok(Resolved::None);
    };
    let cfg = st.config();
    if now - s.last_seen > cfg.idle_timeout_secs || now - s.created_at > cfg.session_max_secs {
        store.delete_session(&h).await?;
        return Ok(Resolved::TimedOut(Box::new(user)));
    }
    if now - s.last_seen >= 15 {
        store.touch_session(&h, now).await?;
    }
    Ok(Resolved::Active(Box::new(user), s))
}

/// Percent-encode for a query-string value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One field of an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], key: &str) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| url_decode(k) == key)
        .map(|(_, v)| url_decode(v))
}

/// Where a denied request goes: pages to the login form, the API gets a JSON error.
fn login_required(def: &RouteDef, path_and_query: &str, timed_out: bool) -> Response {
    match def.kind {
        Kind::Page if def.method == "GET" => {
            let mut to = format!("/login?next={}", url_encode(path_and_query));
            if timed_out {
                to.push_str("&timeout=1");
            }
            Redirect::to(&to).into_response()
        }
        Kind::Page => (
            StatusCode::UNAUTHORIZED,
            views::message(
                "Please log in",
                "Your session has ended. Log in again to continue.",
            ),
        )
            .into_response(),
        _ => (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "login required"})),
        )
            .into_response(),
    }
}

pub fn forbidden(def: &RouteDef, why: &str) -> Response {
    match def.kind {
        Kind::Page => (StatusCode::FORBIDDEN, views::message("Not allowed", why)).into_response(),
        _ => (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": why})),
        )
            .into_response(),
    }
}

/// The CSRF token a state-changing request carries (header, else form field). Buffers a form
/// body (at most 1 MiB) and puts it back.
async fn csrf_token_of(req: Request) -> Result<(Request, Option<String>), Response> {
    if let Some(v) = req.headers().get("x-csrf-token") {
        let t = v.to_str().ok().map(String::from);
        return Ok((req, t));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response())?;
    let token = form_field(&bytes, "csrf");
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

/// The guard every route passes through (see [`crate::app`]): resolves the session, enforces
/// the route table's access rule and CSRF, audits denials, and hands a [`Ctx`] to the handler.
pub async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let st = &g.state;
    let def = g.def;
    let ip = client_ip(&req);
    let now = st.now();
    let mut user: Option<Arc<User>> = None;
    let mut session: Option<Session> = None;
    let mut timed_out = false;
    if let Some(tok) = get_cookie(req.headers(), st.session_cookie()) {
        match resolve(st, &tok, now).await {
            Ok(Resolved::Active(u, s)) => {
                user = Some(Arc::from(u));
                session = Some(s);
            }
            Ok(Resolved::TimedOut(u)) => {
                timed_out = true;
                let _ = st
                    .audit_raw(
                        &u.username,
                        "session.timeout",
                        req.uri().path(),
                        &ip,
                        "ok",
                        "",
                    )
                    .await;
            }
            Ok(Resolved::None) => {}
            Err(e) => return internal_error(e),
        }
    }
    let role = user.as_ref().map(|u| u.role);
    if !def.access.allows(role) {
        let Some(u) = &user else {
            let pq = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let mut res = login_required(def, &pq, timed_out);
            if timed_out {
                clear_session_cookie(st, res.headers_mut());
            }
            return res;
        };
        if let Err(e) = st
            .audit_raw(
                &u.username,
                "access.denied",
                req.uri().path(),
                &ip,
                "denied",
                &format!("role {}", u.role),
            )
            .await
        {
            return internal_error(e);
        }
        return forbidden(def, "Your role does not have access to this page.");
    }
    let mut req = req;
    if req.method() == Method::POST {
        let actor = user
            .as_ref()
            .map(|u| u.username.clone())
            .unwrap_or_else(|| "anonymous".into());
        if let Err(why) = crate::security::check_origin(req.headers()) {
            let _ = st
                .audit_raw(
                    &actor,
                    "csrf.rejected",
                    req.uri().path(),
                    &ip,
                    "denied",
                    why,
                )
                .await;
            return forbidden(def, "This request came from another site and was refused.");
        }
        if def.access != Access::Public {
            let s = session.as_ref().expect("protected routes have a session");
            let (r, token) = match csrf_token_of(req).await {
                Ok(x) => x,
                Err(res) => return res,
            };
            req = r;
            let ok = token.is_some_and(|t| constant_time_eq(t.as_bytes(), s.csrf.as_bytes()));
            if !ok {
                let _ = st
                    .audit_raw(
                        &actor,
                        "csrf.rejected",
                        req.uri().path(),
                        &ip,
                        "denied",
                        "missing or wrong CSRF token",
                    )
                    .await;
                return forbidden(
                    def,
                    "The form's security token is missing or out of date. Reload the page and try again.",
                );
            }
        }
    }
    req.extensions_mut().insert(Ctx {
        user,
        csrf: session.map(|s| s.csrf).unwrap_or_default(),
        ip,
        route: def,
    });
    let mut res = next.run(req).await;
    if timed_out {
        clear_session_cookie(st, res.headers_mut());
    }
    res
}

pub fn internal_error(e: anyhow::Error) -> Response {
    tracing::error!("request failed: {e:#}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        views::message("Something went wrong", "The error has been logged."),
    )
        .into_response()
}

fn cookie_attrs(st: &AppState) -> &'static str {
    if st.config().secure_cookies {
        "Path=/; HttpOnly; SameSite=Strict; Secure"
    } else {
        "Path=/; HttpOnly; SameSite=Strict"
    }
}

fn set_cookie(h: &mut HeaderMap, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.append(header::SET_COOKIE, v);
    }
}

fn clear_session_cookie(st: &AppState, h: &mut HeaderMap) {
    set_cookie(
        h,
        format!("{}=; {}; Max-Age=0", st.session_cookie(), cookie_attrs(st)),
    );
}

// ---------------------------------------------------------------------------------------------
// Login and logout.

#[derive(Debug, Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub totp: String,
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub next: String,
}

/// Only same-site absolute paths are followed after login.
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n']))
    .then_some(next)
}

fn login_page(
    st: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
    next: &str,
) -> Response {
    let token = random_token(32);
    let page = views::LoginPage {
        layout: ctx.layout(st, "Log in"),
        login_csrf: token.clone(),
        error,
        notice,
        next: safe_next(next).unwrap_or("").to_string(),
    };
    let mut res = (status, views::render(&page)).into_response();
    set_cookie(
        res.headers_mut(),
        format!(
            "{}={token}; {}; Max-Age=900",
            st.login_cookie(),
            cookie_attrs(st)
        ),
    );
    res
}

pub async fn login_form(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let notice = q.timeout.is_some().then(|| {
        "Your session ended after 30 minutes without activity. Please log in again.".to_string()
    });
    login_page(
        &st,
        &ctx,
        StatusCode::OK,
        None,
        notice,
        q.next.as_deref().unwrap_or(""),
    )
}

const ADDRESS_LOCKED: &str =
    "Too many failed logins from this address. Wait 15 minutes and try again.";

const LOGIN_FAILED: &str =
    "Login failed. Check your user name, password and the 6-digit code from your authenticator app. \
After 5 failed attempts in 15 minutes the account is locked for 15 minutes.";

pub async fn login_submit(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let now = st.now();
    let cfg = st.config().clone();
    let store = st.store();
    // Keep what we store about the typed name bounded.
    let typed: String = f.username.trim().chars().take(64).collect();
    let audit = |outcome: &'static str, detail: &'static str| {
        let st = st.clone();
        let typed = typed.clone();
        let ip = ctx.ip.clone();
        async move {
            st.audit_raw(&typed, "login", &typed, &ip, outcome, detail)
                .await
        }
    };
    // Pre-session CSRF: the form's token must match its cookie.
    let cookie = get_cookie(&headers, st.login_cookie()).unwrap_or_default();
    if cookie.is_empty() || !constant_time_eq(cookie.as_bytes(), f.csrf.as_bytes()) {
        if let Err(e) = audit("denied", "login form token missing or wrong").await {
            return internal_error(e);
        }
        return login_page(
            &st,
            &ctx,
            StatusCode::FORBIDDEN,
            Some("The login form expired. Please try again.".into()),
            None,
            &f.next,
        );
    }
    let fail = |outcome: &'static str, detail: &'static str| {
        let st = st.clone();
        let typed = typed.clone();
        let ip = ctx.ip.clone();
        let audit = audit(outcome, detail);
        let window = cfg.lockout_window_secs;
        async move {
            st.store().record_login_failure(&typed, now).await?;
            st.store()
                .record_address_failure(&ip, now, now - window)
                .await?;
            audit.await
        }
    };
    if cfg.address_lockout_failures > 0 {
        let from_here = match store
            .address_failures_since(&ctx.ip, now - cfg.lockout_window_secs)
            .await
        {
            Ok(n) => n,
            Err(e) => return internal_error(e.into()),
        };
        if from_here >= cfg.address_lockout_failures {
            if let Err(e) = audit("locked", "address locked: too many failures from it").await {
                return internal_error(e);
            }
            return login_page(
                &st,
                &ctx,
                StatusCode::TOO_MANY_REQUESTS,
                Some(ADDRESS_LOCKED.into()),
                None,
                &f.next,
            );
        }
    }
    let failures = match store
        .login_failures_since(&typed, now - cfg.lockout_window_secs)
        .await
    {
        Ok(n) => n,
        Err(e) => return internal_error(e.into()),
    };
    if failures >= cfg.lockout_failures {
        if let Err(e) = audit("locked", "account locked: too many failures").await {
            return internal_error(e);
        }
        return login_page(
            &st,
            &ctx,
            StatusCode::OK,
            Some(LOGIN_FAILED.into()),
            None,
            &f.next,
        );
    }
    let user = match store.user_by_name(&typed).await {
        Ok(u) => u,
        Err(e) => return internal_error(e.into()),
    };
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| st.dummy_hash().to_string());
    let password = f.password.clone();
    let password_ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    let result: Result<User, (&'static str, &'static str)> = match user {
        None => Err(("failed", "unknown user")),
        Some(u) if u.disabled => Err(("failed", "user disabled")),
        Some(_) if !password_ok => Err(("failed", "wrong password")),
        Some(u) => match store.totp_secret(&u).await {
            // a secret that does not open (no key, another key) fails this login like a
            // wrong code, audited, so it neither stops other users nor tells who exists
            Err(e) => {
                tracing::error!(user_id = u.id, "TOTP secret cannot be opened: {e}");
                Err(("failed", "TOTP secret cannot be opened"))
            }
            Ok(secret) => match totp_match(&secret, &f.totp, now) {
                None => Err(("failed", "wrong TOTP code")),
                Some(step) => match store.accept_totp_step(u.id, step).await {
                    Ok(true) => Ok(u),
                    Ok(false) => Err(("failed", "TOTP code already used")),
                    Err(e) => return internal_error(e.into()),
                },
            },
        },
    };
    let u = match result {
        Ok(u) => u,
        Err((outcome, detail)) => {
            if let Err(e) = fail(outcome, detail).await {
                return internal_error(e);
            }
            return login_page(
                &st,
                &ctx,
                StatusCode::OK,
                Some(LOGIN_FAILED.into()),
                None,
                &f.next,
            );
        }
    };
    let token = random_token(32);
    let session = Session {
        token_hash: sha256_hex(&token),
        user_id: u.id,
        csrf: random_token(32),
        created_at: now,
        last_seen: now,
        ip: ctx.ip.clone(),
    };
    let saved = async {
        // A fresh token on every login; any session this browser had ends (no fixation).
        if let Some(old) = get_cookie(&headers, st.session_cookie()) {
            store.delete_session(&sha256_hex(&old)).await?;
        }
        store.clear_login_failures(&typed).await?;
        store.create_session(&session).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = saved {
        return internal_error(e);
    }
    if let Err(e) = st
        .audit_raw(&u.username, "login", &u.username, &ctx.ip, "ok", "")
        .await
    {
        return internal_error(e);
    }
    let default = if u.role == UserRole::Viewer {
        "/"
    } else {
        "/neighbors"
    };
    let to = safe_next(&f.next).unwrap_or(default);
    let mut res = Redirect::to(to).into_response();
    set_cookie(
        res.headers_mut(),
        format!("{}={token}; {}", st.session_cookie(), cookie_attrs(&st)),
    );
    set_cookie(
        res.headers_mut(),
        format!("{}=; {}; Max-Age=0", st.login_cookie(), cookie_attrs(&st)),
    );
    res
}

pub async fn logout(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
) -> Response {
    if let Some(tok) = get_cookie(&headers, st.session_cookie()) {
        if let Err(e) = st.store().delete_session(&sha256_hex(&tok)).await {
            return internal_error(e.into());
        }
    }
    if let Err(e) = st.audit(&ctx, "logout", "", "ok", "").await {
        return internal_error(e);
    }
    let mut res = Redirect::to("/").into_response();
    clear_session_cookie(&st, res.headers_mut());
    res
}

/// Audit helper used by handlers.
impl AppState {
    pub async fn audit(
        &self,
        ctx: &Ctx,
        action: &str,
        target: &str,
        outcome: &str,
        detail: &str,
    ) -> anyhow::Result<()> {
        self.audit_raw(&ctx.actor(), action, target, &ctx.ip, outcome, detail)
            .await
    }

    pub async fn audit_raw(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        source: &str,
        outcome: &str,
        detail: &str,
    ) -> anyhow::Result<()> {
        self.store()
            .append_audit(&NewAudit {
                actor: actor.to_string(),
                action: action.to_string(),
                target: target.to_string(),
                source: source.to_string(),
                outcome: outcome.to_string(),
                detail: detail.to_string(),
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_and_cookies_parse() {
        assert_eq!(
            form_field(b"a=1&csrf=x%2By+z&b=", "csrf").as_deref(),
            Some("x+y z")
        );
        assert_eq!(form_field(b"a=1", "csrf"), None);
        assert_eq!(form_field(b"csrf=%zz%4", "csrf").as_deref(), Some("%zz%4"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; familiar_session=tok; b=2"),
        );
        assert_eq!(get_cookie(&h, "familiar_session").as_deref(), Some("tok"));
        assert_eq!(get_cookie(&h, "nope"), None);
    }

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next("/people/P1"), Some("/people/P1"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/\\evil"), None);
        assert_eq!(url_encode("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
    }
}
