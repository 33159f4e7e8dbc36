//! Person linkage: comparators, blocking, Fellegi-Sunter with EM, clustering, stable ids. Pure and deterministic.
//!
//! Two doors:
//! - files: [`run_match`] (what `familiar match` calls) reads CSV / Parquet with a TOML
//!   [`Spec`], trains an unsupervised Fellegi–Sunter model, clusters and writes `clusters.csv`;
//! - the store: [`link_identities`] clusters [`familiar_model::SourceIdentity`] rows with the
//!   built-in [`person_spec`].
//!
//! Modules: [`compare`] (comparators, nicknames, phonetic codes, dates), [`spec`], [`data`]
//! (interned columns), [`block`], [`model`] (FS + EM + TF), [`cluster`], [`explain`],
//! [`stable`] (stable person ids), [`incremental`] (a new batch against existing persons with
//! the stored model), [`eval`], [`io`], [`matching`], [`person`].
//!
//! Everything is deterministic: records are put in `(source, id)` order before any step, random
//! sampling is seeded, and ties are broken by that order, so the same input in any row order
//! gives the same clusters.

pub mod block;
pub mod cluster;
pub mod compare;
pub mod data;
pub mod error;
pub mod eval;
pub mod explain;
pub mod incremental;
pub mod io;
pub mod linker;
pub mod matching;
pub mod model;
pub mod name_only;
pub mod person;
pub mod spec;
pub mod stable;

pub use block::{BlockCap, RuleCount};
pub use cluster::{Clustering, Edge};
pub use error::LinkError;
pub use eval::{evaluate_clusters, Evaluation, Prf};
pub use explain::{Explanation, Term};
pub use incremental::{link_incremental, IncrementalInput, IncrementalResult, ModelState};
pub use linker::Linker;
pub use matching::{load_linker, run_match, MatchOptions, MatchReport};
pub use person::{
    explain_identities, link_identities, person_linker, person_linker_with, person_spec,
    try_link_identities, try_link_identities_with, AgencyIdentity, Constraints, IdentityRecord,
    LinkResult, ScoredPair,
};
pub use spec::{PriorRefit, Spec};
pub use stable::{assign_stable_ids, assign_stable_ids_above, Assignment, IdEvent, IdMinter};
