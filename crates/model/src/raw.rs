//! A source row as kept: its bytes exactly as read, and, once per file, the [`RawLayout`] that
//! reads those bytes back as column → value.
//!
//! Ingest stores each row's bytes (`source_records.raw`) and each file's layout
//! (`source_files.layout`) instead of a column → value object per row: the names are written
//! once per file, and the bytes are the lineage itself. A row's content hash, which tells a
//! duplicate from a new version, is the SHA-256 of these bytes ([`content_hash`]), so it is
//! never stored beside them. [`RawLayout::fields`] is the one way back to named values; the readers in
//! `familiar-ingest` split and render values with the same functions ([`split_delimited`],
//! [`json_pairs`], [`json_value_text`]), so a stored row reads back exactly as it was mapped.
//!
//! What "the bytes as read" are, by format:
//! - delimited text (CSV, TSV, pipe...): the record's physical lines in the file's encoding,
//!   inner line breaks kept, the last line's terminator dropped. UTF-16 files are the exception:
//!   their lines are transcoded to UTF-8 as they are read, and the layout says UTF-8.
//! - JSON lines: the line, without its terminator; a JSON array: the element's text, its inner
//!   line breaks kept.
//! - fixed-width text: the line, without its terminator ([`split_fixed`] cuts it back).
//! - workbooks (XLSX...) and Parquet: the row's values as text, joined as one comma-separated
//!   record ([`write_csv_record`]) in UTF-8; the file has no bytes of its own per row.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A row's content hash: the SHA-256 of its bytes as read. Byte-identical rows hash alike; a
/// row whose key is stored with the same hash is a duplicate.
pub fn content_hash(raw: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(raw).into()
}

/// A value's place in a buffer: `(start, end)` byte offsets.
pub type Span = (u32, u32);

/// How one file's stored rows read back as column → value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum RawLayout {
    /// One delimited record per row (RFC 4180 quoting, see [`split_delimited`]) whose fields
    /// are the `header`'s columns in order.
    Delimited {
        /// The delimiter byte (`b','`, `b'|'`, `b'\t'`...).
        delimiter: u8,
        /// The WHATWG name of the encoding the bytes are in (`UTF-8`, `windows-1252`...).
        encoding: String,
        /// Column names, as the file's header gave them (trimmed).
        header: Vec<String>,
    },
    /// One JSON object per row; its keys are its columns, in the object's order.
    JsonObject {
        /// The WHATWG name of the encoding the bytes are in.
        encoding: String,
    },
    /// One line per row, cut into the `header`'s columns by `widths` (characters; see
    /// [`split_fixed`]).
    Fixed {
        /// The WHATWG name of the encoding the bytes are in.
        encoding: String,
        widths: Vec<u32>,
        header: Vec<String>,
    },
}

/// Why stored bytes could not be read back with their layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawError {
    #[error("unknown encoding {0:?}")]
    UnknownEncoding(String),
    #[error("the bytes are not valid {0}")]
    Encoding(String),
    #[error("a quoted field does not close")]
    UnclosedQuote,
    #[error("{found} fields for a header of {expected}")]
    FieldCount { expected: usize, found: usize },
    #[error("not a JSON object: {0}")]
    Json(String),
    #[error("{0}")]
    Fixed(String),
}

impl RawLayout {
    /// Rows stored as their values joined into one comma-separated UTF-8 record
    /// ([`write_csv_record`]): how readers of typed files (XLSX, Parquet), which have no bytes
    /// of their own per row, store them.
    pub fn csv_record(header: Vec<String>) -> RawLayout {
        RawLayout::Delimited {
            delimiter: b',',
            encoding: "UTF-8".into(),
            header,
        }
    }

