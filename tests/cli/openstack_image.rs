//! Glance images end to end on the embedded devcloud: uploads checked
//! against the file's own hashes, in-place JSON-Patch updates, drift,
//! replacement, import, a refused upload kept tainted, and the image and
//! flavor data sources.

use super::Workspace;
use super::openstack::{Outside, PROVIDER, runtime, state_attrs};
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};
use std::process::Command;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 and SHA-512 of a workspace file.
fn digests(ws: &Workspace, name: &str) -> (String, String) {
    let data = ws.read(name).expect("file");
    (hex(&Md5::digest(&data)), hex(&Sha512::digest(&data)))
}

/// A real, empty qcow2 disk of 64 MiB made by qemu-img.
fn make_qcow2(ws: &Workspace, name: &str) {
    let status = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(ws.path().join(name))
        .arg("64M")
        .status()
        .unwrap_or_else(|e| panic!("qemu-img is needed for the image tests (CI installs it): {e}"));
    assert!(status.success(), "qemu-img create failed: {status}");
}

/// `len` bytes that are no known disk format, so they inspect as raw.
fn make_raw(ws: &Workspace, name: &str, len: usize) {
    let mut state: u32 = 0x2545_f491;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    ws.file(name, "");
    std::fs::write(ws.path().join(name), data).expect("write raw file");
}

/// A PATCH as Glance wants it, behind stackform's back.
async fn patch_image(outside: &Outside, id: &str, ops: Value) -> u16 {
    outside
        .http
        .patch(format!("{}/image/v2/images/{id}", outside.cloud.url()))
        .header("X-Auth-Token", &outside.token)
        .header(
            "Content-Type",
            "application/openstack-images-v2.1-json-patch",
        )
        .body(ops.to_string())
        .send()
        .await
        .expect("patch")
        .status()
        .as_u16()
}

/// Creates an image behind stackform's back (with data when given).
async fn make_image(outside: &Outside, doc: Value, data: Option<Vec<u8>>) -> String {
    let (status, made) = outside.call("POST", "/image/v2/images", Some(doc)).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().expect("id").to_string();
    if let Some(data) = data {
        let r = outside
            .http
            .put(format!("{}/image/v2/images/{id}/file", outside.cloud.url()))
            .header("X-Auth-Token", &outside.token)
            .header("Content-Type", "application/octet-stream")
            .body(data)
            .send()
            .await
            .expect("upload");
        assert_eq!(r.status().as_u16(), 204);
    }
    id
}

async fn image_names(outside: &Outside) -> Vec<String> {
    let (_, listed) = outside
        .call("GET", "/image/v2/images?limit=1000&os_hidden=false", None)
        .await;
    listed["images"]
        .as_array()
        .expect("images")
        .iter()
        .filter_map(|i| i["name"].as_str().map(str::to_string))
        .collect()
}

const IMAGES: &str = r#"
resource "openstack_images_image_v2" "qcow" {
  name             = "stack-qcow"
  container_format = "bare"
  disk_format      = "qcow2"
  local_file_path  = "disk.qcow2"
  min_ram_mb       = 128
  tags             = ["base", "test"]
  properties = {
    os_distro = "cirros"
  }
}

resource "openstack_images_image_v2" "raw" {
  name             = "stack-raw"
  container_format = "bare"
  disk_format      = "raw"
  local_file_path  = "disk.raw"
}
"#;

