//! `openstack_images_image_v2`: a Glance image. Its metadata changes in
//! place with one JSON-Patch request holding only what changed; its data
//! and formats cannot change, so they replace it. The data is streamed
//! from `local_file_path` once: the same read feeds the upload and the
//! hashes that check what Glance stored.

use super::client::GLANCE_JSON_PATCH;
use super::marker;
use super::provider::Session;
use super::types::{
    SchemaBuilder, check_timeouts, client, create_failed, failed, get_if_exists, id_of, json_attr,
    poll, region_of, state_value, str_attr, timeout,
};
use super::{Client, Request, Service};
use crate::lang::value::{PathStep, Type, Value};
use crate::provider::{
    ApplyFailure, AttrMode, MarkedObject, Marker, PlannedState, ProviderError, ResourceType,
    Schema, plan_by_schema,
};
use crate::regular_file;
use async_trait::async_trait;
use md5::Md5;
use reqwest::Method;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha512};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The operations a `timeouts {}` block may time.
const TIMEOUTS: &[&str] = &["create"];

/// Terraform's default for `timeouts { create }`.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How much of the file is read (and in memory) at a time.
const UPLOAD_CHUNK: usize = 1 << 20;

/// Glance's `api_limit_max`: the most a list page holds.
pub(super) const LIST_LIMIT: usize = 1000;

/// Ids per bulk refresh list: keeps the `id=in:...` query well below URL
/// length limits of proxies in front of Glance.
const IDS_PER_LIST: usize = 40;

/// The keys of Glance's image document that are not properties.
const IMAGE_FIELDS: [&str; 25] = [
    "name",
    "disk_format",
    "container_format",
    "visibility",
    "size",
    "virtual_size",
    "status",
    "checksum",
    "protected",
    "min_ram",
    "min_disk",
    "owner",
    "os_hidden",
    "os_hash_algo",
    "os_hash_value",
    "id",
    "created_at",
    "updated_at",
    "tags",
    "self",
    "file",
    "schema",
    "locations",
    "direct_url",
    "stores",
];

/// Properties Glance sets itself (besides the `os_glance*` namespace):
/// they are not the user's, so they never show as drift.
const SERVER_PROPERTIES: [&str; 3] = ["location", "deleted", "deleted_at"];

/// Whether a key of Glance's image document is a property the user may
/// set (`os_distro`, `hw_disk_bus`, ...).
pub(super) fn is_user_property(key: &str) -> bool {
    !IMAGE_FIELDS.contains(&key)
        && !SERVER_PROPERTIES.contains(&key)
        && !key.starts_with("os_glance")
        && !marker::is_marker_key(key)
}

/// The user's properties of an image document, as strings.
pub(super) fn properties_of(doc: &Json) -> Map<String, Json> {
    doc.as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| is_user_property(k))
        .map(|(k, v)| {
            let text = match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), Json::String(text))
        })
        .collect()
}

/// What Glance shows of an image, under this type's attribute names
/// (shared with the data source).
pub(super) fn image_attributes(doc: &Json) -> Map<String, Json> {
    let field = |k: &str| doc.get(k).cloned().unwrap_or(Json::Null);
    let mut m = Map::new();
    m.insert("id".into(), field("id"));
    m.insert("name".into(), field("name"));
    m.insert("container_format".into(), field("container_format"));
    m.insert("disk_format".into(), field("disk_format"));
    m.insert("min_disk_gb".into(), field("min_disk"));
    m.insert("min_ram_mb".into(), field("min_ram"));
    m.insert("protected".into(), field("protected"));
    m.insert("hidden".into(), field("os_hidden"));
    m.insert("visibility".into(), field("visibility"));
    m.insert(
        "tags".into(),
        doc.get("tags").cloned().unwrap_or_else(|| json!([])),
    );
    m.insert("properties".into(), Json::Object(properties_of(doc)));
    m.insert("checksum".into(), field("checksum"));
    m.insert("os_hash_algo".into(), field("os_hash_algo"));
    m.insert("os_hash_value".into(), field("os_hash_value"));
    m.insert("size_bytes".into(), field("size"));
    m.insert("virtual_size".into(), field("virtual_size"));
    m.insert("status".into(), field("status"));
    m.insert("owner".into(), field("owner"));
    m.insert("file".into(), field("file"));
    m.insert("schema".into(), field("schema"));
    m.insert("created_at".into(), field("created_at"));
    m.insert("updated_at".into(), field("updated_at"));
    m
}

