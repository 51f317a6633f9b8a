//! What every detector is given: the feature matrix, labels, a shared kNN graph,
//! the seed and a progress sink.

use ndarray::Array2;

use crate::knn::KnnGraph;

/// How one feature column was derived from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureKind {
    /// A numeric column, scaled: `x = (raw - center) / scale`.
    Numeric {
        /// Median of the raw column.
        center: f64,
        /// Winsorized standard deviation of the raw column (never zero).
        scale: f64,
    },
    /// A boolean column as 0/1.
    Bool,
    /// One level of a low-cardinality categorical column, 0/1.
    OneHot {
        /// The category value.
        value: String,
    },
    /// A high-cardinality string column encoded by the frequency of its value.
    Frequency,
    /// One component of an embedding (list/array of floats) column.
    Embedding {
        /// Position within the embedding.
        index: usize,
        /// Median of the component.
        center: f64,
        /// Robust scale of the component.
        scale: f64,
    },
    /// 1 where the source column was missing (and imputed), else 0.
    Missing,
}

/// Description of one column of the feature matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureInfo {
    /// Feature name, e.g. `f3`, `color=red`, `emb[12]`, `f3 (missing)`.
    pub name: String,
    /// The input column it came from.
    pub source: String,
    /// How it was derived.
    pub kind: FeatureKind,
}

impl FeatureInfo {
    /// Map a feature value back to the raw input value where that is possible
    /// (numeric columns), for explanations such as "f3=4057".
    pub fn raw_value(&self, x: f64) -> Option<f64> {
        match self.kind {
            FeatureKind::Numeric { center, scale }
            | FeatureKind::Embedding { center, scale, .. } => Some(x * scale + center),
            FeatureKind::Bool => Some(x),
            _ => None,
        }
    }
}

/// The numeric matrix detectors work on, with a description of each column.
///
/// Every value is finite: non-finite inputs are imputed before they get here (and
/// reported by the feature builder).
#[derive(Debug, Clone)]
pub struct FeatureMatrix {
    /// Rows × features, all finite.
    pub x: Array2<f64>,
    /// One entry per column of `x`.
    pub features: Vec<FeatureInfo>,
}

impl FeatureMatrix {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.x.nrows()
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }
}

/// Class labels, encoded as dense codes `0..n_classes` in order of first appearance
/// of the sorted class names (so codes are deterministic).
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// Per-row class code; `None` where the label is missing.
    pub codes: Vec<Option<u32>>,
    /// Class names, indexed by code.
    pub classes: Vec<String>,
}

impl Labels {
    /// Build from per-row label strings (missing as `None`); classes sorted.
    pub fn from_strings<S: AsRef<str>>(values: &[Option<S>]) -> Labels {
        let mut classes: Vec<String> = values
            .iter()
            .flatten()
            .map(|s| s.as_ref().to_string())
            .collect();
        classes.sort();
        classes.dedup();
        let codes = values
            .iter()
            .map(|v| {
                v.as_ref().map(|s| {
                    classes
                        .binary_search_by(|c| c.as_str().cmp(s.as_ref()))
                        .expect("class collected above") as u32
                })
            })
            .collect();
        Labels { codes, classes }
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// The class name of a row, or `"<missing>"`.
    pub fn name(&self, row: usize) -> &str {
        match self.codes[row] {
            Some(c) => &self.classes[c as usize],
            None => "<missing>",
        }
    }

    /// Rows per class, indexed by code.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for c in self.codes.iter().flatten() {
            counts[*c as usize] += 1;
        }
        counts
    }
}

/// Where long-running work reports progress. The CLI implements it with indicatif;
/// library code never prints.
pub trait Progress: Sync {
    /// A new stage starts with `total` units of work.
    fn start(&self, stage: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The current stage is done.
    fn finish(&self);
}

/// A progress sink that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _stage: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Everything a detector is given.
pub struct Context<'a> {
    /// The feature matrix.
    pub features: &'a FeatureMatrix,
    /// Labels, when a label column was given.
    pub labels: Option<&'a Labels>,
    /// The k nearest neighbours of every row (self excluded), shared by the
    /// neighbour-based detectors.
    pub knn: &'a KnnGraph,
    /// Seed for every random choice.
    pub seed: u64,
    /// Progress sink.
    pub progress: &'a dyn Progress,
}

/// A detector with validated settings. `detect` is linfa's `fit` for us: it runs on
/// the whole table and returns per-row scores, flagged rows and dataset findings.
pub trait Detector {
    /// Short stable name, used for the per-detector score column.
    fn name(&self) -> &'static str;
    /// Run the detector.
    fn detect(&self, ctx: &Context<'_>) -> crate::Result<crate::DetectorReport>;
}
