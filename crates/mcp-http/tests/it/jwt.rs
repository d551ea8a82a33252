//! OAuth 2.0 JWT access tokens against a test issuer: keys generated here,
//! JWKS served on loopback by a tiny axum app.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_http::{HttpConfig, OAuthConfig};
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use crate::common::*;

const ISSUER: &str = "https://issuer.test/pool";
const AUDIENCE: &str = "eks-node-diag";

pub(crate) struct Key {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
}

impl Key {
    fn rsa(kid: &str) -> Self {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let encoding = EncodingKey::from_rsa_pem(kp.serialize_pem().as_bytes()).unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding,
        }
    }

    pub(crate) fn ec(kid: &str) -> Self {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let encoding = EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding,
        }
    }

    pub(crate) fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.clone());
        jwk
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) fn claims(scope: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "devops-agent-client",
        "iat": now(), "exp": now() + 300, "scope": scope,
    })
}

#[derive(Clone)]
pub(crate) struct Issuer {
    keys: Arc<Mutex<Vec<Jwk>>>,
    fetches: Arc<AtomicUsize>,
    addr: SocketAddr,
}

impl Issuer {
    pub(crate) async fn start(keys: Vec<Jwk>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = Self {
            keys: Arc::new(Mutex::new(keys)),
            fetches: Arc::default(),
            addr: listener.local_addr().unwrap(),
        };
        let app = axum::Router::new()
            .route(
                "/jwks.json",
                get(|State(i): State<Issuer>| async move {
                    i.fetches.fetch_add(1, Ordering::SeqCst);
                    axum::Json(JwkSet {
                        keys: i.keys.lock().unwrap().clone(),
                    })
                }),
            )
            .with_state(issuer.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        issuer
    }

    pub(crate) fn oauth(&self) -> OAuthConfig {
        let mut o = OAuthConfig::new(
            ISSUER,
            format!("http://{}/jwks.json", self.addr),
            "https://diag.example.com/mcp",
        );
        o.audience = vec![AUDIENCE.into()];
        o.jwks_min_refresh = Duration::from_millis(300);
        o
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn server(oauth: OAuthConfig) -> Running {
    let mut cfg: HttpConfig = config();
    cfg.auth.oauth = Some(oauth);
    start(cfg).await
}

async fn status(s: &Running, token: &str) -> (u16, String) {
    let r = post(
        &s.url,
        INIT.into(),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await;
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|h| h.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), challenge)
}

#[tokio::test]
async fn valid_tokens_grant_by_scope() {
    let rsa = Key::rsa("rsa-1");
    let ec = Key::ec("ec-1");
    let issuer = Issuer::start(vec![rsa.jwk(), ec.jwk()]).await;
    let s = server(issuer.oauth()).await;

    // RS256 with the read scope: read-only tools only.
    let c = bearer_client(&s.url, &rsa.sign(&claims("openid eks-node-diag/read"))).await;
    assert_eq!(
        tool_names(&c.list_tools(None).await.unwrap()),
        ["read_status", "sleep"]
    );
    let r = c
        .call_tool(CallToolRequestParams::new("collect_logs"))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    c.cancel().await.unwrap();

    // ES256 with both scopes in an `scp` array (Okta style): everything.
    let mut both = claims("");
    both.as_object_mut().unwrap().remove("scope");
    both["scp"] = json!(["eks-node-diag/read", "eks-node-diag/collect"]);
    let c = bearer_client(&s.url, &ec.sign(&both)).await;
    assert_eq!(c.list_tools(None).await.unwrap().tools.len(), 3);
    c.call_tool(CallToolRequestParams::new("collect_logs"))
        .await
        .unwrap();
    c.cancel().await.unwrap();
    let audit = s.audit_lines();
    assert_eq!(audit.last().unwrap()["caller"], "devops-agent-client");
    assert_eq!(audit.last().unwrap()["caller_kind"], "jwt");

    // Static keys keep working next to OAuth.
    assert_eq!(status(&s, READER).await.0, 200);
    assert_eq!(issuer.fetches(), 1, "the JWKS is cached");
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let rsa = Key::rsa("rsa-1");
    let issuer = Issuer::start(vec![rsa.jwk()]).await;
    let s = server(issuer.oauth()).await;
    let ok = claims("eks-node-diag/read");
    assert_eq!(status(&s, &rsa.sign(&ok)).await.0, 200);

    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut c = ok.clone();
    c["iss"] = json!("https://evil.test/pool");
    cases.push(("issuer", rsa.sign(&c)));
    let mut c = ok.clone();
    c["aud"] = json!("another-api");
    cases.push(("audience", rsa.sign(&c)));
    let mut c = ok.clone();
    c.as_object_mut().unwrap().remove("aud");
    cases.push(("missing audience", rsa.sign(&c)));
    let mut c = ok.clone();
    c["exp"] = json!(now() - 120);
    cases.push(("expired beyond leeway", rsa.sign(&c)));
    let mut c = ok.clone();
    c["nbf"] = json!(now() + 600);
    cases.push(("not yet valid", rsa.sign(&c)));
    // Signed by a key the issuer never published, under a published kid.
    let forger = Key::rsa("rsa-1");
    cases.push(("signature", forger.sign(&ok)));
    // Same claims, header switched to HS256 with the public key as secret.
    let hs = jsonwebtoken::encode(
        &Header {
            kid: Some("rsa-1".into()),
            ..Header::new(Algorithm::HS256)
        },
        &ok,
        &EncodingKey::from_secret(b"public"),
    )
    .unwrap();
    cases.push(("hs256", hs));
    let token = rsa.sign(&ok);
    let mut parts: Vec<&str> = token.split('.').collect();
    let tampered = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "admin", "exp": now() + 300, "scope": "eks-node-diag/read eks-node-diag/collect"})).unwrap(),
    );
    parts[1] = &tampered;
    cases.push(("tampered claims", parts.join(".")));
    cases.push(("garbage", "not.a.jwt".into()));

    for (what, token) in cases {
        let (code, challenge) = status(&s, &token).await;
        assert_eq!(code, 401, "{what}");
        assert!(challenge.contains("invalid_token"), "{what}: {challenge}");
    }

    // Within the clock-skew leeway (30 s) an expired token still passes.
    let mut c = ok.clone();
    c["exp"] = json!(now() - 5);
    assert_eq!(status(&s, &rsa.sign(&c)).await.0, 200);

    // Valid but without any of our scopes: 403 insufficient_scope.
    let (code, challenge) = status(&s, &rsa.sign(&claims("openid profile"))).await;
    assert_eq!(code, 403);
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
}

