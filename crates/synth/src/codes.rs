//! Code tables: 911 natures, police offenses, EMS impressions, jail charges, crisis reasons.
//! Each list is `(value, weight)`; values are what agencies write in their code columns.

use rand::Rng;

pub type Weighted = &'static [(&'static str, f64)];

/// Pick a value from a small weighted list.
pub fn pick<R: Rng + ?Sized>(rng: &mut R, list: Weighted) -> &'static str {
    let total: f64 = list.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen::<f64>() * total;
    for (v, w) in list {
        if x < *w {
            return v;
        }
        x -= w;
    }
    list[list.len() - 1].0
}

// ---- DECC (911 natures) ----
pub static NAT_CALL_SELF: Weighted = &[
    ("DISTURBANCE", 3.0),
    ("SUSPICIOUS PERSON", 3.0),
    ("ASSIST PERSON", 2.0),
    ("INFO/ADVICE", 2.0),
    ("TRESPASS/UNWANTED", 2.0),
    ("LARCENY", 2.0),
    ("NOISE COMPLAINT", 2.0),
    ("WELFARE CHECK", 1.0),
    ("HANG UP", 2.0),
    ("HARASSMENT", 2.0),
    ("FOLLOW UP", 1.0),
];
pub static NAT_POLICE: Weighted = &[
    ("DISTURBANCE", 5.0),
    ("ASSAULT", 2.0),
    ("DOMESTIC DISTURBANCE", 3.0),
    ("TRESPASS/UNWANTED", 3.0),
    ("SUSPICIOUS PERSON", 4.0),
    ("LARCENY", 3.0),
    ("BURGLARY", 1.0),
    ("SHOTS FIRED", 0.8),
    ("HARASSMENT", 2.0),
    ("DAMAGE TO PROPERTY", 1.0),
    ("ROBBERY", 0.5),
    ("INDECENCY", 0.3),
];
pub static NAT_MEDICAL: Weighted = &[
    ("MEDICAL - SICK PERSON", 4.0),
    ("MEDICAL - FALL", 3.0),
    ("MEDICAL - CHEST PAIN", 2.0),
    ("MEDICAL - BREATHING PROBLEM", 2.0),
    ("MEDICAL - UNCONSCIOUS", 1.0),
    ("MEDICAL - SEIZURE", 1.0),
    ("MEDICAL - DIABETIC", 1.0),
    ("TRAFFIC ACCIDENT W/ INJURY", 1.0),
];
pub static NAT_CRISIS: Weighted = &[
    ("MENTAL HEALTH CRISIS", 5.0),
    ("SUICIDE THREAT", 2.0),
    ("WELFARE CHECK", 3.0),
    ("ASSIST PERSON", 2.0),
];
pub static NAT_SUBSTANCE: Weighted = &[("OVERDOSE", 3.0), ("INTOXICATED PERSON", 5.0)];
pub static NAT_SUPER: Weighted = &[
    ("HANG UP", 3.0),
    ("INFO/ADVICE", 3.0),
    ("ASSIST PERSON", 2.0),
    ("DISTURBANCE", 1.0),
    ("MEDICAL - SICK PERSON", 1.0),
    ("INTOXICATED PERSON", 1.0),
    ("HARASSMENT", 1.0),
];
pub static NAT_PLACE: Weighted = &[
    ("ALARM - BURGLAR", 8.0),
    ("TRAFFIC ACCIDENT", 6.0),
    ("HANG UP", 7.0),
    ("NOISE COMPLAINT", 4.0),
    ("SUSPICIOUS VEHICLE", 4.0),
    ("SUSPICIOUS PERSON", 3.0),
    ("LARCENY", 4.0),
    ("INFO/ADVICE", 5.0),
    ("TRAFFIC HAZARD", 3.0),
    ("DISTURBANCE", 3.0),
    ("FOLLOW UP", 3.0),
    ("ANIMAL COMPLAINT", 2.0),
    ("PARKING COMPLAINT", 2.0),
    ("WELFARE CHECK", 1.0),
    ("MEDICAL - SICK PERSON", 1.0),
    ("PANHANDLING", 0.7),
];
pub static NAT_FIRE: Weighted = &[
    ("FIRE - ALARM", 5.0),
    ("FIRE - STRUCTURE", 1.0),
    ("FIRE - VEHICLE", 1.0),
    ("FIRE - OUTSIDE", 1.5),
];
pub static NAT_GROUP_HOME: Weighted = &[
    ("MENTAL HEALTH CRISIS", 3.0),
    ("ASSIST PERSON", 2.0),
    ("DISTURBANCE", 1.5),
    ("MEDICAL - SICK PERSON", 1.5),
    ("MEDICAL - FALL", 1.0),
    ("MISSING PERSON", 1.0),
];

