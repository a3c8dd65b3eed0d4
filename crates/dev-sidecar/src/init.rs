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
/// daprd's start-up fails. Components that fail with `ignoreErrors: true` are removed with a
/// warning, as daprd skips them.
pub fn initialise(
    resources: &mut Resources,
    apps: &[AppSpec],
    environment: &Environment,
) -> anyhow::Result<()> {
    check_names(resources, environment.mode)?;
    let mut failed = Vec::new();
    for component in &mut resources.components {
        if let Err(error) = resolve_secrets(component, environment) {
            if component.ignore_errors {
                tracing::warn!(component = %component.name, error = %format!("{error:#}"), "component failed to initialise; ignored (ignoreErrors)");
                failed.push(component.name.clone());
                continue;
            }
            return Err(error.context(format!(
                "process component {} error: the sidecar stops (daprd exits on a component that fails to initialise)",
                component.name
            )));
        }
        apply_host_aliases(component, &environment.host_aliases);
    }
    resources
        .components
        .retain(|component| !failed.contains(&component.name));
    for app in apps {
        check_templates(resources, app, environment.mode)?;
    }
    Ok(())
}

/// daprd keeps one component per name; a second declaration of a name is an error. In
/// Kubernetes mode the built-in secret store has registered `kubernetes` before any declared
/// component is processed.
fn check_names(resources: &mut Resources, mode: Mode) -> anyhow::Result<()> {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    if mode == Mode::Kubernetes {
        taken.insert(KUBERNETES_SECRET_STORE.to_owned());
    }
    let mut duplicates_ignored = Vec::new();
    for (index, component) in resources.components.iter().enumerate() {
        if taken.insert(component.name.clone()) {
            continue;
        }
        if component.ignore_errors {
            tracing::warn!(component = %component.name, "component already exists; ignored (ignoreErrors)");
            duplicates_ignored.push(index);
            continue;
        }
        let builtin = mode == Mode::Kubernetes && component.name == KUBERNETES_SECRET_STORE;
        bail!(
            "process component {name} error: component {name} already exists{hint}",
            name = component.name,
            hint = if builtin {
                " (daprd provides the secret store `kubernetes` itself in Kubernetes mode; declare none of that name)"
            } else {
                ""
            }
        );
    }
    for index in duplicates_ignored.into_iter().rev() {
        resources.components.remove(index);
    }
    Ok(())
}

fn resolve_secrets(component: &mut Component, environment: &Environment) -> anyhow::Result<()> {
    if component.secret_refs.is_empty() {
        return Ok(());
    }
    let store = match (&component.secret_store, environment.mode) {
        (Some(store), _) => store.clone(),
        (None, Mode::Kubernetes) => KUBERNETES_SECRET_STORE.to_owned(),
        (None, Mode::Standalone) => bail!(
            "metadata uses secretKeyRef but the component names no secret store (auth.secretStore), and there is no default secret store outside Kubernetes"
        ),
    };
    if store != KUBERNETES_SECRET_STORE || environment.mode != Mode::Kubernetes {
        bail!(
            "secret store {store} is not available to the dev sidecar (it serves the built-in `kubernetes` store in Kubernetes mode only)"
        );
    }
    for (field, reference) in &component.secret_refs {
        let key = reference.key.as_deref().unwrap_or(&reference.name);
        let value = environment
            .kubernetes_secrets
            .get(&reference.name)
            .with_context(|| {
                format!(
                    "field {field}: secret {} not found in secret store {store}",
                    reference.name
                )
            })?
            .get(key)
            .with_context(|| {
                format!(
                    "field {field}: secret {} has no key {key} in secret store {store}",
                    reference.name
                )
            })?;
        component.metadata.insert(field.clone(), value.clone());
    }
    Ok(())
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
    if let Some(component) = resources
        .components
        .iter()
        .find(|c| c.visible_to(&app.app_id) && c.uses_pod_name())
    {
        bail!(
            "process component {} error: app {} has no POD_NAME to resolve {{podName}} in its metadata (only the Kubernetes injector sets it; use {{uuid}} or {{appID}} elsewhere)",
            component.name,
            app.app_id
        );
    }
    Ok(())
}
