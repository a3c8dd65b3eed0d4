//! The websocket binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    let service = websocket::build(websocket::Settings::from_env()?).await?;
    service
        .run_until_stopped(common::server::signal_token())
        .await
}
