//! `kind: Resiliency` as daprd applies it to pub/sub deliveries (docs/dapr-behaviour.md §2.5,
//! §9.3): the inbound retry policy of the delivering component, found by the component's named
//! target, else the first defined of `DefaultPubsubComponentInboundRetryPolicy`,
//! `DefaultComponentInboundRetryPolicy`, `DefaultRetryPolicy`. With none of them, a failed
//! delivery is not retried at all: one attempt, then the dead-letter topic. The inbound target's
//! `timeout` bounds each attempt and its `circuitBreaker` ([`crate::breaker`]) refuses attempts
//! while open. Outbound targets (publish, state) are not applied.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::breaker::BreakerSpec;

/// How a failed delivery is retried before it counts as failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub backoff: Backoff,
    /// Retries after the first attempt; `None` retries forever (`maxRetries: -1`, the CRD's
    /// default).
    pub max_retries: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backoff {
    /// The same wait before every retry (`policy: constant`, `duration`, default 5 s).
    Constant(Duration),
    /// dapr/kit's exponential backoff: 500 ms, ×1.5 per retry, capped at `maxInterval`
    /// (default 60 s). daprd adds ±50 % jitter; this stand-in waits the mean.
    Exponential {
        initial: Duration,
        max_interval: Duration,
    },
}

impl RetryPolicy {
    /// No Resiliency applies: one attempt.
    pub const NONE: Self = Self {
        backoff: Backoff::Constant(Duration::ZERO),
        max_retries: Some(0),
    };

    /// Whether `failures` failed attempts use up the policy.
    pub fn exhausted(&self, failures: u32) -> bool {
        self.max_retries.is_some_and(|max| failures > max)
    }

    /// The wait after the `failures`-th failed attempt.
    pub fn backoff(&self, failures: u32) -> Duration {
        match self.backoff {
            Backoff::Constant(every) => every,
            Backoff::Exponential {
                initial,
                max_interval,
            } => {
                let exponent = i32::try_from(failures.saturating_sub(1).min(64)).unwrap_or(64);
                initial.mul_f64(1.5f64.powi(exponent)).min(max_interval)
            }
        }
    }
}

/// Every Resiliency document of the resources folder, with its scopes.
#[derive(Debug, Clone, Default)]
pub struct Resiliencies {
    documents: Vec<Resiliency>,
}

#[derive(Debug, Clone)]
struct Resiliency {
    name: String,
    scopes: Vec<String>,
    retries: BTreeMap<String, RetryPolicy>,
    timeouts: BTreeMap<String, Duration>,
    breakers: BTreeMap<String, BreakerSpec>,
    /// Component name → the policy names of its `inbound` target.
    inbound: BTreeMap<String, InboundNames>,
    /// Component name → the retry policy name of its `outbound` target (publishes).
    outbound: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
struct InboundNames {
    retry: Option<String>,
    timeout: Option<String>,
    circuit_breaker: Option<String>,
}

const DEFAULT_INBOUND: [&str; 3] = [
    "DefaultPubsubComponentInboundRetryPolicy",
    "DefaultComponentInboundRetryPolicy",
    "DefaultRetryPolicy",
];

const DEFAULT_OUTBOUND: [&str; 3] = [
    "DefaultPubsubComponentOutboundRetryPolicy",
    "DefaultComponentOutboundRetryPolicy",
    "DefaultRetryPolicy",
];

impl Resiliencies {
    /// Adds one `kind: Resiliency` document.
    pub fn add(
        &mut self,
        name: String,
        spec: serde_yaml::Value,
        scopes: Vec<String>,
    ) -> anyhow::Result<()> {
        let spec: RawSpec = serde_yaml::from_value(spec)
            .with_context(|| format!("Resiliency {name}: unreadable spec"))?;
        let mut retries = BTreeMap::new();
        for (policy_name, raw) in spec.policies.retries {
            let policy = raw
                .into_policy()
                .with_context(|| format!("Resiliency {name}: retry policy {policy_name}"))?;
            retries.insert(policy_name, policy);
        }
        let mut timeouts = BTreeMap::new();
        for (policy_name, text) in spec.policies.timeouts {
            let timeout = parse_go_duration(&text)
                .with_context(|| format!("Resiliency {name}: timeout {policy_name}"))?;
            timeouts.insert(policy_name, timeout);
        }
        let mut breakers = BTreeMap::new();
        for (policy_name, raw) in spec.policies.circuit_breakers {
            let breaker = raw
                .into_spec(&policy_name)
                .with_context(|| format!("Resiliency {name}: circuit breaker {policy_name}"))?;
            breakers.insert(policy_name, breaker);
        }
        let mut inbound = BTreeMap::new();
        let mut outbound = BTreeMap::new();
        for (component, target) in spec.targets.components {
            if let Some(policy) = target.outbound.and_then(|o| o.retry) {
                if !retries.contains_key(&policy) {
                    bail!(
                        "Resiliency {name}: component {component} names the undefined retry policy {policy}"
                    );
                }
                outbound.insert(component.clone(), policy);
            }
            let Some(names) = target.inbound else {
                continue;
            };
            let undefined = |kind: &str, policy: &Option<String>, defined: bool| match policy {
                Some(policy) if !defined => Err(anyhow::anyhow!(
                    "Resiliency {name}: component {component} names the undefined {kind} policy {policy}"
                )),
                _ => Ok(()),
            };
            undefined(
                "retry",
                &names.retry,
                names.retry.as_ref().is_none_or(|p| retries.contains_key(p)),
            )?;
            undefined(
                "timeout",
                &names.timeout,
                names
                    .timeout
                    .as_ref()
                    .is_none_or(|p| timeouts.contains_key(p)),
            )?;
            undefined(
                "circuit breaker",
                &names.circuit_breaker,
                names
                    .circuit_breaker
                    .as_ref()
                    .is_none_or(|p| breakers.contains_key(p)),
            )?;
            inbound.insert(
                component,
                InboundNames {
                    retry: names.retry,
                    timeout: names.timeout,
                    circuit_breaker: names.circuit_breaker,
                },
            );
        }
        self.documents.push(Resiliency {
            name,
            scopes,
            retries,
            timeouts,
            breakers,
            inbound,
            outbound,
        });
        Ok(())
    }

