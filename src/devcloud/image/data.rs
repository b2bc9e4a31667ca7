//! Image data: `PUT /v2/images/{id}/file` streams the request body to
//! `<data>/images/<id>` (through a `.part` file, renamed when complete),
//! hashing (MD5 for `checksum`, SHA-512 for `os_hash_value`) and
//! inspecting the format as the bytes go by; `GET` streams it back.

use super::format::Inspector;
use super::{Ctx, SERVICE, bad, find, may_modify, no_image, not_authorized};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::server::App;
use crate::devcloud::time::now_iso;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::Digest;
use std::path::PathBuf;
use std::pin::Pin;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Glance's default `image_size_cap`: 1 TiB.
const SIZE_CAP: u64 = 1 << 40;

const READ_CHUNK: usize = 64 * 1024;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn part_path(app: &App, id: &str) -> PathBuf {
    let mut path = app.store.image_path(id).into_os_string();
    path.push(".part");
    PathBuf::from(path)
}

/// Removes an image's data (and any upload in progress).
pub(super) async fn remove_data(app: &App, id: &str) {
    let _ = tokio::fs::remove_file(app.store.image_path(id)).await;
    let _ = tokio::fs::remove_file(part_path(app, id)).await;
}

/// What an upload produced.
struct Received {
    size: u64,
    md5: String,
    sha512: String,
    inspector: Inspector,
}

/// Why an upload stopped before the end of the body.
enum Interrupted {
    /// The client's body failed (it went away, or sent garbage).
    Body(String),
    /// devcloud could not write the data.
    Storage(std::io::Error),
    TooLarge,
}

/// Streams a request body into `path`, hashing and inspecting it as it
/// goes; only one chunk is in memory at a time.
async fn receive(body: Body, path: &std::path::Path) -> Result<Received, Interrupted> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(Interrupted::Storage)?;
    let mut md5 = md5::Md5::new();
    let mut sha512 = sha2::Sha512::new();
    let mut inspector = Inspector::default();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_frame(cx)).await;
        let chunk: Bytes = match frame {
            None => break,
            Some(Err(e)) => return Err(Interrupted::Body(e.to_string())),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                // Trailers carry no image data.
                Err(_) => continue,
            },
        };
        size += chunk.len() as u64;
        if size > SIZE_CAP {
            return Err(Interrupted::TooLarge);
        }
        md5.update(&chunk);
        sha512.update(&chunk);
        inspector.feed(&chunk);
        file.write_all(&chunk).await.map_err(Interrupted::Storage)?;
    }
    file.flush().await.map_err(Interrupted::Storage)?;
    file.sync_all().await.map_err(Interrupted::Storage)?;
    Ok(Received {
        size,
        md5: hex(&md5.finalize()),
        sha512: hex(&sha512.finalize()),
        inspector,
    })
}

/// `PUT /v2/images/{id}/file`.
pub(super) async fn upload(
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = upload_data(&ctx, &id, &headers, body).await;
    ctx.answer(result)
}

/// Drops refused data and puts the image back to `queued`, as Glance
/// restores an image whose upload it refuses.
async fn abandon(app: &App, id: &str, part: &std::path::Path) {
    let _ = tokio::fs::remove_file(part).await;
    set_status(app, id, "saving", "queued");
}

/// Sets the status of an image, if it still exists and is `from`.
fn set_status(app: &App, id: &str, from: &str, to: &str) {
    app.store.write(|d| {
        if let Some(image) = d.images.get_mut(id)
            && image.status == from
        {
            image.status = to.into();
            image.updated_at = now_iso();
        }
    });
}

