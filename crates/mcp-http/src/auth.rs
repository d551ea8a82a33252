//! Authentication: named static keys and OAuth 2.0 JWT access tokens.
//!
//! A request authenticates with exactly one of:
//!
//! ```text
//! Authorization: Bearer <static key>     ; a named key, caller = key name
//! <api key header>: <static key>         ; default header `x-api-key`
//! Authorization: Bearer <JWT>            ; OAuth access token, caller = sub (or client_id)
//! ```
//!
//! Static keys are configured as whitespace-separated entries (a file, one a
//! line, `#` starts a comment; or an environment variable):
//!
//! ```text
//! entry  = name ":" grants ":" secret
//! grants = grant { "," grant }        ; read | collect | all
//! secret = 16 or more non-blank characters
//! # example
//! devops-agent:read:Zm9vYmFyYmF6cXV4cXV1eDEy
//! oncall:read,collect:c2VjcmV0LXRoYXQtaXMtbG9uZw
//! ```
//!
//! Only the SHA-256 digest of a secret is kept in memory; a presented key is
//! hashed and compared with every configured digest in constant time
//! (`subtle`), so neither the secret's length nor the position of the first
//! differing byte leaks. Secrets never reach a log line or a `Debug` output.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use http::{HeaderMap, HeaderName, header::AUTHORIZATION};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::grant::{Caller, CallerKind, Grants};
use crate::jwt::{JwtError, JwtValidator, OAuthConfig};

/// Errors in authentication configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// A key entry is not `name:grants:secret`.
    #[error("key entry {index}: expected `name:grants:secret`")]
    Malformed {
        /// 1-based position of the entry.
        index: usize,
    },
    /// A key's grants are not understood.
    #[error("key `{name}`: {reason}")]
    BadGrants {
        /// Key name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A secret is too short to resist guessing.
    #[error("key `{name}`: secret shorter than {min} characters")]
    WeakSecret {
        /// Key name.
        name: String,
        /// Minimum length.
        min: usize,
    },
    /// Two keys share a name or a secret.
    #[error("key `{name}`: duplicate name or secret")]
    Duplicate {
        /// Key name.
        name: String,
    },
    /// The key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The environment variable is unset or not Unicode.
    #[error("environment variable {0} is unset or not valid unicode")]
    Env(String),
}

/// Minimum secret length accepted for a static key.
pub const MIN_SECRET_LEN: usize = 16;

/// A named static credential.
#[derive(Clone)]
pub struct StaticKey {
    /// Name used as the caller identity in logs and audit lines.
    pub name: String,
    /// What the key allows.
    pub grants: Grants,
    digest: [u8; 32],
}

impl std::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKey")
            .field("name", &self.name)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

impl StaticKey {
    /// A key; fails when the secret is shorter than [`MIN_SECRET_LEN`].
    pub fn new(
        name: impl Into<String>,
        secret: &str,
        grants: Grants,
    ) -> Result<Self, AuthConfigError> {
        let name = name.into();
        if secret.chars().count() < MIN_SECRET_LEN {
            return Err(AuthConfigError::WeakSecret {
                name,
                min: MIN_SECRET_LEN,
            });
        }
        Ok(Self {
            name,
            grants,
            digest: Sha256::digest(secret.as_bytes()).into(),
        })
    }

    /// Parses whitespace-separated `name:grants:secret` entries (`#` comments).
    pub fn parse_list(text: &str) -> Result<Vec<Self>, AuthConfigError> {
        let mut keys: Vec<Self> = Vec::new();
        let entries = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .flat_map(str::split_whitespace);
        for (i, entry) in entries.enumerate() {
            let mut parts = entry.splitn(3, ':');
            let (Some(name), Some(grants), Some(secret)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(AuthConfigError::Malformed { index: i + 1 });
            };
            if name.is_empty() {
                return Err(AuthConfigError::Malformed { index: i + 1 });
            }
            let grants =
                Grants::parse_list(grants).map_err(|reason| AuthConfigError::BadGrants {
                    name: name.to_owned(),
                    reason,
                })?;
            let key = Self::new(name, secret, grants)?;
            if keys
                .iter()
                .any(|k| k.name == key.name || k.digest == key.digest)
            {
                return Err(AuthConfigError::Duplicate { name: key.name });
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// Reads keys from a file (see the module docs for the format).
    pub fn load_file(path: &Path) -> Result<Vec<Self>, AuthConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse_list(&text)
    }

    /// Reads keys from an environment variable.
    pub fn load_env(var: &str) -> Result<Vec<Self>, AuthConfigError> {
        let text = std::env::var(var).map_err(|_| AuthConfigError::Env(var.to_owned()))?;
        Self::parse_list(&text)
    }
}

/// Authentication settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Static keys, accepted as bearer tokens and in [`AuthConfig::api_key_header`].
    pub keys: Vec<StaticKey>,
    /// Header carrying an API key (DevOps Agent lets you name it); default `x-api-key`.
    pub api_key_header: HeaderName,
    /// OAuth 2.0 JWT access tokens.
    pub oauth: Option<OAuthConfig>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            api_key_header: HeaderName::from_static("x-api-key"),
            oauth: None,
        }
    }
}

