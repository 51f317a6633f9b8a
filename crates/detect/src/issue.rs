//! What detectors say: per-row issues with evidence, dataset-level findings.

use serde::Serialize;

/// The kind of problem a row issue names. Each detector emits one or two kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// Feature values identical to another row, same label.
    ExactDuplicate,
    /// Feature values identical to another row, different label.
    ConflictingDuplicate,
    /// Nearest neighbour far closer than typical, same label.
    NearDuplicate,
    /// Nearest neighbour far closer than typical, different label.
    ConflictingNearDuplicate,
    /// Far from its k nearest neighbours.
    KnnOutlier,
    /// Isolated quickly by random trees.
    IsolationOutlier,
    /// Extreme in the tails of the per-feature empirical distributions.
    EcodOutlier,
    /// Far from the centroid of its k-means cluster.
    ClusterOutlier,
    /// Label disagrees with the majority of its cluster.
    ClusterLabelMismatch,
    /// Label disagrees with most of its nearest neighbours.
    KnnLabelDisagreement,
    /// Confident learning says the given label is likely wrong.
    LabelError,
    /// Large projection on the top singular direction of its class.
    SpectralSignature,
    /// Member of a small, well-separated sub-cluster of its class.
    ActivationCluster,
    /// Carries a rare feature value (or pair) concentrated in one label.
    BackdoorTrigger,
    /// Has NaN or infinite values in feature columns.
    NonFinite,
}

impl IssueKind {
    /// The snake_case name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueKind::ExactDuplicate => "exact_duplicate",
            IssueKind::ConflictingDuplicate => "conflicting_duplicate",
            IssueKind::NearDuplicate => "near_duplicate",
            IssueKind::ConflictingNearDuplicate => "conflicting_near_duplicate",
            IssueKind::KnnOutlier => "knn_outlier",
            IssueKind::IsolationOutlier => "isolation_outlier",
            IssueKind::EcodOutlier => "ecod_outlier",
            IssueKind::ClusterOutlier => "cluster_outlier",
            IssueKind::ClusterLabelMismatch => "cluster_label_mismatch",
            IssueKind::KnnLabelDisagreement => "knn_label_disagreement",
            IssueKind::LabelError => "label_error",
            IssueKind::SpectralSignature => "spectral_signature",
            IssueKind::ActivationCluster => "activation_cluster",
            IssueKind::BackdoorTrigger => "backdoor_trigger",
            IssueKind::NonFinite => "non_finite",
        }
    }

    /// Every kind, in report order.
    pub const ALL: [IssueKind; 15] = [
        IssueKind::BackdoorTrigger,
        IssueKind::ConflictingDuplicate,
        IssueKind::ConflictingNearDuplicate,
        IssueKind::LabelError,
        IssueKind::KnnLabelDisagreement,
        IssueKind::ClusterLabelMismatch,
        IssueKind::SpectralSignature,
        IssueKind::ActivationCluster,
        IssueKind::KnnOutlier,
        IssueKind::IsolationOutlier,
        IssueKind::EcodOutlier,
        IssueKind::ClusterOutlier,
        IssueKind::ExactDuplicate,
        IssueKind::NearDuplicate,
        IssueKind::NonFinite,
    ];
}

impl std::fmt::Display for IssueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The facts behind an issue, kept structured so the JSON report can carry them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Evidence {
    /// Other rows involved (duplicates, nearest neighbours), with their labels if known.
    Rows {
        /// Row indices (0-based positions in the input).
        rows: Vec<usize>,
        /// Their labels, parallel to `rows`, when a label column was given.
        #[serde(skip_serializing_if = "Option::is_none")]
        labels: Option<Vec<String>>,
        /// Distances to them, parallel to `rows`, when meaningful.
        #[serde(skip_serializing_if = "Option::is_none")]
        distances: Option<Vec<f64>>,
    },
    /// The features that contributed most, with their contribution.
    Features {
        /// (feature name, contribution) pairs, largest first.
        top: Vec<(String, f64)>,
    },
    /// A cluster the row belongs to.
    Cluster {
        /// Cluster id within the detector.
        cluster: usize,
        /// Number of rows in the cluster.
        size: usize,
        /// The class the cluster was found in, or its majority label.
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// Label-model evidence: given label and what the model prefers.
    Label {
        /// The label in the data.
        given: String,
        /// The label the evidence points to.
        suggested: String,
        /// Estimated probability of the given label.
        given_probability: f64,
        /// Estimated probability of the suggested label.
        suggested_probability: f64,
    },
    /// A trigger-like value (or conjunction of values) concentrated in one label.
    Trigger {
        /// Source column names (one to three).
        columns: Vec<String>,
        /// Values, parallel to `columns`, formatted as in the input.
        values: Vec<String>,
        /// Label the rows carrying the trigger concentrate in.
        label: String,
        /// Rows carrying the trigger.
        support: usize,
        /// Share of those rows with `label`.
        purity: f64,
        /// Whether any value is outside the column's usual range.
        out_of_range: bool,
    },
    /// Non-finite feature values.
    NonFinite {
        /// Columns with a NaN or infinite value in this row.
        columns: Vec<String>,
    },
}

/// One problem found in one row by one detector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowIssue {
    /// 0-based position of the row in the input.
    pub row: usize,
    /// What the problem is.
    pub kind: IssueKind,
    /// Strength on a [0, 1] scale comparable across detectors.
    pub score: f64,
    /// One plain sentence a person can read, e.g.
    /// "label 'cat' but 9 of 10 nearest rows are 'dog'".
    pub reason: String,
    /// Structured evidence.
    pub evidence: Evidence,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Likely a problem.
    Medium,
    /// Very likely a problem that will affect training.
    High,
    /// Almost certainly poisoning or corruption.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finding about the whole dataset (class imbalance, non-finite columns, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetFinding {
    /// Short category, e.g. "class_imbalance", "duplicates".
    pub category: String,
    /// How serious it is.
    pub severity: Severity,
    /// What was found, one sentence.
    pub finding: String,
    /// What to do about it, one sentence.
    pub recommendation: String,
}

/// What one detector produced.
#[derive(Debug, Clone, Default)]
pub struct DetectorReport {
    /// Per-row score on [0, 1], one per row of the feature matrix.
    pub scores: Vec<f64>,
    /// Rows the detector flags, each with its evidence.
    pub issues: Vec<RowIssue>,
    /// Dataset-level findings.
    pub findings: Vec<DatasetFinding>,
}
