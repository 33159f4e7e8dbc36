//! A small delimited-text writer: exact control of bytes (encoding, quoting, deliberately broken
//! lines) and the physical line number of every row. No field ever contains a line break, so one
//! row is one line.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    Utf8,
    /// Windows-1252; only the Latin-1 range (U+00A0..U+00FF) is used beyond ASCII.
    Windows1252,
}

/// How to break a row on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corrupt {
    None,
    /// Field `i` opens a `"` that never closes on this line.
    OpenQuote(usize),
    /// A 0xFF byte (invalid UTF-8) inside field `i`.
    BadByte(usize),
}

pub struct CsvWriter {
    out: BufWriter<File>,
    delim: u8,
    enc: Enc,
    eol: &'static [u8],
    /// Physical lines written so far (header included).
    line: u64,
    last: Vec<u8>,
    buf: Vec<u8>,
    /// Data rows written (good and bad).
    pub rows: u64,
}

impl CsvWriter {
    pub fn create(
        path: &Path,
        delim: u8,
        enc: Enc,
        crlf: bool,
        header: &[&str],
    ) -> io::Result<Self> {
        let mut w = CsvWriter {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
            delim,
            enc,
            eol: if crlf { b"\r\n" } else { b"\n" },
            line: 0,
            last: Vec::new(),
            buf: Vec::with_capacity(512),
            rows: 0,
        };
        w.buf.clear();
        for (i, h) in header.iter().enumerate() {
            if i > 0 {
                w.buf.push(delim);
            }
            let mut b = std::mem::take(&mut w.buf);
            w.field(&mut b, h);
            w.buf = b;
        }
        w.out.write_all(&w.buf)?;
        w.out.write_all(w.eol)?;
        w.line = 1;
        Ok(w)
    }

    fn encode(&self, out: &mut Vec<u8>, s: &str) {
        match self.enc {
            Enc::Utf8 => out.extend_from_slice(s.as_bytes()),
            Enc::Windows1252 => {
                for c in s.chars() {
                    let u = c as u32;
                    out.push(if u < 0x80 || (0xA0..=0xFF).contains(&u) {
                        u as u8
                    } else {
                        b'?'
                    });
                }
            }
        }
    }

    fn field(&self, out: &mut Vec<u8>, s: &str) {
        let needs_quotes = s
            .bytes()
            .any(|b| b == self.delim || b == b'"' || b == b'\n' || b == b'\r');
        if needs_quotes {
            out.push(b'"');
            for part in s.split('"').enumerate() {
                if part.0 > 0 {
                    out.extend_from_slice(b"\"\"");
                }
                self.encode(out, part.1);
            }
            out.push(b'"');
        } else {
            self.encode(out, s);
        }
    }

    /// Write one data row; returns its 1-based physical line number.
    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> io::Result<u64> {
        self.row_corrupt(fields, Corrupt::None)
    }

    pub fn row_corrupt<S: AsRef<str>>(
        &mut self,
        fields: &[S],
        corrupt: Corrupt,
    ) -> io::Result<u64> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                b.push(self.delim);
            }
            let f = f.as_ref();
            match corrupt {
                Corrupt::OpenQuote(k) if k == i => {
                    b.push(b'"');
                    self.encode(&mut b, &f.replace('"', ""));
                }
                Corrupt::BadByte(k) if k == i => {
                    let start = b.len();
                    self.field(&mut b, f);
                    let at = if b.get(start) == Some(&b'"') {
                        start + 2
                    } else {
                        start + 1
                    };
                    b.insert(at.min(b.len()), 0xFF);
                }
                _ => self.field(&mut b, f),
            }
        }
        self.out.write_all(&b)?;
        self.out.write_all(self.eol)?;
        self.line += 1;
        self.rows += 1;
        if corrupt == Corrupt::None {
            std::mem::swap(&mut self.last, &mut b);
        }
        self.buf = b;
        Ok(self.line)
    }

    /// Write the previous good row again, byte for byte.
    pub fn duplicate(&mut self) -> io::Result<u64> {
        self.out.write_all(&self.last)?;
        self.out.write_all(self.eol)?;
        self.line += 1;
        self.rows += 1;
        Ok(self.line)
    }

    pub fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_encoding_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let mut w = CsvWriter::create(&p, b'|', Enc::Windows1252, true, &["A", "B"]).unwrap();
        assert_eq!(w.row(&["Peña", "x|y"]).unwrap(), 2);
        assert_eq!(w.duplicate().unwrap(), 3);
        assert_eq!(
            w.row_corrupt(&["JOSÉ", "b"], Corrupt::OpenQuote(0))
                .unwrap(),
            4
        );
        w.finish().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        assert_eq!(lines[1], b"Pe\xF1a|\"x|y\"\r");
        assert_eq!(lines[2], lines[1]);
        assert_eq!(lines[3], b"\"JOS\xC9|b\r");

        let p = dir.path().join("y.csv");
        let mut w = CsvWriter::create(&p, b',', Enc::Utf8, false, &["A"]).unwrap();
        w.row_corrupt(&["SMITH, JOHN"], Corrupt::BadByte(0))
            .unwrap();
        w.finish().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert!(std::str::from_utf8(&bytes).is_err());
        assert!(bytes.ends_with(b"\"S\xFFMITH, JOHN\"\n"));
    }
}
