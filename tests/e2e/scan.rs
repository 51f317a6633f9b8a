//! `datavet scan` and `datavet export` through the binary.

use crate::util::Dir;

const DEMO: &str = "fixtures/demo/train.csv";

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn truth() -> Vec<(usize, String)> {
    let text =
        std::fs::read_to_string(crate::util::repo_root().join("fixtures/demo/truth.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let (row, attack) = l.split_once(',').unwrap();
            (row.parse().unwrap(), attack.to_string())
        })
        .collect()
}

#[test]
fn demo_report_names_planted_rows_and_fails_the_default_gate() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let run = dir
        .run(&[
            "scan",
            data.to_str().unwrap(),
            "--label",
            "label",
            "--id",
            "id",
            "--json",
            "r.json",
        ])
        .expect_code(1);
    let out = run.stdout();
    assert!(out.contains("label 'label': A "), "{out}");
    assert!(out.contains("Most suspicious rows"), "{out}");
    assert!(out.contains("FAIL (findings at or above 'high')"), "{out}");
    let report = json(&dir.join("r.json"));
    assert_eq!(report["schema"], "datavet.scan/v1");
    assert_eq!(report["dataset"]["rows"], 1800);
    let flagged: std::collections::BTreeSet<u64> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    // Most targeted flips are found (13 of 20 measured; the other 7 have only the kNN
    // label vote, which corroborates but does not flag), and the top row is planted.
    let targeted: Vec<usize> = truth()
        .into_iter()
        .filter(|(_, attack)| attack == "targeted_flip")
        .map(|(row, _)| row)
        .collect();
    let found = targeted
        .iter()
        .filter(|&&row| flagged.contains(&(row as u64)))
        .count();
    assert_eq!(targeted.len(), 20);
    assert!(found >= 13, "{found} of 20 targeted flips found");
    let top = report["rows"][0]["row"].as_u64().unwrap() as usize;
    assert!(
        truth().iter().any(|(r, _)| *r == top),
        "top row {top} is not planted"
    );
    // Flagged rows carry an id, a reason and a recommendation.
    let first = &report["rows"][0];
    assert!(first["id"].as_str().unwrap().starts_with('s'));
    assert!(!first["issues"][0]["reason"].as_str().unwrap().is_empty());
    assert!(
        !first["issues"][0]["recommendation"]
            .as_str()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn fail_on_levels_set_the_exit_code() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let d = data.to_str().unwrap();
    for (level, code) in [
        ("never", 0),
        ("low", 1),
        ("medium", 1),
        ("high", 1),
        ("critical", 1),
    ] {
        dir.run(&["scan", d, "--label", "label", "--fail-on", level, "--quiet"])
            .expect_code(code);
    }
    // Without the trigger detector the worst finding is high: the critical gate
    // passes while the high gate still fails.
    dir.create("no-trigger.toml", "[detectors]\ndisable = [\"trigger\"]\n");
    for (level, code) in [("critical", 0), ("high", 1)] {
        dir.run(&[
            "scan",
            d,
            "--label",
            "label",
            "--config",
            "no-trigger.toml",
            "--fail-on",
            level,
            "--quiet",
        ])
        .expect_code(code);
    }
    // A clean table passes even the strictest gate.
    let clean = dir.create(
        "clean.csv",
        "x,y,label\n1,2,a\n2,1,a\n1,1,a\n2,2,a\n10,11,b\n11,10,b\n10,10,b\n11,11,b\n",
    );
    let run = dir
        .run(&[
            "scan",
            clean.to_str().unwrap(),
            "--label",
            "label",
            "--fail-on",
            "low",
        ])
        .expect_code(0);
    assert!(
        run.stdout().contains("0 of 8 rows flagged"),
        "{}",
        run.stdout()
    );
}

