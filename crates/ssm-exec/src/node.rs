//! Finding a node: references, validation, EC2 lookup and SSM reachability.
//!
//! A node is named by an EC2 instance id, a Kubernetes node name (the EC2
//! `private-dns-name`, e.g. `ip-10-0-1-23.us-west-2.compute.internal`) or a
//! private IP. Each form is validated before it reaches AWS, and reaches AWS
//! only as an API filter value, never inside a command.
//!
//! ```text
//! node-ref    = instance-id | node-name | ip
//! instance-id = "i-" 8*17(hex-lower)              ; whole string, no newline
//! node-name   = label *("." label)                 ; at most 253 bytes
//! label       = (lower | digit) [*61(lower | digit | "-") (lower | digit)]
//! ip          = IPv4 | IPv6                        ; std::net::IpAddr
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use aws_sdk_ec2::types::{Filter, Instance};
use aws_sdk_ssm::types::{InstanceInformation, InstanceInformationStringFilter};
use serde::Serialize;
use time::OffsetDateTime;

use crate::aws_error::{self, Call};
use crate::config::invalid;
use crate::error::{Error, Result};
use crate::SsmExec;

/// The tag managed node groups and most provisioners put on EKS nodes.
pub const CLUSTER_NAME_TAG: &str = "eks:cluster-name";
/// The older `kubernetes.io/cluster/<name>` tag key prefix (value `owned` or `shared`).
pub const KUBERNETES_CLUSTER_TAG_PREFIX: &str = "kubernetes.io/cluster/";

const DESCRIBE_INSTANCES: Call = Call {
    operation: "DescribeInstances",
    permission: "ec2:DescribeInstances",
};
const DESCRIBE_INSTANCE_INFORMATION: Call = Call {
    operation: "DescribeInstanceInformation",
    permission: "ssm:DescribeInstanceInformation",
};

/// A validated EC2 instance id (`i-` and 8 to 17 lowercase hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct InstanceId(String);

impl InstanceId {
    /// Validates the whole string: a trailing newline or space is rejected.
    pub fn new(id: &str) -> Result<InstanceId> {
        let ok = id
            .strip_prefix("i-")
            .is_some_and(|hex| (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        if ok {
            Ok(InstanceId(id.to_owned()))
        } else {
            Err(invalid("instance id", format!("`{}` does not match i-[0-9a-f]{{8,17}}", id.escape_debug())))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a caller names a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum NodeRef {
    /// An EC2 instance id.
    InstanceId(InstanceId),
    /// A Kubernetes node name, matched on EC2 `private-dns-name`.
    NodeName(String),
    /// A private IPv4 or IPv6 address.
    PrivateIp(IpAddr),
}

impl NodeRef {
    /// Classifies and validates a node reference.
    ///
    /// `i-…` without a dot must be a valid instance id; anything that parses
    /// as an IP address is an IP; anything else must be a DNS name.
    pub fn parse(input: &str) -> Result<NodeRef> {
        if input.starts_with("i-") && !input.contains('.') {
            return InstanceId::new(input).map(NodeRef::InstanceId);
        }
        if let Ok(ip) = IpAddr::from_str(input) {
            return Ok(NodeRef::PrivateIp(ip));
        }
        validate_node_name(input)?;
        Ok(NodeRef::NodeName(input.to_owned()))
    }
}

impl FromStr for NodeRef {
    type Err = Error;

    fn from_str(input: &str) -> Result<NodeRef> {
        NodeRef::parse(input)
    }
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::InstanceId(id) => write!(f, "instance {id}"),
            NodeRef::NodeName(name) => write!(f, "node {name}"),
            NodeRef::PrivateIp(ip) => write!(f, "private IP {ip}"),
        }
    }
}

/// An EKS worker node as EC2 describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The instance id.
    pub instance_id: InstanceId,
    /// The EC2 private DNS name, usually the Kubernetes node name.
    pub node_name: Option<String>,
    /// The primary private IP.
    pub private_ip: Option<IpAddr>,
    /// The region the client resolved it in.
    pub region: String,
    /// The availability zone.
    pub availability_zone: Option<String>,
    /// The instance type (`m5.large`).
    pub instance_type: Option<String>,
    /// The EKS cluster, from `eks:cluster-name` or `kubernetes.io/cluster/<name>`.
    pub cluster: String,
    /// The EC2 state name (`running`, `pending`, …).
    pub state: String,
    /// When the instance was launched.
    #[serde(with = "time::serde::rfc3339::option")]
    pub launch_time: Option<OffsetDateTime>,
}

/// SSM's view of a node's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SsmStatus {
    /// Ping status; only [`PingStatus::Online`] nodes accept commands.
    pub ping_status: PingStatus,
    /// The agent version.
    pub agent_version: Option<String>,
    /// When the agent last called in.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_ping_at: Option<OffsetDateTime>,
    /// OS name as the agent reports it (`Amazon Linux`).
    pub platform_name: Option<String>,
    /// OS version (`2023`).
    pub platform_version: Option<String>,
}

impl SsmStatus {
    fn not_managed() -> SsmStatus {
        SsmStatus {
            ping_status: PingStatus::NotManaged,
            agent_version: None,
            last_ping_at: None,
            platform_name: None,
            platform_version: None,
        }
    }
}

/// The SSM agent's ping status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PingStatus {
    /// The agent is connected.
    Online,
    /// The agent has not called in for a while.
    ConnectionLost,
    /// The instance is stopped or terminated.
    Inactive,
    /// The instance is not registered with SSM.
    NotManaged,
    /// A status this crate does not know.
    Other(String),
}

