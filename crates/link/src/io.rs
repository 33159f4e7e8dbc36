//! Reading input files (CSV / TSV, and Parquet with the `parquet` feature) into a [`Table`](crate::data::Table), and
//! writing `clusters.csv` / `pairs.csv`.

use crate::data::{ColumnBuilder, TableParts, NULL};
use crate::error::LinkError;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// One input file and the source name its rows get (unless a source column is given).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub source_name: String,
}

/// How the evaluation label is read (evaluation only).
#[derive(Debug, Clone, Default)]
pub struct TruthSpec {
    pub column: String,
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
}

impl TruthSpec {
    /// The label text of a raw value (`rec-12-dup-0` with prefix `rec-` and delimiter `-` → `12`).
    pub fn label<'a>(&self, raw: &'a str) -> &'a str {
        let mut s = raw.trim();
        if let Some(p) = &self.prefix {
            match s.strip_prefix(p.as_str()) {
                Some(r) => s = r,
                None => return s,
            }
        }
        if let Some(d) = &self.delimiter {
            if let Some(i) = s.find(d.as_str()) {
                s = &s[..i];
            }
        }
        s
    }
}

/// What to read.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    pub id_column: String,
    pub source_column: Option<String>,
    /// (column, what needs it)
    pub columns: Vec<(String, String)>,
    pub truth: Option<TruthSpec>,
    pub nulls: Vec<String>,
}

enum Format {
    Csv(u8),
    #[cfg(feature = "parquet")]
    Parquet,
}

fn format_of(path: &Path) -> Result<Format, LinkError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "txt" => Ok(Format::Csv(b',')),
        "tsv" | "tab" => Ok(Format::Csv(b'\t')),
        #[cfg(feature = "parquet")]
        "parquet" | "pq" => Ok(Format::Parquet),
        _ => Err(LinkError::UnsupportedFormat {
            path: path.to_path_buf(),
        }),
    }
}

struct Builders {
    ids: Vec<Box<str>>,
    source: Vec<u32>,
    source_names: Vec<String>,
    cols: Vec<ColumnBuilder>,
    truth: Option<ColumnBuilder>,
}

impl Builders {
    fn source_index(&mut self, name: &str) -> u32 {
        match self.source_names.iter().position(|s| s == name) {
            Some(i) => i as u32,
            None => {
                self.source_names.push(name.to_string());
                (self.source_names.len() - 1) as u32
            }
        }
    }
}

/// Read the files into table parts (not yet in canonical order).
pub fn read_inputs(files: &[InputFile], plan: &ReadPlan) -> Result<TableParts, LinkError> {
    let nulls: Vec<String> = plan
        .nulls
        .iter()
        .map(|n| crate::compare::normalize(n))
        .collect();
    let mut b = Builders {
        ids: Vec::new(),
        source: Vec::new(),
        source_names: Vec::new(),
        cols: plan
            .columns
            .iter()
            .map(|(c, _)| ColumnBuilder::new(c))
            .collect(),
        truth: plan.truth.as_ref().map(|_| ColumnBuilder::new("truth")),
    };
    for f in files {
        match format_of(&f.path)? {
            Format::Csv(delim) => read_csv(f, plan, &nulls, delim, &mut b)?,
            #[cfg(feature = "parquet")]
            Format::Parquet => read_parquet(f, plan, &nulls, &mut b)?,
        }
    }
    let truth = b.truth.map(|t| t.finish().codes);
    Ok(TableParts {
        ids: b.ids,
        source: b.source,
        source_names: b.source_names,
        columns: b.cols.into_iter().map(ColumnBuilder::finish).collect(),
        truth,
    })
}

fn missing(path: &Path, column: &str, needed_by: &str, available: &[String]) -> LinkError {
    LinkError::MissingColumn {
        path: path.to_path_buf(),
        column: column.to_string(),
        needed_by: needed_by.to_string(),
        available: available.join(", "),
    }
}

