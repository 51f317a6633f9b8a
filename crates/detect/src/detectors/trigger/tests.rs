//! Planted-trigger tests: every case builds Gaussian blobs (testdata.rs), plants a
//! known trigger, and measures precision / recall / F1 of the flagged rows against
//! the poisoned rows and the share of clean rows flagged.

use ndarray::Array2;

use super::*;
use crate::context::{FeatureInfo, FeatureKind, NoProgress};
use crate::knn::KnnGraph;
use crate::testdata::{Gen, blobs, precision_recall};

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

/// `count` rows not labelled `target` (or from any class when `any_class`).
fn pick(g: &mut Gen, labels: &Labels, count: usize, target: u32, any_class: bool) -> Vec<usize> {
    let pool: Vec<usize> = (0..labels.codes.len())
        .filter(|&i| any_class || labels.codes[i] != Some(target))
        .collect();
    g.sample(pool.len(), count)
        .into_iter()
        .map(|i| pool[i])
        .collect()
}

/// Write `values` into `cols` of `rows` and relabel them to `target`.
fn plant(case: &mut Case, rows: &[usize], cols: &[usize], values: &[f64], target: u32) {
    for &r in rows {
        for (&c, &v) in cols.iter().zip(values) {
            case.fm.x[[r, c]] = v;
        }
        case.labels.codes[r] = Some(target);
    }
    case.poisoned.extend_from_slice(rows);
    case.poisoned.sort_unstable();
}

/// An in-range value near quantile `q` of column `j` that no clean row holds (the
/// midpoint of two neighbouring values), so only planted rows carry it.
fn column_value(fm: &FeatureMatrix, j: usize, q: f64) -> f64 {
    let mut v = fm.x.column(j).to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 2) as f64 * q) as usize;
    0.5 * (v[i] + v[i + 1])
}

/// Blobs with `extra` additional columns filled by `fill(row, class, gen)`.
fn blobs_with(
    per_class: usize,
    classes: usize,
    seed: u64,
    extra: Vec<FeatureInfo>,
    fill: impl Fn(usize, u32, &mut Gen) -> Vec<f64>,
) -> Case {
    let (fm, labels) = blobs(per_class, classes, 8, 0.8, seed);
    let mut g = Gen::new(seed ^ 0xabc);
    let n = fm.n_rows();
    let mut x = Array2::zeros((n, 8 + extra.len()));
    for i in 0..n {
        for c in 0..8 {
            x[[i, c]] = fm.x[[i, c]];
        }
        let v = fill(i, labels.codes[i].unwrap(), &mut g);
        for (c, v) in v.into_iter().enumerate() {
            x[[i, 8 + c]] = v;
        }
    }
    let mut features = fm.features;
    features.extend(extra);
    Case {
        fm: FeatureMatrix { x, features },
        labels,
        poisoned: Vec::new(),
    }
}

fn numeric(name: &str) -> FeatureInfo {
    FeatureInfo {
        name: name.into(),
        source: name.into(),
        kind: FeatureKind::Numeric {
            center: 0.0,
            scale: 1.0,
        },
    }
}

fn one_hot(source: &str, level: &str) -> FeatureInfo {
    FeatureInfo {
        name: format!("{source}={level}"),
        source: source.into(),
        kind: FeatureKind::OneHot {
            value: level.into(),
        },
    }
}

fn plain(per_class: usize, classes: usize, seed: u64) -> Case {
    plain_sep(per_class, classes, 0.8, seed)
}

fn plain_sep(per_class: usize, classes: usize, separation: f64, seed: u64) -> Case {
    let (fm, labels) = blobs(per_class, classes, 8, separation, seed);
    Case {
        fm,
        labels,
        poisoned: Vec::new(),
    }
}

/// (a) Out-of-range single-column trigger, 0.5% of 4000 rows from class c0.
pub(super) fn case_out_of_range(seed: u64) -> Case {
    let mut c = plain(2000, 2, seed);
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 20, 1, false);
    plant(&mut c, &rows, &[3], &[50.0], 1);
    c
}