/// Every image `GET /v2/images?{query}` lists, page after page.
pub(super) async fn list_images(client: &Client, query: &str) -> Result<Vec<Json>, ProviderError> {
    let mut images = Vec::new();
    let mut path = format!("/images?{query}");
    loop {
        let page: Json = client
            .get_json(Service::Image, &path)
            .await
            .map_err(|e| failed("Cannot list images", e))?;
        images.extend(
            page.get("images")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .cloned(),
        );
        // `next` is rooted at the host (`/v2/images?...&marker=...`);
        // requests are relative to the versioned endpoint.
        match page.get("next").and_then(Json::as_str) {
            Some(next) => {
                path = next.strip_prefix("/v2").unwrap_or(next).to_string();
            }
            None => return Ok(images),
        }
    }
}

/// Percent-encodes a query value.
pub(super) fn query_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex digest of a finished upload. Only SHA-512, Glance's default
/// `os_hash_algo`: MD5 is computed (by reading the file again) only for a
/// cloud that reports no `os_hash_value`, so that the upload hashes once.
struct Sent {
    sha512: String,
}

/// How many chunks may wait for the hasher: bounds memory while letting
/// reading and sending run ahead of hashing for a moment.
const CHUNKS_AWAITING_HASH: usize = 8;

/// Hashes what an upload sends on a thread of its own, so that hashing
/// runs beside the sending (and the cloud's own hashing) rather than
/// between one chunk and the next.
struct UploadHasher {
    thread: std::thread::JoinHandle<Sent>,
}

impl UploadHasher {
    /// The digest of everything the body sent, once it has all gone.
    async fn finish(self) -> Result<Sent, ProviderError> {
        tokio::task::spawn_blocking(move || self.thread.join())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| {
                ProviderError::new("Cannot hash the image", "The hashing thread stopped.")
            })
    }
}

/// A body that streams `file` in chunks, handing each chunk to a hashing
/// thread as it goes out: the file is read once and never held in memory.
fn hashing_body(file: tokio::fs::File) -> (reqwest::Body, UploadHasher) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(CHUNKS_AWAITING_HASH);
    let thread = std::thread::spawn(move || {
        let mut sha512 = Sha512::new();
        while let Some(chunk) = rx.blocking_recv() {
            sha512.update(&chunk);
        }
        Sent {
            sha512: hex(&sha512.finalize()),
        }
    });
    let chunks = futures_util::stream::unfold(Some((file, tx)), |state| async move {
        let (mut file, tx) = state?;
        let mut chunk = vec![0u8; UPLOAD_CHUNK];
        match file.read(&mut chunk).await {
            // Dropping the sender here tells the hasher the data is all sent.
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                let chunk = bytes::Bytes::from(chunk);
                // A hasher that is gone makes `finish` fail; the upload goes on.
                let _ = tx.send(chunk.clone()).await;
                Some((Ok::<bytes::Bytes, std::io::Error>(chunk), Some((file, tx))))
            }
            // The error ends the body, and the stream after it.
            Err(e) => Some((Err(e), None)),
        }
    });
    (reqwest::Body::wrap_stream(chunks), UploadHasher { thread })
}

pub struct Image {
    schema: Schema,
    session: Arc<Session>,
}

