//! What the Neutron resource types and data sources share: list queries
//! (filters, lookups by many ids, following `next` links), tags,
//! `value_specs`, and the planning adjustments Neutron's defaults need.

use super::marker;
use super::types::{failed, id_of, poll, state_value};
use super::{Client, Service};
use crate::lang::value::Value;
use crate::provider::{MarkedObject, Marker, ProviderError, Schema};
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, HashMap};

/// A query string from `pairs`, encoded (`name=a%20b&id=1&id=2`).
pub fn query(pairs: &[(&str, String)]) -> String {
    let Ok(mut url) = reqwest::Url::parse("http://query.invalid/") else {
        return String::new();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    url.query().unwrap_or_default().to_string()
}

/// Every member of `collection` (`networks`) that `query` selects,
/// following the `next` links a cloud with server-side paging sends.
pub async fn list(
    client: &Client,
    collection: &str,
    query: &str,
) -> Result<Vec<Json>, ProviderError> {
    let mut found = Vec::new();
    let mut path = format!("/{collection}?{query}");
    loop {
        let page: Json = client
            .get_json(Service::Network, &path)
            .await
            .map_err(|e| failed(&format!("Cannot list {collection}"), e))?;
        let items = page
            .get(collection)
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let next = page
            .get(format!("{collection}_links"))
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .find(|l| l.get("rel").and_then(Json::as_str) == Some("next"))
            .and_then(|l| l.get("href").and_then(Json::as_str))
            .and_then(|href| href.split_once('?'))
            .map(|(_, q)| format!("/{collection}?{q}"));
        let last_page = items.is_empty();
        found.extend(items);
        match next {
            // Neutron links the last page to an empty one; a link to the
            // page itself would never end.
            Some(next) if !last_page && next != path => path = next,
            _ => return Ok(found),
        }
    }
}

/// How many ids one list call filters on: Neutron accepts repeated `id`
/// filters, but URLs much longer than a few kilobytes are refused by the
/// web servers in front of it.
const IDS_PER_LIST: usize = 80;

/// The members of `collection` with the given ids that still exist, by id,
/// in as few list calls as the URL length allows.
pub async fn list_by_ids(
    client: &Client,
    collection: &str,
    ids: &[String],
) -> Result<HashMap<String, Json>, ProviderError> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(IDS_PER_LIST) {
        let pairs: Vec<(&str, String)> = chunk.iter().map(|id| ("id", id.clone())).collect();
        for item in list(client, collection, &query(&pairs)).await? {
            if let Some(id) = item.get("id").and_then(Json::as_str) {
                found.insert(id.to_string(), item.clone());
            }
        }
    }
    Ok(found)
}

/// Replaces all of an object's tags (`PUT /{collection}/{id}/tags`).
pub async fn put_tags(
    client: &Client,
    collection: &str,
    id: &str,
    tags: &Json,
) -> Result<(), ProviderError> {
    let tags = match tags {
        Json::Array(t) => t.clone(),
        _ => Vec::new(),
    };
    client
        .put_json::<Json>(
            Service::Network,
            &format!("/{collection}/{id}/tags"),
            &json!({ "tags": tags }),
        )
        .await
        .map_err(|e| failed(&format!("Cannot set the tags of {collection} {id}"), e))?;
    Ok(())
}

/// The `tags` to record: the tags the configuration manages that the
/// object still has (a tag added by someone else is not drift, one of
/// ours removed is), or null when the configuration manages none.
pub fn managed_tags(managed: &Json, actual: &Json) -> Json {
    let Json::Array(managed) = managed else {
        return Json::Null;
    };
    let actual = actual.as_array().cloned().unwrap_or_default();
    Json::Array(
        managed
            .iter()
            .filter(|t| actual.contains(t))
            .cloned()
            .collect(),
    )
}

/// For an import: every tag the object has, or null when it has none.
pub fn imported_tags(actual: &Json) -> Json {
    match actual {
        Json::Array(t) if !t.is_empty() => actual.clone(),
        _ => Json::Null,
    }
}

/// Neutron keeps descriptions of at most this many characters.
pub const DESCRIPTION_LIMIT: usize = 255;

/// Refuses a configured description the marker would push past
/// Neutron's limit, while planning.
pub fn check_description(config: &Value) -> Result<(), ProviderError> {
    marker::check_description_room(
        config.get_attr("description").and_then(Value::as_str),
        DESCRIPTION_LIMIT,
        "Neutron",
    )
}

/// The description to send for `value`'s: the user's text, then the
/// marker. Neutron refuses `tags` in the create call of networks and
/// subnets, so the description is the one field that carries the
/// marker atomically with the create.
pub fn marked_description(value: &Value, marker: &Marker) -> Json {
    Json::String(marker::described(
        value.get_attr("description").and_then(Value::as_str),
        marker,
    ))
}

/// The members of `collection` whose description carries a marker of
/// `lineage`, from one list of the few fields needed (and its pages).
pub async fn find_marked(
    client: &Client,
    collection: &str,
    lineage: &str,
) -> Result<Vec<MarkedObject>, ProviderError> {
    let fields = query(&[
        ("fields", "id".into()),
        ("fields", "name".into()),
        ("fields", "description".into()),
        ("fields", "status".into()),
    ]);
    let items = list(client, collection, &fields).await?;
    Ok(items
        .iter()
        .filter_map(|item| {
            let found = marker::from_description_json(item.get("description")?)?;
            let id = item.get("id")?.as_str()?.to_string();
            (found.lineage == lineage).then(|| MarkedObject {
                marker: found,
                id,
                name: item
                    .get("name")
                    .and_then(Json::as_str)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
                // A network in ERROR never became usable; BUILD passes.
                complete: item.get("status").and_then(Json::as_str) != Some("ERROR"),
            })
        })
        .collect())
}

