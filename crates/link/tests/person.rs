//! The person door: agency identities with the hard cases (twins, common names, HEART's first
//! name + last initial, jail aliases and SSN last-4, reviewer constraints).
use familiar_link::{link_identities, person_linker, AgencyIdentity, Constraints};
use familiar_model::{Address, AddressKind, PartialDate, SourceIdentity};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.next() as usize % v.len()]
    }
}

const FIRST: &[&str] = &[
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
    "anthony",
    "betty",
    "mark",
    "margaret",
    "donald",
    "sandra",
    "steven",
    "ashley",
    "paul",
    "kimberly",
    "andrew",
    "emily",
    "joshua",
    "donna",
    "kenneth",
    "michelle",
    "kevin",
    "carol",
    "brian",
    "amanda",
];
const LAST: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
];
const STREETS: &[&str] = &[
    "MAIN ST", "OAK AVE", "PINE ST", "MAPLE DR", "CEDAR LN", "ELM ST", "LAKE RD", "HILL ST",
];
const SOURCES: &[&str] = &["decc", "dpd", "dfd", "dcsd", "heart"];

fn ident(
    first: &str,
    last: &str,
    dob: Option<(i32, u32, u32)>,
    addr: Option<&str>,
    phone: Option<&str>,
) -> SourceIdentity {
    SourceIdentity {
        first: Some(first.to_string()),
        last: Some(last.to_string()),
        dob: dob.map(|(y, m, d)| PartialDate {
            year: y,
            month: Some(m),
            day: Some(d),
        }),
        address: addr.map(|a| Address {
            raw: a.into(),
            key: a.into(),
            kind: AddressKind::Street,
            ..Default::default()
        }),
        phone: phone.map(str::to_string),
        ..Default::default()
    }
}

/// A background population: 400 people with 1-4 records across sources, light typos.
fn population(
    rng: &mut Lcg,
    next_id: &mut u64,
    out: &mut Vec<(u64, String, SourceIdentity)>,
    truth: &mut Vec<(u64, u64)>,
) {
    for p in 0..400u64 {
        let first = rng.pick(FIRST).to_string();
        let last = rng.pick(LAST).to_string();
        let dob = (
            1950 + (rng.next() % 50) as i32,
            1 + (rng.next() % 12) as u32,
            1 + (rng.next() % 28) as u32,
        );
        let addr = format!("{} {}", 100 + rng.next() % 900, rng.pick(STREETS));
        let phone = format!("303555{:04}", rng.next() % 10000);
        let k = 1 + rng.next() % 4;
        for _ in 0..k {
            let mut f = first.clone();
            if rng.next() % 10 < 1 {
                f.push('e');
            }
            let mut s = ident(&f, &last, Some(dob), Some(&addr), Some(&phone));
            if rng.next() % 5 < 1 {
                s.dob = None;
            }
            if rng.next() % 3 < 1 {
                s.phone = None;
            }
            let src = rng.pick(SOURCES).to_string();
            out.push((*next_id, src, s));
            truth.push((*next_id, 1000 + p));
            *next_id += 1;
        }
    }
}

/// Identities with their id and source.
type Records = Vec<(u64, String, SourceIdentity)>;

/// The background population drawn with `seed`: its records, their truth (record, person),
/// and the next free id.
fn background(seed: u64) -> (Records, Vec<(u64, u64)>, u64) {
    let mut rng = Lcg(seed);
    let (mut recs, mut truth, mut id) = (Vec::new(), Vec::new(), 1u64);
    population(&mut rng, &mut id, &mut recs, &mut truth);
    (recs, truth, id)
}

fn cluster_of(clusters: &[Vec<u64>], id: u64) -> usize {
    clusters.iter().position(|c| c.contains(&id)).unwrap()
}

