//! Readers: stream a file's rows as `(row number, column → value)` with the raw bytes kept.
//!
//! [`FileReader::open`] picks the reader for the source's format. Rows are *lent*
//! ([`FileReader::next_row`] returns a [`Row`] borrowing the reader's buffers), so reading
//! allocates nothing per row once the buffers have grown.
//!
//! - [`csv`]: delimiter, encoding, BOM, CRLF, quoted fields spanning lines, unbalanced-quote
//!   recovery (see that module).
//! - [`xlsx`]: a sheet by name or the first; cells of any type become text.
//! - [`jsonl`]: one JSON object per line, or a JSON array of objects; nested values become
//!   their JSON text.
//! - [`fixed`]: fixed-width lines cut by the mapping's widths.
//! - [`parquet`]: typed columns become text (dates and times as ISO text, flagged like XLSX
//!   date cells).

pub mod csv;
pub mod fixed;
pub mod jsonl;
pub mod parquet;
pub mod xlsx;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use encoding_rs::Encoding;
use familiar_model::mapping::FileFormat;
use familiar_model::raw::RawLayout;
use sha2::{Digest, Sha256};

use crate::error::{FileError, Rejection};

/// A value's place in a row's text buffer; [`ABSENT`] when the row has no such column.
pub use familiar_model::raw::Span;
/// The span of a column a row does not have (a JSON key missing from one line).
pub const ABSENT: Span = (u32::MAX, u32::MAX);

/// One row as read, borrowed from the reader.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub file: &'a Arc<Path>,
    /// 1-based physical line where the row starts (CSV, JSON lines and arrays, fixed width),
    /// the sheet row (XLSX), or the row's position in the file (Parquet).
    pub row_number: u64,
    /// The row's bytes as they were in the file (see [`Rejection::raw`]).
    pub raw: &'a [u8],
    /// Column names; values are looked up by index into this list.
    pub names: &'a [String],
    pub(crate) spans: &'a [Span],
    /// JSON lines: the order of this row's keys (indexes into `names`); None = `names` order.
    pub(crate) order: Option<&'a [u32]>,
    pub(crate) text: &'a str,
    /// XLSX: which columns held typed date/time cells (rendered as ISO text).
    pub(crate) datetime: &'a [bool],
}

impl<'a> Row<'a> {
    /// The value of column `idx` (untrimmed), or None when the row lacks that column.
    #[inline]
    pub fn value(&self, idx: usize) -> Option<&'a str> {
        let (s, e) = *self.spans.get(idx)?;
        if (s, e) == ABSENT {
            return None;
        }
        Some(&self.text[s as usize..e as usize])
    }

    /// The value of the column with this name (first match), for tests and one-offs.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let idx = self.names.iter().position(|n| n == name)?;
        self.value(idx)
    }

    /// True when column `idx` came from a typed date/time cell (XLSX).
    #[inline]
    pub fn is_datetime_cell(&self, idx: usize) -> bool {
        self.datetime.get(idx).copied().unwrap_or(false)
    }

    /// `(column, value)` pairs in the row's own order (header order for CSV and XLSX).
    pub fn columns(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        let n = match self.order {
            Some(o) => o.len(),
            None => self.names.len().min(self.spans.len()),
        };
        (0..n).filter_map(move |i| {
            let idx = match self.order {
                Some(o) => o[i] as usize,
                None => i,
            };
            Some((self.names[idx].as_str(), self.value(idx)?))
        })
    }

    /// SHA-256 of the row's raw bytes: equal for byte-identical rows, different otherwise.
    pub fn content_hash(&self) -> [u8; 32] {
        familiar_model::raw::content_hash(self.raw)
    }

    /// A rejection of this row.
    pub(crate) fn reject(
        &self,
        kind: crate::error::RejectKind,
        field: Option<&'static str>,
        column: Option<&str>,
        reason: String,
    ) -> Rejection {
        Rejection {
            kind,
            field,
            column: column.map(str::to_string),
            reason,
            row_number: self.row_number,
            file: self.file.clone(),
            raw: self.raw.to_vec(),
        }
    }
}

