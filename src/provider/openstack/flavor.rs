//! `openstack_compute_flavor_v2`: a Nova flavor. Everything but
//! `description` and `extra_specs` replaces it (Nova cannot change a
//! flavor's shape). Extra specs are updated key by key: only what changed
//! is sent.

use super::marker;
use super::provider::Session;
use super::types::{
    SchemaBuilder, apply_failed, client, create_failed, failed, get_if_exists, id_of, json_attr,
    region_of, state_value,
};
use super::{Client, Service};
use crate::lang::value::{Type, Value};
use crate::provider::{
    ApplyFailure, AttrMode, MarkedObject, Marker, ProviderError, ResourceType, Schema,
};
use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Flavor {
    schema: Schema,
    session: Arc<Session>,
}

impl Flavor {
    pub fn new(session: Arc<Session>) -> Flavor {
        let schema = SchemaBuilder::default()
            .with_id_and_region()
            .replacing("name", Type::String, AttrMode::Required)
            .replacing("ram", Type::Number, AttrMode::Required)
            .replacing("vcpus", Type::Number, AttrMode::Required)
            .replacing("disk", Type::Number, AttrMode::Required)
            .replacing("flavor_id", Type::String, AttrMode::OptionalComputed)
            .replacing("swap", Type::Number, AttrMode::OptionalComputed)
            .replacing("ephemeral", Type::Number, AttrMode::OptionalComputed)
            .replacing("rx_tx_factor", Type::Number, AttrMode::OptionalComputed)
            .replacing("is_public", Type::Bool, AttrMode::OptionalComputed)
            .attr("description", Type::String, AttrMode::Optional)
            .attr(
                "extra_specs",
                Type::map(Type::String),
                AttrMode::OptionalComputed,
            )
            .build();
        Flavor { schema, session }
    }
}

/// Nova's flavor (microversion 2.61 or later, which includes the extra
/// specs) as this type's state.
pub(super) fn state_of(flavor: &Json, region: Json) -> Json {
    let id = flavor.get("id").cloned().unwrap_or(Json::Null);
    let swap = match flavor.get("swap") {
        // Before 2.75 Nova wrote no swap as "".
        Some(Json::String(s)) if s.is_empty() => json!(0),
        Some(v) => v.clone(),
        None => json!(0),
    };
    json!({
        "id": id,
        "flavor_id": id,
        "region": region,
        "name": flavor.get("name"),
        "ram": flavor.get("ram"),
        "vcpus": flavor.get("vcpus"),
        "disk": flavor.get("disk"),
        "swap": swap,
        "ephemeral": flavor.get("OS-FLV-EXT-DATA:ephemeral").cloned().unwrap_or(json!(0)),
        "rx_tx_factor": flavor.get("rxtx_factor").cloned().unwrap_or(json!(1)),
        "is_public": flavor.get("os-flavor-access:is_public").cloned().unwrap_or(json!(true)),
        "description": marker::user_description(flavor.get("description"), Json::Null),
        "extra_specs": flavor.get("extra_specs").cloned().unwrap_or_else(|| json!({})),
    })
}

