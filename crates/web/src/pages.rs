//! HTML page handlers (and their CSV exports).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Duration;
use familiar_model::measures::DEFAULT_THRESHOLDS;
use familiar_store::{AuditQuery, LinkDecision, UserRole};
use serde::Deserialize;

use crate::auth::{internal_error, url_encode, Ctx};
use crate::data::{self, ListQuery, Scope};
use crate::suppress::{public_measures, suppress_series};
use crate::views::{self, render};
use crate::AppState;

/// Any error in a handler becomes a logged 500 with no detail shown.
pub struct AppError(anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for AppError {
    fn from(e: E) -> Self {
        AppError(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        internal_error(self.0)
    }
}

pub type Res = Result<Response, AppError>;

pub(crate) fn scope_of(st: &AppState, ctx: &Ctx) -> Scope {
    match &ctx.user {
        Some(u) => Scope::for_user(u, st.config()),
        None => Scope::Aggregates,
    }
}

fn bad_request(st: &AppState, ctx: &Ctx, msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        views::message_in(ctx.layout(st, "Bad request"), "Bad request", msg),
    )
        .into_response()
}

fn not_found_in(st: &AppState, ctx: &Ctx) -> Response {
    (
        StatusCode::NOT_FOUND,
        views::message_in(
            ctx.layout(st, "Not found"),
            "Not found",
            "There is nothing here that you have access to.",
        ),
    )
        .into_response()
}

pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        views::message("Not found", "There is no such page."),
    )
        .into_response()
}

/// Thousands separators.
pub fn fmt_n(v: u64) -> String {
    let digits: Vec<char> = v.to_string().chars().collect();
    let groups: Vec<String> = digits
        .rchunks(3)
        .rev()
        .map(|g| g.iter().collect())
        .collect();
    groups.join(",")
}

/// A CSV cell that a spreadsheet will not run as a formula.
pub fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

pub fn csv_response(filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub async fn health() -> &'static str {
    "ok"
}

pub async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/app.css"),
    )
        .into_response()
}

pub async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/app.js"),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// The public dashboard.

fn us_date(d: chrono::NaiveDate) -> String {
    d.format("%b %-d %Y").to_string()
}

