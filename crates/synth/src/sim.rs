//! The county's year(s): each resident's timeline of incidents (background activity plus crisis
//! episodes), the cascades one incident sets off across agencies (911 call → police / EMS / HEART
//! response → arrest → same-day booking → release), scripted extreme cases from the seed, and
//! place-only calls that name nobody.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{LogNormal, Poisson};

use crate::codes::{self, pick};
use crate::geo::{Geo, Loc, PremiseKind};
use crate::population::{Cast, Home, Person, Persona, Population, NEED_HOUSING, NEED_MH, NEED_SU};
use crate::timefmt::{fix_local, same_day_after};

/// "No related event".
pub const NONE: u32 = u32::MAX;
/// Per-year volumes below are for a Durham-sized county.
pub const DURHAM_PEOPLE: f64 = 330_000.0;

/// The five agencies of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ag {
    Decc,
    Dpd,
    Dfd,
    Dcsd,
    Heart,
}

impl Ag {
    pub const ALL: [Ag; 5] = [Ag::Decc, Ag::Dpd, Ag::Dfd, Ag::Dcsd, Ag::Heart];
    pub fn code(self) -> &'static str {
        match self {
            Ag::Decc => "DECC",
            Ag::Dpd => "DPD",
            Ag::Dfd => "DFD",
            Ag::Dcsd => "DCSD",
            Ag::Heart => "HEART",
        }
    }
    pub fn idx(self) -> usize {
        self as usize
    }
}

/// What an event is within its agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    Call,
    Incident,
    Arrest,
    Ems,
    Fire,
    Booking,
    Crisis,
}

/// A person's part, in the agencies' own vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PRole {
    Caller,
    Suspect,
    Subject,
    Victim,
    Complainant,
    ReportingParty,
    Witness,
    Involved,
    Arrestee,
    Patient,
    Client,
    Inmate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party {
    pub person: u32,
    pub role: PRole,
}

const NOBODY: Party = Party {
    person: NONE,
    role: PRole::Involved,
};

/// One interaction of one agency (one event key). Only people the agency *names* are parties.
#[derive(Debug, Clone)]
pub struct Event {
    pub ag: Ag,
    pub sub: Sub,
    /// Local start (unambiguous in America/New_York).
    pub t: NaiveDateTime,
    pub end: Option<NaiveDateTime>,
    /// Nature / offense / impression (EMS) / NFIRS type (fire) / charge / crisis reason.
    pub code: &'static str,
    pub loc: Loc,
    parties: [Party; 3],
    n: u8,
    pub needs: u8,
    pub transported: bool,
    /// Related event: the 911 call a response came from, the incident of an arrest, the arrest
    /// of a booking.
    pub link: u32,
    pub dead: bool,
    /// An EMS patient written as a placeholder ("DOE JOHN" = 1, "DOE JANE" = 2): names nobody.
    pub placeholder: u8,
}

impl Event {
    pub fn parties(&self) -> &[Party] {
        &self.parties[..self.n as usize]
    }

    fn add(&mut self, p: Party) -> bool {
        if p.person == NONE || (self.n as usize) >= self.parties.len() {
            return false;
        }
        if self.parties().iter().any(|q| q.person == p.person) {
            return false;
        }
        self.parties[self.n as usize] = p;
        self.n += 1;
        true
    }

    fn retain(&mut self, mut keep: impl FnMut(&Party) -> bool) {
        let mut out = [NOBODY; 3];
        let mut k = 0;
        for p in self.parties() {
            if keep(p) {
                out[k] = *p;
                k += 1;
            }
        }
        self.parties = out;
        self.n = k as u8;
    }
}

/// The whole simulated county.
pub struct County {
    pub people: Vec<Person>,
    pub households: Vec<(u32, u32)>,
    pub geo: Geo,
    pub events: Vec<Event>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub super_caller: Option<u32>,
    pub frequent_bookers: Vec<u32>,
    pub group_home_staff: Vec<u32>,
    /// Jail stays per person (booked, released-or-end).
    pub jail: Vec<Vec<(NaiveDateTime, NaiveDateTime)>>,
}

impl County {
    pub fn in_jail(&self, person: u32, t: NaiveDateTime) -> bool {
        in_jail(&self.jail[person as usize], t)
    }
}

fn in_jail(stays: &[(NaiveDateTime, NaiveDateTime)], t: NaiveDateTime) -> bool {
    stays.iter().any(|&(a, b)| t > a && t < b)
}

/// Incident types a person's timeline draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum It {
    CallSelf,
    PoliceSubject,
    PoliceSelf,
    Medical,
    Crisis,
    Substance,
    Booking,
    SuperCall,
}

const GENERIC: [It; 7] = [
    It::CallSelf,
    It::PoliceSubject,
    It::PoliceSelf,
    It::Medical,
    It::Crisis,
    It::Substance,
    It::Booking,
];
/// Incidents per year at Durham scale, by generic type.
const TARGETS: [f64; 7] = [
    80_000.0, 72_000.0, 40_000.0, 36_000.0, 10_000.0, 7_500.0, 2_300.0,
];
/// How strongly each type follows the propensity.
const GAMMA: [f64; 7] = [0.8, 0.85, 0.75, 0.5, 0.15, 0.9, 0.9];
/// Share of a person's activity that happens in crisis episodes.
const EPISODIC: f64 = 0.8;
/// Episodes per year, and their duration (lognormal, days).
const EP_RATE: f64 = 0.5;
const EP_MEDIAN_DAYS: f64 = 28.0;
const EP_SIGMA: f64 = 0.7;
/// Crisis regulars' extra crisis incidents per year (lognormal).
const CRISIS_REGULAR_MEDIAN: f64 = 14.0;
const CRISIS_REGULAR_SIGMA: f64 = 1.1;
/// Frequent bookers' yearly rates by generic type.
const FB_RATES: [f64; 7] = [3.0, 50.0, 6.0, 3.0, 3.0, 6.0, 5.0];

