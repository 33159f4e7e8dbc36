//! Run `run_match` from the command line (a stand-in for `familiar match` while developing):
//! `cargo run --release -p familiar-link --example link_match -- --spec S.toml --left A.csv
//! [--right B.csv] [--out clusters.csv] [--pairs pairs.csv] [--json] [--count-only]
//! [--truth-column COL]`
use familiar_link::{run_match, MatchOptions};
use std::path::PathBuf;

fn main() {
    let mut o = MatchOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || PathBuf::from(args.next().unwrap_or_else(|| panic!("{a} needs a value")));
        match a.as_str() {
            "--spec" => o.spec = val(),
            "--left" => o.left = val(),
            "--right" => o.right = Some(val()),
            "--out" => o.out = Some(val()),
            "--pairs" => o.pairs = Some(val()),
            "--truth-column" => o.truth_column = Some(val().display().to_string()),
            "--json" => o.json = true,
            "--count-only" => o.count_only = true,
            _ => panic!("unknown argument {a}"),
        }
    }
    match run_match(&o) {
        Ok(r) => {
            if o.json {
                println!("{}", serde_json::to_string_pretty(&r).expect("json"));
            } else {
                print!("{}", r.summary_text());
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
