//! Files: what is too large for an answer (exports) is written to S3 in parts and handed out
//! by a time-limited link. moto serves S3 locally, on the same port as DynamoDB.
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::time::Duration;

/// S3's smallest part but the last (5 MiB): a part is cut once its buffer is past this.
pub const PART_MIN: usize = 5 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The multipart upload is over: completed (by a step that was cut short before its
    /// checkpoint) or aborted.
    #[error("the upload is no longer open")]
    UploadGone,
    #[error("file storage: {0}")]
    Unavailable(String),
}

pub type FileResult<T> = Result<T, FileError>;

fn failed<E: ProvideErrorMetadata, R>(what: &str) -> impl FnOnce(aws_sdk_s3::error::SdkError<E, R>) -> FileError {
    move |e| match e.code() {
        Some("NoSuchUpload") => FileError::UploadGone,
        code => FileError::Unavailable(format!("{what}: {}", code.unwrap_or("transport error"))),
    }
}

#[derive(Clone)]
pub struct Files {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl Files {
    /// Path-style addresses when the endpoint is overridden (moto on 127.0.0.1 has no
    /// per-bucket host names); AWS's virtual-hosted style otherwise.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: String) -> Self {
        let local = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(local).build();
        Self { client: aws_sdk_s3::Client::from_conf(config), bucket }
    }

    /// Create the bucket unless it exists (the local stack; in AWS the template creates it).
    pub async fn ensure_bucket(&self) -> Result<(), String> {
        if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("creating the bucket {}: {}", self.bucket, aws_sdk_s3::error::DisplayErrorContext(e)))
    }

    /// Open a multipart upload of a CSV file; its id.
    pub async fn start_upload(&self, key: &str) -> FileResult<String> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type("text/csv; charset=utf-8")
            .send()
            .await
            .map_err(failed("starting an upload"))?;
        out.upload_id.ok_or_else(|| FileError::Unavailable("no upload id in the answer".into()))
    }

    /// Upload part `number` (from 1); its ETag. Uploading a number again replaces the part.
    pub async fn upload_part(&self, key: &str, upload: &str, number: i32, bytes: Vec<u8>) -> FileResult<String> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(failed("uploading a part"))?;
        out.e_tag.ok_or_else(|| FileError::Unavailable("no ETag for the part".into()))
    }

    /// Join the parts (ETags in order, part 1 first) into the file.
    pub async fn complete_upload(&self, key: &str, upload: &str, parts: &[String]) -> FileResult<()> {
        let parts = parts
            .iter()
            .zip(1..)
            .map(|(etag, n)| CompletedPart::builder().part_number(n).e_tag(etag).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map(|_| ())
            .map_err(failed("completing an upload"))
    }

    /// The file's size, or `None` when there is no such file.
    pub async fn size(&self, key: &str) -> FileResult<Option<i64>> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.content_length.unwrap_or_default())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(failed("reading a file's size")(e)),
        }
    }

    /// Delete every file whose key starts with `prefix` (an account's exports, by its purge);
    /// how many there were. Safe to repeat.
    pub async fn delete_all(&self, prefix: &str) -> FileResult<usize> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let mut deleted = 0;
        loop {
            // At most 1,000 keys a listing, the most one DeleteObjects takes.
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .send()
                .await
                .map_err(failed("listing files"))?;
            let keys: Vec<ObjectIdentifier> = out
                .contents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| o.key)
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            if keys.is_empty() {
                return Ok(deleted);
            }
            deleted += keys.len();
            let delete = Delete::builder().set_objects(Some(keys)).quiet(true).build();
            let delete = delete.map_err(|e| FileError::Unavailable(e.to_string()))?;
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(failed("deleting files"))?;
        }
    }

    /// A link that downloads the file as `name` for `valid` (signed, so it needs no login).
    pub async fn download_link(&self, key: &str, name: &str, valid: Duration) -> FileResult<String> {
        let config = PresigningConfig::expires_in(valid).map_err(|e| FileError::Unavailable(e.to_string()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{name}\""))
            .response_content_type("text/csv; charset=utf-8")
            .presigned(config)
            .await
            .map_err(failed("signing a link"))?;
        Ok(request.uri().to_owned())
    }
}