#[test]
fn hard_cases() {
    let (mut recs, truth, mut id) = background(7);
    let base = id;
    // Robert Smith, 4 agencies, nickname and typo variants, HEART with last initial, jail alias
    let robert = [
        (
            "dpd",
            ident(
                "robert",
                "smith",
                Some((1980, 3, 12)),
                Some("12 ELM ST"),
                Some("3035550101"),
            ),
        ),
        (
            "dpd",
            ident("bob", "smith", Some((1980, 3, 12)), Some("12 ELM ST"), None),
        ),
        (
            "dfd",
            ident(
                "robert",
                "smyth",
                Some((1980, 3, 12)),
                None,
                Some("3035550101"),
            ),
        ),
        (
            "decc",
            ident(
                "rob",
                "smith",
                Some((1980, 12, 3)),
                Some("12 ELM ST"),
                Some("3035550101"),
            ),
        ),
        (
            "heart",
            ident("robert", "s", None, None, Some("3035550101")),
        ),
        ("dcsd", {
            let mut s = ident("robert", "smith", Some((1980, 3, 12)), None, None);
            s.ssn_last4 = Some("1234".into());
            s.aliases = vec!["bobby smith".into()];
            s
        }),
    ];
    for (src, s) in robert {
        recs.push((id, src.to_string(), s));
        id += 1;
    }
    // twins: same surname, DOB, address and phone; different first names
    let twins_a: Vec<u64> = (0..3).map(|k| base + 6 + k).collect();
    for k in 0..3 {
        let src = SOURCES[k % 5];
        recs.push((
            id,
            src.into(),
            ident(
                "john",
                "doe",
                Some((1990, 5, 5)),
                Some("44 OAK AVE"),
                Some("3035550202"),
            ),
        ));
        id += 1;
    }
    let twins_b: Vec<u64> = (0..3).map(|k| base + 9 + k).collect();
    for k in 0..3 {
        let src = SOURCES[(k + 2) % 5];
        recs.push((
            id,
            src.into(),
            ident(
                "james",
                "doe",
                Some((1990, 5, 5)),
                Some("44 OAK AVE"),
                Some("3035550202"),
            ),
        ));
        id += 1;
    }
    // a brother and sister (juan / juana): same surname, address and phone, no date of birth
    let (juan, juana) = (id, id + 2);
    for (k, first) in ["juan", "juan", "juana", "juana", "juana"]
        .iter()
        .enumerate()
    {
        recs.push((
            id,
            SOURCES[k % 5].into(),
            ident(
                first,
                "garcia",
                None,
                Some("70 CEDAR LN"),
                Some("3035550303"),
            ),
        ));
        id += 1;
    }
    // father and son
    let mut jr = ident("david", "lee", Some((1995, 7, 1)), Some("9 PINE ST"), None);
    jr.suffix = Some("JR".into());
    let mut sr = ident("david", "lee", Some((1968, 2, 20)), Some("9 PINE ST"), None);
    sr.suffix = Some("SR".into());
    let (jr_id, sr_id) = (id, id + 1);
    recs.push((id, "dpd".into(), jr));
    recs.push((id + 1, "dpd".into(), sr));
    id += 2;
    // two different "michael johnson"s
    let (mj1, mj2) = (id, id + 1);
    recs.push((
        id,
        "decc".into(),
        ident(
            "michael",
            "johnson",
            Some((1975, 1, 1)),
            Some("1 LAKE RD"),
            None,
        ),
    ));
    recs.push((
        id + 1,
        "dfd".into(),
        ident(
            "michael",
            "johnson",
            Some((1988, 9, 9)),
            Some("5 HILL ST"),
            None,
        ),
    ));

    let r = link_identities(&recs, &Constraints::default());
    let cl = &r.clusters;
    if std::env::var("PERSON_DEBUG").is_ok() {
        let l = person_linker(&recs).unwrap();
        eprintln!(
            "{}",
            serde_json::to_string_pretty(l.params.as_ref().unwrap()).unwrap()
        );
        eprintln!(
            "{}",
            familiar_link::explain_identities(&l, twins_a[0], twins_b[0]).unwrap()
        );
        eprintln!(
            "{}",
            familiar_link::explain_identities(&l, base, base + 4).unwrap()
        );
    }
    // every id appears once
    let mut all: Vec<u64> = cl.iter().flatten().copied().collect();
    all.sort();
    assert_eq!(all.len(), recs.len());
    all.dedup();
    assert_eq!(all.len(), recs.len());

    let rob = cluster_of(cl, base);
    for k in [1, 2, 3, 5] {
        assert_eq!(
            cluster_of(cl, base + k),
            rob,
            "robert record {k} not linked: {:?}",
            cl[rob]
        );
    }
    // twins never merged
    let ca: Vec<usize> = twins_a.iter().map(|&i| cluster_of(cl, i)).collect();
    let cb: Vec<usize> = twins_b.iter().map(|&i| cluster_of(cl, i)).collect();
    assert!(ca.iter().all(|c| !cb.contains(c)), "twins merged");
    assert!(ca.iter().all(|&c| c == ca[0]), "john's records not linked");
    assert!(cb.iter().all(|&c| c == cb[0]), "james's records not linked");
    let (cj, cja) = (cluster_of(cl, juan), cluster_of(cl, juana));
    assert_ne!(cj, cja, "brother and sister merged");
    assert_eq!(cluster_of(cl, juan + 1), cj, "juan's records not linked");
    for k in 1..3 {
        assert_eq!(cluster_of(cl, juana + k), cja, "juana's records not linked");
    }
    assert_ne!(
        cluster_of(cl, jr_id),
        cluster_of(cl, sr_id),
        "father and son merged"
    );
    assert_ne!(
        cluster_of(cl, mj1),
        cluster_of(cl, mj2),
        "two michael johnsons merged"
    );

    // the background population: precision first
    let mut tp = 0u64;
    let mut fp = 0u64;
    let mut fn_ = 0u64;
    let t: std::collections::HashMap<u64, u64> = truth.iter().copied().collect();
    let label: std::collections::HashMap<u64, usize> = cl
        .iter()
        .enumerate()
        .flat_map(|(k, c)| c.iter().map(move |&i| (i, k)))
        .collect();
    let ids: Vec<u64> = truth.iter().map(|x| x.0).collect();
    for i in 0..ids.len() {
        for j in i + 1..ids.len() {
            let same_t = t[&ids[i]] == t[&ids[j]];
            let same_p = label[&ids[i]] == label[&ids[j]];
            match (same_t, same_p) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                _ => {}
            }
        }
    }
    let p = tp as f64 / (tp + fp).max(1) as f64;
    let rc = tp as f64 / (tp + fn_).max(1) as f64;
    eprintln!("population: precision {p:.4} recall {rc:.4}");
    assert!(p > 0.99, "precision {p}");
    assert!(rc > 0.9, "recall {rc}");

    // deterministic, and input order does not matter
    let mut rev = recs.clone();
    rev.reverse();
    let r2 = link_identities(&rev, &Constraints::default());
    assert_eq!(r2.clusters, r.clusters);

    // reviewer constraints override the model
    let c = Constraints {
        must_link: vec![(twins_a[0], twins_b[0])],
        cannot_link: vec![(base, base + 1)],
        ..Default::default()
    };
    let r3 = link_identities(&recs, &c);
    assert_eq!(
        cluster_of(&r3.clusters, twins_a[0]),
        cluster_of(&r3.clusters, twins_b[0])
    );
    assert_ne!(
        cluster_of(&r3.clusters, base),
        cluster_of(&r3.clusters, base + 1)
    );

    // explanations for the person page
    let l = person_linker(&recs).unwrap();
    let e = familiar_link::explain_identities(&l, twins_a[0], twins_b[0]).unwrap();
    let text = e.to_string();
    assert!(
        text.contains("first_name") && text.contains("match probability"),
        "{text}"
    );
    let sum: f64 = e.prior_weight
        + e.terms
            .iter()
            .map(|t| t.weight + t.tf_adjustment)
            .sum::<f64>();
    assert!((sum - e.total_weight).abs() < 1e-9);
    assert!(e.probability < 0.5, "twins scored {e:?}");
}

