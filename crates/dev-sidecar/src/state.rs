//! State stores (docs/dapr-behaviour.md §4). `state.redis` talks to a real Redis with the same
//! hash layout and Lua scripts as Dapr's Redis component (fields `data`, `version`,
//! `first-write`), so the ETag and first-write behaviour is the component's, not an approximation
//! of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use crate::components::{Component, ComponentKind};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("possible etag mismatch. error from state store: {0}")]
    EtagMismatch(String),
    #[error("invalid etag value: {0}")]
    EtagInvalid(String),
    #[error("{0}")]
    Store(String),
}

/// One save request item after validation.
pub struct SaveItem {
    pub key: String,
    /// The value's JSON text, stored and returned verbatim.
    pub data: String,
    pub etag: Option<String>,
    pub first_write: bool,
    pub ttl_seconds: Option<i64>,
}

const SET_SCRIPT: &str = r#"
local var1 = redis.pcall("HGET", KEYS[1], "version");
if type(var1) == "table" then redis.call("DEL", KEYS[1]); end;
local var2 = redis.pcall("HGET", KEYS[1], "first-write");
if not var1 or type(var1) == "table" or var1 == "" or var1 == ARGV[1] or (not var2 and ARGV[1] == "0") then
  redis.call("HSET", KEYS[1], "data", ARGV[2]);
  if ARGV[3] == "0" then redis.call("HSET", KEYS[1], "first-write", 0); end;
  local version = redis.call("HINCRBY", KEYS[1], "version", 1);
  local ttl = tonumber(ARGV[4]);
  if ttl ~= nil then
    if ttl > 0 then redis.call("EXPIRE", KEYS[1], ttl) else redis.call("PERSIST", KEYS[1]) end;
  end;
  return version
else
  return error("failed to set key " .. KEYS[1])
end"#;

const DELETE_SCRIPT: &str = r#"
local var1 = redis.pcall("HGET", KEYS[1], "version");
if not var1 or type(var1) == "table" or var1 == ARGV[1] or var1 == "" or ARGV[1] == "0" then
  return redis.call("DEL", KEYS[1])
else
  return error("failed to delete " .. KEYS[1])
end"#;

#[derive(Debug, Clone)]
struct MemEntry {
    data: String,
    version: u64,
    first_write: bool,
    expires_at: Option<Instant>,
}

/// Shared by every app using one `state.in-memory` component, like one Redis would be.
#[derive(Default, Debug)]
pub struct MemoryBackend {
    entries: Mutex<HashMap<String, MemEntry>>,
}

enum Backend {
    Redis {
        client: redis::Client,
        connection: OnceCell<ConnectionManager>,
    },
    Memory(Arc<MemoryBackend>),
}

/// One state component as seen by one app: the key prefix depends on the app.
pub struct StateStore {
    prefix: Option<String>,
    backend: Backend,
}

impl StateStore {
    pub fn new(
        component: &Component,
        app_id: &str,
        pod_name: Option<&str>,
        memory: Arc<MemoryBackend>,
    ) -> anyhow::Result<Self> {
        let meta = |name: &str| component.meta(name, app_id, pod_name);
        let prefix = match meta("keyPrefix").as_deref().unwrap_or("appid") {
            "appid" | "namespace" | "" => Some(app_id.to_owned()),
            "name" => Some(component.name.clone()),
            "none" => None,
            other => Some(other.to_ascii_lowercase()),
        };
        let backend = if component.kind == ComponentKind::StateRedis {
            let host = meta("redisHost").context("state.redis needs redisHost")?;
            let password = meta("redisPassword").filter(|p| !p.is_empty());
            let db = meta("redisDB").unwrap_or_else(|| "0".to_owned());
            let auth = password
                .map(|p| format!(":{}@", percent_encode(&p)))
                .unwrap_or_default();
            let client = redis::Client::open(format!("redis://{auth}{host}/{db}"))
                .with_context(|| format!("redis address of component {}", component.name))?;
            Backend::Redis {
                client,
                connection: OnceCell::new(),
            }
        } else {
            Backend::Memory(memory)
        };
        Ok(Self { prefix, backend })
    }

