//! Cron input bindings (docs/dapr-behaviour.md §6.1–6.3). Like real Dapr, every instance of a
//! scoped app runs its own schedule, and a failed tick is not re-delivered.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Local, Utc};

use crate::components::{Component, ComponentKind};
use crate::runtime::{AppInstance, Shared};

#[derive(Debug)]
enum Schedule {
    /// `@every` counts from when the binding starts, not from wall-clock boundaries.
    Every(Duration),
    Cron(Box<cron::Schedule>),
}

pub async fn start(shared: &Arc<Shared>, app: &Arc<AppInstance>) {
    let bindings: Vec<Component> = shared
        .components_for(&app.app_id, ComponentKind::CronBinding)
        .cloned()
        .collect();
    for component in bindings {
        let meta = |name: &str| component.meta(name, &app.app_id, app.pod_name.as_deref());
        let schedule = match meta("schedule").as_deref().map(parse_schedule) {
            Some(Ok(schedule)) => schedule,
            Some(Err(error)) => {
                tracing::error!(binding = %component.name, %error, "invalid cron schedule; binding not started");
                continue;
            }
            None => {
                tracing::error!(binding = %component.name, "cron binding without schedule; binding not started");
                continue;
            }
        };
        let route = crate::subscriptions::normalize_path(
            &meta("route")
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| component.name.clone()),
        );
        let direction = meta("direction").unwrap_or_default();
        if !direction.contains("input") && !probe(shared, app, &route).await {
            tracing::info!(app_id = %app.app_id, binding = %component.name, %route, "app has not subscribed to binding");
            continue;
        }
        tracing::info!(app_id = %app.app_id, instance = %app.instance, binding = %component.name, %route, ?schedule, "cron binding started");
        let (shared2, app2, name) = (shared.clone(), app.clone(), component.name.clone());
        shared.spawn(async move { run(shared2, app2, name, route, schedule).await });
    }
}

/// Without `direction: input` daprd asks the app with OPTIONS; 2xx or 405 means subscribed.
async fn probe(shared: &Shared, app: &AppInstance, route: &str) -> bool {
    let url = format!("http://{}{route}", app.app_socket());
    match shared
        .http
        .request(reqwest::Method::OPTIONS, url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
    {
        Ok(r) => r.status().is_success() || r.status() == reqwest::StatusCode::METHOD_NOT_ALLOWED,
        Err(_) => false,
    }
}

async fn run(
    shared: Arc<Shared>,
    app: Arc<AppInstance>,
    name: String,
    route: String,
    schedule: Schedule,
) {
    let started = tokio::time::Instant::now();
    let mut ticks: u32 = 0;
    loop {
        let wait = match &schedule {
            Schedule::Every(interval) => {
                ticks = ticks.saturating_add(1);
                (started + interval.saturating_mul(ticks))
                    .saturating_duration_since(tokio::time::Instant::now())
            }
            Schedule::Cron(cron) => match cron.upcoming(Local).next() {
                Some(next) => (next - Local::now()).to_std().unwrap_or_default(),
                None => return,
            },
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.cancel.cancelled() => return,
        }
        // daprd pauses input bindings while health checks say the app is unhealthy.
        if app.healthy.load(std::sync::atomic::Ordering::Acquire) {
            fire(&shared, &app, &name, &route).await;
        }
    }
}

async fn fire(shared: &Shared, app: &AppInstance, name: &str, route: &str) {
    let url = format!("http://{}{route}", app.app_socket());
    let mut request = shared
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("timeZone", "Local")
        .header("readTimeUTC", go_time_utc(Utc::now()))
        .timeout(Duration::from_secs(30));
    if let Some(token) = &app.api_token {
        request = request.header("dapr-api-token", token);
    }
    match request.send().await {
        Ok(response) if response.status() == reqwest::StatusCode::OK => {
            tracing::debug!(app_id = %app.app_id, binding = %name, "cron tick delivered");
        }
        Ok(response) => {
            tracing::warn!(app_id = %app.app_id, binding = %name, status = %response.status(), "cron tick not answered with 200; it is not re-delivered");
        }
        Err(error) => {
            tracing::warn!(app_id = %app.app_id, binding = %name, %error, "cron tick failed; it is not re-delivered");
        }
    }
}

/// Go's `time.Time.String()` in UTC, the format daprd puts in `readTimeUTC`.
fn go_time_utc(now: chrono::DateTime<Utc>) -> String {
    let nanos = format!("{:09}", now.timestamp_subsec_nanos());
    let fraction = nanos.trim_end_matches('0');
    let fraction = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{fraction}")
    };
    format!("{}{fraction} +0000 UTC", now.format("%Y-%m-%d %H:%M:%S"))
}

/// robfig/cron syntax: `@every <Go duration>`, descriptors, or 5/6-field expressions with an
/// optional seconds field. Times are evaluated in local time, as daprd does.
fn parse_schedule(spec: &str) -> anyhow::Result<Schedule> {
    let spec = spec.trim();
    if let Some(duration) = spec.strip_prefix("@every ") {
        let interval = parse_go_duration(duration.trim())?;
        anyhow::ensure!(!interval.is_zero(), "@every needs a positive duration");
        return Ok(Schedule::Every(interval));
    }
    if spec.starts_with("CRON_TZ=") || spec.starts_with("TZ=") {
        anyhow::bail!("time-zone prefixes are not supported by the dev sidecar");
    }
    let expression = match spec {
        "@midnight" => "@daily".to_owned(),
        "@annually" => "@yearly".to_owned(),
        s if !s.starts_with('@') && s.split_whitespace().count() == 5 => format!("0 {s}"),
        s => s.to_owned(),
    };
    Ok(Schedule::Cron(Box::new(cron::Schedule::from_str(
        &expression,
    )?)))
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units, e.g. `1m30s`, `500ms`.
pub fn parse_go_duration(text: &str) -> anyhow::Result<Duration> {
    anyhow::ensure!(!text.is_empty(), "empty duration");
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| anyhow::anyhow!("invalid duration {text:?}"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => anyhow::bail!("unknown unit {unit:?} in duration {text:?}"),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_durations_parse_like_time_parse_duration() {
        assert_eq!(parse_go_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert!(parse_go_duration("5x").is_err());
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn five_and_six_field_expressions_and_descriptors_are_accepted() {
        assert!(matches!(
            parse_schedule("*/5 * * * *").unwrap(),
            Schedule::Cron(_)
        ));
        assert!(matches!(
            parse_schedule("0 * * * * *").unwrap(),
            Schedule::Cron(_)
        ));
        assert!(matches!(
            parse_schedule("@hourly").unwrap(),
            Schedule::Cron(_)
        ));
        assert!(matches!(
            parse_schedule("@every 30s").unwrap(),
            Schedule::Every(_)
        ));
        assert!(parse_schedule("not a schedule").is_err());
    }
}
