//! `fleet` — run everything: `fleet` (or `fleet run`) starts the dev sidecar and the five
//! services; `fleet token <user> [hours] [--audience URL]` prints a dev JWT for `curl` (with
//! `--audience http://localhost:8000/mcp`, one for `/mcp`; with `--calendar`, the user's calendar
//! feed URL with a new feed token, rotating the feed).

use std::time::Duration;

use anyhow::Context;
use common::ExposeSecret;
use fleet::{Fleet, FleetConfig};

const USAGE: &str = "usage: fleet [run] | fleet token <user-id> [hours] [--audience URL | --calendar] | fleet vapid-keys";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("run") => run().await,
        Some("token") => token(&args[1..]).await,
        Some("vapid-keys") => {
            // A new VAPID key pair for a deployment's Web Push (the Secret's vapid-private-key).
            let (private_key, key) = notification::push::VapidKey::generate();
            println!("VAPID_PRIVATE_KEY={private_key}");
            println!(
                "# public key (browsers subscribe with it; GET /api/push/public-key): {}",
                key.public_key()
            );
            Ok(())
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown command {other:?}\n{USAGE}"),
    }
}

async fn token(args: &[String]) -> anyhow::Result<()> {
    let mut positional = Vec::new();
    let mut audience = None;
    let mut calendar = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--audience" {
            audience = Some(rest.next().ok_or_else(|| anyhow::anyhow!(USAGE))?.clone());
        } else if arg == "--calendar" {
            calendar = true;
        } else {
            positional.push(arg);
        }
    }
    let user = positional.first().ok_or_else(|| anyhow::anyhow!(USAGE))?;
    let hours: u64 = positional
        .get(1)
        .map(|h| h.parse())
        .transpose()?
        .unwrap_or(24);
    let config = FleetConfig::from_env()?;
    let secret = config
        .auth
        .jwt_secret
        .clone()
        .ok_or_else(|| anyhow::anyhow!("JWT_SECRET is not set"))?;
    let now = jsonwebtoken_now();
    if calendar {
        return calendar_url(&config, user, now + hours * 3600, secret.expose_secret()).await;
    }
    // An agent token works only while registered (and not revoked) in backend-api's registry,
    // which lives in the fleet's database.
    let jti = match &audience {
        Some(_) => {
            let pool = common::db::connect(&config.database_url, 1)
                .await
                .context("an agent token is registered in the database: start fleet once first")?;
            let row = backend_api::mcp::tokens::register(
                &pool,
                user,
                "fleet token",
                chrono::Duration::hours(i64::try_from(hours.min(90 * 24)).unwrap_or(24)),
            )
            .await
            .context("cannot register the agent token (has fleet migrated this database?)")?;
            Some(row.id.to_string())
        }
        None => None,
    };
    let claims = common::auth::Claims {
        jti,
        sub: (*user).clone(),
        exp: now + Duration::from_secs(hours * 3600).as_secs(),
        iat: Some(now),
        nbf: None,
        token_use: audience
            .is_some()
            .then(|| common::auth::MCP_TOKEN_USE.to_owned()),
        aud: audience.map(serde_json::Value::String),
    };
    println!(
        "{}",
        common::auth::mint_hs256_claims(secret.expose_secret(), &claims)?
    );
    Ok(())
}

/// Turns `user`'s calendar feed on with a new secret (as the UI's Settings page does) and prints
/// its URL, with a feed token signed for backend-api's `CALENDAR_URL`.
async fn calendar_url(
    config: &FleetConfig,
    user: &str,
    exp: u64,
    secret: &str,
) -> anyhow::Result<()> {
    let pool = common::db::connect(&config.database_url, 1)
        .await
        .context("a calendar feed is registered in the database: start fleet once first")?;
    let feed = backend_api::calendar::feeds::rotate(&pool, user)
        .await
        .context("cannot register the calendar feed (has fleet migrated this database?)")?;
    let url = backend_api::calendar::CalendarSettings::from_env(backend_api::startup::PORT)?.url;
    let claims = common::auth::Claims {
        jti: Some(feed.id.to_string()),
        sub: user.to_owned(),
        exp,
        iat: Some(jsonwebtoken_now()),
        nbf: None,
        token_use: Some(common::auth::CALENDAR_TOKEN_USE.to_owned()),
        aud: Some(serde_json::Value::String(url.clone())),
    };
    let token = common::auth::mint_hs256_claims(secret, &claims)?;
    println!("{url}?token={token}");
    Ok(())
}

fn jsonwebtoken_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn run() -> anyhow::Result<()> {
    common::telemetry::init("info,sqlx=warn,tower_http=warn");
    let mut config = FleetConfig::from_env()?;
    let with_ui = fleet::ui::wanted();
    if with_ui && config.auth.jwks_url.is_none() {
        // The UI's Better Auth signs the browser's tokens; the services fetch its keys.
        config.auth.jwks_url = Some(fleet::ui::jwks_url());
    }
    if config
        .auth
        .jwt_secret
        .as_ref()
        .is_some_and(|s| s.expose_secret() == fleet::DEV_JWT_SECRET)
    {
        tracing::warn!(
            "using the built-in development JWT secret; set JWT_SECRET for anything shared"
        );
    }
    let database_url = config.database_url.clone();
    let fleet = Fleet::start(config).await?;
    let ui = if with_ui {
        Some(fleet::ui::Ui::spawn(&database_url)?)
    } else {
        None
    };
    println!("\ntaskfleet is running (dev sidecar, no Dapr needed):");
    for ports in &fleet.ports {
        println!(
            "  {:<13} http://127.0.0.1:{:<5}  sidecar http://127.0.0.1:{}",
            ports.name, ports.app_port, ports.sidecar_port
        );
    }
    if let Some(api) = fleet.app_port(backend_api::startup::SERVICE) {
        println!("\n  API docs      http://127.0.0.1:{api}/docs");
        println!("  a token       cargo run -q -p fleet -- token alice");
        println!(
            "  events        curl -H 'dapr-api-token: {}' http://127.0.0.1:{}/dev/messages",
            fleet.dapr_api_token(),
            fleet.ports[0].sidecar_port
        );
    }
    if ui.is_some() {
        println!(
            "  UI            http://127.0.0.1:{}  (first start installs and builds it: ~2 min)",
            fleet::ui::UI_PORT
        );
    }
    println!("\nctrl-c stops everything.");
    common::server::shutdown_signal().await;
    tracing::info!("stopping");
    if let Some(ui) = ui {
        ui.stop().await;
    }
    fleet.stop().await;
    Ok(())
}
