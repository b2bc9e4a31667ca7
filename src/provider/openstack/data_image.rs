//! The `openstack_images_image_v2` data source: the one image its filters
//! select. Glance filters what it can (name, visibility, owner, tags,
//! formats); the name regex and properties are matched here. Several
//! matches are an error unless `most_recent` picks the newest.

use super::image::{LIST_LIMIT, image_attributes, list_images, query_value};
use super::provider::Session;
use super::types::{SchemaBuilder, client, json_attr, state_value, str_attr};
use crate::lang::value::{Type, Value};
use crate::provider::{AttrMode, DataSourceType, ProviderError, Schema};
use async_trait::async_trait;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// The filters, in the order error messages name them.
const FILTERS: [&str; 9] = [
    "name",
    "name_regex",
    "visibility",
    "owner",
    "tag",
    "tags",
    "properties",
    "container_format",
    "disk_format",
];

pub struct ImageData {
    schema: Schema,
    session: Arc<Session>,
}

impl ImageData {
    pub fn new(session: Arc<Session>) -> ImageData {
        let schema = SchemaBuilder::default()
            .with_id_and_region()
            .attr("name", Type::String, AttrMode::OptionalComputed)
            .attr("name_regex", Type::String, AttrMode::Optional)
            .attr("visibility", Type::String, AttrMode::OptionalComputed)
            .attr("owner", Type::String, AttrMode::OptionalComputed)
            .attr("tag", Type::String, AttrMode::Optional)
            .attr("tags", Type::set(Type::String), AttrMode::OptionalComputed)
            .attr(
                "properties",
                Type::map(Type::String),
                AttrMode::OptionalComputed,
            )
            .attr("container_format", Type::String, AttrMode::OptionalComputed)
            .attr("disk_format", Type::String, AttrMode::OptionalComputed)
            .attr("most_recent", Type::Bool, AttrMode::Optional)
            .attr("min_disk_gb", Type::Number, AttrMode::Computed)
            .attr("min_ram_mb", Type::Number, AttrMode::Computed)
            .attr("protected", Type::Bool, AttrMode::Computed)
            .attr("hidden", Type::Bool, AttrMode::Computed)
            .attr("checksum", Type::String, AttrMode::Computed)
            .attr("os_hash_algo", Type::String, AttrMode::Computed)
            .attr("os_hash_value", Type::String, AttrMode::Computed)
            .attr("size_bytes", Type::Number, AttrMode::Computed)
            .attr("virtual_size", Type::Number, AttrMode::Computed)
            .attr("status", Type::String, AttrMode::Computed)
            .attr("file", Type::String, AttrMode::Computed)
            .attr("schema", Type::String, AttrMode::Computed)
            .attr("created_at", Type::String, AttrMode::Computed)
            .attr("updated_at", Type::String, AttrMode::Computed)
            .build();
        ImageData { schema, session }
    }
}

