//! Neutron v2.0 over HTTP: networks, subnets, ports, security groups,
//! tags, scoping, errors and persistence.

use super::{Cloud, Reply};
use serde_json::{Value, json};

const NETWORKS: &str = "/network/v2.0/networks";
const SUBNETS: &str = "/network/v2.0/subnets";
const PORTS: &str = "/network/v2.0/ports";
const GROUPS: &str = "/network/v2.0/security-groups";
const RULES: &str = "/network/v2.0/security-group-rules";

fn id_of(r: &Reply, resource: &str) -> String {
    r.json[resource]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {resource} id in {}", r.text))
        .to_string()
}

/// Asserts a NeutronError body of `kind` and returns its message.
#[track_caller]
fn neutron_error(r: &Reply, status: u16, kind: &str) -> String {
    r.expect(status);
    let e = &r.json["NeutronError"];
    assert_eq!(e["type"], kind, "body: {}", r.text);
    assert_eq!(e["detail"], "", "body: {}", r.text);
    e["message"].as_str().expect("message").to_string()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn create_network(c: &Cloud, token: &str, body: Value) -> String {
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(token),
            Some(json!({ "network": body })),
        )
        .await;
    r.expect(201);
    id_of(&r, "network")
}

async fn create_subnet(c: &Cloud, token: &str, network: &str, cidr: &str) -> Value {
    let r = c
        .call(
            "POST",
            SUBNETS,
            Some(token),
            Some(json!({"subnet": {"network_id": network, "cidr": cidr, "ip_version": 4}})),
        )
        .await;
    r.expect(201);
    r.json["subnet"].clone()
}

async fn create_port(c: &Cloud, token: &str, body: Value) -> Value {
    let r = c
        .call("POST", PORTS, Some(token), Some(json!({ "port": body })))
        .await;
    r.expect(201);
    r.json["port"].clone()
}

async fn post_subnet(c: &Cloud, token: &str, body: Value) -> Reply {
    c.call(
        "POST",
        SUBNETS,
        Some(token),
        Some(json!({ "subnet": body })),
    )
    .await
}

#[tokio::test]
async fn version_discovery_and_extensions() {
    let c = Cloud::start().await;
    let r = c.call("GET", "/network/", None, None).await;
    r.expect(200);
    let v = &r.json["versions"][0];
    assert_eq!(v["id"], "v2.0");
    assert_eq!(v["status"], "CURRENT");
    assert_eq!(
        v["links"][0]["href"],
        format!("{}/network/v2.0/", c.cloud.url())
    );
    let token = c.token("demo").await;
    let r = c.call("GET", "/network/v2.0", Some(&token), None).await;
    r.expect(200);
    let collections: Vec<&str> = r.json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["collection"].as_str().unwrap())
        .collect();
    assert!(collections.contains(&"networks"));
    assert!(collections.contains(&"ports"));
    let r = c
        .call("GET", "/network/v2.0/extensions", Some(&token), None)
        .await;
    r.expect(200);
    let aliases: Vec<&str> = r.json["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["alias"].as_str().unwrap())
        .collect();
    for alias in [
        "external-net",
        "security-group",
        "net-mtu",
        "standard-attr-tag",
    ] {
        assert!(aliases.contains(&alias), "{alias} missing from {aliases:?}");
    }
    // What devcloud does not implement it does not claim, so clients
    // that look before they call do not call.
    for alias in ["router", "extraroute", "fip-port-details", "address-scope"] {
        assert!(!aliases.contains(&alias), "{alias} claimed in {aliases:?}");
    }
    let r = c
        .call(
            "GET",
            "/network/v2.0/extensions/external-net",
            Some(&token),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["extension"]["alias"], "external-net");
    c.stop().await;
}

#[tokio::test]
async fn requests_without_a_token_get_401() {
    let c = Cloud::start().await;
    for (method, path) in [
        ("GET", NETWORKS),
        ("POST", NETWORKS),
        ("GET", SUBNETS),
        ("GET", PORTS),
        ("GET", GROUPS),
        ("GET", "/network/v2.0/extensions"),
    ] {
        let r = c
            .call(method, path, None, Some(json!({"network": {}})))
            .await;
        r.expect(401);
    }
    let token = c.token("admin").await;
    let r = c.call("GET", NETWORKS, Some(&token), None).await;
    r.expect(200);
    assert_eq!(r.json["networks"], json!([]));
    c.stop().await;
}

#[tokio::test]
async fn network_lifecycle_with_neutron_defaults() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"network": {"name": "net1", "description": "first"}})),
        )
        .await;
    r.expect(201);
    let n = &r.json["network"];
    let id = n["id"].as_str().unwrap().to_string();
    assert_eq!(n["name"], "net1");
    assert_eq!(n["description"], "first");
    assert_eq!(n["status"], "ACTIVE");
    assert_eq!(n["mtu"], 1450);
    assert_eq!(n["admin_state_up"], true);
    assert_eq!(n["shared"], false);
    assert_eq!(n["router:external"], false);
    assert_eq!(n["subnets"], json!([]));
    assert_eq!(n["tags"], json!([]));
    assert_eq!(n["project_id"], n["tenant_id"]);
    assert!(n.get("provider:network_type").is_none(), "admin only");

    let r = c
        .call("GET", &format!("{NETWORKS}/{id}"), Some(&token), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["network"], *n);

    let r = c
        .call(
            "PUT",
            &format!("{NETWORKS}/{id}"),
            Some(&token),
            Some(
                json!({"network": {"name": "renamed", "admin_state_up": false, "description": ""}}),
            ),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["network"]["name"], "renamed");
    assert_eq!(r.json["network"]["admin_state_up"], false);
    assert_eq!(r.json["network"]["description"], "");
    assert!(
        r.json["network"]["revision_number"].as_u64().unwrap()
            > n["revision_number"].as_u64().unwrap()
    );

    let r = c
        .call(
            "PUT",
            &format!("{NETWORKS}/{id}"),
            Some(&token),
            Some(json!({"network": {"mtu": 9000}})),
        )
        .await;
    let message = neutron_error(&r, 400, "InvalidInput");
    assert!(message.contains("maximum is 1450"), "{message}");

    let r = c
        .call(
            "PUT",
            &format!("{NETWORKS}/{id}"),
            Some(&token),
            Some(json!({"network": {"status": "DOWN"}})),
        )
        .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(message, "Cannot update read-only attribute status");

    c.call("DELETE", &format!("{NETWORKS}/{id}"), Some(&token), None)
        .await
        .expect(204);
    let r = c
        .call("GET", &format!("{NETWORKS}/{id}"), Some(&token), None)
        .await;
    let message = neutron_error(&r, 404, "NetworkNotFound");
    assert_eq!(message, format!("Network {id} could not be found."));
    let r = c
        .call("DELETE", &format!("{NETWORKS}/{id}"), Some(&token), None)
        .await;
    neutron_error(&r, 404, "NetworkNotFound");
    c.stop().await;
}

#[tokio::test]
async fn admins_see_provider_attributes() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&admin),
            Some(json!({"network": {"name": "a"}})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["network"]["provider:network_type"], "vxlan");
    assert!(r.json["network"]["provider:segmentation_id"].is_u64());
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&admin),
            Some(json!({"network": {"name": "f", "provider:network_type": "flat", "provider:physical_network": "public"}})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["network"]["mtu"], 1500);
    assert_eq!(r.json["network"]["provider:segmentation_id"], Value::Null);
    c.stop().await;
}

#[tokio::test]
async fn tags_are_refused_in_creates_but_for_ports() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    for (path, body) in [
        (NETWORKS, json!({"network": {"name": "t", "tags": ["a"]}})),
        (
            SUBNETS,
            json!({"subnet": {"network_id": net, "cidr": "10.9.0.0/24", "ip_version": 4, "tags": ["a"]}}),
        ),
        (
            "/network/v2.0/security-groups",
            json!({"security_group": {"name": "g", "tags": ["a"]}}),
        ),
    ] {
        let r = c.call("POST", path, Some(&token), Some(body)).await;
        r.expect(400);
        assert_eq!(
            r.json["NeutronError"]["message"], "Attribute 'tags' not allowed in POST",
            "{path}"
        );
    }
    let r = c
        .call(
            "POST",
            "/network/v2.0/ports",
            Some(&token),
            Some(json!({"port": {"network_id": net, "tags": ["a"]}})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["port"]["tags"], json!(["a"]));
    c.stop().await;
}

