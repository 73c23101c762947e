//! imgproxy-compatible URL signatures: HMAC-SHA256 over `salt ‖ path`,
//! truncated to `signature_size` bytes and encoded as URL-safe base64 without
//! padding, with several key/salt pairs accepted for key rotation.
//!
//! Follows imgproxy's `security/signature.go` and the "Signing a URL" docs:
//! `path` is everything after the signature segment, leading `/` included,
//! exactly as received (still percent-encoded). Keys and salts are raw bytes;
//! the config layer decodes the hex from `IMGPROXY_KEY` / `IMGPROXY_SALT`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

type HmacSha256 = Hmac<Sha256>;

/// Full HMAC-SHA256 output size, and the upper bound for `signature_size`.
pub const MAX_SIGNATURE_SIZE: usize = 32;

/// Signature segments that mean "unsigned" (imgproxy documents `insecure`;
/// `_` is the short form imgproxy's own URL builders emit).
pub const INSECURE_TOKENS: [&str; 2] = ["insecure", "_"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing signature")]
    Missing,
    #[error("invalid signature")]
    Invalid,
    #[error("unsigned URLs are not allowed")]
    InsecureNotAllowed,
}

#[derive(Clone)]
pub struct Signer {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    signature_size: usize,
    allow_insecure: bool,
}

// Keys and salts are secrets: never let them reach logs through `{:?}`.
impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("pairs", &format_args!("<{} redacted>", self.pairs.len()))
            .field("signature_size", &self.signature_size)
            .field("allow_insecure", &self.allow_insecure)
            .finish()
    }
}

impl Signer {
    /// `signature_size` is clamped into `1..=32`: the config layer should
    /// reject out-of-range values, but a zero-byte signature would accept
    /// every URL, so this must never be reachable even by mistake.
    pub fn new(
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
        signature_size: usize,
        allow_insecure: bool,
    ) -> Signer {
        Signer {
            pairs,
            signature_size: signature_size.clamp(1, MAX_SIGNATURE_SIZE),
            allow_insecure,
        }
    }

    pub fn signature_size(&self) -> usize {
        self.signature_size
    }

    pub fn allow_insecure(&self) -> bool {
        self.allow_insecure
    }

    pub fn has_keys(&self) -> bool {
        !self.pairs.is_empty()
    }

    /// Signs with the first (current) pair; returns `"insecure"` when no
    /// pairs are configured, matching imgproxy's URL builders.
    pub fn sign(&self, path: &str) -> String {
        match self.pairs.first() {
            Some((key, salt)) => URL_SAFE_NO_PAD.encode(self.mac(key, salt, path)),
            None => INSECURE_TOKENS[0].to_owned(),
        }
    }

    /// Builds a full request path `/{signature}{path}`.
    pub fn sign_path(&self, path: &str) -> String {
        let path = with_leading_slash(path);
        format!("/{}{}", self.sign(&path), path)
    }

    /// Decision table (documented because it is security relevant):
    /// - empty signature → `Missing`;
    /// - `insecure` / `_` → Ok iff `allow_insecure`, else `InsecureNotAllowed`;
    /// - no pairs configured → Ok iff `allow_insecure` (imgproxy accepts any
    ///   signature when no key is set), else `Invalid` (fail closed);
    /// - otherwise the decoded signature must equal the truncated MAC of
    ///   one of the pairs; every pair is checked, without early exit, so the
    ///   timing does not reveal which pair matched.
    pub fn verify(&self, signature: &str, path: &str) -> Result<(), SignatureError> {
        if signature.is_empty() {
            return Err(SignatureError::Missing);
        }
        if INSECURE_TOKENS.contains(&signature) {
            return if self.allow_insecure {
                Ok(())
            } else {
                Err(SignatureError::InsecureNotAllowed)
            };
        }
        if self.pairs.is_empty() {
            return if self.allow_insecure {
                Ok(())
            } else {
                Err(SignatureError::Invalid)
            };
        }
        // Canonical unpadded base64 only: every imgproxy client emits that,
        // and rejecting other spellings keeps one URL per signature.
        let given = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| SignatureError::Invalid)?;
        if given.len() != self.signature_size {
            return Err(SignatureError::Invalid);
        }
        let mut matched = Choice::from(0);
        for (key, salt) in &self.pairs {
            matched |= self.mac(key, salt, path).as_slice().ct_eq(&given);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }

    fn mac(&self, key: &[u8], salt: &[u8], path: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
        mac.update(salt);
        // imgproxy re-adds the leading slash when a caller split it off.
        if !path.starts_with('/') {
            mac.update(b"/");
        }
        mac.update(path.as_bytes());
        let mut out = mac.finalize().into_bytes().to_vec();
        out.truncate(self.signature_size);
        out
    }
}