/// 911 priority for a nature (1 = highest).
pub fn priority(nature: &str) -> u8 {
    match nature {
        "SUICIDE THREAT"
        | "OVERDOSE"
        | "ASSAULT"
        | "DOMESTIC DISTURBANCE"
        | "SHOTS FIRED"
        | "ROBBERY"
        | "MEDICAL - CHEST PAIN"
        | "MEDICAL - BREATHING PROBLEM"
        | "MEDICAL - UNCONSCIOUS"
        | "MEDICAL - SEIZURE"
        | "FIRE - STRUCTURE" => 1,
        "MENTAL HEALTH CRISIS"
        | "DISTURBANCE"
        | "BURGLARY"
        | "TRAFFIC ACCIDENT"
        | "TRAFFIC ACCIDENT W/ INJURY"
        | "MISSING PERSON"
        | "FIRE - ALARM"
        | "FIRE - VEHICLE"
        | "MEDICAL - SICK PERSON"
        | "MEDICAL - FALL"
        | "MEDICAL - DIABETIC" => 2,
        "NOISE COMPLAINT" | "PARKING COMPLAINT" | "INFO/ADVICE" | "HANG UP" | "FOLLOW UP"
        | "PANHANDLING" | "ANIMAL COMPLAINT" => 4,
        _ => 3,
    }
}

pub static DECC_DISPOSITIONS: Weighted = &[
    ("DISPATCHED", 6.0),
    ("CLEARED", 2.0),
    ("REPORT TAKEN", 1.0),
    ("NO ACTION", 1.0),
    ("GONE ON ARRIVAL", 1.0),
    ("UNFOUNDED", 0.5),
];

// ---- DPD (offenses / incident descriptions) ----
pub fn dpd_offense_for<R: Rng + ?Sized>(rng: &mut R, nature: &str) -> &'static str {
    match nature {
        "DISTURBANCE" => pick(rng, &[("DISTURBANCE", 3.0), ("DISORDERLY CONDUCT", 1.0)]),
        "ASSAULT" => pick(rng, &[("SIMPLE ASSAULT", 3.0), ("AGGRAVATED ASSAULT", 1.0)]),
        "DOMESTIC DISTURBANCE" => pick(
            rng,
            &[("DOMESTIC DISTURBANCE", 3.0), ("ASSAULT ON FEMALE", 1.0)],
        ),
        "TRESPASS/UNWANTED" => "TRESPASS - SECOND DEGREE",
        "SUSPICIOUS PERSON" => "SUSPICIOUS PERSON",
        "LARCENY" => pick(
            rng,
            &[("LARCENY - SHOPLIFTING", 2.0), ("LARCENY - OTHER", 1.0)],
        ),
        "BURGLARY" => "BREAKING AND ENTERING",
        "SHOTS FIRED" => "DISCHARGE FIREARM IN CITY",
        "HARASSMENT" => pick(
            rng,
            &[
                ("COMMUNICATING THREATS", 1.0),
                ("HARASSING PHONE CALLS", 1.0),
            ],
        ),
        "DAMAGE TO PROPERTY" => "DAMAGE TO PROPERTY",
        "ROBBERY" => "ROBBERY - COMMON LAW",
        "INDECENCY" => "INDECENT EXPOSURE",
        "MENTAL HEALTH CRISIS" | "SUICIDE THREAT" => pick(
            rng,
            &[
                ("MENTAL COMMITMENT (IVC)", 1.0),
                ("MENTAL HEALTH - ASSIST", 2.0),
            ],
        ),
        "WELFARE CHECK" | "ASSIST PERSON" | "MISSING PERSON" => "WELFARE CHECK",
        "INTOXICATED PERSON" => "INTOXICATED AND DISRUPTIVE",
        "OVERDOSE" => "OVERDOSE - ASSIST EMS",
        "PANHANDLING" => "PANHANDLING",
        "NOISE COMPLAINT" => "NOISE VIOLATION",
        "INFO/ADVICE" | "HANG UP" | "FOLLOW UP" => "ASSIST CITIZEN",
        "MEDICAL - SICK PERSON" | "MEDICAL - FALL" => "ASSIST EMS",
        _ => "GENERAL INCIDENT",
    }
}
pub static DPD_SELF_INITIATED: Weighted = &[
    ("TRAFFIC STOP", 6.0),
    ("FIELD INTERVIEW", 3.0),
    ("SUSPICIOUS PERSON", 2.0),
    ("WARRANT SERVICE", 1.5),
    ("DRUG VIOLATION - POSSESSION", 1.0),
    ("DWI", 0.7),
    ("TRESPASS - SECOND DEGREE", 1.0),
];
pub static DPD_DISPOSITIONS: Weighted = &[
    ("CLOSED - NO FURTHER ACTION", 5.0),
    ("REPORT", 2.0),
    ("CITATION", 1.0),
    ("REFERRED", 0.7),
    ("UNFOUNDED", 0.4),
];

