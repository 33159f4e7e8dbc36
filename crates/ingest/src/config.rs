//! Loading and validating `sources.toml`, and the preflight check of every file's header.
//!
//! [`load_config`] parses the file (syntax and schema errors carry `file:line:column`), then
//! validates everything before any data is touched and reports **all** problems at once:
//! unique source names; agency codes known (the five defaults plus `[[agency]]`); kinds, roles,
//! flags, time zones, encodings, delimiters and date formats valid; `record_key` non-empty;
//! each `files` glob (relative to the mapping file's folder) matching at least one file.
//! [`preflight`] then opens every file and checks that its header has every mapped column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono_tz::Tz;
use encoding_rs::Encoding;
use familiar_model::mapping::{FileFormat, SourceDef, SourcesConfig};
use familiar_model::{default_agencies, Agency};

use crate::error::{ConfigError, FileError, MissingColumns};
use crate::mapper::{Compiled, Mapper};
use crate::reader::{FileReader, HeaderSpec, OpenError, ReadOptions};

/// Zone used when neither the file nor the source names one.
pub const DEFAULT_TIMEZONE: &str = "America/New_York";

/// A validated mapping file.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: SourcesConfig,
    /// The mapping file itself.
    pub path: PathBuf,
    /// Its folder: `files` globs are relative to it.
    pub base_dir: PathBuf,
    /// Defaults plus `[[agency]]` (an `[[agency]]` with a default's code replaces it).
    pub agencies: Vec<Agency>,
    pub sources: Vec<SourcePlan>,
}

/// One source, ready to read.
#[derive(Debug, Clone)]
pub struct SourcePlan {
    pub def: SourceDef,
    /// The files its glob matched, sorted.
    pub files: Vec<PathBuf>,
    pub tz: Tz,
    pub agency: Agency,
    pub encoding: &'static Encoding,
    pub delimiter: u8,
    pub(crate) compiled: Arc<Compiled>,
}

