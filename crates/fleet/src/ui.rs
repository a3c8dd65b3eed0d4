//! The Next.js UI beside the fleet: `frontend/scripts/start.sh` installs npm packages and builds
//! on first use, then serves http://127.0.0.1:3000. Its Better Auth issues the JWTs the services
//! verify through `AUTH_JWKS_URL`.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::{Child, Command};

/// The port the UI serves on.
pub const UI_PORT: u16 = 3000;

/// Where the UI publishes its signing keys, for the services' `AUTH_JWKS_URL`.
pub fn jwks_url() -> String {
    format!("http://127.0.0.1:{UI_PORT}/api/auth/jwks")
}

fn start_script() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../frontend/scripts/start.sh"
    ))
}

/// Whether the UI should and can run: `FLEET_UI` is not `0`, the frontend is checked out and
/// Node.js is installed.
pub fn wanted() -> bool {
    let enabled = std::env::var("FLEET_UI").map(|v| v != "0").unwrap_or(true);
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if enabled && !node {
        tracing::warn!(
            "Node.js not found: running without the UI (install Node.js 20+ for http://127.0.0.1:3000)"
        );
    }
    enabled && node && start_script().exists()
}

/// The running UI process group.
pub struct Ui {
    child: Child,
}

impl Ui {
    /// Starts the UI against `database_url` (Better Auth keeps its tables there).
    pub fn spawn(database_url: &str) -> std::io::Result<Self> {
        let child = Command::new("bash")
            .arg(start_script())
            .env("DATABASE_URL", database_url)
            .env("PORT", UI_PORT.to_string())
            // fleet is a development tool: the UI may fall back to its development secret.
            .env("TASKFLEET_ENV", "development")
            // Its own process group, so stopping it also stops a running npm install or build.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self { child })
    }

    /// Stops the UI and everything it started.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .status()
                .await;
        }
        if tokio::time::timeout(std::time::Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
