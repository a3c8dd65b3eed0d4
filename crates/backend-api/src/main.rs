//! The backend-api binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.
//! `backend-api migrate` applies the database migrations and exits (the Helm hook Job); sqlx's
//! migrator holds a Postgres advisory lock, so concurrent runs wait instead of racing.

use backend_api::startup::PORT;
use common::config::ServiceSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    let settings = ServiceSettings::from_env(PORT)?;
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some("migrate") => {
            let pool = common::db::connect(&settings.database_url, 1).await?;
            common::db::MIGRATOR.run(&pool).await?;
            tracing::info!("migrations applied");
            return Ok(());
        }
        Some(other) => {
            anyhow::bail!("unknown command {other:?}; usage: backend-api [serve|migrate]")
        }
    }
    let service = backend_api::startup::build(settings).await?;
    service
        .run_until_stopped(common::server::signal_token())
        .await
}
