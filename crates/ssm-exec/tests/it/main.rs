//! Integration tests of `ssm-exec`: the SSM document's security contract,
//! every SSM state sequence against aws-smithy-mocks, and the wire format
//! against moto's server.

mod document;
mod mocks;
mod moto;
mod support;
