//! OAuth 2.0 JWT access tokens validated against a JWKS.
//!
//! What DevOps Agent sends after its client-credentials exchange with Cognito,
//! Okta, Entra or any issuer: `Authorization: Bearer <JWS compact>`.
//!
//! ```text
//! token  = b64url(header) "." b64url(claims) "." b64url(signature)
//! header = {"alg": "RS256" | "ES256", "kid": "<key id>", ...}
//! claims = {"iss", "exp", ["aud"], ["nbf"], ["sub" | "client_id"], ["scope" | "scp"], ...}
//! ```
//!
//! Checks, in order: the header's `alg` is RS256 or ES256; `kid` names a key
//! in the JWKS (an unknown `kid` refetches the JWKS, at most once per
//! [`OAuthConfig::jwks_min_refresh`], so rotation works and a stream of bogus
//! tokens cannot turn the server into a JWKS flooder); the signature; `iss`
//! equals the issuer; `aud` contains one of the audiences (when configured:
//! Cognito client-credentials tokens carry none); `exp` and `nbf` within
//! [`OAuthConfig::leeway`]. Scopes (`scope`, space-separated, or `scp`, a string
//! or an array) map to grants: [`OAuthConfig::read_scope`] ⇒ read-only tools,
//! [`OAuthConfig::collect_scope`] ⇒ node-touching tools.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::grant::Grants;

/// OAuth 2.0 resource-server settings.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// Expected `iss` (exact match), e.g. `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC`.
    pub issuer: String,
    /// JWKS URL, e.g. `<issuer>/.well-known/jwks.json`; https, or http on loopback only.
    pub jwks_url: String,
    /// Accepted `aud` values; empty means `aud` is not checked.
    pub audience: Vec<String>,
    /// Public URL of this server's MCP endpoint (`https://diag.example.com/mcp`),
    /// the `resource` of the RFC 9728 metadata.
    pub resource: String,
    /// Authorization servers announced in the metadata; empty means `[issuer]`.
    pub authorization_servers: Vec<String>,
    /// Scope granting read-only tools.
    pub read_scope: String,
    /// Scope granting node-touching tools.
    pub collect_scope: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Minimum time between two JWKS fetches triggered by unknown `kid`s.
    pub jwks_min_refresh: Duration,
    /// A cached JWKS older than this is refetched on the next token.
    pub jwks_max_age: Duration,
}

impl OAuthConfig {
    /// Settings with the default scopes (`eks-node-diag/read`,
    /// `eks-node-diag/collect`), 30 s leeway, 30 s refresh floor and 1 h cache.
    pub fn new(
        issuer: impl Into<String>,
        jwks_url: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            jwks_url: jwks_url.into(),
            audience: Vec::new(),
            resource: resource.into(),
            authorization_servers: Vec::new(),
            read_scope: "eks-node-diag/read".to_owned(),
            collect_scope: "eks-node-diag/collect".to_owned(),
            leeway: Duration::from_secs(30),
            jwks_min_refresh: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(3600),
        }
    }

    /// RFC 9728 protected-resource metadata for this server.
    pub fn metadata(&self) -> serde_json::Value {
        let servers = if self.authorization_servers.is_empty() {
            vec![self.issuer.clone()]
        } else {
            self.authorization_servers.clone()
        };
        serde_json::json!({
            "resource": self.resource,
            "authorization_servers": servers,
            "scopes_supported": [self.read_scope, self.collect_scope],
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": ["RS256", "ES256"],
            "resource_name": "eks-node-diag",
        })
    }

    /// URL of the metadata document: origin of [`OAuthConfig::resource`] +
    /// `/.well-known/oauth-protected-resource`.
    pub fn metadata_url(&self) -> String {
        let origin_end = self
            .resource
            .find("://")
            .and_then(|i| self.resource[i + 3..].find('/').map(|j| i + 3 + j))
            .unwrap_or(self.resource.len());
        format!(
            "{}/.well-known/oauth-protected-resource",
            &self.resource[..origin_end]
        )
    }
}

/// Why a token was refused (for logs; clients only see `invalid_token`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The JWKS URL is neither https nor http on loopback.
    #[error("jwks url must be https (http only on loopback): {0}")]
    InsecureJwksUrl(String),
    /// The HTTP client could not be built.
    #[error("cannot build http client: {0}")]
    Client(String),
    /// The token is not a JWS or uses another algorithm.
    #[error("malformed token or unsupported algorithm: {0}")]
    Header(String),
    /// No key with the token's `kid`, even after a refresh.
    #[error("unknown signing key `{0}`")]
    UnknownKey(String),
    /// The JWKS could not be fetched or parsed.
    #[error("jwks fetch failed: {0}")]
    Fetch(String),
    /// Signature, issuer, audience or time checks failed.
    #[error("token rejected: {0}")]
    Invalid(String),
}

/// The identity a valid token carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    /// `sub`, else `client_id`, else `unknown`.
    pub subject: String,
    /// Grants from the token's scopes.
    pub grants: Grants,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    client_id: Option<String>,
    scope: Option<ScopeClaim>,
    scp: Option<ScopeClaim>,
}