impl SourcePlan {
    /// Validate and compile one source definition. Errors are messages without the source
    /// name (the caller prefixes it).
    pub fn new(
        def: SourceDef,
        files: Vec<PathBuf>,
        default_tz: Tz,
        agencies: &[Agency],
    ) -> Result<SourcePlan, Vec<String>> {
        let mut errs = Vec::new();
        let agency = agencies
            .iter()
            .find(|a| a.code == def.agency)
            .or_else(|| {
                agencies
                    .iter()
                    .find(|a| a.code.eq_ignore_ascii_case(def.agency.trim()))
            })
            .cloned();
        if agency.is_none() {
            errs.push(format!(
                "agency {:?} is not defined; known agencies: {} (add an [[agency]] table for others)",
                def.agency,
                agencies
                    .iter()
                    .map(|a| a.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let tz = match &def.timezone {
            None => default_tz,
            Some(t) => parse_tz(t).unwrap_or_else(|e| {
                errs.push(format!("timezone: {e}"));
                default_tz
            }),
        };
        let encoding = match &def.encoding {
            None => encoding_rs::UTF_8,
            Some(label) => parse_encoding(label).unwrap_or_else(|e| {
                errs.push(format!("encoding: {e}"));
                encoding_rs::UTF_8
            }),
        };
        if def.encoding.is_some() && matches!(def.format, FileFormat::Xlsx | FileFormat::Parquet) {
            errs.push(
                "encoding applies only to text formats (csv, jsonl, json, fixed): xlsx and \
                 parquet say their own"
                    .into(),
            );
        }
        // A JSON array is scanned byte by byte for its structure, which a legacy multi-byte
        // encoding would break (a Shift_JIS character's second byte can be `\`).
        if def.format == FileFormat::Json
            && !(encoding == encoding_rs::UTF_8
                || encoding == encoding_rs::UTF_16LE
                || encoding == encoding_rs::UTF_16BE
                || encoding.is_single_byte())
        {
            errs.push(format!(
                "encoding {:?} is not read for format = \"json\": use UTF-8, UTF-16 or a \
                 single-byte encoding, or convert the file (format = \"jsonl\" reads it line by \
                 line)",
                encoding.name()
            ));
        }
        let delimiter = match &def.delimiter {
            None => b',',
            Some(d) => parse_delimiter(d).unwrap_or_else(|e| {
                errs.push(format!("delimiter: {e}"));
                b','
            }),
        };
        if def.delimiter.is_some() && def.format != FileFormat::Csv {
            errs.push("delimiter applies only to format = \"csv\"".into());
        }
        // Rows are split on bytes before decoding: in a legacy multi-byte encoding (Shift_JIS,
        // Big5, GBK) the second byte of a character can be any of 0x40..=0x7E, so such a
        // delimiter would cut characters in two.
        let multi_byte_legacy = !(encoding == encoding_rs::UTF_8
            || encoding == encoding_rs::UTF_16LE
            || encoding == encoding_rs::UTF_16BE
            || encoding.is_single_byte());
        if def.format == FileFormat::Csv && multi_byte_legacy && (0x40..=0x7E).contains(&delimiter)
        {
            errs.push(format!(
                "delimiter {:?} can be part of a character in {}: use a comma, a semicolon or a \
                 tab, or convert the file to UTF-8",
                char::from(delimiter),
                encoding.name()
            ));
        }
        if def.sheet.is_some() && def.format != FileFormat::Xlsx {
            errs.push("sheet applies only to format = \"xlsx\"".into());
        }
        let tabular = matches!(def.format, FileFormat::Csv | FileFormat::Xlsx);
        let fixed = def.format == FileFormat::Fixed;
        if def.header_row.is_some() && !tabular && !fixed {
            errs.push("header_row applies only to format = \"csv\", \"xlsx\" or \"fixed\"".into());
        }
        if fixed {
            match (&def.columns, &def.widths) {
                (Some(c), Some(w)) if c.len() != w.len() => errs.push(format!(
                    "columns names {} columns but widths gives {} widths",
                    c.len(),
                    w.len()
                )),
                (Some(_), Some(w)) if w.contains(&0) => {
                    errs.push("widths: every width is at least 1 character".into())
                }
                (Some(_), Some(_)) => {}
                _ => errs.push(
                    "format = \"fixed\" needs columns (the names) and widths (characters per \
                     column), in order"
                        .into(),
                ),
            }
        } else if def.widths.is_some() {
            errs.push("widths applies only to format = \"fixed\"".into());
        }
        if def.header_row == Some(0) {
            errs.push("header_row is 1-based: the first line is 1".into());
        }
        if let Some(names) = &def.columns {
            if !tabular && !fixed {
                errs.push("columns applies only to format = \"csv\", \"xlsx\" or \"fixed\"".into());
            }
            if def.header_row.is_some() && !fixed {
                errs.push(
                    "header_row and columns exclude each other: columns is for a file with no \
                     header line"
                        .into(),
                );
            }
            if names.is_empty() {
                errs.push("columns is empty".into());
            }
            for (i, n) in names.iter().enumerate() {
                if n.trim().is_empty() {
                    errs.push(format!("columns: name {} is blank", i + 1));
                } else if names[..i]
                    .iter()
                    .any(|m| m.trim().eq_ignore_ascii_case(n.trim()))
                {
                    errs.push(format!("columns: {n:?} is named twice"));
                }
            }
        }
        if def.name.trim().is_empty() {
            errs.push("name is blank".into());
        }
        let code = agency.as_ref().map(|a| a.code.clone()).unwrap_or_default();
        let compiled = match Compiled::new(&def, &code, tz) {
            Ok(c) => Some(c),
            Err(mut e) => {
                errs.append(&mut e);
                None
            }
        };
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(SourcePlan {
            def,
            files,
            tz,
            agency: agency.expect("checked"),
            encoding,
            delimiter,
            compiled: Arc::new(compiled.expect("checked")),
        })
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// Every column the mapping reads.
    pub fn columns(&self) -> Vec<String> {
        self.compiled.columns()
    }

    /// Bind the mapping to a header (see [`Compiled::bind`]); Err lists the missing columns.
    pub fn bind(&self, names: &[String]) -> Result<Mapper<'_>, Vec<String>> {
        self.compiled.bind(names)
    }

    /// Options for the readers.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            format: self.def.format,
            delimiter: self.delimiter,
            encoding: self.encoding,
            sheet: self.def.sheet.clone(),
            header: match (&self.def.columns, self.def.header_row) {
                (Some(names), _) => HeaderSpec::Given(names.clone()),
                (None, Some(n)) => HeaderSpec::AtRow(n),
                (None, None) => HeaderSpec::FirstNonBlank,
            },
            widths: self.def.widths.clone().unwrap_or_default(),
            skip_through: match self.def.format {
                FileFormat::Fixed => self.def.header_row.unwrap_or(0),
                _ => 0,
            },
            known_columns: self.compiled.columns(),
        }
    }

    /// Replace the shelter phrases used for this source's addresses.
    pub fn set_shelter_words<S: AsRef<str>>(&mut self, words: &[S]) {
        let mut c = (*self.compiled).clone();
        c.address = crate::address::AddressNormalizer::new(words);
        self.compiled = Arc::new(c);
    }
}

/// An IANA zone name.
pub fn parse_tz(s: &str) -> Result<Tz, String> {
    s.trim().parse::<Tz>().map_err(|_| {
        format!("{s:?} is not an IANA time zone (e.g. \"America/New_York\", \"America/Chicago\", \"UTC\")")
    })
}

/// A WHATWG encoding label (`utf-8`, `windows-1252`, `latin1`, `utf-16le`, `shift_jis`, ...).
pub fn parse_encoding(label: &str) -> Result<&'static Encoding, String> {
    match Encoding::for_label(label.trim().as_bytes()) {
        None => Err(format!(
            "{label:?} is not a known encoding label (e.g. \"utf-8\", \"windows-1252\", \"latin1\", \"utf-16le\")"
        )),
        Some(e) if e == encoding_rs::REPLACEMENT => Err(format!(
            "{label:?} names an encoding that cannot be decoded safely"
        )),
        Some(e) if e == encoding_rs::ISO_2022_JP => Err(format!(
            "{label:?} (a stateful encoding) is not supported: convert the file to UTF-8"
        )),
        Some(e) => Ok(e),
    }
}

/// One delimiter byte; also the words `tab`, `comma`, `pipe`, `semicolon`, `space` and `\t`.
pub fn parse_delimiter(d: &str) -> Result<u8, String> {
    let b = match d.to_ascii_lowercase().as_str() {
        "tab" | "\\t" => b'\t',
        "comma" => b',',
        "pipe" => b'|',
        "semicolon" => b';',
        "space" => b' ',
        _ if d.len() == 1 => d.as_bytes()[0],
        _ => {
            return Err(format!(
                "{d:?} must be one character (or \"tab\", \"pipe\", \"semicolon\")"
            ))
        }
    };
    if matches!(b, b'"' | b'\n' | b'\r') || !b.is_ascii() {
        return Err(format!("{d:?} cannot be a delimiter"));
    }
    Ok(b)
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, col)
}

