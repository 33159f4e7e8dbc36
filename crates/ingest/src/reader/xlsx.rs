//! Excel workbooks (`.xlsx`, and `.xls` / `.xlsb` / `.ods` by extension) through calamine.
//!
//! The sheet is the one named by `sheet`, else the first. Its first non-empty row is the header
//! (or the row `header_row` names, the rows above it skipped; or none, when `columns` names the
//! columns, and then a sheet wider than the names is refused rather than cut).
//! Cells become text: integers without a decimal point (`9195550142`, not `9195550142.0`),
//! other numbers in their shortest form, booleans `TRUE` / `FALSE`, error cells blank. Date
//! cells become ISO text (`2024-03-05 14:30:00`, `2024-03-05` for whole days, `14:30:00` for
//! time-only cells) and are flagged, so a mapped date field reads them whatever its `format`
//! list says; a date stored as a number reads with the `excel` format, a date stored as text
//! with the listed patterns. Row number = the 1-based sheet row; rows with every cell empty are
//! skipped and not counted. A row's raw bytes (for hashing, storing and quarantine) are its
//! cells' text joined as one comma-separated UTF-8 record ([`RawLayout::Delimited`]).

use std::path::Path;
use std::sync::Arc;

use calamine::{open_workbook_auto, Data, Range, Reader};
use familiar_model::raw::{write_csv_record, RawLayout};

use super::{push_number, HeaderSpec, OpenError, Row, Span};
use crate::error::FileError;

pub struct XlsxReader {
    file: Arc<Path>,
    range: Range<Data>,
    /// Index (within the range) of the next row to read.
    next: usize,
    first_row: u32,
    /// With `columns`: the first column of the range (calamine starts it at the first column
    /// that holds a value) and how many columns, from column A, each row has.
    first_col: u32,
    given: Option<usize>,
    header: Vec<String>,
    text: String,
    spans: Vec<Span>,
    datetime: Vec<bool>,
    raw: Vec<u8>,
    row_number: u64,
}