struct Cache {
    keys: HashMap<String, (DecodingKey, Option<Algorithm>)>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// Validates access tokens; owns the JWKS cache.
pub(crate) struct JwtValidator {
    config: OAuthConfig,
    client: reqwest::Client,
    cache: tokio::sync::Mutex<Cache>,
}

fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

impl JwtValidator {
    pub(crate) fn new(config: OAuthConfig) -> Result<Self, JwtError> {
        if !config.jwks_url.starts_with("https://") && !is_loopback_http(&config.jwks_url) {
            return Err(JwtError::InsecureJwksUrl(config.jwks_url));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| JwtError::Client(e.to_string()))?;
        Ok(Self {
            config,
            client,
            cache: tokio::sync::Mutex::new(Cache {
                keys: HashMap::new(),
                fetched_at: None,
                last_attempt: None,
            }),
        })
    }

    async fn fetch(&self, cache: &mut Cache) -> Result<(), JwtError> {
        cache.last_attempt = Some(Instant::now());
        let response = self
            .client
            .get(&self.config.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| JwtError::Fetch(e.to_string()))?;
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| JwtError::Fetch(e.to_string()))?;
        let mut keys = HashMap::new();
        let mut anonymous = Vec::new();
        for jwk in &set.keys {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                tracing::warn!(kid = ?jwk.common.key_id, "skipping unsupported jwk");
                continue;
            };
            let alg = match jwk.common.key_algorithm {
                None => None,
                Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
                Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
                Some(other) => {
                    tracing::debug!(kid = ?jwk.common.key_id, alg = ?other, "skipping jwk for another algorithm");
                    continue;
                }
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    keys.insert(kid.clone(), (key, alg));
                }
                None => anonymous.push((key, alg)),
            }
        }
        // A JWKS with one key and no `kid` serves tokens without `kid`.
        if keys.is_empty() && anonymous.len() == 1 {
            keys.extend(anonymous.pop().map(|k| (String::new(), k)));
        }
        cache.keys = keys;
        cache.fetched_at = Some(Instant::now());
        tracing::info!(keys = cache.keys.len(), url = %self.config.jwks_url, "fetched jwks");
        Ok(())
    }

    async fn key_for(&self, kid: &str) -> Result<(DecodingKey, Option<Algorithm>), JwtError> {
        let mut cache = self.cache.lock().await;
        let stale = cache
            .fetched_at
            .is_none_or(|t| t.elapsed() > self.config.jwks_max_age);
        let may_refresh = cache
            .last_attempt
            .is_none_or(|t| t.elapsed() >= self.config.jwks_min_refresh);
        if (stale || !cache.keys.contains_key(kid))
            && may_refresh
            && let Err(e) = self.fetch(&mut cache).await
        {
            // Keep serving from a stale cache when the issuer is briefly unreachable.
            tracing::warn!(error = %e, "jwks refresh failed");
            if cache.keys.is_empty() {
                return Err(e);
            }
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| JwtError::UnknownKey(kid.to_owned()))
    }

    pub(crate) async fn validate(&self, token: &str) -> Result<TokenIdentity, JwtError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| JwtError::Header(e.to_string()))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(JwtError::Header(format!(
                "algorithm {:?} not accepted",
                header.alg
            )));
        }
        let kid = header.kid.clone().unwrap_or_default();
        let (key, key_alg) = self.key_for(&kid).await?;
        if key_alg.is_some_and(|a| a != header.alg) {
            return Err(JwtError::Header(format!(
                "key `{kid}` is not for {:?}",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        let mut required = vec!["exp", "iss"];
        if self.config.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.config.audience);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        let claims = data.claims;
        let mut scopes: Vec<String> = Vec::new();
        for claim in [claims.scope, claims.scp].into_iter().flatten() {
            match claim {
                ScopeClaim::Text(s) => scopes.extend(s.split_whitespace().map(str::to_owned)),
                ScopeClaim::List(l) => scopes.extend(l),
            }
        }
        let grants = Grants {
            read_only: scopes.contains(&self.config.read_scope),
            node_touching: scopes.contains(&self.config.collect_scope),
        };
        let subject = claims
            .sub
            .or(claims.client_id)
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(TokenIdentity { subject, grants })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_uses_origin() {
        let c = OAuthConfig::new(
            "https://iss",
            "https://iss/jwks",
            "https://diag.example.com:8443/mcp",
        );
        assert_eq!(
            c.metadata_url(),
            "https://diag.example.com:8443/.well-known/oauth-protected-resource"
        );
        let c = OAuthConfig::new(
            "https://iss",
            "https://iss/jwks",
            "https://diag.example.com",
        );
        assert_eq!(
            c.metadata_url(),
            "https://diag.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn jwks_url_must_be_https_or_loopback() {
        for (url, ok) in [
            ("https://issuer.example.com/jwks", true),
            ("http://127.0.0.1:9000/jwks", true),
            ("http://localhost/jwks", true),
            ("http://issuer.example.com/jwks", false),
            ("http://127.0.0.1.evil.com/jwks", false),
        ] {
            let c = OAuthConfig::new("i", url, "https://r/mcp");
            assert_eq!(JwtValidator::new(c).is_ok(), ok, "{url}");
        }
    }
}
