//! Glance v2.

use super::{Cloud, Reply};
use md5::Digest;
use serde_json::{Value, json};

const PATCH: &str = "application/openstack-images-v2.1-json-patch";
const OCTETS: &str = "application/octet-stream";

async fn create(c: &Cloud, token: &str, body: Value) -> Value {
    let r = c
        .call("POST", "/image/v2/images", Some(token), Some(body))
        .await;
    r.expect(201);
    r.json.clone()
}

async fn patch(c: &Cloud, token: &str, id: &str, ops: Value) -> Reply {
    c.send(
        "PATCH",
        &format!("/image/v2/images/{id}"),
        Some(token),
        Some((PATCH.into(), serde_json::to_vec(&ops).unwrap())),
        &[("Accept", "application/json")],
    )
    .await
}

async fn upload(c: &Cloud, token: &str, id: &str, bytes: &[u8]) -> Reply {
    c.send(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        Some(token),
        Some((OCTETS.into(), bytes.to_vec())),
        &[("Accept", "application/json")],
    )
    .await
}

/// Status, headers and the exact bytes of a download.
async fn download(
    c: &Cloud,
    token: &str,
    id: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = c
        .http
        .get(c.url(&format!("/image/v2/images/{id}/file")))
        .header("X-Auth-Token", token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn show(c: &Cloud, token: &str, id: &str) -> Reply {
    c.send(
        "GET",
        &format!("/image/v2/images/{id}"),
        Some(token),
        None,
        &[("Accept", "application/json")],
    )
    .await
}

async fn list(c: &Cloud, token: &str, query: &str) -> Reply {
    let r = c
        .call(
            "GET",
            &format!("/image/v2/images{query}"),
            Some(token),
            None,
        )
        .await;
    r.expect(200);
    r
}

fn names(r: &Reply) -> Vec<String> {
    r.json["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A 64 MiB qcow2 made by qemu-img, or `None` (with a notice) without it.
fn qemu_qcow2(dir: &std::path::Path) -> Option<Vec<u8>> {
    let qemu_img = std::path::Path::new("/usr/bin/qemu-img");
    if !qemu_img.exists() {
        eprintln!("NOTICE: /usr/bin/qemu-img is absent; skipping the qcow2 upload test");
        return None;
    }
    let path = dir.join("x.qcow2");
    let status = std::process::Command::new(qemu_img)
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&path)
        .arg("64M")
        .status()
        .unwrap();
    assert!(status.success());
    Some(std::fs::read(path).unwrap())
}

#[tokio::test]
async fn version_discovery_needs_no_token() {
    let c = Cloud::start().await;
    let r = c.call("GET", "/image", None, None).await;
    r.expect(300);
    let versions = r.json["versions"].as_array().unwrap();
    assert_eq!(versions[0]["id"], "v2.16");
    assert_eq!(versions[0]["status"], "CURRENT");
    assert_eq!(
        versions[0]["links"][0],
        json!({"rel": "self", "href": format!("{}/image/v2/", c.cloud.url())})
    );
    assert!(versions[1..].iter().all(|v| v["status"] == "SUPPORTED"));
    assert_eq!(versions.last().unwrap()["id"], "v2.0");
    // Asked for explicitly, the same list comes with 200.
    let r = c.call("GET", "/image/versions", None, None).await;
    r.expect(200);
    assert_eq!(r.json["versions"][0]["id"], "v2.16");
    c.call("GET", "/image/v2/", None, None).await.expect(300);
    c.call("GET", "/image/v2/images", None, None)
        .await
        .expect(401);
    c.stop().await;
}

#[tokio::test]
async fn create_show_update_delete() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let r = c
        .call(
            "POST",
            "/image/v2/images",
            Some(&admin),
            Some(json!({
                "name": "cirros", "disk_format": "qcow2", "container_format": "bare",
                "min_ram": 64, "tags": ["a", "b", "a"], "os_distro": "cirros",
            })),
        )
        .await;
    r.expect(201);
    let image = &r.json;
    let id = image["id"].as_str().unwrap();
    assert_eq!(
        r.header("location").unwrap(),
        format!("{}/image/v2/images/{id}", c.cloud.url())
    );
    let mut keys: Vec<&str> = image
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "checksum",
            "container_format",
            "created_at",
            "disk_format",
            "file",
            "id",
            "min_disk",
            "min_ram",
            "name",
            "os_distro",
            "os_hash_algo",
            "os_hash_value",
            "os_hidden",
            "owner",
            "protected",
            "schema",
            "self",
            "size",
            "status",
            "tags",
            "updated_at",
            "virtual_size",
            "visibility",
        ]
    );
    assert_eq!(image["status"], "queued");
    assert_eq!(image["visibility"], "shared");
    assert_eq!(image["tags"], json!(["a", "b"]));
    assert_eq!(image["min_ram"], 64);
    assert_eq!(image["min_disk"], 0);
    assert_eq!(image["os_hash_algo"], Value::Null);
    assert_eq!(image["size"], Value::Null);
    assert_eq!(image["self"], format!("/v2/images/{id}"));
    assert_eq!(image["file"], format!("/v2/images/{id}/file"));
    assert_eq!(image["schema"], "/v2/schemas/image");
    assert!(image["created_at"].as_str().unwrap().ends_with('Z'));

    let r = show(&c, &admin, id).await;
    r.expect(200);
    assert_eq!(r.json, *image);

    let r = patch(
        &c,
        &admin,
        id,
        json!([
            {"op": "replace", "path": "/name", "value": "cirros-2"},
            {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
            {"op": "remove", "path": "/os_distro"},
            {"op": "replace", "path": "/tags", "value": ["x"]},
            {"op": "add", "path": "/protected", "value": true},
            {"op": "replace", "path": "/min_disk", "value": 2},
            {"op": "replace", "path": "/disk_format", "value": "raw"},
        ]),
    )
    .await;
    r.expect(200);
    assert_eq!(r.json["name"], "cirros-2");
    assert_eq!(r.json["hw_disk_bus"], "virtio");
    assert!(r.json.get("os_distro").is_none());
    assert_eq!(r.json["tags"], json!(["x"]));
    assert_eq!(r.json["protected"], true);
    assert_eq!(r.json["min_disk"], 2);
    assert_eq!(r.json["disk_format"], "raw");

    // Protected images stay.
    let r = c
        .send(
            "DELETE",
            &format!("/image/v2/images/{id}"),
            Some(&admin),
            None,
            &[("Accept", "application/json")],
        )
        .await;
    r.expect(403);
    assert_eq!(
        r.glance_message(),
        format!("Image {id} is protected and cannot be deleted.")
    );
    patch(
        &c,
        &admin,
        id,
        json!([{"op": "replace", "path": "/protected", "value": false}]),
    )
    .await
    .expect(200);
    c.call(
        "DELETE",
        &format!("/image/v2/images/{id}"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    let r = show(&c, &admin, id).await;
    r.expect(404);
    assert_eq!(r.glance_message(), format!("No image found with ID {id}"));
    c.call(
        "DELETE",
        &format!("/image/v2/images/{id}"),
        Some(&admin),
        None,
    )
    .await
    .expect(404);
    c.stop().await;
}

#[tokio::test]
async fn create_refuses_what_glance_refuses() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let post = |token: String, body: Vec<u8>| {
        let c = &c;
        async move {
            c.send(
                "POST",
                "/image/v2/images",
                Some(&token),
                Some(("application/json".into(), body)),
                &[("Accept", "application/json")],
            )
            .await
        }
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"disk_format": "qcow3"}),
            400,
            "Provided object does not match schema 'image': 'qcow3' is not one of [None, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']",
        ),
        (
            json!({"container_format": "tar"}),
            400,
            "Provided object does not match schema 'image': 'tar' is not one of [None, 'ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed']",
        ),
        (
            json!({"min_ram": "big"}),
            400,
            "Provided object does not match schema 'image': 'big' is not of type 'integer'",
        ),
        (
            json!({"min_disk": -1}),
            400,
            "Invalid value '-1' for parameter 'min_disk': Cannot be a negative value.",
        ),
        (
            json!({"protected": "yes"}),
            400,
            "Provided object does not match schema 'image': 'yes' is not of type 'boolean'",
        ),
        (
            json!({"visibility": "everyone"}),
            400,
            "Provided object does not match schema 'image': 'everyone' is not one of ['community', 'public', 'private', 'shared']",
        ),
        (
            json!({"os_distro": 7}),
            400,
            "Provided object does not match schema 'image': 7 is not of type 'string'",
        ),
        (
            json!({"id": "not-a-uuid"}),
            400,
            "Provided object does not match schema 'image': 'not-a-uuid' does not match '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$'",
        ),
        (json!({"name": "n".repeat(256)}), 400, "is too long"),
        (json!([1, 2]), 400, "[1, 2] is not of type 'object'"),
        (
            json!({"status": "active"}),
            403,
            "Attribute 'status' is read-only.",
        ),
        (json!({"size": 5}), 403, "Attribute 'size' is read-only."),
        (
            json!({"checksum": "abc"}),
            403,
            "Attribute 'checksum' is read-only.",
        ),
        (
            json!({"os_hash_value": "abc"}),
            403,
            "Attribute 'os_hash_value' is read-only.",
        ),
        (json!({"self": "x"}), 403, "Attribute 'self' is read-only."),
        (json!({"file": "x"}), 403, "Attribute 'file' is read-only."),
        (
            json!({"deleted": "x"}),
            403,
            "Attribute 'deleted' is reserved.",
        ),
        (
            json!({"os_glance_import_task": "x"}),
            403,
            "Attribute 'os_glance_import_task' is reserved.",
        ),
    ];
    for (body, status, message) in cases {
        let r = post(admin.clone(), serde_json::to_vec(&body).unwrap()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert!(r.glance_message().contains(message), "{body}: {}", r.text);
    }
    let r = post(admin.clone(), b"{not json".to_vec()).await;
    r.expect(400);
    assert_eq!(r.glance_message(), "Malformed JSON in request body.");
    let r = post(admin.clone(), Vec::new()).await;
    r.expect(400);
    assert_eq!(r.glance_message(), "Body expected in request.");

    // Demo may not publish, nor create for another project.
    let r = post(
        demo.clone(),
        serde_json::to_vec(&json!({"visibility": "public"})).unwrap(),
    )
    .await;
    r.expect(403);
    assert_eq!(
        r.glance_message(),
        "You are not authorized to complete publicize_image action."
    );
    let r = post(
        demo.clone(),
        serde_json::to_vec(&json!({"owner": "someoneelse"})).unwrap(),
    )
    .await;
    r.expect(403);
    assert_eq!(
        r.glance_message(),
        "You are not permitted to create images owned by 'someoneelse'"
    );
    // Community needs no admin; public and another owner do.
    create(&c, &demo, json!({"visibility": "community"})).await;
    let image = create(
        &c,
        &admin,
        json!({"visibility": "public", "owner": "someoneelse"}),
    )
    .await;
    assert_eq!(image["owner"], "someoneelse");

    // A chosen id, once.
    let id = "7b5a3b2e-2c6f-4e47-9d3c-1f5a8e2d9c41";
    let image = create(&c, &admin, json!({"id": id, "name": "fixed"})).await;
    assert_eq!(image["id"], id);
    let r = post(
        admin.clone(),
        serde_json::to_vec(&json!({"id": id})).unwrap(),
    )
    .await;
    r.expect(409);
    assert_eq!(r.glance_message(), format!("Image ID {id} already exists!"));

    // Without Accept: application/json, webob's HTML page.
    let r = c
        .send(
            "POST",
            "/image/v2/images",
            Some(&admin),
            Some(("application/json".into(), b"{".to_vec())),
            &[],
        )
        .await;
    r.expect(400);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text.contains("<h1>400 Bad Request</h1>"));
    assert!(r.text.contains("Malformed JSON in request body."));
    c.stop().await;
}

