//! Keystone v3 authentication: the body of `POST /v3/auth/tokens` for
//! each way of authenticating, and the token read from the answer (its
//! lifetime, scope and catalog).
//! https://docs.openstack.org/api-ref/identity/v3/#password-authentication-with-scoped-authorization

use super::catalog::Catalog;
use super::secret::Secret;
use super::settings::{
    ApplicationCredentialRef, AuthMethod, DomainRef, ProjectRef, Scope, UserRef,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};

/// A token and what came with it.
#[derive(Debug)]
pub struct Token {
    pub value: Secret,
    /// As Keystone wrote it (`2015-11-07T02:58:43.578887Z`).
    pub expires_at: Option<String>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub user_id: Option<String>,
    pub catalog: Catalog,
    /// When to get a new one: before Keystone's expiry by a margin, on
    /// this machine's monotonic clock (so a skewed clock does not matter).
    renew_at: Option<Instant>,
}

impl Token {
    /// Whether the token is close enough to its expiry to be replaced.
    pub fn needs_renewal(&self, now: Instant) -> bool {
        self.renew_at.is_some_and(|at| now >= at)
    }
}

/// How long before expiry a token is renewed: 30 s, or a tenth of the
/// lifetime for short-lived tokens (so a one-minute token is not renewed
/// on every call).
pub fn renewal_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(30))
}

fn domain(d: &DomainRef) -> Value {
    match d {
        DomainRef::Id(id) => json!({"id": id}),
        DomainRef::Name(name) => json!({"name": name}),
    }
}

fn user(u: &UserRef) -> Value {
    match u {
        UserRef::Id(id) => json!({"id": id}),
        UserRef::Name { name, domain: d } => json!({"name": name, "domain": domain(d)}),
    }
}

/// The body of `POST /v3/auth/tokens`; `None` for a given token, which is
/// validated instead.
pub fn token_request(method: &AuthMethod) -> Option<Value> {
    match method {
        AuthMethod::Password {
            user: u,
            password,
            scope,
        } => {
            let mut u = user(u);
            u["password"] = json!(password.expose());
            let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": u}}});
            match scope {
                Scope::Project(ProjectRef::Id(id)) => {
                    auth["scope"] = json!({"project": {"id": id}});
                }
                Scope::Project(ProjectRef::Name { name, domain: d }) => {
                    auth["scope"] = json!({"project": {"name": name, "domain": domain(d)}});
                }
                Scope::Domain(d) => auth["scope"] = json!({"domain": domain(d)}),
                Scope::Unscoped => {}
            }
            Some(json!({ "auth": auth }))
        }
        AuthMethod::ApplicationCredential { credential, secret } => {
            let mut cred = match credential {
                ApplicationCredentialRef::Id(id) => json!({"id": id}),
                ApplicationCredentialRef::Name { name, user: u } => {
                    json!({"name": name, "user": user(u)})
                }
            };
            cred["secret"] = json!(secret.expose());
            // Scope and roles come from the credential: asking for a
            // scope is an error.
            Some(json!({"auth": {"identity": {
                "methods": ["application_credential"],
                "application_credential": cred,
            }}}))
        }
        AuthMethod::Token { .. } => None,
    }
}

fn parse_time(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z')).ok()
}

/// Reads the `token` document Keystone answered with. `received` is when
/// the answer arrived.
pub fn parse_token(value: Secret, body: &Value, received: Instant) -> Result<Token, String> {
    let token = body
        .get("token")
        .ok_or("the answer has no \"token\" object")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
    let expires_at = text(token.get("expires_at"));
    let expires = expires_at.as_deref().and_then(parse_time);
    let issued = text(token.get("issued_at"))
        .as_deref()
        .and_then(parse_time)
        .unwrap_or_else(SystemTime::now);
    // The lifetime is measured between two of Keystone's own timestamps,
    // then counted from the moment the answer arrived.
    let renew_at = expires.map(|expires| {
        let lifetime = expires.duration_since(issued).unwrap_or_default();
        received + lifetime.saturating_sub(renewal_margin(lifetime))
    });
    let catalog = match token.get("catalog") {
        Some(c) => serde_json::from_value(c.clone())
            .map_err(|e| format!("the token's catalog is not readable: {e}"))?,
        None => Catalog::default(),
    };
    Ok(Token {
        value,
        expires_at,
        project_id: text(token.pointer("/project/id")),
        project_name: text(token.pointer("/project/name")),
        user_id: text(token.pointer("/user/id")),
        catalog,
        renew_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_by_name_with_project_scope() {
        let body = token_request(&AuthMethod::Password {
            user: UserRef::Name {
                name: "admin".into(),
                domain: DomainRef::Name("Default".into()),
            },
            password: Secret::new("pw"),
            scope: Scope::Project(ProjectRef::Name {
                name: "admin".into(),
                domain: DomainRef::Id("default".into()),
            }),
        });
        assert_eq!(
            body,
            Some(json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "pw"}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}
            }}))
        );
    }

    #[test]
    fn application_credential_by_name_has_no_scope() {
        let body = token_request(&AuthMethod::ApplicationCredential {
            credential: ApplicationCredentialRef::Name {
                name: "ci".into(),
                user: UserRef::Id("u1".into()),
            },
            secret: Secret::new("s"),
        });
        assert_eq!(
            body,
            Some(json!({"auth": {"identity": {
                "methods": ["application_credential"],
                "application_credential": {"name": "ci", "user": {"id": "u1"}, "secret": "s"}
            }}}))
        );
    }

    #[test]
    fn margins() {
        assert_eq!(
            renewal_margin(Duration::from_secs(3600)),
            Duration::from_secs(30)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn reads_the_token_document() {
        let body = json!({"token": {
            "expires_at": "2030-01-01T01:00:00.000000Z",
            "issued_at": "2030-01-01T00:00:00.000000Z",
            "project": {"id": "p1", "name": "demo"},
            "user": {"id": "u1", "name": "demo"},
            "catalog": [{"type": "image", "endpoints": [{"interface": "public", "region_id": "R", "url": "http://i"}]}]
        }});
        let now = Instant::now();
        let token = parse_token(Secret::new("t"), &body, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token.project_id.as_deref(), Some("p1"));
        assert_eq!(token.project_name.as_deref(), Some("demo"));
        assert_eq!(token.user_id.as_deref(), Some("u1"));
        assert_eq!(token.catalog.0.len(), 1);
        assert!(!token.needs_renewal(now + Duration::from_secs(3569)));
        assert!(token.needs_renewal(now + Duration::from_secs(3570)));
        assert!(!format!("{token:?}").contains("\"t\""));
    }
}
