//! Parquet files (`format = "parquet"`), through the `parquet` crate's Arrow reader.
//!
//! The header is the schema's top-level column names. Values become text with Arrow's own
//! formatting (`arrow-cast`), except that a whole float has no decimal point (`9195550142`, as
//! in XLSX) and a null is blank:
//! - dates `2024-03-05`, times `14:30:00`, timestamps `2024-03-05T14:30:00` (with `%.f` when
//!   there are fractions), a timestamp with a zone in RFC 3339 (`2024-03-05T19:30:00Z`); such
//!   columns are flagged as typed date/time cells, so a mapped date field reads them whatever its
//!   `format` list says (a zone-less timestamp is local time in the source's zone);
//! - any dictionary-encoded column (pandas categoricals) as its values; decimals with their
//!   scale; nested lists and structs as Arrow prints them.
//!
//! Row number = the row's 1-based position in the file (there is no header line). A row's raw
//! bytes (for hashing, storing and quarantine) are its values joined as one comma-separated
//! UTF-8 record ([`RawLayout::Delimited`]), as for XLSX.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use familiar_model::raw::{write_csv_record, RawLayout};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::{push_number, OpenError, Row, Span};
use crate::error::FileError;

/// Rows decoded at a time.
const BATCH_ROWS: usize = 8192;

pub struct ParquetReader {
    file: Arc<Path>,
    batches: ParquetRecordBatchReader,
    header: Vec<String>,
    /// Per column: a typed date / time column.
    datetime: Vec<bool>,
    /// The current batch's values as text, row-major (`rows × header.len()`).
    cells: Vec<String>,
    /// Rows in `cells`, and the next one to hand out.
    rows: usize,
    next: usize,
    /// Rows handed out before the current batch.
    before: u64,
    text: String,
    spans: Vec<Span>,
    raw: Vec<u8>,
    row_number: u64,
    error: Option<String>,
}

impl ParquetReader {
    pub fn open(file: Arc<Path>) -> Result<Self, OpenError> {
        let unreadable = |message: String| {
            OpenError::File(FileError::Unreadable {
                file: file.to_path_buf(),
                message,
            })
        };
        let f = File::open(&file).map_err(|e| OpenError::Io(file.to_path_buf(), e))?;
        let len = f
            .metadata()
            .map_err(|e| OpenError::Io(file.to_path_buf(), e))?
            .len();
        if len == 0 {
            return Err(OpenError::File(FileError::Empty {
                file: file.to_path_buf(),
            }));
        }
        let builder = ParquetRecordBatchReaderBuilder::try_new(f)
            .map_err(|e| unreadable(format!("not a readable Parquet file: {e}")))?;
        let schema = builder.schema().clone();
        let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        if header.is_empty() {
            return Err(OpenError::File(FileError::Empty {
                file: file.to_path_buf(),
            }));
        }
        let datetime = schema
            .fields()
            .iter()
            .map(|f| is_temporal(f.data_type()))
            .collect();
        let batches = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| unreadable(format!("not a readable Parquet file: {e}")))?;
        Ok(ParquetReader {
            file,
            batches,
            header,
            datetime,
            cells: Vec::new(),
            rows: 0,
            next: 0,
            before: 0,
            text: String::new(),
            spans: Vec::new(),
            raw: Vec::new(),
            row_number: 0,
            error: None,
        })
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    /// How this file's rows' raw bytes (values joined as a CSV record) read back.
    pub fn raw_layout(&self) -> RawLayout {
        RawLayout::csv_record(self.header.clone())
    }

    /// A decoding error met while reading (reading stops at it), if any.
    pub fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }

    /// Decode the next batch into `cells`; false at the end (or on an error, kept).
    fn load_batch(&mut self) -> bool {
        loop {
            let batch = match self.batches.next() {
                None => return false,
                Some(Err(e)) => {
                    self.error = Some(e.to_string());
                    return false;
                }
                Some(Ok(b)) => b,
            };
            if batch.num_rows() == 0 {
                continue;
            }
            self.before += self.rows as u64;
            match render(&batch, self.before, &mut self.cells) {
                Ok(()) => {
                    self.rows = batch.num_rows();
                    self.next = 0;
                    return true;
                }
                Err(e) => {
                    self.error = Some(e);
                    return false;
                }
            }
        }
    }

    pub fn next_row(&mut self) -> Option<Result<Row<'_>, crate::error::Rejection>> {
        if self.next >= self.rows && !self.load_batch() {
            return None;
        }
        let width = self.header.len();
        let i = self.next;
        self.next += 1;
        self.row_number = self.before + i as u64 + 1;
        self.text.clear();
        self.spans.clear();
        let cells = &self.cells[i * width..(i + 1) * width];
        for cell in cells {
            let start = self.text.len() as u32;
            self.text.push_str(cell);
            self.spans.push((start, self.text.len() as u32));
        }
        write_csv_record(&mut self.raw, cells.iter().map(String::as_str));
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

