//! The `openstack_networking_network_v2` and `openstack_networking_subnet_v2`
//! data sources: one Neutron list call with the configured filters, which
//! must select exactly one object.

use super::neutron::{describe_filters, list, query};
use super::provider::Session;
use super::types::region_of;
use super::types::{SchemaBuilder, client, json_attr, state_value};
use crate::lang::value::{Type, Value};
use crate::provider::{AttrMode, DataSourceType, ProviderError, Schema};
use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A filter: the argument and the Neutron query key it becomes.
struct Filter {
    attr: &'static str,
    key: &'static str,
}

const fn filter(attr: &'static str, key: &'static str) -> Filter {
    Filter { attr, key }
}

/// The query pairs for the filters the configuration sets. Sets of tags
/// become one comma-separated `tags` filter (objects having all of them).
fn filter_pairs(config: &Value, filters: &[Filter]) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    for f in filters {
        match json_attr(config, f.attr) {
            Json::Null => {}
            Json::String(s) => pairs.push((f.key, s)),
            Json::Array(items) => {
                let tags: Vec<String> = items
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect();
                if !tags.is_empty() {
                    pairs.push((f.key, tags.join(",")));
                }
            }
            other => pairs.push((f.key, other.to_string())),
        }
    }
    pairs
}

/// The one object `filters` select, or an error naming them.
async fn find_one(
    session: &Arc<Session>,
    collection: &str,
    singular: &str,
    config: &Value,
    filters: &[Filter],
) -> Result<(Json, Json), ProviderError> {
    let client = client(session).await?;
    let mut found = list(&client, collection, &query(&filter_pairs(config, filters))).await?;
    let names: Vec<&str> = filters.iter().map(|f| f.attr).collect();
    let described = describe_filters(config, &names);
    match found.len() {
        0 => Err(ProviderError::new(
            format!("No {singular} found"),
            format!("No {singular} matches {described}."),
        )),
        1 => Ok((found.remove(0), region_of(&client, config))),
        n => Err(ProviderError::new(
            format!("More than one {singular} found"),
            format!("{n} {collection} match {described}; add filters to narrow it to one."),
        )),
    }
}

/// The configuration's arguments with what was read filled in.
fn merged(config: &Value, read: Map<String, Json>) -> Map<String, Json> {
    let mut out = read;
    if let Some(entries) = config.as_entries() {
        for (k, v) in entries {
            if !v.is_null() {
                out.insert(k.clone(), v.to_json());
            }
        }
    }
    out
}

pub struct NetworkData {
    schema: Schema,
    session: Arc<Session>,
}

const NETWORK_FILTERS: &[Filter] = &[
    filter("network_id", "id"),
    filter("name", "name"),
    filter("description", "description"),
    filter("external", "router:external"),
    filter("status", "status"),
    filter("mtu", "mtu"),
    filter("tenant_id", "tenant_id"),
    filter("tags", "tags"),
];

impl NetworkData {
    pub fn new(session: Arc<Session>) -> NetworkData {
        let schema = SchemaBuilder::default()
            .attr("id", Type::String, AttrMode::Computed)
            .attr("region", Type::String, AttrMode::OptionalComputed)
            .attr("network_id", Type::String, AttrMode::OptionalComputed)
            .attr("name", Type::String, AttrMode::OptionalComputed)
            .attr("description", Type::String, AttrMode::OptionalComputed)
            .attr("external", Type::Bool, AttrMode::OptionalComputed)
            .attr("status", Type::String, AttrMode::OptionalComputed)
            .attr("mtu", Type::Number, AttrMode::OptionalComputed)
            .attr("tenant_id", Type::String, AttrMode::OptionalComputed)
            .attr("tags", Type::set(Type::String), AttrMode::Optional)
            .attr("admin_state_up", Type::Bool, AttrMode::Computed)
            .attr("shared", Type::Bool, AttrMode::Computed)
            .attr("port_security_enabled", Type::Bool, AttrMode::Computed)
            .attr("dns_domain", Type::String, AttrMode::Computed)
            .attr(
                "availability_zone_hints",
                Type::set(Type::String),
                AttrMode::Computed,
            )
            .attr("subnets", Type::list(Type::String), AttrMode::Computed)
            .attr("all_tags", Type::set(Type::String), AttrMode::Computed)
            .build();
        NetworkData { schema, session }
    }
}