pub async fn dashboard(State(st): State<AppState>, Extension(ctx): Extension<Ctx>) -> Res {
    let snap = st.snapshot().await?;
    let store = st.store();
    let status = store
        .setting("dashboard.status")
        .await?
        .unwrap_or_else(|| "in_progress".into());
    let milestones = store.milestones().await?;
    let pick = |sec: &str| {
        milestones
            .iter()
            .filter(|m| m.section == sec)
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
    };
    let min = st.config().min_cell;
    let dash = |c: &Option<u64>| c.map(fmt_n).unwrap_or_else(|| "—".into());
    let mut page = views::DashboardPage {
        layout: ctx.layout(&st, "Familiar neighbors"),
        status,
        has_data: false,
        period: String::new(),
        headers: vec![],
        rows: vec![],
        bullets: vec![],
        chart_svg: String::new(),
        chart_note: String::new(),
        min_cell: min,
        max_hidden: min.saturating_sub(1),
        suppressed: 0,
        done: pick("done"),
        next: pick("next"),
    };
    if let Some(m) = &snap.measures {
        let p = public_measures(m, &snap.agencies, min);
        page.has_data = true;
        page.suppressed = p.suppressed;
        page.period = format!(
            "{} to {}",
            us_date(p.as_of - Duration::days(i64::from(p.window_days) - 1)),
            us_date(p.as_of)
        );
        page.headers = std::iter::once("Any contact".to_string())
            .chain(p.thresholds.iter().map(|t| format!("{t}+")))
            .chain(std::iter::once("Interactions".to_string()))
            .collect();
        let row = |r: &crate::suppress::PublicRow, all: bool| views::MeasureRow {
            name: r.name.clone(),
            cells: std::iter::once(dash(&r.people))
                .chain(r.counts.iter().map(dash))
                .chain(std::iter::once(dash(&r.interactions)))
                .collect(),
            all,
        };
        page.rows = p.rows.iter().map(|r| row(r, false)).collect();
        page.rows.push(row(&p.all, true));
        page.bullets = p
            .thresholds
            .iter()
            .zip(&p.all.counts)
            .filter_map(|(t, c)| {
                c.map(|v| format!("{} neighbors {t} or more times across agencies", fmt_n(v)))
            })
            .collect();
        let first = p
            .thresholds
            .first()
            .copied()
            .unwrap_or(DEFAULT_THRESHOLDS[0]);
        // Chart only a group big enough not to identify anyone; name its size only when that
        // cell is published.
        let cohort_true = m.all_agencies.get(&first.to_string()).copied().unwrap_or(0);
        let cohort_shown = p.all.counts.first().copied().flatten();
        match cohort_true {
            n if n >= min && !snap.monthly.is_empty() => {
                let values: Vec<u64> = snap.monthly.iter().map(|(_, v)| *v).collect();
                let series: Vec<_> = snap
                    .monthly
                    .iter()
                    .map(|(m, _)| *m)
                    .zip(suppress_series(&values, min))
                    .collect();
                page.chart_svg = crate::svg::monthly_bars(&series, min);
                let who = match cohort_shown {
                    Some(n) => format!("the {} people", fmt_n(n)),
                    None => "the people".to_string(),
                };
                page.chart_note = format!(
                    "Interactions with any agency, per month, involving {who} with {first} or more interactions across agencies in the past year. Months with 1 to {} are suppressed.",
                    min.saturating_sub(1)
                );
            }
            _ => {
                page.chart_note = "The familiar-neighbor group is too small to chart without risk of identifying people.".into();
            }
        }
    }
    Ok(render(&page))
}

// ---------------------------------------------------------------------------------------------
// Workspace pages.

fn agency_options(snap: &data::Snapshot, selected: Option<&str>) -> Vec<(String, bool)> {
    snap.agencies
        .iter()
        .map(|a| (a.code.clone(), Some(a.code.as_str()) == selected))
        .collect()
}

const MAX_ROWS_SHOWN: usize = 500;

pub async fn neighbors(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ListQuery>,
    uri: Uri,
) -> Res {
    let snap = st.snapshot().await?;
    let f = match q.validate(&snap, DEFAULT_THRESHOLDS[0]) {
        Ok(f) => f,
        Err(e) => return Ok(bad_request(&st, &ctx, &e)),
    };
    let scope = scope_of(&st, &ctx);
    let list = data::neighbors_cached(&snap, &scope, &f).await?;
    st.audit(
        &ctx,
        "neighbors.view",
        "/neighbors",
        "ok",
        &serde_json::json!({"filter": f, "rows": list.rows.len()}).to_string(),
    )
    .await?;
    let page = views::NeighborsPage {
        layout: ctx.layout(&st, "Familiar neighbors"),
        shown: list.rows.len().min(MAX_ROWS_SHOWN),
        agency_options: agency_options(&snap, f.agency.as_deref()),
        query: uri.query().unwrap_or("").to_string(),
        list,
    };
    Ok(render(&page))
}

