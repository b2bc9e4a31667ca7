//! The resource-type contract: a schema, planning, create/read/update/
//! delete. The planner and the apply walker talk only to this contract;
//! the built-in `terraform_data` and the OpenStack resource types
//! implement it.
//!
//! Values crossing this boundary carry no sensitive marks (the planner
//! removes them and puts them back): a resource type never decides what
//! is shown to the user.

pub mod builtin;
pub mod openstack;

use crate::lang::refs::ResourceMode;
use crate::lang::value::{Path, PathStep, Type, Value};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How an attribute is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrMode {
    Required,
    Optional,
    /// Set by the provider only.
    Computed,
    /// Set by the user, or by the provider when the user does not.
    OptionalComputed,
}

#[derive(Clone, Debug)]
pub struct AttributeSchema {
    pub ty: Type,
    pub mode: AttrMode,
    /// A change forces the object to be replaced.
    pub force_new: bool,
    /// The value is never shown.
    pub sensitive: bool,
    pub description: &'static str,
}

impl AttributeSchema {
    pub fn new(ty: Type, mode: AttrMode) -> AttributeSchema {
        AttributeSchema {
            ty,
            mode,
            force_new: false,
            sensitive: false,
            description: "",
        }
    }

    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    pub fn describe(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    pub fn settable(&self) -> bool {
        self.mode != AttrMode::Computed
    }
}

/// How repeated nested blocks are collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one block: an object, or null.
    Single,
    /// Blocks in order: a list of objects.
    List,
    /// Blocks without order: a set of objects.
    Set,
}

#[derive(Clone, Debug)]
pub struct BlockSchema {
    pub nesting: Nesting,
    pub schema: Schema,
    pub min_items: usize,
    pub max_items: Option<usize>,
    pub force_new: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub attributes: BTreeMap<String, AttributeSchema>,
    pub blocks: BTreeMap<String, BlockSchema>,
}

impl Schema {
    /// The object type of a whole value of this schema.
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|(k, a)| (k.clone(), a.ty.clone()))
            .collect();
        for (name, block) in &self.blocks {
            let obj = block.schema.value_type();
            attrs.insert(
                name.clone(),
                match block.nesting {
                    Nesting::Single => obj,
                    Nesting::List => Type::list(obj),
                    Nesting::Set => Type::set(obj),
                },
            );
        }
        Type::Object(attrs)
    }

    /// Paths of the attributes the schema calls sensitive.
    pub fn sensitive_paths(&self) -> Vec<Path> {
        self.attributes
            .iter()
            .filter(|(_, a)| a.sensitive)
            .map(|(k, _)| vec![PathStep::Attr(k.clone())])
            .collect()
    }
}

/// A failed provider operation, in the words the user should see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{summary}: {detail}")]
pub struct ProviderError {
    pub summary: String,
    pub detail: String,
}

impl ProviderError {
    pub fn new(summary: impl Into<String>, detail: impl Into<String>) -> ProviderError {
        ProviderError {
            summary: summary.into(),
            detail: detail.into(),
        }
    }

    /// The error without the sensitive parts of `value`, what the failed
    /// operation was given: providers see values without marks, and
    /// their messages (or the cloud's) may quote them.
    pub fn without_secrets_of(self, value: &Value) -> ProviderError {
        if !value.contains_sensitive() {
            return self;
        }
        ProviderError {
            summary: value.hide_secrets_in(&self.summary),
            detail: value.hide_secrets_in(&self.detail),
        }
    }
}

/// A create or update that failed. When the object was created but did
/// not become usable (a server that went to ERROR), `partial` is its
/// state: it is recorded as tainted, so the next plan replaces it
/// instead of creating a duplicate.
#[derive(Debug, Clone)]
pub struct ApplyFailure {
    pub error: ProviderError,
    pub partial: Option<Value>,
    /// Whether the object may exist although `partial` is `None`: a
    /// create whose request may have reached the cloud (a timeout, a 5xx,
    /// a failure after the create was accepted) keeps its intent, so the
    /// next run looks for the object by its marker. Only a failure known
    /// to have created nothing (the request was never sent, or refused
    /// with a 4xx) says `false`.
    pub may_exist: bool,
}