/// Keys a field table may have (for a precise message instead of serde's untagged-enum one).
const FIELD_TABLE_KEYS: &[&str] = &[
    "column",
    "columns",
    "value",
    "format",
    "layout",
    "map",
    "truthy",
    "separator",
    "required",
];

/// serde's message for a bad `[source.fields]` entry is "data did not match any variant of
/// untagged enum FieldSpecRepr"; find what is actually wrong.
fn explain_field_error(text: &str) -> Option<String> {
    let v: toml::Table = toml::from_str(text).ok()?;
    let sources = v.get("source")?.as_array()?;
    for (i, s) in sources.iter().enumerate() {
        let name = s.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        // the source's fields, then each party's
        let mut tables: Vec<(String, &toml::Table)> = Vec::new();
        if let Some(f) = s.get("fields").and_then(|f| f.as_table()) {
            tables.push(("fields".into(), f));
        }
        for (j, p) in s
            .get("party")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(f) = p.get("fields").and_then(|f| f.as_table()) {
                tables.push((format!("party {} fields", j + 1), f));
            }
        }
        for (fname, fv) in tables
            .iter()
            .flat_map(|(at, t)| t.iter().map(move |x| (at, x)))
            .map(|(at, (fname, fv))| (format!("{at}.{fname}"), fv))
        {
            let at = format!("source {} ({name:?}) {fname}", i + 1);
            match fv {
                toml::Value::String(_) => {}
                toml::Value::Table(t) => {
                    for (k, kv) in t {
                        if !FIELD_TABLE_KEYS.contains(&k.as_str()) {
                            return Some(format!(
                                "{at}: unknown key `{k}`, expected one of {}",
                                FIELD_TABLE_KEYS.join(", ")
                            ));
                        }
                        let ok = match k.as_str() {
                            "column" | "value" | "separator" | "layout" => kv.is_str(),
                            "columns" | "truthy" => {
                                kv.as_array().is_some_and(|a| a.iter().all(|x| x.is_str()))
                            }
                            "format" => {
                                kv.is_str()
                                    || kv.as_array().is_some_and(|a| a.iter().all(|x| x.is_str()))
                            }
                            "map" => kv
                                .as_table()
                                .is_some_and(|m| m.values().all(|x| x.is_str())),
                            "required" => kv.is_bool(),
                            _ => true,
                        };
                        if !ok {
                            return Some(format!("{at}: `{k}` has the wrong type"));
                        }
                        if k == "layout" {
                            let l = kv.as_str().unwrap_or("");
                            const LAYOUTS: [&str; 5] = [
                                "last_comma_first_middle",
                                "first_middle_last",
                                "last_first_middle",
                                "first_last_initial",
                                "first_only",
                            ];
                            if !LAYOUTS.contains(&l) {
                                return Some(format!(
                                    "{at}: unknown layout {l:?}, expected one of {}",
                                    LAYOUTS.join(", ")
                                ));
                            }
                        }
                    }
                }
                _ => {
                    return Some(format!(
                    "{at}: expected a column name (string) or a table like {{ column = \"...\" }}"
                ))
                }
            }
        }
    }
    None
}