fn read_csv(
    f: &InputFile,
    plan: &ReadPlan,
    nulls: &[String],
    delim: u8,
    b: &mut Builders,
) -> Result<(), LinkError> {
    let file = std::fs::File::open(&f.path).map_err(|e| LinkError::Io {
        path: f.path.clone(),
        source: e,
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| LinkError::Csv {
            path: f.path.clone(),
            row: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let find = |c: &str, why: &str| -> Result<usize, LinkError> {
        headers
            .iter()
            .position(|h| h == c)
            .ok_or_else(|| missing(&f.path, c, why, &headers))
    };
    let id_i = find(&plan.id_column, "id_column")?;
    let src_i = plan
        .source_column
        .as_deref()
        .map(|c| find(c, "source_column"))
        .transpose()?;
    let col_i: Vec<usize> = plan
        .columns
        .iter()
        .map(|(c, why)| find(c, why))
        .collect::<Result<_, _>>()?;
    let truth_i = plan
        .truth
        .as_ref()
        .map(|t| find(&t.column, "truth column"))
        .transpose()?;
    let file_source = b.source_index(&f.source_name);
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let row = e.position().map_or(0, |p| p.line());
                return Err(LinkError::Csv {
                    path: f.path.clone(),
                    row,
                    message: e.to_string(),
                });
            }
        }
        let row = rec.position().map_or(0, |p| p.line());
        let id = rec.get(id_i).unwrap_or("").trim();
        if id.is_empty() {
            return Err(LinkError::EmptyId {
                path: f.path.clone(),
                row,
                column: plan.id_column.clone(),
            });
        }
        b.ids.push(id.into());
        let s = match src_i {
            Some(i) => {
                let v = rec.get(i).unwrap_or("").trim().to_string();
                b.source_index(&v)
            }
            None => file_source,
        };
        b.source.push(s);
        for (k, &i) in col_i.iter().enumerate() {
            b.cols[k].push(rec.get(i), nulls);
        }
        if let (Some(t), Some(i), Some(ts)) = (b.truth.as_mut(), truth_i, plan.truth.as_ref()) {
            let raw = rec.get(i).unwrap_or("");
            let l = ts.label(raw);
            if l.is_empty() {
                t.push_code(NULL);
            } else {
                let c = t.intern(l);
                t.push_code(c);
            }
        }
    }
    Ok(())
}

#[cfg(feature = "parquet")]
fn read_parquet(
    f: &InputFile,
    plan: &ReadPlan,
    nulls: &[String],
    b: &mut Builders,
) -> Result<(), LinkError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let perr = |m: String| LinkError::Parquet {
        path: f.path.clone(),
        message: m,
    };
    let open = || -> Result<SerializedFileReader<std::fs::File>, LinkError> {
        let file = std::fs::File::open(&f.path).map_err(|e| LinkError::Io {
            path: f.path.clone(),
            source: e,
        })?;
        SerializedFileReader::new(file).map_err(|e| perr(e.to_string()))
    };
    let reader = open()?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<String> = (0..schema.num_columns())
        .map(|i| schema.column(i).path().string())
        .collect();
    let find = |c: &str, why: &str| -> Result<usize, LinkError> {
        names
            .iter()
            .position(|h| h == c)
            .ok_or_else(|| missing(&f.path, c, why, &names))
    };
    let id_i = find(&plan.id_column, "id_column")?;
    let src_i = plan
        .source_column
        .as_deref()
        .map(|c| find(c, "source_column"))
        .transpose()?;
    let col_i: Vec<usize> = plan
        .columns
        .iter()
        .map(|(c, why)| find(c, why))
        .collect::<Result<_, _>>()?;
    let truth_i = plan
        .truth
        .as_ref()
        .map(|t| find(&t.column, "truth column"))
        .transpose()?;
    drop(reader);

    // id, source and truth as raw strings; comparison columns interned straight into builders,
    // one column per task.
    let raw_col = |i: usize| -> Result<Vec<Option<String>>, LinkError> {
        let mut out = Vec::new();
        read_parquet_column(&open()?, i, &mut |v| out.push(v.map(str::to_string))).map_err(perr)?;
        Ok(out)
    };
    // ids / source / truth in one task, the compared columns (interned as they are read) in
    // the others
    type Head = (
        Vec<Box<str>>,
        Option<Vec<Option<String>>>,
        Option<Vec<Option<String>>>,
    );
    let cols = &mut b.cols;
    let (head, results) = rayon::join(
        || -> Result<Head, LinkError> {
            let mut ids: Vec<Box<str>> = Vec::new();
            let mut empty: Option<usize> = None;
            read_parquet_column(&open()?, id_i, &mut |v| match v.map(str::trim) {
                Some(t) if !t.is_empty() => ids.push(t.into()),
                _ => {
                    empty.get_or_insert(ids.len());
                    ids.push("".into());
                }
            })
            .map_err(perr)?;
            if let Some(k) = empty {
                return Err(LinkError::EmptyId {
                    path: f.path.clone(),
                    row: k as u64 + 1,
                    column: plan.id_column.clone(),
                });
            }
            let src = src_i.map(raw_col).transpose()?;
            let truth = truth_i.map(raw_col).transpose()?;
            Ok((ids, src, truth))
        },
        || -> Vec<Result<(), LinkError>> {
            cols.par_iter_mut()
                .zip(col_i.par_iter())
                .map(|(cb, &i)| {
                    let r = open()?;
                    read_parquet_column(&r, i, &mut |v| cb.push(v, nulls)).map_err(perr)
                })
                .collect()
        },
    );
    for r in results {
        r?;
    }
    let (ids, src, truth) = head?;
    let n = ids.len();
    b.ids.extend(ids);
    match src {
        Some(vals) => {
            for v in vals {
                let s = b.source_index(v.as_deref().unwrap_or("").trim());
                b.source.push(s);
            }
        }
        None => {
            let s = b.source_index(&f.source_name);
            b.source.extend(std::iter::repeat_n(s, n));
        }
    }
    if let (Some(t), Some(vals), Some(ts)) = (b.truth.as_mut(), truth, plan.truth.as_ref()) {
        for v in vals {
            match v.as_deref().map(|r| ts.label(r)).filter(|l| !l.is_empty()) {
                Some(l) => {
                    let c = t.intern(l);
                    t.push_code(c);
                }
                None => t.push_code(NULL),
            }
        }
    }
    for cb in &b.cols {
        if cb.len() != b.ids.len() {
            return Err(perr(format!(
                "column {} has {} values, expected {}",
                cb.name,
                cb.len(),
                b.ids.len()
            )));
        }
    }
    Ok(())
}

