//! Source rows sealed at rest: the row's bytes as read and the identity it names.
//!
//! A source row is criminal-justice, health or substance-use information about a named person.
//! Stored in the clear, a copy of the database (a backup, a laptop, a file sent to the wrong
//! person) would give away who called 911, who was booked, who was in crisis. So the store seals
//! what identifies a person, under the same deployment key as the TOTP secrets
//! ([`crate::seal`]), with AES-256-GCM:
//! - `source_records.raw` (the row as read), and `quarantine.raw` and `quarantine.reason` (a
//!   rejected row, and why: a reason may quote the value refused);
//! - the identity: first, middle and last name, suffix, aliases, date of birth, phone, home
//!   address, the agency's person id and the SSN's last four, as one sealed value per row in
//!   `source_records.identity_sealed` (the plain columns stay NULL).
//!
//! Left in the clear, because the engine counts and groups on them and none names anyone
//! alone: the interaction (agency, kind, time, event place, call type, disposition, need
//! flags), sex, race, ethnicity, the kind of address (street, shelter, homeless), the CAD
//! incident number and the record's key in its source. Some of these
//! can still point at a person with outside help (a booking number on a public jail roster, a
//! 911 call's place that is someone's home): the store's file is to be protected as a whole
//! too; sealing is what keeps a copy of it from naming anyone by itself.
//!
//! A sealed value is `1 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, bound (as associated data) to
//! its table, column and row, so a value copied onto another row does not open.

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use familiar_model::SourceIdentity;

use crate::seal::Key;

const VERSION: u8 = 1;
const NONCE: usize = 12;
const TAG: usize = 16;
/// Nonces drawn from the operating system at a time (one system call per this many values).
const NONCE_BATCH: usize = 256;

/// What a sealed value is bound to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    /// `source_records.raw` of a record id.
    Raw(i64),
    /// `source_records.identity_sealed` of a record id.
    Identity(i64),
    /// `quarantine.raw` of a rejected row id.
    Rejected(i64),
    /// `quarantine.reason` of a rejected row id (a reason may quote the value it refused).
    RejectedReason(i64),
}

impl Slot {
    fn aad(self, out: &mut Vec<u8>) {
        out.clear();
        let (label, nums): (&[u8], &[i64]) = match self {
            Slot::Raw(id) => (b"familiar/source_records.raw/v1", &[id]),
            Slot::Identity(id) => (b"familiar/source_records.identity/v1", &[id]),
            Slot::Rejected(id) => (b"familiar/quarantine.raw/v1", &[id]),
            Slot::RejectedReason(id) => (b"familiar/quarantine.reason/v1", &[id]),
        };
        out.extend_from_slice(label);
        for n in nums {
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Seals and opens row values under one key; draws nonces in batches.
pub(crate) struct RowSealer {
    cipher: Aes256Gcm,
    nonces: Vec<u8>,
    used: usize,
    aad: Vec<u8>,
}

impl RowSealer {
    pub fn new(key: &Key) -> Self {
        RowSealer {
            cipher: Aes256Gcm::new(key.into()),
            nonces: Vec::new(),
            used: 0,
            aad: Vec::with_capacity(64),
        }
    }

    fn nonce(&mut self) -> [u8; NONCE] {
        if self.used == self.nonces.len() {
            self.nonces.resize(NONCE * NONCE_BATCH, 0);
            OsRng.fill_bytes(&mut self.nonces);
            self.used = 0;
        }
        let n: [u8; NONCE] = self.nonces[self.used..self.used + NONCE]
            .try_into()
            .expect("a nonce's length");
        self.used += NONCE;
        n
    }

    /// `plain` sealed for `slot`, into `out` (cleared first).
    pub fn seal_into(&mut self, plain: &[u8], slot: Slot, out: &mut Vec<u8>) {
        let nonce = self.nonce();
        slot.aad(&mut self.aad);
        out.clear();
        out.reserve(1 + NONCE + plain.len() + TAG);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &self.aad, &mut out[1 + NONCE..])
            // only for a message beyond 64 GiB
            .expect("a row seals");
        out.extend_from_slice(&tag);
    }

    /// `plain` sealed for `slot`.
    pub fn seal(&mut self, plain: &[u8], slot: Slot) -> Vec<u8> {
        let mut out = Vec::new();
        self.seal_into(plain, slot, &mut out);
        out
    }

    /// The plain bytes of `sealed`, or None when it does not open for `slot` under this key
    /// (another key, another row's value, or damaged).
    pub fn open(&mut self, sealed: &[u8], slot: Slot) -> Option<Vec<u8>> {
        if sealed.len() < 1 + NONCE + TAG || sealed[0] != VERSION {
            return None;
        }
        let (nonce, rest) = sealed[1..].split_at(NONCE);
        let (body, tag) = rest.split_at(rest.len() - TAG);
        slot.aad(&mut self.aad);
        let mut plain = body.to_vec();
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                &self.aad,
                &mut plain,
                Tag::from_slice(tag),
            )
            .ok()?;
        Some(plain)
    }
}

/// The error for a sealed value of record `id` that does not open under the store's key.
pub(crate) fn does_not_open(id: i64) -> crate::StoreError {
    crate::StoreError::Key(format!(
        "record {id} does not open with the store's key (damaged, or sealed under another key)"
    ))
}

/// The sealed part of an identity, in the order it is encoded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SealedFields {
    pub first: Option<String>,
    pub middle: Option<String>,
    pub last: Option<String>,
    pub suffix: Option<String>,
    /// JSON array, as the `aliases` column holds it.
    pub aliases: Option<String>,
    /// As `PartialDate` displays it.
    pub dob: Option<String>,
    pub phone: Option<String>,
    pub address_key: Option<String>,
    pub address_raw: Option<String>,
    pub agency_person_id: Option<String>,
    pub ssn_last4: Option<String>,
}

