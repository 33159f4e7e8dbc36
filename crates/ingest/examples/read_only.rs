//! Reads and maps every row of a mapping without storing anything: the parse-side ceiling of
//! ingest throughput. `cargo run --release --example read_only -- sources.toml`
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: read_only SOURCES.toml");
    let cfg = familiar_ingest::load_config(std::path::Path::new(&path)).expect("config");
    let t = std::time::Instant::now();
    let mut rows = 0u64;
    for plan in &cfg.sources {
        let mut n = 0u64;
        let ts = std::time::Instant::now();
        familiar_ingest::read_source(plan, |_o| {
            n += 1;
            Ok::<(), ()>(())
        })
        .expect("read");
        println!(
            "{:<16} {:>9} rows {:>8.0} rows/s",
            plan.def.name,
            n,
            n as f64 / ts.elapsed().as_secs_f64()
        );
        rows += n;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "total {rows} rows in {s:.2}s = {:.0} rows/s",
        rows as f64 / s
    );
}
