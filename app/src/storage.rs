//! Stored files (logos now, documents later) behind the `object_store` crate: a
//! local folder by default, any S3-compatible bucket in production. Keys always
//! begin with the owning tenant's id, so one tenant's key never names another's.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::{path::Path as Key, ObjectStore, PutPayload};

use crate::tenancy::TenantId;

/// A handle on the configured store. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({})", self.store)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("storage: {0}")]
    Store(#[from] object_store::Error),
}

impl Storage {
    /// Files in a local folder, created when missing.
    pub fn local(folder: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(folder)
            .map_err(|e| StorageError::Config(format!("{}: {e}", folder.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(folder)?;
        Ok(Self {
            store: Arc::new(fs),
        })
    }

    /// An S3-compatible bucket, `s3://bucket`; credentials, region and endpoint
    /// come from the standard `AWS_*` environment variables.
    pub fn s3(url: &str) -> Result<Self, StorageError> {
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_url(url)
            .build()?;
        Ok(Self {
            store: Arc::new(s3),
        })
    }

    /// `s3://…` opens a bucket; anything else is a local folder.
    pub fn open(location: &str) -> Result<Self, StorageError> {
        if location.starts_with("s3://") {
            Self::s3(location)
        } else {
            Self::local(Path::new(location))
        }
    }

    /// The key of one of a tenant's branding files.
    pub fn branding_key(tenant: TenantId, file: &str) -> String {
        format!("tenants/{tenant}/branding/{file}")
    }

    /// The key of a document filed on a patient's record. The database checks
    /// the same shape, so a row can only point under its own tenant's prefix.
    pub fn document_key(tenant: TenantId, id: uuid::Uuid) -> String {
        format!("tenants/{tenant}/documents/{id}")
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store
            .put(&Key::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// The file's bytes, or `None` when there is no such file.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        match self.store.get(&Key::from(key)).await {
            Ok(found) => Ok(Some(found.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a file; a file already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