#[test]
fn outputs_agree_with_each_other_and_export_matches_scan() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let d = data.to_str().unwrap();
    dir.run(&[
        "scan", d, "--label", "label", "--id", "id", "--json", "r.json", "--scores", "s.csv",
        "--export", "e.csv", "--clean", "c.csv", "--quiet",
    ])
    .expect_code(1);
    let report = json(&dir.join("r.json"));
    let rows = report["rows"].as_array().unwrap();
    let export = std::fs::read_to_string(dir.join("e.csv")).unwrap();
    let clean = std::fs::read_to_string(dir.join("c.csv")).unwrap();
    let scores = std::fs::read_to_string(dir.join("s.csv")).unwrap();
    // export: header + one line per flagged row, in report order.
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(lines.len(), rows.len() + 1);
    assert!(lines[0].starts_with("id,f0,"));
    assert!(lines[0].ends_with("label,row,score,severity,issues,reason"));
    assert!(lines[1].starts_with(rows[0]["id"].as_str().unwrap()));
    // clean: every other row.
    assert_eq!(clean.lines().count(), 1800 - rows.len() + 1);
    // scores: one line per input row; flagged rows' combined score matches the report.
    let score_lines: Vec<&str> = scores.lines().collect();
    assert_eq!(score_lines.len(), 1801);
    assert!(score_lines[0].starts_with("row,id,score,"));
    let r0 = rows[0]["row"].as_u64().unwrap() as usize;
    let cols: Vec<&str> = score_lines[r0 + 1].split(',').collect();
    let s: f64 = cols[2].parse().unwrap();
    assert!(s <= rows[0]["score"].as_f64().unwrap() + 1e-9);
    // export from the saved report equals scan --export, byte for byte.
    dir.run(&["export", d, "--report", "r.json", "-o", "e2.csv"])
        .expect_code(0);
    assert_eq!(export, std::fs::read_to_string(dir.join("e2.csv")).unwrap());
    dir.run(&["export", d, "--report", "r.json", "--clean", "-o", "c2.csv"])
        .expect_code(0);
    assert_eq!(clean, std::fs::read_to_string(dir.join("c2.csv")).unwrap());
    // The report says which detectors' scores make the combined score: those whose
    // issues may flag a row alone (confident learning ran, so not the kNN vote).
    let ranking: Vec<&str> = report["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["ranks"].as_bool().unwrap())
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        ranking,
        [
            "non_finite",
            "duplicates",
            "near_duplicates",
            "knn_outlier",
            "ecod",
            "isolation_forest",
            "confident_learning",
            "trigger"
        ]
    );
    // A report written before `ranks` existed is still read.
    let mut old = report.clone();
    for d in old["detectors"].as_array_mut().unwrap() {
        d.as_object_mut().unwrap().remove("ranks");
    }
    std::fs::write(dir.join("old.json"), old.to_string()).unwrap();
    dir.run(&["export", d, "--report", "old.json", "-o", "e3.csv"])
        .expect_code(0);
    assert_eq!(export, std::fs::read_to_string(dir.join("e3.csv")).unwrap());
    // Filters narrow the export.
    dir.run(&[
        "export",
        d,
        "--report",
        "r.json",
        "--min-severity",
        "high",
        "-o",
        "h.csv",
    ])
    .expect_code(0);
    let high = rows
        .iter()
        .filter(|r| r["severity"] == "high" || r["severity"] == "critical")
        .count();
    assert_eq!(
        std::fs::read_to_string(dir.join("h.csv"))
            .unwrap()
            .lines()
            .count(),
        high + 1
    );
}

#[test]
fn export_refuses_changed_data() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let d = data.to_str().unwrap();
    dir.run(&["scan", d, "--label", "label", "--json", "r.json", "--quiet"])
        .expect_code(1);
    let mut text = std::fs::read_to_string(&data).unwrap();
    text = text.replacen("north", "south", 1);
    std::fs::write(&data, text).unwrap();
    let run = dir
        .run(&["export", d, "--report", "r.json", "-o", "e.csv"])
        .expect_code(2);
    assert!(
        run.stderr().contains("does not match the report"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("hint:"), "{}", run.stderr());
    assert!(!dir.join("e.csv").exists());
}

