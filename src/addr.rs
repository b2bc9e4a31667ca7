//! Resource addresses: `terraform_data.web`, `terraform_data.web[0]`,
//! `data.openstack_images_image_v2.cirros`, `terraform_data.net["a"]`,
//! `module.net["a"].openstack_networking_network_v2.this`.
//!
//! One type parses and prints them, so the graph, state, plan, hooks and
//! error messages all spell an address the same way.

use crate::lang::refs::ResourceMode;
use crate::lang::value::quote;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// The key of one instance of a resource or module: none for a single
/// instance, a number under `count`, a string under `for_each`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(untagged)]
pub enum InstanceKey {
    #[default]
    None,
    Int(u64),
    Str(String),
}

impl InstanceKey {
    pub fn is_none(&self) -> bool {
        matches!(self, InstanceKey::None)
    }
}

impl PartialOrd for InstanceKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InstanceKey {
    /// No key first, then numbers in numeric order, then strings.
    fn cmp(&self, other: &Self) -> Ordering {
        fn rank(k: &InstanceKey) -> u8 {
            match k {
                InstanceKey::None => 0,
                InstanceKey::Int(_) => 1,
                InstanceKey::Str(_) => 2,
            }
        }
        match (self, other) {
            (InstanceKey::Int(a), InstanceKey::Int(b)) => a.cmp(b),
            (InstanceKey::Str(a), InstanceKey::Str(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::None => Ok(()),
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", quote(s)),
        }
    }
}

/// A module of the configuration by its calls from the root:
/// `["net", "subnets"]` is `module.net.module.subnets`; the root module
/// is empty.
pub type ModulePath = Vec<String>;

/// Prints a module path as `module.net.module.subnets`.
pub fn module_path_string(path: &[String]) -> String {
    path.iter()
        .map(|m| format!("module.{m}"))
        .collect::<Vec<_>>()
        .join(".")
}

/// One instance of a module: each call on the way from the root with its
/// instance key (`module.net["a"].module.subnets`). The root module
/// instance is empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ModuleInstance(pub Vec<(String, InstanceKey)>);

impl ModuleInstance {
    pub fn root() -> ModuleInstance {
        ModuleInstance(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The module this is an instance of.
    pub fn path(&self) -> ModulePath {
        self.0.iter().map(|(n, _)| n.clone()).collect()
    }

    pub fn keys(&self) -> Vec<InstanceKey> {
        self.0.iter().map(|(_, k)| k.clone()).collect()
    }

    /// An instance of the module `name` called from this one.
    pub fn child(&self, name: &str, key: InstanceKey) -> ModuleInstance {
        let mut steps = self.0.clone();
        steps.push((name.to_string(), key));
        ModuleInstance(steps)
    }

    /// The instance that calls this one, and the call's name and key.
    pub fn split_last(&self) -> Option<(ModuleInstance, &str, &InstanceKey)> {
        let ((name, key), parent) = self.0.split_last()?;
        Some((ModuleInstance(parent.to_vec()), name, key))
    }

    /// The instance of the module at `path` with these keys (missing
    /// keys are none).
    pub fn from_parts(path: &[String], keys: &[InstanceKey]) -> ModuleInstance {
        ModuleInstance(
            path.iter()
                .zip(keys.iter().chain(std::iter::repeat(&InstanceKey::None)))
                .map(|(n, k)| (n.clone(), k.clone()))
                .collect(),
        )
    }
}

impl fmt::Display for ModuleInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, key)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "module.{name}{key}")?;
        }
        Ok(())
    }
}

/// A resource block of the configuration: `terraform_data.web`,
/// `data.T.N` or `module.net.T.N` (no instance keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigAddr {
    /// The module the block is written in (empty for the root module).
    pub module: ModulePath,
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
}

impl ConfigAddr {
    pub fn managed(type_name: impl Into<String>, name: impl Into<String>) -> ConfigAddr {
        ConfigAddr {
            module: ModulePath::new(),
            mode: ResourceMode::Managed,
            type_name: type_name.into(),
            name: name.into(),
        }
    }