    fn full_key(&self, key: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}||{key}"),
            None => key.to_owned(),
        }
    }

    /// Connecting lazily lets the sidecar start while Redis is still coming up.
    async fn redis(&self) -> Result<Option<ConnectionManager>, StateError> {
        let Backend::Redis { client, connection } = &self.backend else {
            return Ok(None);
        };
        let manager = connection
            .get_or_try_init(|| ConnectionManager::new(client.clone()))
            .await
            .map_err(|e| StateError::Store(format!("redis connection: {e}")))?;
        Ok(Some(manager.clone()))
    }

    /// The stored JSON text and its ETag, or `None` when missing or expired.
    pub async fn get(&self, key: &str) -> Result<Option<(String, String)>, StateError> {
        let key = self.full_key(key);
        if let Some(mut conn) = self.redis().await? {
            let fields: HashMap<String, String> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(|e| StateError::Store(e.to_string()))?;
            return Ok(fields.get("data").map(|data| {
                (
                    data.clone(),
                    fields.get("version").cloned().unwrap_or_default(),
                )
            }));
        }
        let Backend::Memory(memory) = &self.backend else {
            return Ok(None);
        };
        let mut entries = lock(memory);
        Ok(live_entry(&mut entries, &key).map(|e| (e.data.clone(), e.version.to_string())))
    }

    pub async fn save(&self, item: SaveItem) -> Result<(), StateError> {
        let key = self.full_key(&item.key);
        let version = parse_etag(item.etag.as_deref())?;
        if let Some(mut conn) = self.redis().await? {
            let result: Result<i64, _> = redis::Script::new(SET_SCRIPT)
                .key(&key)
                .arg(version.to_string())
                .arg(&item.data)
                .arg(if item.first_write { "0" } else { "1" })
                .arg(item.ttl_seconds.map(|t| t.to_string()).unwrap_or_default())
                .invoke_async(&mut conn)
                .await;
            return result
                .map(|_| ())
                .map_err(|e| conflict(item.etag.is_some(), e.to_string()));
        }
        let Backend::Memory(memory) = &self.backend else {
            return Ok(());
        };
        let mut entries = lock(memory);
        let current = live_entry(&mut entries, &key).cloned();
        let allowed = match &current {
            None => true,
            Some(e) => e.version == version || (!e.first_write && version == 0),
        };
        if !allowed {
            return Err(conflict(
                item.etag.is_some(),
                format!("failed to set key {key}"),
            ));
        }
        let expires_at = match (item.ttl_seconds, &current) {
            (Some(ttl), _) if ttl > 0 => {
                Some(Instant::now() + Duration::from_secs(ttl.unsigned_abs()))
            }
            (Some(_), _) => None,
            (None, Some(e)) => e.expires_at,
            (None, None) => None,
        };
        entries.insert(
            key,
            MemEntry {
                data: item.data,
                version: current.as_ref().map_or(0, |e| e.version) + 1,
                first_write: item.first_write || current.is_some_and(|e| e.first_write),
                expires_at,
            },
        );
        Ok(())
    }

    pub async fn delete(&self, key: &str, etag: Option<&str>) -> Result<(), StateError> {
        let key = self.full_key(key);
        let version = parse_etag(etag)?;
        if let Some(mut conn) = self.redis().await? {
            let result: Result<i64, _> = redis::Script::new(DELETE_SCRIPT)
                .key(&key)
                .arg(version.to_string())
                .invoke_async(&mut conn)
                .await;
            return result
                .map(|_| ())
                .map_err(|e| conflict(etag.is_some(), e.to_string()));
        }
        let Backend::Memory(memory) = &self.backend else {
            return Ok(());
        };
        let mut entries = lock(memory);
        match live_entry(&mut entries, &key) {
            Some(e) if version != 0 && e.version != version => {
                Err(conflict(etag.is_some(), format!("failed to delete {key}")))
            }
            _ => {
                entries.remove(&key);
                Ok(())
            }
        }
    }
}

/// Dapr reports any failed conditional write as an ETag mismatch when an ETag was sent, and as
/// a plain store error otherwise (which is why first-write conflicts surface as 500).
fn conflict(had_etag: bool, message: String) -> StateError {
    if had_etag {
        StateError::EtagMismatch(message)
    } else {
        StateError::Store(message)
    }
}

/// Redis ETags are the integer version; no ETag is version 0, which the scripts treat as
/// "unconditional".
fn parse_etag(etag: Option<&str>) -> Result<u64, StateError> {
    match etag {
        None | Some("") => Ok(0),
        Some(etag) => etag
            .parse()
            .map_err(|_| StateError::EtagInvalid(etag.to_owned())),
    }
}

fn lock(memory: &MemoryBackend) -> std::sync::MutexGuard<'_, HashMap<String, MemEntry>> {
    memory
        .entries
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn live_entry<'a>(entries: &'a mut HashMap<String, MemEntry>, key: &str) -> Option<&'a MemEntry> {
    if entries
        .get(key)
        .and_then(|e| e.expires_at)
        .is_some_and(|at| at <= Instant::now())
    {
        entries.remove(key);
    }
    entries.get(key)
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