async fn upload_data(ctx: &Ctx, id: &str, headers: &HeaderMap, body: Body) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    // webob compares the media type alone, parameters aside.
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string());
    if media.as_deref() != Some("application/octet-stream") {
        return Err(ApiError::unsupported_media_type(
            SERVICE,
            format!(
                "Invalid content type {}",
                media.as_deref().unwrap_or("None")
            ),
        ));
    }
    let expected_size = match headers.get("x-openstack-image-size") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| bad("Invalid x-openstack-image-size header"))?,
        ),
    };
    // Glance's status change to `saving`: only from `queued`, and only
    // once both formats are known.
    let (disk_format, container_format) = ctx.app.store.write(|d| {
        let image = d
            .images
            .get_mut(id)
            .filter(|image| super::visible(auth, image))
            .ok_or_else(|| no_image(id))?;
        if !may_modify(auth, image) {
            return Err(not_authorized("upload_image"));
        }
        if image.status != "queued" {
            return Err(ApiError::conflict(
                SERVICE,
                format!(
                    "Image status transition from {} to saving is not allowed",
                    image.status
                ),
            ));
        }
        let missing: Vec<&str> = [
            ("disk_format", image.disk_format.is_none()),
            ("container_format", image.container_format.is_none()),
        ]
        .iter()
        .filter(|(_, missing)| *missing)
        .map(|(name, _)| *name)
        .collect();
        match missing.as_slice() {
            [] => {}
            [one] => {
                return Err(bad(format!(
                    "Property {one} must be set prior to saving data."
                )));
            }
            many => {
                return Err(bad(format!(
                    "Properties {} must be set prior to saving data.",
                    many.join(", ")
                )));
            }
        }
        image.status = "saving".into();
        image.updated_at = now_iso();
        Ok((
            image.disk_format.clone().unwrap_or_default(),
            image.container_format.clone().unwrap_or_default(),
        ))
    })?;
    let part = part_path(&ctx.app, id);
    let received = match receive(body, &part).await {
        Ok(received) => received,
        Err(interrupted) => {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(match interrupted {
                Interrupted::Body(reason) => {
                    // The upload died midway: Glance marks such images killed.
                    set_status(&ctx.app, id, "saving", "killed");
                    bad(format!("Error in image data upload: {reason}"))
                }
                Interrupted::Storage(e) => {
                    set_status(&ctx.app, id, "saving", "queued");
                    ApiError::new(
                        SERVICE,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("Image storage media is full: {e}"),
                    )
                }
                Interrupted::TooLarge => {
                    set_status(&ctx.app, id, "saving", "queued");
                    ApiError::new(
                        SERVICE,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "The incoming image is too large: Image exceeds the size limit of {SIZE_CAP} bytes"
                        ),
                    )
                }
            });
        }
    };
    if let Some(expected) = expected_size
        && expected != received.size
    {
        abandon(&ctx.app, id, &part).await;
        return Err(bad(format!(
            "Image size mismatch: expected {expected} bytes, got {} bytes",
            received.size
        )));
    }
    // Format inspection covers bare images only, as in Glance.
    let virtual_size = if container_format == "bare" {
        match received.inspector.check(&disk_format) {
            Ok(size) => size,
            Err(refusal) => {
                abandon(&ctx.app, id, &part).await;
                if let Some(log) = &ctx.app.log {
                    log(&format!("image {id}: {refusal}"));
                }
                // Glance logs why; its answer names only the media type.
                return Err(ApiError::unsupported_media_type(
                    SERVICE,
                    "The request media type application/octet-stream is not supported by this server.",
                ));
            }
        }
    } else {
        None
    };
    let gone = || {
        ApiError::new(
            SERVICE,
            StatusCode::GONE,
            format!(
                "Image {id} could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded."
            ),
        )
    };
    let final_path = ctx.app.store.image_path(id);
    if let Err(e) = tokio::fs::rename(&part, &final_path).await {
        abandon(&ctx.app, id, &part).await;
        // Deleting the image mid-upload removes the part file too.
        if !ctx.app.store.read(|d| d.images.contains_key(id)) {
            return Err(gone());
        }
        return Err(ApiError::new(
            SERVICE,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Insufficient permissions on image storage media: {e}"),
        ));
    }
    let saved = ctx.app.store.write(|d| match d.images.get_mut(id) {
        Some(image) if image.status == "saving" => {
            image.size = Some(received.size);
            image.virtual_size = virtual_size;
            image.checksum = Some(received.md5.clone());
            image.os_hash_algo = Some("sha512".into());
            image.os_hash_value = Some(received.sha512.clone());
            image.status = "active".into();
            image.updated_at = now_iso();
            true
        }
        _ => false,
    });
    if !saved {
        let _ = tokio::fs::remove_file(&final_path).await;
        return Err(gone());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A `Range: bytes=...` request header, as (first, last) inclusive
/// offsets within `size` bytes; `Err` when it cannot be satisfied.
fn parse_range(value: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    // One range only, as Glance serves.
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        // The last N bytes.
        let n: u64 = last.parse().ok()?;
        if n == 0 || size == 0 {
            return Some(Err(()));
        }
        (size.saturating_sub(n), size - 1)
    } else {
        let first: u64 = first.parse().ok()?;
        let last = if last.is_empty() {
            size.saturating_sub(1)
        } else {
            last.parse::<u64>().ok()?.min(size.saturating_sub(1))
        };
        if first >= size || last < first {
            return Some(Err(()));
        }
        (first, last)
    };
    Some(Ok(range))
}

/// `GET /v2/images/{id}/file`.
pub(super) async fn download(ctx: Ctx, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = download_data(&ctx, &id, &headers).await;
    ctx.answer(result)
}

async fn download_data(ctx: &Ctx, id: &str, headers: &HeaderMap) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    let image = ctx.app.store.read(|d| find(d, auth, id).cloned())?;
    if image.status == "deactivated" && !auth.is_admin() {
        return Err(ApiError::forbidden(
            SERVICE,
            "The requested image has been deactivated. Image data download is forbidden.",
        ));
    }
    let no_data = || StatusCode::NO_CONTENT.into_response();
    if !matches!(image.status.as_str(), "active" | "deactivated") {
        return Ok(no_data());
    }
    let Ok(mut file) = tokio::fs::File::open(ctx.app.store.image_path(id)).await else {
        return Ok(no_data());
    };
    let size = image.size.unwrap_or_default();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, size));
    let (status, first, length) = match range {
        None => (StatusCode::OK, 0, size),
        Some(Ok((first, last))) => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
        Some(Err(())) => {
            let mut response = ApiError::new(
                SERVICE,
                StatusCode::RANGE_NOT_SATISFIABLE,
                "Requested range not satisfiable",
            );
            response.json = ctx.json;
            let mut response = response.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(response);
        }
    };
    if first > 0 && file.seek(std::io::SeekFrom::Start(first)).await.is_err() {
        return Ok(no_data());
    }
    let stream = futures_util::stream::unfold((file, length), |(mut file, left)| async move {
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left.min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
        let mut buf = vec![0u8; want];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(buf)),
                    (file, left - n as u64),
                ))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(md5) = image.checksum.as_deref()
        && let Ok(v) = HeaderValue::from_str(md5)
    {
        h.insert("content-md5", v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) =
            HeaderValue::from_str(&format!("bytes {first}-{}/{size}", first + length - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=95-200", 100), Some(Ok((95, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
