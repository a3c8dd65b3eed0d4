//! Component initialisation as daprd does it before it serves anything: component names are
//! unique (in Kubernetes mode the built-in secret store `kubernetes` takes its name first),
//! `secretKeyRef` metadata is read from a secret store, `{podName}` needs the pod's name, and a
//! component that fails any of this stops the sidecar unless it says `ignoreErrors: true`.
//! The behaviours and their sources in dapr/dapr are listed in docs/dapr-behaviour.md
//! ("Component initialisation"); the contract tests in `tests/contract/init.rs` pin them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use serde::Deserialize;

use crate::AppSpec;
use crate::components::{Component, ComponentKind, Resources};

/// How daprd runs: as the injector's sidecar in a pod, or beside a process (`dapr run`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Standalone,
    Kubernetes,
}

impl std::str::FromStr for Mode {
    type Err = anyhow::Error;

    fn from_str(value: &str) -> anyhow::Result<Self> {
        match value {
            "standalone" => Ok(Self::Standalone),
            "kubernetes" => Ok(Self::Kubernetes),
            other => bail!("--mode {other:?}: expected kubernetes or standalone"),
        }
    }
}

/// The name of the secret store daprd provides itself in Kubernetes mode.
pub const KUBERNETES_SECRET_STORE: &str = "kubernetes";

/// The Kubernetes Secrets of the namespace, as the built-in `kubernetes` store reads them:
/// secret name -> key -> value.
pub type KubernetesSecrets = BTreeMap<String, BTreeMap<String, String>>;

/// Reads `kind: Secret` documents (`data` base64, `stringData` plain) from a YAML file, such
/// as the output of `helm template` or `kubectl get secret -o yaml`.
pub fn load_kubernetes_secrets(path: &Path) -> anyhow::Result<KubernetesSecrets> {
    #[derive(Deserialize)]
    struct RawSecret {
        kind: Option<String>,
        metadata: Option<RawName>,
        #[serde(default)]
        data: BTreeMap<String, String>,
        #[serde(default, rename = "stringData")]
        string_data: BTreeMap<String, String>,
    }
    #[derive(Deserialize)]
    struct RawName {
        name: Option<String>,
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut secrets = KubernetesSecrets::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_yaml::Value::deserialize(document)
            .with_context(|| format!("parsing YAML in {}", path.display()))?;
        let Ok(raw) = serde_yaml::from_value::<RawSecret>(value) else {
            continue;
        };
        if raw.kind.as_deref() != Some("Secret") {
            continue;
        }
        let name = raw
            .metadata
            .and_then(|m| m.name)
            .with_context(|| format!("a Secret without a name in {}", path.display()))?;
        let mut keys = BTreeMap::new();
        for (key, encoded) in raw.data {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .with_context(|| format!("Secret {name} key {key}: data is not base64"))?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("Secret {name} key {key}: not UTF-8"))?;
            keys.insert(key, text);
        }
        keys.extend(raw.string_data);
        secrets.insert(name, keys);
    }
    Ok(secrets)
}

/// What the sidecar knows about where it runs.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub mode: Mode,
    /// The Secrets the built-in `kubernetes` store reads (Kubernetes mode only).
    pub kubernetes_secrets: KubernetesSecrets,
    /// Host names that resolve to another host, as the cluster's DNS resolves a Service name
    /// (applied to `redisHost`): `redis` -> `127.0.0.1`.
    pub host_aliases: BTreeMap<String, String>,
}

/// Checks and completes the loaded components for the apps this process serves, failing where
/// daprd's start-up fails.
pub fn initialise(
    resources: &mut Resources,
    apps: &[AppSpec],
    environment: &Environment,
) -> anyhow::Result<()> {
    check_names(resources, environment.mode)?;
    let declared_stores: BTreeSet<String> = resources
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::SecretStore)
        .map(|c| c.name.clone())
        .collect();
    let mut parked = Vec::new();
    for component in &mut resources.components {
        match resolve_secrets(component, environment, &declared_stores)? {
            Secrets::Resolved => apply_host_aliases(component, &environment.host_aliases),
            Secrets::StoreNotLoaded(store) => {
                tracing::warn!(component = %component.name, %store, "Component {} references a secret store that isn't loaded: {store}; it is never initialised", component.name);
                parked.push(component.name.clone());
            }
        }
    }
    resources
        .components
        .retain(|component| !parked.contains(&component.name));
    for app in apps {
        check_templates(resources, app, environment.mode)?;
    }
    Ok(())
}