#[test]
fn tiny_inputs() {
    let none: [(u64, String, SourceIdentity); 0] = [];
    assert!(link_identities(&none, &Constraints::default())
        .clusters
        .is_empty());
    let one = vec![(5u64, "dpd".to_string(), ident("a", "b", None, None, None))];
    assert_eq!(
        link_identities(&one, &Constraints::default()).clusters,
        vec![vec![5]]
    );
    let two = vec![
        (
            1u64,
            "dpd".to_string(),
            ident("ann", "lee", Some((1970, 1, 2)), None, None),
        ),
        (
            2u64,
            "dfd".to_string(),
            ident("ann", "lee", Some((1970, 1, 2)), None, None),
        ),
    ];
    let r = link_identities(&two, &Constraints::default());
    assert_eq!(
        r.clusters.len() + r.pairs.len(),
        r.clusters.len() + r.pairs.len()
    );
}

/// Partition of `recs`' ids under a linker's own prediction and clustering.
fn clusters_of(l: &familiar_link::Linker) -> Vec<Vec<u64>> {
    let pred = l.predict();
    let c = l.cluster(&pred.edges, &pred.near, &[], &[]);
    let mut m: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
    for (i, &lab) in c.labels.iter().enumerate() {
        m.entry(lab)
            .or_default()
            .push(l.table.ids[i].parse().unwrap());
    }
    let mut v: Vec<Vec<u64>> = m.into_values().collect();
    for c in v.iter_mut() {
        c.sort_unstable();
    }
    v.sort();
    v
}

#[test]
fn incremental_with_the_stored_model() {
    use familiar_link::{link_incremental, try_link_identities, IncrementalInput};
    use std::collections::HashMap;
    let (recs, _, _) = background(11);
    // the first 70% of records are linked first; the rest arrive later
    let cut = recs.len() * 7 / 10;
    let old = &recs[..cut];
    let first = try_link_identities(old, &Constraints::default()).unwrap();
    let model = first.model.clone().expect("a full run stores its model");
    assert!(model.fits(&familiar_link::person_spec()));
    // the stored model survives a JSON round trip
    let model: familiar_link::ModelState =
        serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    let previous: HashMap<u64, String> = first
        .clusters
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.iter().map(move |&r| (r, format!("P{i}"))))
        .collect();
    let none = Constraints::default();
    let run = |previous: &HashMap<u64, String>, touched: &[u64]| {
        link_incremental(&IncrementalInput {
            records: &recs,
            previous,
            touched,
            constraints: &none,
            model: &model,
            model_from: "test",
        })
        .unwrap()
    };

    // Everything new: exactly what a full clustering with the same model gives.
    let all_new = run(&HashMap::new(), &[]);
    let same_model = clusters_of(&model.linker(&recs, "test").unwrap());
    let mut got = all_new.clusters.clone();
    got.sort();
    assert_eq!(got, same_model);
    assert_eq!(all_new.affected_identities, recs.len());

    // A batch: new records are all placed; the clusters cover exactly the affected records,
    // which are whole previous persons plus the new records; persons outside are untouched.
    let inc = run(&previous, &[]);
    assert_eq!(inc.new_identities, recs.len() - cut);
    let placed: std::collections::HashSet<u64> = inc.clusters.iter().flatten().copied().collect();
    assert_eq!(placed.len(), inc.affected_identities);
    assert!(recs[cut..].iter().all(|r| placed.contains(&r.0)));
    for c in &first.clusters {
        let n = c.iter().filter(|r| placed.contains(r)).count();
        assert!(
            n == 0 || n == c.len(),
            "a previous person is taken whole or not at all"
        );
    }
    assert!(inc.affected_identities < recs.len(), "not the whole world");
    // the combined partition agrees closely with the full clustering under the same model
    let mut person: HashMap<u64, String> = previous.clone();
    for (i, c) in inc.clusters.iter().enumerate() {
        for r in c {
            person.insert(*r, format!("N{i}"));
        }
    }
    let c2 = |n: usize| n * n.saturating_sub(1) / 2;
    let mut full_of: HashMap<u64, usize> = HashMap::new();
    for (i, c) in same_model.iter().enumerate() {
        for r in c {
            full_of.insert(*r, i);
        }
    }
    let (mut a, mut b, mut ab) = (
        HashMap::<&str, usize>::new(),
        HashMap::<usize, usize>::new(),
        HashMap::<(&str, usize), usize>::new(),
    );
    for (r, p) in &person {
        *a.entry(p).or_default() += 1;
        *b.entry(full_of[r]).or_default() += 1;
        *ab.entry((p, full_of[r])).or_default() += 1;
    }
    let s = |m: Vec<usize>| m.into_iter().map(c2).sum::<usize>() as f64;
    let (na, nb, nab) = (
        s(a.into_values().collect()),
        s(b.into_values().collect()),
        s(ab.into_values().collect()),
    );
    let f1 = 2.0 * nab / (na + nb);
    assert!(f1 > 0.99, "agreement with a full clustering {f1}");

    // Nothing new, nothing touched: nothing to do.
    let mut all_prev = previous.clone();
    for (i, c) in inc.clusters.iter().enumerate() {
        for r in c {
            all_prev.insert(*r, format!("N{i}"));
        }
    }
    let idle = run(&all_prev, &[]);
    assert!(idle.clusters.is_empty() && idle.candidate_pairs == 0);
    // A touched record brings its whole person back for re-clustering.
    let one = run(&all_prev, &[recs[0].0]);
    assert!(one.clusters.iter().flatten().any(|&r| r == recs[0].0));
}