impl Image {
    pub fn new(session: Arc<Session>) -> Image {
        let schema = SchemaBuilder::default()
            .with_id_and_region()
            .attr("name", Type::String, AttrMode::Required)
            .replacing("container_format", Type::String, AttrMode::Required)
            .replacing("disk_format", Type::String, AttrMode::Required)
            .replacing("local_file_path", Type::String, AttrMode::Optional)
            .replacing("image_id", Type::String, AttrMode::OptionalComputed)
            .attr("min_disk_gb", Type::Number, AttrMode::OptionalComputed)
            .attr("min_ram_mb", Type::Number, AttrMode::OptionalComputed)
            .attr("protected", Type::Bool, AttrMode::OptionalComputed)
            .attr("hidden", Type::Bool, AttrMode::OptionalComputed)
            .attr("visibility", Type::String, AttrMode::OptionalComputed)
            .attr("tags", Type::set(Type::String), AttrMode::OptionalComputed)
            .attr(
                "properties",
                Type::map(Type::String),
                AttrMode::OptionalComputed,
            )
            .attr("verify_checksum", Type::Bool, AttrMode::OptionalComputed)
            .attr("checksum", Type::String, AttrMode::Computed)
            .attr("os_hash_algo", Type::String, AttrMode::Computed)
            .attr("os_hash_value", Type::String, AttrMode::Computed)
            .attr("size_bytes", Type::Number, AttrMode::Computed)
            .attr("virtual_size", Type::Number, AttrMode::Computed)
            .attr("status", Type::String, AttrMode::Computed)
            .attr("owner", Type::String, AttrMode::Computed)
            .attr("file", Type::String, AttrMode::Computed)
            .attr("schema", Type::String, AttrMode::Computed)
            .attr("created_at", Type::String, AttrMode::Computed)
            .attr("updated_at", Type::String, AttrMode::Computed)
            .timeouts(TIMEOUTS)
            .build();
        Image { schema, session }
    }
}

/// What the state keeps from the configuration rather than from Glance.
struct Kept {
    region: Json,
    local_file_path: Json,
    verify_checksum: Json,
    timeouts: Json,
}

impl Kept {
    fn from_value(value: &Value, region: Json) -> Kept {
        let verify = json_attr(value, "verify_checksum");
        Kept {
            region,
            local_file_path: json_attr(value, "local_file_path"),
            verify_checksum: if verify.is_null() {
                json!(true)
            } else {
                verify
            },
            timeouts: json_attr(value, "timeouts"),
        }
    }
}

/// Glance's image document as this type's state.
fn state_of(doc: &Json, kept: &Kept) -> Json {
    let mut m = image_attributes(doc);
    m.insert(
        "image_id".into(),
        doc.get("id").cloned().unwrap_or(Json::Null),
    );
    m.insert("region".into(), kept.region.clone());
    m.insert("local_file_path".into(), kept.local_file_path.clone());
    m.insert("verify_checksum".into(), kept.verify_checksum.clone());
    m.insert("timeouts".into(), kept.timeouts.clone());
    Json::Object(m)
}

/// The defaults of the arguments that have one (Terraform's), applied to
/// the configuration before planning: an unset `visibility` means
/// private, whatever Glance's own default.
fn with_defaults(config: &Value) -> Value {
    let Some(entries) = config.as_entries() else {
        return config.clone();
    };
    let mut entries = entries.clone();
    let defaults = [
        ("visibility", Value::string("private")),
        ("min_disk_gb", Value::number(0i64)),
        ("min_ram_mb", Value::number(0i64)),
        ("protected", Value::Bool(false)),
        ("hidden", Value::Bool(false)),
        ("verify_checksum", Value::Bool(true)),
    ];
    for (name, default) in defaults {
        if let Some(slot) = entries.get_mut(name)
            && slot.is_null()
        {
            *slot = default;
        }
    }
    Value::object(entries)
}

fn with_attr(value: &Value, name: &str, v: Value) -> Value {
    match value.as_entries() {
        Some(entries) => {
            let mut entries: BTreeMap<String, Value> = entries.clone();
            entries.insert(name.into(), v);
            Value::object(entries)
        }
        None => value.clone(),
    }
}

/// Whether the file at `path` can no longer be the data the image was made
/// from: its size differs from what Glance stored.
///
/// Only the size is compared: it is one `stat`, free at every plan,
/// whereas hashing the file would read gigabytes of image on every plan
/// just to find it unchanged. Glance image data is immutable, so new
/// content always means a new image; content rewritten at the same path
/// with the same size (a raw disk rebuilt in place) goes unnoticed — a
/// new file name, or `-replace`, makes that explicit. A missing file is no
/// change: the image stays as uploaded.
fn local_file_resized(path: &str, prior: &Value) -> bool {
    let Some(stored) = prior
        .get_attr("size_bytes")
        .and_then(Value::as_number)
        .and_then(|n| n.to_string().parse::<u64>().ok())
    else {
        return false;
    };
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() != stored)
}

/// One JSON-Patch operation.
fn op(op: &str, name: &str, value: Option<Json>) -> Json {
    // JSON pointer escaping of the key (`~` then `/`).
    let path = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
    match value {
        Some(v) => json!({"op": op, "path": path, "value": v}),
        None => json!({"op": op, "path": path}),
    }
}

