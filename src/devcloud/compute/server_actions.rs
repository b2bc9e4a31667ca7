//! `POST /servers/{id}/action`: the power actions (`os-stop`, `os-start`,
//! `reboot`, `pause`, `unpause`, `shelve`, `shelveOffload`, `unshelve`),
//! `resize` with `confirmResize` and `revertResize`, `changePassword`,
//! and `addSecurityGroup`/`removeSecurityGroup`.
//!
//! Each action checks the server's status as Nova does (409 when the
//! server is in the wrong state). Power changes take effect at once;
//! a resize runs for the configured build time (RESIZE), then waits for
//! its confirmation (VERIFY_RESIZE). Nova offloads shelved servers at
//! once by default (`shelved_offload_time = 0`), and so does devcloud.

use super::servers::{not_found, reference_id, visible_server, vm_state_of};
use super::{SERVICE, flavors, json_body};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::model::{Resize, Server};
use crate::devcloud::network;
use crate::devcloud::server::{App, Auth};
use crate::devcloud::store::now_millis;
use crate::devcloud::time::now_iso;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::sync::Arc;

/// The 409 Nova answers for an action the server's state does not
/// allow.
fn wrong_state(action: &str, s: &Server) -> ApiError {
    ApiError::conflict(
        SERVICE,
        format!(
            "Cannot '{action}' instance {} while it is in vm_state {}",
            s.id,
            vm_state_of(&s.status).0
        ),
    )
}

/// Requires the server to be in one of `allowed` statuses.
fn expect_status(action: &str, s: &Server, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&s.status.as_str()) && s.gone_at.is_none() {
        Ok(())
    } else {
        Err(wrong_state(action, s))
    }
}

/// The `name` member of an action's object argument.
fn member<'v>(args: &'v Value, action: &str, name: &str) -> ApiResult<&'v str> {
    args.get(name).and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request(
            SERVICE,
            format!("Invalid input for field/attribute {action}. Value: {args}. '{name}' is a required property"),
        )
    })
}

fn set_status(s: &mut Server, status: &str) {
    s.status = status.to_string();
    s.vm_state = vm_state_of(status).0.to_string();
    s.power_state = vm_state_of(status).1;
}

