//! The backend-api binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.
//! `backend-api migrate` applies the database migrations and exits (the Helm hook Job); sqlx's
//! migrator holds a Postgres advisory lock, so concurrent runs wait instead of racing.
//! `backend-api outbox parked|replay <id|all>|discard <id|all>` handles outbox rows the
//! sidecar refused for good (one outbox table serves every service's relay).

/// mimalloc instead of glibc's malloc (docs/adr/0006-mimalloc.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some("migrate") => {
            // Needs nothing but the database: the hook Job carries no tokens.
            let pool = common::db::operator_pool().await?;
            common::db::MIGRATOR.run(&pool).await?;
            tracing::info!("migrations applied");
            return Ok(());
        }
        Some("outbox") => return outbox_command(std::env::args().skip(2).collect()).await,
        Some(other) => {
            anyhow::bail!("unknown command {other:?}; usage: backend-api [serve|migrate|outbox]")
        }
    }
    let service = backend_api::build(backend_api::Settings::from_env()?).await?;
    service
        .run_until_stopped(common::server::signal_token())
        .await
}

const OUTBOX_USAGE: &str = "usage: backend-api outbox parked | replay <id|all> | discard <id|all>";

/// Lists, replays or discards parked outbox rows; needs only `DATABASE_URL`.
async fn outbox_command(args: Vec<String>) -> anyhow::Result<()> {
    let pool = common::db::operator_pool().await?;
    let target =
        |arg: Option<&String>| common::db::row_target(arg.map(String::as_str), OUTBOX_USAGE);
    match args.first().map(String::as_str) {
        Some("parked") => {
            for row in common::outbox::parked_rows(&pool).await? {
                println!("{}", serde_json::to_string(&row)?);
            }
        }
        Some("replay") => {
            let replayed = common::outbox::replay_parked(&pool, target(args.get(1))?).await?;
            println!("replayed {replayed} parked row(s)");
        }
        Some("discard") => {
            let discarded = common::outbox::discard_parked(&pool, target(args.get(1))?).await?;
            println!("discarded {discarded} parked row(s)");
        }
        _ => anyhow::bail!(OUTBOX_USAGE),
    }
    Ok(())
}
