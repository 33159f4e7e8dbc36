//! Delimited text (CSV, TSV, pipe-delimited...) in any ASCII-compatible encoding or UTF-16.
//!
//! - The first non-blank line is the header (or the line `header_row` names, the lines above
//!   it skipped; or none, when `columns` names the columns); its names are trimmed. A UTF-8 /
//!   UTF-16 BOM is removed and overrides the declared encoding.
//! - Fields follow RFC 4180: a field that *starts* with `"` is quoted, `""` inside it is one
//!   quote, and it may contain delimiters and line breaks. A `"` elsewhere is an ordinary
//!   character.
//! - **Unbalanced quotes.** A physical line whose quotes do not balance (an odd number of `"`, or
//!   a quoted field left open) is joined with the following lines only if that closes the quote
//!   within [`MAX_JOIN_LINES`] lines *and* yields exactly the header's field count. Otherwise
//!   that one line is rejected (`unbalanced_quote`) and reading resumes at the next line, so one
//!   stray quote never swallows the rows after it.
//! - A balanced row with another field count is rejected (`field_count`).
//! - Each row's bytes are decoded in the declared encoding without replacement: bytes invalid
//!   in it reject the row (`invalid_encoding`), naming the column.
//! - Row number = the 1-based physical line where the row starts (header = line 1 when the
//!   file has no leading blank lines). Blank lines are skipped and not counted. `\r\n` and
//!   `\n` line ends are both fine.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use encoding_rs::Encoding;

use familiar_model::raw::{split_delimited, RawLayout};

use super::{
    bad_byte_reason, decode_strict, is_blank, HeaderSpec, LineSource, OpenError, Row, Span,
};
use crate::error::{FileError, RejectKind, Rejection};

/// How many physical lines one record may span when its quotes are being balanced.
pub const MAX_JOIN_LINES: usize = 5;

struct Line {
    buf: Vec<u8>,
    content_len: usize,
    number: u64,
    bad_encoding: bool,
}

impl Line {
    fn content(&self) -> &[u8] {
        &self.buf[..self.content_len]
    }
}

pub struct CsvReader<R> {
    src: LineSource<R>,
    enc: &'static Encoding,
    delim: u8,
    file: Arc<Path>,
    line_no: u64,
    eof: bool,
    io_error: Option<io::Error>,
    pending: VecDeque<Line>,
    pool: Vec<Vec<u8>>,
    header: Vec<String>,
    // Per-row buffers.
    raw: Vec<u8>,
    fieldbuf: Vec<u8>,
    fspans: Vec<Span>,
    text: String,
    spans: Vec<Span>,
    /// True when the row's text is `fieldbuf` (ASCII / valid UTF-8) rather than `text`.
    text_is_fieldbuf: bool,
    row_number: u64,
}

enum Assembled {
    /// `lines` physical lines form one record with `fields` fields (in fieldbuf/fspans).
    Record {
        lines: usize,
    },
    Unbalanced,
    Eof,
    BadEncoding,
}

impl<R: BufRead> CsvReader<R> {
    /// Open a reader and read the header.
    pub fn new(
        r: R,
        file: Arc<Path>,
        delim: u8,
        declared: &'static Encoding,
        header: &HeaderSpec,
    ) -> Result<Self, OpenError> {
        let (src, enc) =
            LineSource::open(r, declared).map_err(|e| OpenError::Io(file.to_path_buf(), e))?;
        let mut me = CsvReader {
            src,
            enc,
            delim,
            file,
            line_no: 0,
            eof: false,
            io_error: None,
            pending: VecDeque::new(),
            pool: Vec::new(),
            header: Vec::new(),
            raw: Vec::new(),
            fieldbuf: Vec::new(),
            fspans: Vec::new(),
            text: String::new(),
            spans: Vec::new(),
            text_is_fieldbuf: true,
            row_number: 0,
        };
        me.read_header(header)?;
        Ok(me)
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The encoding rows are decoded with (after BOM detection).
    pub fn encoding(&self) -> &'static Encoding {
        self.enc
    }