/// A node and its SSM status, as [`SsmExec::list_cluster_nodes`] returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeWithStatus {
    /// The node.
    pub node: Node,
    /// Its SSM status.
    pub ssm: SsmStatus,
}

impl SsmExec {
    /// Finds the running EKS node a reference names (EC2 `DescribeInstances`).
    pub async fn resolve_node(&self, node_ref: &NodeRef) -> Result<Node> {
        let request = self.ec2.describe_instances();
        let request = match node_ref {
            NodeRef::InstanceId(id) => request.instance_ids(id.as_str()),
            NodeRef::NodeName(name) => request.filters(filter("private-dns-name", name)),
            NodeRef::PrivateIp(IpAddr::V4(ip)) => request.filters(filter("private-ip-address", &ip.to_string())),
            NodeRef::PrivateIp(IpAddr::V6(ip)) => request.filters(filter("network-interface.ipv6-addresses.ipv6-address", &ip.to_string())),
        };
        let mut instances = Vec::new();
        let mut next_token = None;
        loop {
            let page = match request.clone().set_next_token(next_token.take()).send().await {
                Ok(page) => page,
                Err(error) => {
                    return Err(match aws_error::code(&error) {
                        Some("InvalidInstanceID.NotFound") => Error::NotFound {
                            node: node_ref.to_string(),
                        },
                        Some("InvalidInstanceID.Malformed") => invalid("instance id", "EC2 says it is malformed"),
                        _ => self.classify(DESCRIBE_INSTANCES, error),
                    });
                }
            };
            instances.extend(page.reservations().iter().flat_map(|reservation| reservation.instances().iter().cloned()));
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        let instance = pick_instance(node_ref, &instances)?;
        self.to_node(instance)
    }

    /// SSM's view of a node's agent (`DescribeInstanceInformation`). A node
    /// SSM does not know is `PingStatus::NotManaged`, not an error.
    pub async fn check_reachability(&self, node: &Node) -> Result<SsmStatus> {
        let mut statuses = self.ssm_statuses(std::slice::from_ref(&node.instance_id)).await?;
        Ok(statuses.remove(&node.instance_id).unwrap_or_else(SsmStatus::not_managed))
    }

    /// Like [`check_reachability`](Self::check_reachability) but an error
    /// unless the agent is online: the check made before sending a command.
    pub async fn require_online(&self, node: &Node) -> Result<SsmStatus> {
        let status = self.check_reachability(node).await?;
        match &status.ping_status {
            PingStatus::Online => Ok(status),
            PingStatus::NotManaged => Err(Error::NotManaged {
                instance_id: node.instance_id.to_string(),
            }),
            PingStatus::ConnectionLost => Err(offline(node, "ConnectionLost")),
            PingStatus::Inactive => Err(offline(node, "Inactive")),
            PingStatus::Other(other) => Err(offline(node, other)),
        }
    }

    /// The pending and running nodes of a cluster (by either cluster tag),
    /// sorted by instance id, each with its SSM status.
    pub async fn list_cluster_nodes(&self, cluster: &str) -> Result<Vec<NodeWithStatus>> {
        validate_cluster_name(cluster)?;
        let tag_key = format!("{KUBERNETES_CLUSTER_TAG_PREFIX}{cluster}");
        let queries = [filter(&format!("tag:{CLUSTER_NAME_TAG}"), cluster), filter("tag-key", &tag_key)];
        let mut by_id: BTreeMap<String, Instance> = BTreeMap::new();
        for query in queries {
            let mut next_token = None;
            loop {
                let page = self
                    .ec2
                    .describe_instances()
                    .filters(query.clone())
                    .filters(Filter::builder().name("instance-state-name").values("pending").values("running").build())
                    .set_next_token(next_token.take())
                    .send()
                    .await
                    .map_err(|error| self.classify(DESCRIBE_INSTANCES, error))?;
                for instance in page.reservations().iter().flat_map(|reservation| reservation.instances()) {
                    if let Some(id) = instance.instance_id() {
                        by_id.insert(id.to_owned(), instance.clone());
                    }
                }
                match page.next_token() {
                    Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                    _ => break,
                }
            }
        }
        let mut nodes = Vec::with_capacity(by_id.len());
        for instance in by_id.values() {
            match self.to_node(instance) {
                Ok(node) => nodes.push(node),
                // An instance found through a filter that still lacks a usable
                // cluster tag or id is not a node of this cluster.
                Err(Error::NotEksNode { .. } | Error::InvalidInput { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        let ids: Vec<InstanceId> = nodes.iter().map(|node| node.instance_id.clone()).collect();
        let mut statuses = self.ssm_statuses(&ids).await?;
        Ok(nodes
            .into_iter()
            .map(|node| {
                let ssm = statuses.remove(&node.instance_id).unwrap_or_else(SsmStatus::not_managed);
                NodeWithStatus { node, ssm }
            })
            .collect())
    }

    async fn ssm_statuses(&self, ids: &[InstanceId]) -> Result<BTreeMap<InstanceId, SsmStatus>> {
        let mut statuses = BTreeMap::new();
        // The InstanceIds filter takes at most 50 values.
        for chunk in ids.chunks(50) {
            let mut builder = InstanceInformationStringFilter::builder().key("InstanceIds");
            for id in chunk {
                builder = builder.values(id.as_str());
            }
            let string_filter = builder.build().map_err(|error| build_error(DESCRIBE_INSTANCE_INFORMATION, error))?;
            let mut next_token = None;
            loop {
                let page = self
                    .ssm
                    .describe_instance_information()
                    .filters(string_filter.clone())
                    .set_next_token(next_token.take())
                    .send()
                    .await
                    .map_err(|error| self.classify(DESCRIBE_INSTANCE_INFORMATION, error))?;
                for information in page.instance_information_list() {
                    if let Some(id) = information.instance_id().and_then(|id| InstanceId::new(id).ok()) {
                        statuses.insert(id, ssm_status(information));
                    }
                }
                match page.next_token() {
                    Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                    _ => break,
                }
            }
        }
        Ok(statuses)
    }

    fn to_node(&self, instance: &Instance) -> Result<Node> {
        let instance_id = InstanceId::new(instance.instance_id().unwrap_or_default())?;
        let cluster = cluster_of(instance).ok_or_else(|| Error::NotEksNode {
            instance_id: instance_id.to_string(),
        })?;
        let state = instance
            .state()
            .and_then(|state| state.name())
            .map_or_else(|| "unknown".to_owned(), |name| name.as_str().to_owned());
        Ok(Node {
            node_name: instance.private_dns_name().filter(|name| !name.is_empty()).map(str::to_owned),
            private_ip: instance.private_ip_address().and_then(|ip| ip.parse().ok()),
            region: self.region.clone(),
            availability_zone: instance.placement().and_then(|placement| placement.availability_zone()).map(str::to_owned),
            instance_type: instance.instance_type().map(|kind| kind.as_str().to_owned()),
            cluster,
            state,
            launch_time: instance.launch_time().and_then(to_offset_date_time),
            instance_id,
        })
    }
}

/// Chooses the instance a reference means among EC2's matches: the one
/// running instance, else a clear error. Terminated instances keep their
/// DNS name and IP for a while, so several matches are normal.
fn pick_instance<'a>(node_ref: &NodeRef, instances: &'a [Instance]) -> Result<&'a Instance> {
    let running: Vec<&Instance> = instances.iter().filter(|instance| state_name(instance) == "running").collect();
    match running.as_slice() {
        [one] => Ok(one),
        [] => {
            // Report the most recently launched non-running match.
            let latest = instances.iter().max_by_key(|instance| instance.launch_time().map(|time| time.as_nanos()));
            match latest {
                Some(instance) => Err(Error::NotRunning {
                    instance_id: instance.instance_id().unwrap_or_default().to_owned(),
                    state: state_name(instance).to_owned(),
                }),
                None => Err(Error::NotFound {
                    node: node_ref.to_string(),
                }),
            }
        }
        several => Err(Error::AmbiguousNode {
            node: node_ref.to_string(),
            instances: several.iter().map(|instance| instance.instance_id().unwrap_or_default().to_owned()).collect(),
        }),
    }
}

fn state_name(instance: &Instance) -> &str {
    instance.state().and_then(|state| state.name()).map_or("unknown", |name| name.as_str())
}

/// The cluster an instance belongs to, from its tags.
fn cluster_of(instance: &Instance) -> Option<String> {
    let tags = instance.tags();
    let by_name_tag = tags
        .iter()
        .find(|tag| tag.key() == Some(CLUSTER_NAME_TAG))
        .and_then(|tag| tag.value())
        .filter(|value| validate_cluster_name(value).is_ok());
    if let Some(name) = by_name_tag {
        return Some(name.to_owned());
    }
    tags.iter()
        .filter_map(|tag| tag.key()?.strip_prefix(KUBERNETES_CLUSTER_TAG_PREFIX))
        .find(|name| validate_cluster_name(name).is_ok())
        .map(str::to_owned)
}

fn ssm_status(information: &InstanceInformation) -> SsmStatus {
    let ping_status = match information.ping_status().map(|status| status.as_str()) {
        Some("Online") => PingStatus::Online,
        Some("ConnectionLost") => PingStatus::ConnectionLost,
        Some("Inactive") => PingStatus::Inactive,
        Some(other) => PingStatus::Other(other.to_owned()),
        None => PingStatus::Other("unknown".to_owned()),
    };
    SsmStatus {
        ping_status,
        agent_version: information.agent_version().map(str::to_owned),
        last_ping_at: information.last_ping_date_time().and_then(to_offset_date_time),
        platform_name: information.platform_name().map(str::to_owned),
        platform_version: information.platform_version().map(str::to_owned),
    }
}

fn offline(node: &Node, ping_status: &str) -> Error {
    Error::SsmOffline {
        instance_id: node.instance_id.to_string(),
        ping_status: ping_status.to_owned(),
    }
}

pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

pub(crate) fn to_offset_date_time(time: &aws_smithy_types::DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(time.as_nanos()).ok()
}

pub(crate) fn build_error(call: Call, error: aws_smithy_types::error::operation::BuildError) -> Error {
    Error::Sdk {
        operation: call.operation,
        code: None,
        message: error.to_string(),
        source: Box::new(error),
    }
}

/// A Kubernetes node name: a lowercase DNS name of at most 253 bytes.
fn validate_node_name(name: &str) -> Result<()> {
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        (1..=63).contains(&bytes.len())
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
    };
    if (1..=253).contains(&name.len()) && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(invalid(
            "node name",
            format!("`{}` is not an instance id, an IP address or a lowercase DNS name", name.escape_debug()),
        ))
    }
}

/// An EKS cluster name: 1 to 100 of `[A-Za-z0-9_-]`, starting alphanumeric.
pub(crate) fn validate_cluster_name(name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let ok = (1..=100).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(invalid("cluster name", format!("`{}` is not an EKS cluster name", name.escape_debug())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Result<NodeRef, &str>) {
        match (NodeRef::parse(input), expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(error), Err(needle)) => {
                let message = error.to_string();
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
            (got, want) => panic!("{input:?}: got {got:?}, expected {want:?}"),
        }
    }

    fn id(value: &str) -> NodeRef {
        NodeRef::InstanceId(InstanceId(value.to_owned()))
    }

    #[test]
    fn node_refs() {
        check("i-0123456789abcdef0", Ok(id("i-0123456789abcdef0")));
        check("i-01234567", Ok(id("i-01234567")));
        check("i-0123456789abcdef01", Err("does not match"));
        check("i-0123456", Err("does not match"));
        check("i-0123456789abcdef012", Err("does not match"));
        check("i-0123456789ABCDEF0", Err("does not match"));
        check("i-0123456789abcdef0\n", Err("does not match"));
        check("i-0123456789abcdef0 ", Err("does not match"));
        check("i-0123456789abcdeg0", Err("does not match"));
        check("i-", Err("does not match"));
        check("10.0.1.23", Ok(NodeRef::PrivateIp("10.0.1.23".parse().unwrap())));
        check("fd00:ec2::23", Ok(NodeRef::PrivateIp("fd00:ec2::23".parse().unwrap())));
        check(
            "ip-10-0-1-23.us-west-2.compute.internal",
            Ok(NodeRef::NodeName("ip-10-0-1-23.us-west-2.compute.internal".to_owned())),
        );
        // Resource-name hostnames start with the instance id but are names.
        check(
            "i-0123456789abcdef0.us-west-2.compute.internal",
            Ok(NodeRef::NodeName("i-0123456789abcdef0.us-west-2.compute.internal".to_owned())),
        );
        check("ip-10-0-1-23.ec2.internal\n", Err("not an instance id"));
        check("ip-10-0-1-23;reboot", Err("not an instance id"));
        check("IP-10-0-1-23.ec2.internal", Err("not an instance id"));
        check("", Err("not an instance id"));
        check("-ip.ec2.internal", Err("not an instance id"));
        check("a..b", Err("not an instance id"));
        check(&"a".repeat(64), Err("not an instance id"));
        check("10.0.1.256", Ok(NodeRef::NodeName("10.0.1.256".to_owned())));
    }

    #[test]
    fn cluster_names() {
        for good in ["prod", "my-cluster_2", &"c".repeat(100)] {
            assert!(validate_cluster_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "_x", "a b", "prod\n", "a/b", &"c".repeat(101)] {
            assert!(validate_cluster_name(bad).is_err(), "{bad:?}");
        }
    }
}
