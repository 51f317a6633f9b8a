//! Signed manifests: ed25519 (Bernstein, Duif, Lange, Schwabe, Yang 2012, "High-speed
//! high-security signatures"; RFC 8032) over a DSSE envelope (Dead Simple Signing
//! Envelope, secure-systems-lab/dsse, protocol v1).
//!
//! A signature is a detached file next to the manifest, `<manifest>.sig`, holding a
//! DSSE envelope whose payload is the manifest's exact bytes:
//!
//! ```text
//! {"payloadType": T, "payload": base64(manifest bytes),
//!  "signatures": [{"keyid": K, "sig": base64(ed25519(PAE(T, manifest bytes)))}]}
//! PAE(T, body) = "DSSEv1" SP LEN(T) SP T SP LEN(body) SP body   (LEN: ASCII decimal)
//! ```
//!
//! `T` is `application/vnd.in-toto+json` for an in-toto Statement and
//! `application/vnd.datavet.manifest+json` for a plain manifest. `K`, the key id, is the
//! first 16 hex digits of the SHA-256 of the 32-byte raw public key, so a failed check
//! can say "signed by key X, you gave key Y" rather than only "invalid".
//!
//! The manifest records the row sidecar's size and SHA-256, so signing the manifest
//! covers the sidecar too: [`verify_signed`] checks the sidecar's digest before
//! anything uses it and fails when it differs.
//!
//! Key files are PEM, interchangeable with OpenSSL: the private key is PKCS#8
//! (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm ed25519` writes it),
//! created with mode 0600; the public key is SubjectPublicKeyInfo
//! (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes it). Keys are never
//! printed: `Debug` shows only the key id, and errors never quote a key file.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64ct::{Base64, Base64Url, Encoding};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{IngestError, Result};
use crate::hash::{IngestProgress, sha256_hex};
use crate::manifest::{Manifest, ManifestFormat, write_atomic, write_atomic_with};
use crate::verify::{SidecarStatus, VerifyOptions, VerifyReport, verify_manifest};

/// DSSE `payloadType` of a signed in-toto Statement.
pub const PAYLOAD_TYPE_IN_TOTO: &str = "application/vnd.in-toto+json";

/// DSSE `payloadType` of a signed plain datavet manifest.
pub const PAYLOAD_TYPE_MANIFEST: &str = "application/vnd.datavet.manifest+json";

/// Key files larger than this are refused unread (a PEM ed25519 key is ~120 bytes).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// An ed25519 private (signing) key. `Debug` shows only its key id; the secret is
/// zeroed when dropped.
pub struct PrivateKey(SigningKey);

/// An ed25519 public (verifying) key. `Debug` shows only its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey {{ key_id: {} }}", self.public_key().key_id())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey {{ key_id: {} }}", self.key_id())
    }
}

impl PrivateKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<PrivateKey> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|source| IngestError::Random { source })?;
        Ok(PrivateKey(SigningKey::from_bytes(&seed)))
    }

    /// Parse a PKCS#8 PEM private key; `path` is for messages.
    pub fn from_pem(text: &str, path: &Path) -> Result<PrivateKey> {
        match pem_label(text) {
            Some("PRIVATE KEY") => SigningKey::from_pkcs8_pem(text)
                .map(PrivateKey)
                .map_err(|_| bad_key(path, "not an ed25519 private key in PKCS#8 form")),
            Some("ENCRYPTED PRIVATE KEY") => Err(bad_key(
                path,
                "encrypted private keys are not supported (decrypt it with `openssl pkey`)",
            )),
            Some("PUBLIC KEY") => Err(bad_key(
                path,
                "it is a public key; signing needs the private key",
            )),
            Some(label) => Err(bad_key(path, &unsupported_label(label))),
            None => Err(bad_key(path, NOT_PEM)),
        }
    }

    /// Read a private key file.
    pub fn load(path: &Path) -> Result<PrivateKey> {
        let text = read_key_file(path)?;
        PrivateKey::from_pem(&text, path)
    }

    /// PKCS#8 v1 PEM text, the form `openssl genpkey -algorithm ed25519` writes
    /// (secret: zeroed when dropped).
    pub fn to_pem(&self) -> Zeroizing<String> {
        KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .expect("an ed25519 key encodes as PKCS#8")
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// A DSSE envelope signing `payload` as `payload_type`.
    pub fn sign(&self, payload_type: &str, payload: &[u8]) -> Envelope {
        let sig = self.0.sign(&pae(payload_type, payload));
        Envelope {
            payload_type: payload_type.to_string(),
            payload: Base64::encode_string(payload),
            signatures: vec![EnvelopeSignature {
                keyid: self.public_key().key_id(),
                sig: Base64::encode_string(&sig.to_bytes()),
            }],
        }
    }
}

