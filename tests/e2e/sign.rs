//! `datavet keygen`, `datavet manifest --sign` and `datavet verify --key`.

use std::process::Output;

use crate::util::{Dir, json, stderr, stdout};

/// A dataset, a key pair `k.key`/`k.key.pub` and a manifest `m.json` signed with it.
fn setup(format: &str) -> Dir {
    let dir = Dir::new();
    let mut csv = String::from("id,x,label\n");
    for i in 0..12 {
        csv.push_str(&format!(
            "{i},{}.5,{}\n",
            i * 3,
            if i % 3 == 0 { "a" } else { "b" }
        ));
    }
    dir.create("data/train.csv", &csv);
    dir.create("data/test.csv", "id,x,label\n1,0.5,a\n");
    dir.command()
        .args(["keygen", "-o", "k.key", "-q"])
        .expect_code(0);
    dir.command()
        .args(["manifest", "data", "-o", "m.json", "--sign", "k.key", "-q"])
        .args(["--format", format])
        .expect_code(0);
    dir
}

fn verify_with(dir: &Dir, key: &str) -> Output {
    dir.command()
        .args(["verify", "m.json", "--key", key])
        .output()
}

/// Exit 1 with exactly one stderr line containing `what`; nothing on stdout.
fn assert_fails(out: &Output, what: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}{}", stdout(out));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("FAILED: m.json: "), "{err}");
    assert!(err.contains(what), "expected '{what}' in: {err}");
    assert!(stdout(out).is_empty(), "{}", stdout(out));
    err
}

fn key_id(dir: &Dir, pub_key: &str) -> String {
    let out = dir
        .command()
        .args(["verify", "m.json", "--json", "--key", pub_key])
        .output();
    json(&stdout(&out))["signature"]["key_id"]
        .as_str()
        .expect("key id")
        .to_string()
}

#[test]
fn signed_manifest_round_trips() {
    for format in ["json", "in-toto"] {
        let dir = setup(format);
        let out = verify_with(&dir, "k.key.pub");
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
        assert!(text.starts_with("signed   by key "), "{text}");
        assert!(text.contains("(signature ok)"), "{text}");
        assert!(
            text.ends_with("verified: 2 ok, 0 changed, 0 missing, 0 extra\n"),
            "{text}"
        );

        // The .sig is a DSSE envelope around the manifest's exact bytes.
        let sig = json(&dir.read("m.json.sig"));
        let expected_type = if format == "json" {
            "application/vnd.datavet.manifest+json"
        } else {
            "application/vnd.in-toto+json"
        };
        assert_eq!(sig["payloadType"], expected_type);
        let id = key_id(&dir, "k.key.pub");
        assert_eq!(id.len(), 16);
        assert_eq!(sig["signatures"][0]["keyid"], id.as_str());
        assert_eq!(sig["signatures"].as_array().unwrap().len(), 1);

        // Without --key the signature is not looked at: the plain verify still works.
        dir.command().args(["verify", "m.json"]).expect_code(0);
    }
}

#[test]
fn any_changed_manifest_byte_fails() {
    let dir = setup("json");
    let orig = dir.read_bytes("m.json");
    // Every 29th byte, and the first and last: flipping one bit of any byte fails.
    let mut positions: Vec<usize> = (0..orig.len()).step_by(29).collect();
    positions.push(orig.len() - 1);
    for i in positions {
        let mut bytes = orig.clone();
        bytes[i] ^= 0x01;
        dir.create("m.json", &bytes);
        assert_fails(
            &verify_with(&dir, "k.key.pub"),
            "manifest changed after signing",
        );
    }
    // Appending a byte (a trailing newline) also fails.
    let mut longer = orig.clone();
    longer.push(b'\n');
    dir.create("m.json", &longer);
    assert_fails(
        &verify_with(&dir, "k.key.pub"),
        "manifest changed after signing",
    );
    dir.create("m.json", &orig);
    assert_eq!(verify_with(&dir, "k.key.pub").status.code(), Some(0));
}