#[tokio::test]
async fn patch_rules() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let image = create(
        &c,
        &admin,
        json!({"name": "p", "disk_format": "raw", "container_format": "bare", "k": "v"}),
    )
    .await;
    let id = image["id"].as_str().unwrap();

    // Only the JSON-patch media types.
    let r = c
        .send(
            "PATCH",
            &format!("/image/v2/images/{id}"),
            Some(&admin),
            Some(("application/json".into(), b"[]".to_vec())),
            &[("Accept", "application/json")],
        )
        .await;
    r.expect(415);
    assert_eq!(
        r.header("accept-patch").unwrap(),
        "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch"
    );

    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!([{"op": "replace", "path": "/status", "value": "active"}]),
            403,
            "Attribute 'status' is read-only.",
        ),
        (
            json!([{"op": "replace", "path": "/id", "value": "x"}]),
            403,
            "Attribute 'id' is read-only.",
        ),
        (
            json!([{"op": "add", "path": "/os_hash_algo", "value": "md5"}]),
            403,
            "Attribute 'os_hash_algo' is read-only.",
        ),
        (
            json!([{"op": "add", "path": "/os_glance_x", "value": "y"}]),
            403,
            "Attribute 'os_glance_x' is reserved.",
        ),
        (
            json!([{"op": "remove", "path": "/name"}]),
            403,
            "Property name may not be removed.",
        ),
        (
            json!([{"op": "replace", "path": "/missing", "value": "x"}]),
            409,
            "Property missing does not exist.",
        ),
        (
            json!([{"op": "remove", "path": "/missing"}]),
            409,
            "Property missing does not exist.",
        ),
        (
            json!([{"op": "move", "path": "/name", "value": "x"}]),
            400,
            "Invalid operation: `move`. It must be one of the following: add, remove, replace.",
        ),
        (
            json!([{"op": "add", "path": "/name"}]),
            400,
            "Operation \"add\" requires a member named \"value\".",
        ),
        (
            json!([{"op": "add", "path": "name", "value": "x"}]),
            400,
            "Pointer `name` does not start with \"/\".",
        ),
        (
            json!([{"op": "add", "path": "/tags/-", "value": "x"}]),
            400,
            "Invalid JSON pointer for this resource: '/tags/-'",
        ),
        (
            json!([{"op": "add", "path": "/min_ram", "value": "x"}]),
            400,
            "Provided object does not match schema 'image': 'x' is not of type 'integer'",
        ),
        (
            json!([{"op": "add", "path": "/k2", "value": 1}]),
            400,
            "Provided object does not match schema 'image': 1 is not of type 'string'",
        ),
        (
            json!({"op": "add"}),
            400,
            "Request body must be a JSON array of operation objects.",
        ),
        (json!(["x"]), 400, "Operations must be JSON objects."),
    ];
    for (ops, status, message) in cases {
        let r = patch(&c, &admin, id, ops.clone()).await;
        assert_eq!(r.status, status, "{ops}: {}", r.text);
        assert_eq!(r.glance_message(), message, "{ops}");
    }
    // A failing change leaves the earlier ones unapplied.
    let r = patch(
        &c,
        &admin,
        id,
        json!([
            {"op": "replace", "path": "/name", "value": "changed"},
            {"op": "remove", "path": "/missing"},
        ]),
    )
    .await;
    r.expect(409);
    assert_eq!(show(&c, &admin, id).await.json["name"], "p");
    // The v2.0 (draft 4) form.
    let r = c
        .send(
            "PATCH",
            &format!("/image/v2/images/{id}"),
            Some(&admin),
            Some((
                "application/openstack-images-v2.0-json-patch".into(),
                serde_json::to_vec(&json!([{"replace": "/k", "value": "w"}])).unwrap(),
            )),
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["k"], "w");
    // Formats only change while queued.
    upload(&c, &admin, id, b"raw bytes").await.expect(204);
    let r = patch(
        &c,
        &admin,
        id,
        json!([{"op": "replace", "path": "/disk_format", "value": "qcow2"}]),
    )
    .await;
    r.expect(403);
    assert_eq!(
        r.glance_message(),
        "Attribute disk_format can be only replaced for a queued image."
    );
    c.stop().await;
}

