//! Cron input bindings (docs/dapr-behaviour.md §6).

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

fn cron_binding(schedule: &str, scope: &str) -> String {
    format!(
        r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: reminder-cron
spec:
  type: bindings.cron
  version: v1
  metadata:
    - name: schedule
      value: "{schedule}"
    - name: direction
      value: input
    - name: route
      value: /internal/tick
scopes:
  - {scope}
"#
    )
}

#[tokio::test]
async fn a_cron_binding_posts_an_empty_json_body_to_its_route_every_tick() {
    let test_app = TestApp::start(json!([]), reply(200, "")).await;
    let sidecar = start_sidecar(
        &cron_binding("@every 1s", "notification"),
        vec![app("notification", test_app.port)],
    )
    .await;
    let ticks = eventually(Duration::from_secs(5), "two ticks", || async {
        let ticks = test_app.received_at("/internal/tick");
        (ticks.len() >= 2).then_some(ticks)
    })
    .await;
    for tick in &ticks {
        assert_eq!(tick.method, "POST");
        assert!(tick.body.is_empty());
        assert_eq!(
            tick.header("content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(tick.header("timezone").as_deref(), Some("Local"));
        assert!(tick.header("readtimeutc").unwrap().ends_with("+0000 UTC"));
    }
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_cron_binding_scoped_to_another_app_does_not_fire_at_this_app() {
    let notification = TestApp::start(json!([]), reply(200, "")).await;
    let audit = TestApp::start(json!([]), reply(200, "")).await;
    let sidecar = start_sidecar(
        &cron_binding("@every 1s", "notification"),
        vec![
            app("notification", notification.port),
            app("audit", audit.port),
        ],
    )
    .await;
    eventually(
        Duration::from_secs(5),
        "two ticks at the scoped app",
        || async { (notification.received_at("/internal/tick").len() >= 2).then_some(()) },
    )
    .await;
    assert!(audit.received_at("/internal/tick").is_empty());
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_binding_without_input_direction_is_skipped_when_the_options_probe_is_404() {
    let yaml = cron_binding("@every 1s", "notification").replace("value: input", "value: output");
    let test_app = TestApp::start(
        json!([]),
        std::sync::Arc::new(|r: &Recorded, _| {
            if r.method == "OPTIONS" {
                (404, String::new())
            } else {
                (200, String::new())
            }
        }),
    )
    .await;
    let sidecar = start_sidecar(&yaml, vec![app("notification", test_app.port)]).await;
    eventually(Duration::from_secs(5), "the OPTIONS probe", || async {
        test_app
            .recorded()
            .iter()
            .any(|r| r.method == "OPTIONS")
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        test_app
            .received_at("/internal/tick")
            .iter()
            .all(|r| r.method == "OPTIONS")
    );
    sidecar.shutdown().await;
}