impl AuthConfig {
    /// Whether any authentication is configured.
    pub fn is_configured(&self) -> bool {
        !self.keys.is_empty() || self.oauth.is_some()
    }
}

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthFailure {
    #[error("no credentials")]
    Missing,
    #[error("invalid credentials: {0}")]
    Invalid(String),
    #[error("token grants none of the configured scopes")]
    InsufficientScope,
}

/// Checks credentials on a request.
pub(crate) struct Authenticator {
    keys: Vec<StaticKey>,
    api_key_header: HeaderName,
    jwt: Option<JwtValidator>,
    /// No authentication configured: everyone is an anonymous caller with all grants.
    open: bool,
}

impl Authenticator {
    pub(crate) fn new(config: &AuthConfig) -> Result<Self, JwtError> {
        let names: HashSet<_> = config.keys.iter().map(|k| &k.name).collect();
        debug_assert_eq!(names.len(), config.keys.len());
        Ok(Self {
            keys: config.keys.clone(),
            api_key_header: config.api_key_header.clone(),
            jwt: config.oauth.clone().map(JwtValidator::new).transpose()?,
            open: !config.is_configured(),
        })
    }

    /// Matches a presented secret against every key in constant time.
    fn match_key(&self, presented: &str) -> Option<&StaticKey> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for key in &self.keys {
            // No early exit: every digest is compared.
            if bool::from(key.digest.ct_eq(&digest)) {
                found = Some(key);
            }
        }
        found
    }

    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Caller, AuthFailure> {
        if self.open {
            let who = peer.map_or_else(
                || "anonymous".to_owned(),
                |p| format!("anonymous@{}", p.ip()),
            );
            return Ok(Caller {
                name: who,
                kind: CallerKind::Anonymous,
                grants: Grants::ALL,
            });
        }
        if let Some(value) = headers.get(&self.api_key_header) {
            let presented = value
                .to_str()
                .map_err(|_| AuthFailure::Invalid("api key is not ascii".into()))?;
            return match self.match_key(presented.trim()) {
                Some(key) => Ok(Caller {
                    name: key.name.clone(),
                    kind: CallerKind::ApiKey,
                    grants: key.grants,
                }),
                None => Err(AuthFailure::Invalid("unknown api key".into())),
            };
        }
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(AuthFailure::Missing);
        };
        let value = value
            .to_str()
            .map_err(|_| AuthFailure::Invalid("authorization is not ascii".into()))?;
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return Err(AuthFailure::Invalid(
                "authorization is not `Bearer <token>`".into(),
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthFailure::Invalid(
                "authorization scheme is not bearer".into(),
            ));
        }
        let token = token.trim();
        if let Some(key) = self.match_key(token) {
            return Ok(Caller {
                name: key.name.clone(),
                kind: CallerKind::Bearer,
                grants: key.grants,
            });
        }
        let Some(jwt) = &self.jwt else {
            return Err(AuthFailure::Invalid("unknown bearer token".into()));
        };
        let identity = jwt
            .validate(token)
            .await
            .map_err(|e| AuthFailure::Invalid(e.to_string()))?;
        if identity.grants.is_empty() {
            return Err(AuthFailure::InsufficientScope);
        }
        Ok(Caller {
            name: identity.subject,
            kind: CallerKind::Jwt,
            grants: identity.grants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_list() {
        let keys = StaticKey::parse_list(
            "# comment\nagent:read:0123456789abcdef0\n  ops:read,collect:abcdefghijklmnop:with:colons # trailing\n",
        )
        .unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].name, "agent");
        assert_eq!(keys[0].grants, Grants::READ_ONLY);
        assert_eq!(keys[1].grants, Grants::ALL);
        assert!(!format!("{keys:?}").contains("abcdefghijklmnop"));
    }

    #[test]
    fn rejects_bad_key_lists() {
        assert!(matches!(
            StaticKey::parse_list("a:read"),
            Err(AuthConfigError::Malformed { index: 1 })
        ));
        assert!(matches!(
            StaticKey::parse_list("a:read:short"),
            Err(AuthConfigError::WeakSecret { .. })
        ));
        assert!(matches!(
            StaticKey::parse_list("a:write:0123456789abcdef"),
            Err(AuthConfigError::BadGrants { .. })
        ));
        assert!(matches!(
            StaticKey::parse_list("a:read:0123456789abcdef b:read:0123456789abcdef"),
            Err(AuthConfigError::Duplicate { .. })
        ));
    }
}
