//! `datavet manifest`.

use crate::util::{Dir, json, repo_root, stderr, stdout};

const TRAIN: &str = "id,x,label\n0,0.5,cat\n1,1.5,dog\n2,2.5,cat\n3,3.5,dog\n";

#[test]
fn reproducible_with_source_date_epoch() {
    let dir = Dir::new();
    dir.create("data/train.csv", TRAIN);
    dir.create("data/more/extra.tsv", "id\tx\tlabel\n9\t0.25\tcat\n");
    let run = |out: &str| {
        dir.command()
            .args(["manifest", "data", "-o", out, "--license", "MIT", "-q"])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .expect_code(0);
    };
    run("a.json");
    let (first, first_rows) = (dir.read("a.json"), dir.read_bytes("a.json.rows"));
    run("a.json");
    assert_eq!(
        first,
        dir.read("a.json"),
        "manifest bytes differ between runs"
    );
    assert!(
        first_rows == dir.read_bytes("a.json.rows"),
        "sidecar bytes differ"
    );
    let m = json(&dir.read("a.json"));
    assert_eq!(m["created_at"], "2023-11-14T22:13:20Z");
    assert_eq!(m["manifest_version"], 1);
    assert_eq!(m["files"][0]["path"], "data/more/extra.tsv");
    assert_eq!(m["files"][1]["path"], "data/train.csv");
    assert_eq!(m["files"][1]["rows"], 4);
    // The sidecar's digest is recorded, and equals sha256 of its bytes.
    let side = dir.read_bytes("a.json.rows");
    assert_eq!(m["rows_sidecar"]["size"], side.len() as u64);
    assert_eq!(m["rows_sidecar"]["path"], "a.json.rows");

    // --created-at wins over SOURCE_DATE_EPOCH.
    dir.command()
        .args([
            "manifest",
            "data",
            "-o",
            "c.json",
            "--created-at",
            "2024-05-01T12:00:00Z",
        ])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .expect_code(0);
    assert_eq!(
        json(&dir.read("c.json"))["created_at"],
        "2024-05-01T12:00:00Z"
    );
}

/// Regression: the binary must reproduce the committed fixture manifest byte for
/// byte, which pins the manifest format and the row encoding (datavet-row-v1).
#[test]
fn reproduces_the_committed_fixture_manifest() {
    let dir = Dir::new();
    dir.copy_fixture("fixtures/provenance", "fx");
    dir.remove("fx/manifest.json");
    dir.remove("fx/manifest.json.rows");
    dir.command()
        .args(["manifest", "fx", "-o", "fx/manifest.json"])
        .args(["--provenance", "fx/provenance.toml", "-q"])
        .env("SOURCE_DATE_EPOCH", "1704067200")
        .expect_code(0);
    let fixture = repo_root().join("fixtures/provenance");
    let hint = "if the change is intended (new version, format or encoding), regenerate with \
                `cargo run -p datavet-ingest --example provenance_fixtures`";
    assert_eq!(
        dir.read("fx/manifest.json"),
        std::fs::read_to_string(fixture.join("manifest.json")).unwrap(),
        "{hint}"
    );
    assert!(
        dir.read_bytes("fx/manifest.json.rows")
            == std::fs::read(fixture.join("manifest.json.rows")).unwrap(),
        "row sidecar differs; {hint}"
    );
}

#[test]
fn csv_and_parquet_of_the_same_rows_have_equal_row_roots() {
    let dir = Dir::new();
    dir.copy_fixture("fixtures/provenance", "fx");
    let out = dir
        .command()
        .args([
            "manifest",
            "fx/data/train.csv",
            "fx/data/train.parquet",
            "--root",
            "fx",
        ])
        .stdout();
    let m = json(&out);
    let files = m["files"].as_array().unwrap();
    assert_eq!(files[0]["format"], "csv");
    assert_eq!(files[1]["format"], "parquet");
    assert_ne!(files[0]["sha256"], files[1]["sha256"]);
    assert_eq!(files[0]["rows"], 40);
    assert_eq!(files[0]["row_root"], files[1]["row_root"]);
    // The schemas differ physically (i64 vs i32), the rows do not.
    assert_eq!(files[0]["schema"][0]["type"], "i64");
    assert_eq!(files[1]["schema"][0]["type"], "i32");
}

#[test]
fn manifest_and_sidecar_never_list_themselves() {
    let dir = Dir::new();
    dir.create("data/train.csv", TRAIN);
    // Odd names on purpose: a manifest named like a data file must still be skipped.
    for _ in 0..2 {
        dir.command()
            .args([
                "manifest",
                "data",
                "-o",
                "data/m.ndjson",
                "--root",
                ".",
                "-q",
            ])
            .expect_code(0);
    }
    let m = json(&dir.read("data/m.ndjson"));
    let paths: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["data/train.csv"]);
    // And verify does not report them as extra.
    dir.command()
        .args(["verify", "data/m.ndjson", "--root", "."])
        .expect_code(0);
}

