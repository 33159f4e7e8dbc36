//! The county's residents: households at addresses, names, dates of birth, needs and a
//! lognormal propensity to meet public-safety agencies.

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::geo::{Geo, Loc, PremiseKind};
use crate::names::{fold_accents, Names, Pool};

/// Lognormal sigma of the propensity (domain notes: 1.8 reproduces top-1% ≈ 30%).
pub const PROPENSITY_SIGMA: f64 = 1.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Race {
    Black,
    White,
    Asian,
    Other,
}

impl Race {
    pub fn code(self) -> &'static str {
        match self {
            Race::Black => "B",
            Race::White => "W",
            Race::Asian => "A",
            Race::Other => "O",
        }
    }
}

/// Where a person lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    At(Loc),
    /// No fixed address (street homeless).
    Street,
}

/// Special scripted people (the seed's extreme cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    Normal,
    /// Calls 911 hundreds of times, 400+ in one month.
    SuperCaller,
    /// Booked into jail dozens of times a year (short stays).
    FrequentBooker,
    GroupHomeResident,
    GroupHomeStaff,
    /// Known to the crisis team: dozens of HEART responses a year.
    CrisisRegular,
}

pub const NEED_MH: u8 = 1;
pub const NEED_SU: u8 = 2;
pub const NEED_HOUSING: u8 = 4;

/// A surname: one part or a Hispanic compound ("García López").
pub type Surname = (&'static str, Option<&'static str>);

#[derive(Debug, Clone)]
pub struct Person {
    pub sex: Sex,
    pub race: Race,
    pub hispanic: bool,
    pub first: &'static str,
    pub middle: Option<&'static str>,
    pub last: Surname,
    /// Earlier surname and the date the current one took effect.
    pub maiden: Option<(Surname, NaiveDate)>,
    pub suffix: Option<&'static str>,
    /// The legal name carries its accents (else the table form is folded).
    pub accents: bool,
    pub dob: NaiveDate,
    pub home: Home,
    pub phone: Option<u64>,
    pub ssn4: u16,
    pub household: u32,
    pub twin_of: Option<u32>,
    /// Propensity multiplier (lognormal, median 1).
    pub prop: f64,
    /// Standard-normal draw behind `prop`.
    pub z: f64,
    pub needs: u8,
    /// Justice-involved (police / jail contacts likely).
    pub cj: bool,
    pub persona: Persona,
}

impl Person {
    pub fn age_on(&self, d: NaiveDate) -> i32 {
        let mut a = d.year() - self.dob.year();
        if (d.month(), d.day()) < (self.dob.month(), self.dob.day()) {
            a -= 1;
        }
        a
    }

    pub fn female(&self) -> bool {
        self.sex == Sex::Female
    }

    pub fn has(&self, need: u8) -> bool {
        self.needs & need != 0
    }

    /// The legal name part as the person would write it.
    pub fn legal(&self, s: &'static str) -> String {
        if self.accents {
            s.to_string()
        } else {
            fold_accents(s)
        }
    }

    /// Same for an owned string (e.g. a compound surname).
    pub fn legal_owned(&self, s: &str) -> String {
        if self.accents {
            s.to_string()
        } else {
            fold_accents(s)
        }
    }

    /// Full surname string as of a date (earlier surname before a change).
    pub fn surname_on(&self, d: NaiveDate) -> Surname {
        match self.maiden {
            Some((old, changed)) if d < changed => old,
            _ => self.last,
        }
    }

    pub fn home_loc(&self) -> Option<Loc> {
        match self.home {
            Home::At(l) => Some(l),
            Home::Street => None,
        }
    }
}

pub fn surname_string(s: Surname) -> String {
    match s.1 {
        Some(b) => format!("{} {}", s.0, b),
        None => s.0.to_string(),
    }
}

pub struct Population {
    pub people: Vec<Person>,
    pub households: Vec<(u32, u32)>,
}

struct Builder<'a, R: Rng> {
    rng: &'a mut R,
    names: &'a Names,
    geo: &'a mut Geo,
    end: NaiveDate,
    period_start: NaiveDate,
    people: Vec<Person>,
    households: Vec<(u32, u32)>,
    apt: Option<(u32, u16, u16)>,
}