    pub fn data(type_name: impl Into<String>, name: impl Into<String>) -> ConfigAddr {
        ConfigAddr {
            module: ModulePath::new(),
            mode: ResourceMode::Data,
            type_name: type_name.into(),
            name: name.into(),
        }
    }

    /// The same block written in another module.
    pub fn in_module(mut self, module: &[String]) -> ConfigAddr {
        self.module = module.to_vec();
        self
    }

    /// The instance `key` of this block, in the single instance of each
    /// module around it.
    pub fn instance(&self, key: InstanceKey) -> ResourceAddr {
        ResourceAddr {
            module_keys: vec![InstanceKey::None; self.module.len()],
            resource: self.clone(),
            key,
        }
    }

    /// The instance `key` of this block in one instance of its module.
    pub fn instance_in(&self, module: &ModuleInstance, key: InstanceKey) -> ResourceAddr {
        debug_assert_eq!(module.path(), self.module);
        ResourceAddr {
            module_keys: module.keys(),
            resource: self.clone(),
            key,
        }
    }

    /// The address inside its module: `T.N` or `data.T.N`.
    pub fn local_name(&self) -> String {
        match self.mode {
            ResourceMode::Data => format!("data.{}.{}", self.type_name, self.name),
            ResourceMode::Managed => format!("{}.{}", self.type_name, self.name),
        }
    }
}

impl fmt::Display for ConfigAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.module {
            write!(f, "module.{m}.")?;
        }
        f.write_str(&self.local_name())
    }
}

/// One instance of a resource: `terraform_data.web[0]`,
/// `module.net[1].terraform_data.web[0]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceAddr {
    pub resource: ConfigAddr,
    /// The instance key of each module call in `resource.module`.
    pub module_keys: Vec<InstanceKey>,
    pub key: InstanceKey,
}

impl ResourceAddr {
    /// The module instance the resource instance belongs to.
    pub fn module_instance(&self) -> ModuleInstance {
        ModuleInstance::from_parts(&self.resource.module, &self.module_keys)
    }

    /// The address inside its module instance: `T.N[0]`.
    pub fn local_name(&self) -> String {
        format!("{}{}", self.resource.local_name(), self.key)
    }
}

impl PartialOrd for ResourceAddr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ResourceAddr {
    /// Module instances first, as Terraform orders them (shallower ones
    /// first, then call by call), then the block, then the instance key.
    fn cmp(&self, other: &Self) -> Ordering {
        fn steps(a: &ResourceAddr) -> impl Iterator<Item = (&String, &InstanceKey)> {
            a.resource.module.iter().zip(a.module_keys.iter())
        }
        self.module_keys
            .len()
            .cmp(&other.module_keys.len())
            .then_with(|| steps(self).cmp(steps(other)))
            .then_with(|| {
                (
                    self.resource.mode,
                    &self.resource.type_name,
                    &self.resource.name,
                )
                    .cmp(&(
                        other.resource.mode,
                        &other.resource.type_name,
                        &other.resource.name,
                    ))
            })
            .then_with(|| self.key.cmp(&other.key))
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = self.module_instance();
        if !module.is_root() {
            write!(f, "{module}.")?;
        }
        write!(f, "{}", self.local_name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid resource address {text:?}: {reason}")]
pub struct AddrParseError {
    pub text: String,
    pub reason: String,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// One step of an address: a name and the key that may follow it.
struct Step {
    name: String,
    key: Option<InstanceKey>,
}

/// Splits `module.a[0].t.n["k"]` into its dotted steps, each with its
/// optional `[key]`.
fn steps(text: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let name = &rest[..end];
        if !is_identifier(name) {
            return Err("each part must be an identifier".into());
        }
        rest = &rest[end..];
        let mut key = None;
        if let Some(inner) = rest.strip_prefix('[') {
            let (k, after) = parse_key(inner)?;
            key = Some(k);
            rest = after;
        }
        out.push(Step {
            name: name.to_string(),
            key,
        });
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None if rest.is_empty() => return Ok(out),
            None => return Err("an index must be followed by . or end the address".into()),
        }
    }
}

/// Parses a key after its `[` up to and including the `]`.
fn parse_key(inner: &str) -> Result<(InstanceKey, &str), String> {
    if let Some(q) = inner.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in q.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    let s = unquote(&q[..i]).ok_or("invalid escape in key")?;
                    let after = q[i + 1..]
                        .strip_prefix(']')
                        .ok_or("an index must be closed by ]")?;
                    return Ok((InstanceKey::Str(s), after));
                }
                _ => {}
            }
        }
        return Err("a string key must be quoted".into());
    }
    let close = inner.find(']').ok_or("an index must be closed by ]")?;
    let n = inner[..close]
        .parse()
        .map_err(|_| "an index must be a whole number or a quoted string")?;
    Ok((InstanceKey::Int(n), &inner[close + 1..]))
}

