//! Mapping AWS SDK errors onto [`Error`] variants.
//!
//! Every call site names its operation and the IAM action it needs, so an
//! access-denied answer becomes `AccessDenied { permission }` naming exactly
//! what to grant, whatever wording AWS used in its message.

use std::error::Error as StdError;
use std::fmt;

use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::error::Error;

/// Error codes AWS services use for "not allowed".
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
];

/// Error codes AWS services use for "slow down".
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
];

/// Which call failed: the API operation and the IAM action it needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    pub(crate) operation: &'static str,
    pub(crate) permission: &'static str,
}

/// The AWS error code of an SDK error, if the service sent one.
pub(crate) fn code<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

pub(crate) fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|code| THROTTLING_CODES.contains(&code))
}

/// Maps an SDK error that the call site did not handle itself.
/// `attempts` is how many tries the SDK made (its retry configuration).
pub(crate) fn classify<E, R>(call: Call, attempts: u32, error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let code = code(&error).map(str::to_owned);
    let message = match &error {
        SdkError::ServiceError(service) => service.err().message().unwrap_or("no message").to_owned(),
        other => DisplayErrorContext(other).to_string(),
    };
    match code.as_deref() {
        Some(code) if ACCESS_DENIED_CODES.contains(&code) => Error::AccessDenied {
            permission: call.permission,
            message,
        },
        code if is_throttling(code) => Error::Throttled {
            operation: call.operation,
            attempts,
        },
        _ => Error::Sdk {
            operation: call.operation,
            message: match &code {
                Some(code) => format!("{code}: {message}"),
                None => message,
            },
            code,
            source: Box::new(error),
        },
    }
}
