//! Helpers shared by the end-to-end test binaries: run the `familiar` binary and read its output.
#![allow(dead_code)] // each test binary uses its own subset

use std::process::{Command, Output};

use serde_json::Value;

/// The binary, in an environment of its own: no secret key from the caller's (the tests make
/// and check key files).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_familiar"));
    c.env_remove("FAMILIAR_SECRET_KEY");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run familiar")
}

/// Run and require success; the standard output.
pub fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "familiar {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Run and require success; the standard output parsed as JSON.
pub fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("json output")
}