#[test]
fn images_are_uploaded_verified_updated_replaced_refreshed_imported_and_destroyed() {
    let ws = Workspace::new();
    make_qcow2(&ws, "disk.qcow2");
    // More than one upload chunk, and not a multiple of it.
    make_raw(&ws, "disk.raw", 3 * 1024 * 1024 + 12345);
    ws.file("main.tf", &format!("{PROVIDER}{IMAGES}"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("+ resource \"openstack_images_image_v2\" \"qcow\"")
        .stdout_has("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");

    let qcow = state_attrs(&ws, "openstack_images_image_v2.qcow");
    let (md5, sha512) = digests(&ws, "disk.qcow2");
    assert_eq!(qcow["checksum"], md5.as_str());
    assert_eq!(qcow["os_hash_algo"], "sha512");
    assert_eq!(qcow["os_hash_value"], sha512.as_str());
    assert_eq!(qcow["status"], "active");
    assert_eq!(qcow["virtual_size"], 64 * 1024 * 1024);
    assert_eq!(
        qcow["size_bytes"],
        ws.read("disk.qcow2").expect("qcow2").len()
    );
    assert_eq!(qcow["visibility"], "private");
    assert_eq!(qcow["min_ram_mb"], 128);
    assert_eq!(qcow["properties"], json!({"os_distro": "cirros"}));
    assert_eq!(qcow["tags"], json!(["base", "test"]));
    let qcow_id = qcow["id"].as_str().expect("id").to_string();
    let raw = state_attrs(&ws, "openstack_images_image_v2.raw");
    let (md5, sha512) = digests(&ws, "disk.raw");
    assert_eq!(raw["checksum"], md5.as_str());
    assert_eq!(raw["os_hash_value"], sha512.as_str());
    assert_eq!(raw["size_bytes"], 3 * 1024 * 1024 + 12345);
    let raw_id = raw["id"].as_str().expect("id").to_string();

    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Name, tags, properties and min_ram change in place.
    let updated = IMAGES
        .replace("\"stack-qcow\"", "\"stack-qcow-2\"")
        .replace("[\"base\", \"test\"]", "[\"base\", \"v2\"]")
        .replace("min_ram_mb       = 128", "min_ram_mb       = 256")
        .replace(
            "    os_distro = \"cirros\"\n",
            "    os_distro   = \"cirros-0.6\"\n    hw_disk_bus = \"virtio\"\n",
        );
    ws.file("main.tf", &format!("{PROVIDER}{updated}"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("~ resource \"openstack_images_image_v2\" \"qcow\"")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let qcow = state_attrs(&ws, "openstack_images_image_v2.qcow");
    assert_eq!(qcow["id"], qcow_id.as_str(), "updated in place");
    assert_eq!(qcow["name"], "stack-qcow-2");
    assert_eq!(qcow["tags"], json!(["base", "v2"]));
    assert_eq!(qcow["min_ram_mb"], 256);
    assert_eq!(
        qcow["properties"],
        json!({"hw_disk_bus": "virtio", "os_distro": "cirros-0.6"})
    );
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Behind stackform's back: a property is changed, and an image with
    // the raw file's data is made by hand, to be imported.
    let rt = runtime();
    let raw_data = ws.read("disk.raw").expect("raw");
    let imported_id = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let status = patch_image(
            &outside,
            &qcow_id,
            json!([{"op": "replace", "path": "/os_distro", "value": "ubuntu"}]),
        )
        .await;
        assert_eq!(status, 200);
        let id = make_image(
            &outside,
            json!({"name": "by-hand", "container_format": "bare", "disk_format": "raw", "visibility": "private"}),
            Some(raw_data),
        )
        .await;
        outside.stop().await;
        id
    });
    ws.run(&["plan"])
        .ok()
        .stdout_has("Objects have changed outside of stackform")
        .stdout_has("# openstack_images_image_v2.qcow has changed")
        .stdout_has("~ resource \"openstack_images_image_v2\" \"qcow\"")
        .stdout_has("\"ubuntu\" -> \"cirros-0.6\"");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (_, doc) = outside
            .call("GET", &format!("/image/v2/images/{qcow_id}"), None)
            .await;
        assert_eq!(doc["os_distro"], "cirros-0.6");
        outside.stop().await;
    });

    // A new disk format replaces the image.
    let replaced = updated.replace("disk_format      = \"raw\"", "disk_format      = \"ploop\"");
    ws.file("main.tf", &format!("{PROVIDER}{replaced}"));
    ws.run(&["plan"])
        .ok()
        .stdout_has("-/+ resource \"openstack_images_image_v2\" \"raw\"")
        .stdout_has("# forces replacement");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let raw = state_attrs(&ws, "openstack_images_image_v2.raw");
    assert_ne!(raw["id"], raw_id.as_str(), "replaced");
    assert_eq!(raw["disk_format"], "ploop");

    // The image made by hand is imported; the configuration's file (the
    // same data) is adopted rather than replacing it.
    let by_hand = "\nresource \"openstack_images_image_v2\" \"by_hand\" {\n  name             = \"by-hand\"\n  container_format = \"bare\"\n  disk_format      = \"raw\"\n  local_file_path  = \"disk.raw\"\n}\n";
    ws.file("main.tf", &format!("{PROVIDER}{replaced}{by_hand}"));
    ws.run(&["import", "openstack_images_image_v2.by_hand", &imported_id])
        .ok()
        .stdout_has("Import successful!");
    let imported = state_attrs(&ws, "openstack_images_image_v2.by_hand");
    assert_eq!(imported["name"], "by-hand");
    assert_eq!(
        imported["os_hash_value"],
        digests(&ws, "disk.raw").1.as_str()
    );
    ws.run(&["plan"])
        .ok()
        .stdout_lacks("forces replacement")
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // A file whose size no longer matches the uploaded data replaces the
    // images made from it (the qcow2 one stays).
    make_raw(&ws, "disk.raw", 1024 * 1024);
    ws.run(&["plan"])
        .ok()
        .stdout_has("-/+ resource \"openstack_images_image_v2\" \"by_hand\"")
        .stdout_has("-/+ resource \"openstack_images_image_v2\" \"raw\"")
        .stdout_has("Plan: 2 to add, 0 to change, 2 to destroy.");

    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 3 destroyed.");
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let names = image_names(&outside).await;
        assert!(names.is_empty(), "{names:?}");
        outside.stop().await;
    });
}