#[tokio::test]
async fn network_tags() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let id = create_network(&c, &token, json!({"name": "tagged"})).await;
    let tags = format!("{NETWORKS}/{id}/tags");

    let r = c
        .call(
            "PUT",
            &tags,
            Some(&token),
            Some(json!({"tags": ["red", "blue"]})),
        )
        .await;
    r.expect(200);
    let mut got: Vec<String> = serde_json::from_value(r.json["tags"].clone()).unwrap();
    got.sort();
    assert_eq!(got, ["blue", "red"]);

    c.call("PUT", &format!("{tags}/green"), Some(&token), None)
        .await
        .expect(201);
    c.call("GET", &format!("{tags}/green"), Some(&token), None)
        .await
        .expect(204);
    let r = c
        .call("GET", &format!("{tags}/purple"), Some(&token), None)
        .await;
    neutron_error(&r, 404, "TagNotFound");

    let r = c.call("GET", &tags, Some(&token), None).await;
    r.expect(200);
    assert_eq!(r.json["tags"].as_array().unwrap().len(), 3);

    let r = c
        .call("GET", &format!("{NETWORKS}?tags=red"), Some(&token), None)
        .await;
    assert_eq!(names(&r.json["networks"]), ["tagged"]);
    let r = c
        .call(
            "GET",
            &format!("{NETWORKS}?not-tags=green"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(names(&r.json["networks"]), Vec::<String>::new());

    c.call("DELETE", &format!("{tags}/red"), Some(&token), None)
        .await
        .expect(204);
    let r = c
        .call("GET", &format!("{NETWORKS}/{id}"), Some(&token), None)
        .await;
    let mut got: Vec<String> = serde_json::from_value(r.json["network"]["tags"].clone()).unwrap();
    got.sort();
    assert_eq!(got, ["blue", "green"]);

    c.call("DELETE", &tags, Some(&token), None)
        .await
        .expect(204);
    let r = c.call("GET", &tags, Some(&token), None).await;
    assert_eq!(r.json["tags"], json!([]));

    let missing = "6f2a4b4e-2b51-4a4f-9a47-0d9b0f2a4e11";
    let r = c
        .call(
            "GET",
            &format!("{NETWORKS}/{missing}/tags"),
            Some(&token),
            None,
        )
        .await;
    r.expect(404);
    c.stop().await;
}

#[tokio::test]
async fn network_list_filters() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let private = create_network(&c, &demo, json!({"name": "private"})).await;
    create_network(&c, &admin, json!({"name": "shared", "shared": true})).await;
    create_network(
        &c,
        &admin,
        json!({"name": "public", "router:external": true}),
    )
    .await;
    create_network(&c, &admin, json!({"name": "hidden"})).await;

    let list = |query: &str| format!("{NETWORKS}?{query}");
    let r = c
        .call("GET", &list("name=private"), Some(&demo), None)
        .await;
    assert_eq!(names(&r.json["networks"]), ["private"]);
    let r = c
        .call("GET", &list(&format!("id={private}")), Some(&demo), None)
        .await;
    assert_eq!(names(&r.json["networks"]), ["private"]);
    let r = c.call("GET", &list("shared=true"), Some(&demo), None).await;
    assert_eq!(names(&r.json["networks"]), ["shared"]);
    let r = c
        .call("GET", &list("shared=False"), Some(&demo), None)
        .await;
    assert_eq!(names(&r.json["networks"]), ["private", "public"]);
    let r = c
        .call("GET", &list("router:external=true"), Some(&demo), None)
        .await;
    assert_eq!(names(&r.json["networks"]), ["public"]);
    let r = c
        .call("GET", &list("name=private&name=shared"), Some(&demo), None)
        .await;
    assert_eq!(names(&r.json["networks"]), ["private", "shared"]);
    let r = c.call("GET", &list("name=hidden"), Some(&demo), None).await;
    assert_eq!(names(&r.json["networks"]), Vec::<String>::new());
    let r = c
        .call("GET", &list("name=hidden"), Some(&admin), None)
        .await;
    assert_eq!(names(&r.json["networks"]), ["hidden"]);

    let r = c
        .call("GET", &list("fields=id&fields=name"), Some(&demo), None)
        .await;
    r.expect(200);
    let first = r.json["networks"][0].as_object().unwrap();
    assert_eq!(first.len(), 2);

    let r = c
        .call("GET", &list("shared=maybe"), Some(&demo), None)
        .await;
    r.expect(400);
    let r = c.call("GET", &list("colour=red"), Some(&demo), None).await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(message, "[colour] is invalid attribute for filtering");
    c.stop().await;
}

#[tokio::test]
async fn bulk_network_create_is_all_or_nothing() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"networks": [{"name": "b1"}, {"name": "b2", "admin_state_up": false}]})),
        )
        .await;
    r.expect(201);
    assert_eq!(names(&r.json["networks"]), ["b1", "b2"]);
    assert_eq!(r.json["networks"][1]["admin_state_up"], false);

    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"networks": [{"name": "b3"}, {"name": "b4", "mtu": 65000}]})),
        )
        .await;
    r.expect(400);
    let r = c.call("GET", NETWORKS, Some(&token), None).await;
    assert_eq!(names(&r.json["networks"]), ["b1", "b2"]);

    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"networks": []})),
        )
        .await;
    neutron_error(&r, 400, "HTTPBadRequest");
    c.stop().await;
}

#[tokio::test]
async fn router_external_and_shared_are_admin_only() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&demo),
            Some(json!({"network": {"name": "ext", "router:external": true}})),
        )
        .await;
    let message = neutron_error(&r, 403, "PolicyNotAuthorized");
    assert_eq!(
        message,
        "(rule:create_network and rule:create_network:router:external) is disallowed by policy"
    );
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&demo),
            Some(json!({"network": {"name": "sh", "shared": true}})),
        )
        .await;
    let message = neutron_error(&r, 403, "PolicyNotAuthorized");
    assert_eq!(
        message,
        "(rule:create_network and rule:create_network:shared) is disallowed by policy"
    );
    // shared=false is the default and needs no rule.
    create_network(&c, &demo, json!({"name": "mine", "shared": false})).await;
    let mine = create_network(&c, &demo, json!({"name": "mine2"})).await;
    let r = c
        .call(
            "PUT",
            &format!("{NETWORKS}/{mine}"),
            Some(&demo),
            Some(json!({"network": {"router:external": true}})),
        )
        .await;
    let message = neutron_error(&r, 403, "PolicyNotAuthorized");
    assert_eq!(
        message,
        "(rule:update_network and rule:update_network:router:external) is disallowed by policy"
    );

    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&admin),
            Some(json!({"network": {"name": "ext", "router:external": true}})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["network"]["router:external"], true);
    assert_eq!(r.json["network"]["shared"], false);
    let ext = id_of(&r, "network");
    let r = c
        .call("GET", &format!("{NETWORKS}/{ext}"), Some(&demo), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["network"]["router:external"], true);
    // Admins may take it back.
    let r = c
        .call(
            "PUT",
            &format!("{NETWORKS}/{ext}"),
            Some(&admin),
            Some(json!({"network": {"router:external": false}})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["network"]["router:external"], false);
    c.call("GET", &format!("{NETWORKS}/{ext}"), Some(&demo), None)
        .await
        .expect(404);
    c.stop().await;
}

