//! Small value normalizers: phone, sex, SSN fragment, yes/no.

/// Values meaning "yes" when a boolean field lists no `truthy` values.
pub const DEFAULT_TRUTHY: &[&str] = &["Y", "YES", "TRUE", "1", "T", "X"];

/// Phone → digits only. Text after an extension marker (`x`, `ext`) is dropped, and a leading
/// US country code (`+1` / `1` on an 11-digit number) is removed. Fewer than 7 digits, or one
/// digit repeated (`0000000000`), gives None. Idempotent.
pub fn normalize_phone(s: &str) -> Option<String> {
    let cut = s
        .bytes()
        .position(|b| matches!(b, b'x' | b'X' | b'#') || b.eq_ignore_ascii_case(&b'e'))
        .filter(|&i| {
            let b = s.as_bytes();
            matches!(b[i], b'x' | b'X' | b'#')
                || b.len() >= i + 3 && b[i..i + 3].eq_ignore_ascii_case(b"ext")
        })
        .unwrap_or(s.len());
    // Only an extension marker after a whole number counts ("Text 919..." is not an extension).
    let cut = if s[..cut].bytes().filter(u8::is_ascii_digit).count() >= 7 {
        cut
    } else {
        s.len()
    };
    let mut d: String = s[..cut].chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() == 11 && d.starts_with('1') {
        d.remove(0);
    }
    if d.len() < 7 || d.len() > 15 {
        return None;
    }
    let first = d.as_bytes()[0];
    if d.bytes().all(|b| b == first) {
        return None;
    }
    Some(d)
}

/// Sex / gender → `M`, `F` or `X`; None for unknown or blank.
pub fn normalize_sex(s: &str) -> Option<&'static str> {
    let t = s.trim().to_ascii_uppercase();
    match t.as_str() {
        "M" | "MALE" | "MAN" | "BOY" | "1" => Some("M"),
        "F" | "FEMALE" | "WOMAN" | "GIRL" | "2" => Some("F"),
        "X" | "NONBINARY" | "NON-BINARY" | "NON BINARY" | "NB" | "OTHER" | "O" | "INTERSEX"
        | "TRANSGENDER" | "GENDERQUEER" => Some("X"),
        _ => None,
    }
}

/// SSN → its last four digits (never the whole number). A value that is already a hex digest
/// (32+ hex characters, e.g. a salted hash of the full SSN) is kept, lower-cased. Fewer than 4
/// digits or `0000` gives None.
pub fn normalize_ssn_last4(s: &str) -> Option<String> {
    let t = s.trim();
    if t.len() >= 32
        && t.bytes().all(|b| b.is_ascii_hexdigit())
        && !t.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(t.to_ascii_lowercase());
    }
    let d: Vec<u8> = t.bytes().filter(u8::is_ascii_digit).collect();
    if d.len() < 4 {
        return None;
    }
    let last = &d[d.len() - 4..];
    if last == b"0000" {
        return None;
    }
    Some(String::from_utf8(last.to_vec()).expect("ascii digits"))
}

/// True when `v` (trimmed, case-insensitive) is one of `truthy`.
pub fn is_truthy(v: &str, truthy: &[String]) -> bool {
    let v = v.trim();
    truthy.iter().any(|t| t.eq_ignore_ascii_case(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("(919) 555-0142").as_deref(),
            Some("9195550142")
        );
        assert_eq!(
            normalize_phone("+1 919.555.0142").as_deref(),
            Some("9195550142")
        );
        assert_eq!(
            normalize_phone("1-919-555-0142").as_deref(),
            Some("9195550142")
        );
        assert_eq!(
            normalize_phone("919-555-0142 x12").as_deref(),
            Some("9195550142")
        );
        assert_eq!(normalize_phone("555-0142").as_deref(), Some("5550142"));
        assert_eq!(normalize_phone("000-000-0000"), None);
        assert_eq!(normalize_phone("none"), None);
        assert_eq!(normalize_phone("12"), None);
    }

    #[test]
    fn sexes_and_ssn() {
        assert_eq!(normalize_sex(" female "), Some("F"));
        assert_eq!(normalize_sex("m"), Some("M"));
        assert_eq!(normalize_sex("Non-binary"), Some("X"));
        assert_eq!(normalize_sex("U"), None);
        assert_eq!(normalize_ssn_last4("123-45-6789").as_deref(), Some("6789"));
        assert_eq!(normalize_ssn_last4("6789").as_deref(), Some("6789"));
        assert_eq!(normalize_ssn_last4("XXX-XX-6789").as_deref(), Some("6789"));
        assert_eq!(normalize_ssn_last4("789"), None);
        assert_eq!(normalize_ssn_last4("000-00-0000"), None);
        let h = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        assert_eq!(normalize_ssn_last4(h), Some(h.to_ascii_lowercase()));
    }

    proptest! {
        #[test]
        fn phone_is_idempotent(s in "[0-9 ()+.x-]{0,20}|\\PC{0,20}") {
            if let Some(p) = normalize_phone(&s) {
                prop_assert!(p.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(normalize_phone(&p), Some(p.clone()));
            }
        }
    }
}
