//! The JSON API (same sessions, roles, scopes and audit as the pages) and its OpenAPI document,
//! generated from the route table so it lists every API path.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use familiar_model::measures::DEFAULT_THRESHOLDS;
use serde_json::{json, Value};

use crate::auth::Ctx;
use crate::data::{self, ListQuery};
use crate::pages::{decide, scope_of, AuditPageQuery, DecideInput, Res};
use crate::routes::{Access, Kind, ROUTES};
use crate::suppress::public_measures as suppress_measures;
use crate::AppState;

fn error(code: StatusCode, msg: &str) -> Response {
    (code, Json(json!({ "error": msg }))).into_response()
}

pub async fn public_measures_handler(st: &AppState) -> Res {
    let snap = st.snapshot().await?;
    Ok(match &snap.measures {
        Some(m) => Json(suppress_measures(m, &snap.agencies, st.config().min_cell)).into_response(),
        None => error(StatusCode::NOT_FOUND, "no data loaded"),
    })
}

pub async fn public_measures(State(st): State<AppState>) -> Res {
    public_measures_handler(&st).await
}

pub async fn me(State(_st): State<AppState>, Extension(ctx): Extension<Ctx>) -> Res {
    let u = ctx.user.as_ref().expect("guarded");
    Ok(Json(json!({
        "username": u.username,
        "role": u.role,
        "agency": u.agency,
        "assigned_persons": u.assignments.len(),
        "csrf": ctx.csrf,
    }))
    .into_response())
}

pub async fn neighbors(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ListQuery>,
) -> Res {
    let snap = st.snapshot().await?;
    let f = match q.validate(&snap, DEFAULT_THRESHOLDS[0]) {
        Ok(f) => f,
        Err(e) => return Ok(error(StatusCode::BAD_REQUEST, &e)),
    };
    let list = data::neighbors_cached(&snap, &scope_of(&st, &ctx), &f).await?;
    st.audit(
        &ctx,
        "neighbors.view",
        "/api/neighbors",
        "ok",
        &json!({"filter": f, "rows": list.rows.len()}).to_string(),
    )
    .await?;
    Ok(Json(list).into_response())
}

