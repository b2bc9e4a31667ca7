//! `openstack_networking_network_v2`: a Neutron network. Names, flags and
//! the MTU change in place; the project, availability zone hints and raw
//! `value_specs` replace it. Tags are replaced all at once through
//! `/networks/{id}/tags`.

use super::marker;
use super::neutron::{
    self, add_value_specs, check_description, delete_retrying_conflicts, import_basis,
    managed_tags, marked_description, null_as_empty, put_tags, read_all_by_ids,
};
use super::provider::Session;
use super::types::region_of;
use super::types::{
    SchemaBuilder, apply_failed, check_timeouts, client, create_failed, get_if_exists, id_of,
    json_attr, keep_timeouts, poll, state_value, timeout,
};
use super::{Client, Service};
use crate::lang::value::{Type, Value};
use crate::provider::{
    ApplyFailure, AttrMode, MarkedObject, Marker, PlannedState, ProviderError, ResourceType,
    Schema, plan_by_schema,
};
use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use std::sync::Arc;
use std::time::Duration;

/// The operations a `timeouts {}` block may time.
const TIMEOUTS: &[&str] = &["create", "delete"];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Attributes sent as they are, by their Neutron names, on create and
/// (when they changed) on update.
const UPDATABLE: &[(&str, &str)] = &[
    ("name", "name"),
    ("description", "description"),
    ("admin_state_up", "admin_state_up"),
    ("shared", "shared"),
    ("external", "router:external"),
    ("mtu", "mtu"),
    ("port_security_enabled", "port_security_enabled"),
    ("dns_domain", "dns_domain"),
];

pub struct Network {
    schema: Schema,
    session: Arc<Session>,
}

impl Network {
    pub fn new(session: Arc<Session>) -> Network {
        let schema = SchemaBuilder::default()
            .with_id_and_region()
            .attr("name", Type::String, AttrMode::Optional)
            .attr("description", Type::String, AttrMode::Optional)
            .attr("admin_state_up", Type::Bool, AttrMode::OptionalComputed)
            .attr("shared", Type::Bool, AttrMode::OptionalComputed)
            .attr("external", Type::Bool, AttrMode::OptionalComputed)
            .attr("mtu", Type::Number, AttrMode::OptionalComputed)
            .attr(
                "port_security_enabled",
                Type::Bool,
                AttrMode::OptionalComputed,
            )
            .attr("dns_domain", Type::String, AttrMode::OptionalComputed)
            .replacing(
                "availability_zone_hints",
                Type::set(Type::String),
                AttrMode::OptionalComputed,
            )
            .attr("tags", Type::set(Type::String), AttrMode::Optional)
            .attr("all_tags", Type::set(Type::String), AttrMode::Computed)
            .replacing("tenant_id", Type::String, AttrMode::OptionalComputed)
            .replacing("value_specs", Type::map(Type::String), AttrMode::Optional)
            .timeouts(TIMEOUTS)
            .build();
        Network { schema, session }
    }

    async fn fetch(&self, client: &Client, id: &str) -> Result<Option<Json>, ProviderError> {
        Ok(get_if_exists(
            client,
            Service::Network,
            &format!("/networks/{id}"),
            "Cannot read the network",
        )
        .await?
        .and_then(|body| body.get("network").cloned()))
    }

    /// The state of `network` as Neutron shows it; `known` is the state
    /// or configuration it is read for, which holds what Neutron does not
    /// report (value_specs, timeouts, which tags are managed).
    fn value(&self, network: &Json, known: &Value, region: Json) -> Result<Value, ProviderError> {
        let tags = network.get("tags").cloned().unwrap_or_else(|| json!([]));
        let mut state = Map::new();
        state.insert(
            "id".into(),
            network.get("id").cloned().unwrap_or(Json::Null),
        );
        state.insert("region".into(), region);
        for (attr, field) in UPDATABLE {
            state.insert(
                (*attr).into(),
                network.get(*field).cloned().unwrap_or(Json::Null),
            );
        }
        state.insert(
            "description".into(),
            marker::user_description(network.get("description"), json!("")),
        );
        state.insert(
            "availability_zone_hints".into(),
            network
                .get("availability_zone_hints")
                .cloned()
                .unwrap_or_else(|| json!([])),
        );
        state.insert(
            "tags".into(),
            managed_tags(&json_attr(known, "tags"), &tags),
        );
        state.insert("all_tags".into(), tags);
        state.insert(
            "tenant_id".into(),
            network.get("tenant_id").cloned().unwrap_or(Json::Null),
        );
        state.insert("value_specs".into(), json_attr(known, "value_specs"));
        keep_timeouts(&mut state, known);
        state_value(&self.schema, Json::Object(state))
    }

    /// Waits until Neutron has built the network (ACTIVE, or DOWN when its
    /// admin state is down).
    async fn wait_built(
        &self,
        client: &Client,
        id: &str,
        limit: Duration,
    ) -> Result<Json, ProviderError> {
        poll(&format!("Creating network {id}"), limit, || async {
            let Some(network) = self.fetch(client, id).await? else {
                return Err(ProviderError::new(
                    "Network vanished",
                    format!("Network {id} was created but disappeared while it was being built."),
                ));
            };
            match network.get("status").and_then(Json::as_str) {
                Some("ACTIVE") | Some("DOWN") => Ok(Some(network)),
                Some("BUILD") | None => Ok(None),
                Some(other) => Err(ProviderError::new(
                    "Network failed",
                    format!("Network {id} went to status {other} instead of ACTIVE."),
                )),
            }
        })
        .await
    }
}