impl XlsxReader {
    pub fn open(
        file: Arc<Path>,
        sheet: Option<&str>,
        header: &HeaderSpec,
    ) -> Result<Self, OpenError> {
        let unreadable = |message: String| {
            OpenError::File(FileError::Unreadable {
                file: file.to_path_buf(),
                message,
            })
        };
        let meta = std::fs::metadata(&file).map_err(|e| OpenError::Io(file.to_path_buf(), e))?;
        if meta.len() == 0 {
            return Err(OpenError::File(FileError::Empty {
                file: file.to_path_buf(),
            }));
        }
        let mut wb = open_workbook_auto(&file).map_err(|e| unreadable(e.to_string()))?;
        let names = wb.sheet_names();
        let name = match sheet {
            Some(s) => names
                .iter()
                .find(|n| n.as_str() == s)
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(s)))
                .cloned()
                .ok_or_else(|| {
                    unreadable(format!("no sheet named {s:?}; the workbook has {names:?}"))
                })?,
            None => names
                .first()
                .cloned()
                .ok_or_else(|| unreadable("the workbook has no sheets".into()))?,
        };
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| unreadable(format!("sheet {name:?}: {e}")))?;
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        let mut me = XlsxReader {
            file: file.clone(),
            range,
            next: 0,
            first_row,
            first_col,
            given: None,
            header: Vec::new(),
            text: String::new(),
            spans: Vec::new(),
            datetime: Vec::new(),
            raw: Vec::new(),
            row_number: 0,
        };
        let height = me.range.height();
        match header {
            HeaderSpec::FirstNonBlank => {}
            HeaderSpec::Given(names) => {
                // names count from column A, whatever columns happen to be empty
                let width = me.range.end().map_or(0, |(_, c)| c as usize + 1);
                if width > names.len() {
                    return Err(unreadable(format!(
                        "sheet {name:?} has {width} columns, but columns names {}",
                        names.len()
                    )));
                }
                me.header = names.iter().map(|n| n.trim().to_string()).collect();
                me.given = Some(names.len());
                return Ok(me);
            }
            &HeaderSpec::AtRow(n) => {
                // sheet row n is index n - 1 - first_row of the range (which starts at the
                // first row with a value)
                let first = u64::from(first_row) + 1;
                let last = first + height as u64;
                if n < first || n >= last || !me.load_row((n - first) as usize) {
                    return Err(unreadable(format!(
                        "header_row = {n}, but row {n} of sheet {name:?} is empty"
                    )));
                }
                me.next = (n - first) as usize + 1;
                me.header = me.header_names();
                return Ok(me);
            }
        }
        // Header: the first row with any non-empty cell.
        while me.next < height {
            let i = me.next;
            me.next += 1;
            if me.load_row(i) {
                me.header = me.header_names();
                return Ok(me);
            }
        }
        Err(OpenError::File(FileError::Empty {
            file: file.to_path_buf(),
        }))
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The loaded row's cells as column names (`_colN` for a blank one).
    fn header_names(&self) -> Vec<String> {
        (0..self.spans.len())
            .map(|c| {
                let (s, e) = self.spans[c];
                let n = self.text[s as usize..e as usize].trim();
                if n.is_empty() {
                    format!("_col{}", c + 1)
                } else {
                    n.to_string()
                }
            })
            .collect()
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    /// How this sheet's rows' raw bytes (cells joined as a CSV record) read back.
    pub fn raw_layout(&self) -> RawLayout {
        RawLayout::csv_record(self.header.clone())
    }

    /// Convert row `i` of the range into text; false when every cell is empty.
    fn load_row(&mut self, i: usize) -> bool {
        self.text.clear();
        self.spans.clear();
        self.datetime.clear();
        let (width, skip) = match self.given {
            Some(n) => (n, self.first_col as usize),
            None => (self.range.width(), 0),
        };
        let mut any = false;
        for c in 0..width {
            let cell = match c.checked_sub(skip) {
                Some(rc) => self.range.get((i, rc)).unwrap_or(&Data::Empty),
                None => &Data::Empty,
            };
            let start = self.text.len() as u32;
            let dt = cell_text(cell, &mut self.text);
            let s = &self.text[start as usize..];
            if !s.trim().is_empty() {
                any = true;
            }
            self.spans.push((start, self.text.len() as u32));
            self.datetime.push(dt);
        }
        self.row_number = self.first_row as u64 + i as u64 + 1;
        any
    }

    pub fn next_row(&mut self) -> Option<Result<Row<'_>, crate::error::Rejection>> {
        let height = self.range.height();
        loop {
            if self.next >= height {
                return None;
            }
            let i = self.next;
            self.next += 1;
            if self.load_row(i) {
                break;
            }
        }
        // Columns beyond the header (a stray cell to the right) are dropped from the row.
        let n = self.header.len();
        self.spans.truncate(n);
        self.datetime.truncate(n);
        let text = &self.text;
        write_csv_record(
            &mut self.raw,
            self.spans
                .iter()
                .map(|&(s, e)| &text[s as usize..e as usize]),
        );
        Some(Ok(Row {
            file: &self.file,
            row_number: self.row_number,
            raw: &self.raw,
            names: &self.header,
            spans: &self.spans,
            order: None,
            text: &self.text,
            datetime: &self.datetime,
        }))
    }
}

