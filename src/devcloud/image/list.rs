//! `GET /v2/images`: filters, sorting, paging and the `first`/`next`
//! links, as Glance's images API and its database layer do them.

use super::{Ctx, SERVICE, bad, image_doc};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::model::Image;
use crate::devcloud::server::Auth;
use crate::devcloud::time::iso_to_millis;
use axum::Json;
use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::cmp::Ordering;

/// Glance's `limit_param_default` and `api_limit_max`.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 1000;

const SORT_KEYS: [&str; 8] = [
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
];

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Python's `urllib.parse.quote_plus`, as Glance encodes its links.
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn urlencode(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// `in:a,b,"c,d"` lists: commas split, double quotes protect.
fn split_list(value: &str) -> ApiResult<Vec<String>> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if quoted {
        return Err(bad(format!(
            "Invalid filter value {value}. The quote is not closed."
        )));
    }
    items.push(current);
    Ok(items)
}

/// Glance's `split_filter_op`: `op:value`, or `eq` when there is no
/// operator (or the whole value is a timestamp).
fn split_op(expression: &str) -> (String, String) {
    match expression.split_once(':') {
        Some(_) if iso_to_millis(expression).is_some() => ("eq".into(), expression.into()),
        Some((op, value)) => (op.into(), value.into()),
        None => ("eq".into(), expression.into()),
    }
}

fn unknown_operator(op: &str) -> ApiError {
    bad(format!("Unable to filter by unknown operator '{op}'."))
}

/// One attribute filter with Glance's `in` and `eq` operators.
enum Matcher {
    Eq(String),
    In(Vec<String>),
}

impl Matcher {
    fn parse(value: &str) -> ApiResult<Matcher> {
        let (op, threshold) = split_op(value);
        match op.as_str() {
            "eq" => Ok(Matcher::Eq(threshold)),
            "in" => Ok(Matcher::In(split_list(&threshold)?)),
            other => Err(unknown_operator(other)),
        }
    }

    fn matches(&self, v: Option<&str>) -> bool {
        let Some(v) = v else { return false };
        match self {
            Matcher::Eq(x) => x == v,
            Matcher::In(xs) => xs.iter().any(|x| x == v),
        }
    }
}

/// A time filter (`created_at=gt:2024-01-01T00:00:00Z`).
struct TimeFilter {
    op: String,
    millis: u64,
}

impl TimeFilter {
    fn parse(key: &str, value: &str) -> ApiResult<TimeFilter> {
        let (op, time) = split_op(value);
        if !matches!(op.as_str(), "eq" | "neq" | "gt" | "gte" | "lt" | "lte") {
            return Err(unknown_operator(&op));
        }
        let millis = iso_to_millis(&time).ok_or_else(|| {
            bad(format!(
                "Invalid value '{time}' for parameter '{key}': Invalid time format for {key}."
            ))
        })?;
        Ok(TimeFilter { op, millis })
    }

    fn matches(&self, iso: &str) -> bool {
        let Some(t) = iso_to_millis(iso) else {
            return false;
        };
        match self.op.as_str() {
            "eq" => t == self.millis,
            "neq" => t != self.millis,
            "gt" => t > self.millis,
            "gte" => t >= self.millis,
            "lt" => t < self.millis,
            _ => t <= self.millis,
        }
    }
}

#[derive(Default)]
struct Filters {
    visibility: Option<String>,
    member_status: String,
    os_hidden: bool,
    protected: Option<bool>,
    tags: Vec<String>,
    attributes: Vec<(String, Matcher)>,
    owner: Option<String>,
    size_min: Option<u64>,
    size_max: Option<u64>,
    times: Vec<(String, TimeFilter)>,
    properties: Vec<(String, String)>,
}

fn bool_filter(name: &str, value: &str) -> ApiResult<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(format!(
            "Invalid value '{value}' for '{name}' filter. Valid values are 'true' or 'false'."
        ))),
    }
}

fn size_filter(value: &str) -> ApiResult<u64> {
    value
        .trim()
        .parse()
        .map_err(|_| bad("Unable to filter on a range with a non-numeric value."))
}

struct Sorting {
    keys: Vec<(String, bool)>,
}

