//! The notification binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.

/// mimalloc instead of glibc's malloc (docs/adr/0006-mimalloc.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    let server = notification::build(notification::Settings::from_env()?).await?;
    server
        .run_until_stopped(common::server::signal_token())
        .await?;
    Ok(())
}
