//! Degenerate inputs and clear errors.
use familiar_link::{run_match, LinkError, MatchOptions};
use std::path::Path;

const SPEC: &str = r#"
id_column = "id"
[[comparison]]
name = "name"
levels = ["exact", "jw>=0.9"]
tf = true
[[comparison]]
name = "dob"
levels = ["exact", "dm_swap", "year_off<=1"]
[blocking]
rules = [["name"], ["dob"]]
[training]
deterministic_rules = [["name", "dob"]]
em_sessions = [["dob"], ["name"]]
"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn empty_and_tiny_files() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write(tmp.path(), "s.toml", SPEC);
    for body in [
        "id,name,dob\n",
        "id,name,dob\n1,ann,1970-01-02\n",
        "id,name,dob\n1,ann,1970-01-02\n2,ann,1970-01-02\n3,,\n",
    ] {
        let data = write(tmp.path(), "d.csv", body);
        let out = tmp.path().join("c.csv");
        let r = run_match(&MatchOptions {
            spec: spec.clone(),
            left: data,
            out: Some(out.clone()),
            ..Default::default()
        })
        .unwrap();
        let rows = std::fs::read_to_string(&out).unwrap().lines().count() - 1;
        assert_eq!(rows, r.counts.records);
    }
}

#[test]
fn errors_name_file_row_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write(tmp.path(), "s.toml", SPEC);
    let data = write(tmp.path(), "d.csv", "id,name\n1,ann\n");
    let e = run_match(&MatchOptions {
        spec: spec.clone(),
        left: data.clone(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(e, LinkError::MissingColumn { .. }), "{e}");
    assert!(
        e.to_string().contains("dob") && e.to_string().contains("d.csv"),
        "{e}"
    );
    let dup = write(tmp.path(), "dup.csv", "id,name,dob\n1,ann,\n1,bob,\n");
    let e = run_match(&MatchOptions {
        spec: spec.clone(),
        left: dup,
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("duplicate record id"), "{e}");
    let empty_id = write(tmp.path(), "e.csv", "id,name,dob\n1,ann,\n,bob,\n");
    let e = run_match(&MatchOptions {
        spec: spec.clone(),
        left: empty_id,
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("row 3"), "{e}");
    let bad = write(
        tmp.path(),
        "bad.toml",
        "id_column = \"id\"\n[[comparison]]\nname = \"x\"\nlevels = [\"bogus\"]\n",
    );
    let e = run_match(&MatchOptions {
        spec: bad,
        left: data.clone(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");
    let e = run_match(&MatchOptions {
        spec,
        left: tmp.path().join("d.xlsx"),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("unsupported"), "{e}");
}
