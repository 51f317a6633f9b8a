//! Tail probabilities (in natural-log space) and value formatting for the trigger
//! detector.

use crate::context::{FeatureInfo, FeatureKind};

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; relative error ≈ 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ln C(n, k)`.
fn ln_choose(n: usize, k: usize) -> f64 {
    debug_assert!(k <= n);
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// Sum the tail `Σ_{j ≥ start} t_j` in log space from `ln t_start` and the term
/// ratio `t_{j+1} / t_j`, stopping once terms are negligible.
fn ln_tail_sum(ln_first: f64, start: usize, end: usize, ratio: impl Fn(usize) -> f64) -> f64 {
    let mut sum = 1.0f64;
    let mut term = 1.0f64;
    for j in start..end {
        term *= ratio(j);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    ln_first + sum.ln()
}

/// `ln P(X ≥ k)` for `X ~ Binomial(m, q)`. Returns 0 (p = 1, conservative) when
/// `k` is not above the mean `m q`.
pub fn binom_ln_tail(k: usize, m: usize, q: f64) -> f64 {
    if k == 0 || (k as f64) <= m as f64 * q || q >= 1.0 {
        return 0.0;
    }
    if k > m || q <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let ln_first = ln_choose(m, k) + k as f64 * q.ln() + (m - k) as f64 * (-q).ln_1p();
    let odds = q / (1.0 - q);
    // Above the mean the terms decrease, so the early stop is safe.
    ln_tail_sum(ln_first, k, m, |j| (m - j) as f64 / (j + 1) as f64 * odds).min(0.0)
}

/// `ln P(X ≥ k)` for `X ~ Hypergeometric(population, successes, draws)`: the
/// chance that `draws` rows taken at random from `population` rows, `successes` of
/// which carry the label, include at least `k` with the label. Returns 0 when `k`
/// is not above the mean.
pub fn hyper_ln_tail(k: usize, population: usize, successes: usize, draws: usize) -> f64 {
    let (n, s, m) = (population, successes.min(population), draws.min(population));
    if k == 0 || (k as f64) <= m as f64 * s as f64 / n.max(1) as f64 {
        return 0.0;
    }
    let hi = m.min(s);
    if k > hi || m - k > n - s {
        return if k > hi { f64::NEG_INFINITY } else { 0.0 };
    }
    let ln_first = ln_choose(s, k) + ln_choose(n - s, m - k) - ln_choose(n, m);
    ln_tail_sum(ln_first, k, hi, |j| {
        ((s - j) as f64 * (m - j) as f64) / ((j + 1) as f64 * (n - s - m + j + 1) as f64)
    })
    .min(0.0)
}

/// Format a raw value as it would appear in the input: integers without `.0`,
/// other values with at most 12 significant digits.
pub fn format_raw(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let r = x.round();
    if (x - r).abs() <= 1e-9 * x.abs().max(1.0) && r.abs() < 1e15 {
        return format!("{}", r as i64);
    }
    let rounded: f64 = format!("{x:.11e}").parse().unwrap_or(x);
    format!("{rounded}")
}

/// The input column a feature comes from and the value a feature value stands
/// for, e.g. `("color", "red")` for the one-hot column `color=red` at 1.
pub fn describe(info: &FeatureInfo, x: f64) -> (String, String) {
    let on = x >= 0.5;
    match &info.kind {
        FeatureKind::OneHot { value } => (
            info.source.clone(),
            if on {
                value.clone()
            } else {
                format!("not {value}")
            },
        ),
        FeatureKind::Bool => (info.source.clone(), on.to_string()),
        FeatureKind::Missing => (
            info.source.clone(),
            if on { "missing" } else { "present" }.to_string(),
        ),
        FeatureKind::Frequency => (info.source.clone(), format!("frequency {}", format_raw(x))),
        FeatureKind::Numeric { .. } => (
            info.source.clone(),
            format_raw(info.raw_value(x).unwrap_or(x)),
        ),
        FeatureKind::Embedding { .. } => (info.name.clone(), format_raw(x)),
    }
}

/// Whether values of this feature kind can lie "outside the range" (0/1 columns
/// cannot).
pub fn can_be_out_of_range(info: &FeatureInfo) -> bool {
    matches!(
        info.kind,
        FeatureKind::Numeric { .. } | FeatureKind::Embedding { .. } | FeatureKind::Frequency
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_binom(k: usize, m: usize, q: f64) -> f64 {
        (k..=m)
            .map(|j| ln_choose(m, j).exp() * q.powi(j as i32) * (1.0 - q).powi((m - j) as i32))
            .sum()
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30 {
            f *= n as f64;
            assert!((ln_gamma(n as f64 + 1.0) - f.ln()).abs() < 1e-10, "n = {n}");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn binomial_tail_matches_brute_force() {
        for &(k, m, q) in &[(5, 5, 0.5), (3, 10, 0.05), (20, 40, 0.1), (7, 7, 0.02)] {
            let want = brute_binom(k, m, q).ln();
            let got = binom_ln_tail(k, m, q);
            assert!((want - got).abs() < 1e-9, "{k} {m} {q}: {want} vs {got}");
        }
        assert_eq!(binom_ln_tail(2, 10, 0.5), 0.0);
        assert_eq!(binom_ln_tail(0, 10, 0.5), 0.0);
        assert_eq!(binom_ln_tail(3, 3, 0.0), f64::NEG_INFINITY);
        // Deep tails stay finite in log space.
        assert!(binom_ln_tail(500, 500, 0.01) < -2000.0);
    }

    #[test]
    fn hypergeometric_tail_matches_brute_force() {
        // 20 rows, 8 labelled; draw 5, P(at least 4 labelled).
        let (n, s, m) = (20usize, 8usize, 5usize);
        let want: f64 = (4..=5)
            .map(|j| (ln_choose(s, j) + ln_choose(n - s, m - j) - ln_choose(n, m)).exp())
            .sum();
        assert!((hyper_ln_tail(4, n, s, m) - want.ln()).abs() < 1e-9);
        assert_eq!(hyper_ln_tail(6, n, s, m), f64::NEG_INFINITY);
        assert_eq!(hyper_ln_tail(1, n, s, m), 0.0);
        // All 30 drawn rows from a half-labelled population of a million.
        let p = hyper_ln_tail(30, 1_000_000, 500_000, 30);
        assert!((p - 30.0 * 0.5f64.ln()).abs() < 1e-3);
    }

    #[test]
    fn raw_values_format_like_input() {
        assert_eq!(format_raw(4057.0), "4057");
        assert_eq!(format_raw(4_056.999_999_999_9), "4057");
        assert_eq!(format_raw(-3.0), "-3");
        assert_eq!(format_raw(0.1 + 0.2), "0.3");
        assert_eq!(format_raw(17.25), "17.25");
    }
}