fn string_set(value: &Json) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    items.sort();
    items.dedup();
    items
}

fn string_map(value: &Json) -> Map<String, Json> {
    value.as_object().cloned().unwrap_or_default()
}

/// The JSON-Patch operations that take the image from `prior` to
/// `planned`: only what changed.
fn patch_ops(prior: &Value, planned: &Value) -> Vec<Json> {
    let mut ops = Vec::new();
    let fields = [
        ("name", "name"),
        ("min_disk_gb", "min_disk"),
        ("min_ram_mb", "min_ram"),
        ("protected", "protected"),
        ("hidden", "os_hidden"),
        ("visibility", "visibility"),
    ];
    for (attr, field) in fields {
        let after = json_attr(planned, attr);
        if after != json_attr(prior, attr) && !after.is_null() {
            ops.push(op("replace", field, Some(after)));
        }
    }
    let tags = json_attr(planned, "tags");
    if !tags.is_null() && string_set(&tags) != string_set(&json_attr(prior, "tags")) {
        ops.push(op("replace", "tags", Some(json!(string_set(&tags)))));
    }
    let after = json_attr(planned, "properties");
    if !after.is_null() {
        let (before, after) = (
            string_map(&json_attr(prior, "properties")),
            string_map(&after),
        );
        for key in before.keys().filter(|k| !after.contains_key(*k)) {
            ops.push(op("remove", key, None));
        }
        for (key, v) in &after {
            match before.get(key) {
                None => ops.push(op("add", key, Some(v.clone()))),
                Some(old) if old != v => ops.push(op("replace", key, Some(v.clone()))),
                Some(_) => {}
            }
        }
    }
    ops
}

/// What Glance offers to check the stored data by.
#[derive(Debug, PartialEq)]
enum StoredDigest<'a> {
    Sha512(&'a str),
    Md5(&'a str),
}

/// Glance's `os_hash_value` when it is SHA-512 (the default), else the
/// legacy MD5 `checksum`; an error when neither can be checked.
fn stored_digest(doc: &Json) -> Result<StoredDigest<'_>, String> {
    let id = doc.get("id").and_then(Json::as_str).unwrap_or_default();
    let algo = doc.get("os_hash_algo").and_then(Json::as_str);
    let value = doc.get("os_hash_value").and_then(Json::as_str);
    let checksum = doc.get("checksum").and_then(Json::as_str);
    match (algo, value, checksum) {
        (Some("sha512"), Some(v), _) => Ok(StoredDigest::Sha512(v)),
        (_, _, Some(c)) => Ok(StoredDigest::Md5(c)),
        (Some(algo), Some(_), None) => Err(format!(
            "Glance hashes image {id} with {algo}, which stackform does not compute, and gives no MD5 checksum; set verify_checksum = false to accept it unchecked."
        )),
        _ => Err(format!(
            "Glance gives neither os_hash_value nor checksum for image {id}; set verify_checksum = false to accept it unchecked."
        )),
    }
}

/// Whether the digest Glance computed is the one of the data sent.
fn compare(id: &str, what: &str, stored: &str, local: &str) -> Result<(), String> {
    if stored.eq_ignore_ascii_case(local) {
        Ok(())
    } else {
        Err(format!(
            "The {what} Glance computed for image {id} is {stored}, but the data sent has {local}: the upload was corrupted on the way. The image is kept, tainted, and will be replaced."
        ))
    }
}

/// The MD5 of a file, read in chunks on a blocking thread.
async fn md5_of_file(path: String) -> Result<String, ProviderError> {
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::Read;
        let mut file = regular_file::open(Path::new(&path)).map_err(std::io::Error::other)?;
        let mut md5 = Md5::new();
        let mut chunk = vec![0u8; UPLOAD_CHUNK];
        loop {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                return Ok(hex(&md5.finalize()));
            }
            md5.update(&chunk[..n]);
        }
    })
    .await
    .map_err(|e| ProviderError::new("Cannot hash the image file", e.to_string()))?
    .map_err(|e| ProviderError::new("Cannot hash the image file", e.to_string()))
}

/// Whether Glance has deleted the image (it may still show it while its
/// data waits to be scrubbed).
fn is_deleted(doc: &Json) -> bool {
    matches!(
        doc.get("status").and_then(Json::as_str),
        Some("deleted" | "pending_delete")
    )
}