/// Standalone: the disk loader refuses a second definition of a name before anything is
/// initialised (always fatal). Kubernetes: names are unique per namespace, but the built-in
/// secret store has taken `kubernetes` first; a declared one fails to initialise with
/// "component kubernetes already exists", fatal unless it says `ignoreErrors: true`.
fn check_names(resources: &mut Resources, mode: Mode) -> anyhow::Result<()> {
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for component in &resources.components {
        if !taken.insert(&component.name) {
            bail!(
                "failed to load components: duplicate definition of Component name {}",
                component.name
            );
        }
    }
    if mode != Mode::Kubernetes {
        return Ok(());
    }
    let Some(index) = resources
        .components
        .iter()
        .position(|c| c.name == KUBERNETES_SECRET_STORE)
    else {
        return Ok(());
    };
    if resources.components[index].ignore_errors {
        tracing::warn!(
            "Ignoring error processing component: process component kubernetes error: component kubernetes already exists"
        );
        resources.components.remove(index);
        return Ok(());
    }
    bail!(
        "process component kubernetes error: component kubernetes already exists (daprd provides the secret store `kubernetes` itself in Kubernetes mode; declare none of that name)"
    )
}

enum Secrets {
    Resolved,
    /// The component names a secret store that is not loaded: daprd parks it for good.
    StoreNotLoaded(String),
}

/// Kubernetes mode, store `kubernetes` (named or by default): the operator reads the Secrets
/// before daprd sees the component; a missing Secret fails the component list and daprd
/// stops whatever `ignoreErrors` says; a missing key leaves the value empty. Standalone: no
/// default store, and a store that is not loaded parks the component.
fn resolve_secrets(
    component: &mut Component,
    environment: &Environment,
    declared_stores: &BTreeSet<String>,
) -> anyhow::Result<Secrets> {
    if component.secret_refs.is_empty() {
        return Ok(Secrets::Resolved);
    }
    let store = match (&component.secret_store, environment.mode) {
        (Some(store), _) => store.clone(),
        (None, Mode::Kubernetes) => KUBERNETES_SECRET_STORE.to_owned(),
        (None, Mode::Standalone) => String::new(),
    };
    if store != KUBERNETES_SECRET_STORE || environment.mode != Mode::Kubernetes {
        if declared_stores.contains(&store) {
            bail!(
                "component {}: secret store {store} is declared, but the dev sidecar implements only Kubernetes mode's built-in `kubernetes` store",
                component.name
            );
        }
        // Not loaded (or, standalone without auth.secretStore, none named): daprd parks it.
        return Ok(Secrets::StoreNotLoaded(store));
    }
    for (field, reference) in &component.secret_refs {
        let key = reference.key.as_deref().unwrap_or(&reference.name);
        let secret = environment
            .kubernetes_secrets
            .get(&reference.name)
            .with_context(|| {
                format!(
                    "failed to load components: error processing component {} secrets: secrets \"{}\" not found",
                    component.name, reference.name
                )
            })?;
        let value = match secret.get(key) {
            Some(value) => value.clone(),
            None => {
                tracing::error!(component = %component.name, %field, secret = %reference.name, %key, "Error decoding secret: the Secret has no such key; the value is empty");
                String::new()
            }
        };
        component.metadata.insert(field.clone(), value);
    }
    Ok(Secrets::Resolved)
}

fn apply_host_aliases(component: &mut Component, aliases: &BTreeMap<String, String>) {
    if aliases.is_empty() || component.kind != ComponentKind::StateRedis {
        return;
    }
    if let Some(address) = component.metadata.get_mut("redisHost") {
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port.to_owned())),
            None => (address.clone(), None),
        };
        if let Some(target) = aliases.get(&host) {
            *address = match port {
                Some(port) => format!("{target}:{port}"),
                None => target.clone(),
            };
        }
    }
}

/// `{podName}` resolves from the `POD_NAME` the injector sets; without it daprd stops.
fn check_templates(resources: &Resources, app: &AppSpec, mode: Mode) -> anyhow::Result<()> {
    if mode == Mode::Kubernetes && app.pod_name.is_none() {
        bail!(
            "app {}: no pod name (POD_NAME), which the injector always sets in Kubernetes mode",
            app.app_id
        );
    }
    if app.pod_name.is_some() {
        return Ok(());
    }
    for component in resources
        .components
        .iter()
        .filter(|c| c.visible_to(&app.app_id))
    {
        let Some((field, _)) = component
            .metadata
            .iter()
            .find(|(_, value)| value.contains(crate::components::POD_NAME_TEMPLATE))
        else {
            continue;
        };
        if component.ignore_errors {
            tracing::warn!(component = %component.name, "Ignoring error processing component: property {field} refers to {{podName}} but podName is not set");
            continue;
        }
        bail!(
            "process component {name} error: [INIT_COMPONENT_FAILURE]: initialization error occurred for {name} ({kind}/{version}): failed to parse metadata: property {field} refers to {{podName}} but podName is not set (app {app}: only the Kubernetes injector sets POD_NAME; use {{uuid}} or {{appID}} elsewhere)",
            name = component.name,
            kind = component.type_name,
            version = component.version,
            app = app.app_id
        );
    }
    Ok(())
}
