//! Familiar's web app.
//!
//! - `/` is the public dashboard, in the style of the city's initiative page: aggregates only,
//!   every small cell suppressed ([`suppress`]).
//! - Everything else needs a login (password + TOTP, [`auth`]) and a role; the route table
//!   ([`routes::ROUTES`]) says which roles reach which path, and [`data::Scope`] cuts each
//!   person-level view to what that user may see.
//! - Every view of person-level data, every export, every change and every login attempt is
//!   appended to the hash-chained audit log (`familiar_store::access`).
//!
//! Pages are askama templates rendered on the server; CSS, JS and charts (SVG) are built into
//! the binary, so the app works offline and under a strict Content-Security-Policy
//! ([`security::CSP`]). The app speaks plain HTTP; put it behind a TLS-terminating proxy and
//! keep `secure_cookies` on everywhere but `http://localhost`.

pub mod auth;
pub mod data;
pub mod routes;
pub mod security;
pub mod suppress;
pub mod svg;
pub mod users;
pub mod views;

mod api;
mod pages;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::handler::Handler;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use familiar_store::{AccessStore, Store};

pub use auth::Ctx;
pub use pages::audit_csv;
pub use routes::{Access, RouteDef, RouteId, ROUTES};
pub use users::{ensure_demo_user, PasswordParams};

/// What the web app needs from a store: the data ([`Store`]) and access control
/// ([`AccessStore`]). Any backend implementing both works.
pub trait WebStore: Store + AccessStore {}
impl<T: Store + AccessStore + ?Sized> WebStore for T {}

/// Settings of a running app.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark cookies `Secure` (and send HSTS). Turn off only for plain-http localhost.
    pub secure_cookies: bool,
    /// Smallest published count (0 excepted). See [`suppress`].
    pub min_cell: u64,
    /// Log a session off after this long without a request (CJIS: 30 minutes).
    pub idle_timeout_secs: i64,
    /// End a session this long after login whatever happens.
    pub session_max_secs: i64,
    /// Lock a user name after this many failures ...
    pub lockout_failures: u32,
    /// ... within this many seconds (CJIS: 5 in 15 minutes).
    pub lockout_window_secs: i64,
    /// Refuse logins from a client address after this many failures from it within the same
    /// window, whatever names were tried (password spraying); 0 turns it off. Behind a reverse
    /// proxy every client shares the proxy's address, so raise it or turn it off there.
    pub address_lockout_failures: u32,
    /// Agencies whose liaisons are law enforcement: they never see 42 CFR Part 2 records.
    pub law_enforcement_agencies: Vec<String>,
    /// Rebuild the in-memory snapshot of the store after this many seconds.
    pub cache_secs: i64,
    /// Argon2id cost for hashes this app makes (the dummy hash for unknown users).
    pub password: PasswordParams,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: true,
            min_cell: suppress::DEFAULT_MIN_CELL,
            idle_timeout_secs: 30 * 60,
            session_max_secs: 12 * 60 * 60,
            lockout_failures: 5,
            lockout_window_secs: 15 * 60,
            address_lockout_failures: 30,
            law_enforcement_agencies: vec!["DPD".into(), "DCSD".into()],
            cache_secs: 300,
            password: PasswordParams::default(),
        }
    }
}

/// Wall-clock seconds, with an offset tests can move forward.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.offset.load(Ordering::SeqCst)
    }

    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::SeqCst);
    }
}

struct Inner {
    store: Arc<dyn WebStore>,
    config: Config,
    clock: Clock,
    cache: data::Cache,
    dummy_hash: String,
}