    fn applicable<'a>(&'a self, app_id: &'a str) -> impl Iterator<Item = &'a Resiliency> + 'a {
        self.documents
            .iter()
            .filter(move |r| r.scopes.is_empty() || r.scopes.iter().any(|s| s == app_id))
    }

    /// The inbound timeout of `component` for `app_id`, when its target names one.
    pub fn inbound_timeout(&self, app_id: &str, component: &str) -> Option<Duration> {
        self.applicable(app_id).find_map(|r| {
            let name = r.inbound.get(component)?.timeout.as_ref()?;
            r.timeouts.get(name).copied()
        })
    }

    /// The inbound circuit breaker of `component` for `app_id`, when its target names one.
    pub fn inbound_breaker(&self, app_id: &str, component: &str) -> Option<BreakerSpec> {
        self.applicable(app_id).find_map(|r| {
            let name = r.inbound.get(component)?.circuit_breaker.as_ref()?;
            r.breakers.get(name).cloned()
        })
    }

    /// The outbound retry policy of publishes by `app_id` through `component`: its named
    /// target, else the first defined default; none: one attempt.
    pub fn outbound_retry(&self, app_id: &str, component: &str) -> RetryPolicy {
        let applicable: Vec<&Resiliency> = self.applicable(app_id).collect();
        applicable
            .iter()
            .find_map(|r| {
                r.outbound
                    .get(component)
                    .and_then(|policy| r.retries.get(policy))
            })
            .or_else(|| {
                DEFAULT_OUTBOUND
                    .iter()
                    .find_map(|name| applicable.iter().find_map(|r| r.retries.get(*name)))
            })
            .cloned()
            .unwrap_or(RetryPolicy::NONE)
    }