/// Parse a mapping from text (no file system access: globs are not resolved).
pub fn parse_config(text: &str, path: &Path) -> Result<SourcesConfig, ConfigError> {
    toml::from_str::<SourcesConfig>(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        let mut message = e.message().trim().to_string();
        if message.contains("untagged enum FieldSpecRepr") {
            if let Some(better) = explain_field_error(text) {
                message = better;
            }
        }
        ConfigError::Toml {
            file: path.to_path_buf(),
            line,
            column,
            message,
        }
    })
}

/// Load, validate and plan a mapping file.
pub fn load_config(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        file: path.to_path_buf(),
        source: e,
    })?;
    let config = parse_config(&text, path)?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    validate(config, path, &base_dir)
}

/// Validate a parsed mapping; `base_dir` anchors the globs.
pub fn validate(
    config: SourcesConfig,
    path: &Path,
    base_dir: &Path,
) -> Result<LoadedConfig, ConfigError> {
    let mut problems: Vec<String> = Vec::new();

    let default_tz = match &config.timezone {
        None => parse_tz(DEFAULT_TIMEZONE).expect("valid"),
        Some(t) => parse_tz(t).unwrap_or_else(|e| {
            problems.push(format!("timezone: {e}"));
            parse_tz(DEFAULT_TIMEZONE).expect("valid")
        }),
    };

    let mut agencies = default_agencies();
    let mut seen_codes: Vec<&str> = Vec::new();
    for a in &config.agencies {
        if !Agency::valid_code(&a.code) {
            problems.push(format!(
                "agency {:?}: code must be upper-case letters, digits and _",
                a.code
            ));
            continue;
        }
        if seen_codes.contains(&a.code.as_str()) {
            problems.push(format!("agency {:?} is defined twice", a.code));
            continue;
        }
        seen_codes.push(&a.code);
        match agencies.iter_mut().find(|x| x.code == a.code) {
            Some(x) => *x = a.clone(),
            None => agencies.push(a.clone()),
        }
    }

    if config.sources.is_empty() {
        problems.push("no [[source]] tables: nothing to ingest".into());
    }
    let mut names: Vec<&str> = Vec::new();
    let mut plans = Vec::new();
    for (i, def) in config.sources.iter().enumerate() {
        let label = if def.name.trim().is_empty() {
            format!("source {}", i + 1)
        } else {
            format!("source {:?}", def.name)
        };
        if names.contains(&def.name.as_str()) {
            problems.push(format!("{label}: name is used by an earlier source"));
        }
        names.push(&def.name);
        let files = match resolve_glob(base_dir, &def.files) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("{label}: {e}"));
                vec![]
            }
        };
        match SourcePlan::new(def.clone(), files, default_tz, &agencies) {
            Ok(p) => plans.push(p),
            Err(es) => problems.extend(es.into_iter().map(|e| format!("{label}: {e}"))),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::Invalid {
            file: path.to_path_buf(),
            problems,
        });
    }
    Ok(LoadedConfig {
        config,
        path: path.to_path_buf(),
        base_dir: base_dir.to_path_buf(),
        agencies,
        sources: plans,
    })
}