pub async fn neighbors_csv(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ListQuery>,
) -> Res {
    let snap = st.snapshot().await?;
    let f = match q.validate(&snap, DEFAULT_THRESHOLDS[0]) {
        Ok(f) => f,
        Err(e) => return Ok(bad_request(&st, &ctx, &e)),
    };
    let scope = scope_of(&st, &ctx);
    let list = data::neighbors_cached(&snap, &scope, &f).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec![
        "rank".to_string(),
        "person_id".into(),
        "name".into(),
        "total".into(),
    ];
    head.extend(list.agencies.iter().cloned());
    head.extend(["needs".to_string(), "last_contact".into()]);
    w.write_record(&head)?;
    for r in &list.rows {
        let mut rec = vec![
            r.rank.to_string(),
            csv_safe(&r.person_id),
            csv_safe(&r.name),
            r.total.to_string(),
        ];
        rec.extend(r.counts.iter().map(|c| c.to_string()));
        rec.push(r.needs.join(";"));
        rec.push(r.last.map(|d| d.to_string()).unwrap_or_default());
        w.write_record(&rec)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    st.audit(
        &ctx,
        "neighbors.export",
        "/neighbors.csv",
        "ok",
        &serde_json::json!({"filter": f, "rows": list.rows.len()}).to_string(),
    )
    .await?;
    Ok(csv_response("familiar-neighbors.csv", bytes))
}

pub(crate) fn can_review(ctx: &Ctx) -> bool {
    matches!(ctx.role(), Some(UserRole::Admin | UserRole::Analyst))
}

pub async fn person(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Res {
    let snap = st.snapshot().await?;
    let scope = scope_of(&st, &ctx);
    let target: String = id.chars().take(64).collect();
    let Some(p) = data::person(&snap, &scope, &id).await? else {
        st.audit(
            &ctx,
            "person.view",
            &target,
            "not_found",
            "no such person in scope",
        )
        .await?;
        return Ok(not_found_in(&st, &ctx));
    };
    st.audit(
        &ctx,
        "person.view",
        &p.person_id,
        "ok",
        &serde_json::json!({"contacts": p.contacts.len(), "records": p.identities.len()})
            .to_string(),
    )
    .await?;
    let events = if can_review(&ctx) {
        st.store()
            .person_events(&p.person_id)
            .await?
            .into_iter()
            .map(|e| (e.kind, e.detail))
            .collect()
    } else {
        vec![]
    };
    let page = views::PersonPage {
        layout: ctx.layout(&st, &format!("Person {}", p.person_id)),
        timeline_svg: crate::svg::timeline(&p.contacts, &snap.agency_codes()),
        counts: p.counts_365.iter().map(|(a, n)| (a.clone(), *n)).collect(),
        can_review: can_review(&ctx),
        events,
        p,
    };
    Ok(render(&page))
}

pub async fn places(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ListQuery>,
) -> Res {
    let snap = st.snapshot().await?;
    let f = match q.validate(&snap, 10) {
        Ok(f) => f,
        Err(e) => return Ok(bad_request(&st, &ctx, &e)),
    };
    let scope = scope_of(&st, &ctx);
    let rows = data::places_cached(&snap, &scope, &f).await?;
    st.audit(
        &ctx,
        "places.view",
        "/places",
        "ok",
        &serde_json::json!({"filter": f, "rows": rows.len()}).to_string(),
    )
    .await?;
    let page = views::PlacesPage {
        layout: ctx.layout(&st, "Familiar places"),
        rows,
        window: f.window,
        threshold: f.threshold,
        agency_options: agency_options(&snap, f.agency.as_deref()),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize, Default)]
pub struct ReviewQuery {
    #[serde(default)]
    pub done: Option<String>,
}

pub async fn review(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ReviewQuery>,
) -> Res {
    let snap = st.snapshot().await?;
    let decisions = st.store().decisions().await?;
    let model_pairs = st.store().review_queue().await?;
    let pairs = data::review_queue(&snap, &model_pairs, &decisions, 50);
    st.audit(
        &ctx,
        "review.view",
        "/review",
        "ok",
        &serde_json::json!({"pairs": pairs.len()}).to_string(),
    )
    .await?;
    let page = views::ReviewPage {
        layout: ctx.layout(&st, "Linkage review"),
        pairs,
        decisions: decisions.len(),
        done: q.done.is_some(),
    };
    Ok(render(&page))
}

/// A linkage decision as a form or the API sends it.
#[derive(Debug, Deserialize, Default)]
pub struct DecideInput {
    /// match | non_match | merge | split
    #[serde(default)]
    pub decision: String,
    /// A record id.
    #[serde(default)]
    pub left: String,
    /// match / non_match: the other record id.
    #[serde(default)]
    pub right: String,
    /// merge: the other person; split: the person the record is split from.
    #[serde(default)]
    pub person: String,
    #[serde(default)]
    pub reason: String,
}

/// Record a decision (several for a split) via the Store. Returns the decision ids.
pub(crate) async fn decide(
    st: &AppState,
    ctx: &Ctx,
    input: &DecideInput,
) -> Result<Vec<i64>, (StatusCode, String)> {
    let bad = |m: &str| (StatusCode::BAD_REQUEST, m.to_string());
    let internal = |e: anyhow::Error| {
        tracing::error!("decision failed: {e:#}");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error".to_string(),
        )
    };
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(bad("a reason (at most 1000 characters) is required"));
    }
    let left: i64 = input
        .left
        .trim()
        .parse()
        .map_err(|_| bad("left must be a record id"))?;
    let snap = st.snapshot().await.map_err(internal)?;
    if !snap.identities.contains_key(&left) {
        return Err(bad("no such record"));
    }
    let mut pairs: Vec<(String, i64, i64)> = Vec::new();
    match input.decision.as_str() {
        "match" | "non_match" => {
            let right: i64 = input
                .right
                .trim()
                .parse()
                .map_err(|_| bad("right must be a record id"))?;
            if right == left || !snap.identities.contains_key(&right) {
                return Err(bad("no such record"));
            }
            pairs.push((input.decision.clone(), left, right));
        }
        "merge" => {
            let other = input.person.trim();
            if !data::valid_person_id(other) {
                return Err(bad("person must be a person id"));
            }
            let right = snap
                .by_person
                .get(other)
                .into_iter()
                .flatten()
                .map(|&i| snap.rows[i].record_id)
                .filter(|r| snap.identities.contains_key(r))
                .min()
                .ok_or_else(|| bad("no such person"))?;
            if snap.links.get(&left).map(String::as_str) == Some(other) {
                return Err(bad("the record already belongs to that person"));
            }
            pairs.push(("match".into(), left, right));
        }
        "split" => {
            let pid = input.person.trim();
            if snap.links.get(&left).map(String::as_str) != Some(pid) {
                return Err(bad("the record does not belong to that person"));
            }
            let others: Vec<i64> = snap
                .links
                .iter()
                .filter(|(r, p)| p.as_str() == pid && **r != left)
                .map(|(r, _)| *r)
                .collect();
            if others.is_empty() {
                return Err(bad("the person has no other record"));
            }
            let mut others = others;
            others.sort_unstable();
            others.truncate(1000);
            for r in others {
                pairs.push(("non_match".into(), left, r));
            }
        }
        _ => return Err(bad("decision must be match, non_match, merge or split")),
    }
    let mut ids = Vec::new();
    for (kind, l, r) in &pairs {
        let id = st
            .store()
            .add_decision(&LinkDecision {
                id: 0,
                at: String::new(),
                actor: ctx.actor(),
                kind: kind.clone(),
                left_record: *l,
                right_record: Some(*r),
                person_id: None,
                reason: format!("{}: {reason}", input.decision),
            })
            .await
            .map_err(|e| internal(e.into()))?;
        ids.push(id);
    }
    st.audit(
        ctx,
        "review.decide",
        &format!("record {left}"),
        "ok",
        &serde_json::json!({
            "decision": input.decision,
            "pairs": pairs.iter().map(|(_, l, r)| [l, r]).collect::<Vec<_>>(),
            "decision_ids": ids,
        })
        .to_string(),
    )
    .await
    .map_err(internal)?;
    Ok(ids)
}

