//! devcloud's control API.

use super::Cloud;
use serde_json::json;
use stackform::devcloud::{DevCloud, Options};

#[tokio::test]
async fn fault_rules_answer_with_their_status_for_their_count() {
    let c = Cloud::start().await;
    let token = c.token("admin").await;
    let r = c
        .call("POST", "/devcloud/faults", None, Some(json!({"method": "GET", "path": "/identity/v3/auth/projects", "status": 503, "retry_after": 2, "count": 2})))
        .await;
    r.expect(201);
    for _ in 0..2 {
        let r = c
            .call("GET", "/identity/v3/auth/projects", Some(&token), None)
            .await;
        r.expect(503);
        assert_eq!(r.header("retry-after"), Some("2"));
    }
    c.call("GET", "/identity/v3/auth/projects", Some(&token), None)
        .await
        .expect(200);
    assert_eq!(
        c.call("GET", "/devcloud/faults", None, None).await.json["faults"],
        json!([])
    );
    c.stop().await;
}

#[tokio::test]
async fn requests_are_counted_by_route() {
    let c = Cloud::start().await;
    c.call("DELETE", "/devcloud/requests", None, None)
        .await
        .expect(204);
    let token = c.token("admin").await;
    c.call("GET", "/identity/v3/auth/projects", Some(&token), None)
        .await
        .expect(200);
    let r = c.call("GET", "/devcloud/requests", None, None).await;
    assert_eq!(r.json["requests"]["POST /identity/v3/auth/tokens"], 1);
    assert_eq!(r.json["requests"]["GET /identity/v3/auth/projects"], 1);
    // Only the cloud's API calls count, not the control API's.
    assert_eq!(r.json["total"], 2, "{}", r.text);
    c.stop().await;
}