const FIELDS: usize = 11;

impl SealedFields {
    /// The sealed fields of `p` (tests: the writer encodes with [`SealedFields::encode_identity`]).
    #[cfg(test)]
    pub fn of(p: &SourceIdentity) -> Self {
        SealedFields {
            first: p.first.clone(),
            middle: p.middle.clone(),
            last: p.last.clone(),
            suffix: p.suffix.clone(),
            aliases: (!p.aliases.is_empty())
                .then(|| serde_json::to_string(&p.aliases).expect("strings serialize")),
            dob: p.dob.map(|d| d.to_string()),
            phone: p.phone.clone(),
            address_key: p.address.as_ref().map(|a| a.key.clone()),
            address_raw: p.address.as_ref().map(|a| a.raw.clone()),
            agency_person_id: p.agency_person_id.clone(),
            ssn_last4: p.ssn_last4.clone(),
        }
    }

    fn fields(&self) -> [Option<&str>; FIELDS] {
        [
            self.first.as_deref(),
            self.middle.as_deref(),
            self.last.as_deref(),
            self.suffix.as_deref(),
            self.aliases.as_deref(),
            self.dob.as_deref(),
            self.phone.as_deref(),
            self.address_key.as_deref(),
            self.address_raw.as_deref(),
            self.agency_person_id.as_deref(),
            self.ssn_last4.as_deref(),
        ]
    }

    /// Each field as a LEB128 number (0 for none, else its length plus one) and its bytes.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        encode_fields(self.fields(), out);
    }

    /// The sealed fields of `p` encoded as [`SealedFields::encode_into`] does, without copying
    /// them first (once per row on the ingest's writer thread).
    pub fn encode_identity(p: &SourceIdentity, out: &mut Vec<u8>, scratch: &mut String) {
        use std::fmt::Write;
        scratch.clear();
        let dob_at = scratch.len();
        if let Some(d) = p.dob {
            let _ = write!(scratch, "{d}");
        }
        let aliases_at = scratch.len();
        if !p.aliases.is_empty() {
            scratch.push_str(&serde_json::to_string(&p.aliases).expect("strings serialize"));
        }
        let (dob, aliases) = (&scratch[dob_at..aliases_at], &scratch[aliases_at..]);
        encode_fields(
            [
                p.first.as_deref(),
                p.middle.as_deref(),
                p.last.as_deref(),
                p.suffix.as_deref(),
                (!p.aliases.is_empty()).then_some(aliases),
                p.dob.is_some().then_some(dob),
                p.phone.as_deref(),
                p.address.as_ref().map(|a| a.key.as_str()),
                p.address.as_ref().map(|a| a.raw.as_str()),
                p.agency_person_id.as_deref(),
                p.ssn_last4.as_deref(),
            ],
            out,
        );
    }

    /// The fields [`SealedFields::encode_into`] wrote, or None for bytes it did not write.
    pub fn decode(mut b: &[u8]) -> Option<Self> {
        let mut vals: Vec<Option<String>> = Vec::with_capacity(FIELDS);
        for _ in 0..FIELDS {
            let (tag, rest) = read_varint(b)?;
            if tag == 0 {
                vals.push(None);
                b = rest;
                continue;
            }
            let len = usize::try_from(tag - 1).ok()?;
            if rest.len() < len {
                return None;
            }
            let (s, rest) = rest.split_at(len);
            vals.push(Some(String::from_utf8(s.to_vec()).ok()?));
            b = rest;
        }
        if !b.is_empty() {
            return None;
        }
        let mut v = vals.into_iter();
        let mut next = || v.next().flatten();
        Some(SealedFields {
            first: next(),
            middle: next(),
            last: next(),
            suffix: next(),
            aliases: next(),
            dob: next(),
            phone: next(),
            address_key: next(),
            address_raw: next(),
            agency_person_id: next(),
            ssn_last4: next(),
        })
    }
}