/// The files matching `pattern` (relative to `base`), sorted; an error when none match.
pub fn resolve_glob(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    if pattern.trim().is_empty() {
        return Err("files is blank".into());
    }
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_string()
    } else {
        let b = glob::Pattern::escape(&base.to_string_lossy());
        format!("{}/{}", b.trim_end_matches('/'), pattern)
    };
    let paths =
        glob::glob(&full).map_err(|e| format!("files {pattern:?} is not a valid glob: {e}"))?;
    let mut files: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "files {pattern:?} matches no file (looked in {})",
            base.display()
        ));
    }
    Ok(files)
}

/// Open every file of every source and check its header has every mapped column.
/// An empty (0-byte) file is an error; a header-only file is fine.
pub fn preflight(cfg: &LoadedConfig) -> Result<(), ConfigError> {
    for plan in &cfg.sources {
        for file in &plan.files {
            preflight_file(plan, file)?;
        }
    }
    Ok(())
}

/// [`preflight`] for one file.
pub fn preflight_file(plan: &SourcePlan, file: &Path) -> Result<(), ConfigError> {
    let opts = plan.read_options();
    let mut reader = match FileReader::open(file, &opts) {
        Ok(r) => r,
        Err(OpenError::Io(f, e)) => return Err(ConfigError::DataIo { file: f, source: e }),
        Err(OpenError::File(e)) => return Err(e.into()),
    };
    match plan.def.format {
        FileFormat::Jsonl | FileFormat::Json => {
            // No header: look at the first lines' keys for the essential columns.
            let mut seen: Vec<String> = Vec::new();
            let mut rows = 0;
            while let Some(r) = reader.next_row() {
                if let Ok(row) = r {
                    for (k, _) in row.columns() {
                        if !seen.iter().any(|s| s == k) {
                            seen.push(k.to_string());
                        }
                    }
                    rows += 1;
                }
                if rows >= 1000 {
                    break;
                }
            }
            if rows == 0 {
                return Ok(());
            }
            let missing: Vec<String> = plan
                .compiled
                .essential_columns()
                .into_iter()
                .filter(|c| !seen.iter().any(|s| s == c || s.eq_ignore_ascii_case(c)))
                .collect();
            if !missing.is_empty() {
                return Err(FileError::MissingColumns(Box::new(MissingColumns {
                    file: file.to_path_buf(),
                    source_name: plan.def.name.clone(),
                    sheet: None,
                    missing,
                    header: seen,
                    hint: Some("no line in the first 1000 has these keys".into()),
                }))
                .into());
            }
            Ok(())
        }
        _ => {
            let header = reader.names().to_vec();
            match plan.bind(&header) {
                Ok(_) => Ok(()),
                Err(missing) => {
                    let tabular = matches!(plan.def.format, FileFormat::Csv | FileFormat::Xlsx);
                    let below =
                        if tabular && plan.def.header_row.is_none() && plan.def.columns.is_none() {
                            header_further_down(&mut reader, plan.delimiter, &missing)
                        } else {
                            None
                        };
                    let mut e = missing_columns(plan, file, header, missing);
                    if let (Some(line), FileError::MissingColumns(m)) = (below, &mut e) {
                        let what = if plan.def.format == FileFormat::Xlsx {
                            "sheet row"
                        } else {
                            "line"
                        };
                        m.hint = Some(format!(
                            "the header looks to be on {what} {line}, below a title: set \
                             header_row = {line}"
                        ));
                    }
                    Err(e.into())
                }
            }
        }
    }
}