#[test]
fn same_input_and_seed_give_identical_outputs() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let d = data.to_str().unwrap();
    let mut outs = Vec::new();
    for (i, threads) in ["1", "2"].iter().enumerate() {
        let run = dir
            .run(&[
                "scan",
                d,
                "--label",
                "label",
                "--id",
                "id",
                "--seed",
                "7",
                "--threads",
                threads,
                "--json",
                &format!("r{i}.json"),
                "--scores",
                &format!("s{i}.csv"),
                "--export",
                &format!("e{i}.csv"),
            ])
            .expect_code(1);
        outs.push(run.stdout());
    }
    assert_eq!(outs[0], outs[1]);
    for stem in ["r", "s", "e"] {
        let ext = if stem == "r" { "json" } else { "csv" };
        let a = std::fs::read(dir.join(format!("{stem}0.{ext}"))).unwrap();
        let b = std::fs::read(dir.join(format!("{stem}1.{ext}"))).unwrap();
        assert!(a == b, "{stem}.{ext} differs between runs");
    }
}

#[test]
fn without_label_runs_label_free_checks_and_says_what_was_skipped() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let run = dir
        .run(&[
            "scan",
            data.to_str().unwrap(),
            "--ignore",
            "label",
            "--fail-on",
            "never",
        ])
        .expect_code(0);
    let out = run.stdout();
    assert!(
        out.contains("no label column: label checks skipped"),
        "{out}"
    );
    assert!(
        out.contains("checks skipped: knn_label, confident_learning"),
        "{out}"
    );
}

#[test]
fn bad_input_is_one_line_exit_2_and_leaves_no_output() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let d = data.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["scan", "missing.csv", "--label", "y"], "missing.csv"),
        (
            vec!["scan", d, "--label", "nope", "--json", "r.json"],
            "column 'nope' is not in the table",
        ),
        (
            vec!["scan", d, "--label", "label", "--export", "x.txt"],
            "x.txt",
        ),
        (
            vec![
                "scan",
                d,
                "--label",
                "label",
                "--max-flag-rate",
                "2",
                "--json",
                "r.json",
            ],
            "max_flag_rate",
        ),
    ];
    for (args, needle) in cases {
        let run = dir.run(&args).expect_code(2);
        let err = run.stderr();
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(err.lines().count() <= 2, "{err}");
    }
    assert_eq!(dir.listing(), vec!["train.csv"]);
}