fn encode_fields(fields: [Option<&str>; FIELDS], out: &mut Vec<u8>) {
    out.clear();
    for f in fields {
        match f {
            Some(s) => {
                write_varint(s.len() as u64 + 1, out);
                out.extend_from_slice(s.as_bytes());
            }
            None => out.push(0),
        }
    }
}

fn write_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A LEB128 number and the bytes after it; None when cut short or longer than 64 bits, or not
/// in its shortest form (so each value has one encoding).
fn read_varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut n = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        if i == 9 && part > 1 {
            return None;
        }
        n |= part << (7 * i);
        if byte & 0x80 == 0 {
            if i > 0 && byte == 0 {
                return None;
            }
            return Some((n, &b[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::KeyInit;
    use proptest::prelude::*;

    fn key() -> Key {
        Aes256Gcm::generate_key(&mut OsRng).into()
    }

    #[test]
    fn a_sealed_value_opens_for_its_own_slot_and_key_only() {
        let k = key();
        let mut s = RowSealer::new(&k);
        let sealed = s.seal(b"TAYLOR, YOLANDA", Slot::Raw(7));
        assert!(!sealed.windows(b"TAYLOR".len()).any(|w| w == b"TAYLOR"));
        assert_eq!(
            s.open(&sealed, Slot::Raw(7)).as_deref(),
            Some(&b"TAYLOR, YOLANDA"[..])
        );
        // another row, another column, another key, a flipped bit: refused
        assert_eq!(s.open(&sealed, Slot::Raw(8)), None);
        assert_eq!(s.open(&sealed, Slot::Identity(7)), None);
        assert_eq!(RowSealer::new(&key()).open(&sealed, Slot::Raw(7)), None);
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(s.open(&bad, Slot::Raw(7)), None);
        assert_eq!(s.open(&sealed[..20], Slot::Raw(7)), None);
        // the same bytes sealed twice differ (fresh nonces), both open
        let again = s.seal(b"TAYLOR, YOLANDA", Slot::Raw(7));
        assert_ne!(sealed, again);
        assert!(s.open(&again, Slot::Raw(7)).is_some());
        let q = s.seal(b"", Slot::Rejected(3));
        assert_eq!(s.open(&q, Slot::Rejected(3)).as_deref(), Some(&b""[..]));
        assert_eq!(s.open(&q, Slot::Rejected(4)), None);
        assert_eq!(s.open(&q, Slot::RejectedReason(3)), None);
    }

    #[test]
    fn nonces_do_not_repeat_across_batches() {
        let mut s = RowSealer::new(&key());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 * NONCE_BATCH {
            assert!(seen.insert(s.nonce()));
        }
    }

    fn field() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some(String::new())),
            any::<String>().prop_map(Some)
        ]
    }

    proptest! {
        #[test]
        fn identity_fields_round_trip(v in proptest::collection::vec(field(), FIELDS)) {
            let mut it = v.into_iter();
            let mut n = || it.next().unwrap();
            let f = SealedFields {
                first: n(), middle: n(), last: n(), suffix: n(), aliases: n(), dob: n(),
                phone: n(), address_key: n(), address_raw: n(), agency_person_id: n(),
                ssn_last4: n(),
            };
            let mut b = Vec::new();
            f.encode_into(&mut b);
            prop_assert_eq!(SealedFields::decode(&b), Some(f));
            // a truncated or extended encoding is refused, not misread
            prop_assert_eq!(SealedFields::decode(&b[..b.len() - 1]), None);
            b.push(0);
            prop_assert_eq!(SealedFields::decode(&b), None);
        }

        #[test]
        fn an_identity_encodes_as_its_fields_do(
            first in field(), last in field(), phone in field(),
            aliases in proptest::collection::vec(any::<String>(), 0..3),
            dob in proptest::option::of((1900i32..2030, proptest::option::of(1u32..13))),
            address in proptest::option::of(any::<String>()),
        ) {
            let p = SourceIdentity {
                first, last, phone, aliases,
                dob: dob.map(|(year, month)| familiar_model::PartialDate { year, month, day: None }),
                address: address.map(|a| familiar_model::Address {
                    raw: a.clone(), key: a, ..Default::default()
                }),
                ..Default::default()
            };
            let (mut direct, mut via, mut scratch) = (Vec::new(), Vec::new(), String::new());
            SealedFields::encode_identity(&p, &mut direct, &mut scratch);
            SealedFields::of(&p).encode_into(&mut via);
            prop_assert_eq!(&direct, &via);
            prop_assert_eq!(SealedFields::decode(&direct), Some(SealedFields::of(&p)));
        }

        #[test]
        fn varints_round_trip(n in any::<u64>()) {
            let mut b = Vec::new();
            write_varint(n, &mut b);
            prop_assert_eq!(read_varint(&b), Some((n, &[][..])));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SealedFields::decode(&b);
        }
    }
}
