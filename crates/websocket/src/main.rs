//! The websocket binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.

use common::config::ServiceSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    let settings = ServiceSettings::from_env(websocket::PORT)?;
    let service = websocket::build(&settings).await?;
    service
        .run_until_stopped(common::server::signal_token())
        .await
}