/// λ is learned per pair of sources: a crisis team that sees a few people again and again
/// gets a higher prior between its own records than a source of one-off contacts, and
/// every pair is scored (and explained) with its own sources' prior.
#[test]
fn priors_are_learned_per_pair_of_sources() {
    let mut rng = Lcg(11);
    let mut recs: Vec<(u64, String, SourceIdentity)> = Vec::new();
    let mut id = 1u64;
    // "clinic": 20 people, 12 records each; "registry": 600 people, 1 record each
    for p in 0..20u64 {
        let first = FIRST[p as usize % FIRST.len()];
        let last = LAST[(p as usize * 7) % LAST.len()];
        let dob = (1960 + p as i32, 1 + (p % 12) as u32, 1 + (p % 28) as u32);
        let addr = format!("{} {}", 100 + p, STREETS[p as usize % STREETS.len()]);
        for _ in 0..12 {
            recs.push((
                id,
                "clinic".into(),
                ident(first, last, Some(dob), Some(&addr), None),
            ));
            id += 1;
        }
    }
    for _ in 0..600u64 {
        let dob = (
            1950 + (rng.next() % 50) as i32,
            1 + (rng.next() % 12) as u32,
            1 + (rng.next() % 28) as u32,
        );
        let addr = format!("{} {}", 100 + rng.next() % 900, rng.pick(STREETS));
        let s = ident(
            rng.pick(FIRST),
            rng.pick(LAST),
            Some(dob),
            Some(&addr),
            None,
        );
        recs.push((id, "registry".into(), s));
        id += 1;
    }
    let mut spec = familiar_link::person_spec();
    spec.training.prior_refit = familiar_link::PriorRefit::BySource;
    let l = familiar_link::person_linker_with(&recs, spec).unwrap();
    let params = l.params.as_ref().unwrap();
    let prior = |a: &str, b: &str| {
        params
            .source_priors
            .iter()
            .find(|p| (p.left == a && p.right == b) || (p.left == b && p.right == a))
            .unwrap_or_else(|| panic!("no prior for {a} x {b}: {:?}", params.source_priors))
            .weight
    };
    let (cc, rr, cr) = (
        prior("clinic", "clinic"),
        prior("registry", "registry"),
        prior("clinic", "registry"),
    );
    // true within-clinic share: 20 * C(12,2) / C(240,2) = 1320 / 28680 ≈ 0.046
    let clinic_lambda = (cc.exp2()) / (1.0 + cc.exp2());
    assert!(
        (0.02..0.09).contains(&clinic_lambda),
        "clinic λ {clinic_lambda}"
    );
    assert!(cc > rr + 5.0 && cc > cr + 5.0, "{cc} {rr} {cr}");
    // scored and explained with the pair's own prior
    let e = familiar_link::explain_identities(&l, 1, 2).unwrap();
    assert_eq!(e.prior_weight, cc);
    let e = familiar_link::explain_identities(&l, 1, id - 1).unwrap();
    assert_eq!(e.prior_weight, cr);
    // the built-in spec keeps one λ
    let l = person_linker(&recs).unwrap();
    assert!(l.params.as_ref().unwrap().source_priors.is_empty());
}

/// A 911 caller who gives only a name, calling from home, links to the police record that has
/// that home as its address (the police row's own place is an intersection, so not a street
/// place); and a misspelt first name on such a call is still paired, by surname and place.
#[test]
fn calls_from_home_link_to_the_record_with_that_home() {
    let (base, _, _) = background(5);
    let mut recs: Vec<(u64, String, SourceIdentity, Option<String>)> = base
        .into_iter()
        .map(|(i, s, si)| {
            let place = si.address.as_ref().map(|a| a.key.clone());
            (i, s, si, place)
        })
        .collect();
    let home = "1922 LAKEWOOD";
    let police = 90_001;
    let mut p = ident(
        "shirley",
        "jacksonville",
        Some((1996, 6, 25)),
        Some(home),
        None,
    );
    p.middle = Some("victoria".into());
    recs.push((police, "dpd".into(), p, None));
    let calls = [90_002, 90_003, 90_004];
    for (id, first) in calls.iter().zip(["shirley", "shirley", "shriley"]) {
        let c = ident(first, "jacksonville", None, None, None);
        recs.push((*id, "decc".into(), c, Some(home.into())));
    }
    let r = link_identities(&recs, &Constraints::default());
    let c = cluster_of(&r.clusters, police);
    for id in calls {
        assert_eq!(
            cluster_of(&r.clusters, id),
            c,
            "call {id} not with the police record"
        );
    }
}

