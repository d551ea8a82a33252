//! Creating or updating the project's SSM document and finding the version to pin.
//!
//! The document text is compiled into the crate ([`DOCUMENT_YAML`]), so the
//! binary uploads exactly the reviewed file of its own release.
//!
//! ```text
//! DescribeDocument(name)
//!   not found            -> CreateDocument                       -> Created(1)
//!   hash == sha256(yaml) ->                                         Unchanged(default version)
//!   otherwise            -> UpdateDocument($LATEST) + UpdateDocumentDefaultVersion -> Updated(n)
//!     DuplicateDocumentContent -> ListDocumentVersions, DescribeDocument(v) until the hash matches -> Unchanged(v)
//! ```

use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::aws_error::{self, Call};
use crate::config::{invalid, DocumentRef};
use crate::error::{Error, Result};
use crate::SsmExec;

/// The document, as kept in `ssm-documents/eks-node-diagnostics.yaml`.
pub const DOCUMENT_YAML: &str = include_str!("../../../ssm-documents/eks-node-diagnostics.yaml");

const DESCRIBE_DOCUMENT: Call = Call {
    operation: "DescribeDocument",
    permission: "ssm:DescribeDocument",
};
const CREATE_DOCUMENT: Call = Call {
    operation: "CreateDocument",
    permission: "ssm:CreateDocument",
};
const UPDATE_DOCUMENT: Call = Call {
    operation: "UpdateDocument",
    permission: "ssm:UpdateDocument",
};
const UPDATE_DOCUMENT_DEFAULT_VERSION: Call = Call {
    operation: "UpdateDocumentDefaultVersion",
    permission: "ssm:UpdateDocumentDefaultVersion",
};
const LIST_DOCUMENT_VERSIONS: Call = Call {
    operation: "ListDocumentVersions",
    permission: "ssm:ListDocumentVersions",
};

/// What [`SsmExec::ensure_document`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentChange {
    /// The document did not exist and was created.
    Created,
    /// A new version was added and made the default.
    Updated,
    /// A version with this exact content already existed.
    Unchanged,
}

/// The document version to pin in [`Config::document`](crate::Config::document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnsuredDocument {
    /// Name and pinned version.
    pub document: DocumentRef,
    /// What was done.
    pub change: DocumentChange,
    /// SHA-256 of the content, hex (SSM's document hash).
    pub sha256: String,
}

impl SsmExec {
    /// Makes sure the account has [`DOCUMENT_YAML`] as a version of document
    /// `name`, creating or updating it, and returns that version to pin.
    /// Calling it again with the same content changes nothing.
    pub async fn ensure_document(&self, name: &str) -> Result<EnsuredDocument> {
        // Validates the name the same way the configuration does.
        DocumentRef::new(name, "1")?;
        let sha256 = hex::encode(Sha256::digest(DOCUMENT_YAML.as_bytes()));
        let ensured = |version: &str, change| -> Result<EnsuredDocument> {
            Ok(EnsuredDocument {
                document: DocumentRef::new(name, version)?,
                change,
                sha256: sha256.clone(),
            })
        };
        let existing = match self.ssm.describe_document().name(name).send().await {
            Ok(found) => found.document,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_invalid_document()) || aws_error::code(&error) == Some("InvalidDocument") => None,
            Err(error) => return Err(self.classify(DESCRIBE_DOCUMENT, error)),
        };
        let Some(existing) = existing else {
            let created = self
                .ssm
                .create_document()
                .name(name)
                .content(DOCUMENT_YAML)
                .document_type(DocumentType::Command)
                .document_format(DocumentFormat::Yaml)
                .send()
                .await
                .map_err(|error| self.classify(CREATE_DOCUMENT, error))?;
            let version = created.document_description().and_then(|description| description.document_version()).unwrap_or("1");
            tracing::info!(name, version, "created SSM document");
            return ensured(version, DocumentChange::Created);
        };
        if existing.hash() == Some(sha256.as_str()) {
            let version = existing.document_version().ok_or_else(|| invalid("document", "DescribeDocument returned no version"))?;
            return ensured(version, DocumentChange::Unchanged);
        }
        let updated = self
            .ssm
            .update_document()
            .name(name)
            .content(DOCUMENT_YAML)
            .document_format(DocumentFormat::Yaml)
            .document_version("$LATEST")
            .send()
            .await;
        match updated {
            Ok(updated) => {
                let version = updated
                    .document_description()
                    .and_then(|description| description.document_version())
                    .ok_or_else(|| invalid("document", "UpdateDocument returned no version"))?
                    .to_owned();
                self.ssm
                    .update_document_default_version()
                    .name(name)
                    .document_version(&version)
                    .send()
                    .await
                    .map_err(|error| self.classify(UPDATE_DOCUMENT_DEFAULT_VERSION, error))?;
                tracing::info!(name, version, "updated SSM document");
                ensured(&version, DocumentChange::Updated)
            }
            // The content is an older, non-default version: find it.
            Err(error)
                if error.as_service_error().is_some_and(|e| e.is_duplicate_document_content())
                    || aws_error::code(&error) == Some("DuplicateDocumentContent") =>
            {
                let version = self.find_version_with_hash(name, &sha256).await?;
                ensured(&version, DocumentChange::Unchanged)
            }
            Err(error) => Err(self.classify(UPDATE_DOCUMENT, error)),
        }
    }

    async fn find_version_with_hash(&self, name: &str, sha256: &str) -> Result<String> {
        let mut next_token = None;
        loop {
            let page = self
                .ssm
                .list_document_versions()
                .name(name)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| self.classify(LIST_DOCUMENT_VERSIONS, error))?;
            for version in page.document_versions().iter().filter_map(|info| info.document_version()) {
                let described = self
                    .ssm
                    .describe_document()
                    .name(name)
                    .document_version(version)
                    .send()
                    .await
                    .map_err(|error| self.classify(DESCRIBE_DOCUMENT, error))?;
                if described.document().and_then(|document| document.hash()) == Some(sha256) {
                    return Ok(version.to_owned());
                }
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        Err(Error::Sdk {
            operation: UPDATE_DOCUMENT.operation,
            code: Some("DuplicateDocumentContent".to_owned()),
            message: "SSM says this content exists but no version has its hash".to_owned(),
            source: "no version with the document's hash".into(),
        })
    }
}