#[async_trait]
impl DataSourceType for NetworkData {
    fn type_name(&self) -> &'static str {
        "openstack_networking_network_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> Result<Value, ProviderError> {
        let (n, region) = find_one(
            &self.session,
            "networks",
            "network",
            config,
            NETWORK_FILTERS,
        )
        .await?;
        let field = |k: &str| n.get(k).cloned().unwrap_or(Json::Null);
        let read = json!({
            "id": field("id"),
            "region": region,
            "network_id": field("id"),
            "name": field("name"),
            "description": field("description"),
            "external": field("router:external"),
            "status": field("status"),
            "mtu": field("mtu"),
            "tenant_id": field("tenant_id"),
            "admin_state_up": field("admin_state_up"),
            "shared": field("shared"),
            "port_security_enabled": field("port_security_enabled"),
            "dns_domain": field("dns_domain"),
            "availability_zone_hints": field("availability_zone_hints"),
            "subnets": field("subnets"),
            "all_tags": field("tags"),
        });
        let read = match read {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        state_value(&self.schema, Json::Object(merged(config, read)))
    }
}

pub struct SubnetData {
    schema: Schema,
    session: Arc<Session>,
}

const SUBNET_FILTERS: &[Filter] = &[
    filter("subnet_id", "id"),
    filter("name", "name"),
    filter("description", "description"),
    filter("network_id", "network_id"),
    filter("cidr", "cidr"),
    filter("ip_version", "ip_version"),
    filter("gateway_ip", "gateway_ip"),
    filter("dhcp_enabled", "enable_dhcp"),
    filter("ipv6_address_mode", "ipv6_address_mode"),
    filter("ipv6_ra_mode", "ipv6_ra_mode"),
    filter("tenant_id", "tenant_id"),
    filter("tags", "tags"),
];

impl SubnetData {
    pub fn new(session: Arc<Session>) -> SubnetData {
        let object = |names: &[&str]| {
            Type::Object(
                names
                    .iter()
                    .map(|n| (n.to_string(), Type::String))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        let mut b = SchemaBuilder::default()
            .attr("id", Type::String, AttrMode::Computed)
            .attr("region", Type::String, AttrMode::OptionalComputed)
            .attr("ip_version", Type::Number, AttrMode::OptionalComputed)
            .attr("dhcp_enabled", Type::Bool, AttrMode::Optional)
            .attr("tags", Type::set(Type::String), AttrMode::Optional)
            .attr("enable_dhcp", Type::Bool, AttrMode::Computed)
            .attr(
                "dns_nameservers",
                Type::list(Type::String),
                AttrMode::Computed,
            )
            .attr(
                "allocation_pools",
                Type::list(object(&["start", "end"])),
                AttrMode::Computed,
            )
            .attr(
                "host_routes",
                Type::list(object(&["destination_cidr", "next_hop"])),
                AttrMode::Computed,
            )
            .attr("all_tags", Type::set(Type::String), AttrMode::Computed);
        for name in [
            "subnet_id",
            "name",
            "description",
            "network_id",
            "cidr",
            "gateway_ip",
            "ipv6_address_mode",
            "ipv6_ra_mode",
            "tenant_id",
        ] {
            b = b.attr(name, Type::String, AttrMode::OptionalComputed);
        }
        SubnetData {
            schema: b.build(),
            session,
        }
    }
}

#[async_trait]
impl DataSourceType for SubnetData {
    fn type_name(&self) -> &'static str {
        "openstack_networking_subnet_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> Result<Value, ProviderError> {
        let (s, region) =
            find_one(&self.session, "subnets", "subnet", config, SUBNET_FILTERS).await?;
        let field = |k: &str| s.get(k).cloned().unwrap_or(Json::Null);
        let routes: Vec<Json> = s
            .get("host_routes")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(
                |r| json!({"destination_cidr": r.get("destination"), "next_hop": r.get("nexthop")}),
            )
            .collect();
        let read = json!({
            "id": field("id"),
            "region": region,
            "subnet_id": field("id"),
            "name": field("name"),
            "description": field("description"),
            "network_id": field("network_id"),
            "cidr": field("cidr"),
            "ip_version": field("ip_version"),
            "gateway_ip": field("gateway_ip"),
            "enable_dhcp": field("enable_dhcp"),
            "ipv6_address_mode": field("ipv6_address_mode"),
            "ipv6_ra_mode": field("ipv6_ra_mode"),
            "tenant_id": field("tenant_id"),
            "dns_nameservers": field("dns_nameservers"),
            "allocation_pools": field("allocation_pools"),
            "host_routes": routes,
            "all_tags": field("tags"),
        });
        let read = match read {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        state_value(&self.schema, Json::Object(merged(config, read)))
    }
}