    /// How this file's rows' raw bytes read back as column → value.
    pub fn raw_layout(&self) -> RawLayout {
        RawLayout::Delimited {
            delimiter: self.delim,
            encoding: self.enc.name().to_string(),
            header: self.header.clone(),
        }
    }

    pub fn take_io_error(&mut self) -> Option<io::Error> {
        self.io_error.take()
    }

    /// The underlying reader (positioned after the last line read; at the end for UTF-16
    /// input, which is read whole up front).
    pub fn into_inner(self) -> R {
        self.src.into_inner()
    }

    fn read_header(&mut self, spec: &HeaderSpec) -> Result<(), OpenError> {
        let unreadable = |file: &Path, message: String| {
            OpenError::File(FileError::Unreadable {
                file: file.to_path_buf(),
                message,
            })
        };
        loop {
            if !self.ensure_pending(1) {
                if let Some(e) = self.io_error.take() {
                    return Err(OpenError::Io(self.file.to_path_buf(), e));
                }
                return match spec {
                    // a file without a header line may hold no rows at all
                    HeaderSpec::Given(names) if self.line_no == 0 => {
                        self.header = names.iter().map(|n| n.trim().to_string()).collect();
                        Ok(())
                    }
                    HeaderSpec::AtRow(n) if self.line_no > 0 => Err(unreadable(
                        &self.file,
                        format!("header_row = {n}, but the file has {} lines", self.line_no),
                    )),
                    _ => Err(OpenError::File(FileError::Empty {
                        file: self.file.to_path_buf(),
                    })),
                };
            }
            let first = &mut self.pending[0];
            if first.number == 1 && first.buf.starts_with(b"\xEF\xBB\xBF") {
                first.buf.drain(..3);
                first.content_len -= 3;
            }
            match spec {
                HeaderSpec::Given(names) => {
                    self.header = names.iter().map(|n| n.trim().to_string()).collect();
                    return Ok(());
                }
                HeaderSpec::AtRow(n) if self.pending[0].number < *n => {
                    self.drop_lines(1);
                    continue;
                }
                HeaderSpec::AtRow(n) if is_blank(self.pending[0].content()) => {
                    return Err(unreadable(
                        &self.file,
                        format!("header_row = {n}, but line {n} is blank"),
                    ));
                }
                _ if is_blank(self.pending[0].content()) => {
                    self.drop_lines(1);
                    continue;
                }
                _ => break,
            }
        }
        let line = self.pending[0].number;
        match self.assemble(None) {
            Assembled::Record { lines } => {
                self.take_raw(lines);
                let text = match decode_strict(self.enc, &self.fieldbuf) {
                    Ok(t) => t.into_owned(),
                    Err(off) => {
                        return Err(unreadable(
                            &self.file,
                            format!(
                                "header (line {line}): {}",
                                bad_byte_reason(self.enc, &self.fieldbuf, off)
                            ),
                        ))
                    }
                };
                // Spans index fieldbuf bytes; re-split the decoded text on the same boundaries
                // by decoding each field separately.
                let mut names = Vec::with_capacity(self.fspans.len());
                if self.enc == encoding_rs::UTF_8 || self.fieldbuf.is_ascii() {
                    for &(s, e) in &self.fspans {
                        names.push(text[s as usize..e as usize].trim().to_string());
                    }
                } else {
                    for &(s, e) in &self.fspans {
                        let f = &self.fieldbuf[s as usize..e as usize];
                        let d = decode_strict(self.enc, f).map_err(|_| {
                            unreadable(&self.file, format!("header (line {line}) is not valid"))
                        })?;
                        names.push(d.trim().to_string());
                    }
                }
                self.header = names;
                Ok(())
            }
            Assembled::Unbalanced => Err(unreadable(
                &self.file,
                format!("header (line {line}) has an unbalanced quote"),
            )),
            Assembled::BadEncoding => Err(unreadable(
                &self.file,
                format!("header (line {line}) is not valid {}", self.enc.name()),
            )),
            Assembled::Eof => Err(OpenError::File(FileError::Empty {
                file: self.file.to_path_buf(),
            })),
        }
    }

