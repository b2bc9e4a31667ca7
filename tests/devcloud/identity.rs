//! Keystone.

use super::Cloud;
use serde_json::json;

#[tokio::test]
async fn version_discovery() {
    let c = Cloud::start().await;
    let r = c.call("GET", "/identity", None, None).await;
    r.expect(300);
    assert_eq!(r.json["versions"]["values"][0]["id"], "v3.14");
    let r = c.call("GET", "/identity/v3/", None, None).await;
    r.expect(200);
    assert_eq!(
        r.json["version"]["links"][0]["href"],
        format!("{}/identity/v3/", c.cloud.url())
    );
    c.stop().await;
}

#[tokio::test]
async fn password_tokens_carry_the_catalog_and_validate() {
    let c = Cloud::start().await;
    let token = c.token("admin").await;
    let r = c
        .send(
            "GET",
            "/identity/v3/auth/tokens",
            Some(&token),
            None,
            &[("X-Subject-Token", &token)],
        )
        .await;
    r.expect(200);
    let t = &r.json["token"];
    assert_eq!(t["project"]["name"], "admin");
    assert_eq!(t["user"]["domain"]["name"], "Default");
    assert!(t["expires_at"].as_str().unwrap().ends_with('Z'));
    let catalog = t["catalog"].as_array().unwrap();
    let names: Vec<&str> = catalog
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["keystone", "glance", "nova", "neutron"]);
    let compute = catalog.iter().find(|s| s["type"] == "compute").unwrap();
    let urls: Vec<&str> = compute["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert!(urls.iter().all(|u| u.ends_with("/compute/v2.1")));
    assert_eq!(compute["endpoints"].as_array().unwrap().len(), 3);
    let roles: Vec<&str> = t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"admin"));
    c.stop().await;
}

#[tokio::test]
async fn bad_credentials_and_tokens_get_keystones_401() {
    let c = Cloud::start().await;
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "wrong"}}}}});
    let r = c
        .call("POST", "/identity/v3/auth/tokens", None, Some(body))
        .await;
    r.expect(401);
    assert_eq!(r.json["error"]["code"], 401);
    assert_eq!(r.json["error"]["title"], "Unauthorized");
    for token in [None, Some("garbage"), Some("eyJ1IjoiYSJ9.AAAA")] {
        let r = c.call("GET", "/network/v2.0/networks", token, None).await;
        r.expect(401);
        assert_eq!(
            r.json["error"]["message"],
            "The request you have made requires authentication."
        );
    }
    let r = c
        .send(
            "POST",
            "/identity/v3/auth/tokens",
            None,
            Some(("application/json".into(), b"{not json".to_vec())),
            &[],
        )
        .await;
    r.expect(400);
    c.stop().await;
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    let c = Cloud::start().await;
    let r = c
        .call(
            "PUT",
            "/devcloud/settings",
            None,
            Some(json!({"token_ttl": 1})),
        )
        .await;
    r.expect(200);
    let token = c.token("demo").await;
    c.call("GET", "/identity/v3/auth/projects", Some(&token), None)
        .await
        .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    c.call("GET", "/identity/v3/auth/projects", Some(&token), None)
        .await
        .expect(401);
    c.call(
        "PUT",
        "/devcloud/settings",
        None,
        Some(json!({"token_ttl": 3600})),
    )
    .await
    .expect(200);
    let token = c.token("demo").await;
    let admin = c.token("admin").await;
    c.send(
        "DELETE",
        "/identity/v3/auth/tokens",
        Some(&admin),
        None,
        &[("X-Subject-Token", &token)],
    )
    .await
    .expect(204);
    c.call("GET", "/identity/v3/auth/projects", Some(&token), None)
        .await
        .expect(401);
    c.stop().await;
}

#[tokio::test]
async fn unscoped_tokens_and_scope_by_id() {
    let c = Cloud::start().await;
    let password = c.cloud.password("demo").unwrap();
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "domain": {"name": "Default"}, "password": password}}}}});
    let r = c
        .call("POST", "/identity/v3/auth/tokens", None, Some(body))
        .await;
    r.expect(201);
    assert!(r.json["token"].get("project").is_none());
    assert!(r.json["token"].get("catalog").is_none());
    let unscoped = r.header("x-subject-token").unwrap().to_string();
    let projects = c
        .call("GET", "/identity/v3/auth/projects", Some(&unscoped), None)
        .await;
    let demo_id = projects.json["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "domain": {"id": "default"}, "password": password}}}, "scope": {"project": {"id": demo_id}}}});
    c.call("POST", "/identity/v3/auth/tokens", None, Some(body))
        .await
        .expect(201);
    c.stop().await;
}

#[tokio::test]
async fn application_credentials_authenticate_by_id_or_name() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let me = c
        .send(
            "GET",
            "/identity/v3/auth/tokens",
            Some(&token),
            None,
            &[("X-Subject-Token", &token)],
        )
        .await;
    let user_id = me.json["token"]["user"]["id"].as_str().unwrap().to_string();
    let r = c
        .call(
            "POST",
            &format!("/identity/v3/users/{user_id}/application_credentials"),
            Some(&token),
            Some(json!({"application_credential": {"name": "ci"}})),
        )
        .await;
    r.expect(201);
    let id = r.json["application_credential"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = r.json["application_credential"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let by_id = json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": id, "secret": secret}}}});
    let r = c
        .call("POST", "/identity/v3/auth/tokens", None, Some(by_id))
        .await;
    r.expect(201);
    assert_eq!(r.json["token"]["project"]["name"], "demo");
    assert_eq!(
        r.json["token"]["methods"],
        json!(["application_credential"])
    );
    let by_name = json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"name": "ci", "secret": secret, "user": {"name": "demo", "domain": {"name": "Default"}}}}}});
    c.call("POST", "/identity/v3/auth/tokens", None, Some(by_name))
        .await
        .expect(201);
    let wrong = json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": id, "secret": "nope"}}}});
    c.call("POST", "/identity/v3/auth/tokens", None, Some(wrong))
        .await
        .expect(401);
    c.stop().await;
}

#[tokio::test]
async fn admin_listings_are_admin_only() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let r = c
        .call("GET", "/identity/v3/projects", Some(&admin), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["projects"].as_array().unwrap().len(), 3);
    c.call("GET", "/identity/v3/users", Some(&admin), None)
        .await
        .expect(200);
    let r = c
        .call("GET", "/identity/v3/projects", Some(&demo), None)
        .await;
    r.expect(403);
    assert_eq!(r.json["error"]["code"], 403);
    c.stop().await;
}

#[tokio::test]
async fn data_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let c = Cloud::start_in(dir).await;
    let token = c.token("admin").await;
    let password = c.cloud.password("admin").unwrap();
    let Cloud {
        cloud, _dir: dir, ..
    } = c;
    cloud.stop().await.unwrap();
    let c = Cloud::start_in(dir).await;
    assert_eq!(c.cloud.password("admin").unwrap(), password);
    c.call("GET", "/identity/v3/auth/projects", Some(&token), None)
        .await
        .expect(200);
    assert!(path.join("clouds.yaml").is_file());
    c.stop().await;
}