#[cfg(feature = "parquet")]
fn read_parquet_column(
    reader: &parquet::file::reader::SerializedFileReader<std::fs::File>,
    col: usize,
    sink: &mut dyn FnMut(Option<&str>),
) -> Result<(), String> {
    use parquet::column::reader::ColumnReader;
    use parquet::file::reader::FileReader;
    const BATCH: usize = 8192;
    let md = reader.metadata();
    let max_def = md
        .file_metadata()
        .schema_descr()
        .column(col)
        .max_def_level();
    let mut def: Vec<i16> = Vec::with_capacity(BATCH);
    let mut sbuf = String::new();
    macro_rules! drain {
        ($r:expr, $vals:expr, $v:ident => $emit:block) => {{
            loop {
                def.clear();
                $vals.clear();
                let (recs, _, _) = $r
                    .read_records(
                        BATCH,
                        if max_def > 0 { Some(&mut def) } else { None },
                        None,
                        &mut $vals,
                    )
                    .map_err(|e| e.to_string())?;
                if recs == 0 {
                    break;
                }
                let mut vi = 0;
                for k in 0..recs {
                    if max_def == 0 || def[k] == max_def {
                        let $v = &$vals[vi];
                        vi += 1;
                        $emit
                    } else {
                        sink(None);
                    }
                }
            }
        }};
    }
    use std::fmt::Write;
    for rg in 0..md.num_row_groups() {
        let rgr = reader.get_row_group(rg).map_err(|e| e.to_string())?;
        match rgr.get_column_reader(col).map_err(|e| e.to_string())? {
            ColumnReader::ByteArrayColumnReader(mut r) => {
                let mut vals: Vec<parquet::data_type::ByteArray> = Vec::with_capacity(BATCH);
                drain!(r, vals, v => {
                    match v.as_utf8() {
                        Ok(s) => sink(Some(s)),
                        Err(_) => sink(Some(&String::from_utf8_lossy(v.data()))),
                    }
                });
            }
            ColumnReader::Int64ColumnReader(mut r) => {
                let mut vals: Vec<i64> = Vec::with_capacity(BATCH);
                drain!(r, vals, v => { sbuf.clear(); let _ = write!(sbuf, "{v}"); sink(Some(&sbuf)); });
            }
            ColumnReader::Int32ColumnReader(mut r) => {
                let mut vals: Vec<i32> = Vec::with_capacity(BATCH);
                drain!(r, vals, v => { sbuf.clear(); let _ = write!(sbuf, "{v}"); sink(Some(&sbuf)); });
            }
            ColumnReader::DoubleColumnReader(mut r) => {
                let mut vals: Vec<f64> = Vec::with_capacity(BATCH);
                drain!(r, vals, v => { sbuf.clear(); let _ = write!(sbuf, "{v}"); sink(Some(&sbuf)); });
            }
            ColumnReader::FloatColumnReader(mut r) => {
                let mut vals: Vec<f32> = Vec::with_capacity(BATCH);
                drain!(r, vals, v => { sbuf.clear(); let _ = write!(sbuf, "{v}"); sink(Some(&sbuf)); });
            }
            ColumnReader::BoolColumnReader(mut r) => {
                let mut vals: Vec<bool> = Vec::with_capacity(BATCH);
                drain!(r, vals, v => { sink(Some(if *v { "true" } else { "false" })); });
            }
            _ => {
                return Err(format!(
                    "column {col}: unsupported physical type (INT96 / fixed-length)"
                ))
            }
        }
    }
    Ok(())
}