#[test]
fn config_file_sets_roles_and_rejects_unknown_keys() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let d = data.to_str().unwrap();
    dir.create(
        "datavet.toml",
        "label = \"label\"\nid = \"id\"\nfail_on = \"never\"\n",
    );
    let run = dir.run(&["scan", d]).expect_code(0);
    assert!(run.stdout().contains("id column 'id'"), "{}", run.stdout());
    // Flags override the file.
    dir.run(&["scan", d, "--fail-on", "high", "--quiet"])
        .expect_code(1);
    dir.create("bad.toml", "label = \"label\"\nlabell = 3\n");
    let run = dir.run(&["scan", d, "--config", "bad.toml"]).expect_code(2);
    assert!(
        run.stderr().contains("unknown field `labell`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn output_to_a_closed_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let mut child = Command::new(env!("CARGO_BIN_EXE_datavet"))
        .args([
            "scan",
            data.to_str().unwrap(),
            "--label",
            "label",
            "--top",
            "1000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end at once, as `datavet scan ... | head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scans_parquet_jsonl_and_folders_like_csv() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let d = data.to_str().unwrap();
    // Parquet written by datavet itself from the clean rows, then scanned.
    dir.run(&[
        "scan",
        d,
        "--label",
        "label",
        "--clean",
        "clean.parquet",
        "--quiet",
    ])
    .expect_code(1);
    let run = dir
        .run(&[
            "scan",
            "clean.parquet",
            "--label",
            "label",
            "--json",
            "p.json",
            "--fail-on",
            "never",
        ])
        .expect_code(0);
    assert!(run.stdout().contains("clean.parquet"), "{}", run.stdout());
    let report = json(&dir.join("p.json"));
    assert!(report["dataset"]["rows"].as_u64().unwrap() > 1600);
    // JSON Lines with a label-conflicting exact duplicate.
    let mut jsonl = String::new();
    for i in 0..60 {
        let (x, label) = if i % 2 == 0 {
            (i as f64 * 0.01, "a")
        } else {
            (5.0 + i as f64 * 0.01, "b")
        };
        jsonl.push_str(&format!(
            "{{\"x\": {x}, \"y\": {}, \"label\": \"{label}\"}}\n",
            x * 2.0
        ));
    }
    jsonl.push_str("{\"x\": 0.0, \"y\": 0.0, \"label\": \"b\"}\n");
    dir.create("shards/part-1.jsonl", &jsonl);
    let run = dir
        .run(&[
            "scan",
            "shards/part-1.jsonl",
            "--label",
            "label",
            "--json",
            "j.json",
        ])
        .expect_code(1);
    let report = json(&dir.join("j.json"));
    let kinds = report["summary"]["by_kind"].as_object().unwrap();
    assert!(
        kinds.contains_key("conflicting_duplicate"),
        "{}",
        run.stdout()
    );
    // A folder of shards reads every file, sorted, as one table.
    dir.create(
        "shards/part-2.jsonl",
        "{\"x\": 9.0, \"y\": 18.0, \"label\": \"b\"}\n",
    );
    dir.run(&[
        "scan",
        "shards",
        "--label",
        "label",
        "--json",
        "f.json",
        "--fail-on",
        "never",
    ])
    .expect_code(0);
    let report = json(&dir.join("f.json"));
    assert_eq!(report["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(report["dataset"]["rows"], 62);
}

#[test]
fn max_memory_refuses_a_scan_that_would_not_fit_before_any_output() {
    let dir = Dir::new();
    let data = dir.fixture(DEMO);
    let d = data.to_str().unwrap();
    let outputs = ["--json", "r.json", "--export", "f.csv", "--clean", "c.csv"];
    // The demo is 270 KB: reading it fits in 50 MB, scanning it does not.
    let mut args = vec!["scan", d, "--label", "label", "--max-memory", "50M"];
    args.extend(outputs);
    let run = dir.run(&args).expect_code(2);
    let err = run.stderr();
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with("error: scanning ")
            && first.contains("train.csv (1800 rows × 12 features) needs about ")
            && first.ends_with("of memory, more than the 50.0 MB allowed by --max-memory"),
        "{err}"
    );
    assert!(
        err.lines()
            .nth(1)
            .unwrap()
            .starts_with("hint: scan a sample")
    );
    assert_eq!(err.lines().count(), 2, "{err}");
    // Too little even to read: refused before reading.
    let mut args = vec!["scan", d, "--label", "label", "--max-memory", "1M"];
    args.extend(outputs);
    let err = dir.run(&args).expect_code(2).stderr();
    assert!(err.starts_with("error: reading "), "{err}");
    assert!(err.contains("allowed by --max-memory"), "{err}");
    assert_eq!(dir.listing(), vec!["train.csv"]);
    // Enough memory, or no check: the scan runs (and finds the planted rows).
    for limit in ["4G", "none"] {
        dir.run(&["scan", d, "--label", "label", "--max-memory", limit, "-q"])
            .expect_code(1);
    }
    // A bad size is a usage error.
    let err = dir
        .run(&["scan", d, "--label", "label", "--max-memory", "lots"])
        .expect_code(2)
        .stderr();
    assert!(err.contains("'--max-memory <SIZE>'"), "{err}");
}

#[test]
fn a_file_that_makes_the_reader_panic_is_a_one_line_error() {
    let dir = Dir::new();
    let data = dir.fixture("fixtures/fuzz-regressions/jsonl-integer-beyond-64-bits.jsonl");
    let run = dir
        .run(&["scan", data.to_str().unwrap(), "--json", "r.json"])
        .expect_code(2);
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: failed to read ")
            && err.contains("jsonl-integer-beyond-64-bits.jsonl: the reader gave up"),
        "{err}"
    );
    assert_eq!(
        dir.listing(),
        vec!["jsonl-integer-beyond-64-bits.jsonl".to_string()]
    );
}