/// Build `n` residents (exactly) in households across the geography.
pub fn build<R: Rng>(
    rng: &mut R,
    names: &Names,
    geo: &mut Geo,
    n: u32,
    period_start: NaiveDate,
    end: NaiveDate,
) -> Population {
    // Special premises first so their ids are small and stable.
    let commercial = (n / 200).max(20);
    for _ in 0..commercial {
        geo.add(rng, PremiseKind::Commercial, 0);
    }
    geo.add(rng, PremiseKind::Shelter, 0);
    geo.add(rng, PremiseKind::Shelter, 0);
    let gh = geo.add(rng, PremiseKind::GroupHome, 0);

    let mut b = Builder {
        rng,
        names,
        geo,
        end,
        period_start,
        people: Vec::with_capacity(n as usize + 8),
        households: Vec::new(),
        apt: None,
    };
    // The group home: unrelated adults living together.
    let residents = 16.min(n / 20).max(1);
    b.group_home(gh, residents);
    while (b.people.len() as u32) < n {
        b.household();
    }
    b.people.truncate(n as usize);
    // A truncated household or twin must not point past the end.
    let len = b.people.len() as u32;
    for p in b.people.iter_mut() {
        if p.twin_of.is_some_and(|t| t >= len) {
            p.twin_of = None;
        }
    }
    for h in b.households.iter_mut() {
        h.1 = h.1.min(len);
    }
    b.households.retain(|h| h.0 < h.1);
    Population {
        people: b.people,
        households: b.households,
    }
}

impl<'a, R: Rng> Builder<'a, R> {
    fn pool(&mut self) -> (Pool, Race, bool) {
        let x: f64 = self.rng.gen();
        if x < 0.14 {
            let race = if self.rng.gen_bool(0.8) {
                Race::White
            } else {
                Race::Other
            };
            (Pool::Hispanic, race, true)
        } else if x < 0.19 {
            (Pool::Asian, Race::Asian, false)
        } else if x < 0.56 {
            (Pool::General, Race::Black, false)
        } else if x < 0.97 {
            (Pool::General, Race::White, false)
        } else {
            (Pool::General, Race::Other, false)
        }
    }

    fn surname(&mut self, pool: Pool) -> Surname {
        let a = self.names.surname(pool).pick(self.rng);
        if pool == Pool::Hispanic && self.rng.gen_bool(0.3) {
            let b = self.names.hisp_surname.pick_other(self.rng, a);
            (a, Some(b))
        } else {
            (a, None)
        }
    }

    fn dob_for_age(&mut self, age: i32) -> NaiveDate {
        let base = self.end - Duration::days(i64::from(age) * 365 + i64::from(age / 4));
        base - Duration::days(self.rng.gen_range(0..365))
    }

    fn adult_age(&mut self) -> i32 {
        match self.rng.gen_range(0..100) {
            0..=32 => self.rng.gen_range(18..35),
            33..=65 => self.rng.gen_range(35..55),
            66..=90 => self.rng.gen_range(55..75),
            _ => self.rng.gen_range(75..96),
        }
    }

    fn phone(&mut self) -> u64 {
        let area: u64 = match self.rng.gen_range(0..10) {
            0..=6 => 919,
            7 | 8 => 984,
            _ => [336, 252, 910, 704, 202, 404][self.rng.gen_range(0..6)],
        };
        let mut exch: u64 = self.rng.gen_range(200..1000);
        if exch == 555 || exch == 911 {
            exch += 1;
        }
        area * 10_000_000 + exch * 10_000 + self.rng.gen_range(0..10_000)
    }

