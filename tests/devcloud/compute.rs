//! Nova.

use super::Cloud;
use serde_json::json;

fn mv(v: &str) -> [(&'static str, String); 1] {
    [("OpenStack-API-Version", format!("compute {v}"))]
}

#[tokio::test]
async fn microversions_are_negotiated_and_bounded() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let r = c.call("GET", "/compute/v2.1", None, None).await;
    r.expect(200);
    assert_eq!(r.json["version"]["min_version"], "2.1");
    assert_eq!(r.json["version"]["version"], "2.96");
    let r = c
        .call("GET", "/compute/v2.1/flavors", Some(&token), None)
        .await;
    assert_eq!(r.header("openstack-api-version"), Some("compute 2.1"));
    let h = mv("2.55");
    let r = c
        .send(
            "GET",
            "/compute/v2.1/flavors/1",
            Some(&token),
            None,
            &[(h[0].0, &h[0].1)],
        )
        .await;
    r.expect(200);
    assert_eq!(r.header("openstack-api-version"), Some("compute 2.55"));
    assert!(r.json["flavor"].get("description").is_some());
    let r = c
        .send(
            "GET",
            "/compute/v2.1/flavors/1",
            Some(&token),
            None,
            &[("X-OpenStack-Nova-API-Version", "2.60")],
        )
        .await;
    assert_eq!(r.header("x-openstack-nova-api-version"), Some("2.60"));
    let r = c
        .send(
            "GET",
            "/compute/v2.1/flavors",
            Some(&token),
            None,
            &[("OpenStack-API-Version", "compute 2.200")],
        )
        .await;
    r.expect(406);
    assert_eq!(r.json["computeFault"]["code"], 406);
    let r = c
        .send(
            "GET",
            "/compute/v2.1/flavors",
            Some(&token),
            None,
            &[("OpenStack-API-Version", "compute two")],
        )
        .await;
    r.expect(400);
    let r = c
        .send(
            "GET",
            "/compute/v2.1/flavors",
            Some(&token),
            None,
            &[("OpenStack-API-Version", "compute latest")],
        )
        .await;
    assert_eq!(r.header("openstack-api-version"), Some("compute 2.96"));
    c.stop().await;
}

