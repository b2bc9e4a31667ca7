//! The state document, format version 1 (documented in `state/README.md`,
//! schema in `state/schema.json`).
//!
//! The state records, for every resource instance stackform manages, the
//! attributes the provider last reported, so the next plan can compare
//! them with the configuration. Attributes are kept as JSON here: turning
//! them into typed values needs the resource type's schema, which is the
//! planner's business, not the state's.

use crate::addr::{ConfigAddr, InstanceKey, ModuleInstance, ResourceAddr};
use crate::lang::refs::ResourceMode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub format_version: u32,
    /// Fixed when the state is first created; a state of another lineage
    /// describes another stack.
    pub lineage: String,
    /// Bumped on every write.
    pub serial: u64,
    /// The stackform version that wrote this state.
    pub tool_version: String,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
    /// Sorted by address.
    #[serde(default)]
    pub resources: Vec<ResourceState>,
    /// Creates that were sent, or about to be, when a run stopped, and
    /// whose outcome no record tells: each object may exist. They are
    /// resolved before the next plan, by finding the object that carries
    /// the intent's token. Sorted by address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Intent>,
}

/// A create about to be sent: the journal records it before the call,
/// and the call writes the same token into the object it creates (see
/// `provider::Marker`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// The resource instance the object is created for.
    pub address: String,
    /// `create`, or `replace` when an object at the address is being
    /// replaced.
    pub action: String,
    /// Unique to the attempt. Empty in journals of versions that wrote
    /// no markers: such an intent can only be resolved by address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputState {
    pub value: serde_json::Value,
    /// The value's type in cty's JSON form (`"string"`, `["list","number"]`).
    #[serde(rename = "type")]
    pub value_type: serde_json::Value,
    #[serde(default, skip_serializing_if = "is_false")]
    pub sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Managed,
    Data,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The object exists as recorded.
    #[default]
    Ok,
    /// The object exists but failed to be created or configured fully; the
    /// next plan replaces it.
    Tainted,
}

/// A step of a path into attributes: a string for an attribute or map key,
/// a number for a list index (`["input", "tags", 0]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathStepJson {
    Index(u64),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceState {
    /// `module.net[0].terraform_data.web[0]`: must agree with module,
    /// mode, type, name and index.
    pub address: String,
    /// The module instance the resource belongs to (`module.net[0]`);
    /// absent for the root module.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub module: String,
    pub mode: Mode,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    /// The count index (number) or for_each key (string); absent for a
    /// resource without either.
    #[serde(default, skip_serializing_if = "InstanceKey::is_none")]
    pub index: InstanceKey,
    /// Which provider manages it: `builtin` (terraform_data) or `openstack`.
    pub provider: String,
    /// The object's id in the cloud, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub schema_version: u32,
    /// The attributes as the provider last reported them. Attributes whose
    /// schema type is dynamic are stored as `{"value": ..., "type": ...}`.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Paths inside `attributes` that hold sensitive values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<Vec<PathStepJson>>,
    /// Resources (config addresses, e.g. `terraform_data.net`) this one
    /// depended on when it was last applied; destroy order follows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
}

impl ResourceState {
    /// The address its fields give (a `module` that does not parse
    /// counts as the root module, and the record as inconsistent).
    pub fn addr(&self) -> ResourceAddr {
        let module: ModuleInstance = self.module.parse().unwrap_or_default();
        let block = ConfigAddr {
            module: module.path(),
            mode: match self.mode {
                Mode::Managed => ResourceMode::Managed,
                Mode::Data => ResourceMode::Data,
            },
            type_name: self.type_name.clone(),
            name: self.name.clone(),
        };
        block.instance_in(&module, self.index.clone())
    }

    /// Whether `address` agrees with module, mode, type, name and index.
    pub fn is_consistent(&self) -> bool {
        self.module.parse::<ModuleInstance>().is_ok() && self.addr().to_string() == self.address
    }

    /// Moves the record to another address.
    pub fn relocate(&mut self, addr: &ResourceAddr) {
        self.address = addr.to_string();
        self.module = addr.module_instance().to_string();
        self.type_name = addr.resource.type_name.clone();
        self.name = addr.resource.name.clone();
        self.index = addr.key.clone();
    }
}

