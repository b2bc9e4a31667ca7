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
