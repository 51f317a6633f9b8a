//! Comparing versions of a tabular file: schema drift and a row diff over row digests.
//!
//! Row diffs use the row digests of a manifest's sidecar. Equal digest sequences mean
//! the bytes changed but not the rows (e.g. `1.0` rewritten as `1`); equal multisets
//! mean the rows were only reordered. Otherwise the common prefix and suffix are
//! trimmed; in the middle, rows whose digest is found on both sides are kept (even if
//! moved), and the longest run of kept rows in the same order on both sides (patience
//! sorting, as in Bram Cohen's patience diff) anchors the comparison: leftover old and
//! new rows between the same two anchors are paired in order as *changed*; rows left
//! unpaired are *removed* (old side) or *added* (new side). Linear apart from sorting.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use crate::manifest::ColumnSchema;
use crate::rowhash::Digest32;

/// A column whose type changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retyped {
    /// Column name.
    pub name: String,
    /// Type in the manifest.
    pub from: String,
    /// Type now.
    pub to: String,
}

/// How a file's columns changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemaDrift {
    /// Columns present now but not in the manifest.
    pub added: Vec<ColumnSchema>,
    /// Columns in the manifest but not present now.
    pub removed: Vec<ColumnSchema>,
    /// Columns whose type changed.
    pub retyped: Vec<Retyped>,
    /// The shared columns are in a different order.
    pub reordered: bool,
}

impl SchemaDrift {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.retyped.is_empty()
            && !self.reordered
    }
}

/// What happened to a changed file's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowDiffKind {
    /// Same rows in the same order: only the bytes' form changed.
    Identical,
    /// The same rows, in another order.
    Reordered,
    /// Rows were changed, added or removed.
    Changed,
    /// Rows could not be compared (see `reason`).
    Unavailable,
}

/// A row whose content changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChangedRow {
    /// Row index (0-based, header excluded) in the manifest's version.
    pub old: u64,
    /// Row index in the current file.
    pub new: u64,
}

/// Row-level comparison of a changed tabular file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowDiff {
    /// What happened.
    pub kind: RowDiffKind,
    /// Rows in the manifest's version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_rows: Option<u64>,
    /// Rows now, when the file could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_rows: Option<u64>,
    /// Rows whose content changed, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<ChangedRow>,
    /// Indices (current file) of rows that are new.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<u64>,
    /// Indices (manifest's version) of rows that are gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<u64>,
    /// Why rows could not be compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Column changes between the manifest's schema and the current one.
pub fn schema_drift(was: &[ColumnSchema], now: &[ColumnSchema]) -> SchemaDrift {
    let old: HashMap<&str, &str> = was
        .iter()
        .map(|c| (c.name.as_str(), c.dtype.as_str()))
        .collect();
    let new: HashMap<&str, &str> = now
        .iter()
        .map(|c| (c.name.as_str(), c.dtype.as_str()))
        .collect();
    let mut drift = SchemaDrift {
        added: now
            .iter()
            .filter(|c| !old.contains_key(c.name.as_str()))
            .cloned()
            .collect(),
        removed: was
            .iter()
            .filter(|c| !new.contains_key(c.name.as_str()))
            .cloned()
            .collect(),
        ..Default::default()
    };
    for c in was {
        if let Some(&t) = new.get(c.name.as_str())
            && t != c.dtype
        {
            drift.retyped.push(Retyped {
                name: c.name.clone(),
                from: c.dtype.clone(),
                to: t.to_string(),
            });
        }
    }
    let shared_old: Vec<&str> = was
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| new.contains_key(n))
        .collect();
    let shared_new: Vec<&str> = now
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| old.contains_key(n))
        .collect();
    drift.reordered = shared_old != shared_new;
    drift
}

