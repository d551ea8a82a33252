//! Authorization: two tool classes, grants, and the [`GrantFilter`] wrapper.
//!
//! Every tool belongs to one of two classes, decided by its MCP annotations:
//!
//! ```text
//! class     = ReadOnly      ; annotations.readOnlyHint == true
//!           | NodeTouching  ; anything else (no annotations, no hint, false)
//! ```
//!
//! Unannotated tools are node-touching: a tool must say it is read-only to be
//! offered to a read-only caller (fail closed).
//!
//! [`GrantFilter`] wraps any [`ServerHandler`]: it reads the [`Caller`] that
//! the HTTP authentication layer put into the request's `http::request::Parts`
//! extensions (rmcp copies the parts into each request context), filters
//! `tools/list` to the tools the caller may call, refuses other `tools/call`s
//! with a tool-level error, bounds each call by the configured timeout, and
//! writes one audit line per call. Resources (snapshot data) are read-only by
//! nature: listing and reading them needs the read-only grant. A request without a caller (no HTTP layer in
//! front) is treated as a caller with no grants.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    CancelledNotificationParam, CompleteRequestParams, CompleteResult, ContentBlock,
    CustomNotification, CustomRequest, CustomResult, DiscoverResult, GetPromptRequestParams,
    GetPromptResponse, GetSkillRequestParams, GetSkillResult, GetTaskParams, GetTaskResult,
    InitializeRequestParams, InitializeResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListSkillsResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProtocolVersion, ReadResourceDirectoryRequestParams,
    ReadResourceDirectoryResult, ReadResourceRequestParams, ReadResourceResponse, ServerConfig,
    SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde::Serialize;
use tokio::sync::Notify;

use crate::audit::{AuditOutcome, AuditRecord, AuditSink};

/// The two classes of tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolClass {
    /// Reads data already collected (snapshots, findings); DevOps Agent `READ_ONLY`.
    ReadOnly,
    /// Starts work on a node (SSM command or automation); DevOps Agent `MUTATIVE`.
    NodeTouching,
}

impl ToolClass {
    /// Classifies a tool by its annotations: read-only only when it says so.
    pub fn of(tool: &Tool) -> Self {
        match tool.annotations.as_ref().and_then(|a| a.read_only_hint) {
            Some(true) => Self::ReadOnly,
            _ => Self::NodeTouching,
        }
    }
}

/// What a credential or token allows: one or both tool classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Grants {
    /// May list and call read-only tools.
    pub read_only: bool,
    /// May list and call node-touching tools.
    pub node_touching: bool,
}

impl Grants {
    /// No grant at all.
    pub const NONE: Self = Self {
        read_only: false,
        node_touching: false,
    };
    /// Read-only tools only.
    pub const READ_ONLY: Self = Self {
        read_only: true,
        node_touching: false,
    };
    /// Both classes.
    pub const ALL: Self = Self {
        read_only: true,
        node_touching: true,
    };

    /// Whether tools of `class` are allowed.
    pub fn allows(self, class: ToolClass) -> bool {
        match class {
            ToolClass::ReadOnly => self.read_only,
            ToolClass::NodeTouching => self.node_touching,
        }
    }

    /// Whether nothing is granted.
    pub fn is_empty(self) -> bool {
        !self.read_only && !self.node_touching
    }

    /// Union of two grants.
    pub fn union(self, other: Self) -> Self {
        Self {
            read_only: self.read_only || other.read_only,
            node_touching: self.node_touching || other.node_touching,
        }
    }

    /// Parses a comma-separated list of `read` / `collect` (`all` for both).
    pub fn parse_list(s: &str) -> Result<Self, String> {
        let mut g = Self::NONE;
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "read" | "read_only" | "ro" => g.read_only = true,
                "collect" | "node_touching" => g.node_touching = true,
                "all" => g = Self::ALL,
                other => {
                    return Err(format!(
                        "unknown grant `{other}` (expected read, collect or all)"
                    ));
                }
            }
        }
        if g.is_empty() {
            return Err("no grant given (expected read, collect or all)".to_owned());
        }
        Ok(g)
    }
}

/// How a caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    /// A named static key sent as `Authorization: Bearer`.
    Bearer,
    /// A named static key sent in the API key header.
    ApiKey,
    /// An OAuth 2.0 JWT access token.
    Jwt,
    /// No authentication (`insecure_no_auth`).
    Anonymous,
}

/// The authenticated caller, put into the HTTP request extensions by the
/// authentication layer and read back by [`GrantFilter`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// Key name, token subject (or `client_id`), or `anonymous@<peer ip>`.
    pub name: String,
    /// How the caller authenticated.
    pub kind: CallerKind,
    /// What the caller may call.
    pub grants: Grants,
}