    /// The inbound retry policy for deliveries of `component` to `app_id`.
    pub fn inbound_retry(&self, app_id: &str, component: &str) -> RetryPolicy {
        let applicable: Vec<&Resiliency> = self.applicable(app_id).collect();
        let named = applicable.iter().find_map(|r| {
            r.inbound
                .get(component)
                .and_then(|names| names.retry.as_ref())
                .and_then(|policy| r.retries.get(policy))
                .map(|policy| (r, policy))
        });
        if let Some((resiliency, policy)) = named {
            tracing::trace!(resiliency = %resiliency.name, component, "inbound retry policy");
            return policy.clone();
        }
        DEFAULT_INBOUND
            .iter()
            .find_map(|name| applicable.iter().find_map(|r| r.retries.get(*name)))
            .cloned()
            .unwrap_or(RetryPolicy::NONE)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    policies: RawPolicies,
    #[serde(default)]
    targets: RawTargets,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawPolicies {
    #[serde(default)]
    retries: BTreeMap<String, RawRetry>,
    #[serde(default)]
    timeouts: BTreeMap<String, String>,
    #[serde(default)]
    circuit_breakers: BTreeMap<String, RawBreaker>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBreaker {
    max_requests: Option<u32>,
    interval: Option<String>,
    timeout: Option<String>,
    trip: Option<String>,
}

impl RawBreaker {
    fn into_spec(self, name: &str) -> anyhow::Result<BreakerSpec> {
        Ok(BreakerSpec {
            name: name.to_owned(),
            max_requests: self.max_requests.unwrap_or(1).max(1),
            interval: match &self.interval {
                Some(d) => parse_go_duration(d)?,
                None => Duration::ZERO,
            },
            timeout: match &self.timeout {
                Some(d) => parse_go_duration(d)?,
                None => Duration::from_secs(60),
            },
            trip_above: BreakerSpec::parse_trip(self.trip.as_deref())?,
        })
    }
}

#[derive(Deserialize, Default)]
struct RawTargets {
    #[serde(default)]
    components: BTreeMap<String, RawComponentTarget>,
}

#[derive(Deserialize)]
struct RawComponentTarget {
    inbound: Option<RawPolicyNames>,
    outbound: Option<RawPolicyNames>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPolicyNames {
    retry: Option<String>,
    timeout: Option<String>,
    circuit_breaker: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRetry {
    policy: Option<String>,
    duration: Option<String>,
    max_interval: Option<String>,
    max_retries: Option<i64>,
}

impl RawRetry {
    fn into_policy(self) -> anyhow::Result<RetryPolicy> {
        let backoff = match self.policy.as_deref().unwrap_or("constant") {
            "constant" => Backoff::Constant(match &self.duration {
                Some(d) => parse_go_duration(d)?,
                None => Duration::from_secs(5),
            }),
            "exponential" => Backoff::Exponential {
                initial: Duration::from_millis(500),
                max_interval: match &self.max_interval {
                    Some(d) => parse_go_duration(d)?,
                    None => Duration::from_secs(60),
                },
            },
            other => bail!("unknown policy {other:?} (constant or exponential)"),
        };
        let max_retries = match self.max_retries.unwrap_or(-1) {
            -1 => None,
            n => Some(u32::try_from(n).context("maxRetries is -1 or a count")?),
        };
        Ok(RetryPolicy {
            backoff,
            max_retries,
        })
    }
}

/// A Go `time.Duration` string: `500ms`, `5s`, `1m30s`, `2h`.
pub fn parse_go_duration(text: &str) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest == "0" {
        return Ok(total);
    }
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .with_context(|| format!("duration {text:?} lacks a unit"))?;
        let (number, tail) = rest.split_at(digits);
        let value: f64 = number
            .parse()
            .with_context(|| format!("duration {text:?}"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => bail!("duration {text:?}: unknown unit {other:?}"),
        };
        total = Duration::try_from_secs_f64(value * seconds)
            .ok()
            .and_then(|part| total.checked_add(part))
            .with_context(|| format!("duration {text:?} is out of range"))?;
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn resiliencies(yaml: &str, scopes: &[&str]) -> Resiliencies {
        let mut all = Resiliencies::default();
        all.add(
            "r".into(),
            serde_yaml::from_str(yaml).unwrap(),
            scopes.iter().map(|s| (*s).to_owned()).collect(),
        )
        .unwrap();
        all
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(
            parse_go_duration("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_go_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("5 parsecs").is_err());
        assert!(parse_go_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn a_named_inbound_target_wins_over_the_defaults() {
        let r = resiliencies(
            r"
policies:
  retries:
    slow: {policy: constant, duration: 10s, maxRetries: 90}
    DefaultRetryPolicy: {policy: constant, duration: 1s, maxRetries: 2}
targets:
  components:
    pubsub: {inbound: {retry: slow}}
",
            &[],
        );
        let named = r.inbound_retry("audit", "pubsub");
        assert_eq!(named.backoff, Backoff::Constant(Duration::from_secs(10)));
        assert!(!named.exhausted(90) && named.exhausted(91));
        assert_eq!(r.inbound_retry("audit", "other").max_retries, Some(2));
    }

    #[test]
    fn no_policy_means_one_attempt_and_scopes_limit_who_gets_one() {
        assert_eq!(
            Resiliencies::default().inbound_retry("audit", "pubsub"),
            RetryPolicy::NONE
        );
        assert!(RetryPolicy::NONE.exhausted(1));
        let r = resiliencies(
            "policies: {retries: {DefaultRetryPolicy: {maxRetries: -1}}}",
            &["recurring"],
        );
        assert_eq!(r.inbound_retry("audit", "pubsub"), RetryPolicy::NONE);
        let forever = r.inbound_retry("recurring", "pubsub");
        assert_eq!(forever.max_retries, None);
        assert!(!forever.exhausted(u32::MAX));
        assert_eq!(forever.backoff(1), Duration::from_secs(5));
    }

    #[test]
    fn exponential_backoff_grows_by_half_and_stops_at_the_cap() {
        let r = resiliencies(
            r"
policies: {retries: {e: {policy: exponential, maxInterval: 2s, maxRetries: 5}}}
targets: {components: {pubsub: {inbound: {retry: e}}}}
",
            &[],
        );
        let policy = r.inbound_retry("audit", "pubsub");
        assert_eq!(policy.backoff(1), Duration::from_millis(500));
        assert_eq!(policy.backoff(2), Duration::from_millis(750));
        assert_eq!(policy.backoff(10), Duration::from_secs(2));
    }

    #[test]
    fn a_target_naming_an_undefined_policy_is_refused() {
        let mut all = Resiliencies::default();
        let spec =
            serde_yaml::from_str("targets: {components: {pubsub: {inbound: {retry: nope}}}}")
                .unwrap();
        assert!(all.add("r".into(), spec, Vec::new()).is_err());
    }
}