#[test]
fn changed_or_missing_sidecar_fails_even_when_the_data_is_intact() {
    let dir = setup("json");
    let orig = dir.read_bytes("m.json.rows");
    for i in [0, 8, orig.len() / 2, orig.len() - 1] {
        let mut bytes = orig.clone();
        bytes[i] ^= 0x80;
        dir.create("m.json.rows", &bytes);
        let err = assert_fails(&verify_with(&dir, "k.key.pub"), "changed after signing");
        assert!(err.contains("row sidecar"), "{err}");
        assert!(err.contains("m.json.rows"), "{err}");
    }
    dir.remove("m.json.rows");
    assert_fails(
        &verify_with(&dir, "k.key.pub"),
        "went missing after signing",
    );
    dir.create("m.json.rows", &orig);
    assert_eq!(verify_with(&dir, "k.key.pub").status.code(), Some(0));
}

#[test]
fn tampered_signature_fails_and_says_how() {
    let dir = setup("json");
    let orig = dir.read("m.json.sig");
    let env = json(&orig);
    let sig = env["signatures"][0]["sig"].as_str().unwrap().to_string();

    // One character of the signature changed: invalid.
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 5 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    dir.create("m.json.sig", orig.replace(&sig, &flipped));
    assert_fails(&verify_with(&dir, "k.key.pub"), "signature invalid");

    // The payload inside the envelope changed (and the manifest with it): invalid.
    let payload = env["payload"].as_str().unwrap();
    let other_payload = payload.replacen('e', "f", 1);
    dir.create("m.json.sig", orig.replace(payload, &other_payload));
    assert_fails(&verify_with(&dir, "k.key.pub"), "signature invalid");

    // The key id changed: it is no longer this key's signature.
    let id = env["signatures"][0]["keyid"].as_str().unwrap();
    dir.create("m.json.sig", orig.replace(id, "0123456789abcdef"));
    let err = assert_fails(
        &verify_with(&dir, "k.key.pub"),
        "signature does not match this key",
    );
    assert!(err.contains("signed by key 0123456789abcdef"), "{err}");

    // Malformed: not JSON, truncated, a short signature.
    for bad in [
        "garbage".to_string(),
        orig[..orig.len() / 2].to_string(),
        orig.replace(&sig, &sig[..40]),
        String::new(),
    ] {
        dir.create("m.json.sig", &bad);
        assert_fails(
            &verify_with(&dir, "k.key.pub"),
            "signature malformed: m.json.sig",
        );
    }

    dir.create("m.json.sig", &orig);
    assert_eq!(verify_with(&dir, "k.key.pub").status.code(), Some(0));
}

#[test]
fn wrong_key_and_missing_signature_are_named() {
    let dir = setup("json");
    dir.command()
        .args(["keygen", "-o", "other.key", "-q"])
        .expect_code(0);
    let mine = key_id(&dir, "k.key.pub");
    let err = assert_fails(
        &verify_with(&dir, "other.key.pub"),
        "signature does not match this key",
    );
    assert!(
        err.contains(&format!("signed by key {mine}, you gave key ")),
        "{err}"
    );
    assert!(!err.contains(&format!("you gave key {mine}")), "{err}");

    dir.remove("m.json.sig");
    let err = assert_fails(&verify_with(&dir, "k.key.pub"), "signature missing");
    assert!(err.contains("m.json.sig does not exist"), "{err}");

    // An unsigned manifest with a key given: missing, too.
    dir.command()
        .args(["manifest", "data", "-o", "m.json", "-q"])
        .expect_code(0);
    assert_fails(&verify_with(&dir, "k.key.pub"), "signature missing");
}