impl PublicKey {
    /// Parse a SubjectPublicKeyInfo PEM public key; `path` is for messages.
    pub fn from_pem(text: &str, path: &Path) -> Result<PublicKey> {
        match pem_label(text) {
            Some("PUBLIC KEY") => {
                let key = VerifyingKey::from_public_key_pem(text)
                    .map_err(|_| bad_key(path, "not an ed25519 public key"))?;
                if key.is_weak() {
                    return Err(bad_key(path, "it is a weak (small-order) ed25519 key"));
                }
                Ok(PublicKey(key))
            }
            Some(
                "PRIVATE KEY"
                | "ENCRYPTED PRIVATE KEY"
                | "OPENSSH PRIVATE KEY"
                | "EC PRIVATE KEY"
                | "RSA PRIVATE KEY",
            ) => Err(bad_key(
                path,
                "it is a private key; give the public key (the .pub file written next to it)",
            )),
            Some(label) => Err(bad_key(path, &unsupported_label(label))),
            None => Err(bad_key(path, NOT_PEM)),
        }
    }

    /// Read a public key file.
    pub fn load(path: &Path) -> Result<PublicKey> {
        let text = read_key_file(path)?;
        PublicKey::from_pem(&text, path)
    }

    /// SubjectPublicKeyInfo PEM text.
    pub fn to_pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("an ed25519 key encodes as SPKI")
    }

    /// The key id: the first 16 hex digits of the SHA-256 of the 32-byte raw key.
    pub fn key_id(&self) -> String {
        let mut id = sha256_hex(self.0.as_bytes());
        id.truncate(16);
        id
    }
}

const NOT_PEM: &str = "not a PEM key file (expected -----BEGIN PRIVATE KEY----- or \
                       -----BEGIN PUBLIC KEY-----, as `datavet keygen` writes them)";

fn bad_key(path: &Path, reason: &str) -> IngestError {
    IngestError::BadKey {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn unsupported_label(label: &str) -> String {
    if label == "OPENSSH PRIVATE KEY" {
        return "OpenSSH private keys are not supported; make one with `datavet keygen` \
                or `openssl genpkey -algorithm ed25519`"
            .to_string();
    }
    format!("unsupported PEM type '{}'", label.escape_debug())
}

/// The label of the first PEM block, e.g. `PRIVATE KEY`.
fn pem_label(text: &str) -> Option<&str> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("-----BEGIN "))?;
    line.strip_prefix("-----BEGIN ")?.strip_suffix("-----")
}

/// Read a small key file into memory that is zeroed when dropped.
fn read_key_file(path: &Path) -> Result<Zeroizing<String>> {
    let file = std::fs::File::open(path).map_err(|e| IngestError::io("open key file", path, e))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| IngestError::io("read key file", path, e))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(bad_key(path, "too large to be a key file"));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => Err(bad_key(path, "not text (a PEM key file is ASCII)")),
    }
}

/// Generate a key pair: the private key at `path` (mode 0600 from creation) and the
/// public key at `path.pub`. Neither file is replaced unless `force`. Both are
/// written atomically.
pub fn generate(path: &Path, force: bool) -> Result<PublicKey> {
    let pub_path = public_key_path(path);
    if !force {
        for p in [path, pub_path.as_path()] {
            if std::fs::symlink_metadata(p).is_ok() {
                return Err(IngestError::AlreadyExists {
                    path: p.to_path_buf(),
                });
            }
        }
    }
    let key = PrivateKey::generate()?;
    let pem = key.to_pem();
    write_atomic_with(path, pem.as_bytes(), 0o600, force).map_err(|e| already(e, path))?;
    let public = key.public_key();
    write_atomic_with(&pub_path, public.to_pem().as_bytes(), 0o666, force)
        .map_err(|e| already(e, &pub_path))?;
    Ok(public)
}

fn already(e: IngestError, path: &Path) -> IngestError {
    match e {
        IngestError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
            IngestError::AlreadyExists {
                path: path.to_path_buf(),
            }
        }
        e => e,
    }
}

