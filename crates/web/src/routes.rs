//! The route table: the one list of every path the app serves, who may reach it, and whether it
//! is part of the JSON API. The router is built from this table and nothing else
//! ([`crate::app`]), the OpenAPI document lists its `api` rows, and the route × role test walks
//! it, so a route cannot exist without an access rule, a document entry or a test.

use familiar_store::UserRole;

/// Who may reach a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not. Public routes show aggregates only.
    Public,
    /// Signed-in users with one of these roles. Row-level scoping (assignments, agency,
    /// 42 CFR Part 2) is applied on top of this by the data layer.
    Roles(&'static [UserRole]),
}

impl Access {
    pub fn allows(self, role: Option<UserRole>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (Access::Roles(rs), Some(r)) => rs.contains(&r),
            (Access::Roles(_), None) => false,
        }
    }
}

/// What kind of response a route gives; decides how a denial looks (a redirect to the login
/// page for pages, a JSON 401/403 for the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Page,
    Api,
    Asset,
}

/// Every handler the app has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteId {
    Dashboard,
    Health,
    Css,
    Js,
    OpenApi,
    LoginForm,
    LoginSubmit,
    Logout,
    Neighbors,
    NeighborsCsv,
    Person,
    Places,
    Review,
    ReviewDecide,
    Sources,
    SourcesRejects,
    Audit,
    AuditExport,
    AdminDashboard,
    AdminDashboardSave,
    AdminUsers,
    AdminUserToggle,
    ApiPublicMeasures,
    ApiMe,
    ApiNeighbors,
    ApiPerson,
    ApiPlaces,
    ApiReview,
    ApiReviewDecide,
    ApiSources,
    ApiAudit,
    ApiAuditVerify,
}

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteDef {
    pub id: RouteId,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// axum path syntax (`/people/{id}`), which is also OpenAPI's.
    pub path: &'static str,
    pub access: Access,
    pub kind: Kind,
    pub summary: &'static str,
}

impl RouteDef {
    pub fn is_post(&self) -> bool {
        self.method == "POST"
    }
}

use UserRole::{AgencyLiaison, Analyst, CaseManager, Viewer};
const ADMIN: UserRole = UserRole::Admin;

/// Every role.
pub const ANY_USER: &[UserRole] = &[ADMIN, Analyst, CaseManager, AgencyLiaison, Viewer];
/// Roles that see person-level data (each within its own scope).
pub const PERSON_LEVEL: &[UserRole] = &[ADMIN, Analyst, CaseManager, AgencyLiaison];
/// Roles that see places (incident locations), within their scope.
pub const PLACE_LEVEL: &[UserRole] = &[ADMIN, Analyst, AgencyLiaison];
/// Linkage review and raw sources.
pub const ANALYSTS: &[UserRole] = &[ADMIN, Analyst];
pub const ADMINS: &[UserRole] = &[ADMIN];

const fn r(
    id: RouteId,
    method: &'static str,
    path: &'static str,
    access: Access,
    kind: Kind,
    summary: &'static str,
) -> RouteDef {
    RouteDef {
        id,
        method,
        path,
        access,
        kind,
        summary,
    }
}

use Access::{Public, Roles};
use Kind::{Api, Asset, Page};