/// An owned row, for building [`Row`]s by hand (tests, callers mapping rows from elsewhere).
#[derive(Debug, Clone)]
pub struct RowData {
    pub file: Arc<Path>,
    pub row_number: u64,
    pub raw: Vec<u8>,
    pub names: Vec<String>,
    text: String,
    spans: Vec<Span>,
}

impl RowData {
    /// A row with these columns and values (raw bytes = the values joined with commas).
    pub fn new(file: &Path, row_number: u64, pairs: &[(&str, &str)]) -> Self {
        let mut text = String::new();
        let mut spans = Vec::new();
        for (_, v) in pairs {
            let s = text.len() as u32;
            text.push_str(v);
            spans.push((s, text.len() as u32));
        }
        RowData {
            file: Arc::from(file),
            row_number,
            raw: pairs
                .iter()
                .map(|(_, v)| *v)
                .collect::<Vec<_>>()
                .join(",")
                .into_bytes(),
            names: pairs.iter().map(|(k, _)| k.to_string()).collect(),
            text,
            spans,
        }
    }

    pub fn as_row(&self) -> Row<'_> {
        Row {
            file: &self.file,
            row_number: self.row_number,
            raw: &self.raw,
            names: &self.names,
            spans: &self.spans,
            order: None,
            text: &self.text,
            datetime: &[],
        }
    }
}

/// A `Read` that hashes everything read through it (the file's SHA-256 comes for free).
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
    /// Hex SHA-256 and length of everything read so far.
    pub fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Hex SHA-256 and size of a whole file.
pub fn file_sha256(path: &Path) -> io::Result<(String, u64)> {
    let mut r = HashingReader::new(File::open(path)?);
    io::copy(&mut r, &mut io::sink())?;
    Ok(r.finish())
}

/// Where a file's column names come from (CSV, XLSX).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HeaderSpec {
    /// The first non-blank line (sheet row).
    #[default]
    FirstNonBlank,
    /// This 1-based line (sheet row); the lines above it (a title, a run date) are skipped.
    AtRow(u64),
    /// No header line: these names, and every line is a row.
    Given(Vec<String>),
}

/// A number read from a typed cell as text: a whole number without a decimal point
/// (`9195550142`, not `9195550142.0`), anything else in its shortest form.
pub(crate) fn push_number(f: f64, out: &mut String) {
    use std::fmt::Write;
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        let _ = write!(out, "{}", f as i64);
    } else {
        let _ = write!(out, "{f}");
    }
}

/// How to read one file: everything the readers need from the source definition.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub format: FileFormat,
    pub delimiter: u8,
    pub encoding: &'static Encoding,
    pub sheet: Option<String>,
    pub header: HeaderSpec,
    /// Fixed-width files: each column's width in characters (the names are `header`'s), and
    /// the lines up to and including `skip_through` that are not rows (a printed header).
    pub widths: Vec<u32>,
    pub skip_through: u64,
    /// JSON lines: column names to register first (the mapped columns), so their indexes are
    /// known before any line is read.
    pub known_columns: Vec<String>,
}

/// Any of the readers.
pub enum FileReader {
    Csv(csv::CsvReader<BufReader<HashingReader<File>>>),
    Jsonl(jsonl::JsonlReader<BufReader<HashingReader<File>>>),
    Xlsx(xlsx::XlsxReader),
    Parquet(parquet::ParquetReader),
    Fixed(fixed::FixedReader<BufReader<HashingReader<File>>>),
}

/// Errors opening a file: I/O (the caller adds context) or a file-level problem.
#[derive(Debug)]
pub enum OpenError {
    Io(PathBuf, io::Error),
    File(FileError),
}

const BUF_SIZE: usize = 1 << 20;

