//! Row fingerprints: a SHA-256 digest per row over a canonical encoding of the row's
//! logical values, and a Merkle root per file over those digests.
//!
//! The encoding (version `datavet-row-v1`, also in `docs/row-fingerprint.md`) makes
//! the same rows give the same digests whether they were read from CSV, Parquet, JSON
//! Lines or Arrow IPC, as long as their logical values agree. A row is the
//! concatenation, for each column in order, of
//!
//! ```text
//! column := len(name) name value          len = u64 little-endian byte count, name UTF-8
//! value  := 0x00                          null (of any type)
//!         | 0x01 b                        boolean, b = 0x00 or 0x01
//!         | 0x02 i128-le                  a number with an integral value
//!         | 0x03 u64-le                   any other number: the bits of an IEEE-754 f64
//!         | 0x04 len bytes                UTF-8 text
//!         | 0x05 len bytes                binary
//!         | 0x06 u64-le(n) value{n}       list or fixed-size array of n elements
//!         | 0x07 u64-le(n) (len name value){n}   struct with n fields
//!         | 0x08 u128-le                  an unsigned 128-bit integer above i128::MAX
//! ```
//!
//! Numbers are canonicalised so that the physical type does not matter: every integer
//! type (i8…i128, u8…u64) and every float (f16, f32, f64) whose value is finite,
//! integral and of magnitude below 2^127 is written as tag `0x02` with the exact value
//! as a 16-byte two's-complement integer. So CSV's `1` (inferred i64), `1.0` (f64),
//! Parquet's i32 `1` and a float `-0.0`→`0` all encode alike. Other floats use tag
//! `0x03` with the f64 bit pattern (f16/f32 widened exactly to f64 first; every NaN
//! becomes `0x7ff8000000000000`); the bit pattern round-trips exactly. Categorical and
//! enum values, dates, datetimes, durations and times are written as text, as polars
//! renders them (ISO 8601 for dates), which matches a CSV holding the same text.
//!
//! `row digest = SHA-256(row encoding)`. The encoding is self-delimiting, so distinct
//! rows (names, types or values) give distinct encodings.
//!
//! The per-file root is the Merkle Tree Hash of RFC 6962 (Laurie, Langley, Kasper,
//! 2013, "Certificate Transparency", §2.1) over the row digests `d_0..d_{n-1}`:
//!
//! ```text
//! MTH({})       = SHA-256()
//! MTH({d})      = SHA-256(0x00 || d)
//! MTH(D[0..n])  = SHA-256(0x01 || MTH(D[0..k]) || MTH(D[k..n])),  k = largest power of 2 < n
//! ```
//!
//! Work is split into chunks of rows hashed in parallel with rayon; results do not
//! depend on the number of threads. Each column is cast once to the physical type it is
//! read with, made contiguous, and read with typed access to its arrow array; each row
//! is built in one reused buffer, so there is no allocation per value.

use polars::prelude::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{IngestError, Result};
use crate::hash::IngestProgress;

/// Name of the row encoding, recorded in manifests.
pub const ROW_ENCODING: &str = "datavet-row-v1";

/// A 32-byte SHA-256 digest.
pub type Digest32 = [u8; 32];

const NULL: u8 = 0x00;
const BOOL: u8 = 0x01;
const INT: u8 = 0x02;
const FLOAT: u8 = 0x03;
const TEXT: u8 = 0x04;
const BINARY: u8 = 0x05;
const LIST: u8 = 0x06;
const STRUCT: u8 = 0x07;
const BIG_UINT: u8 = 0x08;

/// Rows per parallel task.
const CHUNK_ROWS: usize = 4096;

/// A column prepared for encoding: its name prefix and its values, cast to the
/// physical type they are read with and made contiguous (one chunk).
struct Prepared {
    /// `len(name) name`, written before every value of the column.
    prefix: Vec<u8>,
    series: Series,
}