pub async fn person(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Res {
    let snap = st.snapshot().await?;
    let target: String = id.chars().take(64).collect();
    match data::person(&snap, &scope_of(&st, &ctx), &id).await? {
        Some(p) => {
            st.audit(
                &ctx,
                "person.view",
                &p.person_id,
                "ok",
                &json!({"contacts": p.contacts.len(), "records": p.identities.len(), "via": "api"})
                    .to_string(),
            )
            .await?;
            Ok(Json(p).into_response())
        }
        None => {
            st.audit(
                &ctx,
                "person.view",
                &target,
                "not_found",
                "no such person in scope",
            )
            .await?;
            Ok(error(StatusCode::NOT_FOUND, "not found"))
        }
    }
}

pub async fn places(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ListQuery>,
) -> Res {
    let snap = st.snapshot().await?;
    let f = match q.validate(&snap, 10) {
        Ok(f) => f,
        Err(e) => return Ok(error(StatusCode::BAD_REQUEST, &e)),
    };
    let rows = data::places_cached(&snap, &scope_of(&st, &ctx), &f).await?;
    st.audit(
        &ctx,
        "places.view",
        "/api/places",
        "ok",
        &json!({"filter": f, "rows": rows.len()}).to_string(),
    )
    .await?;
    Ok(Json(json!({"filter": f, "places": rows})).into_response())
}

pub async fn review(State(st): State<AppState>, Extension(ctx): Extension<Ctx>) -> Res {
    let snap = st.snapshot().await?;
    let decisions = st.store().decisions().await?;
    let model_pairs = st.store().review_queue().await?;
    let pairs = data::review_queue(&snap, &model_pairs, &decisions, 50);
    st.audit(
        &ctx,
        "review.view",
        "/api/review",
        "ok",
        &json!({"pairs": pairs.len()}).to_string(),
    )
    .await?;
    Ok(Json(json!({"pairs": pairs, "decisions": decisions.len()})).into_response())
}

pub async fn review_decide(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(v): Json<Value>,
) -> Res {
    let s = |k: &str| match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let input = DecideInput {
        decision: s("decision"),
        left: s("left"),
        right: s("right"),
        person: s("person"),
        reason: s("reason"),
    };
    match decide(&st, &ctx, &input).await {
        Ok(ids) => Ok(Json(json!({"ok": true, "decision_ids": ids})).into_response()),
        Err((code, msg)) => {
            let _ = st
                .audit(&ctx, "review.decide", &input.left, "rejected", &msg)
                .await;
            Ok(error(code, &msg))
        }
    }
}

pub async fn sources(State(st): State<AppState>, Extension(ctx): Extension<Ctx>) -> Res {
    let files = st.store().ingest_files().await?;
    let counts = st.store().counts().await?;
    st.audit(&ctx, "sources.view", "/api/sources", "ok", "")
        .await?;
    Ok(Json(json!({"counts": counts, "files": files})).into_response())
}

pub async fn audit(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<AuditPageQuery>,
) -> Res {
    st.audit(&ctx, "audit.view", "/api/audit", "ok", "").await?;
    let entries = st.store().audit_entries(&q.to_query(500)).await?;
    Ok(Json(json!({ "entries": entries })).into_response())
}

pub async fn audit_verify(State(st): State<AppState>, Extension(ctx): Extension<Ctx>) -> Res {
    let v = st.store().verify_audit().await?;
    st.audit(
        &ctx,
        "audit.verify",
        "/api/audit/verify",
        if v.intact() { "ok" } else { "broken" },
        "",
    )
    .await?;
    Ok(Json(v).into_response())
}

fn list_params() -> Value {
    json!([
        {"name": "agency", "in": "query", "schema": {"type": "string"}, "description": "Agency code; empty or ALL for every agency"},
        {"name": "window", "in": "query", "schema": {"type": "string"}, "description": "Window in days, e.g. 365 or 365d (1-3660)"},
        {"name": "threshold", "in": "query", "schema": {"type": "integer", "minimum": 1}, "description": "Minimum interactions"}
    ])
}

/// The OpenAPI 3 document: every API route of the table, with its access rule.
pub fn openapi_doc() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES.iter().filter(|r| r.kind == Kind::Api) {
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{:?}", r.id),
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {}}},
                "400": {"description": "Invalid parameter"},
                "401": {"description": "Login required"},
                "403": {"description": "Role not allowed, or CSRF check failed"},
                "404": {"description": "Not found (or not in your scope)"}
            }
        });
        match r.access {
            Access::Public => {
                op["security"] = json!([]);
            }
            Access::Roles(roles) => {
                op["security"] = json!([{"session": []}]);
                op["x-roles"] = json!(roles.iter().map(|r| r.as_str()).collect::<Vec<_>>());
            }
        }
        let mut params: Vec<Value> = Vec::new();
        if r.path.contains("{id}") {
            params.push(
                json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}),
            );
        }
        if matches!(r.path, "/api/neighbors" | "/api/places") {
            params.extend(list_params().as_array().cloned().unwrap_or_default());
        }
        if r.path == "/api/audit" {
            params.push(json!({"name": "actor", "in": "query", "schema": {"type": "string"}}));
            params.push(json!({"name": "action", "in": "query", "schema": {"type": "string"}}));
            params.push(json!({"name": "before", "in": "query", "schema": {"type": "integer"}}));
        }
        if r.is_post() {
            params.push(json!({"name": "X-CSRF-Token", "in": "header", "required": true, "schema": {"type": "string"}, "description": "The session's CSRF token (GET /api/me)"}));
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["decision", "left", "reason"],
                    "properties": {
                        "decision": {"type": "string", "enum": ["match", "non_match", "merge", "split"]},
                        "left": {"type": "integer", "description": "record id"},
                        "right": {"type": "integer", "description": "match / non_match: the other record id"},
                        "person": {"type": "string", "description": "merge: the other person; split: the record's person"},
                        "reason": {"type": "string", "maxLength": 1000}
                    }
                }}}
            });
        }
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Familiar API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Log in at /login (password + TOTP) to get a session cookie. Every person-level read is scoped to your role and audited. POST requests need the X-CSRF-Token header."
        },
        "components": {"securitySchemes": {"session": {
            "type": "apiKey", "in": "cookie", "name": "__Host-familiar_session"
        }}},
        "paths": Value::Object(paths)
    })
}

pub async fn openapi() -> Response {
    Json(openapi_doc()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_lists_every_api_route() {
        let doc = openapi_doc();
        for r in ROUTES.iter().filter(|r| r.kind == Kind::Api) {
            assert!(
                doc["paths"][r.path][r.method.to_ascii_lowercase()].is_object(),
                "{} {} missing",
                r.method,
                r.path
            );
        }
        assert_eq!(doc["openapi"], "3.0.3");
    }
}