/// Where `datavet keygen` puts the public key: the private key's name plus `.pub`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut name = private.file_name().unwrap_or_default().to_os_string();
    name.push(".pub");
    private.with_file_name(name)
}

/// The detached signature of a manifest: its file name plus `.sig`.
pub fn signature_path(manifest: &Path) -> PathBuf {
    let mut name = manifest.file_name().unwrap_or_default().to_os_string();
    name.push(".sig");
    manifest.with_file_name(name)
}

/// DSSE pre-authentication encoding: the bytes that are actually signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// What the payload is, e.g. [`PAYLOAD_TYPE_IN_TOTO`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The signed bytes, base64.
    pub payload: String,
    /// One or more signatures over `PAE(payloadType, payload)`.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of a DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The signer's key id ([`PublicKey::key_id`]); may be empty in envelopes from
    /// other tools.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// The ed25519 signature, base64.
    pub sig: String,
}

impl Envelope {
    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("envelope serialises");
        s.push('\n');
        s
    }
}

/// Why a signature check failed. Each is one line saying which check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    /// No signature file next to the manifest.
    #[error("signature missing: {} does not exist (the manifest was not signed, or its .sig was not copied with it)", .0.display())]
    Missing(PathBuf),
    /// The signature file is not a usable DSSE envelope.
    #[error("signature malformed: {}: {reason}", path.display())]
    Malformed {
        /// The signature file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No signature by the given key.
    #[error("signature does not match this key: signed by key {}, you gave key {given}", signed_by.join(", "))]
    WrongKey {
        /// Key ids the envelope names.
        signed_by: Vec<String>,
        /// Key id of the key given.
        given: String,
    },
    /// A signature names the key but does not verify.
    #[error("signature invalid: the signature file was altered after signing (key {key_id})")]
    Invalid {
        /// Key id of the key given.
        key_id: String,
    },
    /// The signature is valid but the manifest's bytes are not the signed ones.
    #[error("manifest changed after signing: its bytes differ from the ones key {key_id} signed")]
    ManifestChanged {
        /// Key id of the signer.
        key_id: String,
    },
    /// The row sidecar the signed manifest records is absent or differs.
    #[error("row sidecar {} {what} after signing: the signed manifest records its size and SHA-256", path.display())]
    SidecarChanged {
        /// The sidecar.
        path: PathBuf,
        /// "changed" or "went missing".
        what: &'static str,
    },
}

fn fail(manifest: &Path, problem: SignatureProblem) -> IngestError {
    IngestError::Signature {
        manifest: manifest.to_path_buf(),
        problem,
    }
}

/// The DSSE payload type for a manifest form.
pub fn payload_type(format: ManifestFormat) -> &'static str {
    match format {
        ManifestFormat::Json => PAYLOAD_TYPE_MANIFEST,
        ManifestFormat::InToto => PAYLOAD_TYPE_IN_TOTO,
    }
}

/// Sign a manifest's exact bytes and write the envelope atomically to
/// [`signature_path`]`(manifest_path)`; returns that path.
pub fn sign(
    key: &PrivateKey,
    manifest_path: &Path,
    manifest_bytes: &[u8],
    format: ManifestFormat,
) -> Result<PathBuf> {
    let envelope = key.sign(payload_type(format), manifest_bytes);
    let path = signature_path(manifest_path);
    write_atomic(&path, envelope.to_json().as_bytes())?;
    Ok(path)
}