    #[allow(clippy::too_many_arguments)]
    fn person(
        &mut self,
        sex: Sex,
        pool: Pool,
        race: Race,
        hispanic: bool,
        last: Surname,
        age: i32,
        home: Home,
        household: u32,
    ) -> u32 {
        let female = sex == Sex::Female;
        let first = self.names.first(pool, female).pick(self.rng);
        let middle = if self.rng.gen_bool(0.8) {
            Some(self.names.first(pool, female).pick_other(self.rng, first))
        } else {
            None
        };
        let suffix = if !female && self.rng.gen_bool(0.035) {
            Some(match self.rng.gen_range(0..10) {
                0..=6 => "JR",
                7 => "SR",
                8 => "II",
                _ => "III",
            })
        } else {
            None
        };
        let dob = self.dob_for_age(age);
        let z: f64 = StandardNormal.sample(self.rng);
        let mut prop = (PROPENSITY_SIGMA * z).exp();
        if age < 14 {
            prop *= 0.15;
        } else if age < 18 {
            prop *= 0.6;
        } else if age >= 75 {
            prop *= 0.7;
        }
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut needs = 0u8;
        let mut cj = false;
        if age >= 14 {
            if self.rng.gen_bool(sig(1.5 * (z - 1.5))) {
                needs |= NEED_MH;
            }
            if self
                .rng
                .gen_bool(sig(1.5 * (z - 1.7)) * if age < 18 { 0.4 } else { 1.0 })
            {
                needs |= NEED_SU;
            }
            if age >= 18 && self.rng.gen_bool(sig(1.8 * (z - 2.2))) {
                needs |= NEED_HOUSING;
            }
            let age_f = match age {
                14..=17 => 0.6,
                18..=34 => 1.0,
                35..=54 => 0.8,
                55..=64 => 0.4,
                _ => 0.15,
            };
            let sex_f = if female { 0.5 } else { 1.0 };
            cj = self
                .rng
                .gen_bool((sig(1.5 * (z - 0.8)) * age_f * sex_f).min(1.0));
        }
        let maiden = if female && (20..=65).contains(&age) && self.rng.gen_bool(0.05) {
            let old = self.surname(pool);
            let days = (self.end - self.period_start).num_days().max(1);
            let changed = self.period_start + Duration::days(self.rng.gen_range(0..days));
            Some((old, changed))
        } else {
            None
        };
        let phone = if age >= 16 && self.rng.gen_bool(0.8) {
            Some(self.phone())
        } else {
            None
        };
        let id = self.people.len() as u32;
        self.people.push(Person {
            sex,
            race,
            hispanic,
            first,
            middle,
            last,
            maiden,
            suffix,
            accents: hispanic && self.rng.gen_bool(0.5),
            dob,
            home,
            phone,
            ssn4: self.rng.gen_range(1..10_000), // 0000 is never issued
            household,
            twin_of: None,
            prop,
            z,
            needs,
            cj,
            persona: Persona::Normal,
        });
        id
    }

    /// A look-alike: same surname, DOB and household, different first name.
    fn twin(&mut self, of: u32, home: Home, household: u32) -> u32 {
        let o = self.people[of as usize].clone();
        let sex = if self.rng.gen_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let age = o.age_on(self.end);
        let id = self.person(
            sex,
            pool_of(&o),
            o.race,
            o.hispanic,
            o.last,
            age,
            home,
            household,
        );
        let t = &mut self.people[id as usize];
        t.dob = o.dob;
        if t.first == o.first {
            t.first = self
                .names
                .first(pool_of(&o), sex == Sex::Female)
                .pick_other(self.rng, o.first);
        }
        t.twin_of = Some(of);
        self.people[of as usize].twin_of = Some(id);
        id
    }

    fn residence(&mut self) -> Loc {
        if self.rng.gen_bool(0.6) {
            let id = self.geo.add(self.rng, PremiseKind::House, 0);
            Loc::Premise { id, unit: 0 }
        } else {
            let (id, units, next) = match self.apt {
                Some((id, units, next)) if next <= units => (id, units, next),
                _ => {
                    let units = self.rng.gen_range(8..150);
                    let id = self.geo.add(self.rng, PremiseKind::Apartments, units);
                    (id, units, 1)
                }
            };
            self.apt = Some((id, units, next + 1));
            Loc::Premise { id, unit: next }
        }
    }