struct Sim<'a> {
    rng: &'a mut ChaCha8Rng,
    people: &'a [Person],
    households: &'a [(u32, u32)],
    geo: &'a Geo,
    start: NaiveDate,
    end: NaiveDate,
    days: i64,
    events: Vec<Event>,
    jail: Vec<Vec<(NaiveDateTime, NaiveDateTime)>>,
    residents: WeightedIndex<f64>,
    commercial: WeightedIndex<f64>,
    hours: WeightedIndex<f64>,
    ep_duration: LogNormal<f64>,
    spike: (NaiveDate, NaiveDate),
    gh_residents: Vec<u32>,
    staff: Vec<u32>,
}

/// 911 volume by hour of day (relative).
const HOURS: [f64; 24] = [
    2.5, 2.0, 1.6, 1.3, 1.1, 1.2, 1.8, 2.8, 3.8, 4.4, 4.8, 5.1, 5.3, 5.4, 5.5, 5.6, 5.7, 5.8, 5.8,
    5.6, 5.1, 4.5, 3.8, 3.1,
];

/// Run the county. `pop` is consumed into the result.
pub fn simulate(
    rng: &mut ChaCha8Rng,
    pop: Population,
    geo: Geo,
    (start, end): (NaiveDate, NaiveDate),
    cast: Cast,
) -> County {
    let Cast {
        super_caller,
        frequent_bookers,
        group_home_staff: staff,
    } = cast;
    let people = pop.people;
    let households = pop.households;
    let days = (end - start).num_days() + 1;
    let n = people.len();
    let scale = n as f64 / DURHAM_PEOPLE;

    let residents = WeightedIndex::new(people.iter().map(|p| {
        if p.age_on(end) < 14 || p.persona != Persona::Normal {
            0.0
        } else {
            p.prop.powf(0.3)
        }
    }))
    .expect("some adult residents");
    let commercial = {
        let ln = LogNormal::new(0.0, 1.3).unwrap();
        let w: Vec<f64> = geo.commercial.iter().map(|_| ln.sample(rng)).collect();
        WeightedIndex::new(w).unwrap()
    };
    // The super caller's worst month: a calendar month in the last year of data.
    let back = 90.min(days / 3);
    let target = end - Duration::days(back);
    let m0 = NaiveDate::from_ymd_opt(target.year(), target.month(), 1).unwrap();
    let m1 = if target.month() == 12 {
        NaiveDate::from_ymd_opt(target.year() + 1, 1, 1).unwrap()
    } else {
        NaiveDate::from_ymd_opt(target.year(), target.month() + 1, 1).unwrap()
    } - Duration::days(1);
    let spike = (m0.max(start), m1.min(end));
    let gh_residents: Vec<u32> = people
        .iter()
        .enumerate()
        .filter(|(_, p)| p.persona == Persona::GroupHomeResident)
        .map(|(i, _)| i as u32)
        .collect();

    let mut sim = Sim {
        rng,
        people: &people,
        households: &households,
        geo: &geo,
        start,
        end,
        days,
        events: Vec::with_capacity((n as f64 * 3.5 * days as f64 / 365.0) as usize),
        jail: vec![Vec::new(); n],
        residents,
        commercial,
        hours: WeightedIndex::new(HOURS).unwrap(),
        ep_duration: LogNormal::new(EP_MEDIAN_DAYS.ln(), EP_SIGMA).unwrap(),
        spike,
        gh_residents,
        staff,
    };

    // Per-type scaling so the county's expected volumes match the targets.
    let weights = |p: &Person| -> [f64; 7] {
        let mut w = [0.0; 7];
        for (k, a) in affinity(p, end).iter().enumerate() {
            w[k] = p.prop.powf(GAMMA[k]) * a;
        }
        w
    };
    let generic = |p: &Person| {
        matches!(
            p.persona,
            Persona::Normal
                | Persona::GroupHomeResident
                | Persona::GroupHomeStaff
                | Persona::CrisisRegular
        )
    };
    let mut sums = [0.0f64; 7];
    for p in people.iter().filter(|p| generic(p)) {
        for (s, w) in sums.iter_mut().zip(weights(p)) {
            *s += w;
        }
    }
    let k: Vec<f64> = (0..7)
        .map(|t| {
            if sums[t] > 0.0 {
                TARGETS[t] * scale / sums[t]
            } else {
                0.0
            }
        })
        .collect();

    let mut cands = Vec::new();
    for (i, p) in people.iter().enumerate() {
        match p.persona {
            Persona::SuperCaller => sim.super_caller_timeline(i as u32, &mut cands),
            Persona::FrequentBooker => {
                let mut r = [0.0; 8];
                r[..7].copy_from_slice(&FB_RATES);
                sim.timeline(i as u32, &r, 0.0, &mut cands);
            }
            Persona::CrisisRegular => {
                let w = weights(p);
                let mut r = [0.0; 8];
                for t in 0..7 {
                    r[t] = k[t] * w[t];
                }
                r[4] += LogNormal::new(CRISIS_REGULAR_MEDIAN.ln(), CRISIS_REGULAR_SIGMA)
                    .unwrap()
                    .sample(sim.rng);
                sim.timeline(i as u32, &r, 0.5, &mut cands);
            }
            _ => {
                let w = weights(p);
                let mut r = [0.0; 8];
                for t in 0..7 {
                    r[t] = k[t] * w[t];
                }
                sim.timeline(i as u32, &r, EPISODIC, &mut cands);
            }
        }
    }
    sim.group_home();
    sim.place_only(scale);
    sim.remove_jailed_parties();

    let Sim {
        events,
        jail,
        staff,
        ..
    } = sim;
    County {
        people,
        households,
        geo,
        events,
        start,
        end,
        super_caller,
        frequent_bookers,
        group_home_staff: staff,
        jail,
    }
}

