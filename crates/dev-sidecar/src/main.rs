//! `dev-sidecar --resources <dir> --app <app-id>:<app-port>:<sidecar-port> [--app ...]`
//!
//! Runs one Dapr-compatible sidecar port per app until ctrl-c or SIGTERM. `RUST_LOG` sets the
//! log level (default `info`, which shows every publish and subscription). See `USAGE`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use dev_sidecar::{AppHealth, AppSpec, Environment, Mode, SidecarConfig};

const USAGE: &str = "\
usage: dev-sidecar --resources <dir> [options] --app <app-id>:<app-port>:<sidecar-port>[,<opt>=<value>...] [--app ...]

  --mode standalone|kubernetes   as `dapr run` (default) or as the injector's sidecar: in
                                 kubernetes mode the secret store `kubernetes` is built in and
                                 every app needs a pod name
  --kubernetes-secrets <file>    YAML of `kind: Secret` documents the `kubernetes` store reads
  --host-alias <name>=<host>     resolve <name> as <host> in redisHost (a cluster DNS name)
  --broker-topics <file>         the topics that exist on the Kafka broker, one per line (#
                                 comments): publishing to any other fails, as with Redpanda's
                                 auto-create off; without it every topic exists
  --listen-address <ip>          where the sidecar ports listen (default 127.0.0.1)
per-app options after the ports:
  pod=<name>                     the pod name ({podName}); default: $POD_NAME
  app-address=<ip>               where the app listens (default 127.0.0.1)
  health=<path>                  app health checks on, probing <path> (daprd's
                                 enable-app-health-check + app-health-check-path)
  health-interval=<seconds>      probe interval (default 5)
  health-timeout=<milliseconds>  probe timeout (default 500)
  health-threshold=<n>           failures in a row before unhealthy (default 3)
  app-token-env=<VAR>            the app token daprd sends (default APP_API_TOKEN)
  api-token-env=<VAR>            the API token daprd requires (default DAPR_API_TOKEN)";

fn env_token(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|t| !t.is_empty())
}

fn parse_app(value: &str) -> anyhow::Result<AppSpec> {
    let mut options = value.split(',');
    let ports = options.next().unwrap_or_default();
    let parts: Vec<&str> = ports.split(':').collect();
    let [app_id, app_port, sidecar_port] = parts.as_slice() else {
        bail!("--app {value:?}: expected <app-id>:<app-port>:<sidecar-port>");
    };
    let mut spec = AppSpec::new(
        app_id,
        app_port
            .parse()
            .with_context(|| format!("app port in {value:?}"))?,
    );
    spec.sidecar_port = sidecar_port
        .parse()
        .with_context(|| format!("sidecar port in {value:?}"))?;
    spec.pod_name = env_token("POD_NAME");
    let (mut app_token_env, mut api_token_env) = ("APP_API_TOKEN", "DAPR_API_TOKEN");
    for option in options {
        match option.split_once('=') {
            Some(("pod", pod)) if !pod.is_empty() => spec.pod_name = Some(pod.to_owned()),
            Some(("health", path)) => {
                spec.health.get_or_insert_with(AppHealth::default).path = path.to_owned();
            }
            Some(("health-interval", seconds)) => {
                spec.health.get_or_insert_with(AppHealth::default).interval =
                    Duration::from_secs(seconds.parse().context("health-interval")?);
            }
            Some(("health-timeout", millis)) => {
                spec.health.get_or_insert_with(AppHealth::default).timeout =
                    Duration::from_millis(millis.parse().context("health-timeout")?);
            }
            Some(("health-threshold", n)) => {
                spec.health.get_or_insert_with(AppHealth::default).threshold =
                    n.parse().context("health-threshold")?;
            }
            Some(("app-address", address)) => {
                spec.app_address = address
                    .parse()
                    .with_context(|| format!("app-address in {value:?}"))?;
            }
            Some(("app-token-env", var)) => app_token_env = var,
            Some(("api-token-env", var)) => api_token_env = var,
            _ => bail!("--app {value:?}: unknown option {option:?}\n{USAGE}"),
        }
    }
    if let Some(pod) = &spec.pod_name {
        spec.instance.clone_from(pod);
    }
    spec.app_api_token = env_token(app_token_env);
    spec.dapr_api_token = env_token(api_token_env);
    Ok(spec)
}

fn read_topics(path: &PathBuf) -> anyhow::Result<BTreeSet<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn parse_args() -> anyhow::Result<SidecarConfig> {
    let mut resources_dir = None;
    let mut apps = Vec::new();
    let mut environment = Environment::default();
    let mut broker_topics = None;
    let mut listen_address = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context(USAGE);
        match arg.as_str() {
            "--resources" | "--resources-path" => resources_dir = Some(PathBuf::from(value()?)),
            "--app" => apps.push(parse_app(&value()?)?),
            "--mode" => environment.mode = value()?.parse()?,
            "--kubernetes-secrets" => {
                environment.kubernetes_secrets =
                    dev_sidecar::load_kubernetes_secrets(&PathBuf::from(value()?))?;
            }
            "--host-alias" => {
                let alias = value()?;
                let (name, host) = alias
                    .split_once('=')
                    .with_context(|| format!("--host-alias {alias:?}: expected <name>=<host>"))?;
                environment
                    .host_aliases
                    .insert(name.to_owned(), host.to_owned());
            }
            "--broker-topics" => broker_topics = Some(read_topics(&PathBuf::from(value()?))?),
            "--listen-address" => {
                listen_address = Some(value()?.parse().context("--listen-address")?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let resources_dir = resources_dir.context(USAGE)?;
    if apps.is_empty() {
        bail!("at least one --app is needed\n{USAGE}");
    }
    if environment.mode == Mode::Standalone && !environment.kubernetes_secrets.is_empty() {
        bail!("--kubernetes-secrets needs --mode kubernetes");
    }
    Ok(SidecarConfig {
        resources_dir,
        apps,
        delivery: None,
        environment,
        broker_topics,
        listen_address,
    })
}

async fn stopped() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for ctrl-c"),
        _ = terminate.recv() => Ok(()),
    }
}

/// mimalloc instead of glibc's malloc (docs/adr/0006-mimalloc.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = parse_args()?;
    let sidecar = dev_sidecar::start(config).await?;
    stopped().await?;
    tracing::info!("stopping");
    sidecar.shutdown().await;
    Ok(())
}
