//! The Nova server actions `openstack_compute_instance_v2` updates a
//! server with in place: power state changes (stop, start, pause,
//! unpause, shelve, unshelve), resize with its confirmation, password
//! changes, and adding and removing security groups. Each action is
//! followed by a wait for the status it leads to, which fails at once
//! with Nova's fault when the server goes to ERROR instead.

use super::types::{failed, get_if_exists, poll};
use super::{Client, Service};
use crate::provider::ProviderError;
use serde_json::{Value as Json, json};
use std::time::Duration;

/// The values of the `power_state` argument.
pub const POWER_STATES: [&str; 4] = ["active", "shutoff", "shelved_offloaded", "paused"];

/// A server's `power_state` as its Nova status reads (`SHUTOFF` is
/// `shutoff`; transitional statuses read as themselves, in lower case).
pub fn power_state_of(status: &str) -> String {
    status.to_ascii_lowercase()
}

/// The Nova status a `power_state` value stands for.
fn status_for(power_state: &str) -> String {
    power_state.to_ascii_uppercase()
}

/// The next action on the way from status `from` to status `to`, and
/// the status it leads to. Pausing and shelving start from ACTIVE (or,
/// for shelving, SHUTOFF), so other states go through ACTIVE first.
fn next_step(from: &str, to: &str) -> Option<(&'static str, &'static str)> {
    if from == to {
        return None;
    }
    Some(match (from, to) {
        ("ACTIVE", "SHUTOFF") => ("os-stop", "SHUTOFF"),
        ("ACTIVE", "PAUSED") => ("pause", "PAUSED"),
        ("ACTIVE" | "SHUTOFF", "SHELVED_OFFLOADED") => ("shelve", "SHELVED_OFFLOADED"),
        ("SHELVED", "SHELVED_OFFLOADED") => ("shelveOffload", "SHELVED_OFFLOADED"),
        ("SHUTOFF", _) => ("os-start", "ACTIVE"),
        ("PAUSED", _) => ("unpause", "ACTIVE"),
        ("SHELVED" | "SHELVED_OFFLOADED", _) => ("unshelve", "ACTIVE"),
        _ => return None,
    })
}

/// Statuses a server passes through on its way somewhere: waits go on
/// while it shows one of them.
fn in_transition(status: &str) -> bool {
    matches!(
        status,
        "BUILD" | "REBOOT" | "HARD_REBOOT" | "RESIZE" | "MIGRATING" | "SHELVED" | "REBUILD"
    )
}

fn status(server: &Json) -> &str {
    server
        .get("status")
        .and_then(Json::as_str)
        .unwrap_or("UNKNOWN")
}

/// `GET /servers/{id}`'s server; an error if it is gone.
async fn server(client: &Client, id: &str) -> Result<Json, ProviderError> {
    get_if_exists(
        client,
        Service::Compute,
        &format!("/servers/{id}"),
        &format!("Cannot read server {id}"),
    )
    .await?
    .and_then(|body| body.get("server").cloned())
    .ok_or_else(|| {
        ProviderError::new(
            "Server vanished",
            format!("Server {id} disappeared while it was being updated."),
        )
    })
}

