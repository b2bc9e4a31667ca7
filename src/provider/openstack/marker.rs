//! How the marker stackform writes into every object it creates (see
//! [`Marker`]) is spelled in OpenStack objects, and read back.
//!
//! Two spellings, chosen by what each API accepts in the create call
//! itself:
//!
//! - key/value pairs, where the object has free-form metadata: Nova
//!   server metadata and Glance image properties (`stackform_lineage`,
//!   `stackform_address`, `stackform_token`). Values hold 255 characters;
//!   a longer address is written as `digest:` and its
//!   [`address_digest`].
//! - a suffix of the description, where the description is the only
//!   free text the create call takes: Neutron networks and subnets (whose
//!   create calls refuse `tags`), and Nova flavors (whose name is unique
//!   besides). The suffix is `stackform:<lineage>:<token>:<digest>`,
//!   after a space when the user's description is not empty.
//!
//! Reading an object strips the marker again, so that the user's
//! `metadata`, `properties` and `description` never show it as drift.

use crate::provider::{FoundMarker, MarkedAddress, Marker, address_digest};
use serde_json::{Map, Value as Json};

pub const LINEAGE_KEY: &str = "stackform_lineage";
pub const ADDRESS_KEY: &str = "stackform_address";
pub const TOKEN_KEY: &str = "stackform_token";

/// Metadata and property values hold at most this many characters (Nova
/// and Glance alike).
const VALUE_LIMIT: usize = 255;
const DIGEST_PREFIX: &str = "digest:";
const DESCRIPTION_PREFIX: &str = "stackform:";

/// Whether `key` is one of the marker's own metadata or property keys.
pub fn is_marker_key(key: &str) -> bool {
    [LINEAGE_KEY, ADDRESS_KEY, TOKEN_KEY].contains(&key)
}

