//! The values known so far in a run, as the language's references see
//! them: variables, locals, and for each resource block the value of all
//! its instances (an object for a single instance, a tuple under `count`,
//! an object keyed by `for_each` key).
//!
//! At plan time a resource's value holds unknowns where the provider
//! cannot know yet; at apply time it fills in as instances finish. Apply
//! evaluates on many tasks at once, so the maps sit behind locks that are
//! held only to clone an `Arc`-backed value in or out.

use crate::addr::{ConfigAddr, InstanceKey};
use crate::lang::eval::{Scope, ScopeError};
use crate::lang::refs::{PathAttr, Reference};
use crate::lang::value::{Type, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// How a resource block expands into instances.
#[derive(Clone, Debug, PartialEq)]
pub enum Expansion {
    Single,
    Count(usize),
    /// Keys with their `each.value`.
    ForEach(BTreeMap<String, Value>),
}

impl Expansion {
    pub fn keys(&self) -> Vec<InstanceKey> {
        match self {
            Expansion::Single => vec![InstanceKey::None],
            Expansion::Count(n) => (0..*n as u64).map(InstanceKey::Int).collect(),
            Expansion::ForEach(m) => m.keys().map(|k| InstanceKey::Str(k.clone())).collect(),
        }
    }

    /// The value of the whole resource from its instances' values.
    pub fn aggregate(&self, instances: &HashMap<InstanceKey, Value>) -> Value {
        let get = |k: &InstanceKey| instances.get(k).cloned().unwrap_or_else(Value::unknown);
        match self {
            Expansion::Single => get(&InstanceKey::None),
            Expansion::Count(n) => {
                Value::tuple((0..*n as u64).map(|i| get(&InstanceKey::Int(i))).collect())
            }
            Expansion::ForEach(m) => Value::object(
                m.keys()
                    .map(|k| (k.clone(), get(&InstanceKey::Str(k.clone()))))
                    .collect(),
            ),
        }
    }
}

pub struct RunValues {
    /// The configuration directory: what `path.module` and `path.root`
    /// name, and where `file()` looks.
    pub dir: PathBuf,
    vars: BTreeMap<String, Value>,
    locals: RwLock<HashMap<String, Value>>,
    resources: RwLock<HashMap<ConfigAddr, Value>>,
}

impl RunValues {
    pub fn new(dir: &Path, vars: BTreeMap<String, Value>) -> RunValues {
        RunValues {
            dir: dir.to_path_buf(),
            vars,
            locals: RwLock::default(),
            resources: RwLock::default(),
        }
    }

    pub fn variables(&self) -> &BTreeMap<String, Value> {
        &self.vars
    }

    pub fn set_local(&self, name: &str, value: Value) {
        self.locals
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), value);
    }

    pub fn set_resource(&self, addr: &ConfigAddr, value: Value) {
        self.resources
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(addr.clone(), value);
    }

    pub fn resource(&self, addr: &ConfigAddr) -> Option<Value> {
        self.resources
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(addr)
            .cloned()
    }

    /// The scope of an expression outside any resource instance.
    pub fn scope(&self) -> InstanceScope<'_> {
        InstanceScope {
            run: self,
            count_index: None,
            each: None,
        }
    }

    /// The scope of one instance of a resource.
    pub fn instance_scope(&self, key: &InstanceKey, expansion: &Expansion) -> InstanceScope<'_> {
        let count_index = match key {
            InstanceKey::Int(i) if matches!(expansion, Expansion::Count(_)) => {
                Some(Value::from(*i as i64))
            }
            _ => None,
        };
        let each = match (key, expansion) {
            (InstanceKey::Str(k), Expansion::ForEach(m)) => Some((
                Value::string(k.as_str()),
                m.get(k).cloned().unwrap_or(Value::NULL),
            )),
            _ => None,
        };
        InstanceScope {
            run: self,
            count_index,
            each,
        }
    }
}

pub struct InstanceScope<'a> {
    run: &'a RunValues,
    count_index: Option<Value>,
    each: Option<(Value, Value)>,
}

impl InstanceScope<'_> {
    /// A scope for validation, where `count.index` and `each` are unknown.
    pub fn with_unknown_repetition(mut self) -> Self {
        self.count_index = Some(Value::Unknown(Type::Number));
        self.each = Some((Value::Unknown(Type::String), Value::unknown()));
        self
    }
}

impl Scope for InstanceScope<'_> {
    fn resolve(&self, reference: &Reference) -> Result<Value, ScopeError> {
        match reference {
            Reference::Var(name) => self.run.vars.get(name).cloned().ok_or_else(|| ScopeError {
                summary: "Reference to undeclared input variable".into(),
                detail: format!("An input variable with the name {name:?} has not been declared."),
            }),
            Reference::Local(name) => Ok(self
                .run
                .locals
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(name)
                .cloned()
                // A local whose evaluation failed was reported already;
                // what depends on it carries on with an unknown.
                .unwrap_or_else(Value::unknown)),
            Reference::Resource { mode, type_name, name } => {
                let addr = ConfigAddr { mode: *mode, type_name: type_name.clone(), name: name.clone() };
                Ok(self.run.resource(&addr).unwrap_or_else(Value::unknown))
            }
            Reference::CountIndex => self.count_index.clone().ok_or_else(|| ScopeError {
                summary: "Reference to \"count\" in non-counted context".into(),
                detail: "The \"count\" object can only be used in \"resource\" and \"data\" blocks, and only when the \"count\" argument is set.".into(),
            }),
            Reference::EachKey | Reference::EachValue => match &self.each {
                Some((k, v)) => Ok(if *reference == Reference::EachKey { k.clone() } else { v.clone() }),
                None => Err(ScopeError {
                    summary: "Reference to \"each\" in context without for_each".into(),
                    detail: "The \"each\" object can be used only in \"resource\" blocks, and only when the \"for_each\" argument is set.".into(),
                }),
            },
            // Terraform gives the root module's path as "."; relative
            // paths are then relative to the configuration directory.
            Reference::Path(PathAttr::Module | PathAttr::Root) => Ok(Value::string(".")),
            Reference::Path(PathAttr::Cwd) => Ok(Value::string(self.run.dir.to_string_lossy().as_ref())),
            Reference::Workspace => Ok(Value::string("default")),
        }
    }

    fn base_dir(&self) -> &Path {
        &self.run.dir
    }
}