#[tokio::test]
async fn unauthenticated_challenge_points_at_protected_resource_metadata() {
    let rsa = Key::rsa("rsa-1");
    let issuer = Issuer::start(vec![rsa.jwk()]).await;
    let s = server(issuer.oauth()).await;
    let r = post(&s.url, INIT.into(), &[]).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(
            r#"resource_metadata="https://diag.example.com/.well-known/oauth-protected-resource""#
        ),
        "{challenge}"
    );
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let doc: Value = reqwest::get(format!("http://{}{path}", s.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["resource"], "https://diag.example.com/mcp");
        assert_eq!(doc["authorization_servers"], json!([ISSUER]));
        assert_eq!(
            doc["scopes_supported"],
            json!(["eks-node-diag/read", "eks-node-diag/collect"])
        );
    }
}

#[tokio::test]
async fn key_rotation_refetches_jwks_at_a_bounded_rate() {
    let old = Key::rsa("2026-01");
    let new = Key::ec("2026-02");
    let issuer = Issuer::start(vec![old.jwk()]).await;
    let s = server(issuer.oauth()).await;
    let read = claims("eks-node-diag/read");
    assert_eq!(status(&s, &old.sign(&read)).await.0, 200);
    assert_eq!(issuer.fetches(), 1);

    // The issuer rotates: the new kid is unknown to the cache and triggers a refetch.
    *issuer.keys.lock().unwrap() = vec![new.jwk()];
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(status(&s, &new.sign(&read)).await.0, 200);
    assert_eq!(issuer.fetches(), 2);
    // The retired key is gone with the old JWKS.
    assert_eq!(status(&s, &old.sign(&read)).await.0, 401);

    // A burst of tokens with unknown kids does not flood the issuer.
    let stranger = Key::rsa("unknown");
    let token = stranger.sign(&read);
    let before = issuer.fetches();
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(status(&s, &token).await.0, 401);
    }
    // At most one fetch per refresh interval (300 ms), plus the first.
    let allowed = 1 + (started.elapsed().as_millis() / 300) as usize;
    let fetched = issuer.fetches() - before;
    assert!(
        fetched <= allowed && fetched < 20,
        "{fetched} fetches for 20 tokens, allowed {allowed}"
    );
}
