//! Shared scoring helpers: robust statistics and the map from raw scores to [0, 1].

/// Median of a slice (NaN-free); 0 for an empty slice.
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// Linear-interpolated quantile `q` in [0, 1] (NaN-free input); 0 for an empty slice.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

/// Quantile of an already sorted slice.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] * (1.0 - frac) + sorted[hi] * frac
}

/// Robust z-scores: `(x - median) / (1.4826 * MAD)`, falling back to the IQR/1.349
/// and then to the standard deviation when the MAD is zero. All zeros when the
/// values are constant.
pub fn robust_z(values: &[f64]) -> Vec<f64> {
    let med = median(values);
    let dev: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    let mut scale = 1.4826 * median(&dev);
    if scale <= f64::EPSILON {
        scale = (quantile(values, 0.75) - quantile(values, 0.25)) / 1.349;
    }
    if scale <= f64::EPSILON {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        scale = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    }
    if scale <= f64::EPSILON {
        return vec![0.0; values.len()];
    }
    values.iter().map(|v| (v - med) / scale).collect()
}

/// Map a robust z-score to [0, 1]: 0 at or below the median, 0.5 at `z = pivot`,
/// approaching 1 for large z. Monotone, so rankings are kept.
pub fn unit_from_z(z: f64, pivot: f64) -> f64 {
    // NaN and non-positive z both map to 0.
    if z.is_nan() || z <= 0.0 {
        return 0.0;
    }
    let t = z / pivot;
    t * t / (1.0 + t * t)
}

/// The robust z threshold above which detectors flag a row by default.
pub const DEFAULT_Z_FLAG: f64 = 3.5;

/// Map raw scores (higher = more suspicious) to [0, 1] via robust z with pivot
/// [`DEFAULT_Z_FLAG`], so a row at the flag threshold scores 0.5.
pub fn unit_scores(raw: &[f64]) -> Vec<f64> {
    robust_z(raw)
        .into_iter()
        .map(|z| unit_from_z(z, DEFAULT_Z_FLAG))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(median(&v), 2.5);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn robust_z_ignores_the_outlier() {
        let mut v: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
        v.push(1000.0);
        let z = robust_z(&v);
        assert!(z[100] > 100.0);
        assert!(z[..100].iter().all(|z| z.abs() < 2.0));
    }

    #[test]
    fn constant_values_give_zero() {
        assert_eq!(robust_z(&[2.0; 5]), vec![0.0; 5]);
    }

    #[test]
    fn unit_is_monotone_and_pivots_at_half() {
        assert_eq!(unit_from_z(-1.0, 3.5), 0.0);
        assert!((unit_from_z(3.5, 3.5) - 0.5).abs() < 1e-12);
        assert!(unit_from_z(10.0, 3.5) > unit_from_z(5.0, 3.5));
        assert!(unit_from_z(1e9, 3.5) <= 1.0);
    }
}