#[async_trait]
impl ResourceType for Network {
    fn type_name(&self) -> &'static str {
        "openstack_networking_network_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> Result<PlannedState, ProviderError> {
        check_timeouts(config, TIMEOUTS)?;
        check_description(config)?;
        let mut planned = plan_by_schema(&self.schema, prior, config);
        if planned.requires_replace.is_empty() {
            planned.planned = null_as_empty(planned.planned, prior, &["name", "description"]);
        }
        Ok(planned)
    }

    async fn create(&self, planned: &Value, marker: &Marker) -> Result<Value, ApplyFailure> {
        let client = client(&self.session)
            .await
            .map_err(ApplyFailure::nothing_created)?;
        let limit =
            timeout(planned, "create", DEFAULT_TIMEOUT).map_err(ApplyFailure::nothing_created)?;
        let mut body = Map::new();
        for (attr, field) in UPDATABLE {
            let v = json_attr(planned, attr);
            if !v.is_null() {
                body.insert((*field).into(), v);
            }
        }
        body.insert("description".into(), marked_description(planned, marker));
        for attr in ["availability_zone_hints", "tenant_id"] {
            let v = json_attr(planned, attr);
            if !v.is_null() {
                body.insert(attr.into(), v);
            }
        }
        add_value_specs(&mut body, planned);
        let created: Json = client
            .post_json(Service::Network, "/networks", &json!({ "network": body }))
            .await
            .map_err(|e| create_failed("Cannot create the network", e))?;
        let network = created.get("network").cloned().unwrap_or(Json::Null);
        let id = network
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let region = region_of(&client, planned);
        // From here on the network exists: a failure records it (tainted)
        // rather than losing it.
        let partial = |error: ProviderError| ApplyFailure {
            error,
            partial: self.value(&network, planned, region.clone()).ok(),
            may_exist: true,
        };
        self.wait_built(&client, &id, limit)
            .await
            .map_err(partial)?;
        let tags = json_attr(planned, "tags");
        if tags.as_array().is_some_and(|t| !t.is_empty()) {
            put_tags(&client, "networks", &id, &tags)
                .await
                .map_err(partial)?;
        }
        let now = self.fetch(&client, &id).await.map_err(partial)?;
        let now = now.ok_or_else(|| {
            ProviderError::new(
                "Network vanished",
                format!("Network {id} was created but cannot be read back."),
            )
        })?;
        Ok(self.value(&now, planned, region)?)
    }

    async fn update(
        &self,
        prior: &Value,
        planned: &Value,
        marker: &Marker,
    ) -> Result<Value, ApplyFailure> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        let mut body = Map::new();
        for (attr, field) in UPDATABLE {
            let after = json_attr(planned, attr);
            if after != json_attr(prior, attr) {
                // Unset name and description mean empty ones.
                let after = match (after, *attr) {
                    (_, "description") => marked_description(planned, marker),
                    (Json::Null, "name") => json!(""),
                    (Json::Null, _) => continue,
                    (v, _) => v,
                };
                body.insert((*field).into(), after);
            }
        }
        if !body.is_empty() {
            client
                .put_json::<Json>(
                    Service::Network,
                    &format!("/networks/{id}"),
                    &json!({ "network": body }),
                )
                .await
                .map_err(|e| apply_failed("Cannot update the network", e))?;
        }
        let tags = json_attr(planned, "tags");
        if !tags.is_null() && tags != json_attr(prior, "tags") {
            put_tags(&client, "networks", &id, &tags).await?;
        }
        let now = self.fetch(&client, &id).await?.ok_or_else(|| {
            ProviderError::new(
                "Network vanished",
                format!("Network {id} disappeared while it was updated."),
            )
        })?;
        Ok(self.value(&now, planned, json_attr(prior, "region"))?)
    }

    /// Deletes the network and waits until it is gone. Neutron refuses
    /// (409) while ports it is still removing are on it: the delete is
    /// sent again until it succeeds or the timeout passes.
    async fn delete(&self, prior: &Value) -> Result<(), ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        let limit = timeout(prior, "delete", DEFAULT_TIMEOUT)?;
        delete_retrying_conflicts(
            &client,
            &format!("/networks/{id}"),
            "network",
            limit,
            || async {
                // Accepted: the network is gone once reading it says so.
                Ok(self.fetch(&client, &id).await?.is_none())
            },
        )
        .await
    }

    async fn read(&self, current: &Value) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(current)?;
        self.fetch(&client, &id)
            .await?
            .map(|n| self.value(&n, current, json_attr(current, "region")))
            .transpose()
    }

    async fn import(&self, id: &str) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let region = region_of(&client, &Value::NULL);
        let Some(network) = self.fetch(&client, id).await? else {
            return Ok(None);
        };
        let known = import_basis(&self.schema, &network)?;
        Ok(Some(self.value(&network, &known, region)?))
    }

    async fn find_marked(&self, lineage: &str) -> Result<Vec<MarkedObject>, ProviderError> {
        let client = client(&self.session).await?;
        neutron::find_marked(&client, "networks", lineage).await
    }

    fn delete_command(&self, id: &str) -> Option<String> {
        Some(format!("openstack network delete {id}"))
    }

    fn reads_in_bulk(&self) -> bool {
        true
    }

    /// One `GET /networks?id=A&id=B...` for all of them.
    async fn read_all(&self, current: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let client = client(&self.session).await?;
        read_all_by_ids(&client, "networks", current, |n, c| {
            self.value(n, c, json_attr(c, "region"))
        })
        .await
    }
}