fn parse_sort_dir(dir: &str) -> ApiResult<bool> {
    match dir {
        "asc" => Ok(true),
        "desc" => Ok(false),
        other => Err(bad(format!("Invalid sort direction: {other}"))),
    }
}

fn parse_sort_key(key: &str) -> ApiResult<String> {
    if SORT_KEYS.contains(&key) {
        Ok(key.to_string())
    } else {
        Err(bad(format!(
            "Invalid sort key: {key}. It must be one of the following: {}.",
            SORT_KEYS.join(", ")
        )))
    }
}

/// Glance's two sort syntaxes (`sort=name:asc,size` and
/// `sort_key=name&sort_dir=asc`), then `created_at` and `id` as tie
/// breakers, as its database layer adds them.
fn parse_sorting(params: &[(String, String)]) -> ApiResult<Sorting> {
    let sort: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "sort")
        .map(|(_, v)| v.as_str())
        .collect();
    let keys: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "sort_key")
        .map(|(_, v)| v.trim())
        .collect();
    let dirs: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "sort_dir")
        .map(|(_, v)| v.trim())
        .collect();
    let mut sorting: Vec<(String, bool)> = Vec::new();
    if let Some(sort) = sort.last() {
        if !keys.is_empty() || !dirs.is_empty() {
            return Err(bad("Old and new sorting syntax cannot be combined"));
        }
        for part in sort.trim().split(',') {
            let (key, dir) = part.split_once(':').unwrap_or((part, ""));
            let dir = if dir.trim().is_empty() {
                "desc"
            } else {
                dir.trim()
            };
            let key = parse_sort_key(key.trim())?;
            sorting.push((key, parse_sort_dir(dir)?));
        }
    } else {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| parse_sort_key(k))
            .collect::<ApiResult<_>>()?;
        let dirs: Vec<bool> = dirs
            .iter()
            .map(|d| parse_sort_dir(d))
            .collect::<ApiResult<_>>()?;
        if dirs.len() > 1 && dirs.len() != keys.len() {
            return Err(bad(
                "Number of sort dirs does not match the number of sort keys",
            ));
        }
        let keys = if keys.is_empty() {
            vec!["created_at".to_string()]
        } else {
            keys
        };
        for (i, key) in keys.into_iter().enumerate() {
            let asc = match dirs.len() {
                0 => false,
                1 => dirs[0],
                _ => dirs[i],
            };
            sorting.push((key, asc));
        }
    }
    let default_asc = sorting.first().is_some_and(|(_, asc)| *asc);
    for key in ["created_at", "id"] {
        if !sorting.iter().any(|(k, _)| k == key) {
            sorting.push((key.to_string(), default_asc));
        }
    }
    Ok(Sorting { keys: sorting })
}

fn compare_key(a: &Image, b: &Image, key: &str) -> Ordering {
    // Absent values sort first, as NULLs do in Glance's database.
    match key {
        "name" => a.name.cmp(&b.name),
        "status" => a.status.cmp(&b.status),
        "container_format" => a.container_format.cmp(&b.container_format),
        "disk_format" => a.disk_format.cmp(&b.disk_format),
        "size" => a.size.cmp(&b.size),
        "id" => a.id.cmp(&b.id),
        "created_at" => a
            .created_at
            .cmp(&b.created_at)
            .then(a.created_millis.cmp(&b.created_millis)),
        _ => a.updated_at.cmp(&b.updated_at),
    }
}

