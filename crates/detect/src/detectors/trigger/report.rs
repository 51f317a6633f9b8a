//! Turning checked cells into scores, row issues with reasons, and findings.

use std::collections::BTreeMap;

use super::search::{Cell, CellStats};
use super::stats::describe;
use crate::context::{FeatureMatrix, Labels};
use crate::issue::{DatasetFinding, DetectorReport, Evidence, IssueKind, RowIssue, Severity};

/// Which rule made a cell a trigger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Rule {
    /// Pure and contradicted by the rest of the row.
    Conflict,
    /// Pure, an anomalous value (out of range or a spike), label concentration
    /// significant, conflict supportive.
    Anomalous,
    /// Impure, but its contradicted rows concentrate in one label.
    Concentrated,
}

/// A cell after the conflict check.
pub(super) struct Checked {
    pub(super) cell: Cell,
    pub(super) st: CellStats,
    /// Rows labelled `t` and whether each is contradicted (unchecked rows of large
    /// cells: whether the screen made them suspects).
    pub(super) label_rows: Vec<(u32, bool)>,
    pub(super) contradicted: usize,
    pub(super) expected: f64,
    pub(super) rule: Option<Rule>,
    /// Decades by which the deciding p-value beats the threshold (negative: short).
    pub(super) excess: f64,
    /// The conflict test had no power for this label.
    pub(super) blind: bool,
}

/// Turn checked cells into scores, row issues and findings.
pub(super) fn report(
    min_purity: f64,
    report: &mut DetectorReport,
    checked: Vec<Checked>,
    fm: &FeatureMatrix,
    labels: &Labels,
) {
    // Per row: (score, index of the trigger) of its strongest flag.
    let mut best: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    let mut triggers: Vec<(Checked, Evidence, String)> = Vec::new();
    for c in checked {
        let Some(rule) = c.rule else {
            let s = 0.5 * c.excess.clamp(0.0, 0.98);
            for &(r, contra) in &c.label_rows {
                if contra || c.st.purity() >= min_purity {
                    let slot = &mut report.scores[r as usize];
                    *slot = slot.max(s);
                }
            }
            continue;
        };
        let e = c.excess.max(0.0);
        let factor = c.st.purity().max(0.9);
        let score = (0.5 + 0.5 * e / (e + 3.0) * factor).clamp(0.5, 1.0);
        let idx = triggers.len();
        for &(r, contra) in &c.label_rows {
            if rule == Rule::Concentrated && !contra {
                continue;
            }
            let slot = &mut report.scores[r as usize];
            *slot = slot.max(score);
            let entry = best.entry(r).or_insert((score, idx));
            if score > entry.0 {
                *entry = (score, idx);
            }
        }
        let (evidence, reason) = explain(&c, rule, fm, labels);
        triggers.push((c, evidence, reason));
    }
    for (&row, &(score, idx)) in &best {
        let (_, evidence, reason) = &triggers[idx];
        report.issues.push(RowIssue {
            row: row as usize,
            kind: IssueKind::BackdoorTrigger,
            score,
            reason: reason.clone(),
            evidence: evidence.clone(),
        });
    }
    for (idx, (c, _, reason)) in triggers.iter().enumerate() {
        let flagged = best.values().filter(|v| v.1 == idx).count();
        let severity = if c.cell.out_of_range || c.excess >= 6.0 {
            Severity::Critical
        } else {
            Severity::High
        };
        report.findings.push(DatasetFinding {
            category: "backdoor_trigger".into(),
            severity,
            finding: format!("possible backdoor trigger: {reason}"),
            recommendation: format!(
                "Inspect the {flagged} flagged rows and where they came from; drop them \
                 before training unless this value is a documented, legitimate code."
            ),
        });
    }
}

/// Evidence and the one-sentence reason for a trigger.
fn explain(c: &Checked, rule: Rule, fm: &FeatureMatrix, labels: &Labels) -> (Evidence, String) {
    let (columns, values): (Vec<String>, Vec<String>) = c
        .cell
        .cols
        .iter()
        .zip(&c.cell.values)
        .map(|(&j, &v)| describe(&fm.features[j], v))
        .unzip();
    let parts: Vec<String> = columns
        .iter()
        .zip(&values)
        .map(|(c, v)| format!("{c}={v}"))
        .collect();
    let desc = match parts.len() {
        1 => parts[0].clone(),
        _ => format!(
            "{} and {}",
            parts[..parts.len() - 1].join(", "),
            parts[parts.len() - 1]
        ),
    };
    let label = &labels.classes[c.st.label as usize];
    let purity = c.st.purity();
    let pct = if purity >= 1.0 {
        100.0
    } else {
        (purity * 100.0).floor()
    };
    let single = parts.len() == 1;
    let m = c.cell.rows.len();
    let reason = if rule == Rule::Concentrated {
        format!(
            "{desc} {} in {m} rows, and {} of those labelled '{label}' resemble other \
             classes on their remaining features (about {:.1} expected)",
            if single { "occurs" } else { "occur together" },
            c.contradicted,
            c.expected
        )
    } else {
        let head = match (single, c.cell.out_of_range) {
            (true, true) => format!(
                "{desc} is outside the column's range and {pct}% of the {m} rows with it \
                 are labelled '{label}'"
            ),
            (true, false) if c.cell.spike => format!(
                "{desc} repeats in {m} rows of an otherwise continuous column and {pct}% \
                 of them are labelled '{label}'"
            ),
            (true, false) => format!(
                "{desc} is a rare value and {pct}% of the {m} rows with it are labelled \
                 '{label}'"
            ),
            (false, oor) => format!(
                "{desc}{} occur together in only {m} rows, {pct}% labelled '{label}'",
                if oor {
                    " (outside the usual range)"
                } else {
                    ""
                }
            ),
        };
        if c.contradicted > 0 && !c.blind {
            format!(
                "{head}, yet {} of them resemble other classes on their remaining features",
                c.contradicted
            )
        } else {
            head
        }
    };
    let evidence = Evidence::Trigger {
        columns,
        values,
        label: label.clone(),
        support: m,
        purity,
        out_of_range: c.cell.out_of_range,
    };
    (evidence, reason)
}