/// (b) In-range trigger (the column's median), 1% of 4000 rows from any class.
pub(super) fn case_in_range(seed: u64) -> Case {
    let mut c = plain(2000, 2, seed);
    let median = column_value(&c.fm, 2, 0.5);
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 40, 1, true);
    plant(&mut c, &rows, &[2], &[median], 1);
    c
}

/// (c1) Two continuous columns set to in-range values, 0.3% of 4000 rows.
pub(super) fn case_pair(seed: u64) -> Case {
    let mut c = plain(2000, 2, seed);
    let v = [column_value(&c.fm, 1, 0.3), column_value(&c.fm, 5, 0.7)];
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 12, 1, false);
    plant(&mut c, &rows, &[1, 5], &v, 1);
    c
}

/// (c2) Three low-cardinality integer columns (0..5, uniform, unrelated to the
/// class) set to a combination that also occurs naturally, 0.3% of 4000 rows.
pub(super) fn case_triple_integer(seed: u64) -> Case {
    let extra = vec![numeric("i0"), numeric("i1"), numeric("i2")];
    let mut c = blobs_with(2000, 2, seed, extra, |_, _, g| {
        (0..3).map(|_| g.below(6) as f64).collect()
    });
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 12, 1, false);
    plant(&mut c, &rows, &[8, 9, 10], &[2.0, 4.0, 1.0], 1);
    c
}

/// (c3) Three continuous columns, 0.3% of 6000 rows in three classes.
pub(super) fn case_triple_three_classes(seed: u64) -> Case {
    let mut c = plain(2000, 3, seed);
    let v = [
        column_value(&c.fm, 0, 0.2),
        column_value(&c.fm, 4, 0.5),
        column_value(&c.fm, 6, 0.9),
    ];
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 18, 2, false);
    plant(&mut c, &rows, &[0, 4, 6], &v, 2);
    c
}

/// (d) A very small group: 0.1% of 5000 rows (5 rows), in-range value.
pub(super) fn case_tiny_group(seed: u64) -> Case {
    let mut c = plain(2500, 2, seed);
    let v = column_value(&c.fm, 4, 0.6);
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 5, 1, false);
    plant(&mut c, &rows, &[4], &[v], 1);
    c
}

/// (e) Clean data with legitimately predictive categorical levels: `color=red` is
/// 1 for 6% of class c0 and 0.2% of c1 (3% of rows, ~97% c0), `color=blue` for
/// 1.5% of rows, all c0, and `region=x` for 3% of rows of either class.
pub(super) fn case_predictive_category(seed: u64) -> Case {
    let extra = vec![
        one_hot("color", "red"),
        one_hot("color", "blue"),
        one_hot("region", "x"),
    ];
    blobs_with(2000, 2, seed, extra, |_, class, g| {
        let u = g.uniform();
        let (red, blue) = if class == 0 {
            (u < 0.06, (0.06..0.09).contains(&u))
        } else {
            (u < 0.002, false)
        };
        let region = g.uniform() < 0.03;
        vec![
            f64::from(u8::from(red)),
            f64::from(u8::from(blue)),
            f64::from(u8::from(region)),
        ]
    })
}

/// (f) Clean data with integer low-cardinality columns: a count (sum of 10
/// Bernoulli(0.2), a long right tail), a 0/1 flag and a class-correlated level.
pub(super) fn case_integer_columns(seed: u64) -> Case {
    let extra = vec![numeric("count"), numeric("flag"), numeric("level")];
    blobs_with(2000, 2, seed, extra, |_, class, g| {
        let count = (0..10).filter(|_| g.uniform() < 0.2).count() as f64;
        let flag = f64::from(u8::from(g.uniform() < 0.3));
        let level = (2 * class as usize + g.below(3)) as f64;
        vec![count, flag, level]
    })
}

/// Variant of (a): poisoned rows drawn from every class, half already the target.
pub(super) fn case_out_of_range_any_class(seed: u64) -> Case {
    let mut c = plain(2000, 2, seed);
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 20, 1, true);
    plant(&mut c, &rows, &[3], &[-40.0], 1);
    c
}