/// The route table.
#[rustfmt::skip]
pub const ROUTES: &[RouteDef] = &[
    r(RouteId::Dashboard, "GET", "/", Public, Page, "Public dashboard (aggregates only, small cells suppressed)"),
    r(RouteId::Health, "GET", "/healthz", Public, Asset, "Liveness"),
    r(RouteId::Css, "GET", "/assets/app.css", Public, Asset, "Stylesheet"),
    r(RouteId::Js, "GET", "/assets/app.js", Public, Asset, "Script"),
    r(RouteId::OpenApi, "GET", "/openapi.json", Public, Asset, "This API's OpenAPI 3 document"),
    r(RouteId::LoginForm, "GET", "/login", Public, Page, "Login form"),
    r(RouteId::LoginSubmit, "POST", "/login", Public, Page, "Log in with user name, password and TOTP code"),
    r(RouteId::Logout, "POST", "/logout", Roles(ANY_USER), Page, "Log out"),
    r(RouteId::Neighbors, "GET", "/neighbors", Roles(PERSON_LEVEL), Page, "Ranked familiar neighbors"),
    r(RouteId::NeighborsCsv, "GET", "/neighbors.csv", Roles(PERSON_LEVEL), Page, "Ranked familiar neighbors as CSV"),
    r(RouteId::Person, "GET", "/people/{id}", Roles(PERSON_LEVEL), Page, "A person's journey across agencies"),
    r(RouteId::Places, "GET", "/places", Roles(PLACE_LEVEL), Page, "Familiar places"),
    r(RouteId::Review, "GET", "/review", Roles(ANALYSTS), Page, "Linkage review queue"),
    r(RouteId::ReviewDecide, "POST", "/review/decide", Roles(ANALYSTS), Page, "Record a linkage decision"),
    r(RouteId::Sources, "GET", "/sources", Roles(ANALYSTS), Page, "Ingest history"),
    r(RouteId::SourcesRejects, "GET", "/sources/rejects.csv", Roles(ANALYSTS), Page, "Rejected rows as CSV"),
    r(RouteId::Audit, "GET", "/audit", Roles(ADMINS), Page, "Audit log"),
    r(RouteId::AuditExport, "GET", "/audit/export", Roles(ADMINS), Page, "Audit log export (CSV or JSON)"),
    r(RouteId::AdminDashboard, "GET", "/admin/dashboard", Roles(ADMINS), Page, "Edit the public dashboard's status and milestones"),
    r(RouteId::AdminDashboardSave, "POST", "/admin/dashboard", Roles(ADMINS), Page, "Save the public dashboard's status and milestones"),
    r(RouteId::AdminUsers, "GET", "/admin/users", Roles(ADMINS), Page, "Users"),
    r(RouteId::AdminUserToggle, "POST", "/admin/users/toggle", Roles(ADMINS), Page, "Disable or enable a user"),
    r(RouteId::ApiPublicMeasures, "GET", "/api/public/measures", Public, Api, "Key measures, small cells suppressed"),
    r(RouteId::ApiMe, "GET", "/api/me", Roles(ANY_USER), Api, "The signed-in user"),
    r(RouteId::ApiNeighbors, "GET", "/api/neighbors", Roles(PERSON_LEVEL), Api, "Ranked familiar neighbors"),
    r(RouteId::ApiPerson, "GET", "/api/people/{id}", Roles(PERSON_LEVEL), Api, "A person's interactions, needs and records"),
    r(RouteId::ApiPlaces, "GET", "/api/places", Roles(PLACE_LEVEL), Api, "Familiar places"),
    r(RouteId::ApiReview, "GET", "/api/review", Roles(ANALYSTS), Api, "Linkage review queue"),
    r(RouteId::ApiReviewDecide, "POST", "/api/review/decide", Roles(ANALYSTS), Api, "Record a linkage decision"),
    r(RouteId::ApiSources, "GET", "/api/sources", Roles(ANALYSTS), Api, "Ingest history"),
    r(RouteId::ApiAudit, "GET", "/api/audit", Roles(ADMINS), Api, "Audit log entries"),
    r(RouteId::ApiAuditVerify, "GET", "/api/audit/verify", Roles(ADMINS), Api, "Verify the audit hash chain"),
];

/// The route table row for a handler.
pub fn route(id: RouteId) -> &'static RouteDef {
    ROUTES
        .iter()
        .find(|r| r.id == id)
        .expect("every RouteId is in ROUTES")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn routes_are_unique_and_protected_paths_are_not_public() {
        let mut seen = HashSet::new();
        let mut ids = HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method, r.path)),
                "duplicate {} {}",
                r.method,
                r.path
            );
            assert!(ids.insert(r.id), "duplicate id {:?}", r.id);
            assert!(r.method == "GET" || r.method == "POST");
            if r.access == Access::Public && r.kind == Kind::Api {
                assert!(
                    r.path.contains("/public/"),
                    "public API paths live under /api/public/: {}",
                    r.path
                );
            }
            if r.kind == Kind::Api {
                assert!(r.path.starts_with("/api/"));
            }
        }
    }
}
