//! Running SQL over a snapshot, reading small results back, and writing results out
//! (`familiar sql`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;

use crate::{EngineError, Result};

/// Options that make a session read-only: no DDL (CREATE/DROP), no DML (INSERT/COPY), no
/// statements (SET, transactions). Analysts' SQL runs under these.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Run one read-only SQL statement and collect the batches.
pub async fn run(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    let df = ctx.sql_with_options(sql, read_only()).await?;
    Ok(df.collect().await?)
}

/// Run a statement and register its result as an in-memory table called `name`, so later
/// statements reuse it instead of recomputing it.
pub async fn materialize(ctx: &SessionContext, name: &str, sql: &str) -> Result<()> {
    let df = ctx.sql_with_options(sql, read_only()).await?;
    let cached = df.cache().await?;
    ctx.register_table(name, cached.into_view())?;
    Ok(())
}

fn column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    b.column_by_name(name)
        .ok_or_else(|| EngineError::Invalid(format!("query result has no column {name:?}")))
}

/// A column as i64s (nulls as None), whatever integer type the plan produced.
pub fn i64s(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<i64>>> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(column(b, name)?, &DataType::Int64)?;
        let a = a.as_primitive::<Int64Type>();
        out.extend((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i))));
    }
    Ok(out)
}

/// A column as f64s.
pub fn f64s(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(column(b, name)?, &DataType::Float64)?;
        let a = a.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        out.extend((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i))));
    }
    Ok(out)
}

/// A column as strings (any string, date or number type is cast to text).
pub fn strings(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<String>>> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(column(b, name)?, &DataType::Utf8)?;
        let a = a.as_string::<i32>();
        out.extend((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i).to_string())));
    }
    Ok(out)
}

/// A boolean column.
pub fn bools(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<bool>>> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(column(b, name)?, &DataType::Boolean)?;
        let a = a.as_boolean();
        out.extend((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i))));
    }
    Ok(out)
}

/// Output formats for query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Parquet,
    Table,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "parquet" => Ok(Format::Parquet),
            "table" => Ok(Format::Table),
            _ => Err(format!(
                "format must be csv, json, parquet or table, got {s:?}"
            )),
        }
    }
}

/// Write batches as CSV (header + rows), JSON (an array of objects) or an aligned text table.
/// Parquet goes to a file: see [`write_parquet_file`].
pub fn write_text(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: Format,
) -> Result<()> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut cols: Vec<Vec<Option<String>>> = Vec::new();
    for n in &names {
        cols.push(strings(batches, n)?);
    }
    let rows = cols.first().map_or(0, |c| c.len());
    let io = |e: std::io::Error| EngineError::io(Path::new("<output>"), e);
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&names)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            for r in 0..rows {
                w.write_record(cols.iter().map(|c| c[r].as_deref().unwrap_or("")))
                    .map_err(|e| EngineError::Invalid(e.to_string()))?;
            }
            w.flush().map_err(io)?;
        }
        Format::Json => {
            let numeric: Vec<bool> = schema
                .fields()
                .iter()
                .map(|f| f.data_type().is_numeric())
                .collect();
            let mut arr = Vec::with_capacity(rows);
            for r in 0..rows {
                let mut obj = serde_json::Map::new();
                for (i, (n, col)) in names.iter().zip(&cols).enumerate() {
                    let v = match &col[r] {
                        None => serde_json::Value::Null,
                        Some(s) if numeric[i] => serde_json::from_str(s)
                            .unwrap_or_else(|_| serde_json::Value::String(s.clone())),
                        Some(s) if schema.field(i).data_type() == &DataType::Boolean => {
                            serde_json::Value::Bool(s == "true")
                        }
                        Some(s) => serde_json::Value::String(s.clone()),
                    };
                    obj.insert(n.clone(), v);
                }
                arr.push(serde_json::Value::Object(obj));
            }
            serde_json::to_writer_pretty(&mut *out, &arr)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            writeln!(out).map_err(io)?;
        }
        Format::Table => {
            let widths: Vec<usize> = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    cols[i]
                        .iter()
                        .map(|v| v.as_deref().unwrap_or("").chars().count())
                        .max()
                        .unwrap_or(0)
                        .max(n.chars().count())
                })
                .collect();
            let line: Vec<String> = names
                .iter()
                .zip(&widths)
                .map(|(n, w)| format!("{n:<w$}"))
                .collect();
            writeln!(out, "{}", line.join("  ").trim_end()).map_err(io)?;
            for r in 0..rows {
                let line: Vec<String> = cols
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{:<w$}", c[r].as_deref().unwrap_or("")))
                    .collect();
                writeln!(out, "{}", line.join("  ").trim_end()).map_err(io)?;
            }
            writeln!(out, "({rows} rows)").map_err(io)?;
        }
        Format::Parquet => {
            return Err(EngineError::Invalid(
                "Parquet output needs a file: give --out FILE".into(),
            ))
        }
    }
    Ok(())
}

/// Write batches to a Parquet file.
pub fn write_parquet_file(path: &Path, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| EngineError::io(path, e))?;
    crate::snapshot::write_parquet(file, path, Arc::clone(schema), batches)
}

/// Run an analyst's SQL: read-only, one statement.
pub async fn analyst_query(
    ctx: &SessionContext,
    sql: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let df = ctx.sql_with_options(sql, read_only()).await?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    Ok((schema, batches))
}