/// What an address names: module calls (each with its key, if written)
/// and, unless the address names a whole module, a resource block in the
/// last of them with its key.
struct Parsed {
    module: Vec<(String, Option<InstanceKey>)>,
    resource: Option<(ResourceMode, String, String, Option<InstanceKey>)>,
}

fn parse_address(text: &str) -> Result<Parsed, String> {
    let steps = steps(text)?;
    let mut module = Vec::new();
    let mut i = 0;
    while i + 1 < steps.len() && steps[i].name == "module" && steps[i].key.is_none() {
        let call = &steps[i + 1];
        module.push((call.name.clone(), call.key.clone()));
        i += 2;
    }
    let rest = &steps[i..];
    let keyless = |s: &Step| {
        s.key
            .is_none()
            .then_some(())
            .ok_or("only an instance can have an index")
    };
    let resource = match rest {
        [] if !module.is_empty() => None,
        [data, t, n] if data.name == "data" => {
            keyless(data)?;
            keyless(t)?;
            Some((
                ResourceMode::Data,
                t.name.clone(),
                n.name.clone(),
                n.key.clone(),
            ))
        }
        [t, n] => {
            keyless(t)?;
            Some((
                ResourceMode::Managed,
                t.name.clone(),
                n.name.clone(),
                n.key.clone(),
            ))
        }
        _ => return Err("expected TYPE.NAME or data.TYPE.NAME, after any module.NAME".into()),
    };
    Ok(Parsed { module, resource })
}

impl std::str::FromStr for ModuleInstance {
    type Err = AddrParseError;

    /// Parses `module.a[0].module.b`; the empty text is the root module.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Ok(ModuleInstance::root());
        }
        let err = |reason: String| AddrParseError {
            text: text.to_string(),
            reason,
        };
        let parsed = parse_address(text).map_err(err)?;
        if parsed.resource.is_some() {
            return Err(err(
                "expected module.NAME, with an index or not, repeated".into()
            ));
        }
        Ok(ModuleInstance(
            parsed
                .module
                .into_iter()
                .map(|(n, k)| (n, k.unwrap_or_default()))
                .collect(),
        ))
    }
}

impl std::str::FromStr for ResourceAddr {
    type Err = AddrParseError;

    /// Parses `type.name`, `type.name[0]`, `type.name["key"]`, the same
    /// with a `data.` prefix, and any of them after `module.NAME[key].`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| AddrParseError {
            text: text.to_string(),
            reason,
        };
        let parsed = parse_address(text).map_err(err)?;
        let Some((mode, type_name, name, key)) = parsed.resource else {
            return Err(err("a module is not a resource instance".into()));
        };
        Ok(ResourceAddr {
            resource: ConfigAddr {
                module: parsed.module.iter().map(|(n, _)| n.clone()).collect(),
                mode,
                type_name,
                name,
            },
            module_keys: parsed
                .module
                .into_iter()
                .map(|(_, k)| k.unwrap_or_default())
                .collect(),
            key: key.unwrap_or_default(),
        })
    }
}

fn unquote(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// The resource part of a [`Target`]: a block in the target's module,
/// and the instance when one is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetResource {
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
    pub key: Option<InstanceKey>,
}