#[test]
fn changed_data_under_a_valid_signature_is_an_ordinary_mismatch() {
    let dir = setup("json");
    let csv = dir.read("data/train.csv").replace("9,27.5,a", "9,27.5,b");
    dir.create("data/train.csv", csv);
    let out = verify_with(&dir, "k.key.pub");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("(signature ok)"), "{text}");
    assert!(text.contains("CHANGED  data/train.csv"), "{text}");
    assert!(text.contains("row 9 changed"), "{text}");
}

#[cfg(unix)]
#[test]
fn keygen_creates_owner_only_key_and_refuses_to_overwrite() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let out = dir.command().args(["keygen", "-o", "k.key"]).expect_code(0);
    let mode = |p: &str| std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("k.key"), 0o600);
    assert!(
        dir.read("k.key")
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    assert!(
        dir.read("k.key.pub")
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    assert!(stderr(&out).contains("key id "), "{}", stderr(&out));

    let (private, public) = (dir.read("k.key"), dir.read("k.key.pub"));
    let out = dir.command().args(["keygen", "-o", "k.key"]).expect_code(2);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: k.key already exists\nhint: pass --force"),
        "{err}"
    );
    assert_eq!(dir.read("k.key"), private);
    assert_eq!(dir.read("k.key.pub"), public);

    // A leftover .pub alone also stops it, before the private key is written.
    dir.create("lone.key.pub", "keep me");
    dir.command()
        .args(["keygen", "-o", "lone.key"])
        .expect_code(2);
    assert!(!dir.join("lone.key").exists());
    assert_eq!(dir.read("lone.key.pub"), "keep me");

    dir.command()
        .args(["keygen", "-o", "k.key", "--force", "-q"])
        .expect_code(0);
    assert_ne!(dir.read("k.key"), private);
    assert_eq!(mode("k.key"), 0o600);
    // No temporary files left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn bad_key_files_exit_2_with_one_line() {
    let dir = setup("json");
    dir.create("garbage.key", "this is not a key\n");
    let cases: [(&[&str], &str); 6] = [
        (
            &["verify", "m.json", "--key", "k.key"],
            "it is a private key",
        ),
        (
            &["verify", "m.json", "--key", "garbage.key"],
            "not a PEM key file",
        ),
        (
            &["verify", "m.json", "--key", "absent.pub"],
            "failed to open key file absent.pub",
        ),
        (
            &["manifest", "data", "-o", "n.json", "--sign", "k.key.pub"],
            "it is a public key",
        ),
        (
            &["manifest", "data", "-o", "n.json", "--sign", "garbage.key"],
            "not a PEM key file",
        ),
        (
            &["manifest", "data", "-o", "n.json", "--sign", "absent.key"],
            "absent.key",
        ),
    ];
    for (args, what) in cases {
        let out = dir.command().args(args).expect_code(2);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(what), "{args:?}: expected '{what}' in {err}");
    }
    // A bad signing key fails before anything is written.
    assert!(!dir.join("n.json").exists());
    assert!(!dir.join("n.json.rows").exists());
    assert!(!dir.join("n.json.sig").exists());
    // --sign needs -o (a signature goes next to the manifest file).
    dir.command()
        .args(["manifest", "data", "--sign", "k.key"])
        .expect_code(2);
    let out = dir
        .command()
        .args(["manifest", "data", "-o", "-", "--sign", "k.key"])
        .expect_code(2);
    assert!(
        stderr(&out).contains("--sign needs -o FILE"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

/// The secret parts of the PEM files in every form they could be printed in.
fn secrets(dir: &Dir) -> Vec<String> {
    let mut out = Vec::new();
    for file in ["k.key", "k.key.pub"] {
        let text = dir.read(file);
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        out.push(body[body.len() - 24..].to_string());
        out.push(body[..24].to_string());
    }
    out
}

#[test]
fn keys_never_appear_in_output() {
    let dir = Dir::new();
    dir.create("data/a.csv", "id,x\n1,2\n");
    let mut outputs = vec![dir.command().args(["keygen", "-o", "k.key"]).output()];
    dir.command()
        .args(["keygen", "-o", "o.key", "-q"])
        .expect_code(0);
    outputs.push(dir.command().args(["keygen", "-o", "k.key"]).output());
    outputs.push(
        dir.command()
            .args(["manifest", "data", "-o", "m.json", "--sign", "k.key"])
            .output(),
    );
    outputs.push(
        dir.command()
            .args(["verify", "m.json", "--key", "k.key.pub"])
            .output(),
    );
    outputs.push(
        dir.command()
            .args(["verify", "m.json", "--key", "k.key.pub", "--json"])
            .output(),
    );
    outputs.push(
        dir.command()
            .args(["verify", "m.json", "--key", "o.key.pub"])
            .output(),
    );
    outputs.push(
        dir.command()
            .args(["verify", "m.json", "--key", "k.key"])
            .output(),
    );
    outputs.push(
        dir.command()
            .args(["manifest", "data", "-o", "n.json", "--sign", "k.key.pub"])
            .output(),
    );
    // A corrupted private key: the error must not quote it.
    let broken = dir.read("k.key").replacen("MC4C", "MC4D", 1);
    dir.create("broken.key", &broken);
    outputs.push(
        dir.command()
            .args(["manifest", "data", "-o", "n.json", "--sign", "broken.key"])
            .output(),
    );
    let secrets = secrets(&dir);
    let mut seen = 0;
    for out in &outputs {
        let all = format!("{}{}", stdout(out), stderr(out));
        seen += all.len();
        for s in &secrets {
            assert!(
                !all.contains(s.as_str()),
                "key material '{s}' printed:\n{all}"
            );
        }
        assert!(!all.contains("BEGIN"), "{all}");
    }
    assert!(
        seen > 500,
        "the commands printed almost nothing: {seen} bytes"
    );
}

/// The signature is plain ed25519 over the DSSE PAE: OpenSSL verifies it, and keys
/// made by OpenSSL work with datavet. Skipped where `openssl` is not installed.
#[test]
fn openssl_interoperates() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("openssl not found; skipping");
        return;
    }
    let dir = Dir::new();
    dir.create("data/a.csv", "id,x\n1,2\n");
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
        out
    };
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "o.pem"]);
    openssl(&["pkey", "-in", "o.pem", "-pubout", "-out", "o.pub"]);
    dir.command()
        .args(["manifest", "data", "-o", "m.json", "--sign", "o.pem", "-q"])
        .args(["--format", "in-toto"])
        .expect_code(0);
    dir.command()
        .args(["verify", "m.json", "--key", "o.pub"])
        .expect_code(0);

    // OpenSSL checks datavet's signature over PAE(payloadType, manifest bytes).
    let env = json(&dir.read("m.json.sig"));
    let ptype = env["payloadType"].as_str().unwrap();
    let manifest = dir.read_bytes("m.json");
    let mut pae = format!("DSSEv1 {} {ptype} {} ", ptype.len(), manifest.len()).into_bytes();
    pae.extend(&manifest);
    dir.create("pae.bin", &pae);
    let sig_b64 = env["signatures"][0]["sig"].as_str().unwrap();
    dir.create("sig.b64", format!("{sig_b64}\n"));
    openssl(&["base64", "-d", "-in", "sig.b64", "-out", "sig.bin"]);
    let out = openssl(&[
        "pkeyutl", "-verify", "-pubin", "-inkey", "o.pub", "-rawin", "-in", "pae.bin", "-sigfile",
        "sig.bin",
    ]);
    assert!(
        stdout(&out).contains("Signature Verified Successfully"),
        "{}",
        stdout(&out)
    );
    // And a datavet key pair is an OpenSSL key pair.
    dir.command()
        .args(["keygen", "-o", "k.key", "-q"])
        .expect_code(0);
    let out = openssl(&["pkey", "-in", "k.key", "-pubout"]);
    assert_eq!(stdout(&out), dir.read("k.key.pub"));
}
