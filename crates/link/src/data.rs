//! Records in memory: one interned column per field, records in a canonical order.
//!
//! Values are normalized (trimmed, lower-cased, inner whitespace collapsed) and interned: each
//! column is a dictionary of distinct values plus one `u32` code per record, so exact equality is
//! a code comparison, term frequencies are counts per code, and derived keys (phonetic codes,
//! substrings, years) are computed once per distinct value.
//!
//! Records are sorted by `(source, id)` when the table is finished, so every later step (random
//! sampling included) sees the same records in the same order whatever the input order was.

use crate::compare::normalize;
use crate::error::LinkError;
use crate::spec::KeyExpr;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Code of a null value.
pub const NULL: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
pub struct Column {
    pub name: String,
    pub codes: Vec<u32>,
    pub values: Vec<Box<str>>,
}

impl Column {
    pub fn value(&self, rec: usize) -> Option<&str> {
        let c = self.codes[rec];
        (c != NULL).then(|| &*self.values[c as usize])
    }
    /// Records per distinct value.
    pub fn counts(&self) -> Vec<u32> {
        let mut n = vec![0u32; self.values.len()];
        for &c in &self.codes {
            if c != NULL {
                n[c as usize] += 1;
            }
        }
        n
    }
}

/// Interns one column while rows are read.
#[derive(Debug, Default)]
pub struct ColumnBuilder {
    pub name: String,
    /// 64-bit hash of a value -> its code (the value is checked against `values`).
    map: FxHashMap<u64, u32>,
    /// Values whose hash collided with a different value's.
    collided: FxHashMap<Box<str>, u32>,
    values: Vec<Box<str>>,
    codes: Vec<u32>,
}

