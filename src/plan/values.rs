//! The values known so far in a run, as the language's references see
//! them: variables, locals, and for each resource block the value of all
//! its instances (an object for a single instance, a tuple under `count`,
//! an object keyed by `for_each` key).
//!
//! At plan time a resource's value holds unknowns where the provider
//! cannot know yet; at apply time it fills in as instances finish. Apply
//! evaluates on many tasks at once, so the maps sit behind locks that are
//! held only to clone an `Arc`-backed value in or out.

use crate::addr::{ConfigAddr, InstanceKey, ModuleInstance, ModulePath};
use crate::config::Config;
use crate::lang::eval::{Scope, ScopeError};
use crate::lang::refs::{PathAttr, Reference};
use crate::lang::value::{Type, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
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
    /// How many instances the block has.
    pub fn instance_count(&self) -> usize {
        match self {
            Expansion::Single => 1,
            Expansion::Count(n) => *n,
            Expansion::ForEach(m) => m.len(),
        }
    }

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
    /// The configuration directory: what `path.root` names, and where
    /// `file()` looks.
    pub dir: PathBuf,
    /// `path.module` of each module.
    module_dirs: HashMap<ModulePath, String>,
    /// The outputs each module declares: those not evaluated (yet, or
    /// because what they need failed) are unknown to the caller.
    module_outputs: HashMap<ModulePath, Vec<String>>,
    /// Each module instance's input variables (the root module's are the
    /// run's inputs).
    vars: RwLock<HashMap<ModuleInstance, BTreeMap<String, Value>>>,
    locals: RwLock<HashMap<(ModuleInstance, String), Value>>,
    resources: RwLock<HashMap<(ModuleInstance, ConfigAddr), Value>>,
    /// The outputs of each instance of a called module.
    outputs: RwLock<HashMap<ModuleInstance, BTreeMap<String, Value>>>,
    /// How each module call expands in each instance of its caller.
    calls: RwLock<BTreeMap<(ModuleInstance, String), Expansion>>,
    /// Calls whose instances are not known (`validate` checks a repeated
    /// module once): referring to them gives an unknown value.
    opaque_calls: RwLock<HashSet<(ModuleInstance, String)>>,
}

impl RunValues {
    pub fn new(dir: &Path, vars: BTreeMap<String, Value>) -> RunValues {
        RunValues {
            dir: dir.to_path_buf(),
            module_dirs: HashMap::new(),
            module_outputs: HashMap::new(),
            vars: RwLock::new(HashMap::from([(ModuleInstance::root(), vars)])),
            locals: RwLock::default(),
            resources: RwLock::default(),
            outputs: RwLock::default(),
            calls: RwLock::default(),
            opaque_calls: RwLock::default(),
        }
    }

    /// The values of a run of `config`, whose modules have their own
    /// `path.module`.
    pub fn for_config(config: &Config, vars: BTreeMap<String, Value>) -> RunValues {
        let mut run = RunValues::new(&config.dir, vars);
        run.module_dirs = config
            .modules
            .iter()
            .map(|(p, m)| (p.clone(), m.rel_dir.clone()))
            .collect();
        run.module_outputs = config
            .modules
            .iter()
            .map(|(p, m)| (p.clone(), m.outputs.keys().cloned().collect()))
            .collect();
        run
    }

    /// The root module's input variables.
    pub fn variables(&self) -> BTreeMap<String, Value> {
        read(&self.vars)
            .get(&ModuleInstance::root())
            .cloned()
            .unwrap_or_default()
    }

    /// The input variables of a module instance set so far.
    pub fn variables_of(&self, module: &ModuleInstance) -> BTreeMap<String, Value> {
        read(&self.vars).get(module).cloned().unwrap_or_default()
    }

    pub fn set_variable(&self, module: &ModuleInstance, name: &str, value: Value) {
        write(&self.vars)
            .entry(module.clone())
            .or_default()
            .insert(name.to_string(), value);
    }

    pub fn set_local(&self, module: &ModuleInstance, name: &str, value: Value) {
        write(&self.locals).insert((module.clone(), name.to_string()), value);
    }

    pub fn set_resource(&self, module: &ModuleInstance, addr: &ConfigAddr, value: Value) {
        write(&self.resources).insert((module.clone(), addr.clone()), value);
    }

    pub fn resource(&self, module: &ModuleInstance, addr: &ConfigAddr) -> Option<Value> {
        read(&self.resources)
            .get(&(module.clone(), addr.clone()))
            .cloned()
    }

    pub fn set_output(&self, module: &ModuleInstance, name: &str, value: Value) {
        write(&self.outputs)
            .entry(module.clone())
            .or_default()
            .insert(name.to_string(), value);
    }

    /// Records how the call `name` expands in the module instance
    /// `caller`.
    pub fn set_call_expansion(&self, caller: &ModuleInstance, name: &str, expansion: Expansion) {
        write(&self.calls).insert((caller.clone(), name.to_string()), expansion);
    }

