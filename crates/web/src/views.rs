//! Page templates (askama, compiled in and auto-escaped) and the shared layout.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use familiar_store::{AuditEntry, AuditVerify, User};

use crate::auth::Ctx;
use crate::data::{NeighborList, PersonView, PlaceRow, ReviewPair};
use crate::routes::{route, RouteId};
use crate::AppState;

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// What every page's frame needs.
pub struct Layout {
    pub title: String,
    pub user: Option<String>,
    pub role: String,
    pub csrf: String,
    pub nav: Vec<NavLink>,
}

const NAV: &[(RouteId, &str, &str)] = &[
    (RouteId::Dashboard, "/", "Dashboard"),
    (RouteId::Neighbors, "/neighbors", "Neighbors"),
    (RouteId::Places, "/places", "Places"),
    (RouteId::Review, "/review", "Review"),
    (RouteId::Sources, "/sources", "Sources"),
    (RouteId::Audit, "/audit", "Audit"),
    (
        RouteId::AdminDashboard,
        "/admin/dashboard",
        "Edit dashboard",
    ),
    (RouteId::AdminUsers, "/admin/users", "Users"),
];

impl Layout {
    pub fn new(title: &str, ctx: &Ctx, _st: &AppState) -> Layout {
        let role = ctx.role();
        Layout {
            title: title.to_string(),
            user: ctx.user.as_ref().map(|u| u.username.clone()),
            role: role.map(|r| r.as_str().to_string()).unwrap_or_default(),
            csrf: ctx.csrf.clone(),
            nav: NAV
                .iter()
                .filter(|(id, _, _)| route(*id).access.allows(role))
                .map(|(id, href, label)| NavLink {
                    href,
                    label,
                    active: *id == ctx.route.id,
                })
                .collect(),
        }
    }

    /// A frame for responses made outside a route (errors).
    pub fn bare(title: &str) -> Layout {
        Layout {
            title: title.to_string(),
            user: None,
            role: String::new(),
            csrf: String::new(),
            nav: vec![NavLink {
                href: "/",
                label: "Dashboard",
                active: false,
            }],
        }
    }
}

pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("template failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub heading: String,
    pub text: String,
}

/// A small page with a heading and a sentence (errors, denials).
pub fn message(heading: &str, text: &str) -> Response {
    render(&MessagePage {
        layout: Layout::bare(heading),
        heading: heading.to_string(),
        text: text.to_string(),
    })
}

pub fn message_in(layout: Layout, heading: &str, text: &str) -> Response {
    render(&MessagePage {
        layout,
        heading: heading.to_string(),
        text: text.to_string(),
    })
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub login_csrf: String,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub next: String,
}

pub struct MeasureRow {
    pub name: String,
    pub cells: Vec<String>,
    pub all: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub status: String,
    pub has_data: bool,
    pub period: String,
    pub headers: Vec<String>,
    pub rows: Vec<MeasureRow>,
    pub bullets: Vec<String>,
    pub chart_svg: String,
    pub chart_note: String,
    pub min_cell: u64,
    pub max_hidden: u64,
    pub suppressed: usize,
    pub done: Vec<String>,
    pub next: Vec<String>,
}

#[derive(Template)]
#[template(path = "neighbors.html")]
pub struct NeighborsPage {
    pub layout: Layout,
    pub list: std::sync::Arc<NeighborList>,
    pub shown: usize,
    pub agency_options: Vec<(String, bool)>,
    pub query: String,
}

#[derive(Template)]
#[template(path = "person.html")]
pub struct PersonPage {
    pub layout: Layout,
    pub p: PersonView,
    pub timeline_svg: String,
    pub counts: Vec<(String, u64)>,
    pub can_review: bool,
    pub events: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "places.html")]
pub struct PlacesPage {
    pub layout: Layout,
    pub rows: std::sync::Arc<Vec<PlaceRow>>,
    pub window: u32,
    pub threshold: u32,
    pub agency_options: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "review.html")]
pub struct ReviewPage {
    pub layout: Layout,
    pub pairs: Vec<ReviewPair>,
    pub decisions: usize,
    pub done: bool,
}

pub struct SourceFileRow {
    pub run_id: i64,
    pub finished_at: String,
    pub source: String,
    pub file: String,
    pub read: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub duplicate: i64,
}

#[derive(Template)]
#[template(path = "sources.html")]
pub struct SourcesPage {
    pub layout: Layout,
    pub files: Vec<SourceFileRow>,
    pub quarantined: i64,
    pub records: i64,
    pub persons: i64,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub entries: Vec<AuditEntry>,
    pub verify: AuditVerify,
    pub actor: String,
    pub action: String,
    /// Link to the next page of older entries.
    pub older: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
pub struct AdminDashboardPage {
    pub layout: Layout,
    pub status: String,
    pub done: String,
    pub next: String,
    pub saved: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct AdminUsersPage {
    pub layout: Layout,
    pub users: Vec<User>,
    pub me: String,
}