#[tokio::test]
async fn flavors_are_admin_managed_and_render_by_microversion() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let body = json!({"flavor": {"name": "t1", "ram": 256, "vcpus": 1, "disk": 2, "id": "t1-id"}});
    let r = c
        .call(
            "POST",
            "/compute/v2.1/flavors",
            Some(&demo),
            Some(body.clone()),
        )
        .await;
    r.expect(403);
    assert!(
        r.json["forbidden"]["message"]
            .as_str()
            .unwrap()
            .contains("os-flavor-manage:create")
    );
    let r = c
        .call(
            "POST",
            "/compute/v2.1/flavors",
            Some(&admin),
            Some(body.clone()),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.json["flavor"]["swap"], "",
        "before 2.75 no swap is an empty string"
    );
    c.call("POST", "/compute/v2.1/flavors", Some(&admin), Some(body))
        .await
        .expect(409);
    let h = mv("2.75");
    let r = c
        .send(
            "GET",
            "/compute/v2.1/flavors/t1-id",
            Some(&demo),
            None,
            &[(h[0].0, &h[0].1)],
        )
        .await;
    assert_eq!(r.json["flavor"]["swap"], 0);
    // Extra specs.
    let r = c
        .call(
            "POST",
            "/compute/v2.1/flavors/t1-id/os-extra_specs",
            Some(&admin),
            Some(json!({"extra_specs": {"hw:cpu_policy": "dedicated"}})),
        )
        .await;
    r.expect(200);
    let r = c
        .call(
            "GET",
            "/compute/v2.1/flavors/t1-id/os-extra_specs/hw:cpu_policy",
            Some(&demo),
            None,
        )
        .await;
    assert_eq!(r.json["hw:cpu_policy"], "dedicated");
    let h = mv("2.61");
    let r = c
        .send(
            "GET",
            "/compute/v2.1/flavors/t1-id",
            Some(&demo),
            None,
            &[(h[0].0, &h[0].1)],
        )
        .await;
    assert_eq!(
        r.json["flavor"]["extra_specs"]["hw:cpu_policy"],
        "dedicated"
    );
    // Validation.
    let r = c
        .call(
            "POST",
            "/compute/v2.1/flavors",
            Some(&admin),
            Some(json!({"flavor": {"name": "x", "ram": -1, "vcpus": 1, "disk": 1}})),
        )
        .await;
    r.expect(400);
    assert!(
        r.json["badRequest"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid input for field/attribute ram")
    );
    let r = c.call("POST", "/compute/v2.1/flavors", Some(&admin), Some(json!({"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 1, "description": "no"}}))).await;
    r.expect(400);
    assert!(
        r.json["badRequest"]["message"]
            .as_str()
            .unwrap()
            .contains("'description' was unexpected")
    );
    c.call("DELETE", "/compute/v2.1/flavors/t1-id", Some(&admin), None)
        .await
        .expect(202);
    let r = c
        .call("GET", "/compute/v2.1/flavors/t1-id", Some(&admin), None)
        .await;
    r.expect(404);
    assert_eq!(
        r.json["itemNotFound"]["message"],
        "Flavor t1-id could not be found."
    );
    c.stop().await;
}

#[tokio::test]
async fn private_flavors_are_visible_to_their_projects_only() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let r = c.call("POST", "/compute/v2.1/flavors", Some(&admin), Some(json!({"flavor": {"name": "p", "ram": 64, "vcpus": 1, "disk": 1, "id": "p", "os-flavor-access:is_public": false}}))).await;
    r.expect(200);
    c.call("GET", "/compute/v2.1/flavors/p", Some(&demo), None)
        .await
        .expect(404);
    let me = c
        .send(
            "GET",
            "/identity/v3/auth/tokens",
            Some(&demo),
            None,
            &[("X-Subject-Token", &demo)],
        )
        .await;
    let demo_project = me.json["token"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .call(
            "POST",
            "/compute/v2.1/flavors/p/action",
            Some(&admin),
            Some(json!({"addTenantAccess": {"tenant": demo_project}})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["flavor_access"][0]["tenant_id"], demo_project);
    c.call("GET", "/compute/v2.1/flavors/p", Some(&demo), None)
        .await
        .expect(200);
    let r = c
        .call("GET", "/compute/v2.1/flavors", Some(&demo), None)
        .await;
    assert!(
        r.json["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "p")
    );
    c.stop().await;
}

fn public_key() -> String {
    use base64::Engine;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[9u8; 32]);
    format!(
        "ssh-ed25519 {} test@devcloud",
        base64::engine::general_purpose::STANDARD.encode(&blob)
    )
}

#[tokio::test]
async fn keypairs_belong_to_their_user() {
    let c = Cloud::start().await;
    let demo = c.token("demo").await;
    let admin = c.token("admin").await;
    let body = json!({"keypair": {"name": "k1", "public_key": public_key()}});
    let r = c
        .call(
            "POST",
            "/compute/v2.1/os-keypairs",
            Some(&demo),
            Some(body.clone()),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.json["keypair"]["fingerprint"]
            .as_str()
            .unwrap()
            .matches(':')
            .count(),
        15
    );
    c.call("POST", "/compute/v2.1/os-keypairs", Some(&demo), Some(body))
        .await
        .expect(409);
    let r = c
        .call("GET", "/compute/v2.1/os-keypairs", Some(&demo), None)
        .await;
    assert_eq!(r.json["keypairs"][0]["keypair"]["name"], "k1");
    c.call("GET", "/compute/v2.1/os-keypairs/k1", Some(&demo), None)
        .await
        .expect(200);
    c.call("GET", "/compute/v2.1/os-keypairs/k1", Some(&admin), None)
        .await
        .expect(404);
    let r = c
        .call(
            "POST",
            "/compute/v2.1/os-keypairs",
            Some(&demo),
            Some(json!({"keypair": {"name": "bad", "public_key": "ssh-rsa garbage"}})),
        )
        .await;
    r.expect(400);
    assert_eq!(
        r.json["badRequest"]["message"],
        "Keypair data is invalid: failed to generate fingerprint"
    );
    c.call("DELETE", "/compute/v2.1/os-keypairs/k1", Some(&demo), None)
        .await
        .expect(202);
    c.call("DELETE", "/compute/v2.1/os-keypairs/k1", Some(&demo), None)
        .await
        .expect(404);
    c.stop().await;
}

#[tokio::test]
async fn bad_requests_get_novas_error_bodies() {
    let c = Cloud::start().await;
    let demo = c.token("demo").await;
    let r = c
        .send(
            "POST",
            "/compute/v2.1/servers",
            Some(&demo),
            Some(("application/json".into(), b"{nope".to_vec())),
            &[],
        )
        .await;
    r.expect(400);
    assert_eq!(r.json["badRequest"]["message"], "Malformed request body");
    let r = c.call("POST", "/compute/v2.1/servers", Some(&demo), Some(json!({"server": {"name": "x", "flavorRef": "1", "imageRef": "nope", "networks": "none", "bogus": 1}}))).await;
    r.expect(400);
    assert!(
        r.json["badRequest"]["message"]
            .as_str()
            .unwrap()
            .contains("'bogus' was unexpected")
    );
    let r = c.call("POST", "/compute/v2.1/servers", Some(&demo), Some(json!({"server": {"name": "x", "flavorRef": "999", "imageRef": "00000000-0000-0000-0000-000000000000"}}))).await;
    r.expect(400);
    assert_eq!(
        r.json["badRequest"]["message"],
        "Flavor 999 could not be found."
    );
    let r = c
        .call(
            "GET",
            "/compute/v2.1/servers/00000000-0000-0000-0000-000000000000",
            Some(&demo),
            None,
        )
        .await;
    r.expect(404);
    assert_eq!(
        r.json["itemNotFound"]["message"],
        "Instance 00000000-0000-0000-0000-000000000000 could not be found."
    );
    let r = c
        .send(
            "POST",
            "/compute/v2.1/servers",
            Some(&demo),
            Some(("text/plain".into(), b"{}".to_vec())),
            &[],
        )
        .await;
    r.expect(415);
    c.stop().await;
}