pub async fn action(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let body = json_body(&headers, &body)?;
    let Some((name, args)) = body.as_object().and_then(|o| o.iter().next()) else {
        return Err(ApiError::bad_request(SERVICE, "Malformed request body"));
    };
    let resize_ready_at = now_millis() + app.knobs().build_time.as_millis() as u64;
    let scheduled = app.store.write(|d| -> ApiResult<Option<u64>> {
        visible_server(d, &auth, &id)?;
        let s = d.servers.get(&id).ok_or_else(|| not_found(&id))?;
        if s.locked && !auth.is_admin() {
            return Err(ApiError::conflict(
                SERVICE,
                format!("Instance {id} is locked"),
            ));
        }
        let mut scheduled = None;
        let mut next_status: Option<&str> = None;
        match name.as_str() {
            "os-stop" => {
                expect_status("stop", s, &["ACTIVE", "ERROR"])?;
                next_status = Some("SHUTOFF");
            }
            "os-start" => {
                expect_status("start", s, &["SHUTOFF"])?;
                next_status = Some("ACTIVE");
            }
            "reboot" => {
                expect_status("reboot", s, &["ACTIVE", "SHUTOFF", "PAUSED", "ERROR"])?;
                next_status = Some("ACTIVE");
            }
            "pause" => {
                expect_status("pause", s, &["ACTIVE"])?;
                next_status = Some("PAUSED");
            }
            "unpause" => {
                expect_status("unpause", s, &["PAUSED"])?;
                next_status = Some("ACTIVE");
            }
            "shelve" => {
                expect_status("shelve", s, &["ACTIVE", "SHUTOFF", "PAUSED"])?;
                next_status = Some("SHELVED_OFFLOADED");
            }
            "shelveOffload" => {
                expect_status("shelveOffload", s, &["SHELVED"])?;
                next_status = Some("SHELVED_OFFLOADED");
            }
            "unshelve" => {
                expect_status("unshelve", s, &["SHELVED", "SHELVED_OFFLOADED"])?;
                next_status = Some("ACTIVE");
            }
            "changePassword" => {
                member(args, "changePassword", "adminPass")?;
                expect_status("changePassword", s, &["ACTIVE"])?;
                // The password goes to the guest; devcloud has none and
                // never keeps it.
            }
            "resize" => {
                let wanted = reference_id(member(args, "resize", "flavorRef")?).to_string();
                expect_status("resize", s, &["ACTIVE", "SHUTOFF"])?;
                let new = d
                    .flavors
                    .get(&wanted)
                    .filter(|f| flavors::visible(f, &auth))
                    .ok_or_else(|| ApiError::bad_request(SERVICE, "Invalid flavorRef provided."))?;
                if new.id == s.flavor_id {
                    return Err(ApiError::bad_request(
                        SERVICE,
                        "When resizing, instances must change flavor!",
                    ));
                }
                if let Some(old) = d.flavors.get(&s.flavor_id)
                    && new.disk < old.disk
                    && new.disk != 0
                {
                    return Err(ApiError::bad_request(
                        SERVICE,
                        "Resize error: Unable to resize disk down.",
                    ));
                }
                let new_id = new.id.clone();
                let s = d.servers.get_mut(&id).ok_or_else(|| not_found(&id))?;
                s.resize = Some(Resize {
                    old_flavor_id: s.flavor_id.clone(),
                    new_flavor_id: new_id,
                    ready_at: Some(resize_ready_at),
                    resumes: s.status.clone(),
                });
                s.status = "RESIZE".into();
                s.task_state = Some("resize_prep".into());
                scheduled = Some(resize_ready_at);
            }
            "confirmResize" | "revertResize" => {
                if s.status != "VERIFY_RESIZE" {
                    return Err(ApiError::bad_request(
                        SERVICE,
                        "Instance has not been resized.",
                    ));
                }
                let s = d.servers.get_mut(&id).ok_or_else(|| not_found(&id))?;
                if let Some(resize) = s.resize.take() {
                    if name == "revertResize" {
                        s.flavor_id = resize.old_flavor_id;
                    }
                    set_status(s, &resize.resumes);
                }
            }
            "addSecurityGroup" | "removeSecurityGroup" => {
                let group = member(args, name, "name")?.to_string();
                expect_status(name, s, &["ACTIVE", "SHUTOFF", "PAUSED"])?;
                let (project, ports) = (
                    s.project_id.clone(),
                    s.ports
                        .iter()
                        .map(|p| p.port_id.clone())
                        .collect::<Vec<_>>(),
                );
                let adding = name == "addSecurityGroup";
                let member_already = s.security_groups.contains(&group);
                if !adding && !member_already {
                    return Err(ApiError::bad_request(
                        SERVICE,
                        format!("Security group {group} not associated with the instance {id}"),
                    ));
                }
                network::change_server_security_group(d, &project, &ports, &group, adding)
                    .map_err(|e| match e.status {
                        StatusCode::NOT_FOUND => ApiError::not_found(
                            SERVICE,
                            format!("Security group {group} not found."),
                        ),
                        status => ApiError::new(SERVICE, status, e.message),
                    })?;
                let s = d.servers.get_mut(&id).ok_or_else(|| not_found(&id))?;
                if adding && !member_already {
                    s.security_groups.push(group);
                } else if !adding {
                    s.security_groups.retain(|g| *g != group);
                }
            }
            other => {
                return Err(ApiError::bad_request(
                    SERVICE,
                    format!("There is no such action: {other}"),
                ));
            }
        }
        let s = d.servers.get_mut(&id).ok_or_else(|| not_found(&id))?;
        if let Some(status) = next_status {
            set_status(s, status);
            s.task_state = None;
        }
        s.updated = now_iso();
        Ok(scheduled)
    })?;
    if let Some(at) = scheduled {
        app.store.schedule(at);
    }
    Ok(StatusCode::ACCEPTED)
}