/// Check a DSSE envelope (the bytes of `sig_path`) against a key and the manifest's
/// bytes. Returns the signer's key id, or [`IngestError::Signature`] saying which check
/// failed: malformed, another key, altered signature, or changed manifest.
pub fn verify(
    key: &PublicKey,
    manifest_path: &Path,
    manifest_bytes: &[u8],
    sig_path: &Path,
    envelope: &[u8],
) -> Result<String> {
    let malformed = |reason: String| {
        fail(
            manifest_path,
            SignatureProblem::Malformed {
                path: sig_path.to_path_buf(),
                reason,
            },
        )
    };
    let env: Envelope = serde_json::from_slice(envelope)
        .map_err(|e| malformed(format!("not a DSSE envelope ({e})")))?;
    if env.payload_type != PAYLOAD_TYPE_MANIFEST && env.payload_type != PAYLOAD_TYPE_IN_TOTO {
        let mut shown = env.payload_type.escape_debug().to_string();
        shown.truncate(80);
        return Err(malformed(format!("unexpected payloadType '{shown}'")));
    }
    let payload =
        decode_b64(&env.payload).ok_or_else(|| malformed("payload is not base64".into()))?;
    if env.signatures.is_empty() {
        return Err(malformed("it holds no signatures".into()));
    }
    let given = key.key_id();
    let candidates: Vec<&EnvelopeSignature> = env
        .signatures
        .iter()
        .filter(|s| s.keyid.is_empty() || s.keyid == given)
        .collect();
    if candidates.is_empty() {
        let mut signed_by: Vec<String> = env
            .signatures
            .iter()
            .map(|s| {
                let mut id = s.keyid.escape_debug().to_string();
                id.truncate(64);
                id
            })
            .collect();
        signed_by.dedup();
        return Err(fail(
            manifest_path,
            SignatureProblem::WrongKey { signed_by, given },
        ));
    }
    let message = pae(&env.payload_type, &payload);
    let mut verified = false;
    for s in candidates {
        let raw = decode_b64(&s.sig).ok_or_else(|| malformed("sig is not base64".into()))?;
        let sig = Signature::from_slice(&raw).map_err(|_| {
            malformed(format!(
                "sig is {} bytes, an ed25519 signature is 64",
                raw.len()
            ))
        })?;
        if key.0.verify_strict(&message, &sig).is_ok() {
            verified = true;
            break;
        }
    }
    if !verified {
        return Err(fail(
            manifest_path,
            SignatureProblem::Invalid { key_id: given },
        ));
    }
    if payload != manifest_bytes {
        return Err(fail(
            manifest_path,
            SignatureProblem::ManifestChanged { key_id: given },
        ));
    }
    Ok(given)
}

/// DSSE uses standard base64; accept URL-safe too, with or without padding.
fn decode_b64(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    Base64::decode_vec(text)
        .ok()
        .or_else(|| base64ct::Base64Unpadded::decode_vec(trimmed).ok())
        .or_else(|| Base64Url::decode_vec(text).ok())
        .or_else(|| base64ct::Base64UrlUnpadded::decode_vec(trimmed).ok())
}

/// A verified signed manifest.
#[derive(Debug, Clone)]
pub struct SignedReport {
    /// Key id of the signer.
    pub key_id: String,
    /// The files' verdicts, as from [`crate::verify()`].
    pub report: VerifyReport,
}

/// Verify a signed manifest: read its bytes once, check `<manifest>.sig` against
/// `key`, check the row sidecar's digest against the (now trusted) manifest, then
/// verify the files against exactly the bytes that were signed.
pub fn verify_signed(
    manifest_path: &Path,
    key: &PublicKey,
    opts: &VerifyOptions,
    progress: &dyn IngestProgress,
) -> Result<SignedReport> {
    let bytes =
        std::fs::read(manifest_path).map_err(|e| IngestError::io("read", manifest_path, e))?;
    let sig_path = signature_path(manifest_path);
    let envelope = match std::fs::read(&sig_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(manifest_path, SignatureProblem::Missing(sig_path)));
        }
        Err(e) => return Err(IngestError::io("read", sig_path, e)),
    };
    let key_id = verify(key, manifest_path, &bytes, &sig_path, &envelope)?;
    let manifest = Manifest::from_json(&bytes, manifest_path)?;
    // The sidecar before anything else reads it: it must be the one signed.
    if let Some(side) = &manifest.rows_sidecar {
        let path = manifest_path.with_file_name(&side.path);
        let what = match std::fs::read(&path) {
            Ok(b) if b.len() as u64 == side.size && sha256_hex(&b) == side.sha256 => None,
            Ok(_) => Some("changed"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("went missing"),
            Err(e) => return Err(IngestError::io("read", path, e)),
        };
        if let Some(what) = what {
            return Err(fail(
                manifest_path,
                SignatureProblem::SidecarChanged { path, what },
            ));
        }
    }
    let report = verify_manifest(&manifest, manifest_path, opts, progress)?;
    // verify_manifest re-reads the sidecar and checks its digest again before use; a
    // sidecar swapped in between is caught here.
    if !matches!(report.sidecar, SidecarStatus::Ok | SidecarStatus::None) {
        let side = manifest.rows_sidecar.as_ref().map(|s| s.path.as_str());
        return Err(fail(
            manifest_path,
            SignatureProblem::SidecarChanged {
                path: manifest_path.with_file_name(side.unwrap_or_default()),
                what: "changed",
            },
        ));
    }
    Ok(SignedReport { key_id, report })
}

#[cfg(test)]
mod tests;