fn hash_str(v: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    h.write(v.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

impl ColumnBuilder {
    pub fn new(name: &str) -> Self {
        ColumnBuilder {
            name: name.to_string(),
            ..Default::default()
        }
    }

    pub fn with_capacity(name: &str, n: usize) -> Self {
        let mut b = Self::new(name);
        b.codes.reserve(n);
        b
    }

    /// Push a raw value (normalized here); empty or a null token becomes null.
    pub fn push(&mut self, raw: Option<&str>, nulls: &[String]) {
        let code = match raw {
            None => NULL,
            Some(r) => {
                let fast = !r.is_empty()
                    && r.bytes()
                        .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase() || b == b' ')
                    && !r.starts_with(' ')
                    && !r.ends_with(' ')
                    && !r.contains("  ");
                if fast {
                    self.intern_checked(r, nulls)
                } else {
                    let n = normalize(r);
                    self.intern_checked(&n, nulls)
                }
            }
        };
        self.codes.push(code);
    }

    fn intern_checked(&mut self, v: &str, nulls: &[String]) -> u32 {
        if v.is_empty() || nulls.iter().any(|n| n == v) {
            return NULL;
        }
        self.intern(v)
    }

    pub fn intern(&mut self, v: &str) -> u32 {
        let h = hash_str(v);
        match self.map.get(&h) {
            Some(&c) if &*self.values[c as usize] == v => c,
            Some(_) => {
                if let Some(&c) = self.collided.get(v) {
                    return c;
                }
                let c = self.values.len() as u32;
                self.values.push(v.into());
                self.collided.insert(v.into(), c);
                c
            }
            None => {
                let c = self.values.len() as u32;
                self.values.push(v.into());
                self.map.insert(h, c);
                c
            }
        }
    }

    pub fn push_code(&mut self, c: u32) {
        self.codes.push(c);
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn finish(self) -> Column {
        Column {
            name: self.name,
            codes: self.codes,
            values: self.values,
        }
    }
}

/// The records being linked.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Record ids as given (trimmed, case kept).
    pub ids: Vec<Box<str>>,
    /// Source index per record.
    pub source: Vec<u32>,
    pub source_names: Vec<String>,
    pub columns: Vec<Column>,
    /// True entity label per record (evaluation only), `NULL` when unknown.
    pub truth: Option<Vec<u32>>,
    derived: FxHashMap<String, usize>,
}

/// Raw pieces of a table before canonical ordering.
#[derive(Debug, Default)]
pub struct TableParts {
    pub ids: Vec<Box<str>>,
    pub source: Vec<u32>,
    pub source_names: Vec<String>,
    pub columns: Vec<Column>,
    pub truth: Option<Vec<u32>>,
}

impl Table {
    /// Sort records by (source name, id), check id uniqueness per source.
    pub fn from_parts(p: TableParts) -> Result<Table, LinkError> {
        let n = p.ids.len();
        let mut perm: Vec<u32> = (0..n as u32).collect();
        let names = &p.source_names;
        perm.par_sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            names[p.source[a] as usize]
                .cmp(&names[p.source[b] as usize])
                .then_with(|| p.ids[a].cmp(&p.ids[b]))
        });
        for w in perm.windows(2) {
            let (a, b) = (w[0] as usize, w[1] as usize);
            if p.source[a] == p.source[b] && p.ids[a] == p.ids[b] {
                return Err(LinkError::DuplicateId {
                    source_name: names[p.source[a] as usize].clone(),
                    id: p.ids[a].to_string(),
                });
            }
        }
        let ids: Vec<Box<str>> = perm.iter().map(|&i| p.ids[i as usize].clone()).collect();
        let source: Vec<u32> = perm.iter().map(|&i| p.source[i as usize]).collect();
        let columns: Vec<Column> = p
            .columns
            .into_par_iter()
            .map(|c| Column {
                name: c.name,
                codes: perm.iter().map(|&i| c.codes[i as usize]).collect(),
                values: c.values,
            })
            .collect();
        let truth = p
            .truth
            .map(|t| perm.iter().map(|&i| t[i as usize]).collect());
        Ok(Table {
            ids,
            source,
            source_names: p.source_names,
            columns,
            truth,
            derived: FxHashMap::default(),
        })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Index of the column computing `expr` (derived columns are made once and cached).
    pub fn expr_column(&mut self, expr: &KeyExpr) -> Result<usize, LinkError> {
        if let KeyExpr::Concat(cols) = expr {
            return self.concat_column(expr, cols, false);
        }
        if let KeyExpr::SortedConcat(cols) = expr {
            return self.concat_column(expr, cols, true);
        }
        let base = self.column_index(expr.column()).ok_or_else(|| {
            LinkError::spec("column", format!("no column {:?} loaded", expr.column()))
        })?;
        if expr.is_identity() {
            return Ok(base);
        }
        let key = expr.canonical();
        if let Some(&i) = self.derived.get(&key) {
            return Ok(i);
        }
        let src = &self.columns[base];
        let mut b = ColumnBuilder::new(&key);
        let derived: Vec<Option<String>> = src.values.par_iter().map(|v| expr.apply(v)).collect();
        let map: Vec<u32> = derived
            .iter()
            .map(|d| match d {
                Some(s) => b.intern(s),
                None => NULL,
            })
            .collect();
        let codes: Vec<u32> = src
            .codes
            .par_iter()
            .map(|&c| if c == NULL { NULL } else { map[c as usize] })
            .collect();
        let mut col = b.finish();
        col.codes = codes;
        self.columns.push(col);
        let i = self.columns.len() - 1;
        self.derived.insert(key, i);
        Ok(i)
    }

    fn concat_column(
        &mut self,
        expr: &KeyExpr,
        cols: &[String],
        sorted: bool,
    ) -> Result<usize, LinkError> {
        let key = expr.canonical();
        if let Some(&i) = self.derived.get(&key) {
            return Ok(i);
        }
        let idx: Vec<usize> = cols
            .iter()
            .map(|c| {
                self.column_index(c)
                    .ok_or_else(|| LinkError::spec("column", format!("no column {c:?} loaded")))
            })
            .collect::<Result<_, _>>()?;
        let parts: Vec<&Column> = idx.iter().map(|&i| &self.columns[i]).collect();
        let joined: Vec<Option<String>> = (0..self.len())
            .into_par_iter()
            .map(|r| {
                if parts.iter().all(|c| c.codes[r] == NULL) {
                    return None;
                }
                if sorted {
                    let mut vs: Vec<&str> = parts.iter().filter_map(|c| c.value(r)).collect();
                    vs.sort_unstable();
                    return Some(vs.join(" | "));
                }
                let mut s = String::new();
                for (k, c) in parts.iter().enumerate() {
                    if k > 0 {
                        s.push_str(" | ");
                    }
                    if let Some(v) = c.value(r) {
                        s.push_str(v);
                    }
                }
                Some(s)
            })
            .collect();
        let mut b = ColumnBuilder::with_capacity(&key, self.len());
        for j in &joined {
            match j {
                Some(s) => {
                    let c = b.intern(s);
                    b.push_code(c);
                }
                None => b.push_code(NULL),
            }
        }
        self.columns.push(b.finish());
        let i = self.columns.len() - 1;
        self.derived.insert(key, i);
        Ok(i)
    }

    /// "source:id" label of a record.
    pub fn record_label(&self, i: usize) -> String {
        format!(
            "{}:{}",
            self.source_names[self.source[i] as usize], self.ids[i]
        )
    }

    /// Index of the record with this source name and id.
    pub fn find(&self, source: &str, id: &str) -> Option<usize> {
        let s = self.source_names.iter().position(|x| x == source)? as u32;
        let names = &self.source_names;
        let key = (names[s as usize].as_str(), id);
        // records are sorted by (source name, id)
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let k = (names[self.source[mid] as usize].as_str(), &*self.ids[mid]);
            if k < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < self.len() && self.source[lo] == s && &*self.ids[lo] == id).then_some(lo)
    }

    /// Indices of records with this id in any source.
    pub fn find_id(&self, id: &str) -> Vec<usize> {
        (0..self.source_names.len())
            .filter_map(|s| self.find(&self.source_names[s], id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_and_find() {
        let mut c = ColumnBuilder::new("name");
        for v in ["Bob", " bob ", "ALICE  SMITH", ""] {
            c.push(Some(v), &[]);
        }
        let parts = TableParts {
            ids: vec!["3".into(), "1".into(), "2".into(), "0".into()],
            source: vec![0, 0, 1, 0],
            source_names: vec!["b".into(), "a".into()],
            columns: vec![c.finish()],
            truth: None,
        };
        let t = Table::from_parts(parts).unwrap();
        assert_eq!(&*t.ids[0], "2");
        assert_eq!(t.columns[0].value(0), Some("alice smith"));
        assert_eq!(t.columns[0].value(1), None);
        assert_eq!(t.find("b", "3"), Some(3));
        assert_eq!(t.find("a", "3"), None);
        assert_eq!(t.columns[0].codes[2], t.columns[0].codes[3]);
    }
}