/// Relative affinity of a person for each generic incident type.
fn affinity(p: &Person, end: NaiveDate) -> [f64; 7] {
    let age = p.age_on(end);
    if age < 14 {
        let med = 0.4;
        return [0.0, 0.0, 0.0, med, 0.0, 0.0, 0.0];
    }
    let police_age = match age {
        14..=17 => 0.5,
        18..=24 => 1.3,
        25..=34 => 1.2,
        35..=44 => 1.0,
        45..=54 => 0.8,
        55..=64 => 0.5,
        _ => 0.2,
    };
    let sex = if p.female() { 0.6 } else { 1.4 };
    let mh = p.has(NEED_MH) as u8 as f64;
    let su = p.has(NEED_SU) as u8 as f64;
    let ho = p.has(NEED_HOUSING) as u8 as f64;
    let cj = if p.cj { 1.6 } else { 0.6 };
    let med_age = match age {
        14..=54 => 1.0,
        55..=64 => 1.6,
        65..=74 => 2.5,
        _ => 4.5,
    };
    [
        (1.0 + 0.8 * mh + 0.5 * ho) * if age >= 65 { 1.2 } else { 1.0 },
        police_age * sex * cj * (1.0 + 0.4 * su + 0.5 * ho + 0.3 * mh),
        police_age * sex * if p.cj { 2.0 } else { 0.6 } * (1.0 + 0.5 * ho),
        med_age * (1.0 + 0.5 * su + 0.8 * ho + 0.3 * mh),
        if mh > 0.0 { 1.0 } else { 0.02 },
        if su > 0.0 { 1.0 } else { 0.02 },
        police_age * sex * if p.cj { 1.0 } else { 0.05 },
    ]
}