/// A crisis-team record that names only a first name shared by two people, away from home,
/// joins the person named on the 911 call it was dispatched from (the same incident number), and
/// not a third party who made another call; without the incident it stays with neither.
#[test]
fn a_record_joins_the_person_on_the_call_it_came_from() {
    let (base, truth, _) = background(11);
    // Every record is its own incident, except that a third of the people have a call and a
    // response from the same incident: what the model learns the incident's weight from.
    let mut recs: Vec<AgencyIdentity> = Vec::new();
    let mut prev_person = u64::MAX;
    for ((id, source, identity), (_, person)) in base.into_iter().zip(&truth) {
        let incident = if *person == prev_person && person % 3 == 0 {
            format!("I{}", id - 1)
        } else {
            format!("I{id}")
        };
        prev_person = *person;
        let place = identity.address.as_ref().map(|a| a.key.clone());
        recs.push(AgencyIdentity {
            id,
            source,
            identity,
            place,
            incident: Some(incident),
        });
    }
    let rec = |id: u64, source: &str, identity: SourceIdentity, place: &str, incident: &str| {
        AgencyIdentity {
            id,
            source: source.into(),
            identity,
            place: (!place.is_empty()).then(|| place.to_string()),
            incident: (!incident.is_empty()).then(|| incident.to_string()),
        }
    };
    // two women named Harriet, each known to police at home
    for (k, (last, home, dob)) in [
        ("quimby", "12 ELM ST", (1971, 4, 2)),
        ("tubman", "80 OAK AVE", (1988, 9, 30)),
    ]
    .into_iter()
    .enumerate()
    {
        for j in 0..3 {
            let id = 90_000 + 10 * k as u64 + j;
            let p = ident("harriet", last, Some(dob), Some(home), None);
            recs.push(rec(id, "dpd", p, home, &format!("P{id}")));
        }
    }
    // Harriet Quimby calls 911 from a corner; the crisis team that came names only "harriet"
    // and no place (so only the incident can join it to her call)
    let first_only = || SourceIdentity {
        first: Some("harriet".into()),
        ..Default::default()
    };
    let call = ident("harriet", "quimby", None, None, None);
    recs.push(rec(90_100, "decc", call, "LAKE RD & HILL ST", "C-7"));
    recs.push(rec(90_101, "heart", first_only(), "", "C-7"));
    // a bystander called about another Harriet; the team's record names only "harriet"
    let bystander = ident("walter", "nelson", None, None, None);
    recs.push(rec(90_102, "decc", bystander, "PINE ST & LAKE RD", "C-8"));
    recs.push(rec(90_103, "heart", first_only(), "", "C-8"));
    // the same first-name-only record with no incident
    recs.push(rec(90_104, "heart", first_only(), "", ""));

    let r = link_identities(&recs, &Constraints::default());
    let quimby = cluster_of(&r.clusters, 90_000);
    assert_eq!(cluster_of(&r.clusters, 90_100), quimby, "the call");
    assert_eq!(cluster_of(&r.clusters, 90_101), quimby, "the response");
    assert_ne!(
        cluster_of(&r.clusters, 90_103),
        cluster_of(&r.clusters, 90_102)
    );
    let alone = cluster_of(&r.clusters, 90_104);
    assert_ne!(alone, quimby);
    assert_ne!(alone, cluster_of(&r.clusters, 90_010));
}

/// Names in each other's fields ("JOHNSON JAMES") are as good as the same names in place, not
/// better: crosswise agreement is rare among non-matches (a tiny u), but it is one name written
/// in the wrong fields and fits every James Johnson alike.
#[test]
fn swapped_names_weigh_no_more_than_the_names_in_place() {
    let (mut recs, _, id) = background(11);
    // name fields swapped now and then, as intake clerks do
    for (k, (_, _, s)) in recs.iter_mut().enumerate() {
        if k % 40 == 0 {
            std::mem::swap(&mut s.first, &mut s.last);
        }
    }
    let plain = id;
    recs.push((
        plain,
        "decc".into(),
        ident("james", "johnson", None, None, None),
    ));
    recs.push((
        plain + 1,
        "dpd".into(),
        ident("james", "johnson", None, None, None),
    ));
    recs.push((
        plain + 2,
        "dfd".into(),
        ident("johnson", "james", None, None, None),
    ));
    let l = person_linker(&recs).unwrap();
    let names = |a, b| {
        let e = familiar_link::explain_identities(&l, a, b).unwrap();
        let t: Vec<(String, f64)> = e
            .terms
            .iter()
            .filter(|t| t.comparison == "first_name" || t.comparison == "last_name")
            .map(|t| (t.level_label.clone(), t.weight + t.tf_adjustment))
            .collect();
        (t, e.total_weight)
    };
    let (in_place, total_in_place) = names(plain, plain + 1);
    let (crosswise, total_crosswise) = names(plain, plain + 2);
    assert_eq!(in_place.len(), 2);
    assert_eq!(crosswise.len(), 2);
    // either way round: the swapped record first
    let (reversed, total_reversed) = names(plain + 2, plain);
    assert_eq!(reversed, crosswise);
    assert!((total_reversed - total_crosswise).abs() < 1e-9);
    assert!(
        in_place.iter().all(|(level, _)| level == "exact"),
        "{in_place:?}"
    );
    assert!(
        crosswise.iter().all(|(level, _)| level == "swapped"),
        "{crosswise:?}"
    );
    for ((_, p), (_, c)) in in_place.iter().zip(&crosswise) {
        assert!(c <= p, "swapped {c} above exact {p}");
    }
    assert!(total_crosswise <= total_in_place + 1e-9);
    // the level's own weight is what EM learned; only its use is capped
    let params = l.params.as_ref().unwrap();
    let first = params
        .comparisons
        .iter()
        .find(|c| c.name == "first_name")
        .unwrap();
    let w = |label: &str| {
        first
            .levels
            .iter()
            .find(|x| x.label == label)
            .unwrap()
            .weight
    };
    assert!(
        w("swapped") > w("exact"),
        "the test needs a swap weight above exact"
    );
}

