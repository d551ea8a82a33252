//! Wire-format tests against moto's AWS server (`moto[server]` from PyPI).
//!
//! `scripts/test` installs moto into a virtual environment and exports
//! `EKS_NODE_DIAG_TEST_VENV`; each test starts its own `moto_server` on a
//! free loopback port and kills it on drop. Without the variable the tests
//! skip with a note, except under CI, where they fail. The SDK gets static
//! fake credentials, an explicit endpoint and no retries, and never loads any
//! profile, environment credentials or instance metadata.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::retry::RetryConfig;
use ssm_exec::{
    Artifact, Clients, CollectOptions, Config, DocumentChange, DocumentRef, Error, NodeRef, OutputSource, S3Location, SsmExec, Truncation,
};
use tokio_util::sync::CancellationToken;

use crate::support::{big_iptables, encode, REGION};

/// A moto server process, killed when dropped.
struct MotoServer {
    child: Child,
    endpoint: String,
}

impl MotoServer {
    /// Starts moto, or returns `None` (with a note) when it is not installed.
    fn start() -> Option<MotoServer> {
        let Some(venv) = std::env::var_os("EKS_NODE_DIAG_TEST_VENV") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "EKS_NODE_DIAG_TEST_VENV is unset under CI: run the tests through scripts/test"
            );
            eprintln!("note: skipping moto test: EKS_NODE_DIAG_TEST_VENV is unset (scripts/test sets it)");
            return None;
        };
        let binary = PathBuf::from(venv).join("bin/moto_server");
        assert!(binary.exists(), "{} is missing", binary.display());
        // Bind port 0 to learn a free port, then hand it to moto.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !answers(port) {
            assert!(Instant::now() < deadline, "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }

    /// An SDK configuration that can only reach this server.
    fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "static")))
            .retry_config(RetryConfig::disabled())
            .build()
    }

    fn clients(&self) -> Clients {
        let sdk = self.sdk_config();
        Clients {
            ec2: aws_sdk_ec2::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            // moto serves buckets by path, not by virtual host.
            s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build()),
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

fn config(document_version: &str) -> Config {
    let mut config = Config::new(vec![REGION.to_owned()], DocumentRef::new("EksNodeDiag-Collect", document_version).unwrap());
    config.output = Some(S3Location::new("diag-output", "eks-node-diag").unwrap());
    config.timeouts.poll_initial = Duration::from_millis(50);
    config.timeouts.poll_max = Duration::from_millis(200);
    config.timeouts.command = Duration::from_secs(20);
    config
}

/// Launches an instance in moto with the given tags; returns (id, private DNS name, private IP).
async fn launch(ec2: &aws_sdk_ec2::Client, tags: &[(&str, &str)]) -> (String, String, String) {
    let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
    for (key, value) in tags {
        spec = spec.tags(Tag::builder().key(*key).value(*value).build());
    }
    let mut request = ec2.run_instances().image_id("ami-12c6146b").instance_type(InstanceType::M5Large).min_count(1).max_count(1);
    if !tags.is_empty() {
        request = request.tag_specifications(spec.build());
    }
    let output = request.send().await.unwrap();
    let instance = &output.instances()[0];
    (
        instance.instance_id().unwrap().to_owned(),
        instance.private_dns_name().unwrap().to_owned(),
        instance.private_ip_address().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn resolves_nodes_by_id_dns_name_and_ip_with_tag_checks() {
    let Some(moto) = MotoServer::start() else { return };
    let clients = moto.clients();
    let ec2 = clients.ec2.clone();
    let exec = SsmExec::new(&moto.sdk_config(), config("1")).unwrap();
    let (modern_id, modern_dns, modern_ip) = launch(&ec2, &[("eks:cluster-name", "prod"), ("Name", "prod-ng-1")]).await;
    let (legacy_id, legacy_dns, legacy_ip) = launch(&ec2, &[("kubernetes.io/cluster/legacy", "owned")]).await;
    let (plain_id, _, plain_ip) = launch(&ec2, &[("Name", "bastion")]).await;

    for reference in [modern_id.as_str(), modern_dns.as_str(), modern_ip.as_str()] {
        let node = exec.resolve_node(&NodeRef::parse(reference).unwrap()).await.unwrap();
        assert_eq!(node.instance_id.as_str(), modern_id, "{reference}");
        assert_eq!(node.cluster, "prod");
        assert_eq!(node.state, "running");
        assert_eq!(node.region, REGION);
        assert_eq!(node.instance_type.as_deref(), Some("m5.large"));
        assert!(node.availability_zone.as_deref().is_some_and(|az| az.starts_with(REGION)));
        assert_eq!(node.node_name.as_deref(), Some(modern_dns.as_str()));
        assert_eq!(node.private_ip.map(|ip| ip.to_string()).as_deref(), Some(modern_ip.as_str()));
    }
    for reference in [legacy_id.as_str(), legacy_dns.as_str(), legacy_ip.as_str()] {
        let node = exec.resolve_node(&NodeRef::parse(reference).unwrap()).await.unwrap();
        assert_eq!((node.instance_id.as_str(), node.cluster.as_str()), (legacy_id.as_str(), "legacy"), "{reference}");
    }
    for reference in [plain_id.as_str(), plain_ip.as_str()] {
        let result = exec.resolve_node(&NodeRef::parse(reference).unwrap()).await;
        assert!(matches!(&result, Err(Error::NotEksNode { instance_id }) if *instance_id == plain_id), "{result:?}");
    }
    let missing = exec.resolve_node(&NodeRef::parse("i-0123456789abcdef0").unwrap()).await;
    assert!(matches!(missing, Err(Error::NotFound { .. })), "{missing:?}");
    let missing = exec.resolve_node(&NodeRef::parse("ip-10-9-9-9.us-west-2.compute.internal").unwrap()).await;
    assert!(matches!(missing, Err(Error::NotFound { .. })), "{missing:?}");

    ec2.stop_instances().instance_ids(&modern_id).send().await.unwrap();
    let stopped = exec.resolve_node(&NodeRef::parse(&modern_id).unwrap()).await;
    assert!(matches!(&stopped, Err(Error::NotRunning { state, .. }) if state == "stopped" || state == "stopping"), "{stopped:?}");
}

#[tokio::test]
async fn ensure_document_creates_then_pins_then_updates() {
    let Some(moto) = MotoServer::start() else { return };
    let clients = moto.clients();
    let ssm = clients.ssm.clone();
    let exec = SsmExec::from_clients(clients, REGION, config("1")).unwrap();

    let created = exec.ensure_document("EksNodeDiag-Collect").await.unwrap();
    assert_eq!(created.change, DocumentChange::Created);
    assert_eq!(created.document.version, "1");
    let again = exec.ensure_document("EksNodeDiag-Collect").await.unwrap();
    assert_eq!(again.change, DocumentChange::Unchanged);
    assert_eq!(again.document.version, "1");
    let stored = ssm
        .get_document()
        .name("EksNodeDiag-Collect")
        .document_version("1")
        .document_format(DocumentFormat::Yaml)
        .send()
        .await
        .unwrap();
    // moto re-serialises the YAML, so compare what it means, not its bytes.
    let parse = |text: &str| yaml_rust2::YamlLoader::load_from_str(text).unwrap();
    assert_eq!(parse(stored.content().unwrap()), parse(ssm_exec::DOCUMENT_YAML));
    assert_eq!(stored.document_type().map(|t| t.as_str()), Some("Command"));

    // An account holding an older revision of the document gets a new version.
    let old = ssm_exec::DOCUMENT_YAML.replace("read-only collection", "older read-only collection");
    ssm.create_document()
        .name("EksNodeDiag-Old")
        .content(old)
        .document_type(DocumentType::Command)
        .document_format(DocumentFormat::Yaml)
        .send()
        .await
        .unwrap();
    let updated = exec.ensure_document("EksNodeDiag-Old").await.unwrap();
    assert_eq!(updated.change, DocumentChange::Updated);
    assert_eq!(updated.document.version, "2");
    let described = ssm.describe_document().name("EksNodeDiag-Old").send().await.unwrap();
    assert_eq!(described.document().and_then(|d| d.default_version()), Some("2"));

    assert!(matches!(exec.ensure_document("AWS-RunShellScript").await, Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn send_command_with_the_project_document_and_read_output_from_s3() {
    let Some(moto) = MotoServer::start() else { return };
    let clients = moto.clients();
    let (ec2, ssm, s3) = (clients.ec2.clone(), clients.ssm.clone(), clients.s3.clone());
    s3.create_bucket()
        .bucket("diag-output")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let bootstrap = SsmExec::from_clients(clients.clone(), REGION, config("1")).unwrap();
    let document = bootstrap.ensure_document("EksNodeDiag-Collect").await.unwrap();
    let exec = SsmExec::from_clients(clients, REGION, config(&document.document.version)).unwrap();

    let (id, _, _) = launch(&ec2, &[("eks:cluster-name", "prod")]).await;
    let node = exec.resolve_node(&NodeRef::parse(&id).unwrap()).await.unwrap();
    let handle = exec.send(&node, Artifact::IptablesSave).await.unwrap();

    // moto records what was sent: the pinned document and closed parameters.
    let listed = ssm.list_commands().command_id(&handle.command_id).send().await.unwrap();
    let command = &listed.commands()[0];
    assert_eq!(command.document_name(), Some("EksNodeDiag-Collect"));
    // moto does not echo DocumentVersion; the mocks check that it is sent.
    assert_eq!(command.output_s3_bucket_name(), Some("diag-output"));
    assert_eq!(command.output_s3_key_prefix(), Some("eks-node-diag"));
    let expected: HashMap<String, Vec<String>> = Artifact::IptablesSave.parameters();
    assert_eq!(command.parameters(), Some(&expected));

    // Play the node: write the output where the SSM agent would.
    let raw = big_iptables(30_000);
    let encoded = encode(&raw);
    let key = format!("eks-node-diag/{}/{id}/awsrunShellScript/collect/stdout", handle.command_id);
    s3.put_object().bucket("diag-output").key(&key).body(ByteStream::from(encoded.clone().into_bytes())).send().await.unwrap();

    let collected = exec.wait(&handle, &CollectOptions::default(), &CancellationToken::new()).await.unwrap();
    assert_eq!(collected.bytes, raw);
    assert_eq!(collected.truncated, Truncation::None);
    assert_eq!(
        collected.source,
        OutputSource::S3 {
            bucket: "diag-output".to_owned(),
            key
        }
    );
    assert_eq!(collected.encoded_len, encoded.len());

    // With no object where SSM would write it, the empty inline output is an error, not silence.
    let second = exec.send(&node, Artifact::Dmesg).await.unwrap();
    let missing = exec.wait(&second, &CollectOptions::default(), &CancellationToken::new()).await;
    assert!(matches!(missing, Err(Error::OutputMissing { .. })), "{missing:?}");
}
