//! The Kafka topics Redpanda must hold (it does not auto-create them): `k8s-dapr/topics.txt`
//! lists exactly the topics the services publish and subscribe to, dead-letter topics included.

use std::collections::BTreeSet;

use common::events::topics;

#[test]
fn topics_txt_lists_every_topic_the_services_use() {
    let listed: BTreeSet<String> = include_str!("../../../../k8s-dapr/topics.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let subscriptions = audit::subscriptions::subscriptions(None)
        .into_iter()
        .chain(recurring::subscriptions::subscriptions())
        .chain(notification::subscriptions::subscriptions())
        .chain(websocket::subscriptions(None));
    let mut used: BTreeSet<String> = topics::TASK_TOPICS
        .iter()
        .chain([&topics::REMINDER_DUE, &topics::USER_DELETED])
        .map(|t| (*t).to_owned())
        .collect();
    for subscription in subscriptions {
        // Both pub/sub components are the same Redpanda.
        used.insert(subscription.topic);
        used.extend(subscription.dead_letter_topic);
    }
    assert_eq!(listed, used, "k8s-dapr/topics.txt");
}