impl State {
    /// A new, empty state with a fresh lineage. Its serial is 0: the first
    /// write makes it 1.
    pub fn new() -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            tool_version: crate::VERSION.to_string(),
            outputs: BTreeMap::new(),
            resources: Vec::new(),
            intents: Vec::new(),
        }
    }

    pub fn resource(&self, address: &str) -> Option<&ResourceState> {
        self.resources
            .binary_search_by(|r| r.address.as_str().cmp(address))
            .ok()
            .map(|i| &self.resources[i])
            .or_else(|| self.resources.iter().find(|r| r.address == address))
    }

    /// Inserts or replaces a resource, keeping the list sorted by address.
    pub fn put_resource(&mut self, resource: ResourceState) {
        match self
            .resources
            .binary_search_by(|r| r.address.cmp(&resource.address))
        {
            Ok(i) => self.resources[i] = resource,
            Err(i) => self.resources.insert(i, resource),
        }
    }

    pub fn remove_resource(&mut self, address: &str) -> Option<ResourceState> {
        self.resources
            .iter()
            .position(|r| r.address == address)
            .map(|i| self.resources.remove(i))
    }

    /// Records an intent, replacing any other intent for its address (a
    /// later attempt supersedes an earlier one only once the earlier one
    /// was resolved, so the two never both matter).
    pub fn put_intent(&mut self, intent: Intent) {
        match self
            .intents
            .binary_search_by(|i| i.address.cmp(&intent.address))
        {
            Ok(i) => self.intents[i] = intent,
            Err(i) => self.intents.insert(i, intent),
        }
    }

    /// Removes the intent for `address`, if any.
    pub fn remove_intent(&mut self, address: &str) -> Option<Intent> {
        self.intents
            .iter()
            .position(|i| i.address == address)
            .map(|i| self.intents.remove(i))
    }

    /// Whether the state holds nothing worth keeping.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.outputs.is_empty() && self.intents.is_empty()
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(address: &str) -> ResourceState {
        let addr: ResourceAddr = address.parse().unwrap();
        ResourceState {
            address: address.to_string(),
            module: addr.module_instance().to_string(),
            mode: Mode::Managed,
            type_name: addr.resource.type_name.clone(),
            name: addr.resource.name.clone(),
            index: addr.key.clone(),
            provider: "builtin".into(),
            id: Some("x".into()),
            status: Status::Ok,
            schema_version: 0,
            attributes: serde_json::Map::new(),
            sensitive_paths: vec![],
            dependencies: vec![],
        }
    }

    #[test]
    fn resources_stay_sorted_and_unique() {
        let mut s = State::new();
        s.put_resource(resource("terraform_data.b"));
        s.put_resource(resource("terraform_data.a[1]"));
        s.put_resource(resource("terraform_data.a[0]"));
        s.put_resource(resource("terraform_data.b"));
        let addrs: Vec<&str> = s.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(
            addrs,
            [
                "terraform_data.a[0]",
                "terraform_data.a[1]",
                "terraform_data.b"
            ]
        );
        assert!(s.resource("terraform_data.a[1]").is_some());
        assert!(s.remove_resource("terraform_data.a[0]").is_some());
        assert!(s.resource("terraform_data.a[0]").is_none());
    }

    #[test]
    fn the_address_must_agree_with_its_parts() {
        let mut r = resource("terraform_data.web[\"k\"]");
        assert!(r.is_consistent());
        r.index = InstanceKey::Int(0);
        assert!(!r.is_consistent());
    }

    #[test]
    fn index_serializes_as_number_or_string() {
        let json = serde_json::to_value(resource("terraform_data.a[3]")).unwrap();
        assert_eq!(json["index"], serde_json::json!(3));
        let json = serde_json::to_value(resource("terraform_data.a[\"k\"]")).unwrap();
        assert_eq!(json["index"], serde_json::json!("k"));
        let json = serde_json::to_value(resource("terraform_data.a")).unwrap();
        assert!(json.get("index").is_none());
    }
}
