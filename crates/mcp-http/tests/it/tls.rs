//! HTTPS served by the process itself (rustls), with a certificate made here.

use mcp_http::TlsFiles;

use crate::common::*;

#[tokio::test]
async fn serves_mcp_over_tls() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut cfg = config();
    cfg.tls = Some(TlsFiles {
        cert: cert_path,
        key: key_path,
    });
    let s = start(cfg).await;

    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", s.addr)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/mcp", s.addr.port());
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {READER}"))
        .body(INIT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = reply_json(r).await;
    assert!(v["result"]["serverInfo"].is_object(), "{v}");
    let r = client
        .get(format!("https://localhost:{}/healthz", s.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Plain HTTP to the TLS port gets no MCP answer.
    let plain = reqwest::get(format!("http://127.0.0.1:{}/healthz", s.addr.port())).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // Missing files fail at start, not at the first request.
    let mut bad = config();
    bad.tls = Some(TlsFiles {
        cert: dir.path().join("nope.crt"),
        key: dir.path().join("nope.key"),
    });
    let bound = mcp_http::bind(bad, Fixture::new).unwrap();
    let err = bound.run(std::future::pending()).await.unwrap_err();
    assert!(matches!(err, mcp_http::ServeError::Tls(_)), "{err}");
}