/// Write `source,record_id,cluster_id` rows (records in canonical order).
pub fn write_clusters(
    path: &Path,
    rows: impl Iterator<Item = (String, String, String)>,
) -> Result<(), LinkError> {
    let werr = |e: String| LinkError::Write {
        path: path.to_path_buf(),
        message: e,
    };
    let mut w = csv::Writer::from_path(path).map_err(|e| werr(e.to_string()))?;
    w.write_record(["source", "record_id", "cluster_id"])
        .map_err(|e| werr(e.to_string()))?;
    for (s, r, c) in rows {
        w.write_record([s.as_str(), r.as_str(), c.as_str()])
            .map_err(|e| werr(e.to_string()))?;
    }
    w.flush().map_err(|e| werr(e.to_string()))
}

/// A scored pair for `pairs.csv`.
pub struct PairRow<'a> {
    pub left_source: &'a str,
    pub left_id: &'a str,
    pub right_source: &'a str,
    pub right_id: &'a str,
    pub match_weight: f64,
    pub match_probability: f64,
}

pub fn write_pairs<'a>(
    path: &Path,
    rows: impl Iterator<Item = PairRow<'a>>,
) -> Result<(), LinkError> {
    let werr = |e: String| LinkError::Write {
        path: path.to_path_buf(),
        message: e,
    };
    let mut w = csv::Writer::from_path(path).map_err(|e| werr(e.to_string()))?;
    w.write_record([
        "left_source",
        "left_id",
        "right_source",
        "right_id",
        "match_weight",
        "match_probability",
    ])
    .map_err(|e| werr(e.to_string()))?;
    for r in rows {
        w.write_record([
            r.left_source,
            r.left_id,
            r.right_source,
            r.right_id,
            &format!("{:.4}", r.match_weight),
            &format!("{:.6}", r.match_probability),
        ])
        .map_err(|e| werr(e.to_string()))?;
    }
    w.flush().map_err(|e| werr(e.to_string()))
}

/// Read labelled pairs `(id_l, id_r, is_match)` from a CSV.
pub fn read_labels(
    path: &Path,
    l: &str,
    r: &str,
    label: &str,
) -> Result<Vec<(String, String, bool)>, LinkError> {
    let file = std::fs::File::open(path).map_err(|e| LinkError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| LinkError::Labels {
            path: path.to_path_buf(),
            row: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let find = |c: &str| -> Result<usize, LinkError> {
        headers
            .iter()
            .position(|h| h == c)
            .ok_or_else(|| missing(path, c, "training.labels", &headers))
    };
    let (li, ri, si) = (find(l)?, find(r)?, find(label)?);
    let mut out = Vec::new();
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| LinkError::Labels {
            path: path.to_path_buf(),
            row: k as u64 + 2,
            message: e.to_string(),
        })?;
        let score: f64 = rec
            .get(si)
            .unwrap_or("")
            .parse()
            .map_err(|_| LinkError::Labels {
                path: path.to_path_buf(),
                row: k as u64 + 2,
                message: format!("label {:?} is not a number", rec.get(si).unwrap_or("")),
            })?;
        out.push((
            rec.get(li).unwrap_or("").to_string(),
            rec.get(ri).unwrap_or("").to_string(),
            score >= 0.5,
        ));
    }
    Ok(out)
}
