//! `dev-sidecar --resources <dir> --app <app-id>:<app-port>:<sidecar-port> [--app ...]`
//!
//! Runs one Dapr-compatible sidecar port per app until ctrl-c. `RUST_LOG` sets the log level
//! (default `info`, which shows every publish and subscription).

use std::path::PathBuf;

use anyhow::{Context, bail};
use dev_sidecar::{AppSpec, SidecarConfig};

const USAGE: &str =
    "usage: dev-sidecar --resources <dir> --app <app-id>:<app-port>:<sidecar-port> [--app ...]";

fn parse_app(value: &str) -> anyhow::Result<AppSpec> {
    let parts: Vec<&str> = value.split(':').collect();
    let [app_id, app_port, sidecar_port] = parts.as_slice() else {
        bail!("--app {value:?}: expected <app-id>:<app-port>:<sidecar-port>");
    };
    Ok(AppSpec {
        app_id: (*app_id).to_owned(),
        instance: (*app_id).to_owned(),
        app_port: app_port
            .parse()
            .with_context(|| format!("app port in {value:?}"))?,
        sidecar_port: sidecar_port
            .parse()
            .with_context(|| format!("sidecar port in {value:?}"))?,
        app_api_token: std::env::var("APP_API_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        dapr_api_token: std::env::var("DAPR_API_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    })
}

fn parse_args() -> anyhow::Result<SidecarConfig> {
    let mut resources_dir = None;
    let mut apps = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--resources" | "--resources-path" => {
                resources_dir = Some(PathBuf::from(args.next().context(USAGE)?));
            }
            "--app" => apps.push(parse_app(&args.next().context(USAGE)?)?),
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
    Ok(SidecarConfig {
        resources_dir,
        apps,
        delivery: None,
    })
}

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
    tokio::signal::ctrl_c()
        .await
        .context("waiting for ctrl-c")?;
    tracing::info!("stopping");
    sidecar.shutdown().await;
    Ok(())
}