/// Adds `value_specs` (raw extra body keys) to a request body; keys the
/// type sets itself win.
pub fn add_value_specs(body: &mut Map<String, Json>, config: &Value) {
    if let Some(Json::Object(specs)) = config.get_attr("value_specs").map(Value::to_json) {
        for (k, v) in specs {
            // Terraform's value_specs are strings; Neutron wants booleans
            // and numbers where its attributes are such.
            let v = match v.as_str() {
                Some("true") => json!(true),
                Some("false") => json!(false),
                _ => v,
            };
            body.entry(k).or_insert(v);
        }
    }
}

/// `value` with attribute `name` set to `v`.
pub fn with_attr(value: &Value, name: &str, v: Value) -> Value {
    let mut attrs: BTreeMap<String, Value> = value.as_entries().cloned().unwrap_or_default();
    attrs.insert(name.to_string(), v);
    Value::object(attrs)
}

/// The configuration with `defaults` for the arguments it leaves null.
pub fn with_defaults(config: &Value, defaults: &[(&str, Value)]) -> Value {
    let mut out = config.clone();
    for (name, default) in defaults {
        if config.get_attr(name).is_none_or(Value::is_null) {
            out = with_attr(&out, name, default.clone());
        }
    }
    out
}

fn is_empty(v: &Value) -> bool {
    v.as_str() == Some("") || v.length() == Some(0)
}

/// Neutron stores an unset name, description or list as "" or []: an
/// argument left null plans as the prior empty value, so that it is not a
/// change every time.
pub fn null_as_empty(planned: Value, prior: Option<&Value>, names: &[&str]) -> Value {
    let Some(prior) = prior else {
        return planned;
    };
    let mut out = planned.clone();
    for name in names {
        let unset = planned.get_attr(name).is_none_or(Value::is_null);
        if let Some(was) = prior.get_attr(name)
            && unset
            && is_empty(was)
        {
            out = with_attr(&out, name, was.clone());
        }
    }
    out
}

/// A list call's filters as the user wrote them, for errors:
/// `name = "x", external = true`.
pub fn describe_filters(config: &Value, names: &[&str]) -> String {
    let shown: Vec<String> = names
        .iter()
        .filter_map(|n| {
            let v = config.get_attr(n)?;
            if v.is_null() {
                return None;
            }
            Some(format!("{n} = {}", v.to_json()))
        })
        .collect();
    if shown.is_empty() {
        "no filters".to_string()
    } else {
        shown.join(", ")
    }
}

/// Refreshes objects of `collection` in bulk: one id-filtered list (see
/// `list_by_ids`), each found object made into state by `value` from the
/// object and its current state; `None` for those gone.
pub async fn read_all_by_ids(
    client: &Client,
    collection: &str,
    current: &[Value],
    value: impl Fn(&Json, &Value) -> Result<Value, ProviderError>,
) -> Result<Vec<Option<Value>>, ProviderError> {
    let ids = current.iter().map(id_of).collect::<Result<Vec<_>, _>>()?;
    let found = list_by_ids(client, collection, &ids).await?;
    current
        .iter()
        .zip(&ids)
        .map(|(c, id)| found.get(id).map(|object| value(object, c)).transpose())
        .collect()
}

/// For an import, the little that is "known" before reading: the object's
/// own tags (all of them are taken as the user's).
pub fn import_basis(schema: &Schema, object: &Json) -> Result<Value, ProviderError> {
    state_value(
        schema,
        json!({ "tags": imported_tags(object.get("tags").unwrap_or(&Json::Null)) }),
    )
}

/// DELETEs `path`, sending it again while Neutron answers 409 (something
/// still uses the object, such as a port holding an address), until it is
/// accepted and `gone` confirms the object is gone, or `limit` passes. At
/// the timeout the error is Neutron's last refusal, with its request id.
pub async fn delete_retrying_conflicts<F, Fut>(
    client: &Client,
    path: &str,
    noun: &str,
    limit: std::time::Duration,
    gone: F,
) -> Result<(), ProviderError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<bool, ProviderError>>,
{
    let what = format!("Cannot delete the {noun}");
    let last_refusal = std::sync::Mutex::new(None);
    let id = path.rsplit('/').next().unwrap_or(path);
    let deleted = poll(&format!("Deleting {noun} {id}"), limit, || async {
        match client.delete(Service::Network, path).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(Some(())),
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 409) => {
                if let Ok(mut last) = last_refusal.lock() {
                    *last = Some(e.to_string());
                }
                return Ok(None);
            }
            Err(e) => return Err(failed(&what, e)),
        }
        Ok(gone().await?.then_some(()))
    })
    .await;
    deleted.map_err(
        |timed_out| match last_refusal.lock().ok().and_then(|mut l| l.take()) {
            Some(refusal) => ProviderError::new(
                what.clone(),
                format!(
                    "{refusal}; still refused after {}s of retrying (see `timeouts {{ delete }}`).",
                    limit.as_secs()
                ),
            ),
            None => timed_out,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_and_repeat_keys() {
        assert_eq!(
            query(&[
                ("id", "a".into()),
                ("id", "b".into()),
                ("name", "x y&z".into())
            ]),
            "id=a&id=b&name=x+y%26z"
        );
    }

    #[test]
    fn managed_tags_keep_only_ours_that_remain() {
        assert_eq!(
            managed_tags(&json!(["a", "b"]), &json!(["b", "c"])),
            json!(["b"])
        );
        assert_eq!(managed_tags(&Json::Null, &json!(["b"])), Json::Null);
    }
}