impl FileReader {
    /// Open `path` and read its header (CSV, XLSX).
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<FileReader, OpenError> {
        let io_err = |e| OpenError::Io(path.to_path_buf(), e);
        let file: Arc<Path> = Arc::from(path);
        match opts.format {
            FileFormat::Csv => {
                let f = File::open(path).map_err(io_err)?;
                let r = BufReader::with_capacity(BUF_SIZE, HashingReader::new(f));
                csv::CsvReader::new(r, file, opts.delimiter, opts.encoding, &opts.header)
                    .map(FileReader::Csv)
            }
            FileFormat::Jsonl => {
                let f = File::open(path).map_err(io_err)?;
                let r = BufReader::with_capacity(BUF_SIZE, HashingReader::new(f));
                jsonl::JsonlReader::new(r, file, opts.encoding, &opts.known_columns)
                    .map(FileReader::Jsonl)
            }
            FileFormat::Json => {
                let f = File::open(path).map_err(io_err)?;
                let r = BufReader::with_capacity(BUF_SIZE, HashingReader::new(f));
                jsonl::JsonlReader::with_layout(
                    r,
                    file,
                    opts.encoding,
                    &opts.known_columns,
                    jsonl::JsonLayout::Array,
                )
                .map(FileReader::Jsonl)
            }
            FileFormat::Xlsx => xlsx::XlsxReader::open(file, opts.sheet.as_deref(), &opts.header)
                .map(FileReader::Xlsx),
            FileFormat::Parquet => parquet::ParquetReader::open(file).map(FileReader::Parquet),
            FileFormat::Fixed => {
                let f = File::open(path).map_err(io_err)?;
                let r = BufReader::with_capacity(BUF_SIZE, HashingReader::new(f));
                let names = match &opts.header {
                    HeaderSpec::Given(names) => names.as_slice(),
                    // config validation requires the names
                    HeaderSpec::AtRow(_) | HeaderSpec::FirstNonBlank => &[],
                };
                fixed::FixedReader::new(
                    r,
                    file,
                    opts.encoding,
                    names,
                    &opts.widths,
                    opts.skip_through,
                )
                .map(FileReader::Fixed)
            }
        }
    }

    /// How the raw bytes of this file's rows read back as column → value (stored once per file
    /// beside the rows' bytes).
    pub fn raw_layout(&self) -> RawLayout {
        match self {
            FileReader::Csv(r) => r.raw_layout(),
            FileReader::Jsonl(r) => r.raw_layout(),
            FileReader::Xlsx(r) => r.raw_layout(),
            FileReader::Parquet(r) => r.raw_layout(),
            FileReader::Fixed(r) => r.raw_layout(),
        }
    }

    /// Column names: the header (CSV, XLSX), or the keys seen so far (JSON lines).
    pub fn names(&self) -> &[String] {
        match self {
            FileReader::Csv(r) => r.header(),
            FileReader::Jsonl(r) => r.names(),
            FileReader::Xlsx(r) => r.header(),
            FileReader::Parquet(r) => r.header(),
            FileReader::Fixed(r) => r.header(),
        }
    }

