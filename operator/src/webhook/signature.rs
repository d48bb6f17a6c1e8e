//! Webhook signatures: `X-Hub-Signature-256`, the HMAC-SHA256 of the exact body, checked in
//! constant time against every token in force, so a token can be rotated with no lost delivery.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// The HMAC tokens in force.
///
/// The Secret holds either one token, or upstream hook's YAML format, which lists tokens (each
/// `{value, created_at}`) under `"*"` for every repository and under `org` or `org/repo`; every
/// token listed for a repository, its org or `"*"` is accepted, which is how tokens rotate.
/// The default holds no token, so every signature is refused.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    global: Vec<Vec<u8>>,
    scoped: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret.
        write!(f, "Tokens({} global, {} scoped)", self.global.len(), self.scoped.len())
    }
}

impl Tokens {
    /// Reads the Secret's content.
    pub fn parse(text: &str) -> Tokens {
        let trimmed = text.trim();
        let parsed = prow_api::yaml::load_single(trimmed).ok().map(|(value, _)| value);
        match parsed {
            Some(Value::Object(scopes)) => {
                let mut tokens = Tokens {
                    global: Vec::new(),
                    scoped: Vec::new(),
                };
                for (scope, entries) in scopes {
                    for value in entries
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.get("value")?.as_str())
                    {
                        if scope == "*" {
                            tokens.global.push(value.as_bytes().to_vec());
                        } else {
                            tokens.scoped.push((scope.clone(), value.as_bytes().to_vec()));
                        }
                    }
                }
                tokens
            }
            _ => Tokens {
                global: vec![trimmed.as_bytes().to_vec()],
                scoped: Vec::new(),
            },
        }
    }

    /// These tokens, valid for `org`'s repositories only: the tokens of one instance's Secret,
    /// which must not sign events of another instance's org. Orgs compare case-insensitively, as
    /// GitHub's logins do.
    pub fn scoped_to(self, org: &str) -> Tokens {
        let mut scoped: Vec<(String, Vec<u8>)> =
            self.global.into_iter().map(|token| (org.to_string(), token)).collect();
        scoped.extend(self.scoped.into_iter().filter(|(scope, _)| {
            let scope_org = scope.split('/').next().unwrap_or_default();
            scope_org.eq_ignore_ascii_case(org)
        }));
        Tokens {
            global: Vec::new(),
            scoped,
        }
    }

    /// Adds `other`'s tokens to these.
    pub fn merge(&mut self, other: Tokens) {
        self.global.extend(other.global);
        self.scoped.extend(other.scoped);
    }

    /// Whether there is no token at all (an empty Secret).
    pub fn is_empty(&self) -> bool {
        self.global.iter().all(Vec::is_empty) && self.scoped.is_empty()
    }

    /// The tokens that may sign an event of `org/repo` (`None` when the repository is not known
    /// yet: every token). Scopes compare case-insensitively.
    fn candidates<'a>(&'a self, repo: Option<&'a str>) -> impl Iterator<Item = &'a [u8]> + 'a {
        let org = repo.and_then(|r| r.split('/').next());
        let names = |scope: &str, wanted: Option<&str>| wanted.is_some_and(|w| scope.eq_ignore_ascii_case(w));
        self.global.iter().map(Vec::as_slice).chain(
            self.scoped
                .iter()
                .filter(move |(scope, _)| repo.is_none() || names(scope, repo) || names(scope, org))
                .map(|(_, token)| token.as_slice()),
        )
    }

    /// Whether `header` (`sha256=<hex>`) is a valid signature of `body` by a token in force for
    /// `repo`. Each comparison takes constant time.
    pub fn verify(&self, header: &str, body: &[u8], repo: Option<&str>) -> bool {
        let Some(hex) = header.strip_prefix("sha256=") else {
            return false;
        };
        let Ok(expected) = hex::decode(hex.trim()) else {
            return false;
        };
        self.candidates(repo).filter(|token| !token.is_empty()).any(|token| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token) else {
                return false;
            };
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        })
    }
}

/// Signs `body` with `token`, as GitHub does (for tests and tools).
pub fn sign(token: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(token) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_tokens_sign_only_their_orgs_events() {
        let mut tokens = Tokens::parse("alpha").scoped_to("acme");
        tokens.merge(Tokens::parse("beta").scoped_to("globex"));
        let body = b"{}";
        let alpha = sign(b"alpha", body);
        assert!(
            tokens.verify(&alpha, body, None),
            "any token before the repository is known"
        );
        assert!(tokens.verify(&alpha, body, Some("acme/widgets")));
        assert!(!tokens.verify(&alpha, body, Some("globex/app")));
        assert!(tokens.verify(&sign(b"beta", body), body, Some("globex/app")));
        let listed = Tokens::parse("'*':\n- value: gamma\nacme/widgets:\n- value: delta\nother:\n- value: eps\n")
            .scoped_to("acme");
        assert!(listed.verify(&sign(b"gamma", body), body, Some("acme/x")));
        assert!(listed.verify(&sign(b"delta", body), body, Some("acme/widgets")));
        assert!(
            !listed.verify(&sign(b"eps", body), body, None),
            "another org's scope is dropped"
        );
    }

    #[test]
    fn a_single_token_verifies_and_rejects() {
        let tokens = Tokens::parse("s3cr3t\n");
        let body = br#"{"zen":"hi"}"#;
        assert!(tokens.verify(&sign(b"s3cr3t", body), body, None));
        assert!(!tokens.verify(&sign(b"other", body), body, None));
        assert!(
            !tokens.verify(&sign(b"s3cr3t", body), br#"{"zen":"ho"}"#, None),
            "a tampered body"
        );
        assert!(!tokens.verify("sha1=abc", body, None));
        assert!(!tokens.verify("sha256=zz", body, None));
        assert!(!format!("{tokens:?}").contains("s3cr3t"), "never printed");
    }

    #[test]
    fn rotated_tokens_are_all_accepted_for_their_scope() {
        let tokens = Tokens::parse(
            "'*':\n- value: old\n  created_at: 2020-01-01T00:00:00Z\n- value: new\n  created_at: 2021-01-01T00:00:00Z\norg/repo:\n- value: repo-token\n",
        );
        let body = b"{}";
        assert!(tokens.verify(&sign(b"old", body), body, Some("org/repo")));
        assert!(tokens.verify(&sign(b"new", body), body, Some("x/y")));
        assert!(tokens.verify(&sign(b"repo-token", body), body, Some("org/repo")));
        assert!(!tokens.verify(&sign(b"repo-token", body), body, Some("org/other")));
    }

    #[test]
    fn scopes_compare_case_insensitively() {
        let tokens = Tokens::parse("alpha").scoped_to("Acme");
        let body = b"{}";
        assert!(tokens.verify(&sign(b"alpha", body), body, Some("ACME/widgets")));
        assert!(!tokens.verify(&sign(b"alpha", body), body, Some("acme-evil/widgets")));
        let listed = Tokens::parse("acme/Widgets:\n- value: delta\n").scoped_to("ACME");
        assert!(listed.verify(&sign(b"delta", body), body, Some("Acme/widgets")));
        assert!(!listed.verify(&sign(b"delta", body), body, Some("Acme/gadgets")));
    }
}