impl ApplyFailure {
    /// A failure that certainly created nothing.
    pub fn nothing_created(error: ProviderError) -> ApplyFailure {
        ApplyFailure {
            error,
            partial: None,
            may_exist: false,
        }
    }
}

impl From<ProviderError> for ApplyFailure {
    /// Unless said otherwise, a failure may have left an object behind:
    /// assuming so costs one list call on the next run, assuming not
    /// could lose an object.
    fn from(error: ProviderError) -> Self {
        ApplyFailure {
            error,
            partial: None,
            may_exist: true,
        }
    }
}

/// What stackform writes into every object it creates, in the create
/// call itself where the API allows it, so that an object whose create
/// was never recorded (the run was killed between the call and the
/// journal) can be found again: the state's lineage, the resource
/// address, and a token unique to the create attempt, which the journal
/// recorded before the call was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub lineage: String,
    pub address: String,
    pub token: String,
}

/// The address a marker names: in full where the API leaves room for it
/// (metadata, properties), else as [`address_digest`] (a description
/// shared with the user's text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarkedAddress {
    Exact(String),
    Digest(String),
}

impl MarkedAddress {
    /// Whether this names `address`.
    pub fn names(&self, address: &str) -> bool {
        match self {
            MarkedAddress::Exact(a) => a == address,
            MarkedAddress::Digest(d) => *d == address_digest(address),
        }
    }
}

/// A marker as read back from an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundMarker {
    pub lineage: String,
    pub address: MarkedAddress,
    pub token: String,
}

/// The short digest of a resource address that markers carry where an
/// API has no room for the address itself: the first 12 hex digits of
/// its SHA-256 (48 bits: a collision between two addresses of one stack
/// is not a practical concern, and the token decides which object an
/// intent created).
pub fn address_digest(address: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(address.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An object in the cloud that carries a marker of the state's lineage,
/// as one list call shows it (its whole state comes from `import`, for
/// the few that are adopted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkedObject {
    pub marker: FoundMarker,
    pub id: String,
    /// Its name in the cloud, for messages.
    pub name: Option<String>,
    /// Whether its create finished (a server built, an image with its
    /// data): one that did not is adopted as tainted, so the next plan
    /// replaces it.
    pub complete: bool,
}

/// What a resource type proposes for a configuration.
#[derive(Debug, Clone)]
pub struct PlannedState {
    /// The new state as far as it is known before apply.
    pub planned: Value,
    /// The attributes whose change forces replacement (empty: none).
    pub requires_replace: Vec<Path>,
}

#[async_trait]
pub trait ResourceType: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// The provider that owns it, as recorded in the state.
    fn provider(&self) -> &'static str;
    fn schema(&self) -> &Schema;

    /// Proposes the new state for `config` (which may contain unknowns):
    /// `prior` is `None` for a create.
    fn plan(&self, prior: Option<&Value>, config: &Value) -> Result<PlannedState, ProviderError> {
        Ok(plan_by_schema(self.schema(), prior, config))
    }

    /// Sensitive paths of the planned state that follow from sensitive
    /// paths of the configuration, for attributes the resource type
    /// computes from configured ones.
    fn derived_sensitive_paths(&self, _config_marks: &[Path]) -> Vec<Path> {
        Vec::new()
    }

    /// Why updating the object in place from `before` to `after` (both
    /// without sensitive marks) disrupts it, e.g. stops or restarts it;
    /// `None` when the update is harmless. Plans show the reason so that
    /// a disruptive `~` update cannot pass for a harmless one.
    fn update_disruption(&self, before: &Value, after: &Value) -> Option<String> {
        let _ = (before, after);
        None
    }

    /// Creates the object, writing `marker` into it (see [`Marker`]);
    /// returns its state.
    async fn create(&self, planned: &Value, marker: &Marker) -> Result<Value, ApplyFailure>;
    /// Updates the object in place; returns its new state. A type that
    /// rewrites the field its marker lives in (a description) writes
    /// `marker` again.
    async fn update(
        &self,
        prior: &Value,
        planned: &Value,
        marker: &Marker,
    ) -> Result<Value, ApplyFailure>;
    async fn delete(&self, prior: &Value) -> Result<(), ProviderError>;
    /// Reads the object as it is now; `None` when it no longer exists.
    async fn read(&self, current: &Value) -> Result<Option<Value>, ProviderError>;

    /// The state of the existing object `id`, for `import`: `None` when
    /// there is no such object. Types that cannot be imported say so (the
    /// default).
    async fn import(&self, id: &str) -> Result<Option<Value>, ProviderError> {
        let _ = id;
        Err(ProviderError::new(
            "Resource type does not support import",
            format!(
                "Objects of type {} cannot be imported: stackform can only create them.",
                self.type_name()
            ),
        ))
    }

    /// The command a user runs to delete object `id` of this type (the
    /// OpenStack CLI's), for objects stackform reports but will not
    /// delete itself.
    fn delete_command(&self, id: &str) -> Option<String> {
        let _ = id;
        None
    }

    /// Waits for the create of object `id` to finish, when the cloud
    /// finishes it on its own (a server building): a run killed during
    /// the wait for it leaves the rest of the work to the cloud. Answers
    /// whether the object is now complete; types whose objects need the
    /// creator's help to finish (an image waiting for its data) say no.
    async fn finish_create(&self, id: &str) -> Result<bool, ProviderError> {
        let _ = id;
        Ok(false)
    }

    /// Every object of this type that carries a marker of `lineage`, in
    /// one list call (and its pages). Types whose objects live nowhere but
    /// in the state (`terraform_data`) find nothing.
    async fn find_marked(&self, lineage: &str) -> Result<Vec<MarkedObject>, ProviderError> {
        let _ = lineage;
        Ok(Vec::new())
    }

    /// Whether `read_all` reads many objects in fewer API calls than one
    /// each (a filtered list), so that refresh hands it every instance of
    /// the type at once.
    fn reads_in_bulk(&self) -> bool {
        false
    }

    /// Reads several objects of this type as they are now: one answer per
    /// item of `current`, in order (`None`: gone).
    async fn read_all(&self, current: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let mut read = Vec::with_capacity(current.len());
        for c in current {
            read.push(self.read(c).await?);
        }
        Ok(read)
    }
}

