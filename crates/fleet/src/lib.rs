//! fleet: the embedded default. One process runs the dev sidecar (one sidecar port per app, one
//! shared in-memory broker) and all five services against one Postgres, on the ports of
//! docs/contract.md §2, so a newcomer needs no Dapr, Docker or Kubernetes. Production runs each
//! service next to its own `daprd`; nothing in the services knows the difference.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use common::CancellationToken;
use common::auth::AuthSettings;
use common::config::ServiceSettings;
use common::server::Service;

pub mod ui;
use dev_sidecar::{AppSpec, DeliveryPolicy, DevSidecar, SidecarConfig};

/// The development JWT secret used when `JWT_SECRET` is not set. Never use it outside a laptop
/// (the services refuse it unless `TASKFLEET_ENV=development`).
pub use common::config::DEV_JWT_SECRET;

/// A fresh random token (256 bits, hex) for the sidecar ↔ app tokens of one run.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The Dapr component folder shipped with the repository (also used by `dapr run -f .`).
pub fn default_resources_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../dapr/components"
    ))
}

/// One service of the fleet and its two ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePorts {
    /// The app-id.
    pub name: &'static str,
    /// Where the service listens (0 = any free port).
    pub app_port: u16,
    /// Its dev sidecar's HTTP port (0 = any free port).
    pub sidecar_port: u16,
}

/// The ports of docs/contract.md §2.
pub const DEFAULT_PORTS: [ServicePorts; 5] = [
    ServicePorts {
        name: backend_api::startup::SERVICE,
        app_port: 8000,
        sidecar_port: 3500,
    },
    ServicePorts {
        name: websocket::SERVICE,
        app_port: 8001,
        sidecar_port: 3501,
    },
    ServicePorts {
        name: recurring::SERVICE,
        app_port: 8002,
        sidecar_port: 3502,
    },
    ServicePorts {
        name: notification::SERVICE,
        app_port: 8003,
        sidecar_port: 3503,
    },
    ServicePorts {
        name: audit::SERVICE,
        app_port: 8004,
        sidecar_port: 3504,
    },
];

/// What the fleet runs against.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Postgres; created if missing, then migrated.
    pub database_url: String,
    /// Per service name, another way to the same database (a service on its own endpoint, or a
    /// fault-injection proxy); the others use `database_url`.
    pub database_url_of: std::collections::BTreeMap<String, String>,
    /// Token verification for every service.
    pub auth: AuthSettings,
    /// Dapr component YAML for the dev sidecar.
    pub resources_dir: PathBuf,
    /// Ports per service; 0 picks free ones (tests).
    pub ports: Vec<ServicePorts>,
    /// Interface the services bind.
    pub host: IpAddr,
    /// Pub/sub delivery retries of the dev sidecar: `None` follows the resources' Resiliency,
    /// as daprd does; tests may fix a short policy.
    pub delivery: Option<DeliveryPolicy>,
    /// The sidecars' app health checks (dapr.yaml turns them on: `/healthz` every 5 s, unhealthy
    /// after 3 failures): while an app is unhealthy its deliveries wait instead of using up
    /// their retries. `None`: off, as daprd's default.
    pub app_health: Option<dev_sidecar::AppHealth>,
    /// backend-api's assistant; `None` reads `ASSISTANT_*` from the environment.
    pub assistant: Option<backend_api::assistant::AssistantSettings>,
    /// The app token: every sidecar sends it on each call to its app (deliveries, cron,
    /// `/dapr/subscribe`) and the services refuse internal calls without it.
    pub app_api_token: String,
    /// The sidecar API token: the services send it on each call to their sidecar and the
    /// sidecar refuses calls without it, so no other local process (or web page) can publish,
    /// write state or invoke through it.
    pub dapr_api_token: String,
}

