//! The backend-api binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.

use backend_api::startup::{Application, PORT};
use common::CancellationToken;
use common::config::ServiceSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    let settings = ServiceSettings::from_env(PORT)?;
    let application = Application::build(settings).await?;
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        common::server::shutdown_signal().await;
        signal.cancel();
    });
    application.run_until_stopped(shutdown).await
}