/// The line (sheet row) among the next few whose values include every `missing` column, when
/// the header was taken from a title above the real one.
fn header_further_down(reader: &mut FileReader, delimiter: u8, missing: &[String]) -> Option<u64> {
    let has_all = |fields: &[String]| {
        missing
            .iter()
            .all(|m| fields.iter().any(|f| f.eq_ignore_ascii_case(m.trim())))
    };
    for _ in 0..30 {
        let (line, fields): (u64, Vec<String>) = match reader.next_row()? {
            Ok(row) => (
                row.row_number,
                row.columns().map(|(_, v)| v.trim().to_string()).collect(),
            ),
            // a real header under a one-column title does not fit it: it comes back rejected
            Err(r) => (
                r.row_number,
                String::from_utf8_lossy(&r.raw)
                    .split(delimiter as char)
                    .map(|f| f.trim().trim_matches('"').trim().to_string())
                    .collect(),
            ),
        };
        if has_all(&fields) {
            return Some(line);
        }
    }
    None
}

/// The error for a header lacking mapped columns, with a delimiter hint when it applies.
pub(crate) fn missing_columns(
    plan: &SourcePlan,
    file: &Path,
    header: Vec<String>,
    missing: Vec<String>,
) -> FileError {
    let mut hint = None;
    if plan.def.format == FileFormat::Csv && header.len() == 1 {
        let h = &header[0];
        let found: Vec<char> = [',', ';', '\t', '|']
            .into_iter()
            .filter(|c| *c as u8 != plan.delimiter && h.contains(*c))
            .collect();
        if let Some(c) = found.first() {
            let shown = match c {
                '\t' => "tab".to_string(),
                c => format!("'{c}'"),
            };
            hint = Some(format!(
                "is the delimiter right? the header parsed as one column and looks {shown}-delimited; set delimiter = {:?}",
                if *c == '\t' { "\t".to_string() } else { c.to_string() }
            ));
        } else {
            hint = Some("is the delimiter right? the header parsed as one column".into());
        }
    }
    FileError::MissingColumns(Box::new(MissingColumns {
        file: file.to_path_buf(),
        source_name: plan.def.name.clone(),
        sheet: plan.def.sheet.clone(),
        missing,
        header,
        hint,
    }))
}