#[tokio::test]
async fn scoping_between_projects() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let own = create_network(&c, &demo, json!({"name": "own"})).await;
    let shared = create_network(&c, &admin, json!({"name": "shared", "shared": true})).await;
    let external = create_network(
        &c,
        &admin,
        json!({"name": "external", "router:external": true}),
    )
    .await;
    let private = create_network(&c, &admin, json!({"name": "private"})).await;
    let private_subnet = create_subnet(&c, &admin, &private, "10.9.0.0/24").await;
    let shared_subnet = create_subnet(&c, &admin, &shared, "10.8.0.0/24").await;

    let r = c.call("GET", NETWORKS, Some(&demo), None).await;
    assert_eq!(names(&r.json["networks"]), ["own", "shared", "external"]);
    let r = c.call("GET", NETWORKS, Some(&admin), None).await;
    assert_eq!(
        names(&r.json["networks"]),
        ["own", "shared", "external", "private"]
    );

    let r = c
        .call("GET", &format!("{NETWORKS}/{private}"), Some(&demo), None)
        .await;
    let message = neutron_error(&r, 404, "NetworkNotFound");
    assert_eq!(message, format!("Network {private} could not be found."));
    c.call("GET", &format!("{NETWORKS}/{own}"), Some(&admin), None)
        .await
        .expect(200);
    c.call("GET", &format!("{NETWORKS}/{external}"), Some(&demo), None)
        .await
        .expect(200);

    // Subnets of a shared network are visible, those of a private one not.
    let r = c.call("GET", SUBNETS, Some(&demo), None).await;
    let ids: Vec<&str> = r.json["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [shared_subnet["id"].as_str().unwrap()]);
    let r = c
        .call(
            "GET",
            &format!("{SUBNETS}/{}", private_subnet["id"].as_str().unwrap()),
            Some(&demo),
            None,
        )
        .await;
    neutron_error(&r, 404, "SubnetNotFound");

    // What demo sees but does not own it may not change; what it does
    // not see does not exist.
    let r = c
        .call(
            "PUT",
            &format!("{NETWORKS}/{shared}"),
            Some(&demo),
            Some(json!({"network": {"name": "mine now"}})),
        )
        .await;
    let message = neutron_error(&r, 403, "PolicyNotAuthorized");
    assert_eq!(message, "rule:update_network is disallowed by policy");
    let r = c
        .call("DELETE", &format!("{NETWORKS}/{shared}"), Some(&demo), None)
        .await;
    let message = neutron_error(&r, 403, "PolicyNotAuthorized");
    assert_eq!(message, "rule:delete_network is disallowed by policy");
    let r = c
        .call(
            "DELETE",
            &format!("{NETWORKS}/{private}"),
            Some(&demo),
            None,
        )
        .await;
    neutron_error(&r, 404, "NetworkNotFound");
    let r = c
        .call(
            "PUT",
            &format!("{NETWORKS}/{private}"),
            Some(&demo),
            Some(json!({"network": {"name": "x"}})),
        )
        .await;
    neutron_error(&r, 404, "NetworkNotFound");
    let r = c
        .call("GET", &format!("{NETWORKS}/{shared}"), Some(&admin), None)
        .await;
    assert_eq!(r.json["network"]["name"], "shared");

    // Demo may plug a port into the shared network; admin sees it.
    let port = create_port(&c, &demo, json!({"network_id": shared})).await;
    assert_eq!(port["fixed_ips"][0]["subnet_id"], shared_subnet["id"]);
    let r = c
        .call(
            "GET",
            &format!("{PORTS}?network_id={shared}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.json["ports"].as_array().unwrap().len(), 1);
    // But not into admin's private network, nor create a subnet in it.
    let r = c
        .call(
            "POST",
            PORTS,
            Some(&demo),
            Some(json!({"port": {"network_id": private}})),
        )
        .await;
    neutron_error(&r, 404, "NetworkNotFound");
    let r = post_subnet(
        &c,
        &demo,
        json!({"network_id": private, "cidr": "10.7.0.0/24", "ip_version": 4}),
    )
    .await;
    neutron_error(&r, 404, "NetworkNotFound");
    c.stop().await;
}

#[tokio::test]
async fn subnet_lifecycle_with_neutron_defaults() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let r = post_subnet(
        &c,
        &token,
        json!({
            "network_id": net, "cidr": "10.0.0.0/24", "ip_version": 4, "name": "s",
            "dns_nameservers": ["8.8.8.8", "1.1.1.1"],
            "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}],
        }),
    )
    .await;
    r.expect(201);
    let s = r.json["subnet"].clone();
    let id = s["id"].as_str().unwrap().to_string();
    assert_eq!(s["cidr"], "10.0.0.0/24");
    assert_eq!(s["gateway_ip"], "10.0.0.1");
    assert_eq!(
        s["allocation_pools"],
        json!([{"start": "10.0.0.2", "end": "10.0.0.254"}])
    );
    assert_eq!(s["enable_dhcp"], true);
    assert_eq!(s["ip_version"], 4);
    assert_eq!(s["dns_nameservers"], json!(["8.8.8.8", "1.1.1.1"]));
    assert_eq!(
        s["host_routes"],
        json!([{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}])
    );
    assert_eq!(s["network_id"], net);
    assert_eq!(s["ipv6_ra_mode"], Value::Null);

    let r = c
        .call("GET", &format!("{NETWORKS}/{net}"), Some(&token), None)
        .await;
    assert_eq!(r.json["network"]["subnets"], json!([id]));
    let r = c
        .call("GET", &format!("{SUBNETS}/{id}"), Some(&token), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["subnet"], s);
    let r = c
        .call(
            "GET",
            &format!("{SUBNETS}?network_id={net}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(names(&r.json["subnets"]), ["s"]);

    let r = c
        .call(
            "PUT",
            &format!("{SUBNETS}/{id}"),
            Some(&token),
            Some(json!({"subnet": {
                "name": "s2", "enable_dhcp": false, "dns_nameservers": [],
                "host_routes": [], "gateway_ip": "10.0.0.1",
                "allocation_pools": [{"start": "10.0.0.10", "end": "10.0.0.20"}],
            }})),
        )
        .await;
    r.expect(200);
    let u = &r.json["subnet"];
    assert_eq!(u["name"], "s2");
    assert_eq!(u["enable_dhcp"], false);
    assert_eq!(u["dns_nameservers"], json!([]));
    assert_eq!(u["host_routes"], json!([]));
    assert_eq!(
        u["allocation_pools"],
        json!([{"start": "10.0.0.10", "end": "10.0.0.20"}])
    );
    let r = c
        .call(
            "PUT",
            &format!("{SUBNETS}/{id}"),
            Some(&token),
            Some(json!({"subnet": {"cidr": "10.0.1.0/24"}})),
        )
        .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(message, "Cannot update read-only attribute cidr");

    c.call("DELETE", &format!("{SUBNETS}/{id}"), Some(&token), None)
        .await
        .expect(204);
    let r = c
        .call("GET", &format!("{SUBNETS}/{id}"), Some(&token), None)
        .await;
    let message = neutron_error(&r, 404, "SubnetNotFound");
    assert_eq!(message, format!("Subnet {id} could not be found."));
    let r = c
        .call("GET", &format!("{NETWORKS}/{net}"), Some(&token), None)
        .await;
    assert_eq!(r.json["network"]["subnets"], json!([]));
    c.stop().await;
}

#[tokio::test]
async fn subnet_cidrs_are_validated_and_normalised() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let subnet = |cidr: Value| json!({"network_id": net, "cidr": cidr, "ip_version": 4});

    for bad in [json!("not-a-cidr"), json!("10.0.0.0/33"), json!(42)] {
        let r = post_subnet(&c, &token, subnet(bad.clone())).await;
        let message = neutron_error(&r, 400, "HTTPBadRequest");
        assert!(
            message.starts_with("Invalid input for cidr. Reason:"),
            "{bad}: {message}"
        );
    }
    let r = post_subnet(&c, &token, subnet(json!("10.0.0.0"))).await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(
        message,
        "Invalid input for cidr. Reason: '10.0.0.0' isn't a recognized IP subnet cidr, '10.0.0.0/32' is recommended."
    );

    let r = post_subnet(&c, &token, subnet(json!("10.1.2.3/24"))).await;
    r.expect(201);
    assert_eq!(r.json["subnet"]["cidr"], "10.1.2.0/24");
    assert_eq!(r.json["subnet"]["gateway_ip"], "10.1.2.1");

    let r = post_subnet(&c, &token, subnet(json!("10.1.2.128/25"))).await;
    let message = neutron_error(&r, 400, "InvalidInput");
    assert_eq!(
        message,
        format!(
            "Invalid input for operation: Requested subnet with cidr: 10.1.2.128/25 for network: {net} overlaps with another subnet."
        )
    );
    c.stop().await;
}

#[tokio::test]
async fn subnet_ip_versions() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let r = post_subnet(
        &c,
        &token,
        json!({"network_id": net, "cidr": "fd00:1::/64", "ip_version": 6}),
    )
    .await;
    r.expect(201);
    let s = &r.json["subnet"];
    assert_eq!(s["ip_version"], 6);
    assert_eq!(s["gateway_ip"], "fd00:1::1");
    assert_eq!(
        s["allocation_pools"],
        json!([{"start": "fd00:1::2", "end": "fd00:1::ffff:ffff:ffff:ffff"}])
    );

    let r = post_subnet(
        &c,
        &token,
        json!({"network_id": net, "cidr": "10.0.0.0/24", "ip_version": 6}),
    )
    .await;
    let message = neutron_error(&r, 400, "InvalidInput");
    assert_eq!(
        message,
        "Invalid input for operation: cidr '10.0.0.0/24' does not match the ip_version '6'."
    );
    let r = post_subnet(
        &c,
        &token,
        json!({"network_id": net, "cidr": "10.0.0.0/24", "ip_version": 4, "gateway_ip": "fd00::1"}),
    )
    .await;
    let message = neutron_error(&r, 400, "InvalidInput");
    assert_eq!(
        message,
        "Invalid input for operation: gateway_ip 'fd00::1' does not match the ip_version '4'."
    );
    let r = post_subnet(
        &c,
        &token,
        json!({"network_id": net, "cidr": "10.0.0.0/24", "ip_version": 5}),
    )
    .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(
        message,
        "Invalid input for ip_version. Reason: 5 is not in [4, 6]."
    );
    // Both versions on one network: a port gets an address from each.
    create_subnet(&c, &token, &net, "10.0.0.0/24").await;
    let port = create_port(&c, &token, json!({"network_id": net})).await;
    let addresses: Vec<&str> = port["fixed_ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["ip_address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, ["10.0.0.2", "fd00:1::2"]);
    c.stop().await;
}

#[tokio::test]
async fn subnet_gateways_and_allocation_pools() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let body = |cidr: &str, extra: Value| {
        let mut b = json!({"network_id": net, "cidr": cidr, "ip_version": 4});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };

    let r = post_subnet(
        &c,
        &token,
        body("10.0.1.0/24", json!({"gateway_ip": "10.0.1.254"})),
    )
    .await;
    r.expect(201);
    assert_eq!(r.json["subnet"]["gateway_ip"], "10.0.1.254");
    assert_eq!(
        r.json["subnet"]["allocation_pools"],
        json!([{"start": "10.0.1.1", "end": "10.0.1.253"}])
    );

    let r = post_subnet(&c, &token, body("10.0.2.0/24", json!({"gateway_ip": null}))).await;
    r.expect(201);
    assert_eq!(r.json["subnet"]["gateway_ip"], Value::Null);
    assert_eq!(
        r.json["subnet"]["allocation_pools"],
        json!([{"start": "10.0.2.1", "end": "10.0.2.254"}])
    );

    let r = post_subnet(
        &c,
        &token,
        body(
            "10.0.3.0/24",
            json!({"allocation_pools": [{"start": "10.0.3.100", "end": "10.0.3.110"}, {"start": "10.0.3.10", "end": "10.0.3.20"}]}),
        ),
    )
    .await;
    r.expect(201);
    assert_eq!(r.json["subnet"]["gateway_ip"], "10.0.3.1");
    assert_eq!(
        r.json["subnet"]["allocation_pools"],
        json!([{"start": "10.0.3.100", "end": "10.0.3.110"}, {"start": "10.0.3.10", "end": "10.0.3.20"}])
    );

    let r = post_subnet(
        &c,
        &token,
        body("10.0.9.0/24", json!({"allocation_pools": []})),
    )
    .await;
    r.expect(201);
    assert_eq!(
        r.json["subnet"]["allocation_pools"],
        json!([{"start": "10.0.9.2", "end": "10.0.9.254"}])
    );

    let r = post_subnet(
        &c,
        &token,
        body(
            "10.0.4.0/24",
            json!({"allocation_pools": [{"start": "10.0.4.1", "end": "10.0.4.50"}]}),
        ),
    )
    .await;
    let message = neutron_error(&r, 409, "GatewayConflictWithAllocationPools");
    assert_eq!(
        message,
        "Gateway ip 10.0.4.1 conflicts with allocation pool 10.0.4.1-10.0.4.50."
    );

    let r = post_subnet(
        &c,
        &token,
        body(
            "10.0.5.0/24",
            json!({"allocation_pools": [{"start": "10.0.5.10", "end": "10.0.6.10"}]}),
        ),
    )
    .await;
    let message = neutron_error(&r, 400, "OutOfBoundsAllocationPool");
    assert_eq!(
        message,
        "The allocation pool 10.0.5.10-10.0.6.10 spans beyond the subnet cidr 10.0.5.0/24."
    );
    let r = post_subnet(
        &c,
        &token,
        body(
            "10.0.5.0/24",
            json!({"allocation_pools": [{"start": "10.0.5.50", "end": "10.0.5.10"}]}),
        ),
    )
    .await;
    neutron_error(&r, 400, "InvalidAllocationPool");
    let r = post_subnet(
        &c,
        &token,
        body(
            "10.0.5.0/24",
            json!({"allocation_pools": [{"start": "10.0.5.10", "end": "10.0.5.30"}, {"start": "10.0.5.20", "end": "10.0.5.40"}]}),
        ),
    )
    .await;
    neutron_error(&r, 409, "OverlappingAllocationPools");
    let r = post_subnet(
        &c,
        &token,
        body("10.0.5.0/24", json!({"gateway_ip": "10.0.5.0"})),
    )
    .await;
    let message = neutron_error(&r, 400, "InvalidInput");
    assert_eq!(
        message,
        "Invalid input for operation: Gateway is not valid on subnet."
    );
    let r = post_subnet(
        &c,
        &token,
        body(
            "10.0.5.0/24",
            json!({"dns_nameservers": ["8.8.8.8", "8.8.8.8"]}),
        ),
    )
    .await;
    neutron_error(&r, 400, "HTTPBadRequest");
    let r = post_subnet(
        &c,
        &token,
        body(
            "10.0.5.0/24",
            json!({"host_routes": [{"destination": "0.0.0.0/0"}]}),
        ),
    )
    .await;
    neutron_error(&r, 400, "HTTPBadRequest");

    // Moving the gateway into an existing pool is refused as well.
    let r = post_subnet(&c, &token, body("10.0.6.0/24", json!({}))).await;
    let id = id_of(&r, "subnet");
    let r = c
        .call(
            "PUT",
            &format!("{SUBNETS}/{id}"),
            Some(&token),
            Some(json!({"subnet": {"gateway_ip": "10.0.6.7"}})),
        )
        .await;
    neutron_error(&r, 409, "GatewayConflictWithAllocationPools");
    let r = c
        .call(
            "PUT",
            &format!("{SUBNETS}/{id}"),
            Some(&token),
            Some(json!({"subnet": {"gateway_ip": null}})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["subnet"]["gateway_ip"], Value::Null);

    // enable_dhcp and its checks.
    let r = post_subnet(
        &c,
        &token,
        body("10.0.7.0/24", json!({"enable_dhcp": false})),
    )
    .await;
    r.expect(201);
    assert_eq!(r.json["subnet"]["enable_dhcp"], false);
    let r = post_subnet(&c, &token, body("10.0.8.0/31", json!({}))).await;
    let message = neutron_error(&r, 400, "InvalidInput");
    assert_eq!(
        message,
        "Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP service enabled."
    );
    c.stop().await;
}

#[tokio::test]
async fn subnet_bodies_need_network_and_cidr() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;

    let r = post_subnet(&c, &token, json!({"cidr": "10.0.0.0/24", "ip_version": 4})).await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(
        message,
        "Failed to parse request. Required attribute 'network_id' not specified"
    );
    let r = post_subnet(
        &c,
        &token,
        json!({"network_id": net, "cidr": "10.0.0.0/24"}),
    )
    .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(
        message,
        "Failed to parse request. Required attribute 'ip_version' not specified"
    );
    let r = post_subnet(&c, &token, json!({"network_id": net, "ip_version": 4})).await;
    let message = neutron_error(&r, 400, "BadRequest");
    assert_eq!(
        message,
        "Bad subnets request: a subnetpool must be specified in the absence of a cidr."
    );
    let r = post_subnet(
        &c,
        &token,
        json!({"network_id": "net1", "cidr": "10.0.0.0/24", "ip_version": 4}),
    )
    .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(
        message,
        "Invalid input for network_id. Reason: 'net1' is not a valid UUID."
    );
    let missing = "0b6a9d8c-4c3c-4b6f-8d2c-1f5f4a3e2d1c";
    let r = post_subnet(
        &c,
        &token,
        json!({"network_id": missing, "cidr": "10.0.0.0/24", "ip_version": 4}),
    )
    .await;
    let message = neutron_error(&r, 404, "NetworkNotFound");
    assert_eq!(message, format!("Network {missing} could not be found."));
    let r = c
        .call("GET", &format!("{SUBNETS}/{missing}"), Some(&token), None)
        .await;
    neutron_error(&r, 404, "SubnetNotFound");
    c.stop().await;
}

