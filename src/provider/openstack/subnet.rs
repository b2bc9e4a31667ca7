//! `openstack_networking_subnet_v2`: a Neutron subnet. Its network, CIDR,
//! IP version and IPv6 modes replace it; names, the gateway, DHCP, DNS
//! servers, allocation pools, host routes and tags change in place.
//! A CIDR with host bits set (`10.0.0.5/24`) is refused while planning:
//! Neutron would store `10.0.0.0/24` and every later plan would show a
//! difference.

use super::marker;
use super::neutron::{
    self, add_value_specs, check_description, delete_retrying_conflicts, import_basis,
    managed_tags, marked_description, null_as_empty, put_tags, read_all_by_ids, with_attr,
    with_defaults,
};
use super::provider::Session;
use super::types::region_of;
use super::types::{
    SchemaBuilder, apply_failed, check_timeouts, client, create_failed, get_if_exists, id_of,
    json_attr, keep_timeouts, poll, state_value, str_attr, timeout,
};
use super::{Client, Service};
use crate::lang::value::{Type, Value};
use crate::provider::{
    ApplyFailure, AttrMode, BlockSchema, MarkedObject, Marker, Nesting, PlannedState,
    ProviderError, ResourceType, Schema, plan_by_schema,
};
use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The operations a `timeouts {}` block may time.
const TIMEOUTS: &[&str] = &["create", "delete"];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Subnet {
    schema: Schema,
    session: Arc<Session>,
}

fn block(nesting: Nesting, schema: Schema) -> BlockSchema {
    BlockSchema {
        nesting,
        schema,
        min_items: 0,
        max_items: None,
        force_new: false,
    }
}

impl Subnet {
    pub fn new(session: Arc<Session>) -> Subnet {
        let pool = SchemaBuilder::default()
            .attr("start", Type::String, AttrMode::Required)
            .attr("end", Type::String, AttrMode::Required)
            .build();
        let route = SchemaBuilder::default()
            .attr("destination_cidr", Type::String, AttrMode::Required)
            .attr("next_hop", Type::String, AttrMode::Required)
            .build();
        let schema = SchemaBuilder::default()
            .with_id_and_region()
            .replacing("network_id", Type::String, AttrMode::Required)
            .replacing("cidr", Type::String, AttrMode::OptionalComputed)
            .replacing("ip_version", Type::Number, AttrMode::Optional)
            .attr("name", Type::String, AttrMode::Optional)
            .attr("description", Type::String, AttrMode::Optional)
            .attr("gateway_ip", Type::String, AttrMode::OptionalComputed)
            .attr("no_gateway", Type::Bool, AttrMode::Optional)
            .attr("enable_dhcp", Type::Bool, AttrMode::Optional)
            .attr(
                "dns_nameservers",
                Type::list(Type::String),
                AttrMode::Optional,
            )
            .block("allocation_pool", block(Nesting::Set, pool))
            .block("host_routes", block(Nesting::List, route))
            .replacing(
                "ipv6_address_mode",
                Type::String,
                AttrMode::OptionalComputed,
            )
            .replacing("ipv6_ra_mode", Type::String, AttrMode::OptionalComputed)
            .attr("tags", Type::set(Type::String), AttrMode::Optional)
            .attr("all_tags", Type::set(Type::String), AttrMode::Computed)
            .replacing("tenant_id", Type::String, AttrMode::OptionalComputed)
            .replacing("value_specs", Type::map(Type::String), AttrMode::Optional)
            .timeouts(TIMEOUTS)
            .build();
        Subnet { schema, session }
    }

    async fn fetch(&self, client: &Client, id: &str) -> Result<Option<Json>, ProviderError> {
        Ok(get_if_exists(
            client,
            Service::Network,
            &format!("/subnets/{id}"),
            "Cannot read the subnet",
        )
        .await?
        .and_then(|body| body.get("subnet").cloned()))
    }

