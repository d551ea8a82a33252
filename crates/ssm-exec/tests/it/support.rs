//! Helpers shared by the test modules: encoding output as the document does,
//! building configurations and nodes.

use std::io::Write as _;
use std::time::Duration;

use base64::Engine as _;
use ssm_exec::{Config, DocumentRef, InstanceId, Node, Timeouts};

/// What the document prints: `gzip -c | base64 -w0`.
pub(crate) fn encode(raw: &[u8]) -> String {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(raw).unwrap();
    base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap())
}

/// A large iptables-save-like dump that compresses about as well as a real one.
pub(crate) fn big_iptables(rules: u32) -> Vec<u8> {
    let mut out = b"*nat\n:PREROUTING ACCEPT [0:0]\n".to_vec();
    for i in 0..rules {
        let hash = i.wrapping_mul(2_654_435_761);
        writeln!(
            out,
            "-A KUBE-SEP-{hash:08X}{i:08X} -s 10.{}.{}.{}/32 -m comment --comment \"ns{}/svc-{}:http\" -j KUBE-MARK-MASQ",
            (hash >> 16) & 0xff,
            (hash >> 8) & 0xff,
            hash & 0xff,
            i % 17,
            i % 101
        )
        .unwrap();
    }
    out.extend_from_slice(b"COMMIT\n");
    out
}

pub(crate) const REGION: &str = "us-west-2";

pub(crate) fn config() -> Config {
    let mut config = Config::new(vec![REGION.to_owned()], DocumentRef::new("EksNodeDiag-Collect", "3").unwrap());
    config.timeouts = Timeouts {
        command: Duration::from_secs(10),
        automation: Duration::from_secs(60),
        poll_initial: Duration::from_millis(500),
        poll_max: Duration::from_secs(5),
        delivery_seconds: 60,
    };
    config.max_throttled_polls = 3;
    config
}

pub(crate) fn node(id: &str) -> Node {
    Node {
        instance_id: InstanceId::new(id).unwrap(),
        node_name: Some("ip-10-0-1-23.us-west-2.compute.internal".to_owned()),
        private_ip: Some("10.0.1.23".parse().unwrap()),
        region: REGION.to_owned(),
        availability_zone: Some("us-west-2a".to_owned()),
        instance_type: Some("m5.large".to_owned()),
        cluster: "prod".to_owned(),
        state: "running".to_owned(),
        launch_time: None,
    }
}
