//! `GET /api/sse`: Server-Sent Events, the fallback for networks that block WebSockets.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};

use common::error::ApiError;

use crate::connect::{Connector, too_many_connections};
use crate::hub::Push;
use crate::startup::AppState;

fn event(push: &Push) -> Event {
    Event::default()
        .id(push.event_id.clone())
        .data(push.json.clone())
}

/// Streams the caller's pushes. With `Last-Event-ID`, first replays what followed that event if
/// it is still buffered, or sends `{"type":"resync"}` telling the client to reload from the API.
pub async fn stream(
    State(state): State<AppState>,
    connector: Connector,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before reading the replay buffer, so nothing published in between is missed;
    // what arrives twice that way is filtered by id below.
    let subscription = state
        .hub
        .try_subscribe(&connector.user_id)
        .ok_or_else(too_many_connections)?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let replay: Vec<Arc<Push>> = match last_event_id {
        Some(id) => state
            .hub
            .replay_after(&connector.user_id, id)
            .unwrap_or_else(|| {
                vec![Arc::new(Push {
                    event_id: String::new(),
                    user_id: connector.user_id.clone(),
                    json: r#"{"type":"resync"}"#.to_owned(),
                    last: false,
                })]
            }),
        None => Vec::new(),
    };
    let replayed: HashSet<String> = replay.iter().map(|p| p.event_id.clone()).collect();
    let initial = stream::iter(replay.into_iter().map(|push| {
        Ok(if push.event_id.is_empty() {
            Event::default().data(push.json.clone())
        } else {
            event(&push)
        })
    }));
    let live = stream::unfold(
        (subscription, replayed),
        |(mut subscription, replayed)| async move {
            loop {
                let push = subscription.receiver.recv().await?;
                if !replayed.contains(&push.event_id) {
                    return Some((Ok(event(&push)), (subscription, replayed)));
                }
            }
        },
    );
    let closing = state.closing.clone();
    let body = initial
        .chain(live)
        .take_until(async move { closing.cancelled().await });
    Ok(Sse::new(body).keep_alive(KeepAlive::new().interval(state.realtime.heartbeat)))
}