/// A provider: its `provider` block is checked against its schema by
/// `validate`, evaluated, and handed over once per run before any of its
/// types is used.
pub trait ProviderType: Send + Sync {
    /// `openstack`: the name its `provider` block and type prefixes use.
    fn name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    /// Takes the evaluated `provider` block (null when there is none).
    /// Contacts nothing: a run that needs no API call makes none.
    fn configure(&self, config: &Value) -> Result<(), ProviderError>;
}

/// A data source: reads an existing object that a configuration selects
/// by its arguments (a name, filters), at plan time.
#[async_trait]
pub trait DataSourceType: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// The provider that owns it.
    fn provider(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    /// Reads what `config` (wholly known) selects and returns the whole
    /// value: the arguments as given plus what was read. No match, or
    /// several where one is wanted, is an error naming the filters.
    async fn read(&self, config: &Value) -> Result<Value, ProviderError>;
}

/// The planning rule most resource types follow: the configuration wins
/// for what the user set; computed attributes keep their prior value (or
/// become unknown on create); a change of a `force_new` attribute forces
/// replacement, and then every computed attribute is unknown again.
pub fn plan_by_schema(schema: &Schema, prior: Option<&Value>, config: &Value) -> PlannedState {
    let mut requires_replace = Vec::new();
    if let Some(prior) = prior {
        for (name, attr) in &schema.attributes {
            if !attr.force_new {
                continue;
            }
            let before = prior.get_attr(name).cloned().unwrap_or(Value::NULL);
            let after = config.get_attr(name).cloned().unwrap_or(Value::NULL);
            let unchanged = before.same_as(&after)
                || attr.mode == AttrMode::OptionalComputed && after.is_null();
            if !unchanged {
                requires_replace.push(vec![PathStep::Attr(name.clone())]);
            }
        }
        for (name, block) in &schema.blocks {
            if block.force_new {
                let before = prior.get_attr(name).cloned().unwrap_or(Value::NULL);
                let after = config.get_attr(name).cloned().unwrap_or(Value::NULL);
                if !before.same_as(&after) {
                    requires_replace.push(vec![PathStep::Attr(name.clone())]);
                }
            }
        }
    }
    let replacing = prior.is_none() || !requires_replace.is_empty();
    let mut attrs = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let configured = config
            .get_attr(name)
            .cloned()
            .unwrap_or(Value::Null(attr.ty.clone()));
        let value = match attr.mode {
            AttrMode::Required | AttrMode::Optional => configured,
            AttrMode::Computed | AttrMode::OptionalComputed if configured.is_null() => {
                match prior.and_then(|p| p.get_attr(name)) {
                    Some(v) if !replacing => v.clone(),
                    _ => Value::Unknown(attr.ty.clone()),
                }
            }
            AttrMode::Computed | AttrMode::OptionalComputed => configured,
        };
        attrs.insert(name.clone(), value);
    }
    for name in schema.blocks.keys() {
        attrs.insert(
            name.clone(),
            config.get_attr(name).cloned().unwrap_or(Value::NULL),
        );
    }
    PlannedState {
        planned: Value::object(attrs),
        requires_replace,
    }
}