pub async fn review_decide(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(input): Form<DecideInput>,
) -> Res {
    match decide(&st, &ctx, &input).await {
        Ok(_) => {
            let back = match input.decision.as_str() {
                "merge" | "split" => snap_person_of(&st, &input).await,
                _ => None,
            };
            Ok(Redirect::to(&back.unwrap_or_else(|| "/review?done=1".into())).into_response())
        }
        Err((code, msg)) => {
            let _ = st
                .audit(&ctx, "review.decide", &input.left, "rejected", &msg)
                .await;
            Ok((
                code,
                views::message_in(
                    ctx.layout(&st, "Decision not recorded"),
                    "Decision not recorded",
                    &msg,
                ),
            )
                .into_response())
        }
    }
}

async fn snap_person_of(st: &AppState, input: &DecideInput) -> Option<String> {
    let snap = st.snapshot().await.ok()?;
    let left: i64 = input.left.parse().ok()?;
    snap.links
        .get(&left)
        .map(|p| format!("/people/{}", url_encode(p)))
}

pub async fn sources(State(st): State<AppState>, Extension(ctx): Extension<Ctx>) -> Res {
    let store = st.store();
    let files = store.ingest_files().await?;
    let counts = store.counts().await?;
    st.audit(&ctx, "sources.view", "/sources", "ok", "").await?;
    let page = views::SourcesPage {
        layout: ctx.layout(&st, "Sources"),
        files: files
            .into_iter()
            .map(|f| views::SourceFileRow {
                run_id: f.run_id,
                finished_at: f.finished_at.unwrap_or_default(),
                source: f.source,
                file: std::path::Path::new(&f.path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or(f.path),
                read: f.rows_read,
                accepted: f.accepted,
                rejected: f.rejected,
                duplicate: f.duplicate,
            })
            .collect(),
        quarantined: counts.quarantine,
        records: counts.current_records,
        persons: counts.persons,
    };
    Ok(render(&page))
}

pub async fn sources_rejects(State(st): State<AppState>, Extension(ctx): Extension<Ctx>) -> Res {
    let rows = st.store().quarantine_rows(None).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["source", "file_id", "row", "kind", "field", "reason", "raw"])?;
    for r in &rows {
        w.write_record([
            csv_safe(&r.source),
            r.file_id.to_string(),
            r.row_number.to_string(),
            csv_safe(&r.kind),
            csv_safe(r.field.as_deref().unwrap_or("")),
            csv_safe(&r.reason),
            csv_safe(&String::from_utf8_lossy(&r.raw)),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    st.audit(
        &ctx,
        "sources.rejects.export",
        "/sources/rejects.csv",
        "ok",
        &serde_json::json!({"rows": rows.len()}).to_string(),
    )
    .await?;
    Ok(csv_response("rejected-rows.csv", bytes))
}

#[derive(Debug, Deserialize, Default)]
pub struct AuditPageQuery {
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
}

impl AuditPageQuery {
    pub fn to_query(&self, limit: u32) -> AuditQuery {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(64).collect::<String>())
        };
        AuditQuery {
            before_id: self.before.as_deref().and_then(|b| b.trim().parse().ok()),
            actor: clean(&self.actor),
            action_prefix: clean(&self.action),
            limit,
        }
    }
}

pub async fn audit(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<AuditPageQuery>,
) -> Res {
    st.audit(&ctx, "audit.view", "/audit", "ok", "").await?;
    let aq = q.to_query(200);
    let entries = st.store().audit_entries(&aq).await?;
    let verify = st.store().verify_audit().await?;
    let older = (entries.len() == 200).then(|| {
        format!(
            "/audit?before={}&actor={}&action={}",
            entries.last().map(|e| e.id).unwrap_or(0),
            url_encode(aq.actor.as_deref().unwrap_or("")),
            url_encode(aq.action_prefix.as_deref().unwrap_or(""))
        )
    });
    let page = views::AuditPage {
        layout: ctx.layout(&st, "Audit log"),
        entries,
        verify,
        actor: aq.actor.unwrap_or_default(),
        action: aq.action_prefix.unwrap_or_default(),
        older,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize, Default)]
pub struct ExportQuery {
    #[serde(default)]
    pub format: Option<String>,
}

pub async fn audit_export(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ExportQuery>,
) -> Res {
    let format = q.format.as_deref().unwrap_or("csv");
    if format != "csv" && format != "json" {
        return Ok(bad_request(&st, &ctx, "format must be csv or json"));
    }
    st.audit(&ctx, "audit.export", "/audit/export", "ok", format)
        .await?;
    let entries = st.store().audit_entries(&AuditQuery::default()).await?;
    if format == "json" {
        return Ok((
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit.json\"",
                ),
            ],
            serde_json::to_vec_pretty(&entries)?,
        )
            .into_response());
    }
    Ok(csv_response("audit.csv", audit_csv(&entries)?))
}