impl FleetConfig {
    /// The configuration from the environment: `DATABASE_URL`, `JWT_SECRET`, `AUTH_JWKS_URL`,
    /// `AUTH_ISSUER`, `AUTH_AUDIENCE`, `FLEET_RESOURCES`, `APP_API_TOKEN`, `DAPR_API_TOKEN`
    /// (each token random per run when unset), with the defaults a laptop needs.
    pub fn from_env() -> anyhow::Result<Self> {
        use common::config::{env_opt, env_or};
        let jwt_secret: Option<String> = env_opt("JWT_SECRET")?;
        let jwks_url: Option<String> = env_opt("AUTH_JWKS_URL")?;
        Ok(Self {
            database_url: env_or(
                "DATABASE_URL",
                common::config::DEFAULT_DATABASE_URL.to_owned(),
            )?,
            auth: AuthSettings {
                jwt_secret: Some(
                    jwt_secret
                        .unwrap_or_else(|| DEV_JWT_SECRET.to_owned())
                        .into(),
                ),
                jwks_url,
                issuer: env_opt("AUTH_ISSUER")?,
                audience: env_opt("AUTH_AUDIENCE")?,
            },
            database_url_of: Default::default(),
            resources_dir: env_opt::<PathBuf>("FLEET_RESOURCES")?
                .unwrap_or_else(default_resources_dir),
            ports: DEFAULT_PORTS.to_vec(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            delivery: None,
            app_health: Some(dev_sidecar::AppHealth::default()),
            assistant: None,
            app_api_token: env_opt("APP_API_TOKEN")?.unwrap_or_else(random_token),
            dapr_api_token: env_opt("DAPR_API_TOKEN")?.unwrap_or_else(random_token),
        })
    }
}

struct Running {
    stop: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// One instance of a service: its ports, settings and, while it runs, its task.
struct Instance {
    ports: ServicePorts,
    settings: ServiceSettings,
    running: Option<Running>,
}

/// A running fleet.
pub struct Fleet {
    /// The ports actually bound, per service instance (a name appears twice for two replicas).
    pub ports: Vec<ServicePorts>,
    instances: Vec<Instance>,
    pool: sqlx::PgPool,
    sidecar: DevSidecar,
    assistant: Option<backend_api::assistant::AssistantSettings>,
    dapr_api_token: String,
    app_api_token: String,
}

impl Fleet {
    /// Prepares the database, binds every service, then starts the sidecars (which find the
    /// already-open app ports, read subscriptions and start delivering). Listing a service twice
    /// in `config.ports` runs two replicas of it, each with its own sidecar.
    pub async fn start(config: FleetConfig) -> anyhow::Result<Self> {
        common::db::ensure_database(&config.database_url)
            .await
            .context("cannot reach or create the database")?;
        let pool = common::db::connect(&config.database_url, 30)
            .await
            .context("cannot connect to the database")?;
        common::db::MIGRATOR
            .run(&pool)
            .await
            .context("migrations failed")?;
        let mut instances = Vec::new();
        let mut apps = Vec::new();
        // Sidecar sockets are bound here, before the services learn their ports, and handed to
        // the dev sidecar: a port picked and released would be up for grabs in between.
        let mut sidecar_sockets = std::collections::HashMap::new();
        for wanted in &config.ports {
            let socket = std::net::TcpListener::bind(("127.0.0.1", wanted.sidecar_port))
                .with_context(|| {
                    format!(
                        "cannot bind the sidecar port {} of {}",
                        wanted.sidecar_port, wanted.name
                    )
                })?;
            let sidecar_port = socket.local_addr()?.port();
            let settings = ServiceSettings {
                host: config.host,
                port: wanted.app_port,
                dapr_http_port: sidecar_port,
                dapr_api_token: Some(config.dapr_api_token.as_str().into()),
                app_api_token: Some(config.app_api_token.as_str().into()),
                database_url: config
                    .database_url_of
                    .get(wanted.name)
                    .unwrap_or(&config.database_url)
                    .clone(),
                database_max_connections: 10,
                auth: config.auth.clone(),
            };
            settings.validate()?;
            settings.check_environment(common::config::Environment::Development)?;
            let service = build_service(wanted.name, settings.clone(), &config.assistant)
                .await
                .with_context(|| {
                    format!("cannot start {} on port {}", wanted.name, wanted.app_port)
                })?;
            let ports = ServicePorts {
                name: wanted.name,
                app_port: service.port(),
                sidecar_port,
            };
            let replica = instances
                .iter()
                .filter(|i: &&Instance| i.ports.name == wanted.name)
                .count();
            let instance = format!("{}-{replica}", wanted.name);
            sidecar_sockets.insert(instance.clone(), socket);
            apps.push(AppSpec {
                app_id: wanted.name.to_owned(),
                instance,
                pod_name: None,
                app_address: std::net::IpAddr::from([127, 0, 0, 1]),
                health: config.app_health.clone(),
                app_port: ports.app_port,
                sidecar_port,
                app_api_token: Some(config.app_api_token.clone()),
                dapr_api_token: Some(config.dapr_api_token.clone()),
            });
            // Restarts reuse the port the sidecar knows.
            let settings = ServiceSettings {
                port: ports.app_port,
                ..settings
            };
            instances.push(Instance {
                ports,
                settings,
                running: Some(spawn(service)),
            });
        }
        let sidecar = dev_sidecar::start_with_listeners(
            SidecarConfig {
                resources_dir: config.resources_dir.clone(),
                apps,
                delivery: config.delivery.clone(),
                ..SidecarConfig::default()
            },
            sidecar_sockets,
        )
        .await
        .context("cannot start the dev sidecar")?;
        let ports = instances.iter().map(|i| i.ports).collect();
        Ok(Self {
            ports,
            instances,
            pool,
            sidecar,
            assistant: config.assistant,
            dapr_api_token: config.dapr_api_token,
            app_api_token: config.app_api_token,
        })
    }