impl Image {
    /// The image, or `None` once it is gone or on its way out (Glance's
    /// delayed delete shows `pending_delete` until it scrubs the data).
    async fn fetch(&self, client: &Client, id: &str) -> Result<Option<Json>, ProviderError> {
        Ok(get_if_exists(
            client,
            Service::Image,
            &format!("/images/{id}"),
            "Cannot read the image",
        )
        .await?
        .filter(|doc| !is_deleted(doc)))
    }

    fn value(&self, doc: &Json, kept: &Kept) -> Result<Value, ProviderError> {
        state_value(&self.schema, state_of(doc, kept))
    }

    /// The POST /v2/images body for `planned`, with the marker among
    /// the properties.
    fn create_body(planned: &Value, marker: &Marker) -> Json {
        let mut body = Map::new();
        for (attr, field) in [
            ("name", "name"),
            ("container_format", "container_format"),
            ("disk_format", "disk_format"),
            ("image_id", "id"),
            ("min_disk_gb", "min_disk"),
            ("min_ram_mb", "min_ram"),
            ("protected", "protected"),
            ("hidden", "os_hidden"),
            ("visibility", "visibility"),
        ] {
            let v = json_attr(planned, attr);
            if !v.is_null() {
                body.insert(field.into(), v);
            }
        }
        let tags = json_attr(planned, "tags");
        if !tags.is_null() {
            body.insert("tags".into(), json!(string_set(&tags)));
        }
        for (k, v) in string_map(&json_attr(planned, "properties")) {
            body.insert(k, v);
        }
        marker::add_entries(&mut body, marker);
        Json::Object(body)
    }

    /// Sends the file's data, then waits for the image to become active
    /// and checks what Glance stored. Any failure leaves the image as it
    /// is: the caller records it tainted.
    async fn upload_and_wait(
        &self,
        client: &Client,
        id: &str,
        file: tokio::fs::File,
        planned: &Value,
    ) -> Result<Json, ProviderError> {
        let limit = timeout(planned, "create", CREATE_TIMEOUT)?;
        let size = file
            .metadata()
            .await
            .map_err(|e| ProviderError::new("Cannot read local_file_path", e.to_string()))?
            .len();
        let (body, hasher) = hashing_body(file);
        // A known length spares both sides chunked transfer encoding.
        client
            .send(
                Request::new(Service::Image, Method::PUT, format!("/images/{id}/file"))
                    .stream(body, "application/octet-stream")
                    .header("Content-Length", size.to_string()),
            )
            .await
            .map_err(|e| {
                let refused = e.status() == Some(reqwest::StatusCode::UNSUPPORTED_MEDIA_TYPE);
                let mut error = failed("Cannot upload the image's data", e);
                if refused {
                    // Glance's 415 only names the media type; the reason
                    // is its inspection of the data.
                    error.detail.push_str(&format!(
                        " Glance inspects uploaded data and refused it: {} does not hold a {} image. Set disk_format to the file's real format (`qemu-img info` tells it), or convert the file.",
                        str_attr(planned, "local_file_path").unwrap_or_default(),
                        str_attr(planned, "disk_format").unwrap_or_default()
                    ));
                }
                error
            })?;
        let sent = hasher.finish().await?;
        let doc = poll(&format!("Image {id}"), limit, || async {
            let doc = self.fetch(client, id).await?.ok_or_else(|| {
                ProviderError::new(
                    "Image vanished",
                    format!("Image {id} was deleted while its data was being saved."),
                )
            })?;
            match doc.get("status").and_then(Json::as_str).unwrap_or_default() {
                "active" => Ok(Some(doc)),
                "queued" | "saving" | "importing" | "uploading" => Ok(None),
                status => {
                    let reason = doc
                        .get("os_glance_failed_import")
                        .and_then(Json::as_str)
                        .filter(|s| !s.is_empty())
                        .map(|s| format!(" Glance says: {s}"))
                        .unwrap_or_default();
                    Err(ProviderError::new(
                        "Image upload failed",
                        format!(
                            "Glance set image {id} to status {status} instead of active.{reason}"
                        ),
                    ))
                }
            }
        })
        .await?;
        if planned.get_attr("verify_checksum").and_then(Value::as_bool) != Some(false) {
            let mismatch = |detail| ProviderError::new("Checksum mismatch", detail);
            match stored_digest(&doc).map_err(mismatch)? {
                StoredDigest::Sha512(stored) => {
                    compare(id, "SHA-512 (os_hash_value)", stored, &sent.sha512)
                        .map_err(mismatch)?;
                }
                StoredDigest::Md5(stored) => {
                    let path = str_attr(planned, "local_file_path").unwrap_or_default();
                    let local = md5_of_file(path).await?;
                    compare(id, "MD5 (checksum)", stored, &local).map_err(mismatch)?;
                }
            }
        }
        Ok(doc)
    }
}