pub fn audit_csv(entries: &[familiar_store::AuditEntry]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "at",
        "actor",
        "action",
        "target",
        "source",
        "outcome",
        "detail",
        "prev_hash",
        "hash",
    ])?;
    for e in entries {
        w.write_record([
            e.id.to_string(),
            e.at.clone(),
            csv_safe(&e.actor),
            csv_safe(&e.action),
            csv_safe(&e.target),
            csv_safe(&e.source),
            csv_safe(&e.outcome),
            csv_safe(&e.detail),
            e.prev_hash.clone(),
            e.hash.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))
}

#[derive(Debug, Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    pub saved: Option<String>,
}

pub async fn admin_dashboard(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<SavedQuery>,
) -> Res {
    let store = st.store();
    let status = store
        .setting("dashboard.status")
        .await?
        .unwrap_or_else(|| "in_progress".into());
    let ms = store.milestones().await?;
    let lines = |sec: &str| {
        ms.iter()
            .filter(|m| m.section == sec)
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let page = views::AdminDashboardPage {
        layout: ctx.layout(&st, "Edit the public dashboard"),
        status,
        done: lines("done"),
        next: lines("next"),
        saved: q.saved.is_some(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize, Default)]
pub struct DashboardForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub done: String,
    #[serde(default)]
    pub next: String,
}

fn lines_of(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.chars().take(300).collect())
        .take(40)
        .collect()
}