    /// The app port of the first instance of `service`.
    pub fn app_port(&self, service: &str) -> Option<u16> {
        self.ports
            .iter()
            .find(|p| p.name == service)
            .map(|p| p.app_port)
    }

    /// The dev sidecar (to inspect published messages).
    pub fn sidecar(&self) -> &DevSidecar {
        &self.sidecar
    }

    /// The token every sidecar port requires as `dapr-api-token` (see [`FleetConfig`]).
    pub fn dapr_api_token(&self) -> &str {
        &self.dapr_api_token
    }

    /// The token every sidecar sends to its app as `dapr-api-token` (see [`FleetConfig`]).
    pub fn app_api_token(&self) -> &str {
        &self.app_api_token
    }

    /// The fleet's database pool.
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// Stops every instance of `service` (as a crash or a deploy would); its sidecar keeps
    /// running and holds its messages until the service is back.
    pub async fn stop_service(&mut self, service: &str) {
        for instance in self
            .instances
            .iter_mut()
            .filter(|i| i.ports.name == service)
        {
            if let Some(running) = instance.running.take() {
                stop(running).await;
            }
        }
    }

    /// Kills every instance of `service` as a crash would: in-flight requests and background
    /// work are dropped where they stand (open transactions roll back); its sidecar keeps its
    /// messages until the service is back.
    pub async fn kill_service(&mut self, service: &str) {
        for instance in self
            .instances
            .iter_mut()
            .filter(|i| i.ports.name == service)
        {
            if let Some(running) = instance.running.take() {
                running.handle.abort();
                // The aborted task is gone once this returns, and with it the listener.
                let _ = running.handle.await;
            }
        }
    }

    /// Starts the stopped instances of `service` again on their old ports.
    pub async fn start_service(&mut self, service: &str) -> anyhow::Result<()> {
        for instance in self
            .instances
            .iter_mut()
            .filter(|i| i.ports.name == service && i.running.is_none())
        {
            let built = build_service(
                instance.ports.name,
                instance.settings.clone(),
                &self.assistant,
            )
            .await?;
            instance.running = Some(spawn(built));
        }
        Ok(())
    }

    /// Stops every service (draining in-flight work) and the sidecar, within 10 s.
    pub async fn stop(self) {
        let stops = self
            .instances
            .into_iter()
            .filter_map(|i| i.running)
            .map(stop);
        if tokio::time::timeout(Duration::from_secs(9), futures::future::join_all(stops))
            .await
            .is_err()
        {
            tracing::warn!("services did not stop in time");
        }
        self.sidecar.shutdown().await;
    }
}

fn spawn(service: Service) -> Running {
    let stop = CancellationToken::new();
    let handle = tokio::spawn(service.run_until_stopped(stop.clone()));
    Running { stop, handle }
}

async fn stop(running: Running) {
    running.stop.cancel();
    match running.handle.await {
        Ok(Err(error)) => tracing::error!(error = ?error, "service stopped with an error"),
        Err(error) => tracing::error!(%error, "service task failed"),
        Ok(Ok(())) => {}
    }
}

/// Builds one service the way its binary does (`Settings` from the environment, for the
/// rest of what `fleet` does not set), with `settings` for the port, sidecar and tokens.
async fn build_service(
    name: &str,
    settings: ServiceSettings,
    assistant: &Option<backend_api::assistant::AssistantSettings>,
) -> anyhow::Result<Service> {
    match name {
        backend_api::startup::SERVICE => {
            let mut settings = backend_api::Settings::from_env_for(settings)?;
            if let Some(assistant) = assistant {
                settings.assistant = assistant.clone();
            }
            backend_api::build(settings).await
        }
        websocket::SERVICE => websocket::build(websocket::Settings::from_env_for(settings)?).await,
        notification::SERVICE => {
            let mut push = notification::push::PushSettings::from_env()?;
            if push.key.is_none() {
                tracing::warn!(
                    "using the built-in development VAPID key for Web Push; set VAPID_PRIVATE_KEY \
                     (`fleet vapid-keys`) for anything shared"
                );
                push.key = Some(
                    notification::push::VapidKey::from_private_key(
                        notification::push::DEV_VAPID_PRIVATE_KEY,
                    )
                    .map_err(anyhow::Error::msg)?,
                );
            }
            notification::build(notification::Settings {
                push,
                ..notification::Settings::new(settings)
            })
            .await
        }
        audit::SERVICE => audit::build(audit::Settings::from_env_for(settings)?).await,
        recurring::SERVICE => recurring::build(recurring::Settings::new(settings)).await,
        other => anyhow::bail!("unknown service {other}"),
    }
}
