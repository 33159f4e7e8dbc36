//! JSON lines (one JSON object per line) and JSON arrays of objects (`format = "json"`, as
//! many open-data portals and APIs export them, pretty-printed or not).
//!
//! Each key is a column. Strings are taken as they are; numbers as their JSON text (`42`,
//! `3.5`); booleans as `true` / `false`; `null` as blank; arrays and objects as their compact
//! JSON text. A key repeated in one object keeps its first value. Blank lines are skipped and
//! not counted; a line that is not a JSON object is rejected (`invalid_json`), as is a line
//! with bytes invalid in the declared encoding (`invalid_encoding`). Row number = the 1-based
//! line (where the element starts, for an array).
//!
//! In an array each element is one row, its raw bytes the element's text as in the file (line
//! breaks included). An element that is not an object is rejected (`invalid_json`) and reading
//! goes on at the next; so is anything after the closing `]`, and an element the file ends
//! inside (a truncated export). A file whose first character is not `[` is refused at open.
//! An array is scanned in pieces of at most 64 KiB whatever its lines' length, so an export
//! that writes the whole array on one line is never held whole; one element is (a malformed
//! one — a quote that never closes on a one-line array — runs to the end of the line, and is
//! kept whole as one rejected row). UTF-16 files are decoded whole.

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use encoding_rs::Encoding;
use familiar_model::raw::{json_pairs, json_value_text, RawLayout};

use super::{bad_byte_reason, decode_strict, is_blank, LineSource, OpenError, Row, Span, ABSENT};
use crate::error::{RejectKind, Rejection};

/// How the objects are laid out in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    /// One object per line.
    Lines,
    /// One top-level array of objects.
    Array,
}

/// Where an array's scan stands.
#[derive(Default)]
struct ArrayScan {
    /// The current physical line (with its terminator) and the next byte in it.
    buf: Vec<u8>,
    pos: usize,
    /// The current line is not valid in its encoding (UTF-16 input only).
    bad_encoding: bool,
    /// The closing `]` was read.
    closed: bool,
    /// The file ended before `]`, and that was reported.
    truncation_reported: bool,
    /// An element was read and no comma has followed it yet.
    after_element: bool,
    /// `buf` holds the middle of a line (the line is longer than [`PIECE`]).
    mid_line: bool,
}

/// The most of one physical line an array's scan holds at a time: an export that writes the
/// whole array on one line is read in pieces, never held whole.
const PIECE: usize = if cfg!(test) { 7 } else { 64 * 1024 };

/// What [`JsonlReader::scan_byte`] found.
enum Scan {
    Byte(u8),
    BadLine,
    End,
}

/// One element of an array, collected into the reader's line buffer.
enum Element {
    /// Its text, to be read as an object.
    Text,
    /// Known bad before parsing.
    Bad(RejectKind, String),
}

