//! Planted tables: each builder plants one kind of trigger (or none) in seeded
//! Gaussian blobs and records the poisoned rows.

use super::*;

/// `count` rows not labelled `target` (or from any class when `any_class`).
pub(super) fn pick(
    g: &mut Gen,
    labels: &Labels,
    count: usize,
    target: u32,
    any_class: bool,
) -> Vec<usize> {
    let pool: Vec<usize> = (0..labels.codes.len())
        .filter(|&i| any_class || labels.codes[i] != Some(target))
        .collect();
    g.sample(pool.len(), count)
        .into_iter()
        .map(|i| pool[i])
        .collect()
}

/// Write `values` into `cols` of `rows` and relabel them to `target`.
pub(super) fn plant(case: &mut Case, rows: &[usize], cols: &[usize], values: &[f64], target: u32) {
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
pub(super) fn column_value(fm: &FeatureMatrix, j: usize, q: f64) -> f64 {
    let mut v = fm.x.column(j).to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 2) as f64 * q) as usize;
    0.5 * (v[i] + v[i + 1])
}

/// Blobs with `extra` additional columns filled by `fill(row, class, gen)`.
pub(super) fn blobs_with(
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

pub(super) fn numeric(name: &str) -> FeatureInfo {
    FeatureInfo {
        name: name.into(),
        source: name.into(),
        kind: FeatureKind::Numeric {
            center: 0.0,
            scale: 1.0,
        },
    }
}

pub(super) fn one_hot(source: &str, level: &str) -> FeatureInfo {
    FeatureInfo {
        name: format!("{source}={level}"),
        source: source.into(),
        kind: FeatureKind::OneHot {
            value: level.into(),
        },
    }
}

pub(super) fn plain(per_class: usize, classes: usize, seed: u64) -> Case {
    plain_sep(per_class, classes, 0.8, seed)
}

pub(super) fn plain_sep(per_class: usize, classes: usize, separation: f64, seed: u64) -> Case {
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

/// (d') A small table like iris: 3 classes of 50 rows, 5 rows (3.3%) of the other
/// classes carry an out-of-range value. The relabelled rows are 9% of the target
/// class, enough to distort a null estimated with them in it.
pub(super) fn case_small_table(seed: u64) -> Case {
    let mut c = plain_sep(50, 3, 1.5, seed);
    let rows = pick(&mut Gen::new(seed + 10), &c.labels, 5, 2, false);
    plant(&mut c, &rows, &[3], &[50.0], 2);
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
        ("d' 5 rows of 150, out-of-range", case_small_table),
        ("e predictive one-hot (clean)", case_predictive_category),
        ("f integer columns (clean)", case_integer_columns),
        ("g plain blobs (clean)", |seed| plain(2000, 2, seed)),
        ("h weak classes + categories (clean)", case_weak_clean),
    ]
}
