//! Fixed-width text (`format = "fixed"`): mainframe and old jail-system extracts, one record per
//! line, each column a run of characters at a fixed place.
//!
//! The mapping names the columns (`columns`) and their widths in characters (`widths`), in
//! order; a column that is filler is named and left unmapped. Lines up to `header_row` (a header
//! or title the extract prints) are skipped; blank lines are skipped and not counted. A line
//! shorter than the layout leaves its last columns blank (extracts often drop trailing spaces);
//! a line with anything but spaces beyond the layout is rejected (`field_count`), as is one with
//! bytes invalid in the declared encoding (`invalid_encoding`). Row number = the 1-based line;
//! raw bytes = the line as in the file.

use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use encoding_rs::Encoding;
use familiar_model::raw::{split_fixed, RawLayout};

use super::{bad_byte_reason, decode_strict, is_blank, LineSource, OpenError, Row, Span};
use crate::error::{RejectKind, Rejection};

pub struct FixedReader<R> {
    src: LineSource<R>,
    enc: &'static Encoding,
    file: Arc<Path>,
    line_no: u64,
    /// Lines up to and including this one are not rows.
    skip_through: u64,
    io_error: Option<io::Error>,
    header: Vec<String>,
    widths: Vec<u32>,
    line: Vec<u8>,
    raw_len: usize,
    text: String,
    spans: Vec<Span>,
    row_number: u64,
}

impl<R: BufRead> FixedReader<R> {
    pub fn new(
        r: R,
        file: Arc<Path>,
        declared: &'static Encoding,
        names: &[String],
        widths: &[u32],
        skip_through: u64,
    ) -> Result<Self, OpenError> {
        let (src, enc) =
            LineSource::open(r, declared).map_err(|e| OpenError::Io(file.to_path_buf(), e))?;
        Ok(FixedReader {
            src,
            enc,
            file,
            line_no: 0,
            skip_through,
            io_error: None,
            header: names.iter().map(|n| n.trim().to_string()).collect(),
            widths: widths.to_vec(),
            line: Vec::new(),
            raw_len: 0,
            text: String::new(),
            spans: Vec::new(),
            row_number: 0,
        })
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// How this file's rows' raw bytes (their lines) read back as column → value.
    pub fn raw_layout(&self) -> RawLayout {
        RawLayout::Fixed {
            encoding: self.enc.name().to_string(),
            widths: self.widths.clone(),
            header: self.header.clone(),
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
        let info = loop {
            match self.src.next_line(&mut self.line) {
                Ok(Some(info)) => {
                    // (a BOM was removed when the source was opened)
                    self.line_no += 1;
                    if self.line_no <= self.skip_through || is_blank(&self.line[..info.content_len])
                    {
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
        self.text.clear();
        self.text.push_str(&decoded);
        drop(decoded);
        match split_fixed(&self.text, &self.widths, &mut self.spans) {
            Ok(()) => {}
            Err(reason) => return Some(Err(self.reject(RejectKind::FieldCount, reason))),
        }
        Some(Ok(Row {
            file: &self.file,
            row_number: self.row_number,
            raw: &self.line[..self.raw_len],
            names: &self.header,
            spans: &self.spans,
            order: None,
            text: &self.text,
            datetime: &[],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reader(data: &[u8], enc: &'static Encoding, skip: u64) -> FixedReader<Cursor<Vec<u8>>> {
        FixedReader::new(
            Cursor::new(data.to_vec()),
            Arc::from(Path::new("t.txt")),
            enc,
            &["id".into(), "name".into(), "dob".into()],
            &[4, 10, 8],
            skip,
        )
        .ok()
        .unwrap()
    }

    #[test]
    fn splits_lines_by_width_and_rejects_what_does_not_fit() {
        let data = b"BOOKING EXTRACT 2025-07-01\n\
0001SM\xCFTH J   19800101\r\n\
\n\
0002DOE JANE\n\
0003ROE RICK  19791231  \n\
0004POE EDGAR 19490119XYZ\n";
        let mut r = reader(data, encoding_rs::WINDOWS_1252, 1);
        let layout = r.raw_layout();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.row_number, 2);
        assert_eq!(row.value(0), Some("0001"));
        assert_eq!(row.value(1), Some("SMÏTH J   "));
        assert_eq!(row.value(2), Some("19800101"));
        assert_eq!(row.raw, b"0001SM\xCFTH J   19800101");
        let back = layout.fields(row.raw).unwrap();
        assert_eq!(back[1], ("name".to_string(), "SMÏTH J   ".to_string()));
        // a short line: the missing columns are blank
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            (row.row_number, row.value(1), row.value(2)),
            (4, Some("DOE JANE"), Some(""))
        );
        // trailing spaces beyond the layout are fine
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.value(2), Some("19791231"));
        // anything else beyond it is not
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!((e.row_number, e.kind), (6, RejectKind::FieldCount));
        assert!(e.reason.contains("25 characters"), "{}", e.reason);
        assert_eq!(e.raw, b"0004POE EDGAR 19490119XYZ");
        assert!(r.next_row().is_none());
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let mut r = reader("0001JOSÉ GARCÍ19760510\n".as_bytes(), encoding_rs::UTF_8, 0);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.value(1), Some("JOSÉ GARCÍ"));
        assert_eq!(row.value(2), Some("19760510"));
        let mut r = reader(b"0001JOS\xFF\n", encoding_rs::UTF_8, 0);
        let e = r.next_row().unwrap().unwrap_err();
        assert_eq!(e.kind, RejectKind::InvalidEncoding);
    }
}
