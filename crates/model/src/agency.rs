//! Agencies are configuration, not code: the defaults below are the seed's five, and a
//! `[[agency]]` table in `sources.toml` adds or renames any other (a hospital ED, a shelter).

use serde::{Deserialize, Serialize};

/// One public-safety (or partner) agency whose contacts Familiar counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    /// Short code used everywhere in output, e.g. `DECC`. Upper-case letters, digits, `_`.
    pub code: String,
    /// Human name, e.g. "Durham Emergency Communications Center".
    pub name: String,
    /// What the agency does, in a few words (shown on dashboards).
    #[serde(default)]
    pub description: String,
}

impl Agency {
    pub fn new(code: &str, name: &str, description: &str) -> Self {
        Agency {
            code: code.to_string(),
            name: name.to_string(),
            description: description.to_string(),
        }
    }

    /// A code is valid when it is non-empty and made of `A-Z`, `0-9` and `_`.
    pub fn valid_code(code: &str) -> bool {
        !code.is_empty()
            && code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }
}

/// The seed's five agencies, in the order the seed lists them (911 center first).
pub fn default_agencies() -> Vec<Agency> {
    vec![
        Agency::new(
            "DECC",
            "Emergency Communications Center",
            "911 calls and dispatch",
        ),
        Agency::new("DPD", "Police Department", "police incidents and arrests"),
        Agency::new("DFD", "Fire Department / EMS", "fire, medical and EMS runs"),
        Agency::new("DCSD", "Sheriff's Office", "jail bookings and detention"),
        Agency::new(
            "HEART",
            "Crisis Response (HEART)",
            "unarmed behavioral-health crisis response",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_codes_are_valid_and_unique() {
        let a = default_agencies();
        assert_eq!(a.len(), 5);
        let mut codes: Vec<_> = a.iter().map(|a| a.code.clone()).collect();
        assert!(codes.iter().all(|c| Agency::valid_code(c)));
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 5);
    }

    #[test]
    fn code_validation_rejects_lowercase_and_empty() {
        assert!(!Agency::valid_code(""));
        assert!(!Agency::valid_code("decc"));
        assert!(!Agency::valid_code("DE CC"));
        assert!(Agency::valid_code("ED_1"));
    }
}