/// The resource types available to a run.
#[derive(Clone, Default)]
pub struct Providers {
    resources: BTreeMap<&'static str, Arc<dyn ResourceType>>,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSourceType>>,
    providers: BTreeMap<&'static str, Arc<dyn ProviderType>>,
}

impl Providers {
    /// Only the built-in resource types.
    pub fn builtin() -> Providers {
        let mut p = Providers::default();
        p.register(Arc::new(builtin::TerraformData::new()));
        p
    }

    pub fn register(&mut self, resource_type: Arc<dyn ResourceType>) {
        self.resources
            .insert(resource_type.type_name(), resource_type);
    }

    pub fn resource(&self, type_name: &str) -> Option<&Arc<dyn ResourceType>> {
        self.resources.get(type_name)
    }

    pub fn resource_type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.resources.keys().copied()
    }

    pub fn register_data_source(&mut self, data_source: Arc<dyn DataSourceType>) {
        self.data_sources
            .insert(data_source.type_name(), data_source);
    }

    pub fn data_source(&self, type_name: &str) -> Option<&Arc<dyn DataSourceType>> {
        self.data_sources.get(type_name)
    }

    pub fn data_source_type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.data_sources.keys().copied()
    }

    pub fn register_provider(&mut self, provider: Arc<dyn ProviderType>) {
        self.providers.insert(provider.name(), provider);
    }

    pub fn provider(&self, name: &str) -> Option<&Arc<dyn ProviderType>> {
        self.providers.get(name)
    }

    pub fn provider_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.providers.keys().copied()
    }

    /// Every provider, by name.
    pub fn all_providers(&self) -> impl Iterator<Item = &Arc<dyn ProviderType>> + '_ {
        self.providers.values()
    }

    /// The schema of a resource type (`Managed`) or data source (`Data`).
    pub fn schema(&self, mode: ResourceMode, type_name: &str) -> Option<&Schema> {
        match mode {
            ResourceMode::Managed => self.resource(type_name).map(|r| r.schema()),
            ResourceMode::Data => self.data_source(type_name).map(|d| d.schema()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        let mut s = Schema::default();
        s.attributes.insert(
            "name".into(),
            AttributeSchema::new(Type::String, AttrMode::Required),
        );
        s.attributes.insert(
            "image".into(),
            AttributeSchema::new(Type::String, AttrMode::Required).force_new(),
        );
        s.attributes.insert(
            "id".into(),
            AttributeSchema::new(Type::String, AttrMode::Computed),
        );
        s
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn create_leaves_computed_attributes_unknown() {
        let p = plan_by_schema(
            &schema(),
            None,
            &obj(&[("name", "a".into()), ("image", "x".into())]),
        );
        assert!(!p.planned.get_attr("id").unwrap().is_known());
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn update_keeps_computed_attributes_and_force_new_replaces() {
        let prior = obj(&[
            ("name", "a".into()),
            ("image", "x".into()),
            ("id", "1".into()),
        ]);
        let p = plan_by_schema(
            &schema(),
            Some(&prior),
            &obj(&[("name", "b".into()), ("image", "x".into())]),
        );
        assert_eq!(p.planned.get_attr("id").unwrap().as_str(), Some("1"));
        assert!(p.requires_replace.is_empty());
        let p = plan_by_schema(
            &schema(),
            Some(&prior),
            &obj(&[("name", "a".into()), ("image", "y".into())]),
        );
        assert_eq!(
            p.requires_replace,
            vec![vec![PathStep::Attr("image".into())]]
        );
        assert!(!p.planned.get_attr("id").unwrap().is_known());
    }
}
