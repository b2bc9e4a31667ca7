//! The `openstack_compute_flavor_v2` data source: a flavor by id (one
//! GET), or the one flavor its filters select among those the project may
//! use.

use super::data_image::describe;
use super::flavor::state_of;
use super::provider::Session;
use super::types::{SchemaBuilder, client, failed, json_attr, state_value, str_attr};
use super::{Client, Service};
use crate::lang::value::{Type, Value};
use crate::provider::{AttrMode, DataSourceType, ProviderError, Schema};
use async_trait::async_trait;
use serde_json::Value as Json;
use std::sync::Arc;

/// Flavors per list page (Nova's default `max_limit`).
const PAGE: usize = 1000;

/// The filters, in the order error messages name them.
const FILTERS: [&str; 8] = [
    "flavor_id",
    "name",
    "vcpus",
    "ram",
    "disk",
    "min_ram",
    "min_disk",
    "is_public",
];

pub struct FlavorData {
    schema: Schema,
    session: Arc<Session>,
}

impl FlavorData {
    pub fn new(session: Arc<Session>) -> FlavorData {
        let schema = SchemaBuilder::default()
            .with_id_and_region()
            .attr("flavor_id", Type::String, AttrMode::OptionalComputed)
            .attr("name", Type::String, AttrMode::OptionalComputed)
            .attr("vcpus", Type::Number, AttrMode::OptionalComputed)
            .attr("ram", Type::Number, AttrMode::OptionalComputed)
            .attr("disk", Type::Number, AttrMode::OptionalComputed)
            .attr("min_ram", Type::Number, AttrMode::Optional)
            .attr("min_disk", Type::Number, AttrMode::Optional)
            .attr("is_public", Type::Bool, AttrMode::OptionalComputed)
            .attr("swap", Type::Number, AttrMode::Computed)
            .attr("ephemeral", Type::Number, AttrMode::Computed)
            .attr("rx_tx_factor", Type::Number, AttrMode::Computed)
            .attr("description", Type::String, AttrMode::Computed)
            .attr("extra_specs", Type::map(Type::String), AttrMode::Computed)
            .build();
        FlavorData { schema, session }
    }
}

fn number(v: &Json) -> Option<f64> {
    v.as_f64()
}

/// Whether the flavor (as this type's attributes) passes every filter
/// that is set.
fn matches(flavor: &Json, config: &Value) -> bool {
    let exact = ["name", "vcpus", "ram", "disk", "is_public"];
    let exact_ok = exact.iter().all(|key| {
        let wanted = json_attr(config, key);
        match (&wanted, flavor.get(*key)) {
            (Json::Null, _) => true,
            (Json::Number(_), Some(found)) => number(&wanted) == number(found),
            (_, Some(found)) => *found == wanted,
            (_, None) => false,
        }
    });
    let at_least = [("min_ram", "ram"), ("min_disk", "disk")];
    exact_ok
        && at_least.iter().all(|(filter, key)| {
            match (
                number(&json_attr(config, filter)),
                flavor.get(*key).and_then(number),
            ) {
                (None, _) => true,
                (Some(min), Some(found)) => found >= min,
                (Some(_), None) => false,
            }
        })
}

/// Every flavor the project may use (or, with `is_public`, only public or
/// only private ones), page after page.
async fn list_flavors(client: &Client, config: &Value) -> Result<Vec<Json>, ProviderError> {
    let is_public = match config.get_attr("is_public").and_then(Value::as_bool) {
        Some(true) => "true",
        Some(false) => "false",
        None => "None",
    };
    let mut flavors = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut path = format!("/flavors/detail?is_public={is_public}&limit={PAGE}");
        if let Some(m) = &marker {
            path.push_str(&format!("&marker={m}"));
        }
        let page: Json = client
            .get_json(Service::Compute, &path)
            .await
            .map_err(|e| failed("Cannot list flavors", e))?;
        let items: Vec<Json> = page
            .get("flavors")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let full = items.len() >= PAGE;
        marker = items
            .last()
            .and_then(|f| f.get("id"))
            .and_then(Json::as_str)
            .map(str::to_string);
        flavors.extend(items);
        if !full || marker.is_none() {
            return Ok(flavors);
        }
    }
}

#[async_trait]
impl DataSourceType for FlavorData {
    fn type_name(&self) -> &'static str {
        "openstack_compute_flavor_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> Result<Value, ProviderError> {
        let client = client(&self.session).await?;
        let region = match str_attr(config, "region") {
            Some(r) => Json::String(r),
            None => client
                .config()
                .region
                .clone()
                .map_or(Json::Null, Json::String),
        };
        let candidates: Vec<Json> = match str_attr(config, "flavor_id") {
            Some(id) => match client
                .get_json::<Json>(Service::Compute, &format!("/flavors/{id}"))
                .await
            {
                Ok(body) => body.get("flavor").cloned().into_iter().collect(),
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(failed("Cannot read the flavor", e)),
            },
            None => list_flavors(&client, config).await?,
        };
        let found: Vec<Json> = candidates
            .iter()
            .map(|f| state_of(f, region.clone()))
            .filter(|f| matches(f, config))
            .collect();
        let mut flavor = match found.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(ProviderError::new(
                    "No flavor found",
                    format!("No flavor matches {}.", describe(config, &FILTERS)),
                ));
            }
            many => {
                return Err(ProviderError::new(
                    "Several flavors found",
                    format!(
                        "{} flavors match {}; add filters or use flavor_id.",
                        many.len(),
                        describe(config, &FILTERS)
                    ),
                ));
            }
        };
        if let Json::Object(m) = &mut flavor {
            m.insert("min_ram".into(), json_attr(config, "min_ram"));
            m.insert("min_disk".into(), json_attr(config, "min_disk"));
        }
        state_value(&self.schema, flavor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(attrs: Json) -> Value {
        Value::from_json_dynamic(&attrs)
    }

    #[test]
    fn filters_match_exactly_and_minimums_at_least() {
        let flavor =
            json!({"name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20, "is_public": true});
        assert!(matches(&flavor, &config(json!({"name": "m1.small"}))));
        assert!(!matches(&flavor, &config(json!({"name": "m1.tiny"}))));
        assert!(matches(&flavor, &config(json!({"ram": 2048, "disk": 20}))));
        assert!(matches(
            &flavor,
            &config(json!({"min_ram": 1024, "min_disk": 20}))
        ));
        assert!(!matches(&flavor, &config(json!({"min_ram": 4096}))));
        assert!(!matches(&flavor, &config(json!({"is_public": false}))));
        // disk = 0 is a filter, not "unset".
        assert!(!matches(&flavor, &config(json!({"disk": 0}))));
    }
}