#[tokio::test]
async fn ports_get_addresses_and_can_be_found() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let other = create_network(&c, &token, json!({"name": "o"})).await;
    let subnet = create_subnet(&c, &token, &net, "10.0.0.0/24").await;
    let subnet_id = subnet["id"].as_str().unwrap();

    let p1 = create_port(
        &c,
        &token,
        json!({"network_id": net, "name": "p1", "device_id": "server-1", "device_owner": "compute:nova"}),
    )
    .await;
    assert_eq!(
        p1["fixed_ips"],
        json!([{"subnet_id": subnet_id, "ip_address": "10.0.0.2"}])
    );
    assert!(p1["mac_address"].as_str().unwrap().starts_with("fa:16:3e:"));
    assert_eq!(p1["admin_state_up"], true);
    assert_eq!(p1["network_id"], net);
    assert_eq!(p1["security_groups"].as_array().unwrap().len(), 1);
    let p2 = create_port(
        &c,
        &token,
        json!({"network_id": net, "name": "p2", "fixed_ips": [{"ip_address": "10.0.0.50"}]}),
    )
    .await;
    assert_eq!(p2["fixed_ips"][0]["ip_address"], "10.0.0.50");
    assert_eq!(p2["fixed_ips"][0]["subnet_id"], subnet_id);
    assert_eq!(p2["status"], "DOWN");
    let p3 = create_port(&c, &token, json!({"network_id": other, "name": "p3"})).await;
    assert_eq!(p3["fixed_ips"], json!([]));
    let p4 = create_port(
        &c,
        &token,
        json!({"network_id": net, "name": "p4", "fixed_ips": [{"subnet_id": subnet_id}]}),
    )
    .await;
    assert_eq!(p4["fixed_ips"][0]["ip_address"], "10.0.0.3");

    let list = |q: &str| format!("{PORTS}?{q}");
    let r = c
        .call("GET", &list("device_id=server-1"), Some(&token), None)
        .await;
    assert_eq!(names(&r.json["ports"]), ["p1"]);
    let r = c
        .call(
            "GET",
            &list(&format!("network_id={net}")),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(names(&r.json["ports"]), ["p1", "p2", "p4"]);
    let r = c
        .call(
            "GET",
            &list("fixed_ips=ip_address%3D10.0.0.50"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(names(&r.json["ports"]), ["p2"]);
    let r = c
        .call(
            "GET",
            &list("device_owner=compute:nova"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(names(&r.json["ports"]), ["p1"]);

    let p2_id = p2["id"].as_str().unwrap();
    let r = c
        .call("GET", &format!("{PORTS}/{p2_id}"), Some(&token), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["port"], p2);
    let r = c
        .call(
            "PUT",
            &format!("{PORTS}/{p2_id}"),
            Some(&token),
            Some(json!({"port": {"name": "renamed", "device_id": "server-2", "fixed_ips": [{"ip_address": "10.0.0.60"}]}})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["port"]["name"], "renamed");
    assert_eq!(r.json["port"]["device_id"], "server-2");
    assert_eq!(r.json["port"]["status"], "ACTIVE");
    assert_eq!(r.json["port"]["fixed_ips"][0]["ip_address"], "10.0.0.60");
    // The old address is free again.
    let p5 = create_port(
        &c,
        &token,
        json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.50"}]}),
    )
    .await;
    assert_eq!(p5["fixed_ips"][0]["ip_address"], "10.0.0.50");

    c.call("DELETE", &format!("{PORTS}/{p2_id}"), Some(&token), None)
        .await
        .expect(204);
    let r = c
        .call("GET", &format!("{PORTS}/{p2_id}"), Some(&token), None)
        .await;
    let message = neutron_error(&r, 404, "PortNotFound");
    assert_eq!(message, format!("Port {p2_id} could not be found."));

    let r = c
        .call(
            "POST",
            PORTS,
            Some(&token),
            Some(json!({"port": {"name": "no network"}})),
        )
        .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(
        message,
        "Failed to parse request. Required attribute 'network_id' not specified"
    );
    c.stop().await;
}

#[tokio::test]
async fn taken_and_exhausted_addresses_conflict() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    // A /29 has five addresses for ports: .2 to .6.
    let subnet = create_subnet(&c, &token, &net, "10.0.0.0/29").await;
    let subnet_id = subnet["id"].as_str().unwrap();
    assert_eq!(
        subnet["allocation_pools"],
        json!([{"start": "10.0.0.2", "end": "10.0.0.6"}])
    );

    let first = create_port(
        &c,
        &token,
        json!({"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.4"}]}),
    )
    .await;
    let r = c
        .call(
            "POST",
            PORTS,
            Some(&token),
            Some(json!({"port": {"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.4"}]}})),
        )
        .await;
    let message = neutron_error(&r, 409, "IpAddressAlreadyAllocated");
    assert_eq!(
        message,
        format!("IP address 10.0.0.4 already allocated in subnet {subnet_id}")
    );
    let r = c
        .call(
            "POST",
            PORTS,
            Some(&token),
            Some(json!({"port": {"network_id": net, "fixed_ips": [{"ip_address": "10.0.1.4"}]}})),
        )
        .await;
    neutron_error(&r, 400, "InvalidIpForNetwork");
    let r = c
        .call(
            "POST",
            PORTS,
            Some(&token),
            Some(json!({"port": {"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.7", "subnet_id": subnet_id}]}})),
        )
        .await;
    neutron_error(&r, 400, "InvalidIpForSubnet");

    let mut addresses = vec!["10.0.0.4".to_string()];
    for _ in 0..4 {
        let p = create_port(&c, &token, json!({"network_id": net})).await;
        addresses.push(p["fixed_ips"][0]["ip_address"].as_str().unwrap().into());
    }
    addresses.sort();
    assert_eq!(
        addresses,
        ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    );
    let r = c
        .call(
            "POST",
            PORTS,
            Some(&token),
            Some(json!({"port": {"network_id": net}})),
        )
        .await;
    let message = neutron_error(&r, 409, "IpAddressGenerationFailure");
    assert_eq!(
        message,
        format!("No more IP addresses available on network {net}.")
    );
    // Freeing one address makes room for exactly one more port.
    let first_id = first["id"].as_str().unwrap();
    c.call("DELETE", &format!("{PORTS}/{first_id}"), Some(&token), None)
        .await
        .expect(204);
    let p = create_port(&c, &token, json!({"network_id": net})).await;
    assert_eq!(p["fixed_ips"][0]["ip_address"], "10.0.0.4");
    c.call(
        "POST",
        PORTS,
        Some(&token),
        Some(json!({"port": {"network_id": net}})),
    )
    .await
    .expect(409);
    c.stop().await;
}