/// The background population plus frequent people seen by the crisis team under their full
/// names: Yolanda Quist (a rare name), Mark Vance (a common one: the team knows Mark Ruiz as
/// well) and Ottavio Okafor, Mark Ruiz last. Returns the records, the first record of Yolanda, Mark Vance
/// and Ottavio, and the next free id.
fn crisis_county() -> (Records, [u64; 3], u64) {
    let (mut recs, _, mut id) = background(5);
    let person = |first: &str, last: &str, phone: &str, dob, recs: &mut Vec<_>, id: &mut u64| {
        let first_id = *id;
        for k in 0..6 {
            let home = format!("{} CEDAR LN", &phone[7..]);
            let p = ident(first, last, Some(dob), Some(&home), Some(phone));
            recs.push((*id, ["dpd", "decc"][k % 2].to_string(), p));
            *id += 1;
        }
        // the crisis team writes the name and the phone
        for _ in 0..4 {
            let p = ident(first, last, None, None, Some(phone));
            recs.push((*id, "heart".to_string(), p));
            *id += 1;
        }
        first_id
    };
    let people = [
        ("yolanda", "quist", "3035559911", (1977, 7, 18)),
        ("mark", "vance", "3035559922", (1969, 2, 1)),
        ("ottavio", "okafor", "3035559933", (1990, 4, 9)),
        ("mark", "ruiz", "3035559944", (1981, 11, 5)),
    ]
    .map(|(first, last, phone, dob)| person(first, last, phone, dob, &mut recs, &mut id));
    (recs, [people[0], people[1], people[2]], id)
}

/// A crisis-team record that carries a first name and nothing else joins the person that team
/// sees under that name when the name is rare, misspelt or not; a common name, with two Marks
/// the team knows about as well, stays alone; with one of them, the likelier reading is the Mark
/// the team knows.
/// The same holds when the record arrives in an incremental run.
#[test]
fn a_name_only_record_joins_the_person_its_source_knows_under_a_rare_name() {
    use familiar_link::{link_incremental, try_link_identities, IncrementalInput};
    use std::collections::HashMap;
    let (mut recs, [yolanda, mark, _], id) = crisis_county();
    let first_only = |first: &str| SourceIdentity {
        first: Some(first.into()),
        ..Default::default()
    };
    let cut = recs.len();
    let (misspelt, common) = (id, id + 1);
    recs.push((misspelt, "heart".into(), first_only("yolandl")));
    recs.push((common, "heart".into(), first_only("mark")));

    let check = |clusters: &[Vec<u64>]| {
        assert_eq!(
            cluster_of(clusters, misspelt),
            cluster_of(clusters, yolanda),
            "a rare name the crisis team knows"
        );
        let c = &clusters[cluster_of(clusters, common)];
        assert_eq!(c, &vec![common], "a common name stays alone");
        assert_ne!(cluster_of(clusters, mark), cluster_of(clusters, common));
    };
    let full = try_link_identities(&recs, &Constraints::default()).unwrap();
    check(&full.clusters);
    // without Mark Ruiz's records (his phone), the team knows one Mark often
    let one_mark: Records = recs
        .iter()
        .filter(|(_, _, p)| p.phone.as_deref() != Some("3035559944"))
        .cloned()
        .collect();
    let c = try_link_identities(&one_mark, &Constraints::default())
        .unwrap()
        .clusters;
    assert_eq!(cluster_of(&c, common), cluster_of(&c, mark));
    assert_eq!(cluster_of(&c, misspelt), cluster_of(&c, yolanda));
    assert_eq!(full.refused_merges.attached_by_name, 1);
    assert!(full
        .attached
        .iter()
        .any(|p| p.a == misspelt || p.b == misspelt));

    // linked without the two records first, then the two arrive
    let first = try_link_identities(&recs[..cut], &Constraints::default()).unwrap();
    let previous: HashMap<u64, String> = first
        .clusters
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.iter().map(move |&r| (r, format!("P{i}"))))
        .collect();
    let inc = link_incremental(&IncrementalInput {
        records: &recs,
        previous: &previous,
        touched: &[],
        constraints: &Constraints::default(),
        model: first.model.as_ref().unwrap(),
        model_from: "test",
    })
    .unwrap();
    assert_eq!(inc.refused_merges.attached_by_name, 1);
    // Yolanda's person comes back whole with the record
    let with = &inc.clusters[cluster_of(&inc.clusters, misspelt)];
    let before = &first.clusters[cluster_of(&first.clusters, yolanda)];
    assert_eq!(with.len(), before.len() + 1);
    assert!(before.iter().all(|r| with.contains(r)));
    assert_eq!(
        inc.clusters[cluster_of(&inc.clusters, common)],
        vec![common]
    );
}

/// A crisis team writes a birth year worked out from an age, a year off on one record that
/// also carries the client id: that record must not stand as a second person whose date of
/// birth conflicts with the first, leaving every record with the client id and no date "fitting
/// two persons equally" and on its own.
#[test]
fn a_birth_year_a_year_off_does_not_split_a_person() {
    let (mut recs, _, mut id) = background(5);
    let first = id;
    for k in 0..12 {
        let p = ident(
            "travis",
            "fisher",
            Some((1983, 7, 31)),
            None,
            Some("3035557777"),
        );
        recs.push((id, ["dpd", "decc"][k % 2].to_string(), p));
        id += 1;
    }
    let heart =
        |last: Option<&str>, client: Option<&str>, dob: Option<PartialDate>| SourceIdentity {
            first: Some("travis".into()),
            last: last.map(str::to_string),
            agency_person_id: client.map(str::to_string),
            dob,
            ..Default::default()
        };
    let full = || PartialDate {
        year: 1983,
        month: Some(7),
        day: Some(31),
    };
    let year = |y| PartialDate {
        year: y,
        month: None,
        day: None,
    };
    for _ in 0..4 {
        recs.push((id, "heart".into(), heart(None, Some("HC1"), Some(full()))));
        id += 1;
    }
    for _ in 0..5 {
        recs.push((id, "heart".into(), heart(None, Some("HC1"), None)));
        id += 1;
    }
    recs.push((
        id,
        "heart".into(),
        heart(None, Some("HC1"), Some(year(1982))),
    ));
    id += 1;
    recs.push((id, "heart".into(), heart(Some("f"), None, Some(year(1982)))));
    let r = link_identities(&recs, &Constraints::default());
    let person = cluster_of(&r.clusters, first);
    for x in first..=id {
        assert_eq!(cluster_of(&r.clusters, x), person, "record {x}");
    }
    assert_eq!(r.refused_merges.ambiguous_records, 0);
    // two years off is another person, as before
    let mut far = recs.clone();
    far.push((
        id + 1,
        "heart".into(),
        heart(None, Some("HC9"), Some(year(1980))),
    ));
    far.push((id + 2, "heart".into(), heart(None, Some("HC9"), None)));
    far.push((
        id + 3,
        "dpd".into(),
        ident("travis", "fisher", Some((1980, 1, 5)), None, None),
    ));
    let r = link_identities(&far, &Constraints::default());
    for x in [id + 1, id + 3] {
        assert_ne!(
            cluster_of(&r.clusters, x),
            cluster_of(&r.clusters, first),
            "record {x}: a Travis born 1980 is not the one born 1983"
        );
    }
}

