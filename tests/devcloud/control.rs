//! devcloud's control API.

use super::Cloud;
use serde_json::json;

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