#[tokio::test]
async fn subnets_and_networks_in_use_cannot_be_deleted() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let subnet = create_subnet(&c, &token, &net, "10.0.0.0/24").await;
    let subnet_id = subnet["id"].as_str().unwrap();
    // A DHCP port does not keep the subnet or the network.
    let dhcp = create_port(
        &c,
        &admin,
        json!({"network_id": net, "device_owner": "network:dhcp", "device_id": "dhcp-agent"}),
    )
    .await;
    let port = create_port(&c, &token, json!({"network_id": net})).await;
    let port_id = port["id"].as_str().unwrap();

    let r = c
        .call(
            "DELETE",
            &format!("{SUBNETS}/{subnet_id}"),
            Some(&token),
            None,
        )
        .await;
    let message = neutron_error(&r, 409, "SubnetInUse");
    assert_eq!(
        message,
        format!(
            "Unable to complete operation on subnet {subnet_id}: One or more ports have an IP allocation from this subnet."
        )
    );
    let r = c
        .call("DELETE", &format!("{NETWORKS}/{net}"), Some(&token), None)
        .await;
    let message = neutron_error(&r, 409, "NetworkInUse");
    assert_eq!(
        message,
        format!(
            "Unable to complete operation on network {net}. There are one or more ports still in use on the network."
        )
    );

    // Without its address the port no longer holds the subnet, but
    // still holds the network.
    let r = c
        .call(
            "PUT",
            &format!("{PORTS}/{port_id}"),
            Some(&token),
            Some(json!({"port": {"fixed_ips": []}})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["port"]["fixed_ips"], json!([]));
    c.call(
        "DELETE",
        &format!("{SUBNETS}/{subnet_id}"),
        Some(&token),
        None,
    )
    .await
    .expect(204);
    let dhcp_id = dhcp["id"].as_str().unwrap();
    let r = c
        .call("GET", &format!("{PORTS}/{dhcp_id}"), Some(&admin), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["port"]["fixed_ips"], json!([]));
    c.call("DELETE", &format!("{NETWORKS}/{net}"), Some(&token), None)
        .await
        .expect(409);
    c.call("DELETE", &format!("{PORTS}/{port_id}"), Some(&token), None)
        .await
        .expect(204);
    c.call("DELETE", &format!("{NETWORKS}/{net}"), Some(&token), None)
        .await
        .expect(204);
    // The DHCP port went with its network.
    c.call("GET", &format!("{PORTS}/{dhcp_id}"), Some(&admin), None)
        .await
        .expect(404);
    c.stop().await;
}