#[test]
fn an_upload_glance_refuses_leaves_the_image_tainted_and_the_next_plan_replaces_it() {
    let ws = Workspace::new();
    make_raw(&ws, "not-qcow2.img", 200_000);
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"openstack_images_image_v2\" \"bad\" {{\n  name             = \"bad\"\n  container_format = \"bare\"\n  disk_format      = \"qcow2\"\n  local_file_path  = \"not-qcow2.img\"\n}}\n"
        ),
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("Cannot upload the image's data")
        .stderr_has("415")
        .stderr_has("Glance inspects uploaded data and refused it: not-qcow2.img does not hold a qcow2 image.");
    let state: Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("json");
    let recorded = state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == "openstack_images_image_v2.bad")
        .cloned()
        .expect("the image is recorded");
    assert_eq!(recorded["status"], "tainted", "{recorded}");
    // Glance put it back to queued, without data.
    assert_eq!(recorded["attributes"]["status"], "queued");
    let id = recorded["attributes"]["id"]
        .as_str()
        .expect("id")
        .to_string();

    ws.run(&["plan"])
        .ok()
        .stdout_has("is tainted, so must be replaced")
        .stdout_has("Plan: 1 to add, 0 to change, 1 to destroy.");

    // A real qcow2 file at the same path: the replacement succeeds.
    make_qcow2(&ws, "not-qcow2.img");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let now = state_attrs(&ws, "openstack_images_image_v2.bad");
    assert_ne!(now["id"], id.as_str());
    assert_eq!(now["status"], "active");

    // A protected image cannot be destroyed, and the error says what to do.
    let main = String::from_utf8(ws.read("main.tf").expect("main.tf")).expect("utf-8");
    ws.file(
        "main.tf",
        &main.replace(
            "disk_format      = \"qcow2\"\n",
            "disk_format      = \"qcow2\"\n  protected        = true\n",
        ),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    ws.run(&["destroy", "-auto-approve"])
        .code(1)
        .stderr_has("is protected: set protected = false and apply before destroying it");
    ws.file("main.tf", &main);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    ws.run(&["destroy", "-auto-approve"]).ok();
    let rt = runtime();
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let names = image_names(&outside).await;
        assert!(names.is_empty(), "{names:?}");
        outside.stop().await;
    });
}