#[async_trait]
impl ResourceType for Image {
    fn type_name(&self) -> &'static str {
        "openstack_images_image_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> Result<PlannedState, ProviderError> {
        check_timeouts(config, TIMEOUTS)?;
        let config = with_defaults(config);
        let Some(prior) = prior else {
            return Ok(plan_by_schema(&self.schema, None, &config));
        };
        let path = config
            .get_attr("local_file_path")
            .and_then(Value::as_str)
            .map(str::to_string);
        // An imported image records no file: the configured one is adopted
        // rather than replacing an image whose data is already there.
        let basis = match (&path, prior.get_attr("local_file_path")) {
            (Some(p), Some(v)) if v.is_null() => {
                with_attr(prior, "local_file_path", Value::string(p.as_str()))
            }
            _ => prior.clone(),
        };
        let mut planned = plan_by_schema(&self.schema, Some(&basis), &config);
        if let Some(path) = path
            && local_file_resized(&path, prior)
        {
            let file_step = vec![PathStep::Attr("local_file_path".into())];
            let mut replace = planned.requires_replace;
            if !replace.contains(&file_step) {
                replace.push(file_step);
            }
            planned = PlannedState {
                planned: plan_by_schema(&self.schema, None, &config).planned,
                requires_replace: replace,
            };
        }
        Ok(planned)
    }

    async fn create(&self, planned: &Value, marker: &Marker) -> Result<Value, ApplyFailure> {
        let client = client(&self.session)
            .await
            .map_err(ApplyFailure::nothing_created)?;
        // The file is opened before the image is made, so that a wrong
        // path leaves nothing behind.
        let file = match str_attr(planned, "local_file_path") {
            None => None,
            Some(path) => Some(
                open_image_file(&path)
                    .await
                    .map_err(ApplyFailure::nothing_created)?,
            ),
        };
        let created: Json = client
            .post_json(
                Service::Image,
                "/images",
                &Self::create_body(planned, marker),
            )
            .await
            .map_err(|e| create_failed("Cannot create the image", e))?;
        let kept = Kept::from_value(planned, region_of(&client, planned));
        let id = created
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(file) = file else {
            return Ok(self.value(&created, &kept)?);
        };
        match self.upload_and_wait(&client, &id, file, planned).await {
            Ok(doc) => Ok(self.value(&doc, &kept)?),
            Err(error) => {
                // The image exists: record it as it is now (tainted), so
                // that the next plan replaces it instead of losing it.
                // When it cannot be read back, the answer to the create
                // stands for it; an image that is gone is no partial.
                let partial = match self.fetch(&client, &id).await {
                    Ok(Some(doc)) => self.value(&doc, &kept).ok(),
                    Ok(None) => None,
                    Err(_) => self.value(&created, &kept).ok(),
                };
                Err(ApplyFailure {
                    error,
                    partial,
                    may_exist: true,
                })
            }
        }
    }

    /// Properties other than the user's are left alone, the marker's
    /// among them.
    async fn update(
        &self,
        prior: &Value,
        planned: &Value,
        _marker: &Marker,
    ) -> Result<Value, ApplyFailure> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        let ops = patch_ops(prior, planned);
        let doc = if ops.is_empty() {
            self.fetch(&client, &id).await?
        } else {
            let response = client
                .patch(
                    Service::Image,
                    &format!("/images/{id}"),
                    &Json::Array(ops),
                    GLANCE_JSON_PATCH,
                )
                .await
                .map_err(|e| ApplyFailure::from(failed("Cannot update the image", e)))?;
            Some(response.json::<Json>().map_err(|e| {
                ProviderError::new(
                    "Unexpected answer from the cloud",
                    format!("Glance's answer to the update of image {id} is not JSON: {e}."),
                )
            })?)
        };
        let doc = doc.ok_or_else(|| {
            ProviderError::new(
                "Image vanished",
                format!("Image {id} disappeared while it was updated."),
            )
        })?;
        let kept = Kept::from_value(planned, json_attr(prior, "region"));
        Ok(self.value(&doc, &kept)?)
    }

    async fn delete(&self, prior: &Value) -> Result<(), ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        match client
            .delete(Service::Image, &format!("/images/{id}"))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e)
                if e.status() == Some(reqwest::StatusCode::FORBIDDEN)
                    && (prior.get_attr("protected").and_then(Value::as_bool) == Some(true)
                        || e.to_string().contains("protected")) =>
            {
                Err(ProviderError::new(
                    "Cannot delete a protected image",
                    format!(
                        "Image {id} is protected: set protected = false and apply before destroying it. {e}"
                    ),
                ))
            }
            Err(e) => Err(failed("Cannot delete the image", e)),
        }
    }

    async fn read(&self, current: &Value) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(current)?;
        let kept = Kept::from_value(current, json_attr(current, "region"));
        self.fetch(&client, &id)
            .await?
            .map(|doc| self.value(&doc, &kept))
            .transpose()
    }

    async fn import(&self, id: &str) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let kept = Kept::from_value(&Value::NULL, region_of(&client, &Value::NULL));
        self.fetch(&client, id)
            .await?
            .map(|doc| self.value(&doc, &kept))
            .transpose()
    }

    /// Glance filters lists by any property, so one list finds the
    /// marked images; hidden images are left out of lists unless asked
    /// for, hence a second one.
    fn delete_command(&self, id: &str) -> Option<String> {
        Some(format!("openstack image delete {id}"))
    }

    async fn find_marked(&self, lineage: &str) -> Result<Vec<MarkedObject>, ProviderError> {
        let client = client(&self.session).await?;
        let filter = format!(
            "limit={LIST_LIMIT}&{}={}",
            marker::LINEAGE_KEY,
            query_value(lineage)
        );
        let mut docs = list_images(&client, &filter).await?;
        docs.extend(list_images(&client, &format!("{filter}&os_hidden=true")).await?);
        let mut seen = std::collections::HashSet::new();
        Ok(docs
            .iter()
            .filter_map(|doc| {
                let found = marker::from_entries(doc.as_object()?)?;
                let id = doc.get("id")?.as_str()?.to_string();
                let status = doc.get("status").and_then(Json::as_str).unwrap_or_default();
                let gone = is_deleted(doc);
                (found.lineage == lineage && !gone && seen.insert(id.clone())).then(|| {
                    MarkedObject {
                        marker: found,
                        id,
                        name: doc.get("name").and_then(Json::as_str).map(str::to_string),
                        // Queued, saving or killed: its data never arrived
                        // whole.
                        complete: status == "active",
                    }
                })
            })
            .collect())
    }

    fn reads_in_bulk(&self) -> bool {
        true
    }

    /// A few list calls filtered by `id=in:...` instead of one GET per
    /// image. Lists leave out hidden images (and shared ones not
    /// accepted): those are read one by one, to tell deleted from unlisted.
    async fn read_all(&self, current: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let client = client(&self.session).await?;
        let ids: Vec<String> = current.iter().map(id_of).collect::<Result<_, _>>()?;
        let mut by_id: HashMap<String, Json> = HashMap::new();
        for group in ids.chunks(IDS_PER_LIST) {
            let query = format!(
                "limit={LIST_LIMIT}&id={}",
                query_value(&format!("in:{}", group.join(",")))
            );
            for doc in list_images(&client, &query).await? {
                if let Some(id) = doc.get("id").and_then(Json::as_str) {
                    by_id.insert(id.to_string(), doc.clone());
                }
            }
        }
        let mut read = Vec::with_capacity(current.len());
        for (c, id) in current.iter().zip(&ids) {
            let kept = Kept::from_value(c, json_attr(c, "region"));
            let doc = match by_id.remove(id) {
                Some(doc) => Some(doc).filter(|d| !is_deleted(d)),
                None => self.fetch(&client, id).await?,
            };
            read.push(doc.map(|d| self.value(&d, &kept)).transpose()?);
        }
        Ok(read)
    }
}