    fn household(&mut self) {
        let hh = self.households.len() as u32;
        let start = self.people.len() as u32;
        let (pool, race, hispanic) = self.pool();
        let kind = self.rng.gen_range(0..100);
        let last = self.surname(pool);
        let adult_sex = |r: &mut R| {
            if r.gen_bool(0.5) {
                Sex::Male
            } else {
                Sex::Female
            }
        };
        match kind {
            // single adult; may be unhoused
            0..=29 => {
                let sex = adult_sex(self.rng);
                let age = self.adult_age();
                let id = self.person(sex, pool, race, hispanic, last, age, Home::Street, hh);
                let housing = self.people[id as usize].has(NEED_HOUSING);
                let home = if housing {
                    if self.rng.gen_bool(0.45) {
                        let s = self.geo.shelters[self.rng.gen_range(0..self.geo.shelters.len())];
                        Home::At(Loc::Premise { id: s, unit: 0 })
                    } else {
                        Home::Street
                    }
                } else {
                    Home::At(self.residence())
                };
                self.people[id as usize].home = home;
                if !housing && self.rng.gen_bool(0.0125) {
                    // adult twin living elsewhere
                    self.households.push((start, self.people.len() as u32));
                    let hh2 = self.households.len() as u32;
                    let start2 = self.people.len() as u32;
                    let home2 = Home::At(self.residence());
                    self.twin(id, home2, hh2);
                    self.households.push((start2, self.people.len() as u32));
                    return;
                }
            }
            // couple, family, single parent, roommates
            _ => {
                let home = Home::At(self.residence());
                let (adults, kids) = match kind {
                    30..=53 => (2, 0),
                    54..=85 => (2, self.rng.gen_range(1..5)),
                    86..=95 => (1, self.rng.gen_range(1..4)),
                    _ => (3, 0),
                };
                let roommates = kind > 95;
                let a1_age = if kids > 0 {
                    self.rng.gen_range(24..55)
                } else {
                    self.adult_age()
                };
                let a1_sex = if adults == 1 && self.rng.gen_bool(0.8) {
                    Sex::Female
                } else {
                    Sex::Male
                };
                self.person(a1_sex, pool, race, hispanic, last, a1_age, home, hh);
                for _ in 1..adults {
                    if roommates {
                        let (p2, r2, h2) = self.pool();
                        let l2 = self.surname(p2);
                        let sex = adult_sex(self.rng);
                        let age = self.rng.gen_range(19..40);
                        self.person(sex, p2, r2, h2, l2, age, home, hh);
                    } else {
                        let age = (a1_age + self.rng.gen_range(-5..6)).max(18);
                        let id =
                            self.person(Sex::Female, pool, race, hispanic, last, age, home, hh);
                        // her own earlier surname, long ago or (5%, set in `person`) recently
                        if self.people[id as usize].maiden.is_none() && self.rng.gen_bool(0.7) {
                            let old = self.surname(pool);
                            let long_ago =
                                self.period_start - Duration::days(self.rng.gen_range(400..9000));
                            self.people[id as usize].maiden = Some((old, long_ago));
                        }
                    }
                }
                let mut k = 0;
                while k < kids {
                    let age = self.rng.gen_range(0..(a1_age - 17).clamp(1, 25));
                    let sex = adult_sex(self.rng);
                    let id = self.person(sex, pool, race, hispanic, last, age, home, hh);
                    if self.rng.gen_bool(0.02) {
                        self.twin(id, home, hh);
                        k += 1;
                    }
                    k += 1;
                }
            }
        }
        self.households.push((start, self.people.len() as u32));
    }

    fn group_home(&mut self, gh: u32, residents: u32) {
        let hh = self.households.len() as u32;
        let start = self.people.len() as u32;
        for _ in 0..residents {
            let (pool, race, hispanic) = self.pool();
            let last = self.surname(pool);
            let sex = if self.rng.gen_bool(0.6) {
                Sex::Male
            } else {
                Sex::Female
            };
            let age = self.rng.gen_range(20..62);
            let id = self.person(
                sex,
                pool,
                race,
                hispanic,
                last,
                age,
                Home::At(Loc::Premise { id: gh, unit: 0 }),
                hh,
            );
            let p = &mut self.people[id as usize];
            p.persona = Persona::GroupHomeResident;
            p.needs |= NEED_MH;
            p.z = 1.0 + 0.6 * p.z;
            p.prop = (PROPENSITY_SIGMA * p.z).exp() * 0.3;
            p.cj = false;
            p.maiden = None;
        }
        self.households.push((start, self.people.len() as u32));
    }
}

fn pool_of(p: &Person) -> Pool {
    if p.hispanic {
        Pool::Hispanic
    } else if p.race == Race::Asian {
        Pool::Asian
    } else {
        Pool::General
    }
}

