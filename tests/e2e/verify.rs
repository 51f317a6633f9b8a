//! `datavet verify`.

use crate::util::{Dir, json, stderr, stdout};

/// 20 rows: `id,x,label`.
fn rows(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{i},{}.5,{}", i * 3, if i % 3 == 0 { "cat" } else { "dog" }))
        .collect()
}

fn csv(rows: &[String]) -> String {
    let mut s = String::from("id,x,label\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// A dataset with a manifest (`m.json` in the dataset's root).
fn setup() -> Dir {
    let dir = Dir::new();
    dir.create("data/train.csv", csv(&rows(20)));
    dir.create("data/test.csv", csv(&rows(5)));
    dir.command()
        .args(["manifest", "data", "-o", "m.json", "-q"])
        .expect_code(0);
    dir
}

fn verify(dir: &Dir) -> (i32, String) {
    let out = dir.command().args(["verify", "m.json"]).output();
    (out.status.code().unwrap(), stdout(&out))
}

fn verify_json(dir: &Dir) -> serde_json::Value {
    let out = dir.command().args(["verify", "m.json", "--json"]).output();
    json(&stdout(&out))
}

#[test]
fn unchanged_dataset_verifies() {
    let dir = setup();
    let (code, out) = verify(&dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok       data/train.csv"), "{out}");
    assert!(
        out.ends_with("verified: 2 ok, 0 changed, 0 missing, 0 extra\n"),
        "{out}"
    );
}

#[test]
fn one_changed_byte_names_the_file_and_the_row() {
    let dir = setup();
    let mut bytes = dir.read_bytes("data/train.csv");
    // Row 12 is "12,36.5,cat": change its 6 to a 7.
    let at = String::from_utf8(bytes.clone())
        .unwrap()
        .find("12,36.5")
        .unwrap()
        + 4;
    bytes[at] = b'7';
    dir.create("data/train.csv", bytes);
    let (code, out) = verify(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("CHANGED  data/train.csv  (same size, sha256 differs)"),
        "{out}"
    );
    assert!(
        out.contains("rows: 1 changed, 0 added, 0 removed (20 rows)"),
        "{out}"
    );
    assert!(out.contains("row 12 changed"), "{out}");
    assert!(out.contains("ok       data/test.csv"), "{out}");
    let report = verify_json(&dir);
    assert_eq!(report["verified"], false);
    let rows = &report["files"][1]["rows"];
    assert_eq!(report["files"][1]["path"], "data/train.csv");
    assert_eq!(rows["kind"], "changed");
    assert_eq!(rows["changed"], json(r#"[{"old": 12, "new": 12}]"#));
}

#[test]
fn appended_rows_are_reported_as_added() {
    let dir = setup();
    dir.create("data/train.csv", csv(&rows(23)));
    let (code, out) = verify(&dir);
    assert_eq!(code, 1);
    assert!(
        out.contains("rows: 0 changed, 3 added, 0 removed (20 -> 23 rows)"),
        "{out}"
    );
    for r in [20, 21, 22] {
        assert!(out.contains(&format!("row {r} added")), "{out}");
    }
}

#[test]
fn deleted_rows_are_reported_as_removed() {
    let dir = setup();
    let mut r = rows(20);
    r.remove(15);
    r.remove(4);
    dir.create("data/train.csv", csv(&r));
    let (code, out) = verify(&dir);
    assert_eq!(code, 1);
    assert!(
        out.contains("rows: 0 changed, 0 added, 2 removed (20 -> 18 rows)"),
        "{out}"
    );
    assert!(out.contains("row 4 removed"), "{out}");
    assert!(out.contains("row 15 removed"), "{out}");
}

#[test]
fn edited_rows_are_reported_as_changed_and_json_lists_all() {
    let dir = setup();
    let mut r = rows(20);
    for i in (0..20).step_by(2) {
        r[i] = format!("{i},999.0,bird");
    }
    // Also one inserted row in the middle.
    r.insert(5, "100,1.0,fish".into());
    dir.create("data/train.csv", csv(&r));
    let out = dir
        .command()
        .args(["verify", "m.json", "--max-rows", "3"])
        .expect_code(1);
    let text = stdout(&out);
    assert!(
        text.contains("rows: 10 changed, 1 added, 0 removed (20 -> 21 rows)"),
        "{text}"
    );
    assert!(text.contains("row 0 changed"), "{text}");
    assert!(text.contains("... and 8 more (see --json)"), "{text}");
    let report = verify_json(&dir);
    let rows = &report["files"][1]["rows"];
    assert_eq!(rows["changed"].as_array().unwrap().len(), 10);
    assert_eq!(rows["added"], json("[5]"));
    // Rows after the insertion moved down by one.
    assert_eq!(rows["changed"][3], json(r#"{"old": 6, "new": 7}"#));
}

#[test]
fn reordered_rows_are_reported_as_reordered() {
    let dir = setup();
    let mut r = rows(20);
    r.reverse();
    dir.create("data/train.csv", csv(&r));
    let (code, out) = verify(&dir);
    assert_eq!(code, 1);
    assert!(
        out.contains("rows: same rows, reordered (20 rows)"),
        "{out}"
    );
    assert_eq!(verify_json(&dir)["files"][1]["rows"]["kind"], "reordered");
}

#[test]
fn reformatted_but_equal_rows_are_identical() {
    let dir = setup();
    // Same values, different text: "0.50" instead of "0.5", CRLF line ends.
    let text = csv(&rows(20)).replace(".5,", ".50,").replace('\n', "\r\n");
    dir.create("data/train.csv", text);
    let (code, out) = verify(&dir);
    assert_eq!(code, 1, "bytes changed, so verification fails");
    assert!(
        out.contains("rows: identical (20 rows); only the file's bytes changed"),
        "{out}"
    );
}

#[test]
fn schema_drift_is_reported() {
    let dir = setup();
    let text = csv(&rows(20)).replace("id,x,label\n", "id,x,label2\n");
    dir.create("data/train.csv", text);
    let (code, out) = verify(&dir);
    assert_eq!(code, 1);
    assert!(out.contains("column added: label2 (str)"), "{out}");
    assert!(out.contains("column removed: label (str)"), "{out}");
    assert!(out.contains("rows: 20 changed"), "{out}");
}

#[test]
fn extra_and_missing_files() {
    let dir = setup();
    dir.remove("data/test.csv");
    dir.create("data/new/extra.parquet", "whatever");
    dir.create("data/notes.txt", "not a data file: ignored");
    dir.create("data/.hidden.csv", "hidden: ignored");
    let (code, out) = verify(&dir);
    assert_eq!(code, 1);
    assert!(out.contains("MISSING  data/test.csv"), "{out}");
    assert!(out.contains("EXTRA    data/new/extra.parquet"), "{out}");
    assert!(
        !out.contains("notes.txt") && !out.contains("hidden"),
        "{out}"
    );
    assert!(
        out.contains("FAILED: 1 ok, 0 changed, 1 missing, 1 extra"),
        "{out}"
    );

    // --allow-extra relaxes extras only.
    dir.create("data/test.csv", csv(&rows(5)));
    let (code, _) = verify(&dir);
    assert_eq!(code, 1);
    let out = dir
        .command()
        .args(["verify", "m.json", "--allow-extra"])
        .expect_code(0);
    assert!(stdout(&out).contains("extra    data/new/extra.parquet"));
    assert!(stdout(&out).contains("1 extra (allowed)"));
}

#[test]
fn verify_with_root_elsewhere() {
    let dir = setup();
    std::fs::rename(dir.join("m.json"), dir.join("data/../moved.json")).unwrap();
    std::fs::rename(dir.join("m.json.rows"), dir.join("moved.json.rows")).unwrap();
    std::fs::create_dir(dir.join("manifests")).unwrap();
    std::fs::rename(dir.join("moved.json"), dir.join("manifests/m.json")).unwrap();
    std::fs::rename(
        dir.join("moved.json.rows"),
        dir.join("manifests/m.json.rows"),
    )
    .unwrap();
    // The manifest's own folder is the default root: everything is missing there.
    let out = dir
        .command()
        .args(["verify", "manifests/m.json"])
        .expect_code(1);
    assert!(stdout(&out).contains("MISSING  data/train.csv"));
    dir.command()
        .args(["verify", "manifests/m.json", "--root", "."])
        .expect_code(0);
}

fn tamper(dir: &Dir, from: &str, to: &str) {
    let text = dir.read("m.json").replace(from, to);
    dir.create("m.json", text);
}

#[test]
fn manifest_with_parent_dir_path_is_refused() {
    let dir = setup();
    dir.create("secret.csv", "a\n1\n");
    tamper(&dir, "\"data/test.csv\"", "\"../x\"");
    let out = dir.command().args(["verify", "m.json"]).expect_code(2);
    let err = stderr(&out);
    assert!(err.contains("path '../x' is unsafe"), "{err}");
    assert!(err.contains("'..'"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn manifest_with_absolute_path_is_refused() {
    let dir = setup();
    tamper(&dir, "\"data/test.csv\"", "\"/etc/x\"");
    let out = dir.command().args(["verify", "m.json"]).expect_code(2);
    assert!(stderr(&out).contains("path '/etc/x' is unsafe because it is absolute"));
    for bad in [r"data\\test.csv", "data/./test.csv", "C:/x"] {
        let dir = setup();
        tamper(&dir, "\"data/test.csv\"", &format!("\"{bad}\""));
        dir.command().args(["verify", "m.json"]).expect_code(2);
    }
}

#[test]
fn malformed_manifest_is_an_error() {
    let dir = setup();
    dir.create("m.json", "{ not json");
    let out = dir.command().args(["verify", "m.json"]).expect_code(2);
    assert!(stderr(&out).starts_with("error: failed to parse manifest m.json"));
    dir.create("m.json", r#"{"manifest_version": 2}"#);
    let out = dir.command().args(["verify", "m.json"]).expect_code(2);
    assert!(
        stderr(&out).contains("manifest_version 2"),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn symlink_out_of_the_root_is_refused() {
    let dir = setup();
    let outside = Dir::new();
    let target = outside.create("test.csv", csv(&rows(5)));
    dir.remove("data/test.csv");
    std::os::unix::fs::symlink(&target, dir.join("data/test.csv")).unwrap();
    let out = dir.command().args(["verify", "m.json"]).expect_code(2);
    let err = stderr(&out);
    assert!(
        err.contains("data/test.csv is a symbolic link; refusing to follow it"),
        "{err}"
    );
    assert!(err.contains("hint: pass --follow-symlinks"), "{err}");
    // Even when following links, never outside the root.
    let out = dir
        .command()
        .args(["verify", "m.json", "--follow-symlinks"])
        .expect_code(2);
    assert!(
        stderr(&out).contains("outside the root"),
        "{}",
        stderr(&out)
    );
    // A linked folder leading outside is refused the same way.
    let dir2 = setup();
    let real = outside.join("data");
    std::fs::create_dir(&real).unwrap();
    for f in ["train.csv", "test.csv"] {
        std::fs::copy(dir2.join("data").join(f), real.join(f)).unwrap();
    }
    std::fs::remove_dir_all(dir2.join("data")).unwrap();
    std::os::unix::fs::symlink(&real, dir2.join("data")).unwrap();
    dir2.command()
        .args(["verify", "m.json", "--follow-symlinks"])
        .expect_code(2);
}

#[cfg(unix)]
#[test]
fn symlink_inside_the_root_needs_follow_symlinks() {
    let dir = setup();
    dir.create("store/test.csv", csv(&rows(5)));
    dir.remove("data/test.csv");
    std::os::unix::fs::symlink(dir.join("store/test.csv"), dir.join("data/test.csv")).unwrap();
    dir.command().args(["verify", "m.json"]).expect_code(2);
    dir.command()
        .args(["verify", "m.json", "--follow-symlinks"])
        .expect_code(0);
}

#[test]
fn changed_parquet_rows_are_pinpointed() {
    let dir = Dir::new();
    dir.copy_fixture("fixtures/provenance", ".");
    dir.command()
        .args(["verify", "manifest.json"])
        .expect_code(0);
    // Replace the Parquet file by the CSV's rows with one edit, written as Parquet
    // by reading the CSV with polars.
    use polars::prelude::*;
    let text = dir.read("data/train.csv").replace("\n5,", "\n55,");
    dir.create("edited.csv", text);
    let mut df = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(dir.join("edited.csv")))
        .unwrap()
        .finish()
        .unwrap();
    std::fs::remove_file(dir.join("edited.csv")).unwrap();
    let file = std::fs::File::create(dir.join("data/train.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
    let out = dir
        .command()
        .args(["verify", "manifest.json"])
        .expect_code(1);
    let text = stdout(&out);
    assert!(text.contains("CHANGED  data/train.parquet"), "{text}");
    assert!(text.contains("row 5 changed"), "{text}");
    // Physical types changed (i32 -> i64) but the rows did not, except row 5.
    assert!(text.contains("column retyped: id i32 -> i64"), "{text}");
    assert!(
        text.contains("rows: 1 changed, 0 added, 0 removed (40 rows)"),
        "{text}"
    );
}

#[test]
fn missing_sidecar_degrades_to_file_level() {
    let dir = setup();
    dir.remove("m.json.rows");
    dir.create("data/train.csv", csv(&rows(21)));
    let (code, out) = verify(&dir);
    assert_eq!(code, 1);
    assert!(
        out.contains("rows: not compared (20 -> 21 rows): the row sidecar is missing"),
        "{out}"
    );
    assert_eq!(verify_json(&dir)["sidecar"], "missing");
}