pub struct JsonlReader<R> {
    src: LineSource<R>,
    layout: JsonLayout,
    scan: ArrayScan,
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
        Self::with_layout(r, file, declared, known, JsonLayout::Lines)
    }

    /// As [`JsonlReader::new`], for either layout; an array's opening `[` is read here.
    pub fn with_layout(
        r: R,
        file: Arc<Path>,
        declared: &'static Encoding,
        known: &[String],
        layout: JsonLayout,
    ) -> Result<Self, OpenError> {
        let (src, enc) =
            LineSource::open(r, declared).map_err(|e| OpenError::Io(file.to_path_buf(), e))?;
        let mut me = JsonlReader {
            src,
            layout,
            scan: ArrayScan::default(),
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
        if layout == JsonLayout::Array {
            me.open_array()?;
        }
        Ok(me)
    }

    /// Read up to the array's opening `[`; anything else first is a file-level error.
    fn open_array(&mut self) -> Result<(), OpenError> {
        let unreadable = |file: &Path, message: String| {
            OpenError::File(crate::error::FileError::Unreadable {
                file: file.to_path_buf(),
                message,
            })
        };
        match self.scan_byte() {
            Ok(Scan::Byte(b'[')) => {
                self.scan.pos += 1;
                Ok(())
            }
            Ok(Scan::BadLine) => Err(unreadable(
                &self.file,
                format!("line {}: not valid {}", self.line_no, self.enc.name()),
            )),
            Ok(Scan::Byte(b)) => Err(unreadable(
                &self.file,
                format!(
                    "line {}: expected a JSON array of objects (`[`), found {:?}; for one \
                     object per line use format = \"jsonl\"",
                    self.line_no,
                    char::from(b)
                ),
            )),
            Ok(Scan::End) => Err(OpenError::File(crate::error::FileError::Empty {
                file: self.file.to_path_buf(),
            })),
            Err(e) => Err(OpenError::Io(self.file.to_path_buf(), e)),
        }
    }

    /// The next byte of an array that is not white space (not consumed), reading lines as
    /// needed; None at the end of the file. A line that is not valid in its encoding (UTF-16
    /// input) is returned as [`Scan::BadLine`], unscanned.
    fn scan_byte(&mut self) -> io::Result<Scan> {
        loop {
            if self.scan.bad_encoding && self.scan.pos < self.scan.buf.len() {
                return Ok(Scan::BadLine);
            }
            while let Some(&b) = self.scan.buf.get(self.scan.pos) {
                if b.is_ascii_whitespace() {
                    self.scan.pos += 1;
                } else {
                    return Ok(Scan::Byte(b));
                }
            }
            if !self.next_scan_line()? {
                return Ok(Scan::End);
            }
        }
    }

    /// Load the next piece of the file (the rest of a physical line, at most [`PIECE`] bytes)
    /// into the scan buffer; false at the end.
    fn next_scan_line(&mut self) -> io::Result<bool> {
        match self.src.next_piece(&mut self.scan.buf, PIECE)? {
            None => Ok(false),
            Some((ends_line, info)) => {
                if !self.scan.mid_line {
                    self.line_no += 1;
                }
                self.scan.mid_line = !ends_line;
                self.scan.pos = 0;
                self.scan.bad_encoding = info.bad_encoding;
                Ok(true)
            }
        }
    }

    /// Take the rest of the current physical line into `line` (trimmed) and move past it.
    fn take_rest_of_line(&mut self) -> io::Result<()> {
        loop {
            let rest = &self.scan.buf[self.scan.pos..];
            self.line.extend_from_slice(rest);
            self.scan.pos = self.scan.buf.len();
            if !self.scan.mid_line || !self.next_scan_line()? {
                break;
            }
        }
        self.raw_len = trimmed_len(&self.line);
        Ok(())
    }

    /// Collect the next element of the array into `line[..raw_len]` (its bytes as in the
    /// file); None at the end.
    fn next_element(&mut self) -> io::Result<Option<Element>> {
        // skip separators
        loop {
            match self.scan_byte()? {
                Scan::End if self.scan.closed || self.scan.truncation_reported => return Ok(None),
                Scan::End => {
                    // the file ends before the array closes: say so once, as a row with no bytes
                    self.scan.truncation_reported = true;
                    self.row_number = self.line_no;
                    self.line.clear();
                    self.raw_len = 0;
                    return Ok(Some(Element::Bad(
                        RejectKind::InvalidJson,
                        "the array does not close (no `]`): the file looks cut short after \
                         this line"
                            .into(),
                    )));
                }
                Scan::Byte(b',') if !self.scan.closed => {
                    self.scan.pos += 1;
                    self.scan.after_element = false;
                }
                Scan::Byte(b']') if !self.scan.closed => {
                    self.scan.pos += 1;
                    self.scan.closed = true;
                }
                Scan::Byte(_) | Scan::BadLine => break,
            }
        }
        self.row_number = self.line_no;
        self.line.clear();
        // two elements with no comma between them: the file is not the array it claims to be
        // (objects pasted together, a line lost); the element is read whole and kept, rejected
        let missing_comma = std::mem::take(&mut self.scan.after_element);
        if self.scan.bad_encoding {
            self.take_rest_of_line()?;
            return Ok(Some(Element::Bad(
                RejectKind::InvalidEncoding,
                format!("line is not valid {}", self.enc.name()),
            )));
        }
        if self.scan.closed {
            self.take_rest_of_line()?;
            return Ok(Some(Element::Bad(
                RejectKind::InvalidJson,
                "content after the end of the JSON array".into(),
            )));
        }
        let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
        loop {
            let Some(&b) = self.scan.buf.get(self.scan.pos) else {
                if !self.next_scan_line()? {
                    self.raw_len = trimmed_len(&self.line);
                    self.scan.truncation_reported = true;
                    return Ok(Some(Element::Bad(
                        RejectKind::InvalidJson,
                        "the file ends inside this element".into(),
                    )));
                }
                if self.scan.bad_encoding {
                    self.take_rest_of_line()?;
                    return Ok(Some(Element::Bad(
                        RejectKind::InvalidEncoding,
                        format!("a line of this element is not valid {}", self.enc.name()),
                    )));
                }
                continue;
            };
            if in_string {
                if b == b'\n' || b == b'\r' {
                    // JSON strings hold no line breaks: the string was never closed. The
                    // element ends here and reading resumes on the next line, so one stray
                    // quote does not swallow the rest of the file.
                    self.raw_len = trimmed_len(&self.line);
                    return Ok(Some(Element::Bad(
                        RejectKind::InvalidJson,
                        "a string in this element does not close on its line".into(),
                    )));
                }
                self.line.push(b);
                self.scan.pos += 1;
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth > 0 => depth -= 1,
                // the end of a scalar element (not consumed: the loop above takes it)
                b',' | b']' if depth == 0 => break,
                _ => {}
            }
            self.line.push(b);
            self.scan.pos += 1;
            if depth == 0 && matches!(b, b'}' | b']') {
                break;
            }
        }
        self.raw_len = trimmed_len(&self.line);
        self.scan.after_element = true;
        if missing_comma {
            return Ok(Some(Element::Bad(
                RejectKind::InvalidJson,
                "no comma between this element and the one before it".into(),
            )));
        }
        Ok(Some(Element::Text))
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
        Rejection::whole_row(
            kind,
            reason,
            &self.file,
            self.row_number,
            &self.line[..self.raw_len],
        )
    }

    pub fn next_row(&mut self) -> Option<Result<Row<'_>, Rejection>> {
        if self.layout == JsonLayout::Array {
            match self.next_element() {
                Ok(None) => return None,
                Err(e) => {
                    self.io_error = Some(e);
                    return None;
                }
                Ok(Some(Element::Bad(kind, why))) => return Some(Err(self.reject(kind, why))),
                Ok(Some(Element::Text)) => {
                    return self.object_row(super::LineInfo {
                        content_len: self.raw_len,
                        bad_encoding: false,
                    })
                }
            }
        }
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
        self.object_row(info)
    }

    /// The row of the object in `line[..info.content_len]` (or its rejection).
    fn object_row(&mut self, info: super::LineInfo) -> Option<Result<Row<'_>, Rejection>> {
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