/// Counts tool calls in flight so that shutdown can wait for them.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    /// Number of tool calls running now.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until no tool call is running.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }

    fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }
}

struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Settings shared by every [`GrantFilter`] instance of a server.
#[derive(Clone)]
pub struct FilterSettings {
    /// Upper bound of one tool call; the call is cancelled and answered with a
    /// tool-level error when it takes longer.
    pub call_timeout: Duration,
    /// Where audit lines go.
    pub audit: AuditSink,
    /// Tool calls in flight (shared with the server for graceful shutdown).
    pub in_flight: Arc<InFlight>,
}

impl std::fmt::Debug for FilterSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterSettings")
            .field("call_timeout", &self.call_timeout)
            .field("in_flight", &self.in_flight.count())
            .finish_non_exhaustive()
    }
}

impl Default for FilterSettings {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(120),
            audit: AuditSink::Tracing,
            in_flight: Arc::default(),
        }
    }
}

/// A [`ServerHandler`] that enforces the caller's [`Grants`] on tools.
#[derive(Debug, Clone)]
pub struct GrantFilter<S> {
    inner: S,
    settings: FilterSettings,
}

impl<S: ServerHandler> GrantFilter<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, settings: FilterSettings) -> Self {
        Self { inner, settings }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Finds the class of tool `name`: from `get_tool`, else by listing.
    async fn class_of(
        &self,
        name: &str,
        context: &RequestContext<RoleServer>,
    ) -> Option<ToolClass> {
        if let Some(tool) = self.inner.get_tool(name) {
            return Some(ToolClass::of(&tool));
        }
        let mut cursor = None;
        loop {
            let page = self
                .inner
                .list_tools(
                    cursor.map(|c| PaginatedRequestParams::default().with_cursor(Some(c))),
                    context.clone(),
                )
                .await
                .ok()?;
            if let Some(tool) = page.tools.iter().find(|t| t.name == name) {
                return Some(ToolClass::of(tool));
            }
            cursor = Some(page.next_cursor?);
        }
    }
}

fn grants_of(context: &RequestContext<RoleServer>) -> Grants {
    caller_of(context).map_or(Grants::NONE, |c| c.grants)
}

/// The caller attached to a request by the HTTP layer, if any.
pub fn caller_of(context: &RequestContext<RoleServer>) -> Option<&Caller> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>())
}

fn denied(tool: &str, class: Option<ToolClass>, caller: Option<&Caller>) -> CallToolResult {
    let who = caller.map_or("this caller", |c| c.name.as_str());
    let text = match class {
        Some(ToolClass::NodeTouching) => format!(
            "tool `{tool}` starts work on a node and {who} is only granted read-only tools; \
             ask an operator for the `collect` grant (scope eks-node-diag/collect)"
        ),
        Some(ToolClass::ReadOnly) => format!(
            "tool `{tool}` is read-only and {who} is not granted read-only tools; \
             ask an operator for the `read` grant (scope eks-node-diag/read)"
        ),
        None => format!("tool `{tool}` is not available to {who}"),
    };
    CallToolResult::error(vec![ContentBlock::text(text)])
}

// Delegation includes rmcp's deprecated legacy methods (logging, resource
// subscriptions) so that the wrapper changes nothing but tools.
#[allow(deprecated)]
impl<S: ServerHandler> ServerHandler for GrantFilter<S> {
    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let grants = caller_of(&context).map_or(Grants::NONE, |c| c.grants);
        let mut page = self.inner.list_tools(request, context).await?;
        page.tools.retain(|t| grants.allows(ToolClass::of(t)));
        Ok(page)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let _guard = self.settings.in_flight.enter();
        let started = Instant::now();
        let caller = caller_of(&context).cloned();
        let grants = caller.as_ref().map_or(Grants::NONE, |c| c.grants);
        let tool = request.name.to_string();
        let arguments = request.arguments.clone();
        let class = self.class_of(&tool, &context).await;
        let record = |outcome: AuditOutcome, response_bytes: usize| {
            AuditRecord::new(
                caller.as_ref(),
                &tool,
                arguments.as_ref(),
                started.elapsed(),
                outcome,
                response_bytes,
            )
        };

        if !class.is_some_and(|c| grants.allows(c)) {
            let result = denied(&tool, class, caller.as_ref());
            self.settings
                .audit
                .write(&record(AuditOutcome::Denied, size_of_json(&result)));
            return Ok(CallToolResponse::Complete(result));
        }

