//! Resource addresses: `terraform_data.web`, `terraform_data.web[0]`,
//! `data.openstack_images_image_v2.cirros`, `terraform_data.net["a"]`.
//!
//! One type parses and prints them, so the graph, state, plan, hooks and
//! error messages all spell an address the same way.

use crate::lang::refs::ResourceMode;
use crate::lang::value::quote;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// The key of one instance of a resource: none for a single instance, a
/// number under `count`, a string under `for_each`.
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

/// A resource block of the configuration: `terraform_data.web` or
/// `data.T.N` (no instance key).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigAddr {
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
}

impl ConfigAddr {
    pub fn managed(type_name: impl Into<String>, name: impl Into<String>) -> ConfigAddr {
        ConfigAddr {
            mode: ResourceMode::Managed,
            type_name: type_name.into(),
            name: name.into(),
        }
    }

    pub fn data(type_name: impl Into<String>, name: impl Into<String>) -> ConfigAddr {
        ConfigAddr {
            mode: ResourceMode::Data,
            type_name: type_name.into(),
            name: name.into(),
        }
    }

    pub fn instance(&self, key: InstanceKey) -> ResourceAddr {
        ResourceAddr {
            resource: self.clone(),
            key,
        }
    }
}

impl fmt::Display for ConfigAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mode == ResourceMode::Data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// One instance of a resource: `terraform_data.web[0]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddr {
    pub resource: ConfigAddr,
    pub key: InstanceKey,
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.resource, self.key)
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

impl std::str::FromStr for ResourceAddr {
    type Err = AddrParseError;

    /// Parses `type.name`, `type.name[0]`, `type.name["key"]`, and the
    /// same with a `data.` prefix.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| AddrParseError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (head, key) = match text.find('[') {
            Some(i) => {
                let rest = &text[i..];
                let inner = rest
                    .strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .ok_or_else(|| err("an index must be closed by ]"))?;
                let key =
                    if let Some(q) = inner.strip_prefix('"') {
                        let s = q
                            .strip_suffix('"')
                            .ok_or_else(|| err("a string key must be quoted"))?;
                        InstanceKey::Str(unquote(s).ok_or_else(|| err("invalid escape in key"))?)
                    } else {
                        InstanceKey::Int(inner.parse().map_err(|_| {
                            err("an index must be a whole number or a quoted string")
                        })?)
                    };
                (&text[..i], key)
            }
            None => (text, InstanceKey::None),
        };
        let parts: Vec<&str> = head.split('.').collect();
        let (mode, type_name, name) = match parts.as_slice() {
            ["data", t, n] => (ResourceMode::Data, *t, *n),
            [t, n] => (ResourceMode::Managed, *t, *n),
            _ => return Err(err("expected TYPE.NAME or data.TYPE.NAME")),
        };
        if !is_identifier(type_name) || !is_identifier(name) {
            return Err(err("type and name must be identifiers"));
        }
        Ok(ResourceAddr {
            resource: ConfigAddr {
                mode,
                type_name: type_name.to_string(),
                name: name.to_string(),
            },
            key,
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

/// A whole resource block (`type.name`) or one instance
/// (`type.name[0]`): what `-target`, `-exclude` and `moved` name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub resource: ConfigAddr,
    pub key: Option<InstanceKey>,
}

impl Target {
    pub fn matches(&self, addr: &ResourceAddr) -> bool {
        self.resource == addr.resource && self.key.as_ref().is_none_or(|k| *k == addr.key)
    }
}

impl std::str::FromStr for Target {
    type Err = AddrParseError;

    fn from_str(text: &str) -> Result<Target, Self::Err> {
        let addr: ResourceAddr = text.parse()?;
        let key = text.contains('[').then_some(addr.key);
        Ok(Target {
            resource: addr.resource,
            key,
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}", self.resource.instance(key.clone())),
            None => write!(f, "{}", self.resource),
        }
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
        ] {
            let addr: ResourceAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for text in ["web", "a.b.c", "a.b[", "a.b[x]", "a.b[\"x]", "1a.b"] {
            assert!(text.parse::<ResourceAddr>().is_err(), "{text}");
        }
    }

    #[test]
    fn instances_order_numerically() {
        let mut addrs: Vec<ResourceAddr> = ["t.a[10]", "t.a[2]", "t.a", "t.a[\"x\"]"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        addrs.sort();
        let printed: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        assert_eq!(printed, ["t.a", "t.a[2]", "t.a[10]", "t.a[\"x\"]"]);
    }
}
