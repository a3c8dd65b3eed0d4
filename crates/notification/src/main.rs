//! The notification binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    let server = notification::build(notification::Settings::from_env()?).await?;
    server
        .run_until_stopped(common::server::signal_token())
        .await?;
    Ok(())
}