        let ct = context.ct.clone();
        let timeout = self.settings.call_timeout;
        match tokio::time::timeout(timeout, self.inner.call_tool(request, context)).await {
            Ok(Ok(response)) => {
                let outcome = match &response {
                    CallToolResponse::Complete(r) if r.is_error == Some(true) => {
                        AuditOutcome::ToolError
                    }
                    _ => AuditOutcome::Ok,
                };
                self.settings
                    .audit
                    .write(&record(outcome, response_size(&response)));
                Ok(response)
            }
            Ok(Err(error)) => {
                self.settings
                    .audit
                    .write(&record(AuditOutcome::ProtocolError, size_of_json(&error)));
                Err(error)
            }
            Err(_elapsed) => {
                ct.cancel();
                let result = CallToolResult::error(vec![ContentBlock::text(format!(
                    "tool `{tool}` did not finish within {} s and was cancelled; \
                     narrow the request (a smaller time window or fewer nodes) or try again later",
                    timeout.as_secs_f64()
                ))]);
                self.settings
                    .audit
                    .write(&record(AuditOutcome::Timeout, size_of_json(&result)));
                Ok(CallToolResponse::Complete(result))
            }
        }
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.get_tool(name)
    }

    // Everything below delegates unchanged.

    async fn ping(&self, context: RequestContext<RoleServer>) -> Result<(), McpError> {
        self.inner.ping(context).await
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        self.inner.initialize(request, context).await
    }

    fn negotiate_initialize(
        &self,
        request: &InitializeRequestParams,
    ) -> Result<InitializeResult, McpError> {
        self.inner.negotiate_initialize(request)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }

    async fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, McpError> {
        self.inner.discover(context).await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.inner.complete(request, context).await
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.inner.set_level(request, context).await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        self.inner.get_prompt(request, context).await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.inner.list_prompts(request, context).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        if !grants_of(&context).read_only {
            return Ok(ListResourcesResult::default());
        }
        self.inner.list_resources(request, context).await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        if !grants_of(&context).read_only {
            return Ok(ListResourceTemplatesResult::default());
        }
        self.inner.list_resource_templates(request, context).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if !grants_of(&context).read_only {
            return Err(McpError::invalid_request(
                "reading resources needs the `read` grant (scope eks-node-diag/read)",
                None,
            ));
        }
        self.inner.read_resource(request, context).await
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.inner.accepted_subscription_filter(requested)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        self.inner.listen(context).await
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.inner.subscribe(request, context).await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.inner.unsubscribe(request, context).await
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        self.inner.on_custom_request(request, context).await
    }

    async fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        context: NotificationContext<RoleServer>,
    ) {
        self.inner.on_cancelled(notification, context).await
    }

    async fn on_progress(
        &self,
        notification: ProgressNotificationParam,
        context: NotificationContext<RoleServer>,
    ) {
        self.inner.on_progress(notification, context).await
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.inner.on_initialized(context).await
    }

    async fn on_roots_list_changed(&self, context: NotificationContext<RoleServer>) {
        self.inner.on_roots_list_changed(context).await
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        context: NotificationContext<RoleServer>,
    ) {
        self.inner
            .on_custom_notification(notification, context)
            .await
    }

    fn get_info(&self) -> ServerConfig {
        self.inner.get_info()
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        self.inner.get_task(request, context).await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.inner.update_task(request, context).await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.inner.cancel_task(request, context).await
    }

    async fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, McpError> {
        self.inner.list_skills(request, context).await
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, McpError> {
        self.inner.get_skill(request, context).await
    }

    async fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceDirectoryResult, McpError> {
        self.inner.read_resource_directory(request, context).await
    }
}

fn response_size(response: &CallToolResponse) -> usize {
    match response {
        CallToolResponse::Complete(r) => size_of_json(r),
        CallToolResponse::InputRequired(r) => size_of_json(r),
        CallToolResponse::Task(r) => size_of_json(r),
        _ => 0,
    }
}

fn size_of_json<T: Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Result<Grants, ()>) {
        assert_eq!(
            Grants::parse_list(input).map_err(|_| ()),
            expect,
            "input {input:?}"
        );
    }

    #[test]
    fn parse_grants() {
        check("read", Ok(Grants::READ_ONLY));
        check("read,collect", Ok(Grants::ALL));
        check(
            " collect ",
            Ok(Grants {
                read_only: false,
                node_touching: true,
            }),
        );
        check("all", Ok(Grants::ALL));
        check("", Err(()));
        check("write", Err(()));
    }

    #[test]
    fn unannotated_tools_are_node_touching() {
        let tool = Tool::new("x", "d", Arc::new(serde_json::Map::new()));
        assert_eq!(ToolClass::of(&tool), ToolClass::NodeTouching);
    }
}
