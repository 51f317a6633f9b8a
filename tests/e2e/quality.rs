//! Detection-quality floors on the committed planted fixtures (fixtures/eval/).
//!
//! The fixtures are real tables (iris, wine, breast cancer: UCI, CC BY 4.0, as bundled
//! with scikit-learn; penguins: CC0, from the palmerpenguins package) with attacks
//! planted by `eval/plant.py fixtures`; each `CASE.truth.csv` lists the planted rows.
//! Every test scans its cases through the binary and checks, from the JSON report,
//! precision and recall of the flagged rows per attack against floors the current
//! detectors reach (set a little below the measured value), and the flag rate on the
//! untouched tables against a ceiling, and, from `--scores`, the AUROC of the combined
//! per-row score per attack in the mix cases. A change that makes detection worse fails
//! here; one that makes it better should raise the floors. Rows marked `*_source` (the originals a conflicting copy was made from)
//! are neither hits nor false alarms. The full comparison with cleanlab and PyOD is
//! `eval/run.py` (docs/benchmarks.md).

use std::collections::{BTreeMap, BTreeSet};

use crate::util::{Dir, repo_root};

/// What one scan measured against one case's truth.
struct Measured {
    rows: usize,
    flagged: BTreeSet<usize>,
    /// Rows with a `backdoor_trigger` issue.
    triggers: BTreeSet<usize>,
    /// attack -> planted rows (without the ignored `*_source` rows).
    attacks: BTreeMap<String, BTreeSet<usize>>,
    ignored: BTreeSet<usize>,
    /// The combined score of every row, from `--scores`.
    scores: Vec<f64>,
}

impl Measured {
    /// Neither an attack's row nor an ignored `*_source` row.
    fn is_clean(&self, row: usize) -> bool {
        !self.ignored.contains(&row) && !self.attacks.values().any(|a| a.contains(&row))
    }

    fn clean_flagged(&self) -> usize {
        self.flagged.iter().filter(|&&r| self.is_clean(r)).count()
    }

    fn clean_rows(&self) -> usize {
        self.rows - self.ignored.len() - self.attacks.values().map(BTreeSet::len).sum::<usize>()
    }

    /// Precision and recall of the flagged rows for one attack, counting only that
    /// attack's rows and clean rows (other attacks' rows are neither).
    fn attack(&self, attack: &str) -> (f64, f64) {
        let rows = self
            .attacks
            .get(attack)
            .unwrap_or_else(|| panic!("no '{attack}' rows in the truth"));
        let hits = rows.intersection(&self.flagged).count();
        let false_alarms = self.clean_flagged();
        let precision = if hits + false_alarms == 0 {
            0.0
        } else {
            hits as f64 / (hits + false_alarms) as f64
        };
        (precision, hits as f64 / rows.len() as f64)
    }

    fn flag_rate(&self) -> f64 {
        self.clean_flagged() as f64 / self.clean_rows() as f64
    }

    /// AUROC of the combined score for one attack: the chance that a row of that
    /// attack scores above a clean row, ties counting half (other attacks' rows are
    /// neither).
    fn auroc(&self, attack: &str) -> f64 {
        let rows = &self.attacks[attack];
        let clean: Vec<f64> = (0..self.rows)
            .filter(|&r| self.is_clean(r))
            .map(|r| self.scores[r])
            .collect();
        let mut wins = 0.0;
        for &r in rows {
            let s = self.scores[r];
            for &c in &clean {
                wins += if s > c {
                    1.0
                } else if s == c {
                    0.5
                } else {
                    0.0
                };
            }
        }
        wins / (rows.len() * clean.len()) as f64
    }
}

fn scan(case: &str) -> Measured {
    let dir = Dir::new();
    let data = dir.fixture(&format!("fixtures/eval/{case}.csv"));
    dir.run(&[
        "scan",
        data.to_str().unwrap(),
        "--label",
        "label",
        "--json",
        "r.json",
        "--scores",
        "s.csv",
        "--fail-on",
        "never",
        "-q",
    ])
    .expect_code(0);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let row_of = |r: &serde_json::Value| r["row"].as_u64().unwrap() as usize;
    let flagged = rows.iter().map(row_of).collect();
    let triggers = rows
        .iter()
        .filter(|r| {
            r["issues"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["kind"] == "backdoor_trigger")
        })
        .map(row_of)
        .collect();
    let truth =
        std::fs::read_to_string(repo_root().join(format!("fixtures/eval/{case}.truth.csv")))
            .unwrap();
    let mut attacks: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut ignored = BTreeSet::new();
    for line in truth.lines().skip(1) {
        let (row, attack) = line.split_once(',').unwrap();
        let row: usize = row.parse().unwrap();
        if attack.ends_with("_source") {
            ignored.insert(row);
        } else {
            attacks.entry(attack.to_string()).or_default().insert(row);
        }
    }
    let table = std::fs::read_to_string(dir.join("s.csv")).unwrap();
    let mut lines = table.lines();
    let column = lines
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "score")
        .unwrap();
    let scores = lines
        .map(|l| l.split(',').nth(column).unwrap().parse().unwrap())
        .collect();
    Measured {
        rows: report["dataset"]["rows"].as_u64().unwrap() as usize,
        flagged,
        triggers,
        attacks,
        ignored,
        scores,
    }
}

