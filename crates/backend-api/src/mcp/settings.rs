//! `/mcp`'s settings: its public URL (the audience its tokens carry), the `Host` values it
//! answers and the authorization servers it advertises.

use common::config::{ConfigError, env_opt, env_or};

/// Where `/mcp` is reachable and who may reach it.
#[derive(Debug, Clone)]
pub struct McpSettings {
    /// `MCP_ENABLED` (default `true`).
    pub enabled: bool,
    /// `MCP_URL`: the endpoint's public URL, the audience tokens must carry (default
    /// `http://localhost:<PORT>/mcp`).
    pub url: String,
    /// `MCP_ALLOWED_HOSTS`: comma-separated `Host` values accepted (default: the host of
    /// `MCP_URL` plus `localhost`, `127.0.0.1`, `::1`); `*` accepts any host.
    pub allowed_hosts: Vec<String>,
    /// `MCP_AUTHORIZATION_SERVERS`: comma-separated issuer URLs advertised in the
    /// protected-resource metadata, where agents get tokens (default: none advertised).
    pub authorization_servers: Vec<String>,
}

/// Where the endpoint is served (a proxy may publish it elsewhere: `MCP_URL` says where).
pub const PATH: &str = "/mcp";
pub(super) const METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

fn invalid(name: &str, problem: &str) -> ConfigError {
    ConfigError {
        name: name.to_owned(),
        problem: problem.to_owned(),
    }
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl McpSettings {
    /// Enabled at `url`, accepting its host and the loopback names.
    pub fn for_url(url: &str) -> Result<Self, ConfigError> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| invalid("MCP_URL", "must be an absolute http(s) URL"))?;
        let mut allowed_hosts: Vec<String> = LOOPBACK.iter().map(|h| (*h).to_owned()).collect();
        if let Some(host) = parsed.host_str() {
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            if !allowed_hosts.contains(&host) {
                allowed_hosts.push(host);
            }
        }
        Ok(Self {
            enabled: true,
            url: url.to_owned(),
            allowed_hosts,
            authorization_servers: Vec::new(),
        })
    }

    /// Reads `MCP_*`; `port` is the service's port, for the default URL.
    pub fn from_env(port: u16) -> Result<Self, ConfigError> {
        let url = env_or("MCP_URL", format!("http://localhost:{port}/mcp"))?;
        let mut settings = Self::for_url(&url)?;
        settings.enabled = env_or("MCP_ENABLED", true)?;
        if let Some(hosts) = env_opt::<String>("MCP_ALLOWED_HOSTS")? {
            settings.allowed_hosts = list(&hosts);
            if settings.allowed_hosts.is_empty() {
                return Err(invalid("MCP_ALLOWED_HOSTS", "name at least one host, or *"));
            }
        }
        if let Some(servers) = env_opt::<String>("MCP_AUTHORIZATION_SERVERS")? {
            settings.authorization_servers = list(&servers);
        }
        Ok(settings)
    }

    /// The public URL of the protected-resource metadata (RFC 9728: the well-known path with
    /// the resource's path appended, on the resource's origin).
    pub(super) fn metadata_url(&self) -> String {
        match reqwest::Url::parse(&self.url) {
            Ok(url) => format!(
                "{}/.well-known/oauth-protected-resource{}",
                url.origin().ascii_serialization(),
                url.path().trim_end_matches('/')
            ),
            Err(_) => METADATA_PATH.to_owned(),
        }
    }
}