fn is_temporal(t: &DataType) -> bool {
    match t {
        DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(_, _)
        | DataType::Time32(_)
        | DataType::Time64(_) => true,
        DataType::Dictionary(_, v) => is_temporal(v),
        _ => false,
    }
}

/// Every value of `batch` as text, row-major, into `cells` (reusing its strings); `before`
/// rows of the file precede the batch (for error messages).
fn render(batch: &RecordBatch, before: u64, cells: &mut Vec<String>) -> Result<(), String> {
    let (rows, width) = (batch.num_rows(), batch.num_columns());
    cells.resize_with(rows * width, String::new);
    let options = FormatOptions::new().with_null("");
    for (c, column) in batch.columns().iter().enumerate() {
        let name = batch.schema().field(c).name().clone();
        // a dictionary-encoded column reads as its values do (a writer's choice of encoding
        // must not turn 9195550142 into 9195550142.0)
        let unpacked;
        let column = match column.data_type() {
            DataType::Dictionary(_, values) => {
                unpacked = arrow_cast::cast(column, values)
                    .map_err(|e| format!("column {name:?}: {e}"))?;
                &unpacked
            }
            _ => column,
        };
        match column.data_type() {
            DataType::Float64 => {
                let floats = column
                    .as_any()
                    .downcast_ref::<arrow_array::Float64Array>()
                    .ok_or_else(|| format!("column {name:?}: not read as numbers"))?;
                for r in 0..rows {
                    let out = &mut cells[r * width + c];
                    out.clear();
                    if floats.is_valid(r) {
                        push_number(floats.value(r), out);
                    }
                }
            }
            // printed at their own precision (0.1f32 widened to f64 is 0.10000000149011612)
            DataType::Float16 | DataType::Float32 => {
                let floats = arrow_cast::cast(column, &DataType::Float32)
                    .map_err(|e| format!("column {name:?}: {e}"))?;
                let floats = floats
                    .as_any()
                    .downcast_ref::<arrow_array::Float32Array>()
                    .ok_or_else(|| format!("column {name:?}: not read as numbers"))?;
                for r in 0..rows {
                    let out = &mut cells[r * width + c];
                    out.clear();
                    if floats.is_valid(r) {
                        push_number32(floats.value(r), out);
                    }
                }
            }
            _ => {
                // a Date64 (milliseconds) is a date: printed as one, not as midnight
                let dates;
                let column = if column.data_type() == &DataType::Date64 {
                    dates = arrow_cast::cast(column, &DataType::Date32)
                        .map_err(|e| format!("column {name:?}: {e}"))?;
                    &dates
                } else {
                    column
                };
                let f = ArrayFormatter::try_new(column.as_ref(), &options)
                    .map_err(|e| format!("column {name:?}: {e}"))?;
                for r in 0..rows {
                    let out = &mut cells[r * width + c];
                    out.clear();
                    if column.is_valid(r) {
                        f.value(r).write(out).map_err(|e| {
                            format!("column {name:?}, row {}: {e}", before + r as u64 + 1)
                        })?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// As [`push_number`], at single precision.
fn push_number32(f: f32, out: &mut String) {
    use std::fmt::Write;
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e7 {
        let _ = write!(out, "{}", f as i64);
    } else {
        let _ = write!(out, "{f}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::StringDictionaryBuilder;
    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
        TimestampMillisecondArray,
    };
    use parquet::arrow::ArrowWriter;

    fn write(path: &Path, batch: &RecordBatch, row_group: usize) {
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(row_group))
            .build();
        let mut w =
            ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn a_dictionary_encoded_column_reads_as_its_values() {
        use arrow_array::DictionaryArray;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dict.parquet");
        let keys = arrow_array::Int32Array::from(vec![Some(0), Some(1), None, Some(0)]);
        let phones: ArrayRef = Arc::new(Float64Array::from(vec![9195550142.0, 2.5]));
        let days: ArrayRef = Arc::new(arrow_array::Date64Array::from(vec![1_709_596_800_000, 0]));
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "Phone",
                Arc::new(DictionaryArray::<Int32Type>::try_new(keys.clone(), phones).unwrap()),
            ),
            (
                "Released",
                Arc::new(DictionaryArray::<Int32Type>::try_new(keys, days).unwrap()),
            ),
        ];
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        write(&path, &batch, 10);
        let mut r = ParquetReader::open(Arc::from(path.as_path())).ok().unwrap();
        let mut got = Vec::new();
        while let Some(row) = r.next_row() {
            let row = row.unwrap();
            got.push((
                row.value(0).unwrap().to_string(),
                row.value(1).unwrap().to_string(),
                row.is_datetime_cell(1),
            ));
        }
        let want = [
            ("9195550142", "2024-03-05", true),
            ("2.5", "1970-01-01", true),
            ("", "", true),
            ("9195550142", "2024-03-05", true),
        ];
        let want: Vec<(String, String, bool)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn reads_values_of_every_common_type() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.parquet");
        let mut kinds = StringDictionaryBuilder::<Int32Type>::new();
        kinds.append_value("MENTAL HEALTH");
        kinds.append_null();
        kinds.append_value("WELFARE, CHECK");
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("Id", Arc::new(Int64Array::from(vec![1, 2, 3]))),
            (
                "Received",
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_709_649_000_000),
                    Some(1_709_649_000_250),
                    None,
                ])),
            ),
            (
                "ReceivedUtc",
                Arc::new(
                    TimestampMillisecondArray::from(vec![1_709_649_000_000; 3])
                        .with_timezone("UTC"),
                ),
            ),
            (
                "Dob",
                Arc::new(Date32Array::from(vec![Some(19_787), None, Some(0)])),
            ),
            (
                "Phone",
                Arc::new(Float64Array::from(vec![
                    Some(9195550142.0),
                    Some(2.5),
                    None,
                ])),
            ),
            (
                "Name",
                Arc::new(StringArray::from(vec![Some("SMITH, JOHN"), Some(""), None])),
            ),
            ("Kind", Arc::new(kinds.finish())),
            (
                "Transported",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            ),
            (
                "Score",
                Arc::new(arrow_array::Float32Array::from(vec![
                    Some(0.1),
                    Some(3.0),
                    None,
                ])),
            ),
            (
                "Released",
                Arc::new(arrow_array::Date64Array::from(vec![
                    Some(1_709_596_800_000),
                    None,
                    None,
                ])),
            ),
        ];
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        // two rows per row group: the reader crosses a row-group boundary
        write(&path, &batch, 2);

        let mut r = ParquetReader::open(Arc::from(path.as_path())).ok().unwrap();
        assert_eq!(
            r.header(),
            &[
                "Id",
                "Received",
                "ReceivedUtc",
                "Dob",
                "Phone",
                "Name",
                "Kind",
                "Transported",
                "Score",
                "Released"
            ]
        );
        let layout = r.raw_layout();
        let row = match r.next_row() {
            Some(x) => x.unwrap(),
            None => panic!("{:?}", r.take_error()),
        };
        assert_eq!(row.row_number, 1);
        assert_eq!(row.value(0), Some("1"));
        assert_eq!(row.value(1), Some("2024-03-05T14:30:00"));
        assert!(row.is_datetime_cell(1));
        assert_eq!(row.value(2), Some("2024-03-05T14:30:00Z"));
        assert_eq!(row.value(3), Some("2024-03-05"));
        assert!(row.is_datetime_cell(3));
        assert_eq!(row.value(4), Some("9195550142"));
        assert!(!row.is_datetime_cell(4));
        assert_eq!(row.value(5), Some("SMITH, JOHN"));
        assert_eq!(row.value(6), Some("MENTAL HEALTH"));
        assert_eq!(row.value(7), Some("true"));
        assert_eq!(row.value(8), Some("0.1"));
        assert_eq!(row.value(9), Some("2024-03-05"));
        assert!(row.is_datetime_cell(9));
        assert_eq!(
            row.raw,
            b"1,2024-03-05T14:30:00,2024-03-05T14:30:00Z,2024-03-05,9195550142,\"SMITH, JOHN\",MENTAL HEALTH,true,0.1,2024-03-05"
        );
        assert_eq!(
            layout.fields(row.raw).unwrap(),
            row.columns()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        );
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.row_number, 2);
        assert_eq!(row.value(1), Some("2024-03-05T14:30:00.250"));
        assert_eq!(row.value(3), Some(""));
        assert_eq!(row.value(4), Some("2.5"));
        assert_eq!(row.value(6), Some(""));
        assert_eq!(row.value(8), Some("3"));
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.row_number, 3);
        assert_eq!(row.value(1), Some(""));
        assert_eq!(row.value(3), Some("1970-01-01"));
        assert_eq!(row.value(5), Some(""));
        assert_eq!(row.value(6), Some("WELFARE, CHECK"));
        assert_eq!(row.value(7), Some(""));
        assert!(r.next_row().is_none());
        assert!(r.take_error().is_none());
    }

    #[test]
    fn rejects_empty_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.parquet");
        File::create(&empty).unwrap();
        assert!(matches!(
            ParquetReader::open(Arc::from(empty.as_path())),
            Err(OpenError::File(FileError::Empty { .. }))
        ));
        let csv = dir.path().join("calls.parquet");
        std::fs::write(&csv, "Id,Name\n1,SMITH\n").unwrap();
        match ParquetReader::open(Arc::from(csv.as_path())) {
            Err(OpenError::File(FileError::Unreadable { message, .. })) => {
                assert!(message.contains("not a readable Parquet file"), "{message}")
            }
            _ => panic!("a CSV file named .parquet must not open"),
        }
    }
}
