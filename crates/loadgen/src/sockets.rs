//! The socket phases: one websocket replica holding `--sockets` open connections (three per
//! user, each user's first through a ticket and the other two through the JWT itself), then
//! pushes into that crowd:
//!
//! * `targeted`: one event at a time for one user, 20 a second: the latency until each of that
//!   user's three connections has it;
//! * `burst`: `--burst` events published back to back for the first `--burst-users` users: the
//!   fan-out latency of every arrival while the replica works through the burst.
//!
//! The events are `reminder-due` messages published through the websocket's own sidecar on
//! `pubsub-broadcast`, the component and topic the replica subscribes to. Only the websocket
//! service consumes that topic, so the figures are the broker-to-socket path alone: no task
//! rows, no audit entries. Latency is counted from the moment the publish request is sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use common::reminders::{ReminderDueData, ReminderDueEvent};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::Options;
use crate::report::{self, Measured};
use crate::throughput::{client, tokens};

/// Connections per user, as a person with a laptop, a phone and a second tab.
const PER_USER: usize = 3;
/// Connections opened at once while the crowd builds up.
const CONNECTING_AT_ONCE: usize = 64;
/// Publishes in flight at once during the burst.
const PUBLISHING_AT_ONCE: usize = 32;

/// When each published event arrived, per event sequence number (one instant per connection).
#[derive(Default)]
struct Arrivals(Mutex<HashMap<u64, Vec<Instant>>>);

impl Arrivals {
    fn record(&self, seq: u64, at: Instant) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(seq)
            .or_default()
            .push(at);
    }

    fn count(&self, seqs: impl Iterator<Item = u64>) -> usize {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seqs.map(|seq| map.get(&seq).map_or(0, Vec::len)).sum()
    }

    /// Latency of every expected arrival of `sent` (seq → publish instant); an arrival that
    /// never came counts as missing.
    fn measure(&self, sent: &[(u64, Instant)], per_event: usize) -> Measured {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut measured = Measured::new();
        for (seq, at) in sent {
            let arrived = map.get(seq).map_or(&[][..], Vec::as_slice);
            for received in arrived {
                measured.record(received.saturating_duration_since(*at).as_micros() as u64);
                measured.ok += 1;
            }
            measured.missing += per_event.saturating_sub(arrived.len()) as u64;
        }
        measured
    }
}

/// The event ids of this run: UUIDs made of the run and a sequence number, so a rerun against
/// the same replica (which drops event ids it has pushed before) is never taken for a
/// duplicate.
struct EventIds {
    run: u64,
}

impl EventIds {
    fn new() -> Self {
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self { run }
    }

    /// The event id of `seq`: a UUID (notification reads `reminder-due` events strictly) whose
    /// high half is this run and whose low half is `seq`.
    fn id(&self, seq: u64) -> Uuid {
        Uuid::from_u64_pair(self.run, seq)
    }

    fn seq(&self, event_id: &str) -> Option<u64> {
        let (run, seq) = Uuid::parse_str(event_id).ok()?.as_u64_pair();
        (run == self.run).then_some(seq)
    }
}

/// A small xorshift generator: pauses at random moments, no cryptography needed.
struct Jitter(u64);

impl Jitter {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos());
        Self(u64::from(nanos) | 1)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// Opens one connection and spawns its reader, which records the arrival of every event of
/// this run until the connection closes.
async fn connect(
    url: String,
    ids: Arc<EventIds>,
    arrivals: Arc<Arrivals>,
) -> anyhow::Result<JoinHandle<()>> {
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .with_context(|| format!("connecting {}", url.split('?').next().unwrap_or_default()))?;
    Ok(tokio::spawn(async move {
        // Reading also answers the server's pings (tungstenite queues the pong and flushes it
        // on the next read), which keeps the connection alive through heartbeats.
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let received = Instant::now();
            let Ok(push) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if let Some(seq) = push["event_id"].as_str().and_then(|id| ids.seq(id)) {
                arrivals.record(seq, received);
            }
        }
    }))
}

