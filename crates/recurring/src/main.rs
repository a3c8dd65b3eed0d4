//! The recurring binary: telemetry → settings → build → serve until SIGTERM/ctrl-c.
//! `recurring dead-letters list|replay <id|all>|discard <id|all>` handles the completions
//! recurring could not act on (see `common::dead_letters`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn");
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => {}
        Some("dead-letters") => {
            return common::dead_letters::command(recurring::SERVICE, &args[1..]).await;
        }
        Some(other) => {
            anyhow::bail!("unknown command {other:?}; usage: recurring [serve|dead-letters]")
        }
    }
    let server = recurring::build(recurring::Settings::from_env()?).await?;
    server
        .run_until_stopped(common::server::signal_token())
        .await?;
    Ok(())
}
