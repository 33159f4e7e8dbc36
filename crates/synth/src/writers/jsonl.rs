//! JSON-lines writer with physical line numbers and deliberate breakage.

use serde::Serialize;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub struct JsonlWriter {
    out: BufWriter<File>,
    line: u64,
    last: Vec<u8>,
    buf: Vec<u8>,
    pub rows: u64,
}

impl JsonlWriter {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(JsonlWriter {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
            line: 0,
            last: Vec::new(),
            buf: Vec::with_capacity(512),
            rows: 0,
        })
    }

    fn emit(&mut self, good: bool) -> io::Result<u64> {
        self.out.write_all(&self.buf)?;
        self.out.write_all(b"\n")?;
        self.line += 1;
        self.rows += 1;
        if good {
            std::mem::swap(&mut self.last, &mut self.buf);
        }
        Ok(self.line)
    }

    /// Write one object; returns its 1-based line number.
    pub fn row<T: Serialize>(&mut self, v: &T) -> io::Result<u64> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, v)?;
        self.emit(true)
    }

    /// The object with a 0xFF byte inserted right after the opening quote of `key`'s value plus
    /// one character.
    pub fn row_bad_byte<T: Serialize>(&mut self, v: &T, key: &str) -> io::Result<u64> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, v)?;
        let pat = format!("\"{key}\":\"");
        let at = find(&self.buf, pat.as_bytes()).map_or(1, |i| i + pat.len() + 1);
        self.buf.insert(at.min(self.buf.len()), 0xFF);
        self.emit(false)
    }

    /// The object cut off part-way (never valid JSON).
    pub fn row_truncated<T: Serialize>(&mut self, v: &T, cut: f64) -> io::Result<u64> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, v)?;
        let n = self.buf.len();
        let keep = ((n as f64 * cut) as usize).clamp(1, n - 2);
        self.buf.truncate(keep);
        self.emit(false)
    }

    pub fn duplicate(&mut self) -> io::Result<u64> {
        self.out.write_all(&self.last)?;
        self.out.write_all(b"\n")?;
        self.line += 1;
        self.rows += 1;
        Ok(self.line)
    }

    pub fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.rows)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
