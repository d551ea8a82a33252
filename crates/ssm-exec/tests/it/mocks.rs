//! Every SSM state sequence, against aws-smithy-mocks.
//!
//! The SSM client's rules run in `RuleMode::Sequential`, so each test also
//! pins the exact order of API calls (a call out of order panics the mock).
//! Tokio's paused clock makes the backoff and timeouts instant and exact.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::types::{Instance, InstanceState, InstanceStateName, InstanceType, Placement, Reservation, Tag};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_sdk_ssm::error::ErrorMetadata;
use aws_sdk_ssm::operation::cancel_command::CancelCommandOutput;
use aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput;
use aws_sdk_ssm::operation::get_automation_execution::GetAutomationExecutionOutput;
use aws_sdk_ssm::operation::get_command_invocation::{GetCommandInvocationError, GetCommandInvocationOutput};
use aws_sdk_ssm::operation::list_command_invocations::ListCommandInvocationsOutput;
use aws_sdk_ssm::operation::list_commands::ListCommandsOutput;
use aws_sdk_ssm::operation::send_command::{SendCommandError, SendCommandOutput};
use aws_sdk_ssm::operation::start_automation_execution::StartAutomationExecutionOutput;
use aws_sdk_ssm::operation::stop_automation_execution::StopAutomationExecutionOutput;
use aws_sdk_ssm::types::error::InvocationDoesNotExist;
use aws_sdk_ssm::types::{
    AutomationExecution, AutomationExecutionStatus, Command, CommandInvocation, CommandInvocationStatus, CommandStatus, InstanceInformation,
    PingStatus as SsmPingStatus,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::DateTime;
use ssm_exec::{
    Artifact, BundleConfig, Clients, CollectOptions, Config, Error, FleetLimit, FleetOptions, JournalUnit, NodeRef, OutputSource, PingStatus,
    S3Location, SinceMinutes, SsmExec, Truncation, INLINE_STDOUT_LIMIT,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::support::{big_iptables, config, encode, node, REGION};

const ID: &str = "i-0123456789abcdef0";
const COMMAND_ID: &str = "0b5c2f1e-1111-2222-3333-444455556666";

struct Mocks<'a> {
    ssm: Vec<&'a Rule>,
    ec2: Vec<&'a Rule>,
    s3: Vec<&'a Rule>,
    mode: RuleMode,
}

impl<'a> Mocks<'a> {
    fn ssm(rules: &[&'a Rule]) -> Mocks<'a> {
        Mocks {
            ssm: rules.to_vec(),
            ec2: Vec::new(),
            s3: Vec::new(),
            mode: RuleMode::Sequential,
        }
    }

    fn s3(mut self, rules: &[&'a Rule]) -> Mocks<'a> {
        self.s3 = rules.to_vec();
        self
    }

    fn ec2(mut self, rules: &[&'a Rule]) -> Mocks<'a> {
        self.ec2 = rules.to_vec();
        self
    }

    fn any_order(mut self) -> Mocks<'a> {
        self.mode = RuleMode::MatchAny;
        self
    }

    fn build(self, config: Config) -> SsmExec {
        let mode = self.mode;
        let clients = Clients {
            ssm: mock_client!(aws_sdk_ssm, mode, self.ssm, |c| c.retry_config(RetryConfig::disabled())),
            ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, self.ec2, |c| c.retry_config(RetryConfig::disabled())),
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, self.s3, |c| c.retry_config(RetryConfig::disabled())),
        };
        SsmExec::from_clients(clients, REGION, config).unwrap()
    }
}

fn online() -> Rule {
    mock!(aws_sdk_ssm::Client::describe_instance_information)
        .match_requests(|request| request.filters().first().is_some_and(|filter| filter.key() == "InstanceIds" && filter.values() == [ID]))
        .then_output(|| {
            DescribeInstanceInformationOutput::builder()
                .instance_information_list(
                    InstanceInformation::builder()
                        .instance_id(ID)
                        .ping_status(SsmPingStatus::Online)
                        .agent_version("3.3.1142.0")
                        .platform_name("Amazon Linux")
                        .platform_version("2023")
                        .last_ping_date_time(DateTime::from_secs(1_764_140_000))
                        .build(),
                )
                .build()
        })
}

fn sent(artifact: Artifact) -> Rule {
    mock!(aws_sdk_ssm::Client::send_command)
        .match_requests(move |request| {
            request.document_name() == Some("EksNodeDiag-Collect")
                && request.document_version() == Some("3")
                && request.instance_ids() == [ID]
                && request.parameters() == Some(&artifact.parameters())
        })
        .then_output(|| SendCommandOutput::builder().command(Command::builder().command_id(COMMAND_ID).build()).build())
}

fn invocation(status: CommandInvocationStatus, stdout: &str, stderr: &str, code: i32) -> GetCommandInvocationOutput {
    GetCommandInvocationOutput::builder()
        .command_id(COMMAND_ID)
        .instance_id(ID)
        .status(status.clone())
        .status_details(status.as_str())
        .standard_output_content(stdout)
        .standard_error_content(stderr)
        .response_code(code)
        .build()
}

fn not_yet() -> GetCommandInvocationError {
    GetCommandInvocationError::InvocationDoesNotExist(InvocationDoesNotExist::builder().build())
}

fn throttled() -> GetCommandInvocationError {
    GetCommandInvocationError::generic(ErrorMetadata::builder().code("ThrottlingException").message("Rate exceeded").build())
}

fn cancelled_command() -> Rule {
    mock!(aws_sdk_ssm::Client::cancel_command)
        .match_requests(|request| request.command_id() == Some(COMMAND_ID) && request.instance_ids() == [ID])
        .then_output(|| CancelCommandOutput::builder().build())
}

async fn collect(exec: &SsmExec, artifact: Artifact) -> Result<ssm_exec::Collected, Error> {
    exec.collect(&node(ID), artifact, &CollectOptions::default(), &CancellationToken::new()).await
}

#[tokio::test(start_paused = true)]
async fn pending_then_in_progress_then_success() {
    let raw = b"*filter\n:INPUT ACCEPT [10:600]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT\n".to_vec();
    let stdout = encode(&raw);
    let online = online();
    let sent = sent(Artifact::IptablesSave);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .match_requests(|request| request.command_id() == Some(COMMAND_ID) && request.instance_id() == Some(ID))
        .sequence()
        .error(not_yet)
        .output(|| invocation(CommandInvocationStatus::Pending, "", "", -1))
        .output(|| invocation(CommandInvocationStatus::InProgress, "", "", -1))
        .output(move || invocation(CommandInvocationStatus::Success, &stdout, "iptables-save: warning\n", 0))
        .build();
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    let started = Instant::now();
    let collected = collect(&exec, Artifact::IptablesSave).await.unwrap();
    assert_eq!(collected.bytes, raw);
    assert_eq!(collected.truncated, Truncation::None);
    assert_eq!(collected.source, OutputSource::Inline);
    assert_eq!(collected.command_id, COMMAND_ID);
    assert_eq!(collected.instance_id.as_str(), ID);
    assert_eq!(collected.stderr_head, "iptables-save: warning\n");
    assert_eq!(polls.num_calls(), 4);
    // Backoff 0.5 s, 1 s, 2 s between the four polls.
    assert_eq!(started.elapsed(), Duration::from_millis(3500));
}

#[tokio::test(start_paused = true)]
async fn invocation_does_not_exist_at_first_is_tolerated() {
    let stdout = encode(b"nameserver 10.100.0.10\n");
    let online = online();
    let sent = sent(Artifact::ResolvConf);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .sequence()
        .error(not_yet)
        .times(3)
        .output(move || invocation(CommandInvocationStatus::Success, &stdout, "", 0))
        .build();
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    let collected = collect(&exec, Artifact::ResolvConf).await.unwrap();
    assert_eq!(collected.bytes, b"nameserver 10.100.0.10\n");
    assert_eq!(polls.num_calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn failure_reports_exit_code_and_stderr_head() {
    let online = online();
    let sent = sent(Artifact::ConntrackList);
    let long_stderr = format!("bash: line 31: conntrack: command not found\n{}", "x".repeat(5000));
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .sequence()
        .output(|| invocation(CommandInvocationStatus::InProgress, "", "", -1))
        .output(move || invocation(CommandInvocationStatus::Failed, "H4sIAAAAAAAAAwMAAAAAAAAAAAA=", &long_stderr, 127))
        .build();
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    match collect(&exec, Artifact::ConntrackList).await {
        Err(Error::CommandFailed {
            exit_code,
            status,
            stderr_head,
        }) => {
            assert_eq!(exit_code, 127);
            assert_eq!(status, "Failed");
            assert!(stderr_head.starts_with("bash: line 31: conntrack: command not found"));
            assert!(stderr_head.len() <= ssm_exec::STDERR_HEAD_BYTES + '…'.len_utf8());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_cancels_the_command() {
    let online = online();
    let sent = sent(Artifact::Sysctl);
    // Polls at 0, 0.5, 1.5, 3.5 and 7.5 s; the next would be at 12.5 s, past
    // the 10 s deadline, so the wait ends at 10 s and the command is cancelled.
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .sequence()
        .output(|| invocation(CommandInvocationStatus::InProgress, "", "", -1))
        .times(5)
        .build();
    let cancel = cancelled_command();
    let exec = Mocks::ssm(&[&online, &sent, &polls, &cancel]).build(config());
    let started = Instant::now();
    match collect(&exec, Artifact::Sysctl).await {
        Err(Error::Timeout { after }) => assert_eq!(after, Duration::from_secs(10)),
        other => panic!("{other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(polls.num_calls(), 5);
    assert_eq!(cancel.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn node_side_timeout_and_undeliverable() {
    let online = online();
    let sent = sent(Artifact::Dmesg);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(|| invocation(CommandInvocationStatus::TimedOut, "", "", -1));
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    assert!(matches!(collect(&exec, Artifact::Dmesg).await, Err(Error::Timeout { .. })));

    let online = self::online();
    let sent = self::sent(Artifact::Dmesg);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(|| {
        GetCommandInvocationOutput::builder()
            .status(CommandInvocationStatus::Failed)
            .status_details("Undeliverable")
            .response_code(-1)
            .build()
    });
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    match collect(&exec, Artifact::Dmesg).await {
        Err(Error::SsmOffline { ping_status, .. }) => assert_eq!(ping_status, "Undeliverable"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn cancellation_cancels_the_command() {
    let online = online();
    let sent = sent(Artifact::IptablesSave);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .sequence()
        .output(|| invocation(CommandInvocationStatus::InProgress, "", "", -1))
        .times(3)
        .build();
    let cancel_rule = cancelled_command();
    let exec = Mocks::ssm(&[&online, &sent, &polls, &cancel_rule]).build(config());
    let token = CancellationToken::new();
    let canceller = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2000)).await;
        canceller.cancel();
    });
    let result = exec.collect(&node(ID), Artifact::IptablesSave, &CollectOptions::default(), &token).await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(polls.num_calls(), 3);
    assert_eq!(cancel_rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn throttling_then_success() {
    let stdout = encode(b"net.netfilter.nf_conntrack_max = 262144\n");
    let online = online();
    let sent = sent(Artifact::Sysctl);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .sequence()
        .error(throttled)
        .times(3)
        .output(move || invocation(CommandInvocationStatus::Success, &stdout, "", 0))
        .build();
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    let collected = collect(&exec, Artifact::Sysctl).await.unwrap();
    assert_eq!(collected.bytes, b"net.netfilter.nf_conntrack_max = 262144\n");
}

#[tokio::test(start_paused = true)]
async fn throttling_exhausted() {
    let online = online();
    let sent = sent(Artifact::Sysctl);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation).sequence().error(throttled).times(4).build();
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    match collect(&exec, Artifact::Sysctl).await {
        Err(Error::Throttled { operation, attempts }) => {
            assert_eq!(operation, "GetCommandInvocation");
            assert_eq!(attempts, 4);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(polls.num_calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn send_command_throttled_after_sdk_retries() {
    let online = online();
    let sent = mock!(aws_sdk_ssm::Client::send_command)
        .then_error(|| SendCommandError::generic(ErrorMetadata::builder().code("ThrottlingException").message("Rate exceeded").build()));
    let exec = Mocks::ssm(&[&online, &sent]).build(config());
    assert!(matches!(
        collect(&exec, Artifact::Sysctl).await,
        Err(Error::Throttled {
            operation: "SendCommand",
            ..
        })
    ));
}

fn big_output() -> (Vec<u8>, String) {
    let raw = big_iptables(60_000);
    let encoded = encode(&raw);
    assert!(encoded.len() > 3 * INLINE_STDOUT_LIMIT, "the fixture must overflow the inline limit");
    // The document's point: compression buys about tenfold.
    assert!(raw.len() / encoded.len() >= 4, "ratio {}", raw.len() / encoded.len());
    (raw, encoded)
}

#[tokio::test(start_paused = true)]
async fn output_over_inline_limit_is_read_from_s3() {
    let (raw, encoded) = big_output();
    let inline = encoded[..INLINE_STDOUT_LIMIT].to_owned();
    let online = online();
    let sent = sent(Artifact::IptablesSave);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(move || invocation(CommandInvocationStatus::Success, &inline, "", 0));
    let key = format!("eks-node-diag/{COMMAND_ID}/{ID}/awsrunShellScript/collect/stdout");
    let expected_key = key.clone();
    let object = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(move |request| request.bucket() == Some("diag-output") && request.key() == Some(expected_key.as_str()))
        .then_output(move || GetObjectOutput::builder().body(ByteStream::from(encoded.clone().into_bytes())).build());
    let mut config = config();
    config.output = Some(S3Location::new("diag-output", "eks-node-diag/").unwrap());
    let exec = Mocks::ssm(&[&online, &sent, &polls]).s3(&[&object]).build(config);
    let collected = collect(&exec, Artifact::IptablesSave).await.unwrap();
    assert_eq!(collected.bytes.len(), raw.len());
    assert_eq!(collected.bytes, raw);
    assert_eq!(collected.truncated, Truncation::None);
    assert_eq!(
        collected.source,
        OutputSource::S3 {
            bucket: "diag-output".to_owned(),
            key
        }
    );
    assert_eq!(object.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn output_truncated_without_s3_is_reported() {
    let (raw, encoded) = big_output();
    let inline = encoded[..INLINE_STDOUT_LIMIT].to_owned();
    let online = online();
    let sent = sent(Artifact::IptablesSave);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(move || invocation(CommandInvocationStatus::Success, &inline, "", 0));
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    let collected = collect(&exec, Artifact::IptablesSave).await.unwrap();
    assert_eq!(
        collected.truncated,
        Truncation::InlineLimit {
            limit_chars: INLINE_STDOUT_LIMIT,
            received_chars: INLINE_STDOUT_LIMIT
        }
    );
    assert!(collected.truncated.is_truncated());
    assert!(collected.bytes.len() > INLINE_STDOUT_LIMIT, "the cut output still decodes to more than it took inline");
    assert!(raw.starts_with(&collected.bytes));
}

#[tokio::test(start_paused = true)]
async fn missing_s3_object_falls_back_to_the_cut_inline_output() {
    let (raw, encoded) = big_output();
    let inline = encoded[..INLINE_STDOUT_LIMIT].to_owned();
    let online = online();
    let sent = sent(Artifact::IptablesSave);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(move || invocation(CommandInvocationStatus::Success, &inline, "", 0));
    let object = mock!(aws_sdk_s3::Client::get_object).then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let mut config = config();
    config.output = Some(S3Location::new("diag-output", "").unwrap());
    let exec = Mocks::ssm(&[&online, &sent, &polls]).s3(&[&object]).build(config);
    let collected = collect(&exec, Artifact::IptablesSave).await.unwrap();
    assert!(matches!(collected.truncated, Truncation::InlineLimit { .. }));
    assert_eq!(collected.source, OutputSource::Inline);
    assert!(raw.starts_with(&collected.bytes));
}

#[tokio::test(start_paused = true)]
async fn size_cap_is_reported() {
    let raw = vec![b'a'; 1_000_000];
    let stdout = encode(&raw);
    let online = online();
    let sent = sent(Artifact::Dmesg);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(move || invocation(CommandInvocationStatus::Success, &stdout, "", 0));
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    let options = CollectOptions {
        max_output_bytes: Some(4096),
        ..CollectOptions::default()
    };
    let collected = exec.collect(&node(ID), Artifact::Dmesg, &options, &CancellationToken::new()).await.unwrap();
    assert_eq!(collected.truncated, Truncation::SizeCap { max_bytes: 4096 });
    assert_eq!(collected.bytes.len(), 4096);
}

#[tokio::test(start_paused = true)]
async fn journal_parameters_are_sent() {
    let artifact = Artifact::Journal {
        unit: JournalUnit::Containerd,
        since: SinceMinutes::new(15).unwrap(),
    };
    assert_eq!(
        artifact.parameters(),
        HashMap::from([
            ("artifact".to_owned(), vec!["journal".to_owned()]),
            ("unit".to_owned(), vec!["containerd".to_owned()]),
            ("sinceMinutes".to_owned(), vec!["15".to_owned()]),
        ])
    );
    let stdout = encode(b"__CURSOR=s=1\nMESSAGE=hello\n\n");
    let online = online();
    let sent = sent(artifact);
    let polls = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(move || invocation(CommandInvocationStatus::Success, &stdout, "", 0));
    let exec = Mocks::ssm(&[&online, &sent, &polls]).build(config());
    assert_eq!(collect(&exec, artifact).await.unwrap().bytes, b"__CURSOR=s=1\nMESSAGE=hello\n\n");
}

fn information(ping: Option<SsmPingStatus>) -> Rule {
    mock!(aws_sdk_ssm::Client::describe_instance_information).then_output(move || {
        let mut output = DescribeInstanceInformationOutput::builder();
        if let Some(ping) = ping.clone() {
            output = output.instance_information_list(InstanceInformation::builder().instance_id(ID).ping_status(ping).build());
        }
        output.build()
    })
}

#[tokio::test(start_paused = true)]
async fn offline_agent_is_reported_before_sending() {
    let lost = information(Some(SsmPingStatus::ConnectionLost));
    let exec = Mocks::ssm(&[&lost]).build(config());
    match collect(&exec, Artifact::Dmesg).await {
        Err(Error::SsmOffline { instance_id, ping_status }) => {
            assert_eq!(instance_id, ID);
            assert_eq!(ping_status, "ConnectionLost");
        }
        other => panic!("{other:?}"),
    }
    let status = {
        let lost = information(Some(SsmPingStatus::ConnectionLost));
        Mocks::ssm(&[&lost]).build(config()).check_reachability(&node(ID)).await.unwrap()
    };
    assert_eq!(status.ping_status, PingStatus::ConnectionLost);
}

#[tokio::test(start_paused = true)]
async fn unmanaged_instance_is_reported() {
    let none = information(None);
    let exec = Mocks::ssm(&[&none]).build(config());
    assert_eq!(exec.check_reachability(&node(ID)).await.unwrap().ping_status, PingStatus::NotManaged);
    let none = information(None);
    let exec = Mocks::ssm(&[&none]).build(config());
    match collect(&exec, Artifact::Dmesg).await {
        Err(Error::NotManaged { instance_id }) => assert_eq!(instance_id, ID),
        other => panic!("{other:?}"),
    }
    // SendCommand's own answer for an unmanaged instance maps the same way.
    let online = online();
    let sent = mock!(aws_sdk_ssm::Client::send_command)
        .then_error(|| SendCommandError::InvalidInstanceId(aws_sdk_ssm::types::error::InvalidInstanceId::builder().build()));
    let exec = Mocks::ssm(&[&online, &sent]).build(config());
    assert!(matches!(collect(&exec, Artifact::Dmesg).await, Err(Error::NotManaged { .. })));
}

#[tokio::test(start_paused = true)]
async fn access_denied_names_the_permission() {
    let online = online();
    let denied = mock!(aws_sdk_ssm::Client::send_command).then_error(|| {
        SendCommandError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User: arn:aws:sts::111122223333:assumed-role/diag/x is not authorized to perform: ssm:SendCommand")
                .build(),
        )
    });
    let exec = Mocks::ssm(&[&online, &denied]).build(config());
    match collect(&exec, Artifact::Dmesg).await {
        Err(error @ Error::AccessDenied { .. }) => {
            assert_eq!(error.to_string(), "access denied: the caller lacks ssm:SendCommand");
        }
        other => panic!("{other:?}"),
    }
    let denied = mock!(aws_sdk_ssm::Client::describe_instance_information).then_error(|| {
        aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationError::generic(
            ErrorMetadata::builder().code("AccessDeniedException").build(),
        )
    });
    let exec = Mocks::ssm(&[&denied]).build(config());
    assert!(matches!(
        exec.check_reachability(&node(ID)).await,
        Err(Error::AccessDenied {
            permission: "ssm:DescribeInstanceInformation",
            ..
        })
    ));
}

fn bundle_config() -> Config {
    let mut config = config();
    config.bundle = Some(BundleConfig {
        bucket: "diag-bundles".to_owned(),
        automation_assume_role_arn: "arn:aws:iam::111122223333:role/EksNodeDiagAutomation".to_owned(),
    });
    config
}

fn automation(status: AutomationExecutionStatus, outputs: Option<HashMap<String, Vec<String>>>, failure: Option<&str>) -> GetAutomationExecutionOutput {
    let mut execution = AutomationExecution::builder().automation_execution_id("exec-1").automation_execution_status(status);
    if let Some(outputs) = outputs {
        execution = execution.set_outputs(Some(outputs));
    }
    if let Some(failure) = failure {
        execution = execution.failure_message(failure);
    }
    GetAutomationExecutionOutput::builder().automation_execution(execution.build()).build()
}

fn started_automation() -> Rule {
    mock!(aws_sdk_ssm::Client::start_automation_execution)
        .match_requests(|request| {
            let parameters = request.parameters().cloned().unwrap_or_default();
            request.document_name() == Some("AWSSupport-CollectEKSInstanceLogs")
                && parameters.get("EKSInstanceId") == Some(&vec![ID.to_owned()])
                && parameters.get("LogDestination") == Some(&vec!["diag-bundles".to_owned()])
                && parameters.get("AutomationAssumeRole") == Some(&vec!["arn:aws:iam::111122223333:role/EksNodeDiagAutomation".to_owned()])
        })
        .then_output(|| StartAutomationExecutionOutput::builder().automation_execution_id("exec-1").build())
}

#[tokio::test(start_paused = true)]
async fn bundle_automation_success_streams_the_archive() {
    let key = format!("eks_{ID}_2025-11-26_0700-UTC_0.7.8.tar.gz");
    let start = started_automation();
    let output_key = key.clone();
    let polls = mock!(aws_sdk_ssm::Client::get_automation_execution)
        .sequence()
        .output(|| automation(AutomationExecutionStatus::Pending, None, None))
        .output(|| automation(AutomationExecutionStatus::Inprogress, None, None))
        .output(move || {
            let outputs = HashMap::from([(
                "uploadLogs.Output".to_owned(),
                vec![format!("Logs uploaded to s3://diag-bundles/{output_key}")],
            )]);
            automation(AutomationExecutionStatus::Success, Some(outputs), None)
        })
        .build();
    let expected_key = key.clone();
    let object = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(move |request| request.bucket() == Some("diag-bundles") && request.key() == Some(expected_key.as_str()))
        .then_output(|| GetObjectOutput::builder().content_length(9).body(ByteStream::from_static(b"\x1f\x8btarball")).build());
    let exec = Mocks::ssm(&[&start, &polls]).s3(&[&object]).build(bundle_config());
    let bundle = exec.collect_bundle(&node(ID), &CancellationToken::new()).await.unwrap();
    assert_eq!(bundle.execution_id, "exec-1");
    assert_eq!(bundle.key, key);
    assert_eq!(bundle.size, Some(9));
    assert_eq!(bundle.bytes(1024).await.unwrap(), b"\x1f\x8btarball");
}

#[tokio::test(start_paused = true)]
async fn bundle_found_by_listing_when_outputs_do_not_name_it() {
    let start = started_automation();
    let polls = mock!(aws_sdk_ssm::Client::get_automation_execution).then_output(|| automation(AutomationExecutionStatus::Success, None, None));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let listing = mock!(aws_sdk_s3::Client::list_objects_v2)
        .match_requests(|request| request.bucket() == Some("diag-bundles") && request.prefix() == Some(&format!("eks_{ID}")[..]))
        .then_output(move || {
            let object = |key: &str, secs: i64| aws_sdk_s3::types::Object::builder().key(key).last_modified(DateTime::from_secs(secs)).build();
            ListObjectsV2Output::builder()
                .contents(object(&format!("eks_{ID}_old.tar.gz"), now - 86_400))
                .contents(object(&format!("eks_{ID}_new.tar.gz"), now + 5))
                .contents(object(&format!("eks_{ID}_new.txt"), now + 9))
                .is_truncated(false)
                .build()
        });
    let wanted = format!("eks_{ID}_new.tar.gz");
    let object = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(move |request| request.key() == Some(wanted.as_str()))
        .then_output(|| GetObjectOutput::builder().body(ByteStream::from_static(b"archive")).build());
    let exec = Mocks::ssm(&[&start, &polls]).s3(&[&listing, &object]).build(bundle_config());
    let bundle = exec.collect_bundle(&node(ID), &CancellationToken::new()).await.unwrap();
    assert_eq!(bundle.key, format!("eks_{ID}_new.tar.gz"));
}

#[tokio::test(start_paused = true)]
async fn bundle_automation_failure() {
    let start = started_automation();
    let polls = mock!(aws_sdk_ssm::Client::get_automation_execution)
        .sequence()
        .output(|| automation(AutomationExecutionStatus::Inprogress, None, None))
        .output(|| automation(AutomationExecutionStatus::Failed, None, Some("Step fails when it is verifying the EKS instance")))
        .build();
    let exec = Mocks::ssm(&[&start, &polls]).build(bundle_config());
    match exec.collect_bundle(&node(ID), &CancellationToken::new()).await {
        Err(Error::AutomationFailed { execution_id, status, reason }) => {
            assert_eq!(execution_id, "exec-1");
            assert_eq!(status, "Failed");
            assert!(reason.contains("verifying the EKS instance"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn bundle_automation_timeout_stops_it() {
    let start = started_automation();
    // 60 s automation timeout: polls at 0, .5, 1.5, 3.5, 7.5, then every 5 s up to 57.5 (15 polls).
    let polls = mock!(aws_sdk_ssm::Client::get_automation_execution)
        .sequence()
        .output(|| automation(AutomationExecutionStatus::Inprogress, None, None))
        .times(15)
        .build();
    let stop = mock!(aws_sdk_ssm::Client::stop_automation_execution)
        .match_requests(|request| request.automation_execution_id() == Some("exec-1"))
        .then_output(|| StopAutomationExecutionOutput::builder().build());
    let exec = Mocks::ssm(&[&start, &polls, &stop]).build(bundle_config());
    let result = exec.collect_bundle(&node(ID), &CancellationToken::new()).await;
    assert!(matches!(result, Err(Error::Timeout { after }) if after == Duration::from_secs(60)), "{result:?}");
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn bundle_needs_configuration() {
    let exec = Mocks::ssm(&[]).build(config());
    assert!(matches!(
        exec.collect_bundle(&node(ID), &CancellationToken::new()).await,
        Err(Error::NotConfigured { .. })
    ));
}

const OTHER: &str = "i-0fedcba9876543210";

#[tokio::test(start_paused = true)]
async fn fleet_uses_one_tag_targeted_command() {
    let ok = encode(b"cpu=0 found=1 invalid=2\n");
    let sent = mock!(aws_sdk_ssm::Client::send_command)
        .match_requests(|request| {
            let target = &request.targets()[0];
            request.instance_ids().is_empty()
                && target.key() == Some("tag:eks:cluster-name")
                && target.values() == ["prod"]
                && request.max_concurrency() == Some("10")
                && request.max_errors() == Some("0")
                && request.document_version() == Some("3")
        })
        .then_output(|| SendCommandOutput::builder().command(Command::builder().command_id(COMMAND_ID).build()).build());
    let status = mock!(aws_sdk_ssm::Client::list_commands)
        .sequence()
        .output(|| ListCommandsOutput::builder().commands(Command::builder().command_id(COMMAND_ID).status(CommandStatus::InProgress).build()).build())
        .output(|| {
            ListCommandsOutput::builder()
                .commands(
                    Command::builder()
                        .command_id(COMMAND_ID)
                        .status(CommandStatus::Failed)
                        .target_count(2)
                        .error_count(1)
                        .build(),
                )
                .build()
        })
        .build();
    let listed = mock!(aws_sdk_ssm::Client::list_command_invocations).then_output(|| {
        ListCommandInvocationsOutput::builder()
            .command_invocations(CommandInvocation::builder().instance_id(OTHER).build())
            .command_invocations(CommandInvocation::builder().instance_id(ID).build())
            .build()
    });
    let first = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .match_requests(|request| request.instance_id() == Some(ID))
        .then_output(move || invocation(CommandInvocationStatus::Success, &ok, "", 0));
    let second = mock!(aws_sdk_ssm::Client::get_command_invocation)
        .match_requests(|request| request.instance_id() == Some(OTHER))
        .then_output(|| invocation(CommandInvocationStatus::Failed, "", "conntrack: command not found", 127));
    let exec = Mocks::ssm(&[&sent, &status, &listed, &first, &second]).any_order().build(config());
    let options = FleetOptions {
        max_concurrency: FleetLimit::Count(10),
        max_errors: FleetLimit::Count(0),
        ..FleetOptions::default()
    };
    let fleet = exec.collect_fleet("prod", Artifact::ConntrackStats, &options, &CancellationToken::new()).await.unwrap();
    assert_eq!(fleet.command_id, COMMAND_ID);
    assert_eq!(fleet.status, "Failed");
    assert_eq!((fleet.target_count, fleet.error_count), (2, 1));
    assert_eq!(fleet.items.len(), 2);
    assert_eq!(fleet.items[0].instance_id.as_str(), ID);
    assert_eq!(fleet.items[0].result.as_ref().unwrap().bytes, b"cpu=0 found=1 invalid=2\n");
    assert_eq!(fleet.items[1].instance_id.as_str(), OTHER);
    assert!(matches!(fleet.items[1].result, Err(Error::CommandFailed { exit_code: 127, .. })));
    assert_eq!(sent.num_calls(), 1, "one SendCommand for the whole fleet");
}

#[tokio::test(start_paused = true)]
async fn fleet_validates_limits_and_cluster() {
    let exec = Mocks::ssm(&[]).build(config());
    let token = CancellationToken::new();
    let zero = FleetOptions {
        max_concurrency: FleetLimit::Count(0),
        ..FleetOptions::default()
    };
    assert!(matches!(exec.collect_fleet("prod", Artifact::Dmesg, &zero, &token).await, Err(Error::InvalidInput { .. })));
    let over = FleetOptions {
        max_errors: FleetLimit::Percent(101),
        ..FleetOptions::default()
    };
    assert!(matches!(exec.collect_fleet("prod", Artifact::Dmesg, &over, &token).await, Err(Error::InvalidInput { .. })));
    assert!(matches!(
        exec.collect_fleet("prod;reboot", Artifact::Dmesg, &FleetOptions::default(), &token).await,
        Err(Error::InvalidInput { what: "cluster name", .. })
    ));
}

fn ec2_instance(id: &str, state: InstanceStateName, tags: &[(&str, &str)], launched: i64) -> Instance {
    let mut instance = Instance::builder()
        .instance_id(id)
        .private_dns_name("ip-10-0-1-23.us-west-2.compute.internal")
        .private_ip_address("10.0.1.23")
        .instance_type(InstanceType::M5Large)
        .placement(Placement::builder().availability_zone("us-west-2b").build())
        .state(InstanceState::builder().name(state).build())
        .launch_time(DateTime::from_secs(launched));
    for (key, value) in tags {
        instance = instance.tags(Tag::builder().key(*key).value(*value).build());
    }
    instance.build()
}

fn described(instances: Vec<Instance>) -> Rule {
    mock!(aws_sdk_ec2::Client::describe_instances).then_output(move || {
        DescribeInstancesOutput::builder()
            .reservations(Reservation::builder().set_instances(Some(instances.clone())).build())
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn resolution_prefers_the_running_instance() {
    let by_name = NodeRef::parse("ip-10-0-1-23.us-west-2.compute.internal").unwrap();
    // A terminated predecessor keeps the DNS name for a while.
    let rule = described(vec![
        ec2_instance(OTHER, InstanceStateName::Terminated, &[("eks:cluster-name", "prod")], 100),
        ec2_instance(ID, InstanceStateName::Running, &[("kubernetes.io/cluster/prod", "owned")], 200),
    ]);
    let exec = Mocks::ssm(&[]).ec2(&[&rule]).build(config());
    let node = exec.resolve_node(&by_name).await.unwrap();
    assert_eq!(node.instance_id.as_str(), ID);
    assert_eq!(node.cluster, "prod");
    assert_eq!(node.instance_type.as_deref(), Some("m5.large"));
    assert_eq!(node.availability_zone.as_deref(), Some("us-west-2b"));
    assert_eq!(node.region, REGION);

    let rule = described(vec![
        ec2_instance(OTHER, InstanceStateName::Running, &[("eks:cluster-name", "prod")], 100),
        ec2_instance(ID, InstanceStateName::Running, &[("eks:cluster-name", "prod")], 200),
    ]);
    let exec = Mocks::ssm(&[]).ec2(&[&rule]).build(config());
    assert!(matches!(exec.resolve_node(&by_name).await, Err(Error::AmbiguousNode { instances, .. }) if instances.len() == 2));

    let rule = described(vec![ec2_instance(ID, InstanceStateName::Stopped, &[("eks:cluster-name", "prod")], 100)]);
    let exec = Mocks::ssm(&[]).ec2(&[&rule]).build(config());
    assert!(matches!(exec.resolve_node(&by_name).await, Err(Error::NotRunning { state, .. }) if state == "stopped"));

    let rule = described(vec![ec2_instance(ID, InstanceStateName::Running, &[("Name", "bastion")], 100)]);
    let exec = Mocks::ssm(&[]).ec2(&[&rule]).build(config());
    assert!(matches!(exec.resolve_node(&by_name).await, Err(Error::NotEksNode { .. })));

    let rule = described(Vec::new());
    let exec = Mocks::ssm(&[]).ec2(&[&rule]).build(config());
    assert!(matches!(exec.resolve_node(&by_name).await, Err(Error::NotFound { .. })));
}

#[tokio::test(start_paused = true)]
async fn cluster_nodes_with_ssm_status() {
    let by_tag = mock!(aws_sdk_ec2::Client::describe_instances)
        .match_requests(|request| request.filters()[0].name() == Some("tag:eks:cluster-name"))
        .then_output(|| {
            DescribeInstancesOutput::builder()
                .reservations(
                    Reservation::builder()
                        .instances(ec2_instance(ID, InstanceStateName::Running, &[("eks:cluster-name", "prod")], 1))
                        .build(),
                )
                .build()
        });
    let by_legacy_tag = mock!(aws_sdk_ec2::Client::describe_instances)
        .match_requests(|request| request.filters()[0].name() == Some("tag-key") && request.filters()[0].values() == ["kubernetes.io/cluster/prod"])
        .then_output(|| {
            DescribeInstancesOutput::builder()
                .reservations(
                    Reservation::builder()
                        .instances(ec2_instance(ID, InstanceStateName::Running, &[("eks:cluster-name", "prod")], 1))
                        .instances(ec2_instance(OTHER, InstanceStateName::Running, &[("kubernetes.io/cluster/prod", "owned")], 1))
                        .build(),
                )
                .build()
        });
    let online = online_any();
    let exec = Mocks::ssm(&[&online]).ec2(&[&by_tag, &by_legacy_tag]).build(config());
    let nodes = exec.list_cluster_nodes("prod").await.unwrap();
    let summary: Vec<(&str, &PingStatus)> = nodes.iter().map(|n| (n.node.instance_id.as_str(), &n.ssm.ping_status)).collect();
    assert_eq!(summary, vec![(ID, &PingStatus::Online), (OTHER, &PingStatus::NotManaged)]);
    assert_eq!(nodes[0].ssm.agent_version.as_deref(), Some("3.3.1142.0"));
}

fn online_any() -> Rule {
    mock!(aws_sdk_ssm::Client::describe_instance_information)
        .match_requests(|request| request.filters()[0].values().len() == 2)
        .then_output(|| {
            DescribeInstanceInformationOutput::builder()
                .instance_information_list(
                    InstanceInformation::builder()
                        .instance_id(ID)
                        .ping_status(SsmPingStatus::Online)
                        .agent_version("3.3.1142.0")
                        .build(),
                )
                .build()
        })
}

#[test]
fn region_allow_list() {
    let clients = Clients {
        ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, Vec::<&Rule>::new()),
        ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, Vec::<&Rule>::new()),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, Vec::<&Rule>::new()),
    };
    match SsmExec::from_clients(clients, "eu-west-1", config()) {
        Err(Error::RegionNotAllowed { region, allowed }) => {
            assert_eq!(region, "eu-west-1");
            assert_eq!(allowed, vec![REGION.to_owned()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn artifact_names_round_trip() {
    for artifact in Artifact::ALL {
        assert_eq!(Artifact::from_name(artifact.name()).unwrap(), artifact);
    }
    assert!(Artifact::from_name("iptables-save; reboot").is_err());
    assert!(Artifact::from_name("tcpdump").is_err());
    assert_eq!(JournalUnit::from_name("kubelet.service").unwrap(), JournalUnit::Kubelet);
    assert!(JournalUnit::from_name("sshd").is_err());
    assert!(SinceMinutes::new(0).is_err());
    assert!(SinceMinutes::new(10_081).is_err());
    assert_eq!(SinceMinutes::new(10_080).unwrap().get(), 10_080);
}
