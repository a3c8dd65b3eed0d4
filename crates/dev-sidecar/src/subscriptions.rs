//! Subscription discovery (`GET /dapr/subscribe`, docs/dapr-behaviour.md §2.1), declarative
//! `Subscription` resources (2.2) and route selection for one event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::broker::StoredMessage;

/// The exact shape of Dapr's `SubscriptionJSON`; field names are case-sensitive.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SubscriptionJson {
    pub pubsubname: String,
    pub topic: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<RoutesJson>,
    #[serde(
        default,
        rename = "deadLetterTopic",
        skip_serializing_if = "Option::is_none"
    )]
    pub dead_letter_topic: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(
        default,
        rename = "bulkSubscribe",
        skip_serializing_if = "Option::is_none"
    )]
    pub bulk_subscribe: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
pub struct RoutesJson {
    #[serde(default)]
    pub rules: Vec<RuleJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct RuleJson {
    #[serde(default, rename = "match")]
    pub match_expr: String,
    pub path: String,
}

impl SubscriptionJson {
    /// Rules in order, then the default; `routes.default` wins over the v1 `route`.
    pub fn effective_rules(&self) -> Vec<RuleJson> {
        let mut rules = self
            .routes
            .as_ref()
            .map(|r| r.rules.clone())
            .unwrap_or_default();
        let default = self
            .routes
            .as_ref()
            .and_then(|r| r.default.clone())
            .filter(|d| !d.is_empty())
            .or_else(|| self.route.clone().filter(|r| !r.is_empty()));
        if let Some(path) = default {
            rules.push(RuleJson {
                match_expr: String::new(),
                path,
            });
        }
        rules
    }

    /// Dapr removes a subscription that has nowhere to deliver.
    pub fn has_route(&self) -> bool {
        !self.effective_rules().is_empty()
    }

    pub fn raw_payload(&self) -> bool {
        self.metadata
            .get("rawPayload")
            .is_some_and(|v| crate::envelope::parse_go_bool(v) == Some(true))
    }

    /// The path to POST `message` to, with the leading `/` Dapr adds; `None` means no rule
    /// matched and there is no default, which Dapr treats as "acknowledge and skip". The
    /// envelope is parsed only when a rule with a match expression comes before the first that
    /// matches everything.
    pub fn route_for_message(&self, message: &StoredMessage) -> Option<String> {
        let mut event = None;
        self.effective_rules()
            .into_iter()
            .find(|rule| {
                rule.match_expr.trim().is_empty()
                    || rule_matches(
                        &rule.match_expr,
                        event.get_or_insert_with(|| message.envelope()),
                    )
            })
            .map(|rule| normalize_path(&rule.path))
    }
}

pub fn normalize_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// A tiny subset of CEL: empty (always true) or `event.a.b == "literal"`. Anything else is
/// reported and treated as non-matching so a typo does not silently swallow every event.
fn rule_matches(expr: &str, event: &Value) -> bool {
    let expr = expr.trim();
    if expr.is_empty() {
        return true;
    }
    let Some((lhs, rhs)) = expr.split_once("==") else {
        tracing::warn!(%expr, "unsupported routing rule; treated as non-matching");
        return false;
    };
    let (lhs, rhs) = (lhs.trim(), rhs.trim());
    let literal = rhs
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| rhs.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')));
    let (Some(path), Some(literal)) = (lhs.strip_prefix("event."), literal) else {
        tracing::warn!(%expr, "unsupported routing rule; treated as non-matching");
        return false;
    };
    let mut current = event;
    for segment in path.split('.') {
        match current.get(segment) {
            Some(next) => current = next,
            None => return false,
        }
    }
    current.as_str() == Some(literal)
}

/// Parses a `/dapr/subscribe` body; an empty body means no subscriptions.
pub fn parse_programmatic(body: &[u8]) -> Result<Vec<SubscriptionJson>, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    serde_json::from_slice(body)
}

#[derive(Deserialize)]
struct DeclarativeSpec {
    pubsubname: String,
    topic: String,
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    routes: Option<RoutesJson>,
    #[serde(default, rename = "deadLetterTopic")]
    dead_letter_topic: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

pub fn from_declarative(spec: serde_yaml::Value) -> Result<SubscriptionJson, serde_yaml::Error> {
    let spec: DeclarativeSpec = serde_yaml::from_value(spec)?;
    Ok(SubscriptionJson {
        pubsubname: spec.pubsubname,
        topic: spec.topic,
        route: spec.route,
        routes: spec.routes,
        dead_letter_topic: spec.dead_letter_topic.filter(|t| !t.is_empty()),
        metadata: spec.metadata,
        bulk_subscribe: None,
    })
}