    /// The state of `subnet` as Neutron shows it; `known` holds what
    /// Neutron does not report (no_gateway, value_specs, timeouts, which
    /// tags are managed).
    fn value(&self, subnet: &Json, known: &Value, region: Json) -> Result<Value, ProviderError> {
        let field = |k: &str| subnet.get(k).cloned().unwrap_or(Json::Null);
        let list = |k: &str| subnet.get(k).cloned().unwrap_or_else(|| json!([]));
        let tags = list("tags");
        let routes: Vec<Json> = list("host_routes")
            .as_array()
            .into_iter()
            .flatten()
            .map(
                |r| json!({"destination_cidr": r.get("destination"), "next_hop": r.get("nexthop")}),
            )
            .collect();
        let no_gateway = match json_attr(known, "no_gateway") {
            Json::Null => json!(field("gateway_ip").is_null()),
            v => v,
        };
        let state = json!({
            "id": field("id"),
            "region": region,
            "network_id": field("network_id"),
            "cidr": field("cidr"),
            "ip_version": field("ip_version"),
            "name": field("name"),
            "description": marker::user_description(subnet.get("description"), json!("")),
            "gateway_ip": field("gateway_ip"),
            "no_gateway": no_gateway,
            "enable_dhcp": field("enable_dhcp"),
            "dns_nameservers": list("dns_nameservers"),
            "allocation_pool": list("allocation_pools"),
            "host_routes": routes,
            "ipv6_address_mode": field("ipv6_address_mode"),
            "ipv6_ra_mode": field("ipv6_ra_mode"),
            "tags": managed_tags(&json_attr(known, "tags"), &tags),
            "all_tags": tags,
            "tenant_id": field("tenant_id"),
            "value_specs": json_attr(known, "value_specs"),
        });
        let mut state = match state {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        keep_timeouts(&mut state, known);
        state_value(&self.schema, Json::Object(state))
    }
}

/// The network address of `cidr` (`10.0.0.0/24` for `10.0.0.5/24`), or
/// `None` when it is not a CIDR at all.
pub fn canonical_cidr(cidr: &str) -> Option<String> {
    let (addr, prefix) = cidr.trim().split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u32 = prefix.parse().ok()?;
    match addr {
        IpAddr::V4(a) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            let net = std::net::Ipv4Addr::from(u32::from(a) & mask);
            Some(format!("{net}/{prefix}"))
        }
        IpAddr::V6(a) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            let net = std::net::Ipv6Addr::from(u128::from(a) & mask);
            Some(format!("{net}/{prefix}"))
        }
        _ => None,
    }
}

/// The first address after the network address, which Neutron makes
/// the gateway by default.
fn first_host(cidr: &str) -> Option<String> {
    let canonical = canonical_cidr(cidr)?;
    let (addr, _) = canonical.split_once('/')?;
    match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some(std::net::Ipv4Addr::from(u32::from(a).checked_add(1)?).to_string()),
        IpAddr::V6(a) => Some(std::net::Ipv6Addr::from(u128::from(a).checked_add(1)?).to_string()),
    }
}

