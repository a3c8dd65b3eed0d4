//! Create-task throughput: `clients` workers POST tasks back to back for the duration.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Options;
use crate::report::Measured;

pub fn tokens(options: &Options, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
    (0..count)
        .map(|i| {
            Ok(common::auth::mint_hs256(
                &options.secret,
                &format!("{prefix}-{i}"),
                Duration::from_secs(3600),
            )?)
        })
        .collect()
}

pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()?)
}

pub async fn create_tasks(options: &Options, clients: usize) -> anyhow::Result<Measured> {
    let tokens = Arc::new(tokens(options, "load-user", options.users)?);
    let http = client()?;
    let url = format!("{}/api/tasks", options.api);
    let body = json!({"title": "a task title", "description": "some description", "priority": "high", "tags": ["work", "home"]});
    let started = Instant::now();
    let deadline = started + options.duration;
    let workers = (0..clients).map(|worker| {
        let (http, url, body, tokens) = (http.clone(), url.clone(), body.clone(), tokens.clone());
        tokio::spawn(async move {
            let mut measured = Measured::new();
            let mut n = worker;
            while Instant::now() < deadline {
                let token = &tokens[n % tokens.len()];
                n += clients;
                let sent = Instant::now();
                match http.post(&url).bearer_auth(token).json(&body).send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        measured.record(sent.elapsed().as_micros() as u64);
                        measured.ok += 1;
                    }
                    _ => measured.errors += 1,
                }
            }
            measured
        })
    });
    let mut total = Measured::new();
    for worker in futures::future::join_all(workers).await {
        total.merge(&worker?);
    }
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}
