//! Nova servers: builds, addresses from Neutron ports, the rules for
//! choosing networks, failed builds, deletion, scoping and restarts.

use super::{Cloud, Reply};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn mv(v: &str) -> [(&'static str, String); 1] {
    [("OpenStack-API-Version", format!("compute {v}"))]
}

/// An active public image of a few bytes, uploaded as `raw`.
async fn active_image(c: &Cloud, admin: &str, name: &str) -> String {
    let r = c
        .call(
            "POST",
            "/image/v2/images",
            Some(admin),
            Some(json!({"name": name, "disk_format": "raw", "container_format": "bare", "visibility": "public"})),
        )
        .await;
    r.expect(201);
    let id = r.json["id"].as_str().expect("image id").to_string();
    c.send(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        Some(admin),
        Some(("application/octet-stream".into(), b"a tiny disk".to_vec())),
        &[],
    )
    .await
    .expect(204);
    id
}

/// A network with one IPv4 subnet; answers (network id, subnet id).
async fn network_with_subnet(c: &Cloud, token: &str, name: &str, cidr: &str) -> (String, String) {
    let r = c
        .call(
            "POST",
            "/network/v2.0/networks",
            Some(token),
            Some(json!({"network": {"name": name}})),
        )
        .await;
    r.expect(201);
    let net = r.json["network"]["id"]
        .as_str()
        .expect("network id")
        .to_string();
    let r = c
        .call(
            "POST",
            "/network/v2.0/subnets",
            Some(token),
            Some(json!({"subnet": {"network_id": net, "cidr": cidr, "ip_version": 4, "name": format!("{name}-subnet")}})),
        )
        .await;
    r.expect(201);
    let subnet = r.json["subnet"]["id"]
        .as_str()
        .expect("subnet id")
        .to_string();
    (net, subnet)
}

async fn create_server(c: &Cloud, token: &str, version: &str, server: Value) -> Reply {
    let headers = mv(version);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.send(
        "POST",
        "/compute/v2.1/servers",
        Some(token),
        Some((
            "application/json".into(),
            serde_json::to_vec(&json!({"server": server})).expect("json"),
        )),
        &headers,
    )
    .await
}

async fn show(c: &Cloud, token: &str, id: &str) -> Reply {
    c.call(
        "GET",
        &format!("/compute/v2.1/servers/{id}"),
        Some(token),
        None,
    )
    .await
}

/// Polls the server until its status is `status`; answers its document.
async fn wait_for(c: &Cloud, token: &str, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = show(c, token, id).await;
        r.expect(200);
        if r.json["server"]["status"] == status {
            return r.json["server"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "server {id} never became {status}: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_gone(c: &Cloud, token: &str, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while show(c, token, id).await.status != 404 {
        assert!(Instant::now() < deadline, "server {id} was never deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(list: &Value) -> Vec<&str> {
    list["servers"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_server_builds_gets_a_port_on_its_network_and_is_deleted_with_it() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    c.call(
        "PUT",
        "/devcloud/settings",
        None,
        Some(json!({"build_time": 1.0})),
    )
    .await
    .expect(200);
    let image = active_image(&c, &admin, "cirros").await;
    let (net, subnet) = network_with_subnet(&c, &admin, "private", "10.1.0.0/24").await;

    let r = create_server(
        &c,
        &admin,
        "2.90",
        json!({"name": "web-1", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": net}]}),
    )
    .await;
    r.expect(202);
    let id = r.json["server"]["id"].as_str().expect("id").to_string();
    assert!(r.json["server"]["adminPass"].is_string());
    assert!(
        r.header("location")
            .is_some_and(|l| l.ends_with(&format!("/compute/v2.1/servers/{id}")))
    );
    assert_eq!(
        show(&c, &admin, &id).await.json["server"]["status"],
        "BUILD"
    );

    let server = wait_for(&c, &admin, &id, "ACTIVE").await;
    assert_eq!(server["OS-EXT-STS:vm_state"], "active");
    let address = &server["addresses"]["private"][0];
    assert_eq!(address["version"], 4);
    assert_eq!(address["OS-EXT-IPS:type"], "fixed");
    let ip = address["addr"].as_str().expect("an address").to_string();
    assert!(ip.starts_with("10.1.0."), "{ip}");
    assert_ne!(ip, "10.1.0.1", "the gateway is not handed out");

    let ports = c
        .call(
            "GET",
            &format!("/network/v2.0/ports?device_id={id}"),
            Some(&admin),
            None,
        )
        .await;
    ports.expect(200);
    let port = &ports.json["ports"][0];
    assert_eq!(port["device_owner"], "compute:nova");
    assert_eq!(port["network_id"], net.as_str());
    assert_eq!(port["fixed_ips"][0]["subnet_id"], subnet.as_str());
    assert_eq!(port["fixed_ips"][0]["ip_address"], ip.as_str());

    let found = c
        .call(
            "GET",
            "/compute/v2.1/servers/detail?name=^web",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ids(&found.json), vec![id.as_str()]);
    let none = c
        .call(
            "GET",
            "/compute/v2.1/servers?status=ERROR",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ids(&none.json), Vec::<&str>::new());

    let r = c
        .call(
            "PUT",
            &format!("/compute/v2.1/servers/{id}"),
            Some(&admin),
            Some(json!({"server": {"name": "web-2"}})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["server"]["name"], "web-2");

    // Neutron refuses to drop a subnet a server still has an address on.
    let r = c
        .call(
            "DELETE",
            &format!("/network/v2.0/subnets/{subnet}"),
            Some(&admin),
            None,
        )
        .await;
    r.expect(409);
    assert_eq!(r.json["NeutronError"]["type"], "SubnetInUse");

    c.call(
        "DELETE",
        &format!("/compute/v2.1/servers/{id}"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    wait_gone(&c, &admin, &id).await;
    let ports = c
        .call(
            "GET",
            &format!("/network/v2.0/ports?device_id={id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ports.json["ports"], json!([]));
    c.call(
        "DELETE",
        &format!("/network/v2.0/subnets/{subnet}"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    c.stop().await;
}

#[tokio::test]
async fn without_networks_a_server_joins_the_only_network_and_several_conflict() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let image = active_image(&c, &admin, "cirros").await;
    let server = |name: &str| json!({"name": name, "imageRef": image, "flavorRef": "1"});

    // No network at all: Nova has nothing to attach the server to.
    let r = create_server(&c, &demo, "2.1", server("lonely")).await;
    r.expect(400);
    assert!(r.json["badRequest"]["message"].is_string(), "{}", r.text);

    network_with_subnet(&c, &demo, "only", "192.168.10.0/24").await;
    let r = create_server(&c, &demo, "2.1", server("one")).await;
    r.expect(202);
    let id = r.json["server"]["id"].as_str().expect("id").to_string();
    let active = wait_for(&c, &demo, &id, "ACTIVE").await;
    assert!(active["addresses"]["only"][0]["addr"].is_string());

    network_with_subnet(&c, &demo, "second", "192.168.20.0/24").await;
    let r = create_server(&c, &demo, "2.1", server("two")).await;
    r.expect(409);
    assert_eq!(
        r.json["conflictingRequest"]["message"],
        "Multiple possible networks found, use a Network ID to be more specific."
    );

    // From 2.37 `networks` is required, and "none" means no network.
    create_server(&c, &demo, "2.37", server("strict"))
        .await
        .expect(400);
    let mut detached = server("detached");
    detached["networks"] = json!("none");
    let r = create_server(&c, &demo, "2.37", detached).await;
    r.expect(202);
    let id = r.json["server"]["id"].as_str().expect("id").to_string();
    let active = wait_for(&c, &demo, &id, "ACTIVE").await;
    assert_eq!(active["addresses"], json!({}));
    // "none" is only a word from 2.37 on.
    let mut early = server("early");
    early["networks"] = json!("none");
    create_server(&c, &demo, "2.36", early).await.expect(400);
    c.stop().await;
}

#[tokio::test]
async fn a_server_matching_an_error_rule_fails_its_build_with_a_fault() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let image = active_image(&c, &admin, "cirros").await;
    let (net, _) = network_with_subnet(&c, &admin, "private", "10.2.0.0/24").await;
    c.call(
        "POST",
        "/devcloud/server-errors",
        None,
        Some(json!({"name": "doomed-*", "message": "No valid host was found. "})),
    )
    .await
    .expect(201);
    let r = create_server(
        &c,
        &admin,
        "2.1",
        json!({"name": "doomed-1", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": net}]}),
    )
    .await;
    r.expect(202);
    let id = r.json["server"]["id"].as_str().expect("id").to_string();
    let failed = wait_for(&c, &admin, &id, "ERROR").await;
    assert_eq!(failed["fault"]["code"], 500);
    assert_eq!(failed["fault"]["message"], "No valid host was found. ");
    assert!(
        failed["fault"]["created"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    // A failed build gives its address back.
    let ports = c
        .call(
            "GET",
            &format!("/network/v2.0/ports?device_id={id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ports.json["ports"], json!([]));
    let errored = c
        .call(
            "GET",
            "/compute/v2.1/servers?status=ERROR",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ids(&errored.json), vec![id.as_str()]);
    c.stop().await;
}

#[tokio::test]
async fn bad_server_requests_name_what_is_wrong() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let image = active_image(&c, &admin, "cirros").await;
    let (net, _) = network_with_subnet(&c, &admin, "private", "10.3.0.0/24").await;
    let missing = "5a3c3d0e-8d5f-4f9a-9e57-2b8a0f2b6c11";
    let cases = [
        (
            json!({"name": "x", "imageRef": image, "flavorRef": "999", "networks": [{"uuid": net}]}),
            "Flavor 999 could not be found.".to_string(),
        ),
        (
            json!({"name": "x", "imageRef": missing, "flavorRef": "1", "networks": [{"uuid": net}]}),
            format!("Image {missing} could not be found."),
        ),
        (
            json!({"name": "x", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": missing}]}),
            format!("Network {missing} could not be found."),
        ),
        (
            json!({"name": "x", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": net}], "security_groups": [{"name": "nope"}]}),
            "Security group nope not found for project".to_string(),
        ),
    ];
    for (server, message) in cases {
        let r = create_server(&c, &admin, "2.1", server).await;
        r.expect(400);
        let got = r.json["badRequest"]["message"].as_str().unwrap_or_default();
        assert!(
            got.starts_with(&message),
            "{got:?} should start with {message:?}"
        );
        assert_eq!(r.json["badRequest"]["code"], 400);
    }
    // Missing name, an unknown field and malformed JSON.
    create_server(
        &c,
        &admin,
        "2.1",
        json!({"imageRef": image, "flavorRef": "1"}),
    )
    .await
    .expect(400);
    create_server(
        &c,
        &admin,
        "2.1",
        json!({"name": "x", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": net}], "colour": "blue"}),
    )
    .await
    .expect(400);
    let r = c
        .send(
            "POST",
            "/compute/v2.1/servers",
            Some(&admin),
            Some(("application/json".into(), b"{\"server\": ".to_vec())),
            &[],
        )
        .await;
    r.expect(400);
    assert!(r.json["badRequest"].is_object(), "{}", r.text);
    // Security groups are accepted by name.
    create_server(
        &c,
        &admin,
        "2.1",
        json!({"name": "ok", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": net}], "security_groups": [{"name": "default"}]}),
    )
    .await
    .expect(202);
    c.stop().await;
}

#[tokio::test]
async fn servers_are_visible_to_their_project_and_to_admins_asking_for_all() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let image = active_image(&c, &admin, "cirros").await;
    network_with_subnet(&c, &demo, "demo-net", "10.4.0.0/24").await;
    let r = create_server(
        &c,
        &demo,
        "2.1",
        json!({"name": "mine", "imageRef": image, "flavorRef": "1"}),
    )
    .await;
    r.expect(202);
    let id = r.json["server"]["id"].as_str().expect("id").to_string();

    let own = c
        .call("GET", "/compute/v2.1/servers", Some(&admin), None)
        .await;
    assert_eq!(ids(&own.json), Vec::<&str>::new());
    let all = c
        .call(
            "GET",
            "/compute/v2.1/servers?all_tenants=1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ids(&all.json), vec![id.as_str()]);
    c.call(
        "GET",
        "/compute/v2.1/servers?all_tenants=1",
        Some(&demo),
        None,
    )
    .await
    .expect(403);

    let (admin_net, _) = network_with_subnet(&c, &admin, "admin-net", "10.5.0.0/24").await;
    let r = create_server(
        &c,
        &admin,
        "2.1",
        json!({"name": "theirs", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": admin_net}]}),
    )
    .await;
    r.expect(202);
    let theirs = r.json["server"]["id"].as_str().expect("id").to_string();
    let r = show(&c, &demo, &theirs).await;
    r.expect(404);
    assert_eq!(r.json["itemNotFound"]["code"], 404);
    c.call(
        "DELETE",
        &format!("/compute/v2.1/servers/{theirs}"),
        Some(&demo),
        None,
    )
    .await
    .expect(404);
    // Another project's private network is not the demo project's to use.
    create_server(
        &c,
        &demo,
        "2.1",
        json!({"name": "sneaky", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": admin_net}]}),
    )
    .await
    .expect(400);
    c.stop().await;
}

#[tokio::test]
async fn servers_images_and_networks_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = Cloud::start_in(dir).await;
    let admin = c.token("admin").await;
    let image = active_image(&c, &admin, "cirros").await;
    let (net, subnet) = network_with_subnet(&c, &admin, "private", "10.6.0.0/24").await;
    let r = create_server(
        &c,
        &admin,
        "2.1",
        json!({"name": "keeper", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": net}]}),
    )
    .await;
    r.expect(202);
    let id = r.json["server"]["id"].as_str().expect("id").to_string();
    let before = wait_for(&c, &admin, &id, "ACTIVE").await;

    let Cloud {
        cloud, _dir: dir, ..
    } = c;
    cloud.stop().await.expect("devcloud stops");
    let c = Cloud::start_in(dir).await;
    let after = wait_for(&c, &admin, &id, "ACTIVE").await;
    assert_eq!(after["addresses"], before["addresses"]);
    assert_eq!(after["created"], before["created"]);
    let data = c
        .send(
            "GET",
            &format!("/image/v2/images/{image}/file"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    data.expect(200);
    assert_eq!(data.text, "a tiny disk");
    c.call(
        "GET",
        &format!("/network/v2.0/subnets/{subnet}"),
        Some(&admin),
        None,
    )
    .await
    .expect(200);
    c.stop().await;
}

#[tokio::test]
async fn server_tags_are_listed_replaced_added_and_removed_from_2_26() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let image = active_image(&c, &admin, "tagged").await;
    let (net, _) = network_with_subnet(&c, &admin, "tags-net", "10.9.0.0/24").await;
    let r = create_server(
        &c,
        &admin,
        "2.52",
        json!({"name": "tagged", "imageRef": image, "flavorRef": "1", "networks": [{"uuid": net}], "tags": ["a"]}),
    )
    .await;
    r.expect(202);
    let id = r.json["server"]["id"].as_str().expect("id").to_string();
    let tags = format!("/compute/v2.1/servers/{id}/tags");
    let call = |method: &'static str, path: String, version: &'static str, body: Option<Value>| {
        let headers = mv(version);
        let c = &c;
        let admin = admin.clone();
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.send(
                method,
                &path,
                Some(&admin),
                body.map(|b| ("application/json".to_string(), b.to_string().into_bytes())),
                &headers,
            )
            .await
        }
    };
    // Not there before 2.26.
    call("GET", tags.clone(), "2.25", None).await.expect(404);
    let r = call("GET", tags.clone(), "2.26", None).await;
    r.expect(200);
    assert_eq!(r.json["tags"], json!(["a"]));
    let r = call(
        "PUT",
        tags.clone(),
        "2.26",
        Some(json!({"tags": ["b", "c", "b"]})),
    )
    .await;
    r.expect(200);
    assert_eq!(r.json["tags"], json!(["b", "c"]));
    call("PUT", format!("{tags}/d"), "2.26", None)
        .await
        .expect(201);
    call("PUT", format!("{tags}/d"), "2.26", None)
        .await
        .expect(204);
    call("DELETE", format!("{tags}/b"), "2.26", None)
        .await
        .expect(204);
    call("DELETE", format!("{tags}/b"), "2.26", None)
        .await
        .expect(404);
    call("PUT", tags.clone(), "2.26", Some(json!({"tags": ["x/y"]})))
        .await
        .expect(400);
    let r = call("GET", format!("/compute/v2.1/servers/{id}"), "2.26", None).await;
    assert_eq!(r.json["server"]["tags"], json!(["c", "d"]));
    call("DELETE", tags.clone(), "2.26", None).await.expect(204);
    assert_eq!(
        call("GET", tags, "2.26", None).await.json["tags"],
        json!([])
    );
    c.stop().await;
}

async fn act(c: &Cloud, token: &str, id: &str, body: Value) -> Reply {
    c.call(
        "POST",
        &format!("/compute/v2.1/servers/{id}/action"),
        Some(token),
        Some(body),
    )
    .await
}

/// A built server on a new network; answers its id.
async fn active_server(c: &Cloud, admin: &str, name: &str, cidr: &str) -> String {
    let image = active_image(c, admin, &format!("{name}-image")).await;
    let (net, _) = network_with_subnet(c, admin, &format!("{name}-net"), cidr).await;
    let r = create_server(
        c,
        admin,
        "2.90",
        json!({"name": name, "imageRef": image, "flavorRef": "1", "networks": [{"uuid": net}]}),
    )
    .await;
    r.expect(202);
    let id = r.json["server"]["id"].as_str().expect("id").to_string();
    wait_for(c, admin, &id, "ACTIVE").await;
    id
}

#[tokio::test]
async fn power_actions_move_a_server_between_nova_states_and_refuse_wrong_ones() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let id = active_server(&c, &admin, "power", "10.7.0.0/24").await;
    let state = |s: &Value| {
        (
            s["status"].as_str().unwrap_or_default().to_string(),
            s["OS-EXT-STS:vm_state"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            s["OS-EXT-STS:power_state"].as_u64().unwrap_or(99),
        )
    };
    let steps = [
        ("os-stop", "SHUTOFF", "stopped", 4),
        ("os-start", "ACTIVE", "active", 1),
        ("pause", "PAUSED", "paused", 3),
        ("unpause", "ACTIVE", "active", 1),
        ("shelve", "SHELVED_OFFLOADED", "shelved_offloaded", 0),
        ("unshelve", "ACTIVE", "active", 1),
    ];
    for (action, status, vm_state, power) in steps {
        act(&c, &admin, &id, json!({ action: null }))
            .await
            .expect(202);
        let s = show(&c, &admin, &id).await.json["server"].clone();
        assert_eq!(
            state(&s),
            (status.to_string(), vm_state.to_string(), power),
            "after {action}"
        );
    }
    // Wrong states: 409 with Nova's wording.
    let r = act(&c, &admin, &id, json!({"os-start": null})).await;
    r.expect(409);
    assert!(
        r.json["conflictingRequest"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Cannot 'start' instance") && m.contains("vm_state active")),
        "{}",
        r.text
    );
    act(&c, &admin, &id, json!({"unpause": null}))
        .await
        .expect(409);
    act(&c, &admin, &id, json!({"unshelve": null}))
        .await
        .expect(409);
    act(&c, &admin, &id, json!({"hibernate": null}))
        .await
        .expect(400);
    c.stop().await;
}

#[tokio::test]
async fn a_resize_waits_for_confirmation_and_can_be_reverted() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    c.call(
        "PUT",
        "/devcloud/settings",
        None,
        Some(json!({"build_time": 0.3})),
    )
    .await
    .expect(200);
    let id = active_server(&c, &admin, "grow", "10.8.0.0/24").await;
    // Below 2.47 a server names its flavor's id.
    let flavor_id = |s: &Value| s["flavor"]["id"].as_str().map(str::to_string);
    let before = flavor_id(&show(&c, &admin, &id).await.json["server"]);

    // Same flavor, unknown flavor, smaller disk: 400.
    act(&c, &admin, &id, json!({"resize": {"flavorRef": "1"}}))
        .await
        .expect(400);
    act(&c, &admin, &id, json!({"resize": {"flavorRef": "nope"}}))
        .await
        .expect(400);
    act(&c, &admin, &id, json!({"confirmResize": null}))
        .await
        .expect(400);

    act(&c, &admin, &id, json!({"resize": {"flavorRef": "2"}}))
        .await
        .expect(202);
    let s = show(&c, &admin, &id).await.json["server"].clone();
    assert_eq!(s["status"], "RESIZE");
    assert_eq!(s["OS-EXT-STS:task_state"], "resize_prep");
    assert_eq!(
        flavor_id(&s),
        before,
        "the old flavor until the resize ends"
    );
    // Nothing else while it resizes.
    act(&c, &admin, &id, json!({"os-stop": null}))
        .await
        .expect(409);
    let s = wait_for(&c, &admin, &id, "VERIFY_RESIZE").await;
    assert_eq!(s["OS-EXT-STS:vm_state"], "resized");
    assert_eq!(flavor_id(&s).as_deref(), Some("2"));
    act(&c, &admin, &id, json!({"revertResize": null}))
        .await
        .expect(202);
    let s = show(&c, &admin, &id).await.json["server"].clone();
    assert_eq!(
        (s["status"].as_str(), flavor_id(&s)),
        (Some("ACTIVE"), before)
    );

    // A stopped server resized stays stopped once confirmed.
    act(&c, &admin, &id, json!({"os-stop": null}))
        .await
        .expect(202);
    act(&c, &admin, &id, json!({"resize": {"flavorRef": "2"}}))
        .await
        .expect(202);
    wait_for(&c, &admin, &id, "VERIFY_RESIZE").await;
    act(&c, &admin, &id, json!({"confirmResize": null}))
        .await
        .expect(202);
    let s = show(&c, &admin, &id).await.json["server"].clone();
    assert_eq!(s["status"], "SHUTOFF");
    assert_eq!(flavor_id(&s).as_deref(), Some("2"));
    c.stop().await;
}

#[tokio::test]
async fn security_groups_are_added_to_and_removed_from_a_servers_ports() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let id = active_server(&c, &admin, "guarded", "10.9.0.0/24").await;
    let r = c
        .call(
            "POST",
            "/network/v2.0/security-groups",
            Some(&admin),
            Some(json!({"security_group": {"name": "web"}})),
        )
        .await;
    r.expect(201);
    let web = r.json["security_group"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let port_groups = || async {
        let r = c
            .call(
                "GET",
                &format!("/network/v2.0/ports?device_id={id}"),
                Some(&admin),
                None,
            )
            .await;
        r.json["ports"][0]["security_groups"].clone()
    };
    let server_groups = || async {
        let s = show(&c, &admin, &id).await.json["server"].clone();
        let mut names: Vec<String> = s["security_groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["name"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    };

    act(
        &c,
        &admin,
        &id,
        json!({"addSecurityGroup": {"name": "web"}}),
    )
    .await
    .expect(202);
    assert_eq!(server_groups().await, ["default", "web"]);
    assert!(
        port_groups()
            .await
            .as_array()
            .is_some_and(|g| g.contains(&json!(web))),
        "the port carries the group"
    );
    act(
        &c,
        &admin,
        &id,
        json!({"removeSecurityGroup": {"name": "web"}}),
    )
    .await
    .expect(202);
    assert_eq!(server_groups().await, ["default"]);
    assert!(
        !port_groups()
            .await
            .as_array()
            .is_some_and(|g| g.contains(&json!(web)))
    );

    let r = act(
        &c,
        &admin,
        &id,
        json!({"addSecurityGroup": {"name": "nope"}}),
    )
    .await;
    r.expect(404);
    assert!(
        r.text.contains("Security group nope not found."),
        "{}",
        r.text
    );
    act(
        &c,
        &admin,
        &id,
        json!({"removeSecurityGroup": {"name": "web"}}),
    )
    .await
    .expect(400);
    act(&c, &admin, &id, json!({"addSecurityGroup": {}}))
        .await
        .expect(400);

    // changePassword: accepted while ACTIVE, 409 while stopped.
    act(
        &c,
        &admin,
        &id,
        json!({"changePassword": {"adminPass": "s3cret"}}),
    )
    .await
    .expect(202);
    act(&c, &admin, &id, json!({"os-stop": null}))
        .await
        .expect(202);
    act(
        &c,
        &admin,
        &id,
        json!({"changePassword": {"adminPass": "s3cret"}}),
    )
    .await
    .expect(409);
    c.stop().await;
}

/// From 2.71 a server's own page (not the lists) carries
/// `server_groups`, as Nova's does.
#[tokio::test]
async fn server_groups_show_on_a_servers_page_from_2_71() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let id = active_server(&c, &admin, "grouped", "10.12.0.0/24").await;
    let page = |version: &str| {
        let headers = mv(version);
        let c = &c;
        let admin = admin.clone();
        let id = id.clone();
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.send(
                "GET",
                &format!("/compute/v2.1/servers/{id}"),
                Some(&admin),
                None,
                &headers,
            )
            .await
        }
    };
    let r = page("2.71").await;
    r.expect(200);
    assert_eq!(r.json["server"]["server_groups"], json!([]));
    let r = page("2.70").await;
    assert!(r.json["server"].get("server_groups").is_none());
    let headers = mv("2.71");
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c
        .send(
            "GET",
            "/compute/v2.1/servers/detail",
            Some(&admin),
            None,
            &headers,
        )
        .await;
    assert!(r.json["servers"][0].get("server_groups").is_none());
    c.stop().await;
}