    /// The next row, a rejected row, or None at the end.
    pub fn next_row(&mut self) -> Option<Result<Row<'_>, Rejection>> {
        match self {
            FileReader::Csv(r) => r.next_row(),
            FileReader::Jsonl(r) => r.next_row(),
            FileReader::Xlsx(r) => r.next_row(),
            FileReader::Parquet(r) => r.next_row(),
            FileReader::Fixed(r) => r.next_row(),
        }
    }

    /// An I/O error met while reading rows (reading stops at it), if any.
    pub fn take_io_error(&mut self) -> Option<io::Error> {
        match self {
            FileReader::Csv(r) => r.take_io_error(),
            FileReader::Jsonl(r) => r.take_io_error(),
            FileReader::Xlsx(_) => None,
            FileReader::Parquet(r) => r.take_error().map(io::Error::other),
            FileReader::Fixed(r) => r.take_io_error(),
        }
    }

    /// Hex SHA-256 and size of the file (all of it: call after the last row).
    pub fn finish(self) -> io::Result<(String, u64)> {
        match self {
            FileReader::Csv(r) => {
                let mut inner = r.into_inner();
                io::copy(&mut inner, &mut io::sink())?;
                Ok(inner.into_inner().finish())
            }
            FileReader::Jsonl(r) => {
                let mut inner = r.into_inner();
                io::copy(&mut inner, &mut io::sink())?;
                Ok(inner.into_inner().finish())
            }
            FileReader::Xlsx(r) => file_sha256(r.path()),
            FileReader::Parquet(r) => file_sha256(r.path()),
            FileReader::Fixed(r) => {
                let mut inner = r.into_inner();
                io::copy(&mut inner, &mut io::sink())?;
                Ok(inner.into_inner().finish())
            }
        }
    }
}

/// Lines from a byte stream: `\n`-terminated, the terminator kept in the buffer.
/// UTF-16 input is read and decoded line by line into UTF-8 (a line that is not valid UTF-16 is
/// flagged and kept as its original bytes); only one line is held at a time.
pub(crate) enum LineSource<R> {
    Bytes(R),
    Utf16 {
        inner: R,
        enc: &'static Encoding,
        /// The current line's UTF-16 bytes.
        raw: Vec<u8>,
    },
}

pub(crate) struct LineInfo {
    /// Length without the `\n` / `\r\n` terminator.
    pub content_len: usize,
    pub bad_encoding: bool,
}

impl<R: io::BufRead> LineSource<R> {
    /// Choose the source after looking at the BOM: a BOM overrides the declared encoding.
    /// Returns the source, the encoding to decode fields with, and the BOM length consumed.
    pub fn open(mut r: R, declared: &'static Encoding) -> io::Result<(Self, &'static Encoding)> {
        let head = r.fill_buf()?;
        let (enc, bom) = match Encoding::for_bom(head) {
            Some((e, n)) => (e, n),
            None => (declared, 0),
        };
        // fill_buf may return fewer than 3 bytes; a BOM split across reads is not handled
        // (BufReader's first fill reads the whole buffer from a file).
        r.consume(bom);
        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
            Ok((
                LineSource::Utf16 {
                    inner: r,
                    enc,
                    raw: Vec::new(),
                },
                encoding_rs::UTF_8,
            ))
        } else {
            Ok((LineSource::Bytes(r), enc))
        }
    }

    /// Read the next line into `out` (cleared first). None at the end.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<Option<LineInfo>> {
        out.clear();
        match self {
            LineSource::Bytes(r) => {
                let n = r.read_until(b'\n', out)?;
                if n == 0 {
                    return Ok(None);
                }
                Ok(Some(LineInfo {
                    content_len: content_len(out),
                    bad_encoding: false,
                }))
            }
            LineSource::Utf16 { inner, enc, raw } => {
                let le = *enc == encoding_rs::UTF_16LE;
                let nl: [u8; 2] = if le { [b'\n', 0] } else { [0, b'\n'] };
                read_utf16_line(inner, le, raw)?;
                if raw.is_empty() {
                    return Ok(None);
                }
                let slice = &raw[..];
                match enc.decode_without_bom_handling_and_without_replacement(slice) {
                    Some(text) => {
                        out.extend_from_slice(text.as_bytes());
                        Ok(Some(LineInfo {
                            content_len: content_len(out),
                            bad_encoding: false,
                        }))
                    }
                    None => {
                        out.extend_from_slice(slice);
                        let cl = slice.len() - if slice.ends_with(&nl) { 2 } else { 0 };
                        Ok(Some(LineInfo {
                            content_len: cl,
                            bad_encoding: true,
                        }))
                    }
                }
            }
        }
    }

    /// Read the next piece of a line into `out` (cleared first): the rest of the line through
    /// its `\n`, or at most `max` bytes of it (UTF-16 input: always the whole line). Returns
    /// whether the piece ends its line; None at the end. Lets a scan go through a line of any
    /// length (a whole JSON array on one line) in bounded memory.
    pub fn next_piece(
        &mut self,
        out: &mut Vec<u8>,
        max: usize,
    ) -> io::Result<Option<(bool, LineInfo)>> {
        let r = match self {
            LineSource::Bytes(r) => r,
            LineSource::Utf16 { .. } => {
                return Ok(self.next_line(out)?.map(|info| (true, info)));
            }
        };
        out.clear();
        loop {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if out.is_empty() {
                    return Ok(None);
                }
                // the last line, without a terminator
                return Ok(Some((
                    true,
                    LineInfo {
                        content_len: out.len(),
                        bad_encoding: false,
                    },
                )));
            }
            let room = max.saturating_sub(out.len()).max(1);
            let take = buf.len().min(room);
            if let Some(i) = buf[..take].iter().position(|&b| b == b'\n') {
                out.extend_from_slice(&buf[..=i]);
                r.consume(i + 1);
                return Ok(Some((
                    true,
                    LineInfo {
                        content_len: content_len(out),
                        bad_encoding: false,
                    },
                )));
            }
            out.extend_from_slice(&buf[..take]);
            r.consume(take);
            if out.len() >= max {
                // the input's last line ends with the input
                let at_end = r.fill_buf()?.is_empty();
                return Ok(Some((
                    at_end,
                    LineInfo {
                        content_len: out.len(),
                        bad_encoding: false,
                    },
                )));
            }
        }
    }

    pub fn into_inner(self) -> R {
        match self {
            LineSource::Bytes(r) => r,
            LineSource::Utf16 { inner, .. } => inner,
        }
    }
}

