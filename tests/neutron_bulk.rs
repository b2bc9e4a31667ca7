//! The Neutron resource types' refresh against an in-process devcloud:
//! many networks and subnets are read with one list call, and lists that
//! the cloud pages are followed to the end.

use serde_json::{Value as Json, json};
use stackform::devcloud::{DevCloud, Options};
use stackform::provider::ResourceType;
use stackform::provider::openstack::network::Network;
use stackform::provider::openstack::neutron;
use stackform::provider::openstack::provider::Session;
use stackform::provider::openstack::subnet::Subnet;
use stackform::provider::openstack::{Environment, Service};
use std::sync::Arc;

struct Fixture {
    cloud: DevCloud,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let cloud = DevCloud::start(Options::ephemeral(dir.path()))
            .await
            .expect("devcloud starts");
        Fixture {
            cloud,
            http: reqwest::Client::new(),
            dir,
        }
    }

    fn session(&self) -> Arc<Session> {
        let env = Environment::new(
            [
                ("OS_AUTH_URL", self.cloud.auth_url()),
                ("OS_USERNAME", "admin".into()),
                ("OS_PASSWORD", self.cloud.password("admin").expect("admin")),
                ("OS_PROJECT_NAME", "admin".into()),
                ("OS_USER_DOMAIN_NAME", "Default".into()),
                ("OS_PROJECT_DOMAIN_ID", "default".into()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
            self.dir.path(),
            None,
        );
        Arc::new(Session::new(env, None))
    }

    async fn requests(&self) -> Json {
        let r = self
            .http
            .get(format!("{}/devcloud/requests", self.cloud.url()))
            .send()
            .await
            .expect("control API");
        r.json().await.expect("json")
    }

    async fn reset_requests(&self) {
        self.http
            .delete(format!("{}/devcloud/requests", self.cloud.url()))
            .send()
            .await
            .expect("control API");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn networks_and_subnets_are_refreshed_with_one_list_call_each() {
    runtime().block_on(async {
        let f = Fixture::start().await;
        let session = f.session();
        let client = session.client().await.expect("client");
        let network_type = Network::new(session.clone());
        let subnet_type = Subnet::new(session.clone());
        let mut networks = Vec::new();
        let mut subnets = Vec::new();
        for i in 0..3 {
            let made: Json = client
                .post_json(
                    Service::Network,
                    "/networks",
                    &json!({"network": {"name": format!("bulk-{i}")}}),
                )
                .await
                .expect("network");
            let id = made["network"]["id"].as_str().expect("id").to_string();
            let sub: Json = client
                .post_json(
                    Service::Network,
                    "/subnets",
                    &json!({"subnet": {"network_id": id, "ip_version": 4, "cidr": format!("10.40.{i}.0/24")}}),
                )
                .await
                .expect("subnet");
            let sub_id = sub["subnet"]["id"].as_str().expect("id").to_string();
            networks.push(network_type.import(&id).await.expect("read").expect("found"));
            subnets.push(subnet_type.import(&sub_id).await.expect("read").expect("found"));
        }
        let gone = networks[1].get_attr("id").and_then(|v| v.as_str()).expect("id").to_string();
        client
            .delete(Service::Network, &format!("/networks/{gone}"))
            .await
            .expect("deleted by hand");

        f.reset_requests().await;
        let read = network_type.read_all(&networks).await.expect("refresh");
        let found: Vec<bool> = read.iter().map(Option::is_some).collect();
        assert_eq!(found, [true, false, true]);
        assert_eq!(
            read[0].as_ref().and_then(|v| v.get_attr("name")).and_then(|v| v.as_str()),
            Some("bulk-0")
        );
        let read = subnet_type.read_all(&subnets).await.expect("refresh");
        let found: Vec<bool> = read.iter().map(Option::is_some).collect();
        // Deleting the network deleted its subnet.
        assert_eq!(found, [true, false, true]);
        let counts = f.requests().await;
        assert_eq!(counts["requests"]["GET /network/v2.0/networks"], 1, "{counts}");
        assert_eq!(counts["requests"]["GET /network/v2.0/subnets"], 1, "{counts}");
        assert_eq!(counts["total"], 2, "{counts}");
        f.cloud.stop().await.expect("stops");
    });
}

#[test]
fn lists_the_cloud_pages_are_followed_to_the_end() {
    runtime().block_on(async {
        let f = Fixture::start().await;
        let session = f.session();
        let client = session.client().await.expect("client");
        for i in 0..5 {
            client
                .post_json::<Json>(
                    Service::Network,
                    "/networks",
                    &json!({"network": {"name": format!("paged-{i}")}}),
                )
                .await
                .expect("network");
        }
        let ids = |items: Vec<Json>| -> Vec<String> {
            items
                .iter()
                .filter_map(|n| n["id"].as_str().map(str::to_string))
                .collect()
        };
        let mut whole = ids(neutron::list(&client, "networks", "").await.expect("list"));
        f.reset_requests().await;
        let mut paged = ids(neutron::list(&client, "networks", "limit=2")
            .await
            .expect("list"));
        let counts = f.requests().await;
        assert!(
            counts["requests"]["GET /network/v2.0/networks"].as_u64() >= Some(3),
            "{counts}"
        );
        whole.sort();
        paged.sort();
        assert!(whole.len() >= 5);
        assert_eq!(paged, whole);
        f.cloud.stop().await.expect("stops");
    });
}