pub async fn admin_dashboard_save(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<DashboardForm>,
) -> Res {
    if !["in_progress", "on_hold", "complete"].contains(&f.status.as_str()) {
        return Ok(bad_request(&st, &ctx, "unknown status"));
    }
    let store = st.store();
    store.set_setting("dashboard.status", &f.status).await?;
    let (done, next) = (lines_of(&f.done), lines_of(&f.next));
    store.set_milestones("done", &done).await?;
    store.set_milestones("next", &next).await?;
    st.audit(
        &ctx,
        "dashboard.edit",
        "/admin/dashboard",
        "ok",
        &serde_json::json!({"status": f.status, "done": done.len(), "next": next.len()})
            .to_string(),
    )
    .await?;
    Ok(Redirect::to("/admin/dashboard?saved=1").into_response())
}

pub async fn admin_users(State(st): State<AppState>, Extension(ctx): Extension<Ctx>) -> Res {
    let users = st.store().users().await?;
    st.audit(&ctx, "users.view", "/admin/users", "ok", "")
        .await?;
    let page = views::AdminUsersPage {
        layout: ctx.layout(&st, "Users"),
        users,
        me: ctx.actor(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize, Default)]
pub struct ToggleForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub disabled: String,
}

pub async fn admin_user_toggle(
    State(st): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<ToggleForm>,
) -> Res {
    if f.username == ctx.actor() {
        return Ok(bad_request(&st, &ctx, "you cannot disable yourself"));
    }
    let disabled = f.disabled == "true";
    if let Err(e) =
        crate::users::set_disabled(st.store(), &f.username, disabled, &ctx.actor(), &ctx.ip).await
    {
        return Ok(bad_request(&st, &ctx, &e.to_string()));
    }
    Ok(Redirect::to("/admin/users").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_csv_cells() {
        assert_eq!(fmt_n(0), "0");
        assert_eq!(fmt_n(1234), "1,234");
        assert_eq!(fmt_n(1234567), "1,234,567");
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("SMITH, ANA"), "SMITH, ANA");
    }
}
