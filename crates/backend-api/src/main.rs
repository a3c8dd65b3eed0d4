//! The backend-api binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.
//! `backend-api migrate` applies the database migrations and exits (the Helm hook Job); sqlx's
//! migrator holds a Postgres advisory lock, so concurrent runs wait instead of racing.

use backend_api::startup::PORT;
use common::config::ServiceSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some("migrate") => {
            // Needs nothing but the database: the hook Job carries no tokens.
            let database_url: String = common::config::env_or(
                "DATABASE_URL",
                common::config::DEFAULT_DATABASE_URL.to_owned(),
            )?;
            let pool = common::db::connect(&database_url, 1).await?;
            common::db::MIGRATOR.run(&pool).await?;
            tracing::info!("migrations applied");
            return Ok(());
        }
        Some(other) => {
            anyhow::bail!("unknown command {other:?}; usage: backend-api [serve|migrate]")
        }
    }
    let settings = ServiceSettings::from_env(PORT)?;
    let service = backend_api::startup::build(settings).await?;
    service
        .run_until_stopped(common::server::signal_token())
        .await
}