#[tokio::test]
async fn list_filters_sorts_and_pages() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    for (name, tags, hidden) in [
        ("delta", json!(["x", "y"]), false),
        ("alpha", json!(["x"]), false),
        ("echo", json!([]), false),
        ("charlie", json!(["y"]), false),
        ("bravo", json!(["x", "y"]), false),
        ("hidden", json!([]), true),
    ] {
        create(
            &c,
            &admin,
            json!({"name": name, "tags": tags, "os_hidden": hidden, "disk_format": "raw", "container_format": "bare"}),
        )
        .await;
    }
    // Newest first by default; hidden images left out.
    let r = list(&c, &admin, "").await;
    assert_eq!(names(&r), ["bravo", "charlie", "echo", "alpha", "delta"]);
    assert_eq!(r.json["first"], "/v2/images");
    assert_eq!(r.json["schema"], "/v2/schemas/images");
    assert!(r.json.get("next").is_none());
    assert_eq!(
        names(&list(&c, &admin, "?os_hidden=true").await),
        ["hidden"]
    );

    let r = list(&c, &admin, "?sort=name:asc").await;
    assert_eq!(names(&r), ["alpha", "bravo", "charlie", "delta", "echo"]);
    let r = list(&c, &admin, "?sort_key=name&sort_dir=desc").await;
    assert_eq!(names(&r), ["echo", "delta", "charlie", "bravo", "alpha"]);
    let r = list(&c, &admin, "?tag=x&tag=y&sort=name:asc").await;
    assert_eq!(names(&r), ["bravo", "delta"]);
    let r = list(&c, &admin, "?name=in:alpha,echo&sort=name").await;
    assert_eq!(names(&r), ["echo", "alpha"]);

    // Paging: two at a time, following next.
    let r = list(&c, &admin, "?limit=2&sort=name:asc").await;
    assert_eq!(names(&r), ["alpha", "bravo"]);
    assert_eq!(r.json["first"], "/v2/images?limit=2&sort=name%3Aasc");
    let bravo = r.json["images"][1]["id"].as_str().unwrap();
    let next = r.json["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!("/v2/images?limit=2&sort=name%3Aasc&marker={bravo}")
    );
    let r = list(&c, &admin, next.trim_start_matches("/v2/images")).await;
    assert_eq!(names(&r), ["charlie", "delta"]);
    assert_eq!(r.json["first"], "/v2/images?limit=2&sort=name%3Aasc");
    let next = r.json["next"].as_str().unwrap().to_string();
    let r = list(&c, &admin, next.trim_start_matches("/v2/images")).await;
    assert_eq!(names(&r), ["echo"]);
    assert!(r.json.get("next").is_none());

    // Status filters, one value or several.
    let some = list(&c, &admin, "?sort=name:asc&limit=1").await;
    let alpha = some.json["images"][0]["id"].as_str().unwrap().to_string();
    upload(&c, &admin, &alpha, b"data").await.expect(204);
    assert_eq!(names(&list(&c, &admin, "?status=active").await), ["alpha"]);
    assert_eq!(
        list(&c, &admin, "?status=in:active,queued").await.json["images"]
            .as_array()
            .unwrap()
            .len(),
        5
    );

    for (query, message) in [
        (
            "?sort_key=colour",
            "Invalid sort key: colour. It must be one of the following: name, status, container_format, disk_format, size, id, created_at, updated_at.",
        ),
        ("?sort_dir=up", "Invalid sort direction: up"),
        (
            "?sort=name&sort_key=id",
            "Old and new sorting syntax cannot be combined",
        ),
        ("?limit=x", "limit param must be an integer"),
        ("?limit=-1", "limit param must be positive"),
        ("?visibility=everyone", "Invalid visibility value: everyone"),
        ("?member_status=maybe", "Invalid status: maybe"),
        (
            "?os_hidden=maybe",
            "Invalid value 'maybe' for 'os_hidden' filter. Valid values are 'true' or 'false'.",
        ),
        (
            "?marker=0c2eba2c-5af7-4c2f-9f4b-1b1c2d3e4f5a",
            "No image found with ID 0c2eba2c-5af7-4c2f-9f4b-1b1c2d3e4f5a",
        ),
        ("?name=gt:x", "Unable to filter by unknown operator 'gt'."),
    ] {
        let r = c
            .send(
                "GET",
                &format!("/image/v2/images{query}"),
                Some(&admin),
                None,
                &[("Accept", "application/json")],
            )
            .await;
        assert_eq!(r.status, 400, "{query}: {}", r.text);
        assert_eq!(r.glance_message(), message, "{query}");
    }
    c.stop().await;
}