/// Append a cell's text; true for a typed date/time cell.
fn cell_text(cell: &Data, out: &mut String) -> bool {
    use std::fmt::Write;
    match cell {
        Data::Empty | Data::Error(_) => false,
        Data::String(s) => {
            out.push_str(s);
            false
        }
        Data::Int(i) => {
            let _ = write!(out, "{i}");
            false
        }
        Data::Float(f) => {
            push_number(*f, out);
            false
        }
        Data::Bool(b) => {
            out.push_str(if *b { "TRUE" } else { "FALSE" });
            false
        }
        Data::DateTime(d) => {
            if d.is_duration() {
                push_number(d.as_f64(), out);
                return false;
            }
            let serial = d.as_f64();
            match d.as_datetime() {
                Some(n) if serial < 1.0 => {
                    let _ = write!(out, "{}", n.format("%H:%M:%S"));
                }
                Some(n) if serial.fract() == 0.0 => {
                    let _ = write!(out, "{}", n.format("%Y-%m-%d"));
                }
                Some(n) => {
                    let _ = write!(out, "{}", n.format("%Y-%m-%d %H:%M:%S"));
                }
                None => push_number(serial, out),
            }
            true
        }
        Data::DateTimeIso(s) => {
            out.push_str(s);
            true
        }
        Data::DurationIso(s) => {
            out.push_str(s);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    #[test]
    fn reads_cells_of_every_type() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("Calls").unwrap();
        let datefmt = Format::new().set_num_format("mm/dd/yyyy hh:mm");
        ws.write_string(0, 0, "Id").unwrap();
        ws.write_string(0, 1, "When").unwrap();
        ws.write_string(0, 2, "Phone").unwrap();
        ws.write_string(0, 3, "Flag").unwrap();
        ws.write_number(1, 0, 1.0).unwrap();
        let dt = ExcelDateTime::parse_from_str("2024-03-05 14:30:00").unwrap();
        ws.write_datetime_with_format(1, 1, &dt, &datefmt).unwrap();
        ws.write_number(1, 2, 9195550142.0).unwrap();
        ws.write_boolean(1, 3, true).unwrap();
        // Row 3 (index 2) left empty: skipped.
        ws.write_string(3, 0, "2").unwrap();
        ws.write_string(3, 1, "03/06/2024").unwrap();
        ws.write_number(3, 2, 2.5).unwrap();
        wb.save(&path).unwrap();

        let mut r = XlsxReader::open(
            Arc::from(path.as_path()),
            Some("calls"),
            &HeaderSpec::FirstNonBlank,
        )
        .ok()
        .unwrap();
        assert_eq!(r.header(), &["Id", "When", "Phone", "Flag"]);
        let layout = r.raw_layout();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.raw, b"1,2024-03-05 14:30:00,9195550142,TRUE");
        assert_eq!(
            layout.fields(row.raw).unwrap(),
            row.columns()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        );
        assert_eq!(row.row_number, 2);
        assert_eq!(row.value(0), Some("1"));
        assert_eq!(row.value(1), Some("2024-03-05 14:30:00"));
        assert!(row.is_datetime_cell(1));
        assert_eq!(row.value(2), Some("9195550142"));
        assert_eq!(row.value(3), Some("TRUE"));
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.row_number, 4);
        assert_eq!(row.value(1), Some("03/06/2024"));
        assert!(!row.is_datetime_cell(1));
        assert_eq!(row.value(2), Some("2.5"));
        assert_eq!(row.value(3), Some(""));
        assert!(r.next_row().is_none());

        assert!(XlsxReader::open(
            Arc::from(path.as_path()),
            Some("Nope"),
            &HeaderSpec::FirstNonBlank
        )
        .is_err());
    }

    #[test]
    fn a_header_below_a_title_and_a_sheet_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "Jail bookings, run 07/01/2025")
            .unwrap();
        ws.write_string(2, 0, "BookingNo").unwrap();
        ws.write_string(2, 1, "Name").unwrap();
        ws.write_number(3, 0, 7.0).unwrap();
        ws.write_string(3, 1, "SMITH, J").unwrap();
        wb.save(&path).unwrap();
        let file: Arc<Path> = Arc::from(path.as_path());

        let mut r = XlsxReader::open(file.clone(), None, &HeaderSpec::AtRow(3))
            .ok()
            .unwrap();
        assert_eq!(r.header(), &["BookingNo", "Name"]);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            (row.row_number, row.value(0), row.value(1)),
            (4, Some("7"), Some("SMITH, J"))
        );
        assert!(r.next_row().is_none());
        for n in [2, 9] {
            match XlsxReader::open(file.clone(), None, &HeaderSpec::AtRow(n)) {
                Err(OpenError::File(FileError::Unreadable { message, .. })) => {
                    assert!(message.contains(&format!("row {n} of sheet")), "{message}")
                }
                _ => panic!("header_row = {n} must fail"),
            }
        }

        // no header row: every row is data, and the names must cover every column
        let names = HeaderSpec::Given(vec!["BookingNo".into(), "Name".into()]);
        let mut r = XlsxReader::open(file.clone(), None, &names).ok().unwrap();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            (row.row_number, row.value(0)),
            (1, Some("Jail bookings, run 07/01/2025"))
        );
        assert_eq!(r.next_row().unwrap().unwrap().row_number, 3);
        // names count from column A even when column A (or the last column) holds nothing
        let path2 = dir.path().join("u.xlsx");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_number(0, 1, 7.0).unwrap();
        ws.write_string(0, 2, "SMITH, J").unwrap();
        wb.save(&path2).unwrap();
        let wide = HeaderSpec::Given(vec![
            "Flag".into(),
            "BookingNo".into(),
            "Name".into(),
            "Note".into(),
        ]);
        let mut r = XlsxReader::open(Arc::from(path2.as_path()), None, &wide)
            .ok()
            .unwrap();
        let layout = r.raw_layout();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            (row.value(0), row.value(1), row.value(2), row.value(3)),
            (Some(""), Some("7"), Some("SMITH, J"), Some(""))
        );
        assert_eq!(
            layout.fields(row.raw).unwrap().len(),
            4,
            "stored rows read back"
        );
        let narrow = HeaderSpec::Given(vec!["BookingNo".into()]);
        match XlsxReader::open(file, None, &narrow) {
            Err(OpenError::File(FileError::Unreadable { message, .. })) => {
                assert!(
                    message.contains("has 2 columns, but columns names 1"),
                    "{message}"
                )
            }
            _ => panic!("a sheet wider than its names must fail"),
        }
    }
}