fn check_cidr(config: &Value) -> Result<(), ProviderError> {
    let Some(cidr) = str_attr(config, "cidr") else {
        return Ok(());
    };
    match canonical_cidr(&cidr) {
        None => Err(ProviderError::new(
            "Invalid CIDR",
            format!(
                "cidr = {cidr:?} is not a CIDR; write it like \"10.0.0.0/24\" or \"2001:db8::/64\"."
            ),
        )),
        Some(canonical) if canonical != cidr => Err(ProviderError::new(
            "CIDR is not a network address",
            format!(
                "cidr = {cidr:?} has host bits set: Neutron would create {canonical:?} and every later plan would show a difference. Write cidr = {canonical:?}."
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// Neutron's allocation pools as a request body.
fn pools(value: &Value) -> Json {
    json_attr(value, "allocation_pool")
}

/// The host routes as Neutron names their keys.
fn routes(value: &Value) -> Json {
    Json::Array(
        json_attr(value, "host_routes")
            .as_array()
            .into_iter()
            .flatten()
            .map(
                |r| json!({"destination": r.get("destination_cidr"), "nexthop": r.get("next_hop")}),
            )
            .collect(),
    )
}

fn is_empty_list(v: &Json) -> bool {
    v.as_array().is_none_or(Vec::is_empty)
}

#[async_trait]
impl ResourceType for Subnet {
    fn type_name(&self) -> &'static str {
        "openstack_networking_subnet_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> Result<PlannedState, ProviderError> {
        check_timeouts(config, TIMEOUTS)?;
        check_cidr(config)?;
        check_description(config)?;
        let no_gateway = config.get_attr("no_gateway").and_then(Value::as_bool) == Some(true);
        if no_gateway && str_attr(config, "gateway_ip").is_some() {
            return Err(ProviderError::new(
                "Conflicting arguments",
                "gateway_ip and no_gateway = true cannot be set together: choose a gateway or none.",
            ));
        }
        let config = with_defaults(
            config,
            &[
                ("ip_version", Value::from(4)),
                ("enable_dhcp", Value::Bool(true)),
                ("no_gateway", Value::Bool(false)),
            ],
        );
        let mut planned = plan_by_schema(&self.schema, prior, &config);
        let kept = if planned.requires_replace.is_empty() {
            prior
        } else {
            None
        };
        planned.planned = null_as_empty(
            planned.planned,
            kept,
            &["name", "description", "dns_nameservers"],
        );
        // Pools not configured are Neutron's own, around the gateway.
        if config
            .get_attr("allocation_pool")
            .is_none_or(|p| p.length() == Some(0))
        {
            let pools = match kept.and_then(|p| p.get_attr("allocation_pool")) {
                Some(p) => p.clone(),
                None => Value::Unknown(
                    self.schema
                        .blocks
                        .get("allocation_pool")
                        .map_or(Type::Dynamic, |b| Type::set(b.schema.value_type())),
                ),
            };
            planned.planned = with_attr(&planned.planned, "allocation_pool", pools);
        }
        if no_gateway {
            planned.planned = with_attr(&planned.planned, "gateway_ip", Value::Null(Type::String));
        } else if let Some(prior) = kept
            && config.get_attr("gateway_ip").is_none_or(Value::is_null)
            && prior.get_attr("gateway_ip").is_none_or(Value::is_null)
        {
            // Dropping no_gateway gives the subnet Neutron's default
            // gateway back, as it would have had from the start.
            planned.planned =
                with_attr(&planned.planned, "gateway_ip", Value::Unknown(Type::String));
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
        body.insert("description".into(), marked_description(planned, marker));
        for attr in [
            "network_id",
            "cidr",
            "ip_version",
            "name",
            "enable_dhcp",
            "dns_nameservers",
            "ipv6_address_mode",
            "ipv6_ra_mode",
            "tenant_id",
        ] {
            let v = json_attr(planned, attr);
            if !v.is_null() {
                body.insert(attr.into(), v);
            }
        }
        if planned.get_attr("no_gateway").and_then(Value::as_bool) == Some(true) {
            body.insert("gateway_ip".into(), Json::Null);
        } else if let Some(gw) = str_attr(planned, "gateway_ip") {
            body.insert("gateway_ip".into(), json!(gw));
        }
        let pools = pools(planned);
        if !is_empty_list(&pools) {
            body.insert("allocation_pools".into(), pools);
        }
        let routes = routes(planned);
        if !is_empty_list(&routes) {
            body.insert("host_routes".into(), routes);
        }
        add_value_specs(&mut body, planned);
        let created: Json = client
            .post_json(Service::Network, "/subnets", &json!({ "subnet": body }))
            .await
            .map_err(|e| create_failed("Cannot create the subnet", e))?;
        let subnet = created.get("subnet").cloned().unwrap_or(Json::Null);
        let id = subnet
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let region = region_of(&client, planned);
        let partial = |error: ProviderError| ApplyFailure {
            error,
            partial: self.value(&subnet, planned, region.clone()).ok(),
            may_exist: true,
        };
        let tags = json_attr(planned, "tags");
        if !is_empty_list(&tags) {
            put_tags(&client, "subnets", &id, &tags)
                .await
                .map_err(partial)?;
        }
        // Subnets have no status: it is ready once it can be read.
        let now = poll(&format!("Creating subnet {id}"), limit, || async {
            self.fetch(&client, &id).await
        })
        .await
        .map_err(partial)?;
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
        let changed = |attr: &str| json_attr(planned, attr) != json_attr(prior, attr);
        if changed("name") {
            body.insert(
                "name".into(),
                match json_attr(planned, "name") {
                    Json::Null => json!(""),
                    v => v,
                },
            );
        }
        if changed("description") {
            body.insert("description".into(), marked_description(planned, marker));
        }
        if changed("enable_dhcp") {
            body.insert("enable_dhcp".into(), json_attr(planned, "enable_dhcp"));
        }
        if changed("dns_nameservers") {
            let servers = match json_attr(planned, "dns_nameservers") {
                Json::Null => json!([]),
                v => v,
            };
            body.insert("dns_nameservers".into(), servers);
        }
        let no_gateway = planned.get_attr("no_gateway").and_then(Value::as_bool) == Some(true);
        if no_gateway && !json_attr(prior, "gateway_ip").is_null() {
            body.insert("gateway_ip".into(), Json::Null);
        } else if let Some(gw) = str_attr(planned, "gateway_ip")
            && changed("gateway_ip")
        {
            body.insert("gateway_ip".into(), json!(gw));
        } else if planned
            .get_attr("gateway_ip")
            .is_some_and(|g| !g.is_known())
            && let Some(gw) = str_attr(prior, "cidr").and_then(|c| first_host(&c))
        {
            body.insert("gateway_ip".into(), json!(gw));
        }
        let pools = pools(planned);
        if !is_empty_list(&pools) && changed("allocation_pool") {
            body.insert("allocation_pools".into(), pools);
        }
        if changed("host_routes") {
            body.insert("host_routes".into(), routes(planned));
        }
        if !body.is_empty() {
            client
                .put_json::<Json>(
                    Service::Network,
                    &format!("/subnets/{id}"),
                    &json!({ "subnet": body }),
                )
                .await
                .map_err(|e| apply_failed("Cannot update the subnet", e))?;
        }
        let tags = json_attr(planned, "tags");
        if !tags.is_null() && changed("tags") {
            put_tags(&client, "subnets", &id, &tags).await?;
        }
        let now = self.fetch(&client, &id).await?.ok_or_else(|| {
            ProviderError::new(
                "Subnet vanished",
                format!("Subnet {id} disappeared while it was updated."),
            )
        })?;
        Ok(self.value(&now, planned, json_attr(prior, "region"))?)
    }

    /// Deletes the subnet. Neutron refuses (409 SubnetInUse) while a port
    /// holds an address in it — often one being removed at the same time
    /// (a server's port): the delete is sent again, with backoff, until it
    /// succeeds or the timeout passes, and then the error is Neutron's.
    async fn delete(&self, prior: &Value) -> Result<(), ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        let limit = timeout(prior, "delete", DEFAULT_TIMEOUT)?;
        delete_retrying_conflicts(
            &client,
            &format!("/subnets/{id}"),
            "subnet",
            limit,
            || async { Ok(true) },
        )
        .await
    }

    async fn read(&self, current: &Value) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(current)?;
        self.fetch(&client, &id)
            .await?
            .map(|s| self.value(&s, current, json_attr(current, "region")))
            .transpose()
    }

    async fn import(&self, id: &str) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let region = region_of(&client, &Value::NULL);
        let Some(subnet) = self.fetch(&client, id).await? else {
            return Ok(None);
        };
        let known = import_basis(&self.schema, &subnet)?;
        Ok(Some(self.value(&subnet, &known, region)?))
    }

    async fn find_marked(&self, lineage: &str) -> Result<Vec<MarkedObject>, ProviderError> {
        let client = client(&self.session).await?;
        neutron::find_marked(&client, "subnets", lineage).await
    }

    fn delete_command(&self, id: &str) -> Option<String> {
        Some(format!("openstack subnet delete {id}"))
    }

    fn reads_in_bulk(&self) -> bool {
        true
    }

    /// One `GET /subnets?id=A&id=B...` for all of them.
    async fn read_all(&self, current: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let client = client(&self.session).await?;
        read_all_by_ids(&client, "subnets", current, |s, c| {
            self.value(s, c, json_attr(c, "region"))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_cidrs_clear_the_host_bits() {
        assert_eq!(
            canonical_cidr("10.0.0.5/24").as_deref(),
            Some("10.0.0.0/24")
        );
        assert_eq!(
            canonical_cidr("10.0.0.0/24").as_deref(),
            Some("10.0.0.0/24")
        );
        assert_eq!(canonical_cidr("0.0.0.0/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(
            canonical_cidr("2001:db8::1/64").as_deref(),
            Some("2001:db8::/64")
        );
        assert_eq!(canonical_cidr("10.0.0.0/33"), None);
        assert_eq!(canonical_cidr("10.0.0.0"), None);
    }

    #[test]
    fn the_default_gateway_is_the_first_host() {
        assert_eq!(first_host("10.1.2.0/24").as_deref(), Some("10.1.2.1"));
        assert_eq!(first_host("2001:db8::/64").as_deref(), Some("2001:db8::1"));
    }
}