#[tokio::test]
async fn projects_see_their_own_public_and_shared_images() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let private = create(
        &c,
        &admin,
        json!({"name": "admin-private", "visibility": "private"}),
    )
    .await;
    let public = create(
        &c,
        &admin,
        json!({"name": "admin-public", "visibility": "public"}),
    )
    .await;
    let community = create(
        &c,
        &admin,
        json!({"name": "admin-community", "visibility": "community"}),
    )
    .await;
    let shared = create(&c, &admin, json!({"name": "admin-shared"})).await;
    let own = create(
        &c,
        &demo,
        json!({"name": "demo-private", "visibility": "private"}),
    )
    .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();

    let listed = |r: Reply| {
        let mut n = names(&r);
        n.sort();
        n
    };
    assert_eq!(
        listed(list(&c, &demo, "").await),
        ["admin-public", "demo-private"]
    );
    assert_eq!(
        listed(list(&c, &demo, "?visibility=community").await),
        ["admin-community"]
    );
    assert_eq!(
        listed(list(&c, &demo, "?visibility=all").await),
        ["admin-community", "admin-public", "demo-private"]
    );
    assert_eq!(
        listed(list(&c, &admin, "").await),
        [
            "admin-community",
            "admin-private",
            "admin-public",
            "admin-shared",
            "demo-private"
        ]
    );

    // Others' private and unshared images do not exist for demo.
    for hidden in [&private, &shared] {
        let r = show(&c, &demo, &id(hidden)).await;
        r.expect(404);
        assert_eq!(
            r.glance_message(),
            format!("No image found with ID {}", id(hidden))
        );
        patch(&c, &demo, &id(hidden), json!([])).await.expect(404);
        c.call(
            "DELETE",
            &format!("/image/v2/images/{}", id(hidden)),
            Some(&demo),
            None,
        )
        .await
        .expect(404);
        let (status, _, _) = download(&c, &demo, &id(hidden), &[]).await;
        assert_eq!(status, 404);
    }
    // Public and community ones it sees, but may not change.
    for visible in [&public, &community] {
        show(&c, &demo, &id(visible)).await.expect(200);
        let r = patch(
            &c,
            &demo,
            &id(visible),
            json!([{"op": "replace", "path": "/name", "value": "mine"}]),
        )
        .await;
        r.expect(403);
        assert_eq!(
            r.glance_message(),
            "You are not authorized to complete modify_image action."
        );
        let r = c
            .send(
                "DELETE",
                &format!("/image/v2/images/{}", id(visible)),
                Some(&demo),
                None,
                &[("Accept", "application/json")],
            )
            .await;
        r.expect(403);
        assert_eq!(
            r.glance_message(),
            "You are not authorized to complete delete_image action."
        );
    }
    // Demo may make its image community, not public.
    let r = patch(
        &c,
        &demo,
        &id(&own),
        json!([{"op": "replace", "path": "/visibility", "value": "public"}]),
    )
    .await;
    r.expect(403);
    assert_eq!(
        r.glance_message(),
        "You are not authorized to complete publicize_image action."
    );
    let r = patch(
        &c,
        &demo,
        &id(&own),
        json!([{"op": "replace", "path": "/visibility", "value": "community"}]),
    )
    .await;
    r.expect(200);
    assert_eq!(r.json["visibility"], "community");
    patch(
        &c,
        &demo,
        &id(&own),
        json!([{"op": "replace", "path": "/visibility", "value": "private"}]),
    )
    .await
    .expect(200);
    // Nor give it away.
    let r = patch(
        &c,
        &demo,
        &id(&own),
        json!([{"op": "replace", "path": "/owner", "value": "x"}]),
    )
    .await;
    r.expect(403);
    assert_eq!(r.glance_message(), "Owner can't be updated by non admin.");
    // Admin sees and changes everything.
    show(&c, &admin, &id(&own)).await.expect(200);
    patch(
        &c,
        &admin,
        &id(&own),
        json!([{"op": "add", "path": "/checked_by", "value": "admin"}]),
    )
    .await
    .expect(200);
    // Non-UUID ids are simply not found.
    let r = show(&c, &demo, "cirros").await;
    r.expect(404);
    assert_eq!(r.glance_message(), "No image found with ID cirros");

    // Sharing: a pending member sees the image but does not list it.
    let demo_project = c
        .call("GET", "/identity/v3/auth/projects", Some(&demo), None)
        .await
        .json["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let members = format!("/image/v2/images/{}/members", id(&shared));
    let r = c
        .call(
            "POST",
            &members,
            Some(&admin),
            Some(json!({"member": demo_project})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["status"], "pending");
    assert_eq!(r.json["schema"], "/v2/schemas/member");
    c.call(
        "POST",
        &members,
        Some(&admin),
        Some(json!({"member": demo_project})),
    )
    .await
    .expect(409);
    show(&c, &demo, &id(&shared)).await.expect(200);
    assert!(!names(&list(&c, &demo, "").await).contains(&"admin-shared".to_string()));
    assert_eq!(
        names(&list(&c, &demo, "?member_status=pending&visibility=shared").await),
        ["admin-shared"]
    );
    // The member answers for itself.
    let mine = format!("{members}/{demo_project}");
    let r = c
        .call(
            "PUT",
            &mine,
            Some(&demo),
            Some(json!({"status": "accepted"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["status"], "accepted");
    assert!(names(&list(&c, &demo, "").await).contains(&"admin-shared".to_string()));
    let r = c.call("GET", &members, Some(&demo), None).await;
    r.expect(200);
    assert_eq!(r.json["members"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["schema"], "/v2/schemas/members");
    // Members are for shared images only.
    let r = c
        .send(
            "GET",
            &format!("/image/v2/images/{}/members", id(&public)),
            Some(&admin),
            None,
            &[("Accept", "application/json")],
        )
        .await;
    r.expect(403);
    c.call("DELETE", &mine, Some(&admin), None)
        .await
        .expect(204);
    show(&c, &demo, &id(&shared)).await.expect(404);

    // An owner (not an admin) cannot answer for its members.
    let admin_project = c
        .call("GET", "/identity/v3/auth/projects", Some(&admin), None)
        .await
        .json["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let demo_shared = create(&c, &demo, json!({"name": "demo-shared"})).await;
    let members = format!("/image/v2/images/{}/members", id(&demo_shared));
    c.call(
        "POST",
        &members,
        Some(&demo),
        Some(json!({"member": admin_project})),
    )
    .await
    .expect(200);
    let r = c
        .send(
            "PUT",
            &format!("{members}/{admin_project}"),
            Some(&demo),
            Some((
                "application/json".into(),
                br#"{"status": "accepted"}"#.to_vec(),
            )),
            &[("Accept", "application/json")],
        )
        .await;
    r.expect(403);
    assert_eq!(
        r.glance_message(),
        "You are not authorized to complete modify_member action."
    );
    c.stop().await;
}

#[tokio::test]
async fn qcow2_upload_is_inspected_hashed_and_downloadable() {
    let dir = tempfile::tempdir().unwrap();
    let Some(qcow2) = qemu_qcow2(dir.path()) else {
        return;
    };
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let image = create(
        &c,
        &admin,
        json!({"name": "cirros", "disk_format": "qcow2", "container_format": "bare"}),
    )
    .await;
    let id = image["id"].as_str().unwrap();
    upload(&c, &admin, id, &qcow2).await.expect(204);
    let image = show(&c, &admin, id).await.json;
    assert_eq!(image["status"], "active");
    assert_eq!(image["stores"], "file", "the store holding the data");
    assert_eq!(image["size"], qcow2.len());
    assert_eq!(image["virtual_size"], 67_108_864);
    assert_eq!(image["checksum"], hex(&md5::Md5::digest(&qcow2)));
    assert_eq!(image["os_hash_algo"], "sha512");
    assert_eq!(image["os_hash_value"], hex(&sha2::Sha512::digest(&qcow2)));

    let (status, headers, bytes) = download(&c, &admin, id, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, qcow2);
    assert_eq!(headers["content-type"], OCTETS);
    assert_eq!(headers["content-md5"], image["checksum"].as_str().unwrap());
    let (status, headers, bytes) = download(&c, &admin, id, &[("Range", "bytes=0-3")]).await;
    assert_eq!(status, 206);
    assert_eq!(bytes, b"QFI\xfb");
    assert_eq!(
        headers["content-range"],
        format!("bytes 0-3/{}", qcow2.len()).as_str()
    );

    // Data goes only once.
    let r = upload(&c, &admin, id, &qcow2).await;
    r.expect(409);
    assert_eq!(
        r.glance_message(),
        "Image status transition from active to saving is not allowed"
    );
    // The same bytes as raw are refused: they are a qcow2.
    let raw = create(
        &c,
        &admin,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    upload(&c, &admin, raw["id"].as_str().unwrap(), &qcow2)
        .await
        .expect(415);
    c.stop().await;
}

#[tokio::test]
async fn data_that_is_not_what_disk_format_says_is_refused() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let image = create(
        &c,
        &admin,
        json!({"disk_format": "qcow2", "container_format": "bare"}),
    )
    .await;
    let id = image["id"].as_str().unwrap();
    let r = upload(&c, &admin, id, &[0u8; 4096]).await;
    r.expect(415);
    // As Glance's: webob's page in JSON, naming only the media type.
    assert_eq!(
        r.json["message"],
        "The request media type application/octet-stream is not supported by this server.\n<br /><br />\n"
    );
    assert_eq!(r.json["code"], "415 Unsupported Media Type");
    let image = show(&c, &admin, id).await.json;
    assert_eq!(image["status"], "queued");
    assert_eq!(image["size"], Value::Null);
    assert!(image.get("stores").is_none(), "no store holds its data");
    let data_dir = c.cloud.clouds_yaml().parent().unwrap().join("images");
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 0);
    let (status, _, bytes) = download(&c, &admin, id, &[]).await;
    assert_eq!((status, bytes.len()), (204, 0));

    // Raw data as raw: its virtual size is its size.
    let raw = create(
        &c,
        &admin,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let raw_id = raw["id"].as_str().unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    upload(&c, &admin, raw_id, &data).await.expect(204);
    let raw = show(&c, &admin, raw_id).await.json;
    assert_eq!(raw["virtual_size"], 100_000);
    assert_eq!(raw["size"], 100_000);
    // Formats without an inspector, and non-bare containers, are taken as
    // they come, with no virtual size.
    let ami = create(
        &c,
        &admin,
        json!({"disk_format": "qcow2", "container_format": "ovf"}),
    )
    .await;
    let ami_id = ami["id"].as_str().unwrap();
    upload(&c, &admin, ami_id, b"anything").await.expect(204);
    assert_eq!(
        show(&c, &admin, ami_id).await.json["virtual_size"],
        Value::Null
    );
    c.stop().await;
}

#[tokio::test]
async fn upload_preconditions() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let bare = create(&c, &admin, json!({"name": "no formats"})).await;
    let id = bare["id"].as_str().unwrap();
    let r = upload(&c, &admin, id, b"x").await;
    r.expect(400);
    assert_eq!(
        r.glance_message(),
        "Properties disk_format, container_format must be set prior to saving data."
    );
    patch(
        &c,
        &admin,
        id,
        json!([{"op": "add", "path": "/disk_format", "value": "raw"}]),
    )
    .await
    .expect(200);
    let r = upload(&c, &admin, id, b"x").await;
    assert_eq!(
        r.glance_message(),
        "Property container_format must be set prior to saving data."
    );
    // Only octet streams.
    let r = c
        .send(
            "PUT",
            &format!("/image/v2/images/{id}/file"),
            Some(&admin),
            Some(("application/json".into(), b"{}".to_vec())),
            &[("Accept", "application/json")],
        )
        .await;
    r.expect(415);
    assert_eq!(r.glance_message(), "Invalid content type application/json");
    // Others may not upload to a public image.
    let public = create(
        &c,
        &admin,
        json!({"visibility": "public", "disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let r = upload(&c, &demo, public["id"].as_str().unwrap(), b"x").await;
    r.expect(403);
    assert_eq!(
        r.glance_message(),
        "You are not authorized to complete upload_image action."
    );
    c.stop().await;
}

#[tokio::test]
async fn an_upload_cut_short_kills_the_image() {
    use tokio::io::AsyncWriteExt;
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let image = create(
        &c,
        &admin,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let id = image["id"].as_str().unwrap();
    let mut stream = tokio::net::TcpStream::connect(c.cloud.addr())
        .await
        .unwrap();
    let head = format!(
        "PUT /image/v2/images/{id}/file HTTP/1.1\r\nHost: localhost\r\nX-Auth-Token: {admin}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[1u8; 1000]).await.unwrap();
    stream.flush().await.unwrap();
    // Let the server start writing, then hang up.
    let mut status = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        status = show(&c, &admin, id).await.json["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "saving" {
            break;
        }
    }
    assert_eq!(status, "saving");
    drop(stream);
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        status = show(&c, &admin, id).await.json["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status != "saving" {
            break;
        }
    }
    assert_eq!(status, "killed");
    let data_dir = c.cloud.clouds_yaml().parent().unwrap().join("images");
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 0);
    c.stop().await;
}

#[tokio::test]
async fn image_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = Cloud::start_in(dir).await;
    let admin = c.token("admin").await;
    let image = create(
        &c,
        &admin,
        json!({"name": "kept", "disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let id = image["id"].as_str().unwrap().to_string();
    let data = b"bytes that outlive the server".to_vec();
    upload(&c, &admin, &id, &data).await.expect(204);
    let Cloud {
        cloud, _dir: dir, ..
    } = c;
    cloud.stop().await.unwrap();
    let c = Cloud::start_in(dir).await;
    let admin = c.token("admin").await;
    let image = show(&c, &admin, &id).await;
    image.expect(200);
    assert_eq!(image.json["status"], "active");
    assert_eq!(image.json["name"], "kept");
    let (status, _, bytes) = download(&c, &admin, &id, &[]).await;
    assert_eq!((status, bytes), (200, data));
    // Deleting removes the data too.
    c.call(
        "DELETE",
        &format!("/image/v2/images/{id}"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    let data_dir = c.cloud.clouds_yaml().parent().unwrap().join("images");
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 0);
    c.stop().await;
}

#[tokio::test]
async fn tags_deactivation_and_schemas() {
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let demo = c.token("demo").await;
    let image = create(
        &c,
        &admin,
        json!({"disk_format": "raw", "container_format": "bare", "visibility": "public"}),
    )
    .await;
    let id = image["id"].as_str().unwrap();
    c.call(
        "PUT",
        &format!("/image/v2/images/{id}/tags/web"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    assert_eq!(show(&c, &admin, id).await.json["tags"], json!(["web"]));
    c.call(
        "DELETE",
        &format!("/image/v2/images/{id}/tags/web"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    c.call(
        "DELETE",
        &format!("/image/v2/images/{id}/tags/web"),
        Some(&admin),
        None,
    )
    .await
    .expect(404);

    upload(&c, &admin, id, b"data").await.expect(204);
    c.call(
        "POST",
        &format!("/image/v2/images/{id}/actions/deactivate"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    assert_eq!(show(&c, &admin, id).await.json["status"], "deactivated");
    let (status, _, _) = download(&c, &demo, id, &[]).await;
    assert_eq!(status, 403);
    c.call(
        "POST",
        &format!("/image/v2/images/{id}/actions/reactivate"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    let (status, _, bytes) = download(&c, &demo, id, &[]).await;
    assert_eq!((status, bytes.as_slice()), (200, b"data".as_slice()));

    let r = c
        .call("GET", "/image/v2/schemas/image", Some(&demo), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["name"], "image");
    assert_eq!(r.json["additionalProperties"], json!({"type": "string"}));
    assert!(r.json["properties"]["os_hash_value"].is_object());
    let r = c
        .call("GET", "/image/v2/schemas/images", Some(&demo), None)
        .await;
    assert_eq!(r.json["properties"]["images"]["items"]["name"], "image");
    c.call("GET", "/image/v2/schemas/member", Some(&demo), None)
        .await
        .expect(200);
    c.call("GET", "/image/v2/nothing-here", Some(&demo), None)
        .await
        .expect(404);
    let r = c
        .send(
            "POST",
            &format!("/image/v2/images/{id}"),
            Some(&demo),
            None,
            &[("Accept", "application/json")],
        )
        .await;
    r.expect(405);
    assert_eq!(
        r.glance_message(),
        "The method POST is not allowed for this resource."
    );
    assert!(r.header("allow").unwrap().contains("PATCH"));
    c.stop().await;
}

#[tokio::test]
async fn an_image_deleted_during_its_upload_is_gone() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let c = Cloud::start().await;
    let admin = c.token("admin").await;
    let image = create(
        &c,
        &admin,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let id = image["id"].as_str().unwrap();
    let mut stream = tokio::net::TcpStream::connect(c.cloud.addr())
        .await
        .unwrap();
    let head = format!(
        "PUT /image/v2/images/{id}/file HTTP/1.1\r\nHost: localhost\r\nX-Auth-Token: {admin}\r\nAccept: application/json\r\nContent-Type: application/octet-stream\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[1u8; 1000]).await.unwrap();
    stream.flush().await.unwrap();
    for _ in 0..50 {
        if show(&c, &admin, id).await.json["status"] == "saving" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    c.call(
        "DELETE",
        &format!("/image/v2/images/{id}"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    stream.write_all(&[2u8; 1000]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 410"), "{answer}");
    assert!(answer.contains("could not be found after upload"));
    let data_dir = c.cloud.clouds_yaml().parent().unwrap().join("images");
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 0);
    c.stop().await;
}