impl Flavor {
    /// Every flavor the project may see (`is_public=None`: public and
    /// private alike), with its description (2.55 and later).
    async fn list(&self, client: &Client) -> Result<Vec<Json>, ProviderError> {
        let listed: Json = client
            .get_json(Service::Compute, "/flavors/detail?is_public=None")
            .await
            .map_err(|e| failed("Cannot list flavors", e))?;
        Ok(listed
            .get("flavors")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// After Nova refused a create because the name is taken: the flavor
    /// of that name, when an earlier attempt to create this very resource
    /// made it (its marker names this state's lineage and the address).
    async fn made_by_earlier_attempt(
        &self,
        client: &Client,
        name: &str,
        marker: &Marker,
    ) -> Result<Option<Json>, ProviderError> {
        Ok(self.list(client).await?.into_iter().find(|f| {
            f.get("name").and_then(Json::as_str) == Some(name)
                && f.get("description")
                    .and_then(marker::from_description_json)
                    .is_some_and(|found| {
                        found.lineage == marker.lineage && found.address.names(&marker.address)
                    })
        }))
    }

    async fn fetch(&self, client: &Client, id: &str) -> Result<Option<Json>, ProviderError> {
        Ok(get_if_exists(
            client,
            Service::Compute,
            &format!("/flavors/{id}"),
            "Cannot read the flavor",
        )
        .await?
        .and_then(|body| body.get("flavor").cloned()))
    }

    fn value(&self, flavor: &Json, region: Json) -> Result<Value, ProviderError> {
        state_value(&self.schema, state_of(flavor, region))
    }

    /// Sets `specs` (all at once) and removes `removed`.
    async fn write_extra_specs(
        &self,
        client: &Client,
        id: &str,
        specs: &Map<String, Json>,
        removed: &[String],
    ) -> Result<(), ProviderError> {
        for key in removed {
            match client
                .delete(
                    Service::Compute,
                    &format!("/flavors/{id}/os-extra_specs/{key}"),
                )
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(failed("Cannot remove the flavor's extra spec", e)),
            }
        }
        if !specs.is_empty() {
            client
                .post_json::<Json>(
                    Service::Compute,
                    &format!("/flavors/{id}/os-extra_specs"),
                    &json!({ "extra_specs": specs }),
                )
                .await
                .map_err(|e| failed("Cannot set the flavor's extra specs", e))?;
        }
        Ok(())
    }
}

fn specs(value: &Value) -> Map<String, Json> {
    match json_attr(value, "extra_specs") {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

#[async_trait]
impl ResourceType for Flavor {
    fn type_name(&self) -> &'static str {
        "openstack_compute_flavor_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(&self, planned: &Value, marker: &Marker) -> Result<Value, ApplyFailure> {
        let client = client(&self.session)
            .await
            .map_err(ApplyFailure::nothing_created)?;
        let mut flavor = Map::new();
        flavor.insert("name".into(), json_attr(planned, "name"));
        flavor.insert("ram".into(), json_attr(planned, "ram"));
        flavor.insert("vcpus".into(), json_attr(planned, "vcpus"));
        flavor.insert("disk".into(), json_attr(planned, "disk"));
        let optional = [
            ("flavor_id", "id"),
            ("swap", "swap"),
            ("ephemeral", "OS-FLV-EXT-DATA:ephemeral"),
            ("rx_tx_factor", "rxtx_factor"),
            ("is_public", "os-flavor-access:is_public"),
        ];
        for (attr, field) in optional {
            let v = json_attr(planned, attr);
            if !v.is_null() {
                flavor.insert(field.into(), v);
            }
        }
        // Flavors have no metadata at create: the marker goes into the
        // description, and the name is unique besides.
        flavor.insert(
            "description".into(),
            Json::String(marker::described(
                planned.get_attr("description").and_then(Value::as_str),
                marker,
            )),
        );
        let name = planned
            .get_attr("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let flavor = match client
            .post_json::<Json>(Service::Compute, "/flavors", &json!({ "flavor": flavor }))
            .await
        {
            Ok(created) => created.get("flavor").cloned().unwrap_or(Json::Null),
            // The name is taken: by this resource's own earlier attempt
            // (a run killed after Nova made the flavor and before the
            // state recorded it), the flavor is taken over, not refused.
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 409) => {
                match self.made_by_earlier_attempt(&client, &name, marker).await {
                    Ok(Some(existing)) => existing,
                    _ => return Err(create_failed("Cannot create the flavor", e)),
                }
            }
            Err(e) => return Err(create_failed("Cannot create the flavor", e)),
        };
        let region = region_of(&client, planned);
        let id = flavor
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let specs = specs(planned);
        if !specs.is_empty()
            && let Err(error) = self.write_extra_specs(&client, &id, &specs, &[]).await
        {
            // The flavor exists: record it (tainted) rather than lose it.
            return Err(ApplyFailure {
                error,
                partial: self.value(&flavor, region).ok(),
                may_exist: true,
            });
        }
        let now = self.fetch(&client, &id).await?.ok_or_else(|| {
            ProviderError::new(
                "Flavor vanished",
                format!("Flavor {id} was created but cannot be read back."),
            )
        })?;
        Ok(self.value(&now, region)?)
    }

    async fn update(
        &self,
        prior: &Value,
        planned: &Value,
        marker: &Marker,
    ) -> Result<Value, ApplyFailure> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        if json_attr(planned, "description") != json_attr(prior, "description") {
            let description = marker::described(
                planned.get_attr("description").and_then(Value::as_str),
                marker,
            );
            client
                .put_json::<Json>(
                    Service::Compute,
                    &format!("/flavors/{id}"),
                    &json!({"flavor": {"description": description}}),
                )
                .await
                .map_err(|e| apply_failed("Cannot update the flavor's description", e))?;
        }
        let (before, after) = (specs(prior), specs(planned));
        if before != after {
            let removed: Vec<String> = before
                .keys()
                .filter(|k| !after.contains_key(*k))
                .cloned()
                .collect();
            let changed: Map<String, Json> = after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.write_extra_specs(&client, &id, &changed, &removed)
                .await?;
        }
        let now = self.fetch(&client, &id).await?.ok_or_else(|| {
            ProviderError::new(
                "Flavor vanished",
                format!("Flavor {id} disappeared while it was updated."),
            )
        })?;
        Ok(self.value(&now, json_attr(prior, "region"))?)
    }

    async fn delete(&self, prior: &Value) -> Result<(), ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        match client
            .delete(Service::Compute, &format!("/flavors/{id}"))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(failed("Cannot delete the flavor", e)),
        }
    }

    async fn read(&self, current: &Value) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(current)?;
        self.fetch(&client, &id)
            .await?
            .map(|f| self.value(&f, json_attr(current, "region")))
            .transpose()
    }

    async fn import(&self, id: &str) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let region = region_of(&client, &Value::NULL);
        self.fetch(&client, id)
            .await?
            .map(|f| self.value(&f, region))
            .transpose()
    }

    fn delete_command(&self, id: &str) -> Option<String> {
        Some(format!("openstack flavor delete {id}"))
    }

    async fn find_marked(&self, lineage: &str) -> Result<Vec<MarkedObject>, ProviderError> {
        let client = client(&self.session).await?;
        Ok(self
            .list(&client)
            .await?
            .iter()
            .filter_map(|f| {
                let found = f
                    .get("description")
                    .and_then(marker::from_description_json)?;
                let id = f.get("id")?.as_str()?.to_string();
                (found.lineage == lineage).then(|| MarkedObject {
                    marker: found,
                    id,
                    name: f.get("name").and_then(Json::as_str).map(str::to_string),
                    complete: true,
                })
            })
            .collect())
    }

    fn reads_in_bulk(&self) -> bool {
        true
    }

    /// One list of every flavor the project may use (public and private
    /// ones it has access to); only those it does not list are read one by
    /// one, to tell deleted from hidden.
    async fn read_all(&self, current: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let client = client(&self.session).await?;
        let listed = self.list(&client).await?;
        let by_id: HashMap<&str, &Json> = listed
            .iter()
            .filter_map(|f| f.get("id").and_then(Json::as_str).map(|id| (id, f)))
            .collect();
        let mut read = Vec::with_capacity(current.len());
        for c in current {
            let id = id_of(c)?;
            let region = json_attr(c, "region");
            read.push(match by_id.get(id.as_str()) {
                Some(f) => Some(self.value(f, region)?),
                None => self
                    .fetch(&client, &id)
                    .await?
                    .map(|f| self.value(&f, region))
                    .transpose()?,
            });
        }
        Ok(read)
    }
}
