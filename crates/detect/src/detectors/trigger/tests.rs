//! Planted-trigger tests: every case builds Gaussian blobs (testdata.rs), plants a
//! known trigger, and measures precision / recall / F1 of the flagged rows against
//! the poisoned rows and the share of clean rows flagged.

use ndarray::Array2;

use super::*;
use crate::context::{FeatureInfo, FeatureKind, Labels, NoProgress};
use crate::issue::{Evidence, RowIssue, Severity};
use crate::knn::KnnGraph;
use crate::testdata::{Gen, blobs, precision_recall};

mod cases;
mod measure;

use cases::*;

/// A planted table and the rows that were poisoned.
pub(super) struct Case {
    pub fm: FeatureMatrix,
    pub labels: Labels,
    pub poisoned: Vec<usize>,
}

/// Flag quality on one case.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quality {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of clean rows flagged.
    pub clean_rate: f64,
}

/// Exact kNN over flat slices: the same graph as `KnnGraph::brute_force` (ties by
/// row index) but quick enough in unoptimised test builds.
pub(super) fn knn_graph(x: &Array2<f64>, k: usize) -> KnnGraph {
    use rayon::prelude::*;
    let (n, d) = x.dim();
    let flat: Vec<f64> = x.iter().copied().collect();
    let rows = (0..n)
        .into_par_iter()
        .map(|i| {
            let a = &flat[i * d..(i + 1) * d];
            let mut best: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
            let mut worst = f64::INFINITY;
            for (j, b) in flat.chunks_exact(d).enumerate() {
                if j == i {
                    continue;
                }
                // Partial distances: stop summing once past the current k-th best.
                let mut d2 = 0.0;
                for t in 0..d {
                    let z = a[t] - b[t];
                    d2 += z * z;
                    if d2 > worst {
                        break;
                    }
                }
                if d2 <= worst {
                    crate::knn::push_best(&mut best, k, d2, j as u32);
                    if best.len() == k {
                        worst = best[k - 1].0;
                    }
                }
            }
            best.into_iter().map(|(d2, j)| (j, d2.sqrt())).unzip()
        })
        .collect();
    KnnGraph::from_rows(rows, k.min(n - 1))
}

pub(super) fn run_with(case: &Case, params: &TriggerParams, seed: u64) -> DetectorReport {
    let knn = knn_graph(&case.fm.x, 10);
    let ctx = Context {
        features: &case.fm,
        labels: Some(&case.labels),
        knn: &knn,
        seed,
        progress: &NoProgress,
    };
    params.check().unwrap().detect(&ctx).unwrap()
}

pub(super) fn run(case: &Case) -> DetectorReport {
    run_with(case, &TriggerParams::new(), 7)
}

pub(super) fn quality(case: &Case, report: &DetectorReport) -> Quality {
    let flagged: Vec<usize> = report.issues.iter().map(|i| i.row).collect();
    let (precision, recall) = precision_recall(&flagged, &case.poisoned);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let clean = case.fm.n_rows() - case.poisoned.len();
    let false_flags = flagged
        .iter()
        .filter(|r| !case.poisoned.contains(r))
        .count();
    Quality {
        precision,
        recall,
        f1,
        clean_rate: false_flags as f64 / clean.max(1) as f64,
    }
}

fn assert_quality(name: &str, q: Quality, f1: f64, clean: f64) {
    assert!(
        q.f1 >= f1 && q.clean_rate <= clean,
        "{name}: {q:?} (want F1 ≥ {f1}, clean rate ≤ {clean})"
    );
}

#[test]
fn out_of_range_trigger_is_found() {
    let c = case_out_of_range(1);
    let r = run(&c);
    assert_quality("out_of_range", quality(&c, &r), 0.95, 0.002);
    let issue = &r.issues[0];
    assert!(
        issue
            .reason
            .starts_with("f3=50 is outside the column's range"),
        "{}",
        issue.reason
    );
    match &issue.evidence {
        Evidence::Trigger {
            columns,
            values,
            label,
            out_of_range,
            ..
        } => {
            assert_eq!(
                (columns.as_slice(), values.as_slice()),
                (&["f3".to_string()][..], &["50".to_string()][..])
            );
            assert_eq!(label, "c1");
            assert!(out_of_range);
        }
        e => panic!("unexpected evidence {e:?}"),
    }
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].severity, Severity::Critical);
    assert!(r.issues.iter().all(|i| i.score > 0.5 && i.score <= 1.0));
}

