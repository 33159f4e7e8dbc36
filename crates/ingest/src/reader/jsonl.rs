//! JSON lines: one JSON object per line.
//!
//! Each key is a column. Strings are taken as they are; numbers as their JSON text (`42`,
//! `3.5`); booleans as `true` / `false`; `null` as blank; arrays and objects as their compact
//! JSON text. A key repeated in one object keeps its first value. Blank lines are skipped and
//! not counted; a line that is not a JSON object is rejected (`invalid_json`), as is a line
//! with bytes invalid in the declared encoding (`invalid_encoding`). Row number = the 1-based
//! line.

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use encoding_rs::Encoding;
use familiar_model::raw::{json_pairs, json_value_text, RawLayout};

use super::{bad_byte_reason, decode_strict, is_blank, LineSource, OpenError, Row, Span, ABSENT};
use crate::error::{RejectKind, Rejection};

pub struct JsonlReader<R> {
    src: LineSource<R>,
    enc: &'static Encoding,
    file: Arc<Path>,
    line_no: u64,
    io_error: Option<io::Error>,
    names: Vec<String>,
    index: HashMap<String, u32>,
    line: Vec<u8>,
    raw_len: usize,
    text: String,
    spans: Vec<Span>,
    order: Vec<u32>,
    row_number: u64,
}

impl<R: BufRead> JsonlReader<R> {
    /// `known`: column names registered first, so their indexes are 0.. in this order.
    pub fn new(
        r: R,
        file: Arc<Path>,
        declared: &'static Encoding,
        known: &[String],
    ) -> Result<Self, OpenError> {
        let (src, enc) =
            LineSource::open(r, declared).map_err(|e| OpenError::Io(file.to_path_buf(), e))?;
        let mut me = JsonlReader {
            src,
            enc,
            file,
            line_no: 0,
            io_error: None,
            names: Vec::new(),
            index: HashMap::new(),
            line: Vec::new(),
            raw_len: 0,
            text: String::new(),
            spans: Vec::new(),
            order: Vec::new(),
            row_number: 0,
        };
        for k in known {
            me.intern(k);
        }
        Ok(me)
    }

    fn intern(&mut self, k: &str) -> u32 {
        if let Some(&i) = self.index.get(k) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(k.to_string());
        self.index.insert(k.to_string(), i);
        i
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How this file's rows' raw bytes (their lines) read back as column → value.
    pub fn raw_layout(&self) -> RawLayout {
        RawLayout::JsonObject {
            encoding: self.enc.name().to_string(),
        }
    }

    pub fn take_io_error(&mut self) -> Option<io::Error> {
        self.io_error.take()
    }

    pub fn into_inner(self) -> R {
        self.src.into_inner()
    }

    fn reject(&self, kind: RejectKind, reason: String) -> Rejection {
        Rejection {
            kind,
            field: None,
            column: None,
            reason,
            row_number: self.row_number,
            file: self.file.clone(),
            raw: self.line[..self.raw_len].to_vec(),
        }
    }

    pub fn next_row(&mut self) -> Option<Result<Row<'_>, Rejection>> {
        let info = loop {
            match self.src.next_line(&mut self.line) {
                Ok(Some(info)) => {
                    self.line_no += 1;
                    if self.line_no == 1 && self.line.starts_with(b"\xEF\xBB\xBF") {
                        self.line.drain(..3);
                        let cl = info.content_len - 3;
                        if is_blank(&self.line[..cl]) {
                            continue;
                        }
                        break super::LineInfo {
                            content_len: cl,
                            bad_encoding: info.bad_encoding,
                        };
                    }
                    if is_blank(&self.line[..info.content_len]) {
                        continue;
                    }
                    break info;
                }
                Ok(None) => return None,
                Err(e) => {
                    self.io_error = Some(e);
                    return None;
                }
            }
        };
        self.row_number = self.line_no;
        self.raw_len = info.content_len;
        if info.bad_encoding {
            return Some(Err(self.reject(
                RejectKind::InvalidEncoding,
                format!("line is not valid {}", self.enc.name()),
            )));
        }
        let content = &self.line[..info.content_len];
        let decoded = match decode_strict(self.enc, content) {
            Ok(d) => d,
            Err(off) => {
                let reason = bad_byte_reason(self.enc, content, off);
                return Some(Err(self.reject(RejectKind::InvalidEncoding, reason)));
            }
        };
        let pairs = match json_pairs(&decoded) {
            Ok(p) => p,
            Err(e) => {
                let reason = format!("not a JSON object: {e}");
                drop(decoded);
                return Some(Err(self.reject(RejectKind::InvalidJson, reason)));
            }
        };
        drop(decoded);
        self.text.clear();
        self.order.clear();
        self.spans.clear();
        self.spans.resize(self.names.len(), ABSENT);
        for (k, v) in pairs {
            let idx = self.intern(&k) as usize;
            if idx >= self.spans.len() {
                self.spans.resize(idx + 1, ABSENT);
            }
            if self.spans[idx] != ABSENT {
                continue; // repeated key: the first value wins
            }
            let start = self.text.len() as u32;
            json_value_text(v, &mut self.text);
            self.spans[idx] = (start, self.text.len() as u32);
            self.order.push(idx as u32);
        }
        Some(Ok(Row {
            file: &self.file,
            row_number: self.row_number,
            raw: &self.line[..self.raw_len],
            names: &self.names,
            spans: &self.spans,
            order: Some(&self.order),
            text: &self.text,
            datetime: &[],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_objects_and_rejects_the_rest() {
        let data =
            b"{\"id\": 1, \"name\": \"Ann\", \"tags\": [1,2], \"x\": null, \"ok\": true}\n\n\
not json\n[1,2]\n{\"id\": \"2\", \"name\": \"Jos\xFF\"}\n{\"name\": \"B\", \"id\": 3}\n";
        let mut r = JsonlReader::new(
            Cursor::new(data.to_vec()),
            Arc::from(Path::new("t.jsonl")),
            encoding_rs::UTF_8,
            &["id".to_string()],
        )
        .ok()
        .unwrap();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.row_number, 1);
        assert_eq!(row.value(0), Some("1"));
        assert_eq!(row.get("tags"), Some("[1,2]"));
        assert_eq!(row.get("x"), Some(""));
        let cols = |row: &Row| -> Vec<(String, String)> {
            row.columns()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let layout = RawLayout::JsonObject {
            encoding: "UTF-8".into(),
        };
        let want: Vec<(String, String)> = [
            ("id", "1"),
            ("name", "Ann"),
            ("tags", "[1,2]"),
            ("x", ""),
            ("ok", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(cols(&row), want);
        assert_eq!(layout.fields(row.raw).unwrap(), want, "raw bytes read back");
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!((e.row_number, e.kind), (3, RejectKind::InvalidJson));
        assert_eq!(e.raw, b"not json");
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!((e.row_number, e.kind), (4, RejectKind::InvalidJson));
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!((e.row_number, e.kind), (5, RejectKind::InvalidEncoding));
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.row_number, 6);
        assert_eq!(row.value(0), Some("3"));
        let want = vec![
            ("name".to_string(), "B".to_string()),
            ("id".into(), "3".into()),
        ];
        assert_eq!(cols(&row), want);
        assert_eq!(layout.fields(row.raw).unwrap(), want);
        assert!(r.next_row().is_none());
    }
}