    /// Make sure `n` lines are pending; false if the input ends (or fails) first.
    fn ensure_pending(&mut self, n: usize) -> bool {
        while self.pending.len() < n {
            if self.eof {
                return false;
            }
            let mut buf = self.pool.pop().unwrap_or_default();
            match self.src.next_line(&mut buf) {
                Ok(Some(info)) => {
                    self.line_no += 1;
                    self.pending.push_back(Line {
                        buf,
                        content_len: info.content_len,
                        number: self.line_no,
                        bad_encoding: info.bad_encoding,
                    });
                }
                Ok(None) => {
                    self.eof = true;
                    self.pool.push(buf);
                    return false;
                }
                Err(e) => {
                    self.eof = true;
                    self.io_error = Some(e);
                    self.pool.push(buf);
                    return false;
                }
            }
        }
        true
    }

    fn drop_lines(&mut self, n: usize) {
        for _ in 0..n {
            if let Some(l) = self.pending.pop_front() {
                self.pool.push(l.buf);
            }
        }
    }

    /// Copy the raw bytes of the first `lines` pending lines into `raw` (inner line breaks
    /// kept, the last one's terminator dropped) and consume them.
    fn take_raw(&mut self, lines: usize) {
        self.raw.clear();
        for i in 0..lines {
            let l = &self.pending[i];
            if i + 1 == lines {
                self.raw.extend_from_slice(l.content());
            } else {
                self.raw.extend_from_slice(&l.buf);
            }
        }
        self.row_number = self.pending[0].number;
        self.drop_lines(lines);
    }

    /// Find the record starting at the first pending line (which is not blank).
    fn assemble(&mut self, expected: Option<usize>) -> Assembled {
        let first = &self.pending[0];
        if first.bad_encoding {
            return Assembled::BadEncoding;
        }
        let mut quotes = count_quotes(first.content());
        if quotes & 1 == 0 {
            let closed = split_delimited(
                first.content(),
                self.delim,
                &mut self.fieldbuf,
                &mut self.fspans,
            );
            if closed {
                return Assembled::Record { lines: 1 };
            }
        }
        // Try joining with the following lines.
        let mut joined: Vec<u8> = first.buf.clone();
        for k in 1..MAX_JOIN_LINES {
            if !self.ensure_pending(k + 1) {
                return if self.io_error.is_some() {
                    Assembled::Eof
                } else {
                    Assembled::Unbalanced
                };
            }
            let next = &self.pending[k];
            if next.bad_encoding {
                return Assembled::Unbalanced;
            }
            quotes += count_quotes(next.content());
            let content_end = joined.len();
            joined.extend_from_slice(&next.buf);
            if quotes & 1 == 0 {
                let candidate_len = content_end + next.content_len;
                let closed = split_delimited(
                    &joined[..candidate_len],
                    self.delim,
                    &mut self.fieldbuf,
                    &mut self.fspans,
                );
                if closed {
                    let ok = expected.is_none_or(|n| n == self.fspans.len());
                    return if ok {
                        Assembled::Record { lines: k + 1 }
                    } else {
                        Assembled::Unbalanced
                    };
                }
            }
        }
        Assembled::Unbalanced
    }

    fn reject(&self, kind: RejectKind, column: Option<&str>, reason: String) -> Rejection {
        Rejection {
            kind,
            field: None,
            column: column.map(str::to_string),
            reason,
            row_number: self.row_number,
            file: self.file.clone(),
            raw: self.raw.clone(),
        }
    }

