//! Familiar's domain types.
//!
//! This crate is the vocabulary every other crate speaks. It holds data types only: no file,
//! database or network access. Start reading at [`record::NormalizedRecord`], the shape every
//! ingested row takes, and at [`mapping::SourcesConfig`], the file an analyst writes to onboard an
//! agency export. [`raw`] is the one piece of logic here: how a stored source row's bytes read
//! back as column → value.

pub mod agency;
pub mod mapping;
pub mod measures;
pub mod raw;
pub mod record;

pub use agency::{default_agencies, Agency};
pub use measures::KeyMeasures;
pub use raw::{RawError, RawLayout};
pub use record::{
    Address, AddressKind, InteractionKind, NeedFlags, NormalizedRecord, PartialDate, Role,
    SourceIdentity,
};