// ---- DFD ----
pub static IMPRESSION_MEDICAL: Weighted = &[
    ("Weakness/General Malaise", 4.0),
    ("Fall Injury", 4.0),
    ("Chest Pain", 3.0),
    ("Respiratory Distress", 3.0),
    ("Abdominal Pain", 2.0),
    ("Syncope", 2.0),
    ("Seizure", 1.5),
    ("Diabetic Emergency", 1.5),
    ("Altered Mental Status", 1.5),
    ("Pain", 2.0),
    ("Trauma - MVC", 1.5),
    ("Stroke/CVA", 0.7),
    ("Cardiac Arrest", 0.3),
    ("No Apparent Illness/Injury", 1.5),
];
pub static IMPRESSION_CRISIS: Weighted = &[
    ("Behavioral/Psychiatric Disorder", 5.0),
    ("Suicidal Ideation", 2.0),
    ("Anxiety", 1.0),
];
pub static IMPRESSION_SUBSTANCE: Weighted = &[
    ("Alcohol Intoxication", 5.0),
    ("Opioid Overdose", 3.0),
    ("Drug Intoxication", 2.0),
];
/// NFIRS incident types for fire incidents (no patient).
pub static NFIRS_FIRE: Weighted = &[
    ("745", 5.0),
    ("743", 1.5),
    ("111", 1.0),
    ("131", 1.0),
    ("142", 0.7),
    ("151", 0.8),
];
pub static DFD_EMS_DISPOSITIONS: Weighted = &[
    ("Treated, Released", 2.0),
    ("Patient Refused", 1.5),
    ("Treated, Released per Protocol", 0.5),
];

// ---- DCSD ----
pub static CHARGES_STREET: Weighted = &[
    ("SIMPLE ASSAULT", 3.0),
    ("ASSAULT ON A FEMALE", 2.0),
    ("LARCENY", 3.0),
    ("SECOND DEGREE TRESPASS", 2.0),
    ("RESIST/DELAY/OBSTRUCT", 2.0),
    ("COMMUNICATING THREATS", 1.5),
    ("BREAKING AND ENTERING", 1.0),
    ("AWDW", 0.7),
    ("ROBBERY COMMON LAW", 0.5),
    ("DWI", 1.5),
    ("POSSESS SCH II CS", 1.5),
    ("POSSESS DRUG PARAPHERNALIA", 1.5),
    ("DISORDERLY CONDUCT", 1.0),
];
pub static CHARGES_LOW_LEVEL: Weighted = &[
    ("SECOND DEGREE TRESPASS", 4.0),
    ("INTOXICATED AND DISRUPTIVE", 3.0),
    ("POSSESS DRUG PARAPHERNALIA", 2.0),
    ("PANHANDLING ORDINANCE", 1.0),
    ("DISORDERLY CONDUCT", 1.5),
    ("LARCENY", 1.5),
    ("RESIST/DELAY/OBSTRUCT", 1.0),
];
pub static CHARGES_WARRANT: Weighted = &[
    ("FAILURE TO APPEAR", 4.0),
    ("PROBATION VIOLATION", 3.0),
    ("ORDER FOR ARREST", 2.0),
    ("CHILD SUPPORT - PURGE", 1.0),
    ("DV PROTECTIVE ORDER VIOL", 1.0),
    ("DWI", 1.0),
];
pub static ARRESTING_AGENCIES: Weighted = &[
    ("DCSO", 5.0),
    ("NCSHP", 1.5),
    ("DUKE PD", 1.0),
    ("NCCU PD", 0.5),
    ("PROBATION", 1.0),
];

// ---- HEART ----
pub static HEART_CRISIS: Weighted = &[
    ("Mental health crisis", 5.0),
    ("Suicidal ideation", 1.5),
    ("Welfare check", 3.0),
];
pub static HEART_SUBSTANCE: Weighted = &[("Substance use", 4.0), ("Intoxicated person", 3.0)];
pub static HEART_CALL_SELF: Weighted = &[
    ("Welfare check", 2.0),
    ("Trespass/unwanted person", 1.0),
    ("Basic needs", 1.0),
];
pub static HEART_ANON: Weighted = &[
    ("Welfare check", 4.0),
    ("Public disturbance", 2.0),
    ("Trespass/unwanted person", 2.0),
    ("Panhandling", 1.0),
];
pub static HEART_OUTCOMES: Weighted = &[
    ("Resolved on scene", 5.0),
    ("Connected to services", 3.0),
    ("Transported to care", 1.0),
    ("Client declined services", 1.5),
    ("Referred to follow-up team", 1.5),
];
pub static HEART_TEAMS: &[&str] = &["HEART 1", "HEART 2", "HEART 3", "HEART 4", "HEART 5"];