/// The marker as metadata or property entries.
pub fn entries(marker: &Marker) -> [(&'static str, String); 3] {
    let address = if marker.address.chars().count() <= VALUE_LIMIT {
        marker.address.clone()
    } else {
        format!("{DIGEST_PREFIX}{}", address_digest(&marker.address))
    };
    [
        (LINEAGE_KEY, marker.lineage.clone()),
        (ADDRESS_KEY, address),
        (TOKEN_KEY, marker.token.clone()),
    ]
}

/// Adds the marker's entries to a metadata or properties object.
pub fn add_entries(map: &mut Map<String, Json>, marker: &Marker) {
    for (k, v) in entries(marker) {
        map.insert(k.to_string(), Json::String(v));
    }
}

/// The marker a metadata or properties object carries, if it carries a
/// whole one.
pub fn from_entries(map: &Map<String, Json>) -> Option<FoundMarker> {
    let text = |k: &str| map.get(k).and_then(Json::as_str).filter(|s| !s.is_empty());
    let address = text(ADDRESS_KEY)?;
    let address = match address.strip_prefix(DIGEST_PREFIX) {
        Some(digest) => MarkedAddress::Digest(digest.to_string()),
        None => MarkedAddress::Exact(address.to_string()),
    };
    Some(FoundMarker {
        lineage: text(LINEAGE_KEY)?.to_string(),
        address,
        token: text(TOKEN_KEY)?.to_string(),
    })
}

/// A metadata or properties object without the marker's entries.
pub fn without_entries(map: &Map<String, Json>) -> Map<String, Json> {
    map.iter()
        .filter(|(k, _)| !is_marker_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The marker as a description suffix.
fn suffix(marker: &Marker) -> String {
    format!(
        "{DESCRIPTION_PREFIX}{}:{}:{}",
        marker.lineage,
        marker.token,
        address_digest(&marker.address)
    )
}

/// How many characters the marker adds to a description (with its
/// separating space), for types whose description has a limit: a
/// lineage is a UUID (36 characters) and a token 16 hex digits.
pub fn description_overhead() -> usize {
    let sample = Marker {
        lineage: "0".repeat(36),
        address: String::new(),
        token: "0".repeat(16),
    };
    suffix(&sample).chars().count() + 1
}

/// Refuses a description that would not fit `limit` characters once the
/// marker is added, naming the type's limit.
pub fn check_description_room(
    description: Option<&str>,
    limit: usize,
    service: &str,
) -> Result<(), crate::provider::ProviderError> {
    let Some(text) = description else {
        return Ok(());
    };
    let room = limit - description_overhead();
    let length = text.chars().count();
    if length <= room {
        return Ok(());
    }
    Err(crate::provider::ProviderError::new(
        "Description too long",
        format!(
            "description has {length} characters; {service} keeps at most {limit}, and stackform \
             adds a {}-character marker to it (so that an object whose create was interrupted \
             can be found again), which leaves {room}. Shorten the description.",
            description_overhead()
        ),
    ))
}

/// The description to send: the user's text (none, when `user` is
/// `None`; an empty one is kept as such), then the marker.
pub fn described(user: Option<&str>, marker: &Marker) -> String {
    match user {
        Some(d) => format!("{d} {}", suffix(marker)),
        None => suffix(marker),
    }
}

/// A description split into the user's text (`None` when the marker is
/// all there is) and the marker it ends with, if it ends with one.
pub fn split_description(description: &str) -> (Option<&str>, Option<FoundMarker>) {
    let (user, last) = match description.rsplit_once(' ') {
        Some((user, last)) => (Some(user), last),
        None => (None, description),
    };
    match parse_suffix(last) {
        Some(found) => (user, Some(found)),
        None => (Some(description), None),
    }
}

fn parse_suffix(text: &str) -> Option<FoundMarker> {
    let rest = text.strip_prefix(DESCRIPTION_PREFIX)?;
    let mut parts = rest.split(':');
    let (lineage, token, digest) = (parts.next()?, parts.next()?, parts.next()?);
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if parts.next().is_some() || !plain(lineage) || !plain(token) || !plain(digest) {
        return None;
    }
    Some(FoundMarker {
        lineage: lineage.to_string(),
        address: MarkedAddress::Digest(digest.to_string()),
        token: token.to_string(),
    })
}

/// The user's part of a description read from the cloud: `none` when
/// the object has no description or the marker is all it has (Nova's
/// flavors say `null`, Neutron says `""`).
pub fn user_description(description: Option<&Json>, none: Json) -> Json {
    match description.and_then(Json::as_str).map(split_description) {
        Some((Some(user), _)) => Json::String(user.to_string()),
        Some((None, _)) | None => none,
    }
}

/// The marker a description (a JSON string) carries, if any.
pub fn from_description_json(description: &Json) -> Option<FoundMarker> {
    description.as_str().and_then(|d| split_description(d).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn marker(address: &str) -> Marker {
        Marker {
            lineage: "0d9c8b7a-6e5f-4a3b-8c2d-1e0f9a8b7c6d".into(),
            address: address.into(),
            token: "5f1c0a9e3b7d2c4f".into(),
        }
    }

    #[test]
    fn entries_round_trip_and_are_stripped() {
        let m = marker("module.net[\"a\"].openstack_compute_instance_v2.web[0]");
        let mut map = Map::new();
        map.insert("role".into(), json!("web"));
        add_entries(&mut map, &m);
        let found = from_entries(&map).unwrap();
        assert_eq!(found.lineage, m.lineage);
        assert_eq!(found.token, m.token);
        assert!(found.address.names(&m.address));
        assert!(!found.address.names("openstack_compute_instance_v2.web[0]"));
        assert_eq!(without_entries(&map), {
            let mut only = Map::new();
            only.insert("role".into(), json!("web"));
            only
        });
    }

    #[test]
    fn a_long_address_is_written_as_its_digest() {
        let long = format!("openstack_compute_instance_v2.web[\"{}\"]", "k".repeat(300));
        let m = marker(&long);
        let written = entries(&m);
        assert!(written[1].1.starts_with("digest:"), "{}", written[1].1);
        assert!(written.iter().all(|(_, v)| v.chars().count() <= 255));
        let map: Map<String, Json> = written
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        assert!(from_entries(&map).unwrap().address.names(&long));
    }

    #[test]
    fn a_partial_set_of_entries_is_no_marker() {
        let mut map = Map::new();
        map.insert(LINEAGE_KEY.into(), json!("l"));
        map.insert(TOKEN_KEY.into(), json!("t"));
        assert_eq!(from_entries(&map), None);
    }

    #[test]
    fn descriptions_carry_the_marker_after_the_users_text() {
        let m = marker("openstack_networking_network_v2.net");
        let with_text = described(Some("web tier"), &m);
        assert_eq!(
            with_text,
            "web tier stackform:0d9c8b7a-6e5f-4a3b-8c2d-1e0f9a8b7c6d:5f1c0a9e3b7d2c4f:".to_string()
                + &address_digest("openstack_networking_network_v2.net")
        );
        let (user, found) = split_description(&with_text);
        assert_eq!(user, Some("web tier"));
        let found = found.unwrap();
        assert_eq!(
            (found.lineage.as_str(), found.token.as_str()),
            (m.lineage.as_str(), m.token.as_str())
        );
        assert!(found.address.names(&m.address));

        let alone = described(None, &m);
        assert_eq!(split_description(&alone).0, None);
        let empty = described(Some(""), &m);
        assert_eq!(split_description(&empty).0, Some(""));
        assert_eq!(
            user_description(Some(&json!(alone)), Json::Null),
            Json::Null
        );
        assert_eq!(user_description(Some(&json!(alone)), json!("")), json!(""));
        assert_eq!(user_description(Some(&json!(empty)), Json::Null), json!(""));
        assert_eq!(
            user_description(Some(&json!(with_text)), Json::Null),
            json!("web tier")
        );
        assert_eq!(alone.chars().count() + 1, description_overhead());
        assert_eq!(description_overhead(), 77);
    }

    #[test]
    fn a_description_that_leaves_no_room_for_the_marker_is_refused() {
        assert!(check_description_room(Some(&"d".repeat(178)), 255, "Neutron").is_ok());
        let err = check_description_room(Some(&"d".repeat(179)), 255, "Neutron").unwrap_err();
        assert_eq!(
            err.detail,
            "description has 179 characters; Neutron keeps at most 255, and stackform adds a \
             77-character marker to it (so that an object whose create was interrupted can be \
             found again), which leaves 178. Shorten the description."
        );
        assert!(check_description_room(None, 255, "Neutron").is_ok());
    }

    #[test]
    fn a_description_without_a_marker_is_all_the_users() {
        for text in [
            "",
            "web tier",
            "ends with stackform:x",
            "stackform:a:b",
            "a stackform:l:t:d:e",
        ] {
            assert_eq!(split_description(text), (Some(text), None), "{text:?}");
        }
        assert_eq!(user_description(Some(&Json::Null), Json::Null), Json::Null);
        assert_eq!(user_description(None, json!("")), json!(""));
    }
}
