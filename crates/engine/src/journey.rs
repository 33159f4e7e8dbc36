//! A person's journey: every interaction across agencies in time order (jail stays as
//! intervals), and the need flags with the records they came from.

use serde::Serialize;

use crate::query::{bools, i64s, run, strings};
use crate::{Result, Snapshot};

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub record_id: i64,
    pub agency: String,
    pub source: String,
    pub event_key: String,
    pub kind: String,
    pub role: String,
    pub date: String,
    pub start_utc: i64,
    /// Jail stays (and any interaction with an end): when it ended; None while ongoing.
    pub end_utc: Option<i64>,
    pub place: Option<String>,
    pub call_type: Option<String>,
    pub disposition: Option<String>,
    /// The dispatch (CAD) incident number the record cites: the 911 call a police, EMS or
    /// crisis-team response came from (the same number on the call itself).
    pub incident_ref: Option<String>,
    pub needs: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NeedSource {
    pub need: &'static str,
    pub record_id: i64,
    pub agency: String,
    pub date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Journey {
    pub person_id: String,
    pub steps: Vec<Step>,
    pub needs: Vec<NeedSource>,
}

/// The journey of `person_id`, or None when no interaction names that person.
pub async fn journey(snap: &Snapshot, person_id: &str) -> Result<Option<Journey>> {
    let ctx = snap.context().await?;
    let id = person_id.replace('\'', "''");
    let b = run(
        &ctx,
        &format!(
            "SELECT v.record_id, i.agency, i.source, i.event_key, i.kind, v.role, i.local_date,
                    i.start_utc, i.end_utc, COALESCE(i.location_text, i.location_key) AS place,
                    i.call_type, i.disposition, i.incident_ref, v.mental_health, v.substance_use,
                    v.housing_instability
             FROM involvements v JOIN interactions i ON v.interaction = i.interaction
             WHERE v.person_id = '{id}'
             ORDER BY i.start_utc, v.record_id"
        ),
    )
    .await?;
    let rec = i64s(&b, "record_id")?;
    if rec.is_empty() {
        return Ok(None);
    }
    let agency = strings(&b, "agency")?;
    let source = strings(&b, "source")?;
    let event = strings(&b, "event_key")?;
    let kind = strings(&b, "kind")?;
    let role = strings(&b, "role")?;
    let date = strings(&b, "local_date")?;
    let start = i64s(&b, "start_utc")?;
    let end = i64s(&b, "end_utc")?;
    let place = strings(&b, "place")?;
    let call = strings(&b, "call_type")?;
    let disp = strings(&b, "disposition")?;
    let incident = strings(&b, "incident_ref")?;
    let flags = [
        ("mental_health", bools(&b, "mental_health")?),
        ("substance_use", bools(&b, "substance_use")?),
        ("housing_instability", bools(&b, "housing_instability")?),
    ];
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut steps = Vec::new();
    let mut needs = Vec::new();
    for i in 0..rec.len() {
        let mut n = Vec::new();
        for (name, col) in &flags {
            if col[i] == Some(true) {
                n.push(*name);
                needs.push(NeedSource {
                    need: name,
                    record_id: rec[i].unwrap_or(0),
                    agency: s(&agency[i]),
                    date: s(&date[i]),
                });
            }
        }
        steps.push(Step {
            record_id: rec[i].unwrap_or(0),
            agency: s(&agency[i]),
            source: s(&source[i]),
            event_key: s(&event[i]),
            kind: s(&kind[i]),
            role: s(&role[i]),
            date: s(&date[i]),
            start_utc: start[i].unwrap_or(0),
            end_utc: end[i],
            place: place[i].clone(),
            call_type: call[i].clone(),
            disposition: disp[i].clone(),
            incident_ref: incident[i].clone(),
            needs: n,
        });
    }
    needs.sort_by(|a, b| a.need.cmp(b.need).then(a.date.cmp(&b.date)));
    Ok(Some(Journey {
        person_id: person_id.to_string(),
        steps,
        needs,
    }))
}