/// Read one UTF-16 line (through its newline unit, or to the end of the input) into `raw`
/// (cleared first). The line starts on a unit boundary, so a 0x0A byte ends it only where it
/// is the newline unit (`0A 00` little-endian, `00 0A` big-endian) at an even offset: U+010A
/// or U+0A00 hold that byte too.
fn read_utf16_line<R: io::BufRead>(r: &mut R, le: bool, raw: &mut Vec<u8>) -> io::Result<()> {
    raw.clear();
    // one very long line need not keep its memory for the rest of the file
    if raw.capacity() > 1 << 20 {
        raw.shrink_to(1 << 16);
    }
    loop {
        if r.read_until(b'\n', raw)? == 0 || raw.last() != Some(&b'\n') {
            return Ok(()); // the end of the input
        }
        let k = raw.len() - 1;
        if le {
            if k.is_multiple_of(2) {
                // the unit's other byte decides
                let next = loop {
                    match r.fill_buf() {
                        Ok(b) => break b.first().copied(),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                let Some(b) = next else { return Ok(()) };
                r.consume(1);
                raw.push(b);
                if b == 0 {
                    return Ok(());
                }
            }
        } else if !k.is_multiple_of(2) && raw[k - 1] == 0 {
            return Ok(());
        }
    }
}

fn content_len(line: &[u8]) -> usize {
    let mut n = line.len();
    if n > 0 && line[n - 1] == b'\n' {
        n -= 1;
        if n > 0 && line[n - 1] == b'\r' {
            n -= 1;
        }
    }
    n
}

/// True for a line with nothing but spaces / tabs (it is skipped and not counted).
#[inline]
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Decode `bytes` in `enc` without replacement; Err(byte offset of the first bad byte).
pub(crate) fn decode_strict<'b>(
    enc: &'static Encoding,
    bytes: &'b [u8],
) -> Result<std::borrow::Cow<'b, str>, usize> {
    if enc == encoding_rs::UTF_8 {
        return std::str::from_utf8(bytes)
            .map(std::borrow::Cow::Borrowed)
            .map_err(|e| e.valid_up_to());
    }
    match enc.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(c) => Ok(c),
        None => {
            // Find the first bad byte with a streaming decoder.
            let mut dec = enc.new_decoder_without_bom_handling();
            let cap = dec
                .max_utf8_buffer_length_without_replacement(bytes.len())
                .unwrap_or(bytes.len() * 4 + 16);
            let mut out = String::with_capacity(cap);
            let (res, read) = dec.decode_to_string_without_replacement(bytes, &mut out, true);
            let at = match res {
                encoding_rs::DecoderResult::Malformed(bad, extra) => {
                    read.saturating_sub(bad as usize + extra as usize)
                }
                _ => 0,
            };
            Err(at.min(bytes.len().saturating_sub(1)))
        }
    }
}