impl<'a> Sim<'a> {
    fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            0
        } else {
            Poisson::new(lambda).unwrap().sample(self.rng) as u64
        }
    }

    fn time_on(&mut self, day: NaiveDate) -> NaiveDateTime {
        let h = self.hours.sample(self.rng) as u32;
        let m = self.rng.gen_range(0..60);
        let s = self.rng.gen_range(0..60);
        fix_local(day.and_time(NaiveTime::from_hms_opt(h, m, s).unwrap()))
    }

    fn random_day(&mut self) -> NaiveDate {
        self.start + Duration::days(self.rng.gen_range(0..self.days))
    }

    fn person(&self, i: u32) -> &'a Person {
        &self.people[i as usize]
    }

    // ---------------------------------------------------------------- timelines

    fn timeline(
        &mut self,
        i: u32,
        rates: &[f64; 8],
        f_ep: f64,
        cands: &mut Vec<(NaiveDateTime, It)>,
    ) {
        let total: f64 = rates.iter().sum();
        if total <= 0.0 {
            return;
        }
        cands.clear();
        let d = self.days as f64;
        let nb = self.poisson(total * (1.0 - f_ep) * d / 365.0);
        for _ in 0..nb {
            let day = self.random_day();
            let t = self.time_on(day);
            let ty = self.pick_type(rates, total);
            cands.push((t, ty));
        }
        if f_ep > 0.0 {
            let mean_dur = EP_MEDIAN_DAYS * (EP_SIGMA * EP_SIGMA / 2.0).exp();
            let pi = EP_RATE * mean_dur / 365.0;
            let lead = 60i64;
            let n_ep = self.poisson(EP_RATE * (d + lead as f64) / 365.0);
            for _ in 0..n_ep {
                let a = self.rng.gen_range(-lead..self.days);
                let dur = (self.ep_duration.sample(self.rng).round() as i64).max(1);
                let (a, b) = (a.max(0), (a + dur).min(self.days));
                if b <= a {
                    continue;
                }
                let len = (b - a) as f64;
                let ne = self.poisson(total * (f_ep / pi) * len / 365.0);
                for _ in 0..ne {
                    let day = self.start + Duration::days(self.rng.gen_range(a..b));
                    let t = self.time_on(day);
                    let ty = self.pick_type(rates, total);
                    cands.push((t, ty));
                }
            }
        }
        self.run_candidates(i, cands);
    }

    fn run_candidates(&mut self, i: u32, cands: &mut [(NaiveDateTime, It)]) {
        cands.sort_by_key(|c| c.0);
        let mut free_at = NaiveDateTime::MIN;
        let born = self.person(i).dob;
        for &(t, ty) in cands.iter() {
            if t < free_at || t.date() <= born {
                continue; // in custody (no street interactions), or not born yet
            }
            if let Some(rel) = self.incident(i, ty, t) {
                free_at = rel;
            }
        }
    }

    fn pick_type(&mut self, rates: &[f64; 8], total: f64) -> It {
        let mut x = self.rng.gen::<f64>() * total;
        for (k, r) in rates.iter().enumerate().take(7) {
            if x < *r {
                return GENERIC[k];
            }
            x -= r;
        }
        It::SuperCall
    }

    fn super_caller_timeline(&mut self, i: u32, cands: &mut Vec<(NaiveDateTime, It)>) {
        cands.clear();
        let spike_days = (self.spike.1 - self.spike.0).num_days() + 1;
        let spike_rate = 470.0 / spike_days.max(28) as f64;
        for k in 0..self.days {
            let day = self.start + Duration::days(k);
            let rate = if day >= self.spike.0 && day <= self.spike.1 {
                spike_rate
            } else {
                0.6
            };
            for _ in 0..self.poisson(rate) {
                let t = self.time_on(day);
                cands.push((t, It::SuperCall));
            }
        }
        let d = self.days as f64 / 365.0;
        for (ty, per_year) in [(It::Substance, 6.0), (It::Medical, 4.0), (It::Crisis, 3.0)] {
            for _ in 0..self.poisson(per_year * d) {
                let day = self.random_day();
                let t = self.time_on(day);
                cands.push((t, ty));
            }
        }
        self.run_candidates(i, cands);
    }

    // ---------------------------------------------------------------- helpers

    fn in_spike(&self, t: NaiveDateTime) -> bool {
        let d = t.date();
        d >= self.spike.0 - Duration::days(5) && d <= self.spike.1
    }

    fn may_arrest(&self, i: u32, t: NaiveDateTime) -> bool {
        !(self.person(i).persona == Persona::SuperCaller && self.in_spike(t))
    }

    fn resident(&mut self) -> u32 {
        self.residents.sample(self.rng) as u32
    }

    fn resident_not(&mut self, not: u32) -> Option<u32> {
        (0..4).map(|_| self.resident()).find(|&r| r != not)
    }

    fn housemate(&mut self, i: u32) -> Option<u32> {
        let p = self.person(i);
        if p.home == Home::Street {
            return None;
        }
        if p.persona == Persona::GroupHomeResident {
            let n = self.gh_residents.len();
            let r = self.gh_residents[self.rng.gen_range(0..n)];
            return (r != i).then_some(r);
        }
        let (a, b) = self.households[p.household as usize];
        let end = self.end;
        let adults: Vec<u32> = (a..b)
            .filter(|&j| j != i && self.people[j as usize].age_on(end) >= 14)
            .collect();
        if adults.is_empty() {
            None
        } else {
            Some(adults[self.rng.gen_range(0..adults.len())])
        }
    }

    fn public_loc(&mut self) -> Loc {
        let x: f64 = self.rng.gen();
        if x < 0.55 {
            let c = self.geo.commercial[self.commercial.sample(self.rng)];
            Loc::Premise { id: c, unit: 0 }
        } else {
            let n = self.geo.streets.len();
            let a = self.rng.gen_range(0..n);
            let mut b = self.rng.gen_range(0..n);
            if b == a {
                b = (a + 1) % n;
            }
            Loc::Intersection(a as u16, b as u16)
        }
    }

    fn residence_loc(&mut self) -> Loc {
        for _ in 0..8 {
            let j = self.rng.gen_range(0..self.people.len());
            if let Home::At(l @ Loc::Premise { id, .. }) = self.people[j].home {
                if self.geo.premise(id).kind != PremiseKind::GroupHome {
                    return l;
                }
            }
        }
        self.public_loc()
    }

    fn loc_for(&mut self, i: u32, home_p: f64) -> Loc {
        match self.person(i).home {
            Home::At(l) if self.rng.gen_bool(home_p) => l,
            _ => {
                if self.rng.gen_bool(0.15) {
                    self.residence_loc()
                } else {
                    self.public_loc()
                }
            }
        }
    }

    fn push(&mut self, e: Event) -> u32 {
        let id = self.events.len() as u32;
        self.events.push(e);
        id
    }

    fn event(
        &self,
        ag: Ag,
        sub: Sub,
        t: NaiveDateTime,
        code: &'static str,
        loc: Loc,
        link: u32,
    ) -> Event {
        Event {
            ag,
            sub,
            t,
            end: None,
            code,
            loc,
            parties: [NOBODY; 3],
            n: 0,
            needs: 0,
            transported: false,
            link,
            dead: false,
            placeholder: 0,
        }
    }

    fn call(
        &mut self,
        t: NaiveDateTime,
        loc: Loc,
        nature: &'static str,
        caller: Option<u32>,
    ) -> u32 {
        let mut e = self.event(Ag::Decc, Sub::Call, t, nature, loc, NONE);
        e.end = Some(t + Duration::seconds(self.rng.gen_range(300..7200)));
        if let Some(c) = caller {
            e.add(Party {
                person: c,
                role: PRole::Caller,
            });
        }
        self.push(e)
    }

    fn dpd_incident(
        &mut self,
        t: NaiveDateTime,
        call: u32,
        loc: Loc,
        offense: &'static str,
        parties: &[Party],
    ) -> u32 {
        let td = if call == NONE {
            t
        } else {
            same_day_after(t, self.rng.gen_range(300..2400))
        };
        let mut e = self.event(Ag::Dpd, Sub::Incident, td, offense, loc, call);
        for p in parties {
            e.add(*p);
        }
        self.push(e)
    }

    fn ems(
        &mut self,
        t: NaiveDateTime,
        call: u32,
        loc: Loc,
        patient: Option<u32>,
        impression: &'static str,
    ) -> u32 {
        let te = same_day_after(t, self.rng.gen_range(240..900));
        let mut e = self.event(Ag::Dfd, Sub::Ems, te, impression, loc, call);
        let p_transport = match impression {
            "No Apparent Illness/Injury" => 0.1,
            "Behavioral/Psychiatric Disorder" | "Suicidal Ideation" | "Anxiety" => 0.55,
            "Alcohol Intoxication" | "Opioid Overdose" | "Drug Intoxication" => 0.55,
            _ => 0.66,
        };
        e.transported = patient.is_some() && self.rng.gen_bool(p_transport);
        let unresponsive = matches!(
            impression,
            "Altered Mental Status" | "Syncope" | "Opioid Overdose" | "Cardiac Arrest"
        );
        match patient {
            // an unresponsive patient recorded as John / Jane Doe: the row names nobody
            Some(p) if unresponsive && self.rng.gen_bool(0.05) => {
                e.placeholder = if self.person(p).female() { 2 } else { 1 };
            }
            Some(p) => {
                e.add(Party {
                    person: p,
                    role: PRole::Patient,
                });
            }
            None => {}
        }
        self.push(e)
    }

    fn heart(
        &mut self,
        t: NaiveDateTime,
        call: u32,
        loc: Loc,
        client: Option<u32>,
        reason: &'static str,
    ) -> u32 {
        let th = same_day_after(t, self.rng.gen_range(600..2700));
        let mut e = self.event(Ag::Heart, Sub::Crisis, th, reason, loc, call);
        e.end = Some(th + Duration::seconds(self.rng.gen_range(1200..5400)));
        let mut needs = 0;
        match reason {
            "Mental health crisis" | "Suicidal ideation" => needs |= NEED_MH,
            "Substance use" | "Intoxicated person" => needs |= NEED_SU,
            "Basic needs" | "Panhandling" => needs |= NEED_HOUSING,
            _ => {}
        }
        if let Some(c) = client {
            needs |= self.person(c).needs & if self.rng.gen_bool(0.7) { 7 } else { 0 };
            e.add(Party {
                person: c,
                role: PRole::Client,
            });
        }
        e.needs = needs;
        self.push(e)
    }

    /// Arrest after an incident; usually a same-day booking. Returns when the person is free.
    fn arrest(
        &mut self,
        i: u32,
        incident: u32,
        t: NaiveDateTime,
        loc: Loc,
        low_level: bool,
    ) -> NaiveDateTime {
        let ta = same_day_after(t, self.rng.gen_range(1200..5400));
        let offense = self.events[incident as usize].code;
        let mut e = self.event(Ag::Dpd, Sub::Arrest, ta, offense, loc, incident);
        e.add(Party {
            person: i,
            role: PRole::Arrestee,
        });
        let arr = self.push(e);
        let booked_p = if self.person(i).persona == Persona::FrequentBooker {
            0.95
        } else {
            0.8
        };
        if self.rng.gen_bool(booked_p) {
            let tb = same_day_after(ta, self.rng.gen_range(3600..10_800));
            let charge = if self.person(i).persona == Persona::SuperCaller {
                "MISUSE OF 911 SYSTEM"
            } else if low_level {
                pick(self.rng, codes::CHARGES_LOW_LEVEL)
            } else {
                pick(self.rng, codes::CHARGES_STREET)
            };
            self.booking(i, tb, arr, charge)
        } else {
            ta + Duration::hours(1)
        }
    }

    fn stay(&mut self, i: u32) -> Duration {
        let secs_per_day = 86_400.0;
        let days = match self.person(i).persona {
            Persona::SuperCaller => LogNormal::new(0.8f64.ln(), 0.3)
                .unwrap()
                .sample(self.rng)
                .min(2.0),
            Persona::FrequentBooker => {
                if self.rng.gen_bool(0.08) {
                    LogNormal::new(10f64.ln(), 0.5).unwrap().sample(self.rng)
                } else {
                    LogNormal::new(0.8f64.ln(), 0.6).unwrap().sample(self.rng)
                }
            }
            _ => {
                if self.rng.gen_bool(0.68) {
                    LogNormal::new(1.2f64.ln(), 0.8).unwrap().sample(self.rng)
                } else {
                    LogNormal::new(30f64.ln(), 1.25).unwrap().sample(self.rng)
                }
            }
        };
        let secs = (days.min(730.0) * secs_per_day).max(3600.0);
        Duration::seconds(secs as i64)
    }

    /// A jail booking; returns the release time (possibly after the data ends).
    fn booking(
        &mut self,
        i: u32,
        t: NaiveDateTime,
        arrest: u32,
        charge: &'static str,
    ) -> NaiveDateTime {
        let release = fix_local(t + self.stay(i));
        // A booking has no incident location; the placeholder is never written or counted.
        let mut e = self.event(
            Ag::Dcsd,
            Sub::Booking,
            t,
            charge,
            Loc::Intersection(0, 0),
            arrest,
        );
        e.end = (release.date() <= self.end).then_some(release);
        let p = self.person(i);
        let mut needs = 0;
        if p.has(NEED_MH) && self.rng.gen_bool(0.8) {
            needs |= NEED_MH;
        }
        if p.has(NEED_SU) {
            needs |= NEED_SU;
        }
        e.needs = needs;
        e.add(Party {
            person: i,
            role: PRole::Inmate,
        });
        self.push(e);
        self.jail[i as usize].push((t, release));
        release
    }

    fn impression_for(&mut self, nature: &str) -> &'static str {
        match nature {
            "MEDICAL - FALL" => "Fall Injury",
            "MEDICAL - CHEST PAIN" => {
                if self.rng.gen_bool(0.9) {
                    "Chest Pain"
                } else {
                    "Cardiac Arrest"
                }
            }
            "MEDICAL - BREATHING PROBLEM" => "Respiratory Distress",
            "MEDICAL - UNCONSCIOUS" => pick(
                self.rng,
                &[
                    ("Syncope", 3.0),
                    ("Altered Mental Status", 2.0),
                    ("Cardiac Arrest", 0.5),
                ],
            ),
            "MEDICAL - SEIZURE" => "Seizure",
            "MEDICAL - DIABETIC" => "Diabetic Emergency",
            "TRAFFIC ACCIDENT W/ INJURY" => "Trauma - MVC",
            _ => pick(self.rng, codes::IMPRESSION_MEDICAL),
        }
    }

    /// Who the call-taker names: the person, a housemate, a random resident, or nobody.
    fn caller(&mut self, i: u32, own: f64, housemate: f64, other: f64) -> Option<u32> {
        let x: f64 = self.rng.gen();
        if x < own {
            Some(i)
        } else if x < own + housemate {
            self.housemate(i)
        } else if x < own + housemate + other {
            self.resident_not(i)
        } else {
            None
        }
    }

    // ---------------------------------------------------------------- incidents

    /// One incident with `i` as its primary person. Returns when `i` is free again if the
    /// incident put them in custody.
    fn incident(&mut self, i: u32, ty: It, t: NaiveDateTime) -> Option<NaiveDateTime> {
        let p = self.person(i);
        let fb = p.persona == Persona::FrequentBooker;
        match ty {
            It::CallSelf => {
                let loc = self.loc_for(i, 0.7);
                let nature = pick(self.rng, codes::NAT_CALL_SELF);
                let caller = self.caller(i, 0.85, 0.0, 0.0);
                let call = self.call(t, loc, nature, caller);
                if self.rng.gen_bool(0.35) {
                    let role = if self.rng.gen_bool(0.3) {
                        PRole::Victim
                    } else {
                        PRole::Complainant
                    };
                    let mut parties = vec![Party { person: i, role }];
                    if self.rng.gen_bool(0.25) {
                        if let Some(r) = self.resident_not(i) {
                            parties.push(Party {
                                person: r,
                                role: PRole::Suspect,
                            });
                        }
                    }
                    let off = codes::dpd_offense_for(self.rng, nature);
                    self.dpd_incident(t, call, loc, off, &parties);
                } else if p.has(NEED_MH) && self.rng.gen_bool(0.06) {
                    let reason = pick(self.rng, codes::HEART_CALL_SELF);
                    self.heart(t, call, loc, Some(i), reason);
                }
                None
            }
            It::PoliceSubject => {
                let loc = if fb {
                    self.public_loc()
                } else {
                    self.loc_for(i, 0.4)
                };
                let nature = if fb {
                    pick(
                        self.rng,
                        &[
                            ("TRESPASS/UNWANTED", 4.0),
                            ("PANHANDLING", 2.0),
                            ("INTOXICATED PERSON", 3.0),
                            ("DISTURBANCE", 2.0),
                            ("LARCENY", 1.0),
                        ],
                    )
                } else if p.has(NEED_SU) && self.rng.gen_bool(0.3) {
                    "INTOXICATED PERSON"
                } else if p.has(NEED_HOUSING) && self.rng.gen_bool(0.35) {
                    pick(
                        self.rng,
                        &[("TRESPASS/UNWANTED", 2.0), ("PANHANDLING", 1.0)],
                    )
                } else {
                    pick(self.rng, codes::NAT_POLICE)
                };
                let domestic = nature == "DOMESTIC DISTURBANCE";
                let caller = if domestic {
                    self.caller(i, 0.0, 0.5, 0.1)
                } else {
                    self.caller(i, 0.0, 0.0, 0.3)
                };
                let call = self.call(t, loc, nature, caller);
                let role = if self.rng.gen_bool(0.15) {
                    PRole::Involved
                } else {
                    PRole::Suspect
                };
                let mut parties = vec![Party { person: i, role }];
                let victim = if domestic {
                    self.housemate(i)
                } else if self.rng.gen_bool(0.3) {
                    self.resident_not(i)
                } else {
                    None
                };
                if let Some(v) = victim {
                    parties.push(Party {
                        person: v,
                        role: PRole::Victim,
                    });
                }
                if let Some(c) = caller {
                    if c != i && Some(c) != victim && self.rng.gen_bool(0.5) {
                        parties.push(Party {
                            person: c,
                            role: PRole::ReportingParty,
                        });
                    }
                }
                let off = codes::dpd_offense_for(self.rng, nature);
                let inc = self.dpd_incident(t, call, loc, off, &parties);
                let p_arrest = if fb {
                    0.5
                } else if p.cj {
                    0.085
                } else {
                    0.025
                };
                if self.may_arrest(i, t) && self.rng.gen_bool(p_arrest) {
                    let td = self.events[inc as usize].t;
                    return Some(self.arrest(i, inc, td, loc, fb || p.has(NEED_HOUSING)));
                }
                None
            }
            It::PoliceSelf => {
                let x: f64 = self.rng.gen();
                let loc = if x < 0.5 {
                    let n = self.geo.streets.len() as u16;
                    let a = self.rng.gen_range(0..n);
                    Loc::Intersection(a, (a + 1 + self.rng.gen_range(0..n - 1)) % n)
                } else {
                    self.loc_for(i, 0.2)
                };
                let off = pick(self.rng, codes::DPD_SELF_INITIATED);
                let role = if self.rng.gen_bool(0.6) {
                    PRole::Suspect
                } else {
                    PRole::Involved
                };
                let mut parties = vec![Party { person: i, role }];
                if self.rng.gen_bool(0.1) {
                    if let Some(r) = self.resident_not(i) {
                        parties.push(Party {
                            person: r,
                            role: PRole::Involved,
                        });
                    }
                }
                let inc = self.dpd_incident(t, NONE, loc, off, &parties);
                let p_arrest = match off {
                    "WARRANT SERVICE" => 0.6,
                    "DWI" => 0.8,
                    "DRUG VIOLATION - POSSESSION" => 0.4,
                    _ => 0.03,
                };
                if self.may_arrest(i, t) && self.rng.gen_bool(p_arrest) {
                    return Some(self.arrest(i, inc, t, loc, fb));
                }
                None
            }
            It::Medical => {
                let loc = self.loc_for(i, 0.75);
                let nature = pick(self.rng, codes::NAT_MEDICAL);
                let caller = self.caller(i, 0.25, 0.15, 0.0);
                let call = self.call(t, loc, nature, caller);
                let imp = self.impression_for(nature);
                self.ems(t, call, loc, Some(i), imp);
                None
            }
            It::Crisis => {
                let loc = self.loc_for(i, 0.6);
                let nature = pick(self.rng, codes::NAT_CRISIS);
                let caller = self.caller(i, 0.35, 0.10, 0.05);
                let call = self.call(t, loc, nature, caller);
                let x: f64 = self.rng.gen();
                if x < 0.70 {
                    let reason = pick(self.rng, codes::HEART_CRISIS);
                    self.heart(t, call, loc, Some(i), reason);
                    if x >= 0.60 {
                        let imp = pick(self.rng, codes::IMPRESSION_CRISIS);
                        self.ems(t, call, loc, Some(i), imp);
                    }
                } else {
                    let off = codes::dpd_offense_for(self.rng, nature);
                    let party = Party {
                        person: i,
                        role: PRole::Subject,
                    };
                    self.dpd_incident(t, call, loc, off, &[party]);
                    if x >= 0.95 {
                        let imp = pick(self.rng, codes::IMPRESSION_CRISIS);
                        self.ems(t, call, loc, Some(i), imp);
                    }
                }
                None
            }
            It::Substance => {
                let loc = self.loc_for(i, 0.4);
                let nature = pick(self.rng, codes::NAT_SUBSTANCE);
                let caller = self.caller(i, 0.10, 0.10, 0.05);
                let call = self.call(t, loc, nature, caller);
                if self.rng.gen_bool(0.75) {
                    let imp = if nature == "OVERDOSE" {
                        pick(
                            self.rng,
                            &[("Opioid Overdose", 3.0), ("Drug Intoxication", 1.0)],
                        )
                    } else {
                        pick(self.rng, codes::IMPRESSION_SUBSTANCE)
                    };
                    self.ems(t, call, loc, Some(i), imp);
                }
                if self.rng.gen_bool(0.1) {
                    let reason = pick(self.rng, codes::HEART_SUBSTANCE);
                    self.heart(t, call, loc, Some(i), reason);
                }
                if self.rng.gen_bool(0.3) {
                    let off = codes::dpd_offense_for(self.rng, nature);
                    let party = Party {
                        person: i,
                        role: PRole::Subject,
                    };
                    let inc = self.dpd_incident(t, call, loc, off, &[party]);
                    let p_arrest = if fb { 0.4 } else { 0.1 };
                    if self.may_arrest(i, t) && self.rng.gen_bool(p_arrest) {
                        let td = self.events[inc as usize].t;
                        return Some(self.arrest(i, inc, td, loc, true));
                    }
                }
                None
            }
            It::Booking => {
                if !self.may_arrest(i, t) {
                    return None;
                }
                let charge = pick(self.rng, codes::CHARGES_WARRANT);
                Some(self.booking(i, t, NONE, charge))
            }
            It::SuperCall => {
                let loc = self.loc_for(i, 0.95);
                let nature = pick(self.rng, codes::NAT_SUPER);
                let caller = self.caller(i, 0.97, 0.0, 0.0);
                let call = self.call(t, loc, nature, caller);
                let x: f64 = self.rng.gen();
                if x < 0.06 {
                    let off = codes::dpd_offense_for(self.rng, nature);
                    let party = Party {
                        person: i,
                        role: PRole::Complainant,
                    };
                    let inc = self.dpd_incident(t, call, loc, off, &[party]);
                    if self.may_arrest(i, t) && self.rng.gen_bool(0.15) {
                        let td = self.events[inc as usize].t;
                        return Some(self.arrest(i, inc, td, loc, true));
                    }
                } else if x < 0.10 {
                    let imp = self.impression_for(nature);
                    self.ems(t, call, loc, Some(i), imp);
                } else if x < 0.12 {
                    self.heart(t, call, loc, Some(i), "Welfare check");
                }
                None
            }
        }
    }

    // ---------------------------------------------------------------- place scripts

    /// The group home: ~0.4 calls a day about its residents, most placed by staff.
    fn group_home(&mut self) {
        if self.gh_residents.is_empty() {
            return;
        }
        let gh = Loc::Premise {
            id: self.geo.group_home,
            unit: 0,
        };
        let w = WeightedIndex::new(
            self.gh_residents
                .iter()
                .map(|&r| self.people[r as usize].prop.sqrt()),
        )
        .unwrap();
        for k in 0..self.days {
            let day = self.start + Duration::days(k);
            for _ in 0..self.poisson(0.5) {
                let t = self.time_on(day);
                let resident = self.gh_residents[w.sample(self.rng)];
                let nature = pick(self.rng, codes::NAT_GROUP_HOME);
                let x: f64 = self.rng.gen();
                let caller = if x < 0.65 && !self.staff.is_empty() {
                    Some(self.staff[self.rng.gen_range(0..self.staff.len())])
                } else if x < 0.75 {
                    Some(resident)
                } else {
                    None
                };
                let call = self.call(t, gh, nature, caller);
                let y: f64 = self.rng.gen();
                let subject = Party {
                    person: resident,
                    role: PRole::Subject,
                };
                match nature {
                    "MEDICAL - SICK PERSON" | "MEDICAL - FALL" => {
                        let imp = self.impression_for(nature);
                        self.ems(t, call, gh, Some(resident), imp);
                    }
                    "MENTAL HEALTH CRISIS" | "ASSIST PERSON" if y < 0.55 => {
                        let reason = if nature == "ASSIST PERSON" {
                            "Welfare check"
                        } else {
                            "Mental health crisis"
                        };
                        self.heart(t, call, gh, Some(resident), reason);
                    }
                    "ASSIST PERSON" => {
                        let imp = pick(self.rng, codes::IMPRESSION_CRISIS);
                        self.ems(t, call, gh, Some(resident), imp);
                    }
                    _ => {
                        let off = codes::dpd_offense_for(self.rng, nature);
                        self.dpd_incident(t, call, gh, off, &[subject]);
                    }
                }
            }
        }
    }

    /// 911 calls naming nobody (alarms, crashes, hang-ups...), fire incidents, unidentified
    /// crisis clients and EMS runs without a named patient, up to the county's 911 volume.
    fn place_only(&mut self, scale: f64) {
        let years = self.days as f64 / 365.0;
        let target = (365_000.0 * scale * years).round() as usize;
        let have = self.events.iter().filter(|e| e.ag == Ag::Decc).count();
        let n = target.saturating_sub(have);
        let n_fire = ((5_000.0 * scale * years).round() as usize).min(n);
        let n_heart = ((1_000.0 * scale * years).round() as usize).min(n - n_fire);
        let n_ems = ((1_500.0 * scale * years).round() as usize).min(n - n_fire - n_heart);
        for k in 0..n {
            let day = self.random_day();
            let t = self.time_on(day);
            let loc = if self.rng.gen_bool(0.3) {
                self.residence_loc()
            } else {
                self.public_loc()
            };
            let caller = if self.rng.gen_bool(0.12) {
                Some(self.resident())
            } else {
                None
            };
            if k < n_fire {
                let nature = pick(self.rng, codes::NAT_FIRE);
                let call = self.call(t, loc, nature, caller);
                let nfirs = match nature {
                    "FIRE - STRUCTURE" => "111",
                    "FIRE - VEHICLE" => "131",
                    "FIRE - OUTSIDE" => pick(self.rng, &[("142", 1.0), ("151", 1.0)]),
                    _ => pick(self.rng, &[("745", 4.0), ("743", 1.0)]),
                };
                let tf = same_day_after(t, self.rng.gen_range(240..600));
                let e = self.event(Ag::Dfd, Sub::Fire, tf, nfirs, loc, call);
                self.push(e);
            } else if k < n_fire + n_heart {
                let call = self.call(t, loc, "WELFARE CHECK", caller);
                let reason = pick(self.rng, codes::HEART_ANON);
                self.heart(t, call, loc, None, reason);
            } else if k < n_fire + n_heart + n_ems {
                let call = self.call(t, loc, "MEDICAL - SICK PERSON", caller);
                let imp = pick(self.rng, codes::IMPRESSION_MEDICAL);
                self.ems(t, call, loc, None, imp);
            } else {
                let nature = pick(self.rng, codes::NAT_PLACE);
                self.call(t, loc, nature, caller);
            }
        }
    }

    /// Nobody appears on the street while in custody: drop such parties; a police incident left
    /// with nobody is dropped entirely.
    fn remove_jailed_parties(&mut self) {
        let jail = &self.jail;
        for e in self.events.iter_mut() {
            let t = e.t;
            e.retain(|p| !in_jail(&jail[p.person as usize], t));
            if e.ag == Ag::Dpd && e.n == 0 {
                e.dead = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_parties_are_distinct_and_capped() {
        let t = NaiveDate::from_ymd_opt(2025, 1, 1)
            .unwrap()
            .and_hms_opt(1, 0, 0)
            .unwrap();
        let mut e = Event {
            ag: Ag::Dpd,
            sub: Sub::Incident,
            t,
            end: None,
            code: "X",
            loc: Loc::Intersection(0, 1),
            parties: [NOBODY; 3],
            n: 0,
            needs: 0,
            transported: false,
            link: NONE,
            dead: false,
            placeholder: 0,
        };
        let p = |person| Party {
            person,
            role: PRole::Suspect,
        };
        assert!(e.add(p(1)));
        assert!(!e.add(p(1)));
        assert!(e.add(p(2)));
        assert!(e.add(p(3)));
        assert!(!e.add(p(4)));
        e.retain(|q| q.person != 2);
        assert_eq!(
            e.parties().iter().map(|q| q.person).collect::<Vec<_>>(),
            vec![1, 3]
        );
    }
}