/// Variant of (b): poorly separated classes (blob separation 0.5), 0.5% poisoned.
pub(super) fn case_low_separation(seed: u64) -> Case {
    let mut c = plain_sep(2000, 2, 0.5, seed);
    let v = column_value(&c.fm, 6, 0.4);
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 20, 1, false);
    plant(&mut c, &rows, &[6], &[v], 1);
    c
}

/// Five classes, a two-column in-range trigger in 0.5% of 5000 rows.
pub(super) fn case_five_classes(seed: u64) -> Case {
    let mut c = plain(1000, 5, seed);
    let v = [column_value(&c.fm, 2, 0.5), column_value(&c.fm, 7, 0.25)];
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 25, 3, false);
    plant(&mut c, &rows, &[2, 7], &v, 3);
    c
}

/// (h) Clean data where the blobs barely separate (0.2), with a predictive rare
/// one-hot level, a rare 0/1 flag and a rounded continuous column.
pub(super) fn case_weak_clean(seed: u64) -> Case {
    let extra = vec![one_hot("kind", "rare"), numeric("flag"), numeric("rounded")];
    let mut c = blobs_with(2000, 2, seed, extra, |_, class, g| {
        let rare = g.uniform() < if class == 1 { 0.04 } else { 0.001 };
        let flag = g.uniform() < 0.02;
        let rounded = (g.normal() * 3.0 + class as f64).round() / 2.0;
        vec![
            f64::from(u8::from(rare)),
            f64::from(u8::from(flag)),
            rounded,
        ]
    });
    let (weak, _) = blobs(2000, 2, 8, 0.2, seed);
    for i in 0..c.fm.n_rows() {
        for j in 0..8 {
            c.fm.x[[i, j]] = weak.x[[i, j]];
        }
    }
    c
}