#[test]
fn in_range_trigger_is_found() {
    let c = case_in_range(2);
    assert_quality("in_range", quality(&c, &run(&c)), 0.95, 0.002);
}

#[test]
fn two_column_trigger_is_found_and_merged() {
    let c = case_pair(3);
    let r = run(&c);
    assert_quality("pair", quality(&c, &r), 0.95, 0.002);
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    match &r.issues[0].evidence {
        Evidence::Trigger { columns, .. } => assert_eq!(columns, &["f1", "f5"]),
        e => panic!("unexpected evidence {e:?}"),
    }
}

#[test]
fn three_column_integer_trigger_is_found() {
    let c = case_triple_integer(4);
    let r = run(&c);
    assert_quality("triple_integer", quality(&c, &r), 0.9, 0.002);
}

#[test]
fn three_column_trigger_in_three_classes_is_found() {
    let c = case_triple_three_classes(8);
    let r = run(&c);
    assert_quality("triple_3_classes", quality(&c, &r), 0.95, 0.002);
    match &r.issues[0].evidence {
        Evidence::Trigger { columns, .. } => assert_eq!(columns, &["f0", "f4", "f6"]),
        e => panic!("unexpected evidence {e:?}"),
    }
}

#[test]
fn five_row_trigger_is_found() {
    let c = case_tiny_group(5);
    assert_quality("tiny_group", quality(&c, &run(&c)), 0.9, 0.001);
}

#[test]
fn five_row_trigger_in_a_150_row_table_is_found() {
    for seed in 1..=5 {
        let c = case_small_table(seed);
        assert_quality("small_table", quality(&c, &run(&c)), 1.0, 0.0);
        // The same table without the trigger: nothing flagged.
        let clean = plain_sep(50, 3, 1.5, seed);
        assert!(run(&clean).issues.is_empty(), "seed {seed}");
    }
}

#[test]
fn predictive_categories_are_not_triggers() {
    let c = case_predictive_category(6);
    let r = run(&c);
    assert!(r.issues.is_empty(), "{:?}", r.issues.first());
    assert!(r.findings.is_empty());
}

/// Regression: the conflict null once used `P(y = t ∧ contradicted)` instead of
/// `P(contradicted | y = t)`, so the pure, legitimate cell `count=1, flag=0,
/// level=3` (all class c1, contradicted at c1's ordinary rate) was flagged.
#[test]
fn integer_columns_raise_no_alarm() {
    let c = case_integer_columns(7);
    let r = run(&c);
    assert!(r.issues.is_empty(), "{:?}", r.issues.first());
}

#[test]
fn clean_blobs_raise_no_alarm() {
    let c = plain(2000, 2, 9);
    let r = run(&c);
    assert!(r.issues.is_empty());
    assert!(r.scores.iter().all(|&s| s == 0.0));
}

/// Where the other columns cannot tell the classes apart (blob separation 0), the
/// conflict test is blind; a continuous-column spike concentrated in one label is
/// then flagged on the label evidence alone (rule B) — unless the column's missing
/// indicator says the spike is the imputed value of rows that were missing.
#[test]
fn blind_spike_is_flagged_unless_imputed() {
    let build = |with_indicator: bool| {
        let mut c = plain_sep(2000, 2, 0.0, 21);
        let n = c.fm.n_rows();
        let v = column_value(&c.fm, 5, 0.5);
        let rows = pick(&mut Gen::new(31), &c.labels, 60, 0, false);
        let mut x = Array2::zeros((n, 9));
        for i in 0..n {
            for j in 0..8 {
                x[[i, j]] = c.fm.x[[i, j]];
            }
        }
        for &r in &rows {
            x[[r, 5]] = v;
            x[[r, 8]] = 1.0;
        }
        c.fm.x = x;
        c.fm.features.push(FeatureInfo {
            name: "f5 (missing)".into(),
            source: if with_indicator { "f5" } else { "other" }.into(),
            kind: FeatureKind::Missing,
        });
        // The rows are genuine class c1 rows: missingness is simply informative.
        c.poisoned = rows;
        c
    };
    let c = build(false);
    let r = run(&c);
    assert_quality("blind_spike", quality(&c, &r), 0.95, 0.002);
    let f5 = |i: &RowIssue| matches!(&i.evidence, Evidence::Trigger { columns, .. } if columns.contains(&"f5".to_string()));
    assert!(r.issues.iter().all(f5), "{:?}", r.issues.first());
    assert!(
        !r.issues[0].reason.contains("resemble"),
        "{}",
        r.issues[0].reason
    );
    let c = build(true);
    let r = run(&c);
    assert!(!r.issues.iter().any(f5), "{:?}", r.issues.first());
}