/// Compare two sequences of row digests (see the module docs).
pub fn diff_rows(old: &[Digest32], new: &[Digest32]) -> RowDiff {
    let mut diff = RowDiff {
        kind: RowDiffKind::Identical,
        old_rows: Some(old.len() as u64),
        new_rows: Some(new.len() as u64),
        changed: Vec::new(),
        added: Vec::new(),
        removed: Vec::new(),
        reason: None,
    };
    if old == new {
        return diff;
    }
    let (mut a, mut b) = (old.to_vec(), new.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    if a == b {
        diff.kind = RowDiffKind::Reordered;
        return diff;
    }
    diff.kind = RowDiffKind::Changed;

    let prefix = old.iter().zip(new).take_while(|(x, y)| x == y).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let (o0, o1) = (prefix, old.len() - suffix);
    let (n0, n1) = (prefix, new.len() - suffix);

    // Rows of the middle found on both sides (in order of appearance) are kept, even
    // if they moved; the rest are changes.
    let mut pool: HashMap<&Digest32, VecDeque<usize>> = HashMap::new();
    for (i, d) in old.iter().enumerate().take(o1).skip(o0) {
        pool.entry(d).or_default().push_back(i);
    }
    let mut kept: Vec<(usize, usize)> = Vec::new();
    let mut new_left: Vec<usize> = Vec::new();
    for (j, d) in new.iter().enumerate().take(n1).skip(n0) {
        match pool.get_mut(d).and_then(VecDeque::pop_front) {
            Some(i) => kept.push((i, j)),
            None => new_left.push(j),
        }
    }
    let mut old_left: Vec<usize> = pool.into_values().flatten().collect();
    old_left.sort_unstable();
    kept.sort_unstable();
    // Anchors: the longest run of kept rows in the same order on both sides. Leftover
    // rows between the same two anchors are edits of each other.
    let anchors = longest_increasing(&kept);
    let gap_old = |i: usize| anchors.partition_point(|a| a.0 < i);
    let gap_new = |j: usize| anchors.partition_point(|a| a.1 < j);
    let (mut oi, mut nj) = (0, 0);
    while oi < old_left.len() || nj < new_left.len() {
        let go = old_left.get(oi).map(|&i| gap_old(i));
        let gn = new_left.get(nj).map(|&j| gap_new(j));
        match (go, gn) {
            (Some(a), Some(b)) if a == b => {
                diff.changed.push(ChangedRow {
                    old: old_left[oi] as u64,
                    new: new_left[nj] as u64,
                });
                oi += 1;
                nj += 1;
            }
            (Some(a), Some(b)) if a < b => {
                diff.removed.push(old_left[oi] as u64);
                oi += 1;
            }
            (Some(_), None) => {
                diff.removed.push(old_left[oi] as u64);
                oi += 1;
            }
            _ => {
                diff.added.push(new_left[nj] as u64);
                nj += 1;
            }
        }
    }
    diff
}

/// Longest strictly increasing subsequence by second element of pairs sorted by the
/// first (patience sorting, O(k log k)).
fn longest_increasing(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut tails: Vec<usize> = Vec::new(); // index into pairs of the smallest tail per length
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (k, &(_, j)) in pairs.iter().enumerate() {
        let pos = tails.partition_point(|&t| pairs[t].1 < j);
        prev[k] = if pos > 0 { Some(tails[pos - 1]) } else { None };
        if pos == tails.len() {
            tails.push(k);
        } else {
            tails[pos] = k;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut cur = tails.last().copied();
    while let Some(k) = cur {
        out.push(pairs[k]);
        cur = prev[k];
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn d(i: u32) -> Digest32 {
        Sha256::digest(i.to_le_bytes()).into()
    }

    fn ds(ids: &[u32]) -> Vec<Digest32> {
        ids.iter().map(|&i| d(i)).collect()
    }

    #[test]
    fn row_diffs() {
        let old = ds(&[0, 1, 2, 3, 4]);
        assert_eq!(diff_rows(&old, &old).kind, RowDiffKind::Identical);
        let r = diff_rows(&old, &ds(&[4, 3, 2, 1, 0]));
        assert_eq!(r.kind, RowDiffKind::Reordered);

        // One edited row.
        let r = diff_rows(&old, &ds(&[0, 1, 9, 3, 4]));
        assert_eq!(r.kind, RowDiffKind::Changed);
        assert_eq!(r.changed, [ChangedRow { old: 2, new: 2 }]);
        assert!(r.added.is_empty() && r.removed.is_empty());

        // Appended and deleted.
        let r = diff_rows(&old, &ds(&[0, 1, 2, 3, 4, 5, 6]));
        assert_eq!((r.added.as_slice(), r.changed.len()), (&[5u64, 6][..], 0));
        let r = diff_rows(&old, &ds(&[0, 2, 3, 4]));
        assert_eq!((r.removed.as_slice(), r.changed.len()), (&[1u64][..], 0));

        // Inserted in the middle, and an edit elsewhere: anchors keep them apart.
        let r = diff_rows(&old, &ds(&[0, 7, 1, 2, 3, 8]));
        assert_eq!(r.added, [1]);
        assert_eq!(r.changed, [ChangedRow { old: 4, new: 5 }]);
        assert!(r.removed.is_empty());

        // A moved row plus an edit: the move is not a change.
        let r = diff_rows(&old, &ds(&[1, 0, 2, 3, 9]));
        assert_eq!(r.changed, [ChangedRow { old: 4, new: 4 }]);
        assert!(r.added.is_empty() && r.removed.is_empty());

        // Duplicates.
        let r = diff_rows(&ds(&[1, 1, 1]), &ds(&[1, 1]));
        assert_eq!(r.removed.len(), 1);
    }

    #[test]
    fn schema_drift_reports_each_kind() {
        let c = |n: &str, t: &str| ColumnSchema {
            name: n.into(),
            dtype: t.into(),
        };
        let was = [c("id", "i64"), c("x", "f64"), c("y", "str")];
        let now = [c("x", "str"), c("id", "i64"), c("z", "bool")];
        let drift = schema_drift(&was, &now);
        assert_eq!(drift.added, [c("z", "bool")]);
        assert_eq!(drift.removed, [c("y", "str")]);
        assert_eq!(
            drift.retyped,
            [Retyped {
                name: "x".into(),
                from: "f64".into(),
                to: "str".into()
            }]
        );
        assert!(drift.reordered);
        assert!(schema_drift(&was, &was).is_empty());
    }
}