/// A ticket for the user of `token` from the websocket service (`POST /api/realtime/ticket`).
async fn ticket(http: &reqwest::Client, ws_http: &str, token: &str) -> anyhow::Result<String> {
    let body: Value = http
        .post(format!("{ws_http}/api/realtime/ticket"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    body["ticket"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no ticket in {body}"))
}

/// Publishes one `reminder-due` event for `user` through the websocket's sidecar, retrying as
/// the outbox relay would while the broker refuses (the dev broker bounds what its consumers
/// have not taken yet, as a full Kafka producer does), for up to 30 s.
async fn publish(
    http: &reqwest::Client,
    options: &Options,
    ids: &EventIds,
    seq: u64,
    user: &str,
) -> anyhow::Result<()> {
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut pause = Duration::from_millis(5);
    loop {
        match publish_once(http, options, ids, seq, user).await {
            Ok(()) => return Ok(()),
            Err(error) if Instant::now() > give_up => return Err(error),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
        }
    }
}

async fn publish_once(
    http: &reqwest::Client,
    options: &Options,
    ids: &EventIds,
    seq: u64,
    user: &str,
) -> anyhow::Result<()> {
    // A reminder-due event as notification publishes it, so every subscriber takes it as it
    // takes a real one (notification's push sender refuses a malformed one, which the sidecar
    // then dead-letters: work no real reminder causes).
    let now = chrono::Utc::now();
    let data = ReminderDueData {
        task_id: Uuid::now_v7(),
        title: "loadgen".to_owned(),
        reminder_at: now,
        notification_id: Uuid::now_v7(),
        due_date: None,
    };
    let event = ReminderDueEvent {
        event_id: ids.id(seq),
        ..ReminderDueEvent::new(user.to_owned(), 1, data, now)
    };
    let mut request = http
        .post(format!(
            "{}/v1.0/publish/pubsub-broadcast/reminder-due",
            options.sidecar
        ))
        .query(&[("metadata.partitionKey", user)])
        .json(&event);
    if let Some(token) = &options.dapr_api_token {
        request = request.header("dapr-api-token", token);
    }
    request.send().await?.error_for_status()?;
    Ok(())
}

/// Waits until `expected` arrivals of `seqs` came in, or `patience` passed since the last one.
async fn settle(arrivals: &Arrivals, seqs: impl Iterator<Item = u64> + Clone, expected: usize) {
    let patience = Duration::from_secs(5);
    let mut last = (0, Instant::now());
    loop {
        let now = arrivals.count(seqs.clone());
        if now >= expected {
            return;
        }
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > patience {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the socket phases and prints their lines.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let users = options.sockets.div_ceil(PER_USER);
    let tokens = tokens(options, "socket", users)?;
    let ids = Arc::new(EventIds::new());
    let arrivals = Arc::new(Arrivals::default());
    let http = client()?;
    let ws_http = options.ws.replacen("ws", "http", 1);

    // The crowd: each user's first connection through a ticket (spent at once: it lives a
    // minute), the other two through the JWT itself.
    let started = Instant::now();
    let readers: Vec<JoinHandle<()>> = futures::stream::iter(tokens)
        .map(|token| {
            let (http, ids, arrivals, ws_http) =
                (http.clone(), ids.clone(), arrivals.clone(), ws_http.clone());
            async move {
                let ticket = ticket(&http, &ws_http, &token).await?;
                let mut readers = Vec::with_capacity(PER_USER);
                for credential in std::iter::once(&ticket).chain([&token; PER_USER - 1]) {
                    let url = format!("{}/ws?token={credential}", options.ws);
                    readers.push(connect(url, ids.clone(), arrivals.clone()).await?);
                }
                anyhow::Ok(futures::stream::iter(readers.into_iter().map(anyhow::Ok)))
            }
        })
        .buffer_unordered(CONNECTING_AT_ONCE / PER_USER)
        .try_flatten()
        .try_collect()
        .await?;
    println!(
        "sockets      {} open ({users} users × {PER_USER}, one through a ticket, two through the JWT) in {:.1} s",
        readers.len(),
        started.elapsed().as_secs_f64(),
    );
    // Let the server finish registering and settle its allocations before reading its memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    report::print_rss(&format!("{} sockets open", readers.len()));

    // One user's three connections at a time, 20 events a second on average, at random
    // moments: a fixed pace would fall in step with the sidecar's batching ticker and see the
    // same wait every time.
    let mut seq = 0u64;
    let mut sent = Vec::with_capacity(options.targeted);
    let mut errors = 0;
    let mut jitter = Jitter::seeded();
    for i in 0..options.targeted {
        tokio::time::sleep(Duration::from_micros(25_000 + jitter.below(50_000))).await;
        // Spread over the crowd: a different user each time.
        let user = format!("socket-{}", (i * 7919) % users);
        seq += 1;
        let at = Instant::now();
        match publish(&http, options, &ids, seq, &user).await {
            Ok(()) => sent.push((seq, at)),
            Err(_) => errors += 1,
        }
    }
    let seqs = sent.iter().map(|(s, _)| *s).collect::<Vec<_>>();
    settle(&arrivals, seqs.iter().copied(), seqs.len() * PER_USER).await;
    let mut targeted = arrivals.measure(&sent, PER_USER);
    targeted.errors = errors;
    report::print_latency(
        &format!(
            "push to one user's {PER_USER} connections among {} (publish → socket, ~20/s at random moments)",
            readers.len()
        ),
        &targeted,
    );

    // The burst: `--burst` events for the first `--burst-users` users, published back to back.
    let burst_users = options.burst_users.min(users);
    let first = seq + 1;
    let cpu = report::CpuSnapshot::take();
    let started = Instant::now();
    let published: Vec<Option<(u64, Instant)>> =
        futures::stream::iter((0..options.burst as u64).map(|n| {
            let (http, ids) = (http.clone(), ids.clone());
            let user = format!("socket-{}", n as usize % burst_users);
            async move {
                let seq = first + n;
                let at = Instant::now();
                publish(&http, options, &ids, seq, &user)
                    .await
                    .ok()
                    .map(|()| (seq, at))
            }
        }))
        .buffer_unordered(PUBLISHING_AT_ONCE)
        .collect()
        .await;
    let publishing = started.elapsed();
    let errors = published.iter().filter(|p| p.is_none()).count() as u64;
    let sent: Vec<(u64, Instant)> = published.into_iter().flatten().collect();
    settle(
        &arrivals,
        sent.iter().map(|(s, _)| *s),
        sent.len() * PER_USER,
    )
    .await;
    let mut burst = arrivals.measure(&sent, PER_USER);
    burst.errors = errors;
    cpu.print_since("burst");
    report::print_latency(
        &format!(
            "burst of {} events to {burst_users} users × {PER_USER} connections (publish → socket; published in {:.1} s, {:.0}/s)",
            options.burst,
            publishing.as_secs_f64(),
            options.burst as f64 / publishing.as_secs_f64()
        ),
        &burst,
    );
    report::print_rss(&format!("after the burst, {} sockets open", readers.len()));
    readers.iter().for_each(JoinHandle::abort);
    Ok(())
}