    /// The row's `(column, value)` pairs, in the row's own order (header order for delimited
    /// rows), exactly as the reader saw them (values untrimmed).
    pub fn fields(&self, raw: &[u8]) -> Result<Vec<(String, String)>, RawError> {
        match self {
            RawLayout::Delimited {
                delimiter,
                encoding,
                header,
            } => {
                let enc = encoding_for(encoding)?;
                let mut buf = Vec::with_capacity(raw.len());
                let mut spans = Vec::with_capacity(header.len());
                if !split_delimited(raw, *delimiter, &mut buf, &mut spans) {
                    return Err(RawError::UnclosedQuote);
                }
                if spans.len() != header.len() {
                    return Err(RawError::FieldCount {
                        expected: header.len(),
                        found: spans.len(),
                    });
                }
                header
                    .iter()
                    .zip(&spans)
                    .map(|(name, &(s, e))| {
                        let bytes = &buf[s as usize..e as usize];
                        let (text, bad) = enc.decode_without_bom_handling(bytes);
                        if bad {
                            return Err(RawError::Encoding(enc.name().to_string()));
                        }
                        Ok((name.clone(), text.into_owned()))
                    })
                    .collect()
            }
            RawLayout::JsonObject { encoding } => {
                let enc = encoding_for(encoding)?;
                let (text, bad) = enc.decode_without_bom_handling(raw);
                if bad {
                    return Err(RawError::Encoding(enc.name().to_string()));
                }
                let pairs = json_pairs(&text).map_err(|e| RawError::Json(e.to_string()))?;
                let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        continue; // a repeated key: the first value wins, as in the reader
                    }
                    let mut s = String::new();
                    json_value_text(v, &mut s);
                    out.push((k, s));
                }
                Ok(out)
            }
            RawLayout::Fixed {
                encoding,
                widths,
                header,
            } => {
                let enc = encoding_for(encoding)?;
                let (text, bad) = enc.decode_without_bom_handling(raw);
                if bad {
                    return Err(RawError::Encoding(enc.name().to_string()));
                }
                let mut spans = Vec::with_capacity(widths.len());
                split_fixed(&text, widths, &mut spans).map_err(RawError::Fixed)?;
                Ok(header
                    .iter()
                    .zip(&spans)
                    .map(|(name, &(s, e))| (name.clone(), text[s as usize..e as usize].to_string()))
                    .collect())
            }
        }
    }
}

/// Cut one fixed-width line into `widths.len()` spans (byte offsets into `line`), counting
/// characters. A short line leaves its last columns empty; a line with anything but white
/// space past the last column is an error (the reason, for a rejection).
pub fn split_fixed(line: &str, widths: &[u32], spans: &mut Vec<Span>) -> Result<(), String> {
    spans.clear();
    let mut chars = line.char_indices();
    let mut at = 0usize;
    for &w in widths {
        let start = at;
        for _ in 0..w {
            match chars.next() {
                Some((i, c)) => at = i + c.len_utf8(),
                None => break,
            }
        }
        spans.push((start as u32, at as u32));
    }
    let rest = &line[at..];
    if !rest.trim().is_empty() {
        let covered: u64 = widths.iter().map(|&w| u64::from(w)).sum();
        return Err(format!(
            "the line has {} characters; the layout's widths cover {covered}",
            line.chars().count()
        ));
    }
    Ok(())
}

fn encoding_for(label: &str) -> Result<&'static encoding_rs::Encoding, RawError> {
    encoding_rs::Encoding::for_label(label.as_bytes())
        .ok_or_else(|| RawError::UnknownEncoding(label.to_string()))
}