#[tokio::test]
async fn settings_change_and_refuse_nonsense() {
    let c = Cloud::start().await;
    let r = c
        .call(
            "PUT",
            "/devcloud/settings",
            None,
            Some(json!({"build_time": 0.5, "latency_ms": 3})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["build_time"], 0.5);
    assert_eq!(r.json["latency_ms"], 3);
    c.call(
        "PUT",
        "/devcloud/settings",
        None,
        Some(json!({"build_time": -1})),
    )
    .await
    .expect(400);
    c.call(
        "PUT",
        "/devcloud/settings",
        None,
        Some(json!({"colour": "blue"})),
    )
    .await
    .expect(400);
    c.call(
        "POST",
        "/devcloud/faults",
        None,
        Some(json!({"path": "*", "status": 42})),
    )
    .await
    .expect(400);
    c.stop().await;
}

#[tokio::test]
async fn fault_probability_wildcards_messages_and_latency() {
    let c = Cloud::start().await;
    let token = c.token("admin").await;
    // Probability 0 never fires; 1 always does, for any method, with its
    // message, in the service's own error shape.
    let never = c
        .call(
            "POST",
            "/devcloud/faults",
            None,
            Some(json!({"path": "/compute/*", "status": 500, "probability": 0.0})),
        )
        .await;
    never.expect(201);
    for _ in 0..20 {
        c.call("GET", "/compute/v2.1/flavors", Some(&token), None)
            .await
            .expect(200);
    }
    c.call("DELETE", "/devcloud/faults", None, None)
        .await
        .expect(204);
    c.call(
        "POST",
        "/devcloud/faults",
        None,
        Some(json!({"path": "/network/v2.0/*", "status": 409, "probability": 1.0, "message": "busy"})),
    )
    .await
    .expect(201);
    for _ in 0..5 {
        let r = c
            .call("GET", "/network/v2.0/networks", Some(&token), None)
            .await;
        r.expect(409);
        assert_eq!(r.json["NeutronError"]["message"], "busy", "{}", r.text);
    }
    c.call("GET", "/compute/v2.1/flavors", Some(&token), None)
        .await
        .expect(200);
    c.call(
        "POST",
        "/devcloud/faults",
        None,
        Some(json!({"path": "*", "status": 500, "probability": 1.5})),
    )
    .await
    .expect(400);
    c.call("DELETE", "/devcloud/faults", None, None)
        .await
        .expect(204);

    // Added latency delays API calls (at least that long), not the
    // control API.
    c.call(
        "PUT",
        "/devcloud/settings",
        None,
        Some(json!({"latency_ms": 150})),
    )
    .await
    .expect(200);
    let started = std::time::Instant::now();
    c.call("GET", "/compute/v2.1/flavors", Some(&token), None)
        .await
        .expect(200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    c.stop().await;
}

#[tokio::test]
async fn fault_and_server_error_rules_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let http = reqwest::Client::new();
    let start = || DevCloud::start(Options::ephemeral(dir.path()));
    let cloud = start().await.expect("devcloud starts");
    let post = |url: String, body: serde_json::Value| http.post(url).json(&body).send();
    let r = post(
        format!("{}/devcloud/faults", cloud.url()),
        json!({"method": "GET", "path": "/compute/v2.1/servers*", "status": 503, "count": 2}),
    )
    .await
    .expect("request");
    assert_eq!(r.status(), 201);
    let r = post(
        format!("{}/devcloud/server-errors", cloud.url()),
        json!({"name": "broken*", "message": "No valid host was found."}),
    )
    .await
    .expect("request");
    assert_eq!(r.status(), 201);
    // One of the two faults is used up before the restart.
    let r = http
        .get(format!("{}/compute/v2.1/servers", cloud.url()))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 503);
    cloud.stop().await.expect("devcloud stops");

    let cloud = start().await.expect("devcloud restarts");
    let get = |path: &str| {
        let url = format!("{}{path}", cloud.url());
        let http = http.clone();
        async move {
            let r = http.get(url).send().await.expect("request");
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let (_, faults) = get("/devcloud/faults").await;
    assert_eq!(faults["faults"][0]["count"], 1, "{faults}");
    let (_, errors) = get("/devcloud/server-errors").await;
    assert_eq!(
        errors["server_errors"][0]["message"], "No valid host was found.",
        "{errors}"
    );
    assert_eq!(get("/compute/v2.1/servers").await.0, 503);
    // Used up: the next one reaches Nova (which wants a token).
    assert_eq!(get("/compute/v2.1/servers").await.0, 401);
    cloud.stop().await.expect("devcloud stops");
}

/// The costs of Keystone's real work: a password check on every token
/// issued, and a token's validation on its first request to each
/// service. Only lower bounds are checked (a slow machine only adds).
#[tokio::test]
async fn authentication_and_first_use_of_a_token_cost_what_they_are_set_to() {
    let c = Cloud::start().await;
    let r = c
        .call(
            "PUT",
            "/devcloud/settings",
            None,
            Some(json!({"auth_ms": 300, "token_first_use_ms": 200})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["auth_ms"], 300);
    assert_eq!(r.json["token_first_use_ms"], 200);
    let started = std::time::Instant::now();
    let token = c.token("admin").await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    for path in ["/compute/v2.1/flavors", "/image/v2/images"] {
        let started = std::time::Instant::now();
        c.call("GET", path, Some(&token), None).await.expect(200);
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(200),
            "{path}: the first use of the token is validated"
        );
    }
    c.call(
        "PUT",
        "/devcloud/settings",
        None,
        Some(json!({"auth_ms": -1})),
    )
    .await
    .expect(400);
    c.stop().await;
}

#[tokio::test]
async fn a_held_response_waits_after_its_work_is_committed_until_released() {
    let c = Cloud::start().await;
    let token = c.token("admin").await;
    let r = c
        .call(
            "POST",
            "/devcloud/holds",
            None,
            Some(json!({"method": "POST", "path": "/network/v2.0/networks"})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["hold"]["count"], 1);
    let url = c.url("/network/v2.0/networks");
    let create = {
        let token = token.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("x-auth-token", token)
                .json(&json!({"network": {"name": "held"}}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    // The network exists while its creator still waits for the answer.
    let mut held = 0;
    for _ in 0..200 {
        let r = c.call("GET", "/devcloud/holds", None, None).await;
        held = r.json["holds"][0]["held"].as_u64().unwrap_or(0);
        if held == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(held, 1);
    assert!(!create.is_finished());
    let listed = c
        .call(
            "GET",
            "/network/v2.0/networks?name=held",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(listed.json["networks"].as_array().map(Vec::len), Some(1));
    // A second create is not held: the rule's count is used up.
    c.call(
        "POST",
        "/network/v2.0/networks",
        Some(&token),
        Some(json!({"network": {"name": "not-held"}})),
    )
    .await
    .expect(201);
    c.call("DELETE", "/devcloud/holds", None, None)
        .await
        .expect(204);
    assert_eq!(create.await.unwrap().unwrap(), 201);
    assert_eq!(
        c.call("GET", "/devcloud/holds", None, None).await.json["holds"],
        json!([])
    );
    for (count, message) in [
        (
            0u64,
            "count must be a whole number of requests from 1 to 1000000, not 0",
        ),
        (
            u64::MAX,
            "count must be a whole number of requests from 1 to 1000000, not 18446744073709551615",
        ),
    ] {
        let r = c
            .call(
                "POST",
                "/devcloud/holds",
                None,
                Some(json!({"path": "/x", "count": count})),
            )
            .await;
        r.expect(400);
        assert!(r.text.contains(message), "{}", r.text);
    }
    c.stop().await;
}

/// Every number the control API takes is range-checked: the message
/// names the field, what it accepts and the value given, and nothing
/// changes.
#[tokio::test]
async fn settings_and_fault_rules_out_of_range_are_refused_by_name() {
    let c = Cloud::start().await;
    let refused = |body: serde_json::Value, path: &'static str, method: &'static str| {
        let c = &c;
        async move {
            let r = c.call(method, path, None, Some(body)).await;
            r.expect(400);
            r.json["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let settings = |body| refused(body, "/devcloud/settings", "PUT");
    assert_eq!(
        settings(json!({"token_ttl": 18446744073709551615u64})).await,
        "token_ttl must be a number of seconds from 1 to 2592000, not 18446744073709551615"
    );
    assert_eq!(
        settings(json!({"token_ttl": 0})).await,
        "token_ttl must be a number of seconds from 1 to 2592000, not 0"
    );
    assert_eq!(
        settings(json!({"build_time": 1e300})).await,
        "build_time must be a number of seconds from 0 to 3600, not 1e+300"
    );
    assert_eq!(
        settings(json!({"delete_time": "soon"})).await,
        "delete_time must be a number of seconds from 0 to 3600, not \"soon\""
    );
    for field in ["latency_ms", "auth_ms", "token_first_use_ms"] {
        assert_eq!(
            settings(json!({field: 60001})).await,
            format!("{field} must be a whole number of milliseconds from 0 to 60000, not 60001")
        );
    }
    assert_eq!(
        settings(json!({"latency_ms": -1})).await,
        "latency_ms must be a whole number of milliseconds from 0 to 60000, not -1"
    );
    let r = c.call("GET", "/devcloud/settings", None, None).await;
    assert_eq!(r.json["token_ttl"], 3600, "nothing changed: {}", r.text);
    assert_eq!(r.json["latency_ms"], 0);

    let fault = |extra: serde_json::Value| {
        let mut rule = json!({"path": "/compute/*", "status": 503});
        if let (Some(rule), Some(extra)) = (rule.as_object_mut(), extra.as_object()) {
            rule.extend(extra.clone());
        }
        refused(rule, "/devcloud/faults", "POST")
    };
    assert_eq!(
        fault(json!({"status": 200})).await,
        "status must be an HTTP error status from 400 to 599, not 200"
    );
    assert_eq!(
        fault(json!({"status": 70000})).await,
        "status must be an HTTP error status from 400 to 599, not 70000"
    );
    assert_eq!(
        fault(json!({"count": 0})).await,
        "count must be a whole number of requests from 1 to 1000000, not 0"
    );
    assert_eq!(
        fault(json!({"count": -3})).await,
        "count must be a whole number of requests from 1 to 1000000, not -3"
    );
    assert_eq!(
        fault(json!({"retry_after": 18446744073709551615u64})).await,
        "retry_after must be a whole number of seconds from 0 to 3600, not 18446744073709551615"
    );
    assert_eq!(
        fault(json!({"probability": 2})).await,
        "probability must be a number from 0 to 1, not 2"
    );
    let r = c.call("GET", "/devcloud/faults", None, None).await;
    assert_eq!(r.json["faults"], json!([]), "no rule was added");
    c.stop().await;
}
