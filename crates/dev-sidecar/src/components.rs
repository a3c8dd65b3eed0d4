//! Reads the same resource YAML as `daprd --resources-path`, so local and cluster
//! configuration are not duplicated. Only the fields the dev sidecar acts on are kept.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// One `kind: Component` document, with metadata values still untemplated: templates such as
/// `{podName}` depend on which app instance looks at the component.
#[derive(Debug, Clone)]
pub struct Component {
    pub name: String,
    pub kind: ComponentKind,
    pub type_name: String,
    pub version: String,
    pub metadata: BTreeMap<String, String>,
    /// Metadata fields given as `secretKeyRef` (field -> secret name, key), resolved at start
    /// from the secret store of `auth.secretStore` ([`crate::secrets`]).
    pub secret_refs: BTreeMap<String, SecretRef>,
    /// `auth.secretStore`, when the component names one.
    pub secret_store: Option<String>,
    /// `spec.ignoreErrors`: a component that fails to initialise is skipped, not fatal.
    pub ignore_errors: bool,
    pub scopes: Vec<String>,
}

/// A `secretKeyRef` of a component metadata field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub name: String,
    /// Absent: the key equals the secret's name (daprd's rule for single-value stores).
    pub key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    PubSub,
    StateRedis,
    StateMemory,
    CronBinding,
    /// A `secretstores.*` component: not implemented, but its name is taken (duplicates fail).
    SecretStore,
}

/// A declarative `kind: Subscription` (v1alpha1 `spec.route` or v2alpha1 `spec.routes`).
#[derive(Debug, Clone)]
pub struct DeclarativeSubscription {
    pub subscription: crate::subscriptions::SubscriptionJson,
    pub scopes: Vec<String>,
}

/// Everything loaded from the resources folder.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub components: Vec<Component>,
    pub subscriptions: Vec<DeclarativeSubscription>,
    /// `kind: Resiliency` documents (their inbound retry policies).
    pub resiliency: crate::resiliency::Resiliencies,
}

impl Component {
    /// An empty `scopes` list means "every app", as in Dapr.
    pub fn visible_to(&self, app_id: &str) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|s| s == app_id)
    }

    /// A metadata value with Dapr's templates resolved for one app instance. `pod_name` is
    /// `None` only where the start-up check (`init`) found no `{podName}` to resolve.
    pub fn meta(&self, name: &str, app_id: &str, pod_name: Option<&str>) -> Option<String> {
        self.metadata
            .get(name)
            .map(|v| resolve_template(v, app_id, pod_name))
    }
}

pub const POD_NAME_TEMPLATE: &str = "{podName}";

impl DeclarativeSubscription {
    pub fn visible_to(&self, app_id: &str) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|s| s == app_id)
    }
}

/// Dapr resolves templates at sidecar start; `{namespace}` deliberately expands to
/// `<namespace>.<appID>` (see the contract, 3.2), and there is no namespace locally.
/// `{podName}` is left as it is without a pod name: the start-up check refuses that case first.
pub fn resolve_template(value: &str, app_id: &str, pod_name: Option<&str>) -> String {
    let mut out = value.replace("{appID}", app_id);
    if let Some(pod_name) = pod_name {
        out = out.replace(POD_NAME_TEMPLATE, pod_name);
    }
    let mut out = out.replace("{namespace}", &format!("default.{app_id}"));
    while out.contains("{uuid}") {
        out = out.replacen("{uuid}", &uuid::Uuid::new_v4().to_string(), 1);
    }
    out
}

#[derive(Deserialize)]
struct RawDoc {
    kind: Option<String>,
    metadata: Option<RawObjectMeta>,
    spec: Option<serde_yaml::Value>,
    #[serde(default)]
    scopes: Vec<String>,
    auth: Option<RawAuth>,
}

#[derive(Deserialize)]
struct RawAuth {
    #[serde(rename = "secretStore")]
    secret_store: Option<String>,
}