/// A floor: in `case`, rows of `attack` are found with at least this precision and
/// recall.
struct Floor {
    case: String,
    attack: &'static str,
    precision: f64,
    recall: f64,
}

fn floor(case: &str, attack: &'static str, precision: f64, recall: f64) -> Floor {
    Floor {
        case: case.to_owned(),
        attack,
        precision,
        recall,
    }
}

/// Floors for single-attack cases of `table`: `(attack, precision, recall)`, each
/// judged in the case `{table}__{attack}`.
fn singles(table: &str, floors: &[(&'static str, f64, f64)]) -> Vec<Floor> {
    floors
        .iter()
        .map(|&(attack, p, r)| floor(&format!("{table}__{attack}"), attack, p, r))
        .collect()
}

/// Check every floor and flag-rate ceiling, reporting all misses at once with the
/// measured values.
fn check(floors: &[Floor], ceilings: &[(&str, f64)]) {
    let mut cases: BTreeMap<&str, Measured> = BTreeMap::new();
    for case in floors
        .iter()
        .map(|f| f.case.as_str())
        .chain(ceilings.iter().map(|c| c.0))
    {
        cases.entry(case).or_insert_with(|| scan(case));
    }
    let mut misses = Vec::new();
    let mut table = Vec::new();
    for f in floors {
        let (p, r) = cases[f.case.as_str()].attack(f.attack);
        table.push(format!(
            "{:<32} {:<18} precision {p:.3} (floor {:.2})  recall {r:.3} (floor {:.2})",
            f.case, f.attack, f.precision, f.recall
        ));
        if p < f.precision || r < f.recall {
            misses.push(table.last().unwrap().clone());
        }
    }
    for &(case, ceiling) in ceilings {
        let rate = cases[case].flag_rate();
        table.push(format!(
            "{case:<32} {:<18} flag rate {rate:.3} (ceiling {ceiling:.2})",
            "clean rows"
        ));
        if rate > ceiling {
            misses.push(table.last().unwrap().clone());
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(
        misses.is_empty(),
        "detection got worse than the floors:\n{}",
        misses.join("\n")
    );
}

#[test]
fn iris_quality_floors() {
    check(
        &singles(
            "iris",
            &[
                ("label_flip", 0.65, 0.9),
                ("targeted_flip", 0.57, 0.787),
                ("backdoor_oor", 0.75, 0.9),
                ("backdoor_inrange", 0.45, 0.18),
                ("outlier", 0.64, 0.9),
                ("dup_conflict", 0.45, 0.9),
                ("near_dup_conflict", 0.56, 0.9),
            ],
        ),
        &[("iris__clean", 0.03)],
    );
}

#[test]
fn wine_quality_floors() {
    check(
        &singles(
            "wine",
            &[
                ("label_flip", 0.63, 0.7),
                ("targeted_flip", 0.64, 0.5),
                ("backdoor_oor", 0.75, 0.9),
                ("backdoor_inrange", 0.22, 0.18),
                ("outlier", 0.75, 0.9),
                ("dup_conflict", 0.64, 0.9),
                ("near_dup_conflict", 0.75, 0.9),
            ],
        ),
        &[("wine__clean", 0.02)],
    );
}

#[test]
fn penguins_quality_floors() {
    // The held-out table (added after the defaults were set on the others; CC0):
    // every case, the mix included. Measured when added: precision 0.71-0.88 and
    // recall 0.71-1.00 on the single attacks (in-range backdoor 0.67 / 0.40: see
    // docs/benchmarks.md), 2 of 342 clean rows flagged.
    const MIX: &str = "penguins__mix";
    let mut floors = singles(
        "penguins",
        &[
            ("label_flip", 0.78, 0.7),
            ("targeted_flip", 0.8, 0.82),
            ("backdoor_oor", 0.7, 0.9),
            ("backdoor_inrange", 0.5, 0.38),
            ("outlier", 0.7, 0.9),
            ("dup_conflict", 0.62, 0.9),
            ("near_dup_conflict", 0.7, 0.9),
        ],
    );
    floors.extend([
        floor(MIX, "label_flip", 0.75, 0.9),
        floor(MIX, "targeted_flip", 0.66, 0.85),
        floor(MIX, "backdoor_oor", 0.5, 0.9),
        floor(MIX, "backdoor_inrange", 0.4, 0.66),
        floor(MIX, "outlier", 0.5, 0.9),
        floor(MIX, "dup_conflict", 0.5, 0.9),
        floor(MIX, "near_dup_conflict", 0.5, 0.9),
    ]);
    check(&floors, &[("penguins__clean", 0.015), (MIX, 0.02)]);
}

#[test]
fn breast_cancer_mix_quality_floors() {
    // The mix's six out-of-range backdoor rows (target 'malignant', trigger values that
    // push them deeper into the malignant region) are found by no decisive detector:
    // they share their three trigger values, so they are each other's nearest
    // neighbours (kNN outlier z 3.5, below 4.5), and the trigger check falls short of
    // its α because the mix's 20 flipped labels in 'malignant' make contradicted rows
    // common in that class. There is no floor for them; docs/benchmarks.md lists the
    // gap.
    const CASE: &str = "breast_cancer__mix";
    check(
        &[
            floor(CASE, "label_flip", 0.533, 0.846),
            floor(CASE, "targeted_flip", 0.45, 0.9),
            floor(CASE, "backdoor_inrange", 0.317, 0.9),
            floor(CASE, "outlier", 0.192, 0.9),
            floor(CASE, "dup_conflict", 0.192, 0.9),
            floor(CASE, "near_dup_conflict", 0.192, 0.9),
        ],
        &[(CASE, 0.03)],
    );
}

#[test]
fn out_of_range_backdoors_are_reported_as_triggers() {
    // Attribution, not just flagging: the relabelled rows carrying an out-of-range
    // trigger (iris: 1 column, wine: 2 columns; 5 rows each) are reported as a
    // backdoor trigger, every one of them, and no other row is. Before the trigger's
    // null left the cell's own rows out, these ~150-row tables were too small for
    // the test and the rows were flagged only as kNN outliers; iris's one-column
    // trigger (p ≈ 4.5e-6) then still fell short of a Bonferroni threshold taken
    // over every rare value of the table (2.8e-6) until out-of-range values became
    // their own family.
    for case in ["iris__backdoor_oor", "wine__backdoor_oor"] {
        let m = scan(case);
        let planted = &m.attacks["backdoor_oor"];
        assert_eq!(
            &m.triggers, planted,
            "{case}: rows reported as backdoor_trigger"
        );
    }
    for case in ["iris__clean", "wine__clean", "penguins__clean"] {
        assert!(scan(case).triggers.is_empty(), "{case}");
    }
}

#[test]
fn combined_score_ranks_every_attack_above_clean_rows() {
    // AUROC of the per-row combined score (`--scores`) per attack, attack rows against
    // clean rows, in the two mix cases, where every attack competes for the top of one
    // ranking. Floors a little below the measured values. Measured when set: breast
    // cancer 0.970 (out-of-range backdoor), 0.976 (outliers), 0.986 (label flips),
    // 0.998-1.000 (the rest); penguins 0.998-1.000. While corroborating detectors
    // (k-means, spectral signature, activation clustering, the raw kNN label vote)
    // still entered the combined score, breast cancer's label flips scored 0.967.
    let floors: [(&str, [(&str, f64); 7]); 2] = [
        (
            "breast_cancer__mix",
            [
                ("label_flip", 0.98),
                ("targeted_flip", 0.99),
                ("backdoor_oor", 0.96),
                ("backdoor_inrange", 0.99),
                ("outlier", 0.97),
                ("dup_conflict", 0.99),
                ("near_dup_conflict", 0.99),
            ],
        ),
        (
            "penguins__mix",
            [
                ("label_flip", 0.99),
                ("targeted_flip", 0.99),
                ("backdoor_oor", 0.99),
                ("backdoor_inrange", 0.99),
                ("outlier", 0.99),
                ("dup_conflict", 0.99),
                ("near_dup_conflict", 0.99),
            ],
        ),
    ];
    let mut misses = Vec::new();
    for (case, attacks) in floors {
        let m = scan(case);
        for (attack, floor) in attacks {
            let auroc = m.auroc(attack);
            eprintln!("{case:<32} {attack:<18} AUROC {auroc:.4} (floor {floor:.2})");
            if auroc < floor {
                misses.push(format!("{case} {attack}: AUROC {auroc:.4} < {floor:.2}"));
            }
        }
    }
    assert!(
        misses.is_empty(),
        "ranking got worse than the floors:\n{}",
        misses.join("\n")
    );
}