    /// The next row, a rejected row, or None at the end of the file (or at an I/O error: see
    /// [`take_io_error`](Self::take_io_error)).
    pub fn next_row(&mut self) -> Option<Result<Row<'_>, Rejection>> {
        loop {
            if !self.ensure_pending(1) {
                return None;
            }
            if is_blank(self.pending[0].content()) {
                self.drop_lines(1);
                continue;
            }
            break;
        }
        let n = self.header.len();
        match self.assemble(Some(n)) {
            Assembled::Eof => None,
            Assembled::BadEncoding => {
                self.take_raw(1);
                Some(Err(self.reject(
                    RejectKind::InvalidEncoding,
                    None,
                    format!("line is not valid {}", self.enc.name()),
                )))
            }
            Assembled::Unbalanced => {
                self.take_raw(1);
                Some(Err(self.reject(
                    RejectKind::UnbalancedQuote,
                    None,
                    format!(
                        "unbalanced quote: a quoted field opened on this line does not close \
                         within {MAX_JOIN_LINES} lines with the header's {n} fields"
                    ),
                )))
            }
            Assembled::Record { lines } => {
                self.take_raw(lines);
                if self.fspans.len() != n {
                    return Some(Err(self.reject(
                        RejectKind::FieldCount,
                        None,
                        format!(
                            "expected {n} fields (as in the header), found {}",
                            self.fspans.len()
                        ),
                    )));
                }
                if let Err(r) = self.decode() {
                    return Some(Err(r));
                }
                let text: &str = if self.text_is_fieldbuf {
                    // SAFETY: `decode` validated fieldbuf as UTF-8 (or ASCII) just above.
                    unsafe { std::str::from_utf8_unchecked(&self.fieldbuf) }
                } else {
                    &self.text
                };
                let spans = if self.text_is_fieldbuf {
                    &self.fspans
                } else {
                    &self.spans
                };
                Some(Ok(Row {
                    file: &self.file,
                    row_number: self.row_number,
                    raw: &self.raw,
                    names: &self.header,
                    spans,
                    order: None,
                    text,
                    datetime: &[],
                }))
            }
        }
    }

    /// Decode the fields: validate in place for UTF-8 / ASCII, else transcode field by field.
    fn decode(&mut self) -> Result<(), Rejection> {
        let column_at = |spans: &[Span], off: usize| -> usize {
            spans
                .iter()
                .position(|&(_, e)| off < e as usize)
                .unwrap_or(spans.len().saturating_sub(1))
        };
        if self.enc == encoding_rs::UTF_8 || self.fieldbuf.is_ascii() {
            if let Err(e) = std::str::from_utf8(&self.fieldbuf) {
                let off = e.valid_up_to();
                let col = column_at(&self.fspans, off);
                let (s, _) = self.fspans[col];
                let reason = format!(
                    "{} (in the value of this column)",
                    bad_byte_reason(self.enc, &self.fieldbuf, off)
                )
                .replace(
                    &format!("offset {off}"),
                    &format!("offset {}", off - s as usize),
                );
                return Err(self.reject(
                    RejectKind::InvalidEncoding,
                    self.header.get(col).map(String::as_str),
                    reason,
                ));
            }
            self.text_is_fieldbuf = true;
            return Ok(());
        }
        self.text_is_fieldbuf = false;
        self.text.clear();
        self.spans.clear();
        for (i, &(s, e)) in self.fspans.iter().enumerate() {
            let bytes = &self.fieldbuf[s as usize..e as usize];
            match decode_strict(self.enc, bytes) {
                Ok(t) => {
                    let start = self.text.len() as u32;
                    self.text.push_str(&t);
                    self.spans.push((start, self.text.len() as u32));
                }
                Err(off) => {
                    let reason = bad_byte_reason(self.enc, bytes, off);
                    return Err(self.reject(
                        RejectKind::InvalidEncoding,
                        self.header.get(i).map(String::as_str),
                        reason,
                    ));
                }
            }
        }
        Ok(())
    }
}