/// What `-target`, `-exclude` and `moved` name: a module (`module.net`),
/// a module instance (`module.net["a"]`), a resource block
/// (`module.net.T.N`) or one instance (`T.N[0]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The module calls on the way, each with its key when one is named.
    pub module: Vec<(String, Option<InstanceKey>)>,
    /// The resource in that module; none when the target is a module.
    pub resource: Option<TargetResource>,
}

impl Target {
    /// A target naming one resource block of the root module.
    pub fn block(addr: &ConfigAddr) -> Target {
        Target {
            module: addr.module.iter().map(|m| (m.clone(), None)).collect(),
            resource: Some(TargetResource {
                mode: addr.mode,
                type_name: addr.type_name.clone(),
                name: addr.name.clone(),
                key: None,
            }),
        }
    }

    pub fn module_path(&self) -> ModulePath {
        self.module.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The resource block named, when the target is not a module.
    pub fn config_addr(&self) -> Option<ConfigAddr> {
        self.resource.as_ref().map(|r| ConfigAddr {
            module: self.module_path(),
            mode: r.mode,
            type_name: r.type_name.clone(),
            name: r.name.clone(),
        })
    }

    /// Whether the target names every instance of `block` (the block
    /// itself, or a module it is in, with no instance key anywhere).
    pub fn covers_whole(&self, block: &ConfigAddr) -> bool {
        self.module.iter().all(|(_, k)| k.is_none())
            && self.resource.as_ref().is_none_or(|r| r.key.is_none())
            && self.touches(block)
    }

    /// Whether the target names some instances of `block`.
    pub fn touches(&self, block: &ConfigAddr) -> bool {
        match &self.resource {
            None => block.module.starts_with(&self.module_path()),
            Some(_) => self.config_addr().as_ref() == Some(block),
        }
    }

    pub fn matches(&self, addr: &ResourceAddr) -> bool {
        if !self.touches(&addr.resource) {
            return false;
        }
        let keys_match = self
            .module
            .iter()
            .zip(&addr.module_keys)
            .all(|((_, want), have)| want.as_ref().is_none_or(|k| k == have));
        keys_match
            && self
                .resource
                .as_ref()
                .and_then(|r| r.key.as_ref())
                .is_none_or(|k| *k == addr.key)
    }

    /// Where `addr`, which `self` matches, is after a move to `to`: the
    /// part of the address `self` names is replaced by `to`'s, and keys
    /// `to` leaves out are kept.
    pub fn moved_to(&self, to: &Target, addr: &ResourceAddr) -> ResourceAddr {
        let depth = self.module.len();
        let mut module = Vec::new();
        let mut module_keys = Vec::new();
        for (i, (name, key)) in to.module.iter().enumerate() {
            module.push(name.clone());
            let kept = (i < depth).then(|| addr.module_keys[i].clone());
            module_keys.push(key.clone().or(kept).unwrap_or_default());
        }
        let (resource, key) = match (&self.resource, &to.resource) {
            (Some(_), Some(r)) => (
                ConfigAddr {
                    module: module.clone(),
                    mode: r.mode,
                    type_name: r.type_name.clone(),
                    name: r.name.clone(),
                },
                r.key.clone().unwrap_or_else(|| addr.key.clone()),
            ),
            // A module moved: everything under it keeps its place there.
            _ => {
                module.extend(addr.resource.module[depth..].iter().cloned());
                module_keys.extend(addr.module_keys[depth..].iter().cloned());
                (addr.resource.clone().in_module(&module), addr.key.clone())
            }
        };
        ResourceAddr {
            resource,
            module_keys,
            key,
        }
    }
}

impl std::str::FromStr for Target {
    type Err = AddrParseError;

