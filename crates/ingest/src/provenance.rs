//! Provenance recorded in a manifest: where a dataset came from, under which licence,
//! how it was collected, who owns it, when the manifest was made and by which tool.
//!
//! Timestamps are UTC, written as RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` (whole seconds), so a
//! manifest made from a fixed time (e.g. `SOURCE_DATE_EPOCH`) is byte-for-byte
//! reproducible. The civil-date conversion is Howard Hinnant's `civil_from_days` /
//! `days_from_civil` algorithm ("chrono-Compatible Low-Level Date Algorithms", 2013).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Descriptive provenance of a dataset or of one file. Every field is optional; a
/// file's fields override the dataset's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Where the data came from (URL, bucket path, DOI, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    /// Licence, ideally an SPDX identifier such as `CC-BY-4.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// How the data was collected (scrape, survey, sensor export, synthetic, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_method: Option<String>,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Person or team responsible for the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl Provenance {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Provenance::default()
    }

    /// `self` with every field set in `over` replaced by `over`'s value.
    pub fn merged(&self, over: &Provenance) -> Provenance {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        Provenance {
            source_uri: pick(&self.source_uri, &over.source_uri),
            license: pick(&self.license, &over.license),
            collection_method: pick(&self.collection_method, &over.collection_method),
            description: pick(&self.description, &over.description),
            owner: pick(&self.owner, &over.owner),
        }
    }
}

/// A provenance file as users write it (TOML or JSON): dataset fields at the top, and
/// per-file overrides under `files`, keyed by the file's manifest path.
///
/// ```toml
/// license = "CC-BY-4.0"
/// owner = "data-team@example.org"
///
/// [files."shards/part-0003.csv"]
/// source_uri = "s3://bucket/raw/part-0003.csv"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceSpec {
    /// Dataset-level provenance.
    #[serde(flatten)]
    pub dataset: Provenance,
    /// Per-file overrides by relative path.
    #[serde(default)]
    pub files: BTreeMap<String, Provenance>,
}

/// The tool that made a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Tool name, `datavet`.
    pub name: String,
    /// Tool version.
    pub version: String,
}

/// Format Unix seconds as RFC 3339 UTC, `YYYY-MM-DDTHH:MM:SSZ`.
///
/// ```
/// assert_eq!(datavet_ingest::format_utc(0), "1970-01-01T00:00:00Z");
/// assert_eq!(datavet_ingest::format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
/// ```
pub fn format_utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parse a UTC time given as Unix seconds (`1700000000`) or RFC 3339 with a `Z` or
/// `+00:00` offset (`2023-11-14T22:13:20Z`; fractional seconds are dropped). `None`
/// when the text is neither.
pub fn parse_utc(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Some(secs);
    }
    let body = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix('z'))
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = body.split_once(['T', 't', ' '])?;
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let time = time.split('.').next()?;
    let mut tp = time.splitn(3, ':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return None; // e.g. February 30th
    }
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for secs in [
            0i64,
            59,
            86_399,
            86_400,
            951_782_400, // 2000-02-29
            1_700_000_000,
            4_102_444_800, // 2100-01-01
            -1,
        ] {
            let text = format_utc(secs);
            assert_eq!(parse_utc(&text), Some(secs), "{text}");
        }
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(
            parse_utc("2023-11-14T22:13:20.5+00:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_utc("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_utc("2023-02-30T00:00:00Z"), None);
        assert_eq!(parse_utc("2023-11-14T22:13:20+02:00"), None);
        assert_eq!(parse_utc("yesterday"), None);
    }

    #[test]
    fn file_fields_override_dataset_fields() {
        let ds = Provenance {
            license: Some("CC0-1.0".into()),
            owner: Some("team".into()),
            ..Default::default()
        };
        let file = Provenance {
            license: Some("CC-BY-4.0".into()),
            ..Default::default()
        };
        let m = ds.merged(&file);
        assert_eq!(m.license.as_deref(), Some("CC-BY-4.0"));
        assert_eq!(m.owner.as_deref(), Some("team"));
        assert!(Provenance::default().is_empty());
        assert!(!m.is_empty());
    }

    #[test]
    fn spec_parses_from_json_and_rejects_typos() {
        let spec: ProvenanceSpec =
            serde_json::from_str(r#"{"license":"MIT","files":{"a.csv":{"owner":"x"}}}"#).unwrap();
        assert_eq!(spec.dataset.license.as_deref(), Some("MIT"));
        assert_eq!(spec.files["a.csv"].owner.as_deref(), Some("x"));
        assert!(serde_json::from_str::<ProvenanceSpec>(r#"{"licence":"MIT"}"#).is_err());
    }
}