#[derive(Deserialize)]
struct RawObjectMeta {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawComponentSpec {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    metadata: Vec<RawNameValue>,
    #[serde(default, rename = "ignoreErrors")]
    ignore_errors: bool,
}

#[derive(Deserialize)]
struct RawNameValue {
    name: String,
    value: Option<serde_yaml::Value>,
    #[serde(rename = "secretKeyRef")]
    secret_key_ref: Option<RawSecretKeyRef>,
}

#[derive(Deserialize)]
struct RawSecretKeyRef {
    name: String,
    key: Option<String>,
}

/// Reads every `*.yaml`/`*.yml` file of `dir` (not recursive, like daprd).
pub fn load_resources(dir: &Path) -> anyhow::Result<Resources> {
    let mut resources = Resources::default();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading resources folder {}", dir.display()))?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        parse_documents(&text, &path.display().to_string(), &mut resources)?;
    }
    Ok(resources)
}

fn parse_documents(text: &str, origin: &str, into: &mut Resources) -> anyhow::Result<()> {
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(document)
            .with_context(|| format!("parsing YAML in {origin}"))?;
        if value.is_null() {
            continue;
        }
        let doc: RawDoc = match serde_yaml::from_value(value) {
            Ok(doc) => doc,
            Err(error) => {
                tracing::warn!(%origin, %error, "skipping a resource document that is not a Dapr resource");
                continue;
            }
        };
        let name = doc.metadata.and_then(|m| m.name).unwrap_or_default();
        match doc.kind.as_deref() {
            Some("Component") => {
                let spec: RawComponentSpec =
                    serde_yaml::from_value(doc.spec.unwrap_or_default())
                        .with_context(|| format!("component {name} in {origin}"))?;
                let secret_store = doc.auth.and_then(|a| a.secret_store);
                if let Some(component) = to_component(name, spec, doc.scopes, secret_store) {
                    into.components.push(component);
                }
            }
            Some("Subscription") => {
                match crate::subscriptions::from_declarative(doc.spec.unwrap_or_default()) {
                    Ok(subscription) => into.subscriptions.push(DeclarativeSubscription {
                        subscription,
                        scopes: doc.scopes,
                    }),
                    Err(error) => {
                        tracing::warn!(%name, %origin, %error, "skipping an invalid subscription")
                    }
                }
            }
            Some("Resiliency") => into
                .resiliency
                .add(name, doc.spec.unwrap_or_default(), doc.scopes)
                .with_context(|| format!("in {origin}"))?,
            other => {
                tracing::debug!(kind = ?other, %name, %origin, "ignoring a resource the dev sidecar does not act on")
            }
        }
    }
    Ok(())
}

fn to_component(
    name: String,
    spec: RawComponentSpec,
    scopes: Vec<String>,
    secret_store: Option<String>,
) -> Option<Component> {
    let kind = if spec.type_name.starts_with("pubsub.") {
        ComponentKind::PubSub
    } else if spec.type_name == "state.redis" {
        ComponentKind::StateRedis
    } else if spec.type_name == "state.in-memory" {
        ComponentKind::StateMemory
    } else if spec.type_name == "bindings.cron" {
        ComponentKind::CronBinding
    } else if spec.type_name.starts_with("secretstores.") {
        ComponentKind::SecretStore
    } else {
        tracing::warn!(component = %name, r#type = %spec.type_name, "skipping a component type the dev sidecar does not implement");
        return None;
    };
    let mut metadata = BTreeMap::new();
    let mut secret_refs = BTreeMap::new();
    for item in spec.metadata {
        if let Some(reference) = item.secret_key_ref {
            secret_refs.insert(
                item.name,
                SecretRef {
                    name: reference.name,
                    key: reference.key,
                },
            );
            continue;
        }
        let value = match item.value {
            Some(serde_yaml::Value::String(s)) => s,
            Some(serde_yaml::Value::Bool(b)) => b.to_string(),
            Some(serde_yaml::Value::Number(n)) => n.to_string(),
            Some(serde_yaml::Value::Null) | None => String::new(),
            Some(other) => serde_yaml::to_string(&other).unwrap_or_default(),
        };
        metadata.insert(item.name, value);
    }
    Some(Component {
        name,
        kind,
        type_name: spec.type_name,
        version: spec.version.unwrap_or_else(|| "v1".to_owned()),
        metadata,
        secret_refs,
        secret_store,
        ignore_errors: spec.ignore_errors,
        scopes,
    })
}