/// Shared state of the app (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    pub fn new(store: Arc<dyn WebStore>, config: Config) -> anyhow::Result<AppState> {
        Self::with_clock(store, config, Clock::default())
    }

    pub fn with_clock(
        store: Arc<dyn WebStore>,
        config: Config,
        clock: Clock,
    ) -> anyhow::Result<AppState> {
        // Verified against when the user name is unknown, so both paths take as long.
        let dummy_hash = users::hash_password(&users::random_token(16), config.password)?;
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                config,
                clock,
                cache: data::Cache::default(),
                dummy_hash,
            }),
        })
    }

    pub fn store(&self) -> &dyn WebStore {
        self.inner.store.as_ref()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    pub(crate) fn dummy_hash(&self) -> &str {
        &self.inner.dummy_hash
    }

    pub fn session_cookie(&self) -> &'static str {
        if self.inner.config.secure_cookies {
            "__Host-familiar_session"
        } else {
            "familiar_session"
        }
    }

    pub fn login_cookie(&self) -> &'static str {
        if self.inner.config.secure_cookies {
            "__Host-familiar_login"
        } else {
            "familiar_login"
        }
    }

    /// The current snapshot of the store (rebuilt when stale).
    pub async fn snapshot(&self) -> anyhow::Result<Arc<data::Snapshot>> {
        self.inner
            .cache
            .get(self.store(), self.now(), self.inner.config.cache_secs)
            .await
    }

    /// Drop the snapshot (after a change that should show at once).
    pub async fn refresh(&self) {
        self.inner.cache.invalidate().await;
    }
}

fn on<H, T>(def: &RouteDef, h: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    match def.method {
        "GET" => get(h),
        "POST" => post(h),
        other => panic!("route table: unsupported method {other}"),
    }
}

/// The handler of each route.
fn handler(def: &RouteDef) -> MethodRouter<AppState> {
    use RouteId::*;
    match def.id {
        Dashboard => on(def, pages::dashboard),
        Health => on(def, pages::health),
        Css => on(def, pages::css),
        Js => on(def, pages::js),
        OpenApi => on(def, api::openapi),
        LoginForm => on(def, auth::login_form),
        LoginSubmit => on(def, auth::login_submit),
        Logout => on(def, auth::logout),
        Neighbors => on(def, pages::neighbors),
        NeighborsCsv => on(def, pages::neighbors_csv),
        Person => on(def, pages::person),
        Places => on(def, pages::places),
        Review => on(def, pages::review),
        ReviewDecide => on(def, pages::review_decide),
        Sources => on(def, pages::sources),
        SourcesRejects => on(def, pages::sources_rejects),
        Audit => on(def, pages::audit),
        AuditExport => on(def, pages::audit_export),
        AdminDashboard => on(def, pages::admin_dashboard),
        AdminDashboardSave => on(def, pages::admin_dashboard_save),
        AdminUsers => on(def, pages::admin_users),
        AdminUserToggle => on(def, pages::admin_user_toggle),
        ApiPublicMeasures => on(def, api::public_measures),
        ApiMe => on(def, api::me),
        ApiNeighbors => on(def, api::neighbors),
        ApiPerson => on(def, api::person),
        ApiPlaces => on(def, api::places),
        ApiReview => on(def, api::review),
        ApiReviewDecide => on(def, api::review_decide),
        ApiSources => on(def, api::sources),
        ApiAudit => on(def, api::audit),
        ApiAuditVerify => on(def, api::audit_verify),
    }
}

/// The router: exactly the routes of [`ROUTES`], each behind the guard that enforces its access
/// rule, plus the security headers on every response.
pub fn app(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for def in ROUTES {
        let guard = auth::Guard {
            state: state.clone(),
            def,
        };
        router = router.route(
            def.path,
            handler(def).route_layer(from_fn_with_state(guard, auth::guard)),
        );
    }
    let hsts = state.config().secure_cookies;
    router
        .fallback(pages::not_found)
        .layer(from_fn_with_state(hsts, security::headers))
        .with_state(state)
}

/// Serve until Ctrl-C. Expired sessions are purged every five minutes.
pub async fn serve(state: AppState, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let purge = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let now = purge.now();
            let cfg = purge.config();
            let _ = purge
                .store()
                .purge_sessions(now - cfg.idle_timeout_secs, now - cfg.session_max_secs)
                .await;
        }
    });
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