#[tokio::test]
async fn security_groups_and_rules() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let admin = c.token("admin").await;

    let r = c.call("GET", GROUPS, Some(&token), None).await;
    r.expect(200);
    assert_eq!(names(&r.json["security_groups"]), ["default"]);
    let default = r.json["security_groups"][0].clone();
    let default_id = default["id"].as_str().unwrap().to_string();
    let rules = default["security_group_rules"].as_array().unwrap();
    assert_eq!(rules.len(), 4);
    assert!(rules.iter().any(|r| r["direction"] == "ingress"
        && r["ethertype"] == "IPv4"
        && r["remote_group_id"] == default_id.as_str()));
    assert!(
        rules
            .iter()
            .any(|r| r["direction"] == "egress" && r["ethertype"] == "IPv6")
    );
    let r = c
        .call("GET", &format!("{GROUPS}?name=default"), Some(&admin), None)
        .await;
    let projects: Vec<&str> = r.json["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["project_id"].as_str().unwrap())
        .collect();
    assert!(projects.contains(&default["project_id"].as_str().unwrap()));

    let r = c
        .call(
            "POST",
            GROUPS,
            Some(&token),
            Some(json!({"security_group": {"name": "web", "description": "http"}})),
        )
        .await;
    r.expect(201);
    let web = id_of(&r, "security_group");
    assert_eq!(r.json["security_group"]["description"], "http");
    // New groups allow all egress.
    assert_eq!(
        r.json["security_group"]["security_group_rules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = c
        .call(
            "POST",
            GROUPS,
            Some(&token),
            Some(json!({"security_group": {"name": "default"}})),
        )
        .await;
    neutron_error(&r, 409, "SecurityGroupDefaultAlreadyExists");

    let rule = json!({"security_group_rule": {
        "security_group_id": web, "direction": "ingress", "protocol": "tcp",
        "port_range_min": 80, "port_range_max": 443, "remote_ip_prefix": "192.0.2.0/24",
    }});
    let r = c
        .call("POST", RULES, Some(&token), Some(rule.clone()))
        .await;
    r.expect(201);
    let created = r.json["security_group_rule"].clone();
    assert_eq!(created["protocol"], "tcp");
    assert_eq!(created["port_range_min"], 80);
    assert_eq!(created["port_range_max"], 443);
    assert_eq!(created["ethertype"], "IPv4");
    assert_eq!(created["remote_ip_prefix"], "192.0.2.0/24");
    assert_eq!(created["remote_group_id"], Value::Null);
    let r = c.call("POST", RULES, Some(&token), Some(rule)).await;
    let message = neutron_error(&r, 409, "SecurityGroupRuleExists");
    assert_eq!(
        message,
        format!(
            "Security group rule already exists. Rule id is {}.",
            created["id"].as_str().unwrap()
        )
    );
    let r = c
        .call(
            "POST",
            RULES,
            Some(&token),
            Some(json!({"security_group_rule": {
                "security_group_id": web, "direction": "ingress", "protocol": "udp",
                "port_range_min": 53, "port_range_max": 53, "remote_group_id": default_id,
            }})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["security_group_rule"]["remote_group_id"], default_id);
    let r = c
        .call(
            "POST",
            RULES,
            Some(&token),
            Some(json!({"security_group_rule": {
                "security_group_id": web, "direction": "ingress", "protocol": "tcp",
                "port_range_min": 90, "port_range_max": 80,
            }})),
        )
        .await;
    neutron_error(&r, 400, "SecurityGroupInvalidPortRange");
    // A port protocol needs both ends of the range.
    let r = c
        .call(
            "POST",
            RULES,
            Some(&token),
            Some(json!({"security_group_rule": {
                "security_group_id": web, "direction": "ingress", "protocol": "tcp",
                "port_range_min": 22,
            }})),
        )
        .await;
    let message = neutron_error(&r, 400, "SecurityGroupInvalidPortRange");
    assert_eq!(
        message,
        "For TCP/UDP protocols, port_range_min must be <= port_range_max"
    );
    // The same rule written differently is still the same rule: protocol
    // by number, "anywhere" as 0.0.0.0/0.
    let r = c
        .call(
            "POST",
            RULES,
            Some(&token),
            Some(json!({"security_group_rule": {
                "security_group_id": web, "direction": "ingress", "protocol": "tcp",
                "port_range_min": 22, "port_range_max": 22,
            }})),
        )
        .await;
    r.expect(201);
    let ssh = id_of(&r, "security_group_rule");
    for (protocol, prefix) in [(json!("6"), json!("0.0.0.0/0")), (json!(6), Value::Null)] {
        let r = c
            .call(
                "POST",
                RULES,
                Some(&token),
                Some(json!({"security_group_rule": {
                    "security_group_id": web, "direction": "ingress", "protocol": protocol,
                    "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": prefix,
                }})),
            )
            .await;
        let message = neutron_error(&r, 409, "SecurityGroupRuleExists");
        assert!(
            message.ends_with(&format!("Rule id is {ssh}.")),
            "{message}"
        );
    }
    c.call("DELETE", &format!("{RULES}/{ssh}"), Some(&token), None)
        .await
        .expect(204);
    let r = c
        .call(
            "POST",
            RULES,
            Some(&token),
            Some(json!({"security_group_rule": {
                "security_group_id": web, "direction": "ingress", "ethertype": "IPv6",
                "remote_ip_prefix": "10.0.0.1",
            }})),
        )
        .await;
    let message = neutron_error(&r, 400, "SecurityGroupRuleParameterConflict");
    assert_eq!(
        message,
        "Conflicting value ethertype IPv6 for CIDR 10.0.0.1"
    );
    let r = c
        .call(
            "POST",
            RULES,
            Some(&token),
            Some(json!({"security_group_rule": {
                "security_group_id": web, "direction": "ingress", "protocol": "tcp",
                "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": default_id,
            }})),
        )
        .await;
    neutron_error(&r, 400, "SecurityGroupRemoteGroupAndRemoteIpPrefix");
    let r = c
        .call(
            "POST",
            RULES,
            Some(&token),
            Some(json!({"security_group_rule": {
                "security_group_id": web, "direction": "sideways",
            }})),
        )
        .await;
    neutron_error(&r, 400, "HTTPBadRequest");
    let r = c
        .call(
            "POST",
            RULES,
            Some(&token),
            Some(json!({"security_group_rule": {
                "security_group_id": web, "direction": "ingress", "protocol": "carrier-pigeon",
            }})),
        )
        .await;
    neutron_error(&r, 400, "SecurityGroupRuleInvalidProtocol");

    let r = c
        .call("GET", &format!("{GROUPS}/{web}"), Some(&token), None)
        .await;
    assert_eq!(
        r.json["security_group"]["security_group_rules"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let r = c
        .call(
            "GET",
            &format!("{RULES}?security_group_id={web}&direction=ingress"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.json["security_group_rules"].as_array().unwrap().len(), 2);

    let rule_id = created["id"].as_str().unwrap();
    c.call("DELETE", &format!("{RULES}/{rule_id}"), Some(&token), None)
        .await
        .expect(204);
    let r = c
        .call("GET", &format!("{RULES}/{rule_id}"), Some(&token), None)
        .await;
    neutron_error(&r, 404, "SecurityGroupRuleNotFound");

    // A port using the group keeps it.
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let port = create_port(
        &c,
        &token,
        json!({"network_id": net, "security_groups": [web]}),
    )
    .await;
    assert_eq!(port["security_groups"], json!([web]));
    let r = c
        .call("DELETE", &format!("{GROUPS}/{web}"), Some(&token), None)
        .await;
    neutron_error(&r, 409, "SecurityGroupInUse");
    let port_id = port["id"].as_str().unwrap();
    c.call("DELETE", &format!("{PORTS}/{port_id}"), Some(&token), None)
        .await
        .expect(204);
    c.call("DELETE", &format!("{GROUPS}/{web}"), Some(&token), None)
        .await
        .expect(204);
    c.call("GET", &format!("{GROUPS}/{web}"), Some(&token), None)
        .await
        .expect(404);

    let r = c
        .call(
            "DELETE",
            &format!("{GROUPS}/{default_id}"),
            Some(&token),
            None,
        )
        .await;
    let message = neutron_error(&r, 409, "SecurityGroupCannotRemoveDefault");
    assert_eq!(
        message,
        "Insufficient rights for removing default security group."
    );
    let r = c
        .call(
            "PUT",
            &format!("{GROUPS}/{default_id}"),
            Some(&token),
            Some(json!({"security_group": {"name": "renamed"}})),
        )
        .await;
    neutron_error(&r, 409, "SecurityGroupCannotUpdateDefault");
    // Other projects' groups do not exist for demo.
    let r = c.call("GET", GROUPS, Some(&admin), None).await;
    let admin_default = r.json["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "default" && g["id"] != default_id.as_str())
        .map(|g| g["id"].as_str().unwrap().to_string())
        .expect("admin's default group");
    let r = c
        .call(
            "GET",
            &format!("{GROUPS}/{admin_default}"),
            Some(&token),
            None,
        )
        .await;
    neutron_error(&r, 404, "SecurityGroupNotFound");
    c.stop().await;
}

#[tokio::test]
async fn error_bodies_have_neutrons_shape() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let json_body = |text: &str| Some(("application/json".to_string(), text.as_bytes().to_vec()));

    let r = c
        .send("POST", NETWORKS, Some(&token), json_body("{not json"), &[])
        .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(message, "Unable to find 'network' in request body");
    let r = c
        .send("POST", NETWORKS, Some(&token), json_body("[1, 2]"), &[])
        .await;
    neutron_error(&r, 400, "HTTPBadRequest");
    let r = c
        .send("POST", NETWORKS, Some(&token), json_body(""), &[])
        .await;
    neutron_error(&r, 400, "HTTPBadRequest");
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"network": {"name": "x", "foo": 1}})),
        )
        .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(message, "Unrecognized attribute(s) 'foo'");
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"network": {"name": "x", "admin_state_up": "perhaps"}})),
        )
        .await;
    let message = neutron_error(&r, 400, "InvalidInput");
    assert_eq!(
        message,
        "Invalid input for operation: 'perhaps' cannot be converted to boolean."
    );
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"network": {"name": 7}})),
        )
        .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(
        message,
        "Invalid input for name. Reason: '7' is not a valid string."
    );
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"network": {"id": "4e8e5957-649f-477b-9e5b-f1f75b21c03c"}})),
        )
        .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert_eq!(message, "Attribute 'id' not allowed in POST");
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&token),
            Some(json!({"network": {"project_id": "someone-else"}})),
        )
        .await;
    neutron_error(&r, 400, "HTTPBadRequest");
    let r = c
        .call("GET", &format!("{NETWORKS}/not-a-uuid"), Some(&token), None)
        .await;
    let message = neutron_error(&r, 404, "NetworkNotFound");
    assert_eq!(message, "Network not-a-uuid could not be found.");
    let r = c
        .call("GET", "/network/v2.0/routers-of-doom", Some(&token), None)
        .await;
    r.expect(404);
    c.stop().await;
}