/// The scripted people.
#[derive(Debug, Clone, Default)]
pub struct Cast {
    pub super_caller: Option<u32>,
    pub frequent_bookers: Vec<u32>,
    pub group_home_staff: Vec<u32>,
}

/// Pick the scripted people among ordinary adults.
pub fn assign_personas<R: Rng>(
    rng: &mut R,
    pop: &mut Population,
    geo: &mut Geo,
    end: NaiveDate,
    frequent_bookers: u32,
    crisis_regulars: u32,
) -> Cast {
    let n = pop.people.len();
    let eligible = |p: &Person, lo: i32, hi: i32| {
        p.persona == Persona::Normal && p.twin_of.is_none() && (lo..=hi).contains(&p.age_on(end))
    };
    let pick = |rng: &mut R, pop: &Population, lo: i32, hi: i32| -> Option<u32> {
        for _ in 0..10_000 {
            let i = rng.gen_range(0..n);
            if eligible(&pop.people[i], lo, hi) {
                return Some(i as u32);
            }
        }
        (0..n)
            .find(|&i| eligible(&pop.people[i], lo, hi))
            .map(|i| i as u32)
    };
    let sc = pick(rng, pop, 35, 60);
    if let Some(i) = sc {
        let p = &mut pop.people[i as usize];
        p.persona = Persona::SuperCaller;
        p.needs |= NEED_SU | NEED_MH;
        p.sex = Sex::Male;
        p.maiden = None;
        p.phone = Some(9_195_550_000 + rng.gen_range(100..200));
        if p.home == Home::Street {
            let id = geo.add(rng, PremiseKind::House, 0);
            p.home = Home::At(Loc::Premise { id, unit: 0 });
        }
    }
    let mut fb = Vec::new();
    for _ in 0..frequent_bookers {
        if let Some(i) = pick(rng, pop, 22, 55) {
            let p = &mut pop.people[i as usize];
            p.persona = Persona::FrequentBooker;
            p.needs |= NEED_SU | NEED_HOUSING;
            p.cj = true;
            p.maiden = None;
            p.home = if rng.gen_bool(0.5) {
                Home::At(Loc::Premise {
                    id: geo.shelters[0],
                    unit: 0,
                })
            } else {
                Home::Street
            };
            fb.push(i);
        }
    }
    for _ in 0..crisis_regulars {
        if let Some(i) = pick(rng, pop, 20, 65) {
            let p = &mut pop.people[i as usize];
            p.persona = Persona::CrisisRegular;
            p.needs |= NEED_MH;
            if rng.gen_bool(0.6) {
                p.needs |= NEED_HOUSING;
            }
            p.maiden = None;
        }
    }
    let mut staff = Vec::new();
    for _ in 0..3 {
        if let Some(i) = pick(rng, pop, 25, 60) {
            pop.people[i as usize].persona = Persona::GroupHomeStaff;
            staff.push(i);
        }
    }
    Cast {
        super_caller: sc,
        frequent_bookers: fb,
        group_home_staff: staff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn builds_exactly_n_with_twins_and_households() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let names = Names::new();
        let mut geo = Geo::new();
        let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        let start = end - Duration::days(729);
        let pop = build(&mut rng, &names, &mut geo, 20_000, start, end);
        assert_eq!(pop.people.len(), 20_000);
        let twins = pop.people.iter().filter(|p| p.twin_of.is_some()).count();
        assert!((200..=900).contains(&twins), "twins {twins}");
        for (i, p) in pop.people.iter().enumerate() {
            if let Some(t) = p.twin_of {
                let q = &pop.people[t as usize];
                assert_eq!(q.twin_of, Some(i as u32));
                assert_eq!(q.dob, p.dob);
                assert_eq!(q.last, p.last);
                assert_ne!(q.first, p.first);
            }
        }
        let street = pop.people.iter().filter(|p| p.home == Home::Street).count();
        assert!(street > 20, "street homeless {street}");
        let top1 = {
            let mut v: Vec<f64> = pop.people.iter().map(|p| p.prop).collect();
            v.sort_by(|a, b| b.partial_cmp(a).unwrap());
            v[..200].iter().sum::<f64>() / v.iter().sum::<f64>()
        };
        assert!((0.15..0.45).contains(&top1), "top1 propensity share {top1}");
    }
}