    fn from_str(text: &str) -> Result<Target, Self::Err> {
        let parsed = parse_address(text).map_err(|reason| AddrParseError {
            text: text.to_string(),
            reason,
        })?;
        Ok(Target {
            module: parsed.module,
            resource: parsed
                .resource
                .map(|(mode, type_name, name, key)| TargetResource {
                    mode,
                    type_name,
                    name,
                    key,
                }),
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, key) in &self.module {
            parts.push(format!("module.{name}{}", key.clone().unwrap_or_default()));
        }
        if let Some(r) = &self.resource {
            let block = ConfigAddr::managed(&r.type_name, &r.name);
            let block = ConfigAddr {
                mode: r.mode,
                ..block
            };
            parts.push(format!("{}{}", block, r.key.clone().unwrap_or_default()));
        }
        f.write_str(&parts.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_and_parse_the_same_way() {
        for text in [
            "terraform_data.web",
            "terraform_data.web[0]",
            "terraform_data.net[\"a b\"]",
            "data.openstack_images_image_v2.cirros",
            "terraform_data.q[\"say \\\"hi\\\"\"]",
            "module.net.terraform_data.web",
            "module.net[\"a.b]\"].module.sub[2].data.t.n[\"k\"]",
        ] {
            let addr: ResourceAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
        let addr: ResourceAddr = "module.a[1].module.b.t.n[0]".parse().unwrap();
        assert_eq!(addr.resource.to_string(), "module.a.module.b.t.n");
        assert_eq!(addr.module_instance().to_string(), "module.a[1].module.b");
        assert_eq!(addr.local_name(), "t.n[0]");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for text in [
            "web",
            "a.b.c",
            "a.b[",
            "a.b[x]",
            "a.b[\"x]",
            "1a.b",
            "module.x",
            "a[0].b",
            "module.x.a.b.c",
            "a.b[0]x",
        ] {
            assert!(text.parse::<ResourceAddr>().is_err(), "{text}");
        }
    }

    #[test]
    fn instances_order_numerically_and_by_module() {
        let mut addrs: Vec<ResourceAddr> = [
            "module.m[1].t.a",
            "t.a[10]",
            "module.m[0].t.b",
            "t.a[2]",
            "t.a",
            "module.m[0].t.a",
            "module.a.module.b.t.a",
            "t.a[\"x\"]",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        addrs.sort();
        let printed: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "t.a",
                "t.a[2]",
                "t.a[10]",
                "t.a[\"x\"]",
                "module.m[0].t.a",
                "module.m[0].t.b",
                "module.m[1].t.a",
                "module.a.module.b.t.a"
            ]
        );
    }

    #[test]
    fn targets_name_modules_blocks_and_instances() {
        let addr: ResourceAddr = "module.net[\"a\"].t.n[1]".parse().unwrap();
        for (target, matches) in [
            ("module.net", true),
            ("module.net[\"a\"]", true),
            ("module.net[\"b\"]", false),
            ("module.net.t.n", true),
            ("module.net[\"a\"].t.n[1]", true),
            ("module.net.t.n[0]", false),
            ("t.n", false),
            ("module.other", false),
        ] {
            let t: Target = target.parse().unwrap();
            assert_eq!(t.to_string(), target);
            assert_eq!(t.matches(&addr), matches, "{target}");
        }
        let whole: Target = "module.net".parse().unwrap();
        assert!(whole.covers_whole(&addr.resource));
        let one: Target = "module.net[\"a\"]".parse().unwrap();
        assert!(!one.covers_whole(&addr.resource));
    }

    #[test]
    fn moves_replace_the_named_part_of_an_address() {
        let moved = |from: &str, to: &str, addr: &str| {
            let from: Target = from.parse().unwrap();
            let to: Target = to.parse().unwrap();
            let addr: ResourceAddr = addr.parse().unwrap();
            assert!(from.matches(&addr));
            from.moved_to(&to, &addr).to_string()
        };
        assert_eq!(moved("t.a", "module.m.t.b", "t.a[2]"), "module.m.t.b[2]");
        assert_eq!(moved("module.m.t.b", "t.a", "module.m.t.b"), "t.a");
        assert_eq!(
            moved("module.old", "module.new", "module.old[1].module.x.t.a"),
            "module.new[1].module.x.t.a"
        );
        assert_eq!(
            moved("module.one", "module.many[\"k\"]", "module.one.t.a[0]"),
            "module.many[\"k\"].t.a[0]"
        );
    }
}
