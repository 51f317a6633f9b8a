//! Snapshot of the human text report on the demo fixture (insta), with the
//! temporary path and file hash filtered out. Re-accept deliberate changes with
//! `INSTA_UPDATE=always cargo test -p datavet --test e2e snapshot`.

use crate::util::Dir;

#[test]
fn demo_text_report() {
    let dir = Dir::new();
    let data = dir.fixture("fixtures/demo/train.csv");
    let run = dir
        .run(&[
            "scan",
            data.to_str().unwrap(),
            "--label",
            "label",
            "--id",
            "id",
            "--top",
            "12",
        ])
        .expect_code(1);
    let text = run.stdout();
    insta::with_settings!({
        filters => vec![
            (r"sha256:[0-9a-f]{64}", "sha256:[HASH]"),
            (r"\S*train\.csv", "[DATA]/train.csv"),
            (r"datavet scan \d+\.\d+\.\d+", "datavet scan [VERSION]"),
        ],
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!("demo_text_report", text);
    });
}