/// The error for a server that went to ERROR during `what`.
fn went_to_error(server: &Json, id: &str, what: &str) -> ProviderError {
    let message = server
        .pointer("/fault/message")
        .and_then(Json::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("Nova gave no fault message");
    ProviderError::new(
        "Server update failed",
        format!("Server {id} went to ERROR during {what}: {message}."),
    )
}

/// Waits until the server's status is one of `targets`; answers its
/// document. Fails when it settles anywhere else.
async fn wait_for_status(
    client: &Client,
    id: &str,
    targets: &[&str],
    what: &str,
    limit: Duration,
) -> Result<Json, ProviderError> {
    poll(&format!("Server {id}'s {what}"), limit, || async {
        let server = server(client, id).await?;
        let now = status(&server);
        if targets.contains(&now) {
            return Ok(Some(server));
        }
        if now == "ERROR" {
            return Err(went_to_error(&server, id, what));
        }
        Ok(None)
    })
    .await
}

/// `POST /servers/{id}/action` with `{name: args}`.
async fn act(client: &Client, id: &str, name: &str, args: Json) -> Result<(), ProviderError> {
    client
        .request(
            Service::Compute,
            reqwest::Method::POST,
            &format!("/servers/{id}/action"),
            Some(&json!({ name: args })),
        )
        .await
        .map(drop)
        .map_err(|e| failed(&format!("Cannot {name} server {id}"), e))
}

/// Waits out a transition under way, then answers the server's status.
async fn settled_status(
    client: &Client,
    id: &str,
    limit: Duration,
) -> Result<String, ProviderError> {
    let server = poll(&format!("Server {id}'s pending task"), limit, || async {
        let server = server(client, id).await?;
        Ok((!in_transition(status(&server))).then_some(server))
    })
    .await?;
    Ok(status(&server).to_string())
}

/// Brings the server to `power_state` (one of [`POWER_STATES`]), one
/// action and wait at a time.
pub async fn set_power_state(
    client: &Client,
    id: &str,
    power_state: &str,
    limit: Duration,
) -> Result<(), ProviderError> {
    let target = status_for(power_state);
    let mut now = settled_status(client, id, limit).await?;
    // At most three steps lead anywhere (PAUSED → ACTIVE → SHUTOFF, say);
    // the bound guards against a cloud that ignores the actions.
    for _ in 0..4 {
        let Some((action, leads_to)) = next_step(&now, &target) else {
            break;
        };
        act(client, id, action, Json::Null).await?;
        wait_for_status(client, id, &[leads_to], action, limit).await?;
        now = leads_to.to_string();
    }
    if now == target {
        Ok(())
    } else {
        Err(ProviderError::new(
            "Cannot change the power state",
            format!(
                "Server {id} is {now}; stackform cannot bring it to power_state {power_state:?} from there."
            ),
        ))
    }
}

/// Resizes the server to `flavor_id` and confirms the resize; the server
/// ends in the state it was in (ACTIVE or SHUTOFF). Others are made
/// ACTIVE first, since Nova resizes only those two.
pub async fn resize(
    client: &Client,
    id: &str,
    flavor_id: &str,
    limit: Duration,
) -> Result<(), ProviderError> {
    let now = settled_status(client, id, limit).await?;
    if now != "ACTIVE" && now != "SHUTOFF" {
        set_power_state(client, id, "active", limit).await?;
    }
    act(client, id, "resize", json!({ "flavorRef": flavor_id })).await?;
    wait_for_status(client, id, &["VERIFY_RESIZE"], "resize", limit).await?;
    act(client, id, "confirmResize", Json::Null).await?;
    wait_for_status(
        client,
        id,
        &["ACTIVE", "SHUTOFF"],
        "resize confirmation",
        limit,
    )
    .await?;
    Ok(())
}

/// Sets the server's administrator password (Nova's `changePassword`,
/// which needs the server ACTIVE).
pub async fn change_password(
    client: &Client,
    id: &str,
    password: &str,
) -> Result<(), ProviderError> {
    act(
        client,
        id,
        "changePassword",
        json!({ "adminPass": password }),
    )
    .await
}

/// Adds the groups in `after` but not `before` and removes the others.
pub async fn change_security_groups(
    client: &Client,
    id: &str,
    before: &[String],
    after: &[String],
) -> Result<(), ProviderError> {
    for group in after.iter().filter(|g| !before.contains(g)) {
        act(client, id, "addSecurityGroup", json!({ "name": group })).await?;
    }
    for group in before.iter().filter(|g| !after.contains(g)) {
        act(client, id, "removeSecurityGroup", json!({ "name": group })).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Follows `next_step` from `from` towards `to`: the actions taken
    /// and the status they end in.
    fn path(from: &str, to: &str) -> (Vec<&'static str>, String) {
        let mut now = from.to_string();
        let mut actions = Vec::new();
        while let Some((action, leads_to)) = next_step(&now, to) {
            actions.push(action);
            now = leads_to.to_string();
            assert!(actions.len() < 4, "{from} → {to} does not end");
        }
        (actions, now)
    }

    #[test]
    fn every_power_state_reaches_every_other() {
        assert_eq!(path("ACTIVE", "SHUTOFF").0, ["os-stop"]);
        assert_eq!(path("SHUTOFF", "ACTIVE").0, ["os-start"]);
        assert_eq!(path("SHUTOFF", "PAUSED").0, ["os-start", "pause"]);
        assert_eq!(path("PAUSED", "SHUTOFF").0, ["unpause", "os-stop"]);
        assert_eq!(path("SHUTOFF", "SHELVED_OFFLOADED").0, ["shelve"]);
        assert_eq!(path("PAUSED", "SHELVED_OFFLOADED").0, ["unpause", "shelve"]);
        assert_eq!(path("SHELVED_OFFLOADED", "PAUSED").0, ["unshelve", "pause"]);
        assert_eq!(path("SHELVED", "SHELVED_OFFLOADED").0, ["shelveOffload"]);
        for from in POWER_STATES {
            for to in POWER_STATES {
                let (from, to) = (status_for(from), status_for(to));
                assert_eq!(path(&from, &to).1, to, "{from} → {to}");
            }
        }
    }

    #[test]
    fn an_error_status_has_no_way_out() {
        assert_eq!(next_step("ERROR", "ACTIVE"), None);
        assert_eq!(power_state_of("SHELVED_OFFLOADED"), "shelved_offloaded");
    }
}