/// Opens `local_file_path` for the upload. Anything but a regular file
/// is refused before a byte is sent (a FIFO without opening it for good:
/// that would wait for a writer).
async fn open_image_file(path: &str) -> Result<tokio::fs::File, ProviderError> {
    let owned = path.to_string();
    let opened = tokio::task::spawn_blocking(move || regular_file::open(Path::new(&owned)))
        .await
        .map_err(|e| ProviderError::new("Cannot read local_file_path", format!("{path}: {e}.")))?;
    match opened {
        Ok(file) => Ok(tokio::fs::File::from_std(file)),
        Err(e) => Err(ProviderError::new(
            "Cannot read local_file_path",
            format!("{path}: {e}."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(json: Json) -> Value {
        Value::from_json_dynamic(&json)
    }

    #[test]
    fn deleted_and_pending_delete_images_are_gone() {
        for status in ["deleted", "pending_delete"] {
            assert!(is_deleted(&json!({"status": status})));
        }
        for status in ["active", "queued", "saving", "killed", "deactivated"] {
            assert!(!is_deleted(&json!({"status": status})), "{status}");
        }
    }

    #[test]
    fn only_user_properties_are_the_users() {
        let doc = json!({
            "name": "cirros", "status": "active", "os_hash_value": "ab", "stores": "file",
            "os_glance_importing_to_stores": "", "direct_url": "file:///x",
            "os_distro": "cirros", "hw_disk_bus": "virtio", "os_version": "0.6"
        });
        assert_eq!(
            Json::Object(properties_of(&doc)),
            json!({"os_distro": "cirros", "hw_disk_bus": "virtio", "os_version": "0.6"})
        );
    }

    #[test]
    fn a_patch_holds_only_what_changed() {
        let prior = state(json!({
            "name": "a", "min_ram_mb": 0, "visibility": "private", "tags": ["x", "y"],
            "properties": {"keep": "1", "change": "old", "drop": "3"}
        }));
        let planned = state(json!({
            "name": "a", "min_ram_mb": 512, "visibility": "private", "tags": ["y", "x"],
            "properties": {"keep": "1", "change": "new", "a/b": "4"}
        }));
        assert_eq!(
            patch_ops(&prior, &planned),
            vec![
                json!({"op": "replace", "path": "/min_ram", "value": 512}),
                json!({"op": "remove", "path": "/drop"}),
                json!({"op": "add", "path": "/a~1b", "value": "4"}),
                json!({"op": "replace", "path": "/change", "value": "new"}),
            ]
        );
        assert!(patch_ops(&prior, &prior).is_empty());
    }

    #[test]
    fn unset_arguments_take_terraforms_defaults() {
        let config = state(json!({"name": "a", "visibility": null, "min_ram_mb": 64}));
        let config = with_defaults(&config);
        assert_eq!(json_attr(&config, "visibility"), json!("private"));
        assert_eq!(json_attr(&config, "min_ram_mb"), json!(64));
    }

    #[test]
    fn what_glance_stored_is_checked_by_sha512_else_md5() {
        let sha =
            json!({"id": "i", "os_hash_algo": "sha512", "os_hash_value": "BB", "checksum": "aa"});
        assert_eq!(stored_digest(&sha), Ok(StoredDigest::Sha512("BB")));
        assert!(
            compare("i", "SHA-512", "BB", "bb").is_ok(),
            "hex case does not matter"
        );
        let e = compare("i", "SHA-512 (os_hash_value)", "cc", "bb").unwrap_err();
        assert!(
            e.contains("SHA-512") && e.contains("cc") && e.contains("bb"),
            "{e}"
        );
        let legacy = json!({"id": "i", "checksum": "aa"});
        assert_eq!(stored_digest(&legacy), Ok(StoredDigest::Md5("aa")));
        let other = json!({"id": "i", "os_hash_algo": "sha256", "os_hash_value": "dd"});
        assert!(
            stored_digest(&other)
                .unwrap_err()
                .contains("verify_checksum = false")
        );
        let nothing = json!({"id": "i"});
        assert!(stored_digest(&nothing).unwrap_err().contains("neither"));
    }

    #[tokio::test]
    async fn the_md5_fallback_reads_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(
            md5_of_file(path.display().to_string()).await.unwrap(),
            "5d41402abc4b2a76b9719d911017c592"
        );
    }
}