#[inline]
fn count_quotes(b: &[u8]) -> usize {
    memchr::memchr_iter(b'"', b).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reader(bytes: &[u8], enc: &str) -> CsvReader<Cursor<Vec<u8>>> {
        reader_with(bytes, enc, &HeaderSpec::FirstNonBlank)
            .ok()
            .unwrap()
    }

    fn reader_with(
        bytes: &[u8],
        enc: &str,
        header: &HeaderSpec,
    ) -> Result<CsvReader<Cursor<Vec<u8>>>, OpenError> {
        CsvReader::new(
            Cursor::new(bytes.to_vec()),
            Arc::from(Path::new("t.csv")),
            b',',
            Encoding::for_label(enc.as_bytes()).unwrap(),
            header,
        )
    }

    /// (row number, values) or (row number, reject kind).
    type Outcome = Result<(u64, Vec<String>), (u64, RejectKind)>;

    /// Every row; each accepted row's raw bytes must read back through the file's layout as
    /// the row's own columns.
    fn all(r: &mut CsvReader<Cursor<Vec<u8>>>) -> Vec<Outcome> {
        let layout = r.raw_layout();
        let mut out = vec![];
        while let Some(x) = r.next_row() {
            out.push(match x {
                Ok(row) => {
                    let cols: Vec<(String, String)> = row
                        .columns()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    assert_eq!(
                        layout.fields(row.raw).unwrap(),
                        cols,
                        "row {}",
                        row.row_number
                    );
                    Ok((row.row_number, cols.into_iter().map(|(_, v)| v).collect()))
                }
                Err(rej) => Err((rej.row_number, rej.kind)),
            });
        }
        out
    }

    fn ok(n: u64, v: &[&str]) -> Outcome {
        Ok((n, v.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn crlf_bom_blank_lines_and_multiline_fields() {
        let data = b"\xEF\xBB\xBFid,name\r\n1,\"Line one\r\nline two\"\r\n\r\n2,b\r\n\r\n\r\n";
        let mut r = reader(data, "utf-8");
        assert_eq!(r.header(), &["id", "name"]);
        let rows = all(&mut r);
        assert_eq!(
            rows,
            vec![ok(2, &["1", "Line one\r\nline two"]), ok(5, &["2", "b"])]
        );
    }

    #[test]
    fn unbalanced_quote_resyncs_at_next_line() {
        let data =
            b"id,name,day\n1,\"Smith, John,2024-01-01\n2,Doe,2024-01-02\n3,\"Roe, R\",2024-01-03\n";
        let mut r = reader(data, "utf-8");
        let rows = all(&mut r);
        assert_eq!(
            rows,
            vec![
                Err((2, RejectKind::UnbalancedQuote)),
                ok(3, &["2", "Doe", "2024-01-02"]),
                ok(4, &["3", "Roe, R", "2024-01-03"]),
            ]
        );
    }

    #[test]
    fn unbalanced_quote_at_end_of_file() {
        let mut r = reader(b"id,name\n1,\"open\n", "utf-8");
        assert_eq!(all(&mut r), vec![Err((2, RejectKind::UnbalancedQuote))]);
    }

    #[test]
    fn stray_quote_mid_field_with_odd_count_is_rejected() {
        let mut r = reader(b"id,h\n1,5'10\"\n2,ok\n", "utf-8");
        assert_eq!(
            all(&mut r),
            vec![Err((2, RejectKind::UnbalancedQuote)), ok(3, &["2", "ok"])]
        );
    }

    #[test]
    fn field_count() {
        let mut r = reader(b"a,b\n1,2,3\n1\n1,2\n", "utf-8");
        assert_eq!(
            all(&mut r),
            vec![
                Err((2, RejectKind::FieldCount)),
                Err((3, RejectKind::FieldCount)),
                ok(4, &["1", "2"])
            ]
        );
    }

    #[test]
    fn invalid_utf8_names_the_column() {
        let mut r = reader(b"id,name\n1,Jos\xFF\n2,ok\n", "utf-8");
        let x = r.next_row().unwrap().unwrap_err();
        assert_eq!(x.kind, RejectKind::InvalidEncoding);
        assert_eq!(x.column.as_deref(), Some("name"));
        assert!(x.reason.contains("0xFF"), "{}", x.reason);
        assert_eq!(x.raw, b"1,Jos\xFF");
        assert_eq!(all(&mut r), vec![ok(3, &["2", "ok"])]);
    }

    #[test]
    fn windows_1252() {
        let mut r = reader(b"id,name\n1,Jos\xE9 Pe\xF1a\n", "windows-1252");
        assert_eq!(all(&mut r), vec![ok(2, &["1", "José Peña"])]);
        let mut r = reader(b"id,name\n1,Jos\xE9 Pe\xF1a\n", "latin1");
        assert_eq!(all(&mut r), vec![ok(2, &["1", "José Peña"])]);
    }

    #[test]
    fn shift_jis_invalid_bytes_are_rejected() {
        let mut r = reader(b"id,name\n1,\x82\xA0\n2,\x82\n", "shift_jis");
        assert_eq!(
            all(&mut r),
            vec![ok(2, &["1", "あ"]), Err((3, RejectKind::InvalidEncoding))]
        );
    }

    #[test]
    fn utf16_with_bom() {
        let text = "id,name\r\n1,José\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let mut r = reader(&bytes, "utf-8");
        assert_eq!(r.header(), &["id", "name"]);
        assert_eq!(all(&mut r), vec![ok(2, &["1", "José"])]);
    }

    #[test]
    fn empty_and_header_only() {
        let e = CsvReader::new(
            Cursor::new(vec![]),
            Arc::from(Path::new("e.csv")),
            b',',
            encoding_rs::UTF_8,
            &HeaderSpec::FirstNonBlank,
        );
        assert!(matches!(e, Err(OpenError::File(FileError::Empty { .. }))));
        let mut r = reader(b"a,b\n", "utf-8");
        assert!(r.next_row().is_none());
        let mut r = reader(b"a,b", "utf-8");
        assert!(r.next_row().is_none());
    }

    #[test]
    fn raw_bytes_and_hashes() {
        let mut r = reader(b"a,b\n1,2\n1,2\n1,3\n", "utf-8");
        let mut hashes = vec![];
        while let Some(Ok(row)) = r.next_row() {
            hashes.push((row.content_hash(), row.raw.to_vec()));
        }
        assert_eq!(hashes[0], hashes[1]);
        assert_ne!(hashes[0].0, hashes[2].0);
        assert_eq!(hashes[0].1, b"1,2");
    }

    #[test]
    fn a_header_below_a_title_and_a_file_without_one() {
        let report = b"Durham PD incidents\r\nRun 07/01/2025 06:00,,\r\n\r\nid,name\r\n1,\"SMITH, J\"\r\n\r\n2,DOE\r\n";
        // by default the title is taken for the header (and the rows do not fit it)
        let r = reader(report, "utf-8");
        assert_eq!(r.header(), &["Durham PD incidents"]);
        let mut r = reader_with(report, "utf-8", &HeaderSpec::AtRow(4))
            .ok()
            .unwrap();
        assert_eq!(r.header(), &["id", "name"]);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.row_number, row.value(1)), (5, Some("SMITH, J")));
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.row_number, row.value(0)), (7, Some("2")));
        assert!(r.next_row().is_none());
        // a header row that is blank, or past the end, is named
        for (n, want) in [(3, "line 3 is blank"), (9, "the file has 7 lines")] {
            match reader_with(report, "utf-8", &HeaderSpec::AtRow(n)) {
                Err(OpenError::File(FileError::Unreadable { message, .. })) => {
                    assert!(message.contains(want), "{message}")
                }
                _ => panic!("header_row = {n} must fail"),
            }
        }

        // no header line: every line is a row, numbered from 1; a BOM is still removed
        let names = HeaderSpec::Given(vec!["id".into(), " name ".into()]);
        let mut r = reader_with(b"\xEF\xBB\xBF1,SMITH\n2,DOE\n", "utf-8", &names)
            .ok()
            .unwrap();
        assert_eq!(r.header(), &["id", "name"]);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            (row.row_number, row.value(0), row.value(1)),
            (1, Some("1"), Some("SMITH"))
        );
        assert_eq!(row.raw, b"1,SMITH");
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.row_number, row.value(1)), (2, Some("DOE")));
        assert!(r.next_row().is_none());
        // an empty file without a header line holds no rows
        let mut r = reader_with(b"", "utf-8", &names).ok().unwrap();
        assert!(r.next_row().is_none());
    }
}