/// Split one delimited record into unescaped fields (bytes into `buf`, spans into `spans`).
/// Returns false when the record ends inside a quoted field.
///
/// A field that *starts* with `"` is quoted: `""` inside it is one quote, and it may hold
/// delimiters and line breaks; text between its closing quote and the next delimiter is kept.
/// A `"` anywhere else is an ordinary character. A trailing delimiter makes one more, empty
/// field.
pub fn split_delimited(rec: &[u8], delim: u8, buf: &mut Vec<u8>, spans: &mut Vec<Span>) -> bool {
    buf.clear();
    spans.clear();
    let n = rec.len();
    let mut i = 0;
    loop {
        let start = buf.len() as u32;
        if i < n && rec[i] == b'"' {
            // Quoted field.
            i += 1;
            let mut closed = false;
            while i < n {
                let c = rec[i];
                if c == b'"' {
                    if i + 1 < n && rec[i + 1] == b'"' {
                        buf.push(b'"');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    closed = true;
                    break;
                }
                buf.push(c);
                i += 1;
            }
            if !closed {
                spans.push((start, buf.len() as u32));
                return false;
            }
            // Anything between the closing quote and the delimiter is kept as text.
            while i < n && rec[i] != delim {
                buf.push(rec[i]);
                i += 1;
            }
        } else {
            let rest = &rec[i..];
            let len = memchr::memchr(delim, rest).unwrap_or(rest.len());
            buf.extend_from_slice(&rest[..len]);
            i += len;
        }
        spans.push((start, buf.len() as u32));
        if i >= n {
            return true;
        }
        // rec[i] is the delimiter.
        i += 1;
        if i == n {
            // Trailing delimiter: one more, empty field.
            let s = buf.len() as u32;
            spans.push((s, s));
            return true;
        }
    }
}

/// Append `field` to a delimited record being built (the caller writes the delimiters):
/// quoted when it holds the delimiter, a quote or a line break, so [`split_delimited`] gives
/// it back unchanged.
pub fn write_delimited_field(out: &mut Vec<u8>, field: &str, delim: u8) {
    let b = field.as_bytes();
    if !b
        .iter()
        .any(|&c| c == delim || c == b'"' || c == b'\n' || c == b'\r')
    {
        out.extend_from_slice(b);
        return;
    }
    out.push(b'"');
    for &c in b {
        if c == b'"' {
            out.push(b'"');
        }
        out.push(c);
    }
    out.push(b'"');
}

/// `fields` as one comma-separated record in `out` (cleared first), read back by
/// [`RawLayout::csv_record`].
pub fn write_csv_record<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = &'a str>) {
    out.clear();
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_delimited_field(out, f, b',');
    }
}

/// The `(key, value)` pairs of one JSON object, in the object's order, repeats included.
pub fn json_pairs(text: &str) -> Result<Vec<(String, Value)>, serde_json::Error> {
    serde_json::from_str::<Pairs>(text).map(|p| p.0)
}

/// A JSON value as column text: strings as they are, numbers as their JSON text (`42`,
/// `3.5`), booleans `true` / `false`, `null` blank, arrays and objects as compact JSON.
pub fn json_value_text(v: Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(&s),
        Value::Null => {}
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        other => out.push_str(&other.to_string()),
    }
}

