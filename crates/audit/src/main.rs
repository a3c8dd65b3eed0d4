//! The audit binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.
//! `audit dead-letters list|replay <id|all>|discard <id|all>` handles the events audit could
//! not record (see `common::dead_letters`).

/// mimalloc instead of glibc's malloc (docs/adr/0006-mimalloc.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    common::dead_letters::serve_or_command(audit::SERVICE, async {
        let service = audit::build(audit::Settings::from_env()?).await?;
        service
            .run_until_stopped(common::server::signal_token())
            .await
    })
    .await
}