    /// How the call `name` expands in the module instance `caller`, once
    /// it has been expanded.
    pub fn call_expansion(&self, caller: &ModuleInstance, name: &str) -> Option<Expansion> {
        read(&self.calls)
            .get(&(caller.clone(), name.to_string()))
            .cloned()
    }

    /// Makes references to the call `name` in `caller` unknown.
    pub fn set_call_opaque(&self, caller: &ModuleInstance, name: &str) {
        write(&self.opaque_calls).insert((caller.clone(), name.to_string()));
    }

    /// Every instance of the module at `path`, as far as its calls have
    /// been expanded (the root module has one).
    pub fn module_instances(&self, path: &[String]) -> Vec<ModuleInstance> {
        let Some((name, parent)) = path.split_last() else {
            return vec![ModuleInstance::root()];
        };
        let parents = self.module_instances(parent);
        let calls = read(&self.calls);
        let mut out = Vec::new();
        for p in parents {
            if let Some(expansion) = calls.get(&(p.clone(), name.clone())) {
                out.extend(expansion.keys().into_iter().map(|k| p.child(name, k)));
            }
        }
        out
    }

    /// `module.NAME` seen from `caller`: an object of the outputs of each
    /// instance, arranged as the call expands.
    fn module_value(&self, caller: &ModuleInstance, name: &str) -> Option<Value> {
        if read(&self.opaque_calls).contains(&(caller.clone(), name.to_string())) {
            return None;
        }
        let expansion = read(&self.calls)
            .get(&(caller.clone(), name.to_string()))
            .cloned()?;
        let outputs = read(&self.outputs);
        let path: ModulePath = caller
            .path()
            .into_iter()
            .chain([name.to_string()])
            .collect();
        let declared = self.module_outputs.get(&path);
        let instances: HashMap<InstanceKey, Value> = expansion
            .keys()
            .into_iter()
            .map(|k| {
                let mut values: BTreeMap<String, Value> = declared
                    .into_iter()
                    .flatten()
                    .map(|o| (o.clone(), Value::unknown()))
                    .collect();
                if let Some(set) = outputs.get(&caller.child(name, k.clone())) {
                    values.extend(set.iter().map(|(o, v)| (o.clone(), v.clone())));
                }
                (k, Value::object(values))
            })
            .collect();
        Some(expansion.aggregate(&instances))
    }

    /// The scope of an expression of the root module outside any
    /// resource instance.
    pub fn scope(&self) -> InstanceScope<'_> {
        self.module_scope(&ModuleInstance::root())
    }

    /// The scope of an expression of a module instance outside any
    /// resource instance.
    pub fn module_scope(&self, module: &ModuleInstance) -> InstanceScope<'_> {
        InstanceScope {
            run: self,
            module: module.clone(),
            count_index: None,
            each: None,
        }
    }

    /// The scope of one instance of a resource (or of a module call, seen
    /// from its caller).
    pub fn instance_scope(
        &self,
        module: &ModuleInstance,
        key: &InstanceKey,
        expansion: &Expansion,
    ) -> InstanceScope<'_> {
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
            module: module.clone(),
            count_index,
            each,
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // The maps hold plain values; a panic elsewhere cannot leave one
    // half-written.
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

pub struct InstanceScope<'a> {
    run: &'a RunValues,
    module: ModuleInstance,
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
            Reference::Var(name) => match read(&self.run.vars).get(&self.module).and_then(|v| v.get(name)) {
                Some(v) => Ok(v.clone()),
                // A module's variable whose argument failed was reported
                // already.
                None if !self.module.is_root() => Ok(Value::unknown()),
                None => Err(ScopeError {
                    summary: "Reference to undeclared input variable".into(),
                    detail: format!("An input variable with the name {name:?} has not been declared."),
                }),
            },
            Reference::Local(name) => Ok(read(&self.run.locals)
                .get(&(self.module.clone(), name.clone()))
                .cloned()
                // A local whose evaluation failed was reported already;
                // what depends on it carries on with an unknown.
                .unwrap_or_else(Value::unknown)),
            Reference::Resource { mode, type_name, name } => {
                let addr = ConfigAddr { module: self.module.path(), mode: *mode, type_name: type_name.clone(), name: name.clone() };
                Ok(self.run.resource(&self.module, &addr).unwrap_or_else(Value::unknown))
            }
            Reference::Module { name, .. } => Ok(self.run.module_value(&self.module, name).unwrap_or_else(Value::unknown)),
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
            Reference::Path(PathAttr::Root) => Ok(Value::string(".")),
            Reference::Path(PathAttr::Module) => Ok(Value::string(
                self.run.module_dirs.get(&self.module.path()).map_or(".", String::as_str),
            )),
            Reference::Path(PathAttr::Cwd) => Ok(Value::string(self.run.dir.to_string_lossy().as_ref())),
            Reference::Workspace => Ok(Value::string("default")),
        }
    }

    fn base_dir(&self) -> &Path {
        &self.run.dir
    }
}