#[test]
fn no_rows_hash_only_and_in_toto() {
    let dir = Dir::new();
    dir.create("data/train.csv", TRAIN);
    dir.command()
        .args(["manifest", "data", "-o", "m.json", "--no-rows", "-q"])
        .expect_code(0);
    let m = json(&dir.read("m.json"));
    assert!(m.get("rows_sidecar").is_none());
    assert!(!dir.join("m.json.rows").exists());
    assert_eq!(m["files"][0]["rows"], 4);

    dir.command()
        .args(["manifest", "data", "-o", "h.json", "--hash-only", "-q"])
        .expect_code(0);
    let h = json(&dir.read("h.json"));
    assert!(h["files"][0].get("rows").is_none());
    assert!(h["files"][0].get("row_root").is_none());
    assert!(h.get("row_encoding").is_none());
    assert_eq!(h["files"][0]["sha256"], m["files"][0]["sha256"]);

    dir.command()
        .args([
            "manifest", "data", "-o", "s.json", "--format", "in-toto", "-q",
        ])
        .expect_code(0);
    let s = json(&dir.read("s.json"));
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(s["subject"][0]["name"], "data/train.csv");
    assert_eq!(s["subject"][0]["digest"]["sha256"], m["files"][0]["sha256"]);
    assert_eq!(s["predicate"]["files"][0]["path"], "data/train.csv");
    // verify accepts the statement.
    dir.command().args(["verify", "s.json"]).expect_code(0);
}

#[test]
fn digests_equal_sha256sum() {
    let dir = Dir::new();
    dir.create("abc.csv", "abc");
    dir.create("empty.csv", "");
    let m = json(
        &dir.command()
            .args(["manifest", ".", "--hash-only"])
            .stdout(),
    );
    assert_eq!(
        m["files"][0]["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        m["files"][1]["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn provenance_file_flags_and_parent() {
    let dir = Dir::new();
    dir.create("data/a.csv", TRAIN);
    dir.create("data/b.csv", TRAIN);
    dir.create(
        "prov.toml",
        "license = \"CC0-1.0\"\nowner = \"team\"\n[files.\"data/b.csv\"]\nlicense = \"MIT\"\n",
    );
    dir.command()
        .args(["manifest", "data", "-o", "v1.json", "-q"])
        .args([
            "--provenance",
            "prov.toml",
            "--owner",
            "alice",
            "--source-uri",
            "s3://x",
        ])
        .expect_code(0);
    let m = json(&dir.read("v1.json"));
    assert_eq!(m["provenance"]["license"], "CC0-1.0");
    assert_eq!(m["provenance"]["owner"], "alice");
    assert_eq!(m["provenance"]["source_uri"], "s3://x");
    assert!(m["files"][0].get("provenance").is_none());
    assert_eq!(m["files"][1]["provenance"]["license"], "MIT");

    dir.command()
        .args([
            "manifest", "data", "-o", "v2.json", "--parent", "v1.json", "-q",
        ])
        .expect_code(0);
    let v2 = json(&dir.read("v2.json"));
    let parent = v2["parent_sha256"].as_str().unwrap();
    use sha2::Digest;
    assert_eq!(
        parent,
        hex::encode(sha2::Sha256::digest(dir.read_bytes("v1.json")))
    );

    // A provenance entry for a file that is not an input is an error.
    dir.create("bad.toml", "[files.\"data/nope.csv\"]\nowner = \"x\"\n");
    let out = dir
        .command()
        .args([
            "manifest",
            "data",
            "-o",
            "v3.json",
            "--provenance",
            "bad.toml",
        ])
        .expect_code(2);
    assert!(stderr(&out).contains("data/nope.csv"), "{}", stderr(&out));
    // A typo in a field name is an error too.
    dir.create("typo.toml", "licence = \"MIT\"\n");
    dir.command()
        .args([
            "manifest",
            "data",
            "-o",
            "v3.json",
            "--provenance",
            "typo.toml",
        ])
        .expect_code(2);
}

#[test]
fn errors_exit_2_with_one_line_message_and_hint() {
    let dir = Dir::new();
    dir.create("data/a.csv", TRAIN);
    dir.create("elsewhere/b.csv", TRAIN);
    let out = dir
        .command()
        .args(["manifest", "nope/", "-o", "m.json"])
        .expect_code(2);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: input nope/ does not exist"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let out = dir
        .command()
        .args(["manifest", "elsewhere/b.csv", "-o", "data/m.json"])
        .expect_code(2);
    let err = stderr(&out);
    assert!(err.contains("outside the root"), "{err}");
    assert!(err.contains("\nhint: "), "{err}");
    assert!(stdout(&out).is_empty());
    assert!(!dir.join("data/m.json").exists());

    dir.create("data/bad.parquet", "not parquet");
    let out = dir
        .command()
        .args(["manifest", "data", "-o", "m.json"])
        .expect_code(2);
    assert!(
        stderr(&out).contains("data/bad.parquet"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("m.json").exists(), "no partial manifest on error");
}