#[test]
fn image_and_flavor_data_sources_select_one_object_or_say_why_not() {
    let ws = Workspace::new();
    let rt = runtime();
    let (cirros, older_twin, newer_twin, flavor_id) = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let cirros = make_image(
            &outside,
            json!({"name": "ds-cirros", "container_format": "bare", "disk_format": "raw",
                   "visibility": "public", "min_disk": 2, "tags": ["x", "y"], "os_distro": "cirros"}),
            Some(vec![7u8; 4096]),
        )
        .await;
        let twin = json!({"name": "ds-twin", "container_format": "bare", "disk_format": "raw", "visibility": "public"});
        let older = make_image(&outside, twin.clone(), None).await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let newer = make_image(&outside, twin, None).await;
        let (status, made) = outside
            .call(
                "POST",
                "/compute/v2.1/flavors",
                Some(json!({"flavor": {"name": "ds.flavor", "ram": 1024, "vcpus": 2, "disk": 10}})),
            )
            .await;
        assert_eq!(status, 200);
        let flavor_id = made["flavor"]["id"].as_str().expect("id").to_string();
        let (status, _) = outside
            .call(
                "POST",
                &format!("/compute/v2.1/flavors/{flavor_id}/os-extra_specs"),
                Some(json!({"extra_specs": {"hw:cpu_policy": "dedicated"}})),
            )
            .await;
        assert_eq!(status, 200);
        outside.stop().await;
        (cirros, older, newer, flavor_id)
    });

    let config = format!(
        r#"{PROVIDER}
data "openstack_images_image_v2" "cirros" {{
  name       = "ds-cirros"
  visibility = "public"
}}

data "openstack_images_image_v2" "tagged" {{
  tags       = ["x"]
  properties = {{ os_distro = "cirros" }}
}}

data "openstack_images_image_v2" "twin" {{
  name_regex  = "^ds-tw"
  most_recent = true
}}

data "openstack_compute_flavor_v2" "small" {{
  vcpus   = 1
  min_ram = 2048
}}

data "openstack_compute_flavor_v2" "mine" {{
  flavor_id = "{flavor_id}"
}}

data "openstack_compute_flavor_v2" "by_name" {{
  name = "ds.flavor"
}}

resource "openstack_images_image_v2" "derived" {{
  name             = "derived"
  container_format = "bare"
  disk_format      = "raw"
  min_disk_gb      = data.openstack_images_image_v2.cirros.min_disk_gb
  properties = {{
    base_image = data.openstack_images_image_v2.cirros.id
    base_sha   = data.openstack_images_image_v2.cirros.os_hash_value
  }}
}}

resource "terraform_data" "seen" {{
  input = {{
    tagged      = data.openstack_images_image_v2.tagged.id
    twin        = data.openstack_images_image_v2.twin.id
    small       = data.openstack_compute_flavor_v2.small.name
    mine        = data.openstack_compute_flavor_v2.mine.name
    mine_specs  = data.openstack_compute_flavor_v2.mine.extra_specs
    by_name     = data.openstack_compute_flavor_v2.by_name.id
    by_name_ram = data.openstack_compute_flavor_v2.by_name.ram
  }}
}}
"#
    );
    ws.file("main.tf", &config);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    let derived = state_attrs(&ws, "openstack_images_image_v2.derived");
    assert_eq!(derived["properties"]["base_image"], cirros.as_str());
    assert_eq!(
        derived["properties"]["base_sha"],
        hex(&Sha512::digest([7u8; 4096]))
    );
    assert_eq!(derived["min_disk_gb"], 2);
    let seen = state_attrs(&ws, "terraform_data.seen")["output"]["value"].clone();
    assert_eq!(seen["tagged"], cirros.as_str());
    assert_eq!(seen["twin"], newer_twin.as_str());
    assert_ne!(seen["twin"], older_twin.as_str());
    assert_eq!(seen["small"], "m1.small");
    assert_eq!(seen["mine"], "ds.flavor");
    assert_eq!(seen["mine_specs"], json!({"hw:cpu_policy": "dedicated"}));
    assert_eq!(seen["by_name"], flavor_id.as_str());
    assert_eq!(seen["by_name_ram"], 1024);
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // No match, and several without most_recent, are errors naming the
    // filters.
    ws.file(
        "errors.tf",
        "data \"openstack_images_image_v2\" \"none\" {\n  name       = \"cirros\"\n  visibility = \"public\"\n}\n",
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("No image matches name = \"cirros\", visibility = \"public\".");
    ws.file(
        "errors.tf",
        "data \"openstack_images_image_v2\" \"two\" {\n  name = \"ds-twin\"\n}\n",
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("2 images match name = \"ds-twin\"; set most_recent = true or add filters.");
    ws.file(
        "errors.tf",
        "data \"openstack_compute_flavor_v2\" \"many\" {\n  vcpus = 1\n}\n",
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("4 flavors match vcpus = 1; add filters or use flavor_id.");
    ws.file(
        "errors.tf",
        "data \"openstack_compute_flavor_v2\" \"gone\" {\n  flavor_id = \"no-such-flavor\"\n}\n",
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("No flavor matches flavor_id = \"no-such-flavor\".");
    ws.remove("errors.tf");

    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 2 destroyed.");
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let names = image_names(&outside).await;
        assert!(!names.contains(&"derived".to_string()), "{names:?}");
        outside.stop().await;
    });
}