struct Pairs(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Pairs, A::Error> {
                let mut v = Vec::with_capacity(m.size_hint().unwrap_or(8));
                while let Some((k, val)) = m.next_entry::<String, Value>()? {
                    v.push((k, val));
                }
                Ok(Pairs(v))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delimited(delimiter: u8, encoding: &str, header: &[&str]) -> RawLayout {
        RawLayout::Delimited {
            delimiter,
            encoding: encoding.into(),
            header: header.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn split_basics() {
        let mut b = vec![];
        let mut s = vec![];
        assert!(split_delimited(
            b"a,\"b,c\",\"d\"\"e\",",
            b',',
            &mut b,
            &mut s
        ));
        let f: Vec<&[u8]> = s.iter().map(|&(x, y)| &b[x as usize..y as usize]).collect();
        assert_eq!(f, vec![&b"a"[..], b"b,c", b"d\"e", b""]);
        assert!(!split_delimited(b"a,\"b", b',', &mut b, &mut s));
        assert!(split_delimited(b"", b',', &mut b, &mut s));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn delimited_rows_read_back_by_name() {
        let l = delimited(b'|', "windows-1252", &["id", "name", "note"]);
        assert_eq!(
            l.fields(b"7|\"Pe\xF1a, Jos\xE9\"|two\r\nlines").unwrap(),
            pairs(&[
                ("id", "7"),
                ("name", "Peña, José"),
                ("note", "two\r\nlines")
            ])
        );
        assert_eq!(
            l.fields(b"7|x").unwrap_err(),
            RawError::FieldCount {
                expected: 3,
                found: 2
            }
        );
        assert_eq!(l.fields(b"7|\"x|y").unwrap_err(), RawError::UnclosedQuote);
        let u = delimited(b',', "UTF-8", &["a"]);
        assert!(matches!(u.fields(b"\xFF"), Err(RawError::Encoding(_))));
        let bad = delimited(b',', "klingon", &["a"]);
        assert!(matches!(
            bad.fields(b"x"),
            Err(RawError::UnknownEncoding(_))
        ));
    }

    #[test]
    fn json_rows_read_back_in_order_first_key_wins() {
        let l = RawLayout::JsonObject {
            encoding: "UTF-8".into(),
        };
        assert_eq!(
            l.fields(br#"{"b": 3.5, "a": null, "t": [1, 2], "ok": true, "b": "again"}"#)
                .unwrap(),
            pairs(&[("b", "3.5"), ("a", ""), ("t", "[1,2]"), ("ok", "true")])
        );
        assert!(matches!(l.fields(b"[1]"), Err(RawError::Json(_))));
    }

    #[test]
    fn layouts_serialize_with_a_format_tag() {
        let l = delimited(b',', "UTF-8", &["a", "b"]);
        let j = serde_json::to_string(&l).unwrap();
        assert_eq!(
            j,
            r#"{"format":"delimited","delimiter":44,"encoding":"UTF-8","header":["a","b"]}"#
        );
        assert_eq!(serde_json::from_str::<RawLayout>(&j).unwrap(), l);
    }

    proptest::proptest! {
        /// Whatever the values, a record written with `write_delimited_field` splits back into
        /// the same values.
        #[test]
        fn written_fields_split_back(
            values in proptest::collection::vec("[a-z,|\"\r\n ]{0,6}|\\PC{0,6}", 1..6),
            pipe in proptest::bool::ANY,
        ) {
            let delim = if pipe { b'|' } else { b',' };
            let mut rec = Vec::new();
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    rec.push(delim);
                }
                write_delimited_field(&mut rec, v, delim);
            }
            let mut buf = Vec::new();
            let mut spans = Vec::new();
            proptest::prop_assert!(split_delimited(&rec, delim, &mut buf, &mut spans));
            let back: Vec<String> = spans
                .iter()
                .map(|&(s, e)| String::from_utf8(buf[s as usize..e as usize].to_vec()).unwrap())
                .collect();
            proptest::prop_assert_eq!(back, values);
        }

        /// Values padded to their widths (in characters, whatever the script) and laid end to
        /// end cut back into the same padded values; dropping the last column's padding only
        /// shortens the last value; anything past the layout is refused.
        #[test]
        fn fixed_width_lines_cut_back(
            values in proptest::collection::vec("\\PC{0,5}", 1..6),
            extra in 0u32..3,
        ) {
            let widths: Vec<u32> = values
                .iter()
                .map(|v| v.chars().count() as u32 + extra)
                .collect();
            let padded: Vec<String> = values
                .iter()
                .zip(&widths)
                .map(|(v, &w)| format!("{v:<w$}", w = w as usize))
                .collect();
            let line = padded.concat();
            let mut spans = Vec::new();
            proptest::prop_assert!(split_fixed(&line, &widths, &mut spans).is_ok());
            let back: Vec<&str> = spans.iter().map(|&(s, e)| &line[s as usize..e as usize]).collect();
            proptest::prop_assert_eq!(&back, &padded);
            let short = line.trim_end_matches(' ');
            proptest::prop_assert!(split_fixed(short, &widths, &mut spans).is_ok());
            let last = &short[spans[spans.len() - 1].0 as usize..];
            proptest::prop_assert!(padded[padded.len() - 1].starts_with(last));
            let long = format!("{line}X");
            proptest::prop_assert!(split_fixed(&long, &widths, &mut spans).is_err());
        }
    }
}