/// Typed access to one prepared column's single arrow array.
enum Access<'a> {
    Null,
    Bool(&'a <BooleanType as PolarsDataType>::Array),
    I64(&'a <Int64Type as PolarsDataType>::Array),
    U64(&'a <UInt64Type as PolarsDataType>::Array),
    F64(&'a <Float64Type as PolarsDataType>::Array),
    Text(&'a <StringType as PolarsDataType>::Array),
    Binary(&'a <BinaryType as PolarsDataType>::Array),
    /// Anything else, value by value through `AnyValue`.
    Any(&'a Series),
}

fn prepare(df: &DataFrame) -> Result<Vec<Prepared>> {
    df.columns()
        .iter()
        .map(|col| {
            let name = col.name().as_str();
            let err = |source| IngestError::Fingerprint {
                column: name.to_string(),
                source,
            };
            let series = col.as_materialized_series();
            use DataType as D;
            let target = match series.dtype() {
                D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16 | D::UInt32 => Some(D::Int64),
                D::Float16 | D::Float32 => Some(D::Float64),
                D::Categorical(..)
                | D::Enum(..)
                | D::Date
                | D::Datetime(..)
                | D::Duration(..)
                | D::Time => Some(D::String),
                _ => None,
            };
            let series = match target {
                Some(t) => series.cast(&t).map_err(err)?,
                None => series.clone(),
            };
            let series = series.rechunk();
            let mut prefix = Vec::with_capacity(8 + name.len());
            put_len(&mut prefix, name.len());
            prefix.extend_from_slice(name.as_bytes());
            Ok(Prepared { prefix, series })
        })
        .collect()
}

fn access(p: &Prepared) -> Result<Access<'_>> {
    let s = &p.series;
    let err = |source| IngestError::Fingerprint {
        column: s.name().to_string(),
        source,
    };
    if s.is_empty() || s.chunks().len() != 1 {
        // Empty columns have no chunk to read; several chunks cannot happen after
        // `rechunk` but are handled the slow way rather than trusted.
        return Ok(Access::Any(s));
    }
    use DataType as D;
    Ok(match s.dtype() {
        D::Null => Access::Null,
        D::Boolean => Access::Bool(s.bool().map_err(err)?.downcast_as_array()),
        D::Int64 => Access::I64(s.i64().map_err(err)?.downcast_as_array()),
        D::UInt64 => Access::U64(s.u64().map_err(err)?.downcast_as_array()),
        D::Float64 => Access::F64(s.f64().map_err(err)?.downcast_as_array()),
        D::String => Access::Text(s.str().map_err(err)?.downcast_as_array()),
        D::Binary => Access::Binary(s.binary().map_err(err)?.downcast_as_array()),
        _ => Access::Any(s),
    })
}

#[inline]
fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

#[inline]
fn put_int(out: &mut Vec<u8>, v: i128) {
    out.push(INT);
    out.extend_from_slice(&v.to_le_bytes());
}

#[inline]
fn put_bytes(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
    out.push(tag);
    put_len(out, b.len());
    out.extend_from_slice(b);
}

/// Encode a number given as f64: integral values as `INT`, others as `FLOAT`.
#[inline]
fn encode_f64(x: f64, out: &mut Vec<u8>) {
    // 2^127: every integral f64 below it in magnitude is exactly an i128.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if x.is_finite() && x.trunc() == x && x.abs() < LIMIT {
        put_int(out, x as i128);
    } else {
        let bits = if x.is_nan() {
            0x7ff8_0000_0000_0000u64
        } else {
            x.to_bits()
        };
        out.push(FLOAT);
        out.extend_from_slice(&bits.to_le_bytes());
    }
}

/// Append the encoding of row `row` of a column.
#[inline]
fn encode_value(a: &Access<'_>, row: usize, out: &mut Vec<u8>) -> PolarsResult<()> {
    match a {
        Access::Null => out.push(NULL),
        Access::Bool(arr) => match arr.get(row) {
            Some(b) => out.extend_from_slice(&[BOOL, b as u8]),
            None => out.push(NULL),
        },
        Access::I64(arr) => match arr.get(row) {
            Some(v) => put_int(out, v as i128),
            None => out.push(NULL),
        },
        Access::U64(arr) => match arr.get(row) {
            Some(v) => put_int(out, v as i128),
            None => out.push(NULL),
        },
        Access::F64(arr) => match arr.get(row) {
            Some(v) => encode_f64(v, out),
            None => out.push(NULL),
        },
        Access::Text(arr) => match arr.get(row) {
            Some(v) => put_bytes(out, TEXT, v.as_bytes()),
            None => out.push(NULL),
        },
        Access::Binary(arr) => match arr.get(row) {
            Some(v) => put_bytes(out, BINARY, v),
            None => out.push(NULL),
        },
        Access::Any(s) => encode_any(&s.get(row)?, out),
    }
    Ok(())
}

/// Encode any polars value (the slow path, for nested and rare types).
fn encode_any(av: &AnyValue<'_>, out: &mut Vec<u8>) {
    use AnyValue as A;
    match av {
        A::Null => out.push(NULL),
        A::Boolean(b) => out.extend_from_slice(&[BOOL, *b as u8]),
        A::UInt8(v) => put_int(out, *v as i128),
        A::UInt16(v) => put_int(out, *v as i128),
        A::UInt32(v) => put_int(out, *v as i128),
        A::UInt64(v) => put_int(out, *v as i128),
        A::UInt128(v) => match i128::try_from(*v) {
            Ok(i) => put_int(out, i),
            Err(_) => {
                out.push(BIG_UINT);
                out.extend_from_slice(&v.to_le_bytes());
            }
        },
        A::Int8(v) => put_int(out, *v as i128),
        A::Int16(v) => put_int(out, *v as i128),
        A::Int32(v) => put_int(out, *v as i128),
        A::Int64(v) => put_int(out, *v as i128),
        A::Int128(v) => put_int(out, *v),
        A::Float16(v) => encode_f64(f64::from(*v), out),
        A::Float32(v) => encode_f64(*v as f64, out),
        A::Float64(v) => encode_f64(*v, out),
        A::String(s) => put_bytes(out, TEXT, s.as_bytes()),
        A::StringOwned(s) => put_bytes(out, TEXT, s.as_bytes()),
        A::Binary(b) => put_bytes(out, BINARY, b),
        A::BinaryOwned(b) => put_bytes(out, BINARY, b),
        A::List(s) | A::Array(s, _) => {
            out.push(LIST);
            put_len(out, s.len());
            for item in s.iter() {
                encode_any(&item, out);
            }
        }
        A::Struct(_, _, fields) => {
            out.push(STRUCT);
            put_len(out, fields.len());
            for (field, item) in fields.iter().zip(av._iter_struct_av()) {
                put_len(out, field.name().len());
                out.extend_from_slice(field.name().as_bytes());
                encode_any(&item, out);
            }
        }
        A::StructOwned(payload) => {
            let (items, fields) = &**payload;
            out.push(STRUCT);
            put_len(out, fields.len());
            for (field, item) in fields.iter().zip(items) {
                put_len(out, field.name().len());
                out.extend_from_slice(field.name().as_bytes());
                encode_any(item, out);
            }
        }
        other => put_bytes(out, TEXT, other.str_value().as_bytes()),
    }
}

/// Encode rows `start..start+len`, handing each row's bytes to `each`.
fn for_each_row(
    cols: &[Prepared],
    start: usize,
    len: usize,
    mut each: impl FnMut(&[u8]),
) -> Result<()> {
    let access: Vec<Access<'_>> = cols.iter().map(access).collect::<Result<_>>()?;
    let mut buf = Vec::with_capacity(cols.iter().map(|p| p.prefix.len() + 17).sum());
    for row in start..start + len {
        buf.clear();
        for (p, a) in cols.iter().zip(&access) {
            buf.extend_from_slice(&p.prefix);
            encode_value(a, row, &mut buf).map_err(|source| IngestError::Fingerprint {
                column: p.series.name().to_string(),
                source,
            })?;
        }
        each(&buf);
    }
    Ok(())
}

/// The canonical encoding of one row (mainly for tests and documentation; use
/// [`row_digests`] for whole frames).
///
/// ```
/// use datavet_ingest::{DataFrame, encode_row};
/// use polars::prelude::*;
///
/// let df = df!("a" => [1i32], "b" => ["x"]).unwrap();
/// let bytes = encode_row(&df, 0).unwrap();
/// let mut want = Vec::new();
/// want.extend(1u64.to_le_bytes()); want.extend(b"a"); want.push(0x02); want.extend(1i128.to_le_bytes());
/// want.extend(1u64.to_le_bytes()); want.extend(b"b"); want.push(0x04); want.extend(1u64.to_le_bytes()); want.extend(b"x");
/// assert_eq!(bytes, want);
/// ```
pub fn encode_row(df: &DataFrame, row: usize) -> Result<Vec<u8>> {
    let cols = prepare(df)?;
    let mut out = Vec::new();
    if row < df.height() {
        for_each_row(&cols, row, 1, |b| out.extend_from_slice(b))?;
    }
    Ok(out)
}

/// SHA-256 of the canonical encoding of every row, in row order. Progress is one stage,
/// `"fingerprinting rows"`, counted in rows.
pub fn row_digests(df: &DataFrame, progress: &dyn IngestProgress) -> Result<Vec<Digest32>> {
    let cols = prepare(df)?;
    let n = df.height();
    progress.start("fingerprinting rows", n as u64);
    let mut out = vec![[0u8; 32]; n];
    out.par_chunks_mut(CHUNK_ROWS)
        .enumerate()
        .try_for_each(|(c, chunk)| {
            let len = chunk.len();
            let mut slot = chunk.iter_mut();
            for_each_row(&cols, c * CHUNK_ROWS, len, |bytes| {
                if let Some(d) = slot.next() {
                    *d = Sha256::digest(bytes).into();
                }
            })?;
            progress.advance(len as u64);
            Ok::<(), IngestError>(())
        })?;
    progress.finish();
    Ok(out)
}

/// RFC 6962 Merkle Tree Hash over row digests (see the module docs).
///
/// Computed bottom-up: pair adjacent nodes, carry an odd last node up unchanged —
/// which yields exactly the RFC's left-complete tree.
pub fn merkle_root(leaves: &[Digest32]) -> Digest32 {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level: Vec<Digest32> = leaves
        .par_iter()
        .with_min_len(4096)
        .map(|d| {
            let mut h = Sha256::new();
            h.update([0x00]);
            h.update(d);
            h.finalize().into()
        })
        .collect();
    while level.len() > 1 {
        level = level
            .par_chunks(2)
            .with_min_len(2048)
            .map(|pair| match pair {
                [l, r] => {
                    let mut h = Sha256::new();
                    h.update([0x01]);
                    h.update(l);
                    h.update(r);
                    h.finalize().into()
                }
                [single] => *single,
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    /// The RFC's recursive definition, to check the bottom-up version against.
    fn mth(d: &[Digest32]) -> Digest32 {
        match d.len() {
            0 => Sha256::digest([]).into(),
            1 => {
                let mut h = Sha256::new();
                h.update([0u8]);
                h.update(d[0]);
                h.finalize().into()
            }
            n => {
                let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
                let mut h = Sha256::new();
                h.update([1u8]);
                h.update(mth(&d[..k]));
                h.update(mth(&d[k..]));
                h.finalize().into()
            }
        }
    }

    fn leaf(i: u32) -> Digest32 {
        Sha256::digest(i.to_le_bytes()).into()
    }

    #[test]
    fn merkle_matches_rfc6962_definition() {
        for n in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 100] {
            let leaves: Vec<Digest32> = (0..n as u32).map(leaf).collect();
            assert_eq!(merkle_root(&leaves), mth(&leaves), "n = {n}");
        }
        // Order matters.
        let a = [leaf(1), leaf(2)];
        let b = [leaf(2), leaf(1)];
        assert_ne!(merkle_root(&a), merkle_root(&b));
        // A single leaf is not its own root (0x00 prefix).
        assert_ne!(merkle_root(&a[..1]), a[0]);
    }

    #[test]
    fn numbers_canonicalise_across_physical_types() {
        let ints = df!("v" => [1i64, -3, 0]).unwrap();
        let small = df!("v" => [1i32, -3, 0]).unwrap();
        let floats = df!("v" => [1.0f64, -3.0, -0.0]).unwrap();
        let f32s = df!("v" => [1.0f32, -3.0, 0.0]).unwrap();
        let d = |df: &DataFrame| row_digests(df, &()).unwrap();
        assert_eq!(d(&ints), d(&small));
        assert_eq!(d(&ints), d(&floats));
        assert_eq!(d(&ints), d(&f32s));
        let other = df!("v" => [1.5f64, -3.0, 0.0]).unwrap();
        assert_ne!(d(&ints)[0], d(&other)[0]);
        assert_eq!(d(&ints)[1..], d(&other)[1..]);
    }

    #[test]
    fn floats_nulls_and_nans() {
        let mut out = Vec::new();
        encode_f64(0.1, &mut out);
        assert_eq!(out[0], FLOAT);
        assert_eq!(
            u64::from_le_bytes(out[1..9].try_into().unwrap()),
            0.1f64.to_bits()
        );
        let mut a = Vec::new();
        let mut b = Vec::new();
        encode_f64(f64::NAN, &mut a);
        encode_f64(-f64::NAN, &mut b);
        assert_eq!(a, b);
        let mut big = Vec::new();
        encode_f64(1e300, &mut big);
        assert_eq!(big[0], FLOAT);
        let mut inf = Vec::new();
        encode_f64(f64::INFINITY, &mut inf);
        assert_eq!(inf[0], FLOAT);

        // Null is typeless and differs from 0 and from "".
        let n1 = df!("v" => [None::<i64>, Some(0)]).unwrap();
        let n2 = df!("v" => [None::<&str>, Some("")]).unwrap();
        let d1 = row_digests(&n1, &()).unwrap();
        let d2 = row_digests(&n2, &()).unwrap();
        assert_eq!(d1[0], d2[0]);
        assert_ne!(d1[1], d2[1]);
        assert_ne!(d1[0], d1[1]);
    }

    #[test]
    fn names_and_boundaries_matter() {
        let d = |df: DataFrame| row_digests(&df, &()).unwrap()[0];
        // Same values, different column name.
        assert_ne!(
            d(df!("a" => [1i64]).unwrap()),
            d(df!("b" => [1i64]).unwrap())
        );
        // Shifting text between columns changes the digest (length prefixes).
        assert_ne!(
            d(df!("a" => ["xy"], "b" => ["z"]).unwrap()),
            d(df!("a" => ["x"], "b" => ["yz"]).unwrap())
        );
        // Text "1" is not the number 1.
        assert_ne!(
            d(df!("a" => ["1"]).unwrap()),
            d(df!("a" => [1i64]).unwrap())
        );
        // Booleans.
        assert_ne!(
            d(df!("a" => [true]).unwrap()),
            d(df!("a" => [false]).unwrap())
        );
    }

    #[test]
    fn nested_values_encode() {
        let inner = Series::new("".into(), [1.0f64, 2.5]);
        let lists = Series::new("emb".into(), [inner.clone(), inner]);
        let df = DataFrame::new_infer_height(vec![lists.into()]).unwrap();
        let bytes = encode_row(&df, 0).unwrap();
        let mut want = Vec::new();
        want.extend(3u64.to_le_bytes());
        want.extend(b"emb");
        want.push(LIST);
        want.extend(2u64.to_le_bytes());
        want.push(INT);
        want.extend(1i128.to_le_bytes());
        want.push(FLOAT);
        want.extend(2.5f64.to_bits().to_le_bytes());
        assert_eq!(bytes, want);
        let d = row_digests(&df, &()).unwrap();
        assert_eq!(d[0], d[1]);
    }

    #[test]
    fn parallel_chunks_equal_row_by_row() {
        let n = CHUNK_ROWS * 2 + 17;
        let df = df!(
            "i" => (0..n as i64).collect::<Vec<_>>(),
            "x" => (0..n).map(|i| i as f64 / 7.0).collect::<Vec<_>>(),
        )
        .unwrap();
        let all = row_digests(&df, &()).unwrap();
        assert_eq!(all.len(), n);
        for row in [0, 1, CHUNK_ROWS - 1, CHUNK_ROWS, n - 1] {
            let one: Digest32 = Sha256::digest(encode_row(&df, row).unwrap()).into();
            assert_eq!(all[row], one, "row {row}");
        }
    }

    #[test]
    fn csv_and_parquet_of_the_same_rows_agree() {
        let tmp = tempfile::tempdir().unwrap();
        let csv = tmp.path().join("t.csv");
        std::fs::write(
            &csv,
            "id,x,label,flag\n1,0.5,cat,true\n2,,dog,false\n3,2.0,,true\n",
        )
        .unwrap();
        let from_csv = crate::read_table(
            &crate::SourceFile {
                path: csv.clone(),
                rel: "t.csv".into(),
                format: crate::Format::CSV,
            },
            &crate::ReadOptions::default(),
        )
        .unwrap();
        // Parquet with narrower physical types: i32 ids, f32 x.
        let mut narrow = df!(
            "id" => [1i32, 2, 3],
            "x" => [Some(0.5f32), None, Some(2.0)],
            "label" => [Some("cat"), Some("dog"), None],
            "flag" => [true, false, true],
        )
        .unwrap();
        let pq = tmp.path().join("t.parquet");
        ParquetWriter::new(File::create(&pq).unwrap())
            .finish(&mut narrow)
            .unwrap();
        let from_pq = ParquetReader::new(File::open(&pq).unwrap())
            .finish()
            .unwrap();
        let a = row_digests(&from_csv, &()).unwrap();
        let b = row_digests(&from_pq, &()).unwrap();
        assert_eq!(a, b);
        assert_eq!(merkle_root(&a), merkle_root(&b));
    }
}