#[tokio::test]
async fn devcloud_keeps_serving_after_bad_input() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let subnet = create_subnet(&c, &token, &net, "10.0.0.0/24").await;
    let subnet_id = subnet["id"].as_str().unwrap().to_string();
    let nasty = [
        json!(null),
        json!(""),
        json!(-1),
        json!(1e300),
        json!([null]),
        json!({"a": [1, {"b": null}]}),
        json!("10.0.0.0/0"),
        json!("::/0"),
        json!("0.0.0.0/0"),
        json!("255.255.255.255/32"),
        json!("10.0.0.1/-1"),
        json!("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
        json!([{"start": null, "end": 4}]),
        json!([{"destination": "10.0.0.0/8", "nexthop": [1]}]),
        json!([{"ip_address": {"x": 1}}]),
        json!([{"subnet_id": 12}]),
    ];
    for value in &nasty {
        for (path, resource, key, extra) in [
            (NETWORKS, "network", "name", json!({})),
            (NETWORKS, "network", "mtu", json!({})),
            (NETWORKS, "network", "shared", json!({})),
            (
                SUBNETS,
                "subnet",
                "cidr",
                json!({"network_id": net, "ip_version": 4}),
            ),
            (
                SUBNETS,
                "subnet",
                "cidr",
                json!({"network_id": net, "ip_version": 6}),
            ),
            (
                SUBNETS,
                "subnet",
                "gateway_ip",
                json!({"network_id": net, "ip_version": 4, "cidr": "10.5.0.0/24"}),
            ),
            (
                SUBNETS,
                "subnet",
                "allocation_pools",
                json!({"network_id": net, "ip_version": 4, "cidr": "10.5.0.0/24"}),
            ),
            (
                SUBNETS,
                "subnet",
                "host_routes",
                json!({"network_id": net, "ip_version": 4, "cidr": "10.5.0.0/24"}),
            ),
            (
                SUBNETS,
                "subnet",
                "ip_version",
                json!({"network_id": net, "cidr": "10.5.0.0/24"}),
            ),
            (PORTS, "port", "fixed_ips", json!({"network_id": net})),
            (PORTS, "port", "mac_address", json!({"network_id": net})),
            (PORTS, "port", "security_groups", json!({"network_id": net})),
            (
                PORTS,
                "port",
                "allowed_address_pairs",
                json!({"network_id": net}),
            ),
            (
                RULES,
                "security_group_rule",
                "port_range_min",
                json!({"direction": "ingress", "protocol": "tcp"}),
            ),
            (
                RULES,
                "security_group_rule",
                "remote_ip_prefix",
                json!({"direction": "ingress"}),
            ),
            (
                RULES,
                "security_group_rule",
                "protocol",
                json!({"direction": "ingress"}),
            ),
        ] {
            let mut body = extra.clone();
            body[key] = value.clone();
            let r = c
                .call("POST", path, Some(&token), Some(json!({ resource: body })))
                .await;
            assert!(
                r.status < 500,
                "{path} {key}={value}: {} {}",
                r.status,
                r.text
            );
            if r.status == 201 {
                let id = r.json[resource]["id"].as_str().unwrap();
                let collection = path.to_string();
                c.call("DELETE", &format!("{collection}/{id}"), Some(&token), None)
                    .await;
            } else {
                assert!(r.json["NeutronError"]["type"].is_string(), "{}", r.text);
            }
        }
        for (path, resource) in [
            (format!("{NETWORKS}/{net}"), "network"),
            (format!("{SUBNETS}/{subnet_id}"), "subnet"),
        ] {
            let r = c
                .call("PUT", &path, Some(&token), Some(json!({ resource: value })))
                .await;
            assert!(r.status < 500, "{path} {value}: {} {}", r.status, r.text);
        }
    }
    for path in [
        format!("{NETWORKS}?limit=x"),
        format!("{NETWORKS}?sort_key=nope&sort_dir=asc"),
        format!("{NETWORKS}?limit=1&marker=nope"),
        format!("{PORTS}?fixed_ips=garbage"),
        format!("{NETWORKS}/{net}/tags/{}", "x".repeat(300)),
    ] {
        let r = c.call("GET", &path, Some(&token), None).await;
        assert!(r.status < 500, "{path}: {} {}", r.status, r.text);
    }
    let r = c
        .send(
            "POST",
            SUBNETS,
            Some(&token),
            Some(("application/json".into(), vec![0xff, 0xfe, 0x00])),
            &[],
        )
        .await;
    r.expect(400);
    // Still serving, and nothing half-made lingers.
    let r = c
        .call("GET", &format!("{NETWORKS}/{net}"), Some(&token), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["network"]["subnets"], json!([subnet_id]));
    c.stop().await;
}