/// What the name-only pass leaves alone: a gender variant of a name the crisis team knows, a
/// record that carries a date of birth too, and a record a reviewer assigned.
#[test]
fn a_name_only_record_stays_alone_when_it_is_not_the_same_name_or_not_name_only() {
    use familiar_link::try_link_identities;
    let (recs, [yolanda, _, ottavio], id) = crisis_county();
    let first_only = |first: &str| SourceIdentity {
        first: Some(first.into()),
        ..Default::default()
    };
    let (variant, pinned, misspelt) = (id, id + 1, id + 2);
    let mut both = recs.clone();
    both.push((variant, "heart".into(), first_only("ottavia")));
    both.push((pinned, "heart".into(), first_only("yolande")));
    both.push((misspelt, "heart".into(), first_only("yolandl")));
    let constraints = Constraints {
        pinned: vec![pinned],
        ..Default::default()
    };
    let r = try_link_identities(&both, &constraints).unwrap();
    let alone =
        |r: &familiar_link::LinkResult, x: u64| r.clusters[cluster_of(&r.clusters, x)] == vec![x];
    assert!(alone(&r, variant), "ottavia is not ottavio misspelt");
    assert_ne!(
        cluster_of(&r.clusters, variant),
        cluster_of(&r.clusters, ottavio)
    );
    assert!(
        alone(&r, pinned),
        "a record a reviewer decided stays where it is"
    );
    // the same name, unpinned, joins (the two above are not for want of a person to join)
    assert_eq!(
        cluster_of(&r.clusters, misspelt),
        cluster_of(&r.clusters, yolanda)
    );
    assert_eq!(r.refused_merges.attached_by_name, 1);

    // with a date of birth (or anything else that tells people apart) it is not name-only
    let mut dated = first_only("yolandl");
    dated.dob = Some(PartialDate {
        year: 1950,
        month: None,
        day: None,
    });
    let mut aka = first_only("yolandl");
    aka.aliases = vec!["yolanda smith".into()];
    for (what, rec) in [("a date of birth", dated), ("an alias", aka)] {
        let mut with = recs.clone();
        with.push((id, "heart".into(), rec));
        let r = try_link_identities(&with, &Constraints::default()).unwrap();
        assert!(alone(&r, id), "a record with {what} is not name-only");
        assert_eq!(r.refused_merges.attached_by_name, 0);
    }
}

/// "Yolanda Q" with nothing else: the first name and the surname's initial are weighed together
/// against each person's, so the crisis team's Yolanda Quist takes it; a "Yolanda Z" is
/// nobody it knows.
#[test]
fn a_name_and_an_initial_are_weighed_together() {
    use familiar_link::try_link_identities;
    let (mut recs, [yolanda, _, _], id) = crisis_county();
    let with_initial = |last: &str| SourceIdentity {
        first: Some("yolanda".into()),
        last: Some(last.into()),
        ..Default::default()
    };
    recs.push((id, "heart".into(), with_initial("q")));
    recs.push((id + 1, "heart".into(), with_initial("z")));
    let r = try_link_identities(&recs, &Constraints::default()).unwrap();
    assert_eq!(
        cluster_of(&r.clusters, id),
        cluster_of(&r.clusters, yolanda)
    );
    assert_eq!(r.clusters[cluster_of(&r.clusters, id + 1)], vec![id + 1]);
    assert_eq!(r.refused_merges.attached_by_name, 1);
}

/// "Mark Smith" from the crisis team with nothing else: no pair score reaches the threshold
/// (both names are common), but the team has seen one Mark Smith five times and the county
/// has no other, so the first name and the surname weighed together take it to him. Without
/// `surname` it stays alone (the size prior is off here, to weigh the pass alone); with it but
/// a second Mark Smith the team knows as well, it stays alone too.
#[test]
fn a_name_and_a_surname_are_weighed_together() {
    use familiar_link::{person_spec, try_link_identities_with};
    let county = |namesake: bool| {
        let (mut recs, _, mut id) = background(5);
        let person = |dob, phone: &str, recs: &mut Vec<_>, id: &mut u64| {
            let first = *id;
            for k in 0..5 {
                let p = ident("mark", "smith", Some(dob), Some("5 ELM ST"), Some(phone));
                recs.push((*id, ["heart", "decc"][k % 2].to_string(), p));
                *id += 1;
            }
            first
        };
        let mark = person((1970, 1, 2), "3035559944", &mut recs, &mut id);
        if namesake {
            person((1991, 8, 3), "3035559955", &mut recs, &mut id);
        }
        let bare = SourceIdentity {
            first: Some("mark".into()),
            last: Some("smith".into()),
            ..Default::default()
        };
        recs.push((id, "heart".into(), bare));
        (recs, mark, id)
    };
    let spec = |surname: bool| {
        let mut s = person_spec();
        s.cluster.size_prior = None;
        if !surname {
            s.cluster.name_only.as_mut().unwrap().surname = None;
        }
        s
    };
    let (recs, mark, bare) = county(false);
    assert!(
        recs.iter()
            .filter(|r| r.2.first.as_deref() == Some("mark") && r.2.last.as_deref() == Some("smith"))
            .count()
            == 6,
        "the background population has a Mark Smith: pick another seed"
    );
    let l = person_linker(&recs).unwrap();
    let pair = familiar_link::explain_identities(&l, bare, mark).unwrap();
    assert!(pair.total_weight < l.threshold_weight(), "{pair:?}");

    let with = try_link_identities_with(&recs, &Constraints::default(), spec(true)).unwrap();
    assert_eq!(
        cluster_of(&with.clusters, bare),
        cluster_of(&with.clusters, mark)
    );
    assert_eq!(with.refused_merges.attached_by_name, 1);
    let without = try_link_identities_with(&recs, &Constraints::default(), spec(false)).unwrap();
    assert_eq!(
        without.clusters[cluster_of(&without.clusters, bare)],
        vec![bare]
    );

    let (recs, _, bare) = county(true);
    let two = try_link_identities_with(&recs, &Constraints::default(), spec(true)).unwrap();
    assert_eq!(
        two.clusters[cluster_of(&two.clusters, bare)],
        vec![bare],
        "two Mark Smiths"
    );
}