/// A filter's value as the configuration would write it.
pub(super) fn render(v: &Json) -> String {
    match v {
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(m) => format!(
            "{{ {} }}",
            m.iter()
                .map(|(k, v)| format!("{k} = {}", render(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// `name = "cirros", visibility = "public"`: the filters that are set.
pub(super) fn describe(config: &Value, names: &[&str]) -> String {
    let set: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let v = json_attr(config, name);
            (!v.is_null()).then(|| format!("{name} = {}", render(&v)))
        })
        .collect();
    if set.is_empty() {
        "no filters".into()
    } else {
        set.join(", ")
    }
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Glance's list query for the filters it applies itself, newest first.
fn server_query(config: &Value) -> String {
    let mut query = vec![
        format!("limit={LIST_LIMIT}"),
        "sort=created_at:desc".to_string(),
    ];
    // `eq:` keeps a name with a colon from reading as an operator.
    if let Some(name) = str_attr(config, "name") {
        query.push(format!("name={}", query_value(&format!("eq:{name}"))));
    }
    for key in ["visibility", "owner", "container_format", "disk_format"] {
        if let Some(v) = str_attr(config, key) {
            query.push(format!("{key}={}", query_value(&v)));
        }
    }
    let mut tags = strings(&json_attr(config, "tags"));
    tags.extend(str_attr(config, "tag"));
    for tag in tags {
        query.push(format!("tag={}", query_value(&tag)));
    }
    query.join("&")
}

/// The filters Glance does not apply: the name regex and properties
/// (exact match of every property given).
fn matches_locally(
    doc: &Json,
    regex: Option<&regex::Regex>,
    properties: &Map<String, Json>,
) -> bool {
    let name = doc.get("name").and_then(Json::as_str).unwrap_or_default();
    regex.is_none_or(|r| r.is_match(name))
        && properties
            .iter()
            .all(|(k, v)| doc.get(k).is_some_and(|found| found == v))
}

#[async_trait]
impl DataSourceType for ImageData {
    fn type_name(&self) -> &'static str {
        "openstack_images_image_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> Result<Value, ProviderError> {
        if str_attr(config, "name").is_some() && str_attr(config, "name_regex").is_some() {
            return Err(ProviderError::new(
                "Conflicting filters",
                "name and name_regex cannot both be set: use one of them.",
            ));
        }
        let regex = match str_attr(config, "name_regex") {
            None => None,
            Some(pattern) => Some(regex::Regex::new(&pattern).map_err(|e| {
                ProviderError::new(
                    "Invalid name_regex",
                    format!("name_regex = {pattern:?} is not a regular expression: {e}"),
                )
            })?),
        };
        let properties = json_attr(config, "properties")
            .as_object()
            .cloned()
            .unwrap_or_default();
        let client = client(&self.session).await?;
        let found: Vec<Json> = list_images(&client, &server_query(config))
            .await?
            .into_iter()
            .filter(|doc| matches_locally(doc, regex.as_ref(), &properties))
            .collect();
        let most_recent = config.get_attr("most_recent").and_then(Value::as_bool) == Some(true);
        let image = match found.as_slice() {
            [] => {
                return Err(ProviderError::new(
                    "No image found",
                    format!("No image matches {}.", describe(config, &FILTERS)),
                ));
            }
            [one] => one,
            // Glance listed them newest first.
            [newest, ..] if most_recent => newest,
            many => {
                return Err(ProviderError::new(
                    "Several images found",
                    format!(
                        "{} images match {}; set most_recent = true or add filters.",
                        many.len(),
                        describe(config, &FILTERS)
                    ),
                ));
            }
        };
        let mut attrs = image_attributes(image);
        for name in FILTERS.iter().chain(&["most_recent", "region"]) {
            let v = json_attr(config, name);
            if !v.is_null() {
                attrs.insert(name.to_string(), v);
            }
        }
        if attrs.get("region").is_none_or(Json::is_null) {
            attrs.insert(
                "region".into(),
                client
                    .config()
                    .region
                    .clone()
                    .map_or(Json::Null, Json::String),
            );
        }
        state_value(&self.schema, Json::Object(attrs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_render_as_written() {
        assert_eq!(render(&json!("cirros")), "\"cirros\"");
        assert_eq!(render(&json!(["a", "b"])), "[\"a\", \"b\"]");
        assert_eq!(
            render(&json!({"os_distro": "cirros"})),
            "{ os_distro = \"cirros\" }"
        );
    }

    #[test]
    fn only_properties_given_must_match_exactly() {
        let doc = json!({"name": "cirros-0.6", "os_distro": "cirros", "hw_disk_bus": "virtio"});
        let props = |v: Json| v.as_object().cloned().unwrap_or_default();
        assert!(matches_locally(
            &doc,
            None,
            &props(json!({"os_distro": "cirros"}))
        ));
        assert!(!matches_locally(
            &doc,
            None,
            &props(json!({"os_distro": "ubuntu"}))
        ));
        assert!(!matches_locally(
            &doc,
            None,
            &props(json!({"os_version": "1"}))
        ));
        let re = regex::Regex::new("^cirros-").ok();
        assert!(matches_locally(&doc, re.as_ref(), &Map::new()));
        let re = regex::Regex::new("^ubuntu").ok();
        assert!(!matches_locally(&doc, re.as_ref(), &Map::new()));
    }
}