#[tokio::test]
async fn resources_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = Cloud::start_in(dir).await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "kept", "description": "d"})).await;
    c.call(
        "PUT",
        &format!("{NETWORKS}/{net}/tags"),
        Some(&token),
        Some(json!({"tags": ["t1"]})),
    )
    .await
    .expect(200);
    let subnet = create_subnet(&c, &token, &net, "10.3.0.0/24").await;
    let port = create_port(&c, &token, json!({"network_id": net, "name": "p"})).await;
    let subnet_id = subnet["id"].as_str().unwrap().to_string();
    let port_id = port["id"].as_str().unwrap().to_string();
    let before = [
        c.call("GET", &format!("{NETWORKS}/{net}"), Some(&token), None)
            .await
            .json,
        c.call("GET", &format!("{SUBNETS}/{subnet_id}"), Some(&token), None)
            .await
            .json,
        c.call("GET", &format!("{PORTS}/{port_id}"), Some(&token), None)
            .await
            .json,
        c.call("GET", GROUPS, Some(&token), None).await.json,
    ];

    let Cloud {
        cloud, _dir: dir, ..
    } = c;
    cloud.stop().await.unwrap();
    let c = Cloud::start_in(dir).await;
    let token = c.token("demo").await;
    let after = [
        c.call("GET", &format!("{NETWORKS}/{net}"), Some(&token), None)
            .await
            .json,
        c.call("GET", &format!("{SUBNETS}/{subnet_id}"), Some(&token), None)
            .await
            .json,
        c.call("GET", &format!("{PORTS}/{port_id}"), Some(&token), None)
            .await
            .json,
        c.call("GET", GROUPS, Some(&token), None).await.json,
    ];
    assert_eq!(before, after);
    assert_eq!(after[0]["network"]["tags"], json!(["t1"]));
    // Allocation carries on from the stored state.
    let next = create_port(&c, &token, json!({"network_id": net})).await;
    assert_eq!(next["fixed_ips"][0]["ip_address"], "10.3.0.3");
    c.stop().await;
}

#[tokio::test]
async fn slaac_addresses_do_not_keep_a_subnet() {
    let c = Cloud::start().await;
    let token = c.token("demo").await;
    let net = create_network(&c, &token, json!({"name": "n"})).await;
    let v4 = create_subnet(&c, &token, &net, "10.0.0.0/24").await;
    let r = post_subnet(
        &c,
        &token,
        json!({"network_id": net, "cidr": "2001:db8::/64", "ip_version": 6,
               "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}),
    )
    .await;
    r.expect(201);
    let v6 = id_of(&r, "subnet");
    let port = create_port(
        &c,
        &token,
        json!({"network_id": net, "mac_address": "fa:16:3e:00:00:01"}),
    )
    .await;
    let port_id = port["id"].as_str().unwrap();
    assert_eq!(
        port["fixed_ips"],
        json!([
            {"subnet_id": v4["id"], "ip_address": "10.0.0.2"},
            {"subnet_id": v6, "ip_address": "2001:db8::f816:3eff:fe00:1"},
        ])
    );
    c.call("DELETE", &format!("{SUBNETS}/{v6}"), Some(&token), None)
        .await
        .expect(204);
    let r = c
        .call("GET", &format!("{PORTS}/{port_id}"), Some(&token), None)
        .await;
    assert_eq!(
        r.json["port"]["fixed_ips"],
        json!([{"subnet_id": v4["id"], "ip_address": "10.0.0.2"}])
    );
    let v4_id = v4["id"].as_str().unwrap();
    c.call("DELETE", &format!("{SUBNETS}/{v4_id}"), Some(&token), None)
        .await
        .expect(409);
    c.stop().await;
}

/// What ML2 without the DNS and segments extensions shows (the fidelity
/// report compares these shapes with a real Neutron): networks without
/// `dns_domain` or `l2_adjacency`, subnets with their network's
/// `router:external` and without `segment_id`.
#[tokio::test]
async fn networks_and_subnets_have_the_fields_a_plain_ml2_neutron_shows() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let external =
        create_network(&c, &admin, json!({"name": "ext", "router:external": true})).await;
    let internal = create_network(&c, &admin, json!({"name": "int"})).await;
    let r = c
        .call("GET", &format!("{NETWORKS}/{internal}"), Some(&admin), None)
        .await;
    r.expect(200);
    for absent in ["dns_domain", "l2_adjacency"] {
        assert!(
            r.json["network"].get(absent).is_none(),
            "{absent}: {}",
            r.text
        );
    }
    let outside = create_subnet(&c, &admin, &external, "192.0.2.0/24").await;
    let inside = create_subnet(&c, &admin, &internal, "10.5.0.0/24").await;
    assert_eq!(outside["router:external"], true);
    assert_eq!(inside["router:external"], false);
    assert!(inside.get("segment_id").is_none(), "{inside}");
    let r = c
        .call(
            "POST",
            NETWORKS,
            Some(&admin),
            Some(json!({"network": {"name": "x", "dns_domain": "example.org."}})),
        )
        .await;
    let message = neutron_error(&r, 400, "HTTPBadRequest");
    assert!(message.contains("dns_domain"), "{message}");
    c.stop().await;
}