impl Sorting {
    fn compare(&self, a: &Image, b: &Image) -> Ordering {
        for (key, asc) in &self.keys {
            let o = compare_key(a, b, key);
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

fn parse_filters(params: &[(String, String)]) -> ApiResult<Filters> {
    let mut f = Filters {
        member_status: "accepted".into(),
        ..Filters::default()
    };
    for (key, value) in params {
        match key.as_str() {
            "limit" | "marker" | "sort" | "sort_key" | "sort_dir" => {}
            "member_status" => {
                if !matches!(value.as_str(), "pending" | "accepted" | "rejected" | "all") {
                    return Err(bad(format!("Invalid status: {value}")));
                }
                f.member_status = value.clone();
            }
            "visibility" => {
                if !value.is_empty() {
                    if !matches!(
                        value.as_str(),
                        "community" | "public" | "private" | "shared" | "all"
                    ) {
                        return Err(bad(format!("Invalid visibility value: {value}")));
                    }
                    f.visibility = Some(value.clone());
                }
            }
            "changes-since" => {
                return Err(bad(
                    "The \"changes-since\" filter is no longer available on v2.",
                ));
            }
            "os_hidden" => f.os_hidden = bool_filter("os_hidden", value)?,
            "protected" => f.protected = Some(bool_filter("protected", value)?),
            "tag" => f.tags.push(value.trim().to_string()),
            "name" | "id" | "status" | "container_format" | "disk_format" => {
                f.attributes.retain(|(k, _)| k != key);
                f.attributes.push((key.clone(), Matcher::parse(value)?));
            }
            "owner" => f.owner = Some(value.clone()),
            "size_min" => f.size_min = Some(size_filter(value)?),
            "size_max" => f.size_max = Some(size_filter(value)?),
            "created_at" | "updated_at" => {
                f.times.retain(|(k, _)| k != key);
                f.times.push((key.clone(), TimeFilter::parse(key, value)?));
            }
            _ => {
                f.properties.retain(|(k, _)| k != key);
                f.properties.push((key.clone(), value.clone()));
            }
        }
    }
    Ok(f)
}

/// Whether the caller's project is a member of a shared image with the
/// wanted status.
fn member_with_status(image: &Image, project: &str, status: &str) -> bool {
    image.members.contains(project)
        && (status == "all"
            || image
                .member_details
                .get(project)
                .map_or("pending", |m| m.status.as_str())
                == status)
}

/// Glance's visibility rules for listing: without a visibility filter a
/// project lists its own images, public ones and shared ones it accepted
/// (community images only on request); admins list everything.
fn listed(auth: &Auth, image: &Image, f: &Filters) -> bool {
    let project = auth.project_id.as_deref().unwrap_or_default();
    let own = image.owner == project;
    let shared_with_me =
        image.visibility == "shared" && member_with_status(image, project, &f.member_status);
    match f.visibility.as_deref() {
        None => auth.is_admin() || own || image.visibility == "public" || shared_with_me,
        Some(v) => {
            if v != "all" && image.visibility != v {
                return false;
            }
            auth.is_admin()
                || own
                || matches!(image.visibility.as_str(), "public" | "community")
                || shared_with_me
        }
    }
}

fn matches_filters(image: &Image, f: &Filters) -> bool {
    if image.os_hidden != f.os_hidden {
        return false;
    }
    if f.protected.is_some_and(|p| p != image.protected) {
        return false;
    }
    if !f.tags.iter().all(|t| image.tags.contains(t)) {
        return false;
    }
    if f.owner.as_ref().is_some_and(|o| *o != image.owner) {
        return false;
    }
    if f.size_min
        .is_some_and(|min| image.size.is_none_or(|s| s < min))
    {
        return false;
    }
    if f.size_max
        .is_some_and(|max| image.size.is_none_or(|s| s > max))
    {
        return false;
    }
    for (key, matcher) in &f.attributes {
        let v = match key.as_str() {
            "name" => image.name.as_deref(),
            "id" => Some(image.id.as_str()),
            "status" => Some(image.status.as_str()),
            "container_format" => image.container_format.as_deref(),
            _ => image.disk_format.as_deref(),
        };
        if !matcher.matches(v) {
            return false;
        }
    }
    for (key, filter) in &f.times {
        let t = if key == "created_at" {
            &image.created_at
        } else {
            &image.updated_at
        };
        if !filter.matches(t) {
            return false;
        }
    }
    f.properties
        .iter()
        .all(|(k, v)| image.properties.get(k) == Some(v))
}

/// `GET /v2/images`.
pub(in crate::devcloud::image) async fn list(ctx: Ctx, RawQuery(query): RawQuery) -> Response {
    let result = list_images(&ctx, query.as_deref());
    ctx.answer(result)
}

fn list_images(ctx: &Ctx, query: Option<&str>) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    let params = parse_query(query);
    let last = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let limit = match last("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => {
            let n: i64 = text
                .trim()
                .parse()
                .map_err(|_| bad("limit param must be an integer"))?;
            if n < 0 {
                return Err(bad("limit param must be positive"));
            }
            usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)
        }
    };
    let marker = last("marker");
    let filters = parse_filters(&params)?;
    let sorting = parse_sorting(&params)?;
    let (page, more) = ctx.app.store.read(|d| -> ApiResult<(Vec<Value>, bool)> {
        let marker_image = match &marker {
            None => None,
            Some(id) => {
                let image = d
                    .images
                    .get(id)
                    .ok_or_else(|| bad(format!("No image found with ID {id}")))?;
                if !super::visible(auth, image) {
                    return Err(ApiError::forbidden(
                        SERVICE,
                        format!("Forbidding request, image {id} not visible"),
                    ));
                }
                Some(image)
            }
        };
        let mut images: Vec<&Image> = d
            .images
            .values()
            .filter(|image| listed(auth, image, &filters) && matches_filters(image, &filters))
            .filter(|image| {
                marker_image.is_none_or(|m| sorting.compare(image, m) == Ordering::Greater)
            })
            .collect();
        images.sort_by(|a, b| sorting.compare(a, b));
        let more = images.len() > limit;
        Ok((
            images.into_iter().take(limit).map(image_doc).collect(),
            more,
        ))
    })?;
    // The links repeat the query (marker aside), as Glance writes them.
    let kept: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k != "marker").collect();
    let first = if kept.is_empty() {
        "/v2/images".to_string()
    } else {
        format!("/v2/images?{}", urlencode(&kept))
    };
    let next_marker = page
        .last()
        .and_then(|doc| doc["id"].as_str())
        .filter(|_| more)
        .map(str::to_string);
    let mut body = json!({"images": page, "first": first, "schema": "/v2/schemas/images"});
    if let Some(marker) = next_marker {
        let mut next = kept;
        next.push(("marker".into(), marker));
        body["next"] = json!(format!("/v2/images?{}", urlencode(&next)));
    }
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_coding_round_trips_as_python_writes_it() {
        let params = parse_query(Some("sort=name%3Aasc&name=a+b&tag=x&tag=y&limit=2"));
        assert_eq!(params[0], ("sort".into(), "name:asc".into()));
        assert_eq!(params[1], ("name".into(), "a b".into()));
        assert_eq!(
            urlencode(&params),
            "sort=name%3Aasc&name=a+b&tag=x&tag=y&limit=2"
        );
        assert_eq!(quote_plus("in:a,b/c~"), "in%3Aa%2Cb%2Fc~");
    }

    #[test]
    fn lists_and_operators() {
        assert_eq!(split_list("a,\"b,c\",d").unwrap(), ["a", "b,c", "d"]);
        assert!(split_list("\"a").is_err());
        assert!(matches!(Matcher::parse("in:x,y").unwrap(), Matcher::In(v) if v == ["x", "y"]));
        assert!(matches!(Matcher::parse("plain").unwrap(), Matcher::Eq(v) if v == "plain"));
        assert!(Matcher::parse("gt:x").is_err());
        let (op, v) = split_op("2024-01-01T00:00:00Z");
        assert_eq!((op.as_str(), v.as_str()), ("eq", "2024-01-01T00:00:00Z"));
    }

    #[test]
    fn sorting_syntaxes() {
        let p = |q: &str| parse_query(Some(q));
        let s = parse_sorting(&p("sort=name:asc,size")).unwrap();
        assert_eq!(
            s.keys,
            [
                ("name".to_string(), true),
                ("size".to_string(), false),
                ("created_at".to_string(), true),
                ("id".to_string(), true)
            ]
        );
        let s = parse_sorting(&p("")).unwrap();
        assert_eq!(
            s.keys,
            [("created_at".to_string(), false), ("id".to_string(), false)]
        );
        assert!(parse_sorting(&p("sort=name&sort_key=id")).is_err());
        assert!(parse_sorting(&p("sort_key=bogus")).is_err());
        assert!(
            parse_sorting(&p(
                "sort_key=name&sort_key=id&sort_dir=asc&sort_dir=desc&sort_dir=asc"
            ))
            .is_err()
        );
    }
}
