//! Throughput on a generated 1M-row CSV (a benchmark, so not a test); run in release:
//!
//! ```sh
//! cargo run --release --example throughput -p familiar-ingest
//! ```

use std::io::Write;
use std::time::Instant;

use familiar_ingest::{load_config, read_source, RowOutcome};

const ROWS: usize = 1_000_000;

/// Counts allocations, to report allocations per row.
struct Counting;
static ALLOCS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn generate(path: &std::path::Path) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::new(f);
    writeln!(
        w,
        "CallNo,CallReceived,Nature,CallerName,CallerPhone,Address,DOB,Sex"
    )
    .unwrap();
    let natures = [
        "MENTAL SUBJECT",
        "WELFARE CHECK",
        "TRESPASS",
        "OVERDOSE",
        "NOISE",
    ];
    let last = [
        "SMITH",
        "JONES",
        "GARCIA LOPEZ",
        "O'NEIL",
        "NGUYEN",
        "WASHINGTON",
    ];
    let first = ["JOHN", "MARIA", "DANA", "LUIS", "ANN"];
    let streets = [
        "Main Street",
        "N Elm St",
        "Fifth Avenue",
        "Alston Ave Apt 4",
        "Holloway St",
    ];
    for i in 0..ROWS {
        writeln!(
            w,
            "{},{:02}/{:02}/2024 {:02}:{:02}:{:02},{},\"{}, {} A\",(919) 555-{:04},{} {},{:02}/{:02}/19{:02},{}",
            1_000_000 + i,
            i % 12 + 1,
            i % 28 + 1,
            i % 24,
            i % 60,
            (i * 7) % 60,
            natures[i % natures.len()],
            last[i % last.len()],
            first[(i / 7) % first.len()],
            i % 10_000,
            i % 999 + 1,
            streets[i % streets.len()],
            i % 12 + 1,
            i % 28 + 1,
            40 + i % 60,
            if i % 2 == 0 { "M" } else { "F" },
        )
        .unwrap();
    }
}

/// CPU time of this thread (Linux), so a busy machine does not skew the figure.
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn measure(dir: &std::path::Path, label: &str, fields: &str) {
    let toml = format!(
        r#"
[[source]]
name = "calls"
agency = "DECC"
files = "calls.csv"
format = "csv"
record_key = ["CallNo"]
kind = "call_911"
[source.fields]
start = {{ column = "CallReceived", format = "%m/%d/%Y %H:%M:%S" }}
call_type = "Nature"
{fields}
[[source.code]]
field = "call_type"
values = ["MENTAL*"]
flags = ["mental_health"]
"#
    );
    std::fs::write(dir.join("sources.toml"), toml).unwrap();
    let cfg = load_config(&dir.join("sources.toml")).unwrap();
    let t = Instant::now();
    let c0 = cpu_secs();
    let a0 = ALLOCS.load(std::sync::atomic::Ordering::Relaxed);
    let mut n = 0u64;
    let mut bytes = 0usize;
    let rep = read_source(&cfg.sources[0], |o| -> Result<(), ()> {
        if let RowOutcome::Accepted { raw, .. } = o {
            n += 1;
            bytes += raw.raw.len();
        }
        Ok(())
    })
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let allocs = ALLOCS.load(std::sync::atomic::Ordering::Relaxed) - a0;
    let cpu = match (c0, cpu_secs()) {
        (Some(a), Some(b)) => b - a,
        _ => secs,
    };
    assert_eq!(n as usize, ROWS);
    assert_eq!(rep.rejected(), 0);
    println!(
        "{label}: {ROWS} rows in {secs:.2} s wall = {:.0} rows/s; {cpu:.2} s CPU = {:.0} rows/CPU-s, {:.1} allocations/row ({} MB raw bytes)",
        ROWS as f64 / secs,
        ROWS as f64 / cpu,
        allocs as f64 / ROWS as f64,
        bytes / 1_000_000
    );
}

fn throughput_1m_rows() {
    let dir = tempfile::tempdir().unwrap();
    generate(&dir.path().join("calls.csv"));
    let size = std::fs::metadata(dir.path().join("calls.csv"))
        .unwrap()
        .len();
    println!("file: {} MB", size / 1_000_000);
    measure(dir.path(), "simple (key, start, call type, code rule)", "");
    measure(
        dir.path(),
        "full (+ name, phone, address, dob, sex)",
        r#"name = { column = "CallerName", layout = "last_comma_first_middle" }
phone = "CallerPhone"
location = "Address"
dob = { column = "DOB", format = "%m/%d/%Y" }
sex = "Sex""#,
    );
}

fn allocations_per_parser_call() {
    let count = |label: &str, f: &dyn Fn()| {
        let a0 = ALLOCS.load(std::sync::atomic::Ordering::Relaxed);
        let t = Instant::now();
        for _ in 0..100_000 {
            f();
        }
        let a = ALLOCS.load(std::sync::atomic::Ordering::Relaxed) - a0;
        println!(
            "{label}: {:.1} allocations, {:.0} ns per call",
            a as f64 / 1e5,
            t.elapsed().as_nanos() as f64 / 1e5
        );
    };
    use familiar_ingest::{address, names, values};
    use familiar_model::mapping::NameLayout;
    count("address 123 Main Street Apt 4", &|| {
        std::hint::black_box(address::normalize("123 Main Street Apt 4", None, None));
    });
    count("address Fifth Avenue / Main St", &|| {
        std::hint::black_box(address::normalize("Fifth Avenue / Main St", None, None));
    });
    count("name SMITH, JOHN A", &|| {
        std::hint::black_box(names::split_name(
            "SMITH, JOHN A",
            Some(NameLayout::LastCommaFirstMiddle),
        ));
    });
    count("name John A. Smith Jr.", &|| {
        std::hint::black_box(names::split_name(
            "John A. Smith Jr.",
            Some(NameLayout::FirstMiddleLast),
        ));
    });
    count("phone", &|| {
        std::hint::black_box(values::normalize_phone("(919) 555-0142"));
    });
}

/// A benchmark, not a test: `cargo run --release --example throughput -p familiar-ingest`.
fn main() {
    throughput_1m_rows();
    allocations_per_parser_call();
}
