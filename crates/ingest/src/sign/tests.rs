//! Unit tests of signing: RFC 8032 and DSSE vectors, key files, every failure.

use super::*;
use crate::manifest::{ManifestOptions, build_manifest, write_manifest};
use crate::provenance::Tool;
use crate::read::ReadOptions;
use crate::source::{ResolveOptions, resolve};
use std::fs;

/// RFC 8032 section 7.1, test 1.
const RFC_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn pem(label: &str, der: &[u8]) -> String {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        Base64::encode_string(der)
    )
}

/// The RFC key as `openssl genpkey -algorithm ed25519` / `openssl pkey -pubout`
/// would write it.
fn rfc_key_files() -> (String, String) {
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend(hex::decode(RFC_SEED).unwrap());
    let mut spki = hex::decode("302a300506032b6570032100").unwrap();
    spki.extend(hex::decode(RFC_PUBLIC).unwrap());
    (pem("PRIVATE KEY", &der), pem("PUBLIC KEY", &spki))
}

fn problem(e: IngestError) -> SignatureProblem {
    match e {
        IngestError::Signature { problem, .. } => problem,
        other => panic!("expected a signature problem, got {other}"),
    }
}

#[test]
fn pae_matches_the_dsse_spec_example() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
}

#[test]
fn openssl_pem_keys_load_and_match_rfc8032() {
    let (private, public) = rfc_key_files();
    let p = Path::new("k");
    let sk = PrivateKey::from_pem(&private, p).unwrap();
    let pk = PublicKey::from_pem(&public, p).unwrap();
    assert_eq!(hex::encode(sk.public_key().0.as_bytes()), RFC_PUBLIC);
    assert_eq!(sk.public_key(), pk);
    assert_eq!(
        pk.key_id(),
        &sha256_hex(&hex::decode(RFC_PUBLIC).unwrap())[..16]
    );
    // RFC 8032 test 1 signature of the empty message: the same ed25519.
    let sig = sk.0.sign(b"");
    assert_eq!(
        hex::encode(sig.to_bytes()),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
         5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    // Our own encoding round-trips, byte for byte the same PEM.
    assert_eq!(sk.to_pem().as_str(), private);
    assert_eq!(pk.to_pem(), public);
}

#[test]
fn debug_and_errors_never_show_key_material() {
    let (private, public) = rfc_key_files();
    let sk = PrivateKey::from_pem(&private, Path::new("k")).unwrap();
    let body = private.lines().nth(1).unwrap();
    let pub_body = public.lines().nth(1).unwrap();
    for text in [format!("{sk:?}"), format!("{:?}", sk.public_key())] {
        assert!(text.contains(&sk.public_key().key_id()), "{text}");
        for secret in [RFC_SEED, RFC_PUBLIC, body, pub_body, &body[..20]] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // A corrupted key: the error names the file, never its contents.
    let broken = private.replace(&body[..10], "AAAAAAAAAA");
    for err in [
        PrivateKey::from_pem(&broken, Path::new("k.pem")).unwrap_err(),
        PublicKey::from_pem(&private, Path::new("k.pem")).unwrap_err(),
    ] {
        let text = format!("{err} {err:?}");
        assert!(text.contains("k.pem"), "{text}");
        assert!(
            !text.contains(&body[..20]) && !text.contains("AAAAAAAAAA"),
            "{text}"
        );
    }
}

#[test]
fn bad_key_files_say_what_is_wrong() {
    let (private, public) = rfc_key_files();
    let p = Path::new("k");
    let reason = |e: IngestError| match e {
        IngestError::BadKey { reason, .. } => reason,
        other => panic!("{other}"),
    };
    let r = reason(PrivateKey::from_pem(&public, p).unwrap_err());
    assert!(r.contains("public key"), "{r}");
    let r = reason(PublicKey::from_pem(&private, p).unwrap_err());
    assert!(r.contains("private key"), "{r}");
    let r = reason(PrivateKey::from_pem("hello", p).unwrap_err());
    assert!(r.contains("not a PEM"), "{r}");
    let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let r = reason(PrivateKey::from_pem(enc, p).unwrap_err());
    assert!(r.contains("encrypted"), "{r}");
    let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    let r = reason(PrivateKey::from_pem(ssh, p).unwrap_err());
    assert!(r.contains("OpenSSH"), "{r}");
    // An RSA-sized SPKI blob with an ed25519 label is not an ed25519 key.
    let r = reason(PublicKey::from_pem(&pem("PUBLIC KEY", &[0x30, 3, 2, 1, 0]), p).unwrap_err());
    assert!(r.contains("ed25519"), "{r}");
    // The small-order point (identity) is refused.
    let mut weak = hex::decode("302a300506032b6570032100").unwrap();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    weak.extend(identity);
    let r = reason(PublicKey::from_pem(&pem("PUBLIC KEY", &weak), p).unwrap_err());
    assert!(r.contains("weak"), "{r}");
    // Too large, and not text.
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big");
    fs::write(&big, vec![b'A'; MAX_KEY_FILE as usize + 1]).unwrap();
    assert!(reason(PublicKey::load(&big).unwrap_err()).contains("too large"));
    let bin = tmp.path().join("bin");
    fs::write(&bin, [0xff, 0xfe, 0]).unwrap();
    assert!(reason(PrivateKey::load(&bin).unwrap_err()).contains("not text"));
    assert!(matches!(
        PublicKey::load(&tmp.path().join("absent")),
        Err(IngestError::Io { .. })
    ));
}

#[test]
fn envelope_round_trip_and_every_failure_is_named() {
    let (private, _) = rfc_key_files();
    let sk = PrivateKey::from_pem(&private, Path::new("k")).unwrap();
    let pk = sk.public_key();
    let other = PrivateKey::generate().unwrap();
    assert_ne!(other.public_key(), pk);
    let m = Path::new("m.json");
    let s = Path::new("m.json.sig");
    let manifest = b"{\"manifest_version\": 1}\n";
    let env = sk.sign(PAYLOAD_TYPE_MANIFEST, manifest);
    let json = env.to_json();
    assert_eq!(
        verify(&pk, m, manifest, s, json.as_bytes()).unwrap(),
        pk.key_id()
    );
    // Deterministic: ed25519 signatures do not use randomness.
    assert_eq!(sk.sign(PAYLOAD_TYPE_MANIFEST, manifest), env);

    // Any changed byte of the manifest.
    for i in 0..manifest.len() {
        let mut changed = manifest.to_vec();
        changed[i] ^= 1;
        let p = problem(verify(&pk, m, &changed, s, json.as_bytes()).unwrap_err());
        assert!(matches!(p, SignatureProblem::ManifestChanged { .. }), "{p}");
    }
    // A wrong key: named by key id.
    let p = problem(verify(&other.public_key(), m, manifest, s, json.as_bytes()).unwrap_err());
    assert_eq!(
        p,
        SignatureProblem::WrongKey {
            signed_by: vec![pk.key_id()],
            given: other.public_key().key_id()
        }
    );
    assert!(p.to_string().contains(&pk.key_id()));
    // Another key's signature relabelled with our key id: invalid.
    let mut forged = other.sign(PAYLOAD_TYPE_MANIFEST, manifest);
    forged.signatures[0].keyid = pk.key_id();
    let p = problem(verify(&pk, m, manifest, s, forged.to_json().as_bytes()).unwrap_err());
    assert!(matches!(p, SignatureProblem::Invalid { .. }), "{p}");
    // Payload swapped inside the envelope (manifest matches it): invalid.
    let mut swapped = env.clone();
    let evil = b"{\"manifest_version\": 2}\n";
    swapped.payload = Base64::encode_string(evil);
    let p = problem(verify(&pk, m, evil, s, swapped.to_json().as_bytes()).unwrap_err());
    assert!(matches!(p, SignatureProblem::Invalid { .. }), "{p}");
    // payloadType changed: the PAE covers it.
    let mut retyped = env.clone();
    retyped.payload_type = PAYLOAD_TYPE_IN_TOTO.into();
    let p = problem(verify(&pk, m, manifest, s, retyped.to_json().as_bytes()).unwrap_err());
    assert!(matches!(p, SignatureProblem::Invalid { .. }), "{p}");
    // Every bit of the raw signature matters.
    let raw = Base64::decode_vec(&env.signatures[0].sig).unwrap();
    for i in (0..64).step_by(7) {
        let mut bad = raw.clone();
        bad[i] ^= 0x10;
        let mut e = env.clone();
        e.signatures[0].sig = Base64::encode_string(&bad);
        let p = problem(verify(&pk, m, manifest, s, e.to_json().as_bytes()).unwrap_err());
        assert!(
            matches!(p, SignatureProblem::Invalid { .. }),
            "byte {i}: {p}"
        );
    }
    // Malformed envelopes.
    let mut short = env.clone();
    short.signatures[0].sig = Base64::encode_string(&raw[..63]);
    let mut none = env.clone();
    none.signatures.clear();
    let mut typ = env.clone();
    typ.payload_type = "text/plain".into();
    let mut notb64 = env.clone();
    notb64.payload = "%%%".into();
    for bad in [
        b"not json".to_vec(),
        b"{}".to_vec(),
        short.to_json().into_bytes(),
        none.to_json().into_bytes(),
        typ.to_json().into_bytes(),
        notb64.to_json().into_bytes(),
    ] {
        let p = problem(verify(&pk, m, manifest, s, &bad).unwrap_err());
        assert!(matches!(p, SignatureProblem::Malformed { .. }), "{p}");
        assert!(
            p.to_string().starts_with("signature malformed: m.json.sig"),
            "{p}"
        );
    }
    // Envelopes from other tools: no keyid, URL-safe unpadded base64.
    let mut foreign = env.clone();
    foreign.signatures[0].keyid.clear();
    foreign.signatures[0].sig = base64ct::Base64UrlUnpadded::encode_string(&raw);
    foreign.signatures.insert(
        0,
        other.sign(PAYLOAD_TYPE_MANIFEST, manifest).signatures[0].clone(),
    );
    assert!(verify(&pk, m, manifest, s, foreign.to_json().as_bytes()).is_ok());
}

#[cfg(unix)]
#[test]
fn generate_writes_owner_only_key_and_refuses_to_overwrite() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("signing.key");
    let public = generate(&key, false).unwrap();
    let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = PrivateKey::load(&key).unwrap();
    assert_eq!(loaded.public_key(), public);
    assert_eq!(PublicKey::load(&public_key_path(&key)).unwrap(), public);
    let before = fs::read(&key).unwrap();
    let err = generate(&key, false).unwrap_err();
    assert!(matches!(err, IngestError::AlreadyExists { .. }), "{err}");
    assert_eq!(fs::read(&key).unwrap(), before);
    // Only the .pub exists: still refused, and nothing is written.
    let key2 = tmp.path().join("second.key");
    fs::write(public_key_path(&key2), "keep").unwrap();
    assert!(matches!(
        generate(&key2, false),
        Err(IngestError::AlreadyExists { .. })
    ));
    assert!(!key2.exists());
    // --force replaces both, with a new key, still owner-only.
    let again = generate(&key, true).unwrap();
    assert_ne!(again, public);
    assert_ne!(fs::read(&key).unwrap(), before);
    let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let names: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn verify_signed_checks_the_sidecar_before_using_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data.csv");
    fs::write(&data, "id,x\n1,0.5\n2,1.5\n3,2.5\n").unwrap();
    let resolved = resolve(
        std::slice::from_ref(&data),
        &ResolveOptions {
            root: Some(tmp.path().to_path_buf()),
            ..Default::default()
        },
    )
    .unwrap();
    let opts = ManifestOptions {
        read: ReadOptions::default(),
        read_rows: true,
        provenance: Default::default(),
        file_provenance: Default::default(),
        created_at: 0,
        tool: Tool {
            name: "datavet".into(),
            version: "test".into(),
        },
        parent_sha256: None,
    };
    let (manifest, rows) = build_manifest(&resolved, &opts, &()).unwrap();
    let mpath = tmp.path().join("m.json");
    let written = write_manifest(&mpath, manifest, rows.as_ref(), ManifestFormat::Json).unwrap();
    let bytes = written.render(ManifestFormat::Json);
    assert_eq!(fs::read(&mpath).unwrap(), bytes.as_bytes());
    let sk = PrivateKey::generate().unwrap();
    let sig = sign(&sk, &mpath, bytes.as_bytes(), ManifestFormat::Json).unwrap();
    assert_eq!(sig, tmp.path().join("m.json.sig"));
    let vopts = VerifyOptions {
        root: tmp.path().to_path_buf(),
        allow_extra: false,
        follow_symlinks: false,
    };
    let ok = verify_signed(&mpath, &sk.public_key(), &vopts, &()).unwrap();
    assert!(ok.report.verified);
    assert_eq!(ok.report.sidecar, SidecarStatus::Ok);
    assert_eq!(ok.key_id, sk.public_key().key_id());

    // One changed sidecar byte: a signature failure, whatever the data says.
    let side = tmp.path().join("m.json.rows");
    let orig = fs::read(&side).unwrap();
    let mut changed = orig.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    fs::write(&side, &changed).unwrap();
    let p = problem(verify_signed(&mpath, &sk.public_key(), &vopts, &()).unwrap_err());
    assert!(
        matches!(
            p,
            SignatureProblem::SidecarChanged {
                what: "changed",
                ..
            }
        ),
        "{p}"
    );
    // The unsigned path also refuses to use it (status changed, not parsed).
    let plain = crate::verify(&mpath, &vopts, &()).unwrap();
    assert_eq!(plain.sidecar, SidecarStatus::Changed);
    fs::remove_file(&side).unwrap();
    let p = problem(verify_signed(&mpath, &sk.public_key(), &vopts, &()).unwrap_err());
    assert!(p.to_string().contains("went missing"), "{p}");
    fs::write(&side, &orig).unwrap();

    // A changed data file is an ordinary mismatch in the report, not a signature
    // problem; a missing signature is.
    fs::write(&data, "id,x\n1,0.5\n2,9.5\n3,2.5\n").unwrap();
    let changed = verify_signed(&mpath, &sk.public_key(), &vopts, &()).unwrap();
    assert!(!changed.report.verified);
    fs::remove_file(&sig).unwrap();
    let p = problem(verify_signed(&mpath, &sk.public_key(), &vopts, &()).unwrap_err());
    assert!(matches!(p, SignatureProblem::Missing(_)), "{p}");
}

#[test]
fn in_toto_envelope_carries_the_statement() {
    let sk = PrivateKey::generate().unwrap();
    let statement = b"{\"_type\": \"https://in-toto.io/Statement/v1\"}\n";
    let env = sk.sign(payload_type(ManifestFormat::InToto), statement);
    let v: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
    assert_eq!(v["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(
        Base64::decode_vec(v["payload"].as_str().unwrap()).unwrap(),
        statement
    );
    assert_eq!(v["signatures"][0]["keyid"], sk.public_key().key_id());
    assert_eq!(
        Base64::decode_vec(v["signatures"][0]["sig"].as_str().unwrap())
            .unwrap()
            .len(),
        64
    );
}
