//! The notification binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.

use common::config::ServiceSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    let settings = ServiceSettings::from_env(notification::PORT)?;
    let server = notification::build(&settings).await?;
    server
        .run_until_stopped(common::server::signal_token())
        .await?;
    Ok(())
}