/// "byte 0xFF at offset 3 is not valid UTF-8".
pub(crate) fn bad_byte_reason(enc: &'static Encoding, bytes: &[u8], offset: usize) -> String {
    match bytes.get(offset) {
        Some(b) => format!(
            "byte 0x{b:02X} at offset {offset} is not valid {}",
            enc.name()
        ),
        None => format!("bytes are not valid {}", enc.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// UTF-16 text read a line at a time, through buffers of any size, is the text split
        /// after each newline, however often a unit's bytes are 0x0A (U+010A, U+0A05, U+0A0A).
        #[test]
        fn utf16_lines_are_the_text_split_at_its_newlines(
            chars in proptest::collection::vec(
                prop_oneof![
                    Just('\n'), Just('a'), Just('\u{010A}'), Just('\u{0A05}'),
                    Just('\u{0A0A}'), Just('\r'), Just('😀'), Just('é'),
                    // surrogate units that hold a 0x0A byte: DC0A (low), D80A (high)
                    Just('\u{1000A}'), Just('\u{12800}')
                ],
                0..80,
            ),
            // the BOM is looked for in the first buffer: at least its two bytes
            cap in 2usize..11,
            le in any::<bool>(),
        ) {
            let text: String = chars.into_iter().collect();
            let mut bytes: Vec<u8> = if le { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
            for u in text.encode_utf16() {
                bytes.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            let r = io::BufReader::with_capacity(cap, io::Cursor::new(bytes));
            let (mut src, _) = LineSource::open(r, encoding_rs::UTF_8).unwrap();
            let mut got = Vec::new();
            let mut line = Vec::new();
            while let Some(info) = src.next_line(&mut line).unwrap() {
                prop_assert!(!info.bad_encoding);
                got.push(String::from_utf8(line.clone()).unwrap());
            }
            let want: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
            prop_assert_eq!(got, want);
        }

        /// Pieces are at most `max` bytes, end their line exactly at each `\n` (and at the end
        /// of the input), and put back together are the input.
        #[test]
        fn pieces_rebuild_the_input_line_by_line(
            data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), any::<u8>()], 0..300),
            max in 1usize..20,
            cap in 1usize..16,
        ) {
            let r = io::BufReader::with_capacity(cap, io::Cursor::new(data.clone()));
            let mut src = LineSource::Bytes(r);
            let (mut out, mut piece, mut lines) = (Vec::new(), Vec::new(), 0);
            while let Some((ends, info)) = src.next_piece(&mut piece, max).unwrap() {
                prop_assert!(!piece.is_empty() && piece.len() <= max.max(1));
                let nl = piece.iter().position(|&b| b == b'\n');
                prop_assert!(nl.is_none_or(|i| i == piece.len() - 1), "a piece stops at its newline");
                prop_assert_eq!(ends, nl.is_some() || out.len() + piece.len() == data.len());
                prop_assert!(info.content_len <= piece.len());
                lines += usize::from(ends);
                out.extend_from_slice(&piece);
            }
            prop_assert_eq!(&out, &data);
            let want = data.iter().filter(|&&b| b == b'\n').count()
                + usize::from(!data.is_empty() && data.last() != Some(&b'\n'));
            prop_assert_eq!(lines, want);
        }
    }
}