fn with_leading_slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // imgproxy docs, "Signing a URL" example: key `secret`, salt `hello`.
    const DOC_PATH: &str =
        "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png";
    const DOC_SIG: &str = "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8";

    // Independent vector, computed with:
    // printf '%s' 'pepper/w:100/plain/s3://bucket/a%2520b.jpg@webp' \
    //   | openssl dgst -sha256 -hmac 'rotated-key' -binary | base64 | tr '+/' '-_' | tr -d '='
    const OWN_PATH: &str = "/w:100/plain/s3://bucket/a%2520b.jpg@webp";
    const OWN_SIG: &str = "NLoXM-XHpUFZfIPWoRqT9FMO5ZS4nasHcIyuA1aRRwo";

    fn pair(k: &str, s: &str) -> (Vec<u8>, Vec<u8>) {
        (k.as_bytes().to_vec(), s.as_bytes().to_vec())
    }

    fn doc_signer() -> Signer {
        Signer::new(vec![pair("secret", "hello")], 32, false)
    }

    #[test]
    fn sign_matches_published_and_independent_vectors() {
        let cases = [
            (pair("secret", "hello"), DOC_PATH, DOC_SIG),
            (pair("rotated-key", "pepper"), OWN_PATH, OWN_SIG),
        ];
        for (p, path, sig) in cases {
            let signer = Signer::new(vec![p], 32, false);
            assert_eq!(signer.sign(path), sig, "{path}");
            assert_eq!(signer.verify(sig, path), Ok(()), "{path}");
        }
    }

    #[test]
    fn verify_table() {
        use SignatureError::*;
        let strict = doc_signer();
        let lax = Signer::new(vec![pair("secret", "hello")], 32, true);
        let keyless_lax = Signer::new(vec![], 32, true);
        let keyless_strict = Signer::new(vec![], 32, false);
        let mut tampered_sig = DOC_SIG.to_owned();
        tampered_sig.replace_range(0..1, "p");
        let tampered_path = DOC_PATH.replace("300", "301");
        let cases: Vec<(&Signer, &str, &str, Result<(), SignatureError>)> = vec![
            (&strict, DOC_SIG, DOC_PATH, Ok(())),
            (&strict, "", DOC_PATH, Err(Missing)),
            (&strict, &tampered_sig, DOC_PATH, Err(Invalid)),
            (&strict, DOC_SIG, &tampered_path, Err(Invalid)),
            (&strict, &DOC_SIG[..20], DOC_PATH, Err(Invalid)),
            (
                &strict,
                "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8=",
                DOC_PATH,
                Err(Invalid),
            ),
            (
                &strict,
                "oKfUtW34Dvo2BGQehJFR4Nr0/rIjOtdtzJ3QFsUcXH8",
                DOC_PATH,
                Err(Invalid),
            ),
            (&strict, "!!!!", DOC_PATH, Err(Invalid)),
            (&strict, "insecure", DOC_PATH, Err(InsecureNotAllowed)),
            (&strict, "_", DOC_PATH, Err(InsecureNotAllowed)),
            (&lax, "insecure", DOC_PATH, Ok(())),
            (&lax, "_", DOC_PATH, Ok(())),
            (&lax, DOC_SIG, DOC_PATH, Ok(())),
            (&lax, &tampered_sig, DOC_PATH, Err(Invalid)),
            (&keyless_lax, "anything", DOC_PATH, Ok(())),
            (&keyless_strict, DOC_SIG, DOC_PATH, Err(Invalid)),
            (
                &keyless_strict,
                "insecure",
                DOC_PATH,
                Err(InsecureNotAllowed),
            ),
        ];
        for (i, (signer, sig, path, want)) in cases.into_iter().enumerate() {
            assert_eq!(signer.verify(sig, path), want, "case {i}: {sig} {path}");
        }
    }

    #[test]
    fn wrong_key_or_salt_is_rejected() {
        for p in [
            pair("secreT", "hello"),
            pair("secret", "hellO"),
            pair("", ""),
        ] {
            let signer = Signer::new(vec![p], 32, false);
            assert_eq!(
                signer.verify(DOC_SIG, DOC_PATH),
                Err(SignatureError::Invalid)
            );
        }
    }

    #[test]
    fn key_rotation_accepts_every_pair_and_signs_with_first() {
        let signer = Signer::new(
            vec![pair("rotated-key", "pepper"), pair("secret", "hello")],
            32,
            false,
        );
        assert_eq!(signer.verify(DOC_SIG, DOC_PATH), Ok(()));
        assert_eq!(signer.verify(OWN_SIG, OWN_PATH), Ok(()));
        assert_eq!(signer.sign(OWN_PATH), OWN_SIG);
        // A pair's signature only validates its own path.
        assert_eq!(
            signer.verify(DOC_SIG, OWN_PATH),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn truncated_signature_sizes() {
        let full = URL_SAFE_NO_PAD.decode(DOC_SIG).unwrap();
        for (size, effective) in [
            (0, 1),
            (1, 1),
            (8, 8),
            (16, 16),
            (31, 31),
            (32, 32),
            (99, 32),
        ] {
            let signer = Signer::new(vec![pair("secret", "hello")], size, false);
            assert_eq!(signer.signature_size(), effective);
            let want = URL_SAFE_NO_PAD.encode(&full[..effective]);
            assert_eq!(signer.sign(DOC_PATH), want, "size {size}");
            assert_eq!(signer.verify(&want, DOC_PATH), Ok(()));
            // Full-length signatures are not accepted by truncating signers
            // (imgproxy compares lengths too), nor the other way round.
            if effective != 32 {
                assert_eq!(
                    signer.verify(DOC_SIG, DOC_PATH),
                    Err(SignatureError::Invalid)
                );
                assert_eq!(
                    doc_signer().verify(&want, DOC_PATH),
                    Err(SignatureError::Invalid)
                );
            }
        }
    }

    #[test]
    fn sign_without_keys_and_sign_path() {
        assert_eq!(Signer::new(vec![], 32, true).sign(DOC_PATH), "insecure");
        let signer = doc_signer();
        assert_eq!(signer.sign_path(DOC_PATH), format!("/{DOC_SIG}{DOC_PATH}"));
        // A path without its leading slash signs like imgproxy's (re-added).
        assert_eq!(signer.sign(&DOC_PATH[1..]), DOC_SIG);
        assert_eq!(
            signer.sign_path(&DOC_PATH[1..]),
            format!("/{DOC_SIG}{DOC_PATH}")
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let text = format!("{:?}", doc_signer());
        assert!(
            !text.contains("secret") && !text.contains("hello"),
            "{text}"
        );
    }
}