#[test]
fn same_seed_same_report_on_any_thread_count() {
    let c = case_triple_integer(4);
    let a = run(&c);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(|| run(&c));
    assert!(!a.issues.is_empty());
    assert_eq!(a.scores, b.scores);
    assert_eq!(a.issues, b.issues);
    assert_eq!(a.findings, b.findings);
}

#[test]
fn scores_split_at_one_half_and_missing_labels_are_never_flagged() {
    let mut c = case_out_of_range(1);
    // Drop a tenth of the labels, including two poisoned rows.
    let dropped: Vec<usize> = (0..c.fm.n_rows())
        .step_by(10)
        .chain(c.poisoned[..2].iter().copied())
        .collect();
    for &r in &dropped {
        c.labels.codes[r] = None;
    }
    c.poisoned.retain(|r| !dropped.contains(r));
    let r = run(&c);
    assert_quality("missing_labels", quality(&c, &r), 0.95, 0.002);
    let flagged: Vec<usize> = r.issues.iter().map(|i| i.row).collect();
    assert!(flagged.iter().all(|f| c.labels.codes[*f].is_some()));
    for (row, &s) in r.scores.iter().enumerate() {
        assert!((0.0..=1.0).contains(&s));
        assert_eq!(s >= 0.5, flagged.contains(&row), "row {row} score {s}");
    }
}

#[test]
fn labels_are_required() {
    let c = plain(50, 2, 1);
    let knn = KnnGraph::brute_force(c.fm.x.view(), 5, &NoProgress);
    let ctx = Context {
        features: &c.fm,
        labels: None,
        knn: &knn,
        seed: 1,
        progress: &NoProgress,
    };
    let det = TriggerParams::new().check().unwrap();
    assert!(matches!(
        det.detect(&ctx),
        Err(DetectError::NeedsLabels { .. })
    ));
}

#[test]
fn bad_params_are_rejected() {
    for p in [
        TriggerParams::new().min_support(1),
        TriggerParams::new().max_support_share(0.0),
        TriggerParams::new().min_purity(0.5),
        TriggerParams::new().alpha(1.0),
        TriggerParams::new().k(0),
        TriggerParams::new().reference_rows(10),
        TriggerParams::new().max_candidates(0),
        TriggerParams::new().max_columns(4),
    ] {
        assert!(
            matches!(p.check(), Err(DetectError::InvalidParam { .. })),
            "{p:?}"
        );
    }
}

#[test]
fn tiny_one_class_and_constant_tables_are_quiet() {
    // Tiny: fewer rows than two minimal triggers.
    let c = plain(2, 2, 1);
    assert!(run(&c).issues.is_empty());
    // One class: every value is "pure", none is a trigger.
    let mut c = case_out_of_range(1);
    c.labels = Labels::from_strings(&vec![Some("a"); c.fm.n_rows()]);
    let r = run(&c);
    assert!(r.issues.is_empty());
    assert_eq!(r.scores.len(), c.fm.n_rows());
    // A constant column and exact ties everywhere in another.
    let mut c = plain(500, 2, 3);
    c.fm.x.column_mut(0).fill(1.0);
    for i in 0..c.fm.n_rows() {
        c.fm.x[[i, 1]] = (i % 4) as f64;
    }
    assert!(run(&c).issues.is_empty());
}

#[test]
fn exact_duplicate_rows_are_left_to_the_duplicate_detector() {
    // Five copies of one row, all relabelled: every column repeats, so this is a
    // duplicate group, not a trigger.
    let mut c = plain(500, 2, 4);
    let src: Vec<f64> = c.fm.x.row(0).to_vec();
    for r in 1..6 {
        c.fm.x
            .row_mut(r * 2)
            .assign(&ndarray::Array1::from(src.clone()));
        c.labels.codes[r * 2] = Some(1);
    }
    c.labels.codes[0] = Some(1);
    assert!(run(&c).issues.is_empty());
}