/// Two homes in one building are one address key; the apartment tells neighbours apart, and
/// the model learns how much from the building's residents.
#[test]
fn the_apartment_weighs_within_one_building() {
    let (mut recs, _, mut id) = background(7);
    let in_unit = |first: &str, last: &str, unit: Option<String>| {
        let mut p = ident(first, last, None, Some("700 TOWER"), None);
        p.address.as_mut().unwrap().unit = unit;
        p
    };
    // forty residents of one tower, two or three records each, most with their unit
    let mut rng = 17u64;
    for r in 0..40u64 {
        let (first, last) = (
            FIRST[r as usize % FIRST.len()],
            LAST[(r as usize * 7) % LAST.len()],
        );
        for k in 0..(2 + r % 2) {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (rng >> 60 != 0).then(|| (r + 1).to_string());
            let mut p = in_unit(first, last, unit);
            p.dob = Some(PartialDate {
                year: 1950 + r as i32,
                month: Some(1 + (r % 12) as u32),
                day: Some(1 + (r % 28) as u32),
            });
            recs.push((id, SOURCES[(r + k) as usize % SOURCES.len()].to_string(), p));
            id += 1;
        }
    }
    // a caller named Maria Cruz in unit 38, and three records to weigh against her
    let caller = id;
    recs.push((
        caller,
        "dfd".into(),
        in_unit("maria", "cruz", Some("38".into())),
    ));
    let (same, none, other) = (caller + 1, caller + 2, caller + 3);
    for (k, unit) in [Some("38"), None, Some("40")].into_iter().enumerate() {
        let p = in_unit("maria", "cruz", unit.map(str::to_string));
        recs.push((same + k as u64, "dpd".into(), p));
    }
    let l = person_linker(&recs).unwrap();
    let at = |id: u64| l.table.find_id(&id.to_string())[0] as u32;
    let (s, n, o) = (
        l.score(at(caller), at(same)),
        l.score(at(caller), at(none)),
        l.score(at(caller), at(other)),
    );
    assert!(s > n + 0.5, "the same door counts: {s} vs {n}");
    assert!(
        o < n - 1.0,
        "another door in the building counts against: {o} vs {n}"
    );
}

/// The built-in spec weighs a person's phones where a link's own pair has none: a caller with
/// a phone the person never gave, linked to one of the person's records without a phone, keeps
/// the link only when it is strong enough to carry the model's weight for two different phones.
#[test]
fn a_phone_the_person_never_gave_weighs_against_the_link() {
    use familiar_link::Edge;
    let (mut recs, _, mut id) = background(5);
    let person = id;
    for k in 0..6 {
        // two with the phone, four without
        let phone = (k < 2).then_some("3035559944");
        let p = ident("mark", "smith", Some((1970, 1, 2)), Some("5 ELM ST"), phone);
        recs.push((id, ["dpd", "decc"][k % 2].to_string(), p));
        id += 1;
    }
    let (bare_member, caller) = (person + 5, id);
    let with_phone = |phone| ident("mark", "smith", None, None, Some(phone));
    recs.push((caller, "decc".into(), with_phone("3035551212")));
    let l = person_linker(&recs).unwrap();
    let at = |id: u64| l.table.find_id(&id.to_string())[0] as u32;
    let thr = l.threshold_weight();
    let phones_differ = l.score(at(caller), at(person)) - l.score(at(caller), at(bare_member));
    assert!(
        phones_differ < -1.0,
        "the model weighs two phones: {phones_differ}"
    );
    let run = |weight: f64| {
        // the person as one cluster, and the caller's link to the member without a phone
        let mut edges: Vec<Edge> = (1..6)
            .map(|k| Edge {
                a: at(person),
                b: at(person + k),
                weight: thr + 20.0,
            })
            .collect();
        edges.push(Edge {
            a: at(caller),
            b: at(bare_member),
            weight,
        });
        l.cluster(&edges, &[], &[], &[])
    };
    let joined = |c: &familiar_link::Clustering| {
        c.labels[at(caller) as usize] == c.labels[at(person) as usize]
    };
    let weak = run(thr - phones_differ - 0.5);
    assert!(!joined(&weak), "a link that cannot carry the phones joined");
    assert_eq!(weak.refused.profile_conflict, 1);
    let strong = run(thr - phones_differ + 0.5);
    assert!(joined(&strong));
    assert_eq!(strong.refused.profile_conflict, 0);
}