/// Every case, for the measured table and the seed sweep.
#[allow(clippy::type_complexity)]
pub(super) fn all_cases() -> Vec<(&'static str, fn(u64) -> Case)> {
    vec![
        ("a out-of-range 1 col, 0.5%", case_out_of_range),
        (
            "a' out-of-range, rows of any class",
            case_out_of_range_any_class,
        ),
        ("b in-range median, 1%, any class", case_in_range),
        ("b' in-range, separation 0.5, 0.5%", case_low_separation),
        ("c1 2 cols continuous, 0.3%", case_pair),
        ("c2 3 int cols (common values), 0.3%", case_triple_integer),
        ("c3 3 cols, 3 classes, 0.3%", case_triple_three_classes),
        ("c4 2 cols, 5 classes, 0.5%", case_five_classes),
        ("d 5 rows of 5000, 0.1%", case_tiny_group),
        ("e predictive one-hot (clean)", case_predictive_category),
        ("f integer columns (clean)", case_integer_columns),
        ("g plain blobs (clean)", |seed| plain(2000, 2, seed)),
        ("h weak classes + categories (clean)", case_weak_clean),
    ]
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
fn same_seed_same_report() {
    let c = case_in_range(2);
    let (a, b) = (run(&c), run(&c));
    assert_eq!(a.scores, b.scores);
    assert_eq!(a.issues, b.issues);
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

#[test]
#[ignore = "prints the measured table; run with --ignored --nocapture"]
#[allow(clippy::print_stderr)]
fn measured_table() {
    let seeds: Vec<u64> = std::env::var("TRIGGER_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(vec![1], |k: u64| (100..100 + k).collect());
    eprintln!(
        "| case | n | poisoned | precision | recall | F1 (mean, min) | clean flag rate (mean, max) | datasets with a false flag |"
    );
    for (name, build) in all_cases() {
        let (mut p, mut r, mut f1, mut f1_min, mut cr, mut cr_max, mut any) =
            (0.0, 0.0, 0.0, f64::INFINITY, 0.0, 0.0f64, 0);
        let (mut n, mut poisoned) = (0, 0);
        for &seed in &seeds {
            let c = build(seed);
            let q = quality(&c, &run(&c));
            (n, poisoned) = (c.fm.n_rows(), c.poisoned.len());
            p += q.precision;
            r += q.recall;
            f1 += q.f1;
            f1_min = f1_min.min(q.f1);
            cr += q.clean_rate;
            cr_max = cr_max.max(q.clean_rate);
            any += usize::from(q.clean_rate > 0.0);
        }
        let k = seeds.len() as f64;
        eprintln!(
            "| {name} | {n} | {poisoned} | {:.3} | {:.3} | {:.3}, {:.3} | {:.5}, {:.5} | {any}/{} |",
            p / k,
            r / k,
            f1 / k,
            f1_min,
            cr / k,
            cr_max,
            seeds.len()
        );
    }
}

#[test]
#[ignore]
#[allow(clippy::print_stderr)]
fn debug_case() {
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let name = std::env::var("CASE").unwrap();
    let build = all_cases()
        .into_iter()
        .find(|c| c.0.starts_with(&name))
        .unwrap()
        .1;
    let c = build(seed);
    let r = run(&c);
    eprintln!("{:?}", quality(&c, &r));
    eprintln!("poisoned {:?}", c.poisoned);
}

/// Release-build timing at 1,000,000 × 32 (24 continuous, 8 integer 0..5 columns,
/// an out-of-range trigger in 0.5% of rows and a two-column in-range trigger in
/// 0.3%). The shared kNN graph is simulated (10 random rows of each row's true
/// class): building a real one is not this detector's cost.
/// `cargo test --release -p datavet-detect perf_million -- --ignored --nocapture`
#[test]
#[ignore = "release-build timing"]
#[allow(clippy::print_stderr)]
fn perf_million_rows() {
    let (n, d) = (1_000_000usize, 32usize);
    let mut g = Gen::new(5);
    let shift: Vec<f64> = (0..24).map(|_| g.normal() * 0.5).collect();
    let mut x = Array2::zeros((n, d));
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 2;
        for j in 0..24 {
            x[[i, j]] = g.normal() + if c == 1 { shift[j] } else { 0.0 };
        }
        for j in 24..d {
            x[[i, j]] = g.below(6) as f64;
        }
        names.push(Some(format!("c{c}")));
    }
    let labels = Labels::from_strings(&names);
    let truth: Vec<u32> = labels.codes.iter().map(|c| c.unwrap()).collect();
    let features = (0..d).map(|j| numeric(&format!("f{j}"))).collect();
    let mut c = Case {
        fm: FeatureMatrix { x, features },
        labels,
        poisoned: Vec::new(),
    };
    let rows = pick(&mut g, &c.labels, 5000, 1, false);
    plant(&mut c, &rows, &[3], &[60.0], 1);
    let v = [column_value(&c.fm, 7, 0.3), column_value(&c.fm, 11, 0.6)];
    let rows: Vec<usize> = pick(&mut g, &c.labels, 3000, 1, false)
        .into_iter()
        .filter(|r| !c.poisoned.contains(r))
        .collect();
    plant(&mut c, &rows, &[7, 11], &v, 1);
    let by_class: Vec<Vec<u32>> = (0..2u32)
        .map(|k| (0..n as u32).filter(|&i| truth[i as usize] == k).collect())
        .collect();
    // 5% of rows get neighbours of the other class (ordinary label noise).
    let knn_rows = (0..n)
        .map(|i| {
            let noisy = g.uniform() < 0.05;
            let pool = &by_class[(truth[i] ^ u32::from(noisy)) as usize];
            let idx: Vec<u32> = (0..10).map(|_| pool[g.below(pool.len())]).collect();
            (idx, vec![1.0; 10])
        })
        .collect();
    let knn = KnnGraph::from_rows(knn_rows, 10);
    let ctx = Context {
        features: &c.fm,
        labels: Some(&c.labels),
        knn: &knn,
        seed: 1,
        progress: &NoProgress,
    };
    let det = TriggerParams::new().check().unwrap();
    let t = std::time::Instant::now();
    let r = det.detect(&ctx).unwrap();
    let took = t.elapsed();
    let q = quality(&c, &r);
    eprintln!("1M x 32: {took:?}, {} flagged, {q:?}", r.issues.len());
    assert!(q.f1 > 0.9, "{q:?}");
}