/// Length without trailing white space.
fn trimmed_len(b: &[u8]) -> usize {
    b.iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1)
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

    fn array(data: &[u8]) -> Result<JsonlReader<Cursor<Vec<u8>>>, OpenError> {
        JsonlReader::with_layout(
            Cursor::new(data.to_vec()),
            Arc::from(Path::new("t.json")),
            encoding_rs::UTF_8,
            &["id".to_string()],
            JsonLayout::Array,
        )
    }

    #[test]
    fn reads_an_array_of_objects_pretty_printed_or_not() {
        let data = b"\xEF\xBB\xBF[\n  {\n    \"id\": 1,\n    \"note\": \"a } and a ] in a \\\"string\\\"\",\n    \"tags\": [1, {\"x\": 2}]\n  },\n  7,\n  {\"id\": 2},{\"id\": 3}\n] trailing\n";
        let mut r = array(data).ok().unwrap();
        let layout = RawLayout::JsonObject {
            encoding: "UTF-8".into(),
        };
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.row_number, 2);
        assert_eq!(row.value(0), Some("1"));
        assert_eq!(row.get("note"), Some("a } and a ] in a \"string\""));
        assert_eq!(row.get("tags"), Some("[1,{\"x\":2}]"));
        assert!(row.raw.starts_with(b"{\n    \"id\": 1,") && row.raw.ends_with(b"}"));
        let fields = layout.fields(row.raw).unwrap();
        assert_eq!(fields[0], ("id".to_string(), "1".to_string()));
        // a scalar element is no row
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!(
            (e.row_number, e.kind, e.raw.as_slice()),
            (7, RejectKind::InvalidJson, &b"7"[..])
        );
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.row_number, row.value(0)), (8, Some("2")));
        assert_eq!(row.raw, b"{\"id\": 2}");
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.row_number, row.value(0)), (8, Some("3")));
        // what follows the closing bracket is kept as a rejected row
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!((e.row_number, e.raw.as_slice()), (9, &b"trailing"[..]));
        assert!(e.reason.contains("after the end"), "{}", e.reason);
        assert!(r.next_row().is_none());
    }

    /// A whole array on one line (as APIs write it) is read in pieces of at most `PIECE` bytes:
    /// every element is a row of line 1, the scan never holds the line, and what follows the
    /// closing bracket, however long, is one rejected row.
    #[test]
    fn a_one_line_array_is_read_in_bounded_pieces() {
        let n = 2000;
        let mut data = b"[".to_vec();
        for i in 0..n {
            if i > 0 {
                data.push(b',');
            }
            data.extend_from_slice(format!("{{\"id\":{i},\"note\":\"n{i}, [x]\"}}").as_bytes());
        }
        data.extend_from_slice(b"] and then a long tail that is not JSON at all");
        let mut r = array(&data).ok().unwrap();
        for i in 0..n {
            let row = r.next_row().unwrap().unwrap();
            let want = i.to_string();
            assert_eq!((row.row_number, row.value(0)), (1, Some(want.as_str())));
            assert_eq!(row.get("note"), Some(format!("n{i}, [x]").as_str()));
        }
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!(e.row_number, 1);
        assert_eq!(e.raw, b"and then a long tail that is not JSON at all");
        assert!(r.next_row().is_none());
        assert!(
            r.scan.buf.capacity() < 64,
            "the scan held {} bytes of a {}-byte line",
            r.scan.buf.capacity(),
            data.len()
        );
    }

    #[test]
    fn elements_without_a_comma_between_them_are_kept_and_rejected() {
        let data = b"[\n  {\"id\": 1}\n  {\"id\": 2},\n  {\"id\": 3} {\"id\": 4}, {\"id\": 5}\n]\n";
        let mut r = array(data).ok().unwrap();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.row_number, row.value(0)), (2, Some("1")));
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!(
            (e.row_number, e.kind, e.raw.as_slice()),
            (3, RejectKind::InvalidJson, &b"{\"id\": 2}"[..])
        );
        assert!(e.reason.contains("no comma"), "{}", e.reason);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.row_number, row.value(0)), (4, Some("3")));
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!(e.raw, b"{\"id\": 4}");
        // a comma again: reading goes on as before
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.value(0), Some("5"));
        assert!(r.next_row().is_none());
    }

    #[test]
    fn a_truncated_array_keeps_its_last_element_and_other_files_are_refused() {
        let mut r = array(b"[{\"id\": 1}, {\"id\": 2, \"name\": \"ANN")
            .ok()
            .unwrap();
        assert_eq!(r.next_row().unwrap().unwrap().value(0), Some("1"));
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!(e.kind, RejectKind::InvalidJson);
        assert_eq!(e.raw, b"{\"id\": 2, \"name\": \"ANN");
        assert!(e.reason.contains("ends inside"), "{}", e.reason);
        assert!(r.next_row().is_none());
        // an empty array holds no rows
        let mut r = array(b"[]").ok().unwrap();
        assert!(r.next_row().is_none());
        // a file cut between two elements says so once, after its last line
        let mut r = array(b"[\n  {\"id\": 1},\n  {\"id\": 2},\n").ok().unwrap();
        assert_eq!(r.next_row().unwrap().unwrap().value(0), Some("1"));
        assert_eq!(r.next_row().unwrap().unwrap().value(0), Some("2"));
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!(
            (e.row_number, e.kind, e.raw.len()),
            (3, RejectKind::InvalidJson, 0)
        );
        assert!(e.reason.contains("does not close"), "{}", e.reason);
        assert!(r.next_row().is_none());
        // a string left open ends its element at the line's end; the next lines still read
        let mut r = array(b"[\n {\"id\": \"oops},\n {\"id\": 2},\n {\"id\": 3}\n]\n")
            .ok()
            .unwrap();
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!(
            (e.row_number, e.raw.as_slice()),
            (2, &b"{\"id\": \"oops},"[..])
        );
        assert_eq!(r.next_row().unwrap().unwrap().value(0), Some("2"));
        assert_eq!(r.next_row().unwrap().unwrap().value(0), Some("3"));
        assert!(r.next_row().is_none());
        // JSON lines, or nothing at all, are not an array
        match array(b"\n{\"id\": 1}\n") {
            Err(OpenError::File(crate::error::FileError::Unreadable { message, .. })) => {
                assert!(
                    message.contains("line 2: expected a JSON array"),
                    "{message}"
                );
                assert!(message.contains("format = \"jsonl\""), "{message}");
            }
            _ => panic!("JSON lines must not open as an array"),
        }
        assert!(matches!(
            array(b"  \n"),
            Err(OpenError::File(crate::error::FileError::Empty { .. }))
        ));
    }

    proptest::proptest! {
        /// Any array of flat objects, compact or pretty-printed, reads back object by object,
        /// whatever brackets, braces, commas, quotes and line breaks the strings hold.
        #[test]
        fn arrays_read_back_their_objects(
            objects in proptest::collection::vec(
                proptest::collection::btree_map("[a-z]{1,6}", "[ -~\\n{}\\[\\],\"\\\\é]{0,12}", 1..5),
                0..6,
            ),
            pretty: bool,
        ) {
            let values: Vec<serde_json::Value> = objects
                .iter()
                .map(|m| serde_json::to_value(m).unwrap())
                .collect();
            let text = if pretty {
                serde_json::to_string_pretty(&values).unwrap()
            } else {
                serde_json::to_string(&values).unwrap()
            };
            let mut r = array(text.as_bytes()).ok().unwrap();
            for m in &objects {
                let row = r.next_row().unwrap().unwrap();
                for (k, v) in m {
                    proptest::prop_assert_eq!(row.get(k), Some(v.as_str()));
                }
            }
            proptest::prop_assert!(r.next_row().is_none());
        }
    }

    #[test]
    fn a_utf16_line_that_does_not_decode_is_one_rejected_row() {
        let utf16 =
            |t: &str| -> Vec<u8> { t.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
        let mut data = vec![0xFF, 0xFE];
        data.extend(utf16("[\n{\"id\": 1},\n{\"id\": \""));
        data.extend([0x00, 0xD8]); // an unpaired surrogate
        data.extend(utf16("\"},\n{\"id\": 3}\n]\n"));
        let mut r = JsonlReader::with_layout(
            Cursor::new(data),
            Arc::from(Path::new("t.json")),
            encoding_rs::UTF_8,
            &["id".to_string()],
            JsonLayout::Array,
        )
        .ok()
        .unwrap();
        assert_eq!(r.next_row().unwrap().unwrap().value(0), Some("1"));
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!((e.row_number, e.kind), (3, RejectKind::InvalidEncoding));
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.row_number, row.value(0)), (4, Some("3")));
        assert!(r.next_row().is_none());
    }
}
