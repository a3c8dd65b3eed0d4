//! `GET /ws`: the WebSocket endpoint.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use common::error::ApiError;
use futures::{SinkExt, StreamExt};

use crate::connect::{Connector, too_many_connections};
use crate::hub::Subscription;
use crate::startup::AppState;

/// A send that takes longer than this means the client is not reading: drop it.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Heartbeats without any sign of life before the connection is considered dead.
const MISSED_HEARTBEATS: u32 = 2;
/// The read buffer each connection starts with. tungstenite's default is 128 KiB, which with
/// 10 000 connections was 1.3 GB resident; a client here only answers pings, so a page does
/// (the buffer grows for a larger frame).
const READ_BUFFER: usize = 4 * 1024;
/// The largest message or frame a client may send. Clients send nothing but control frames;
/// the default (64 MiB) would let one connection make the replica buffer that much.
pub const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

/// Authenticates first (401 before any upgrade), then upgrades.
pub async fn upgrade(
    State(state): State<AppState>,
    connector: Connector,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade
        .map_err(|rejection| ApiError::bad_request("not_a_websocket", rejection.body_text()))?;
    let subscription = state
        .hub
        .try_subscribe(&connector.user_id)
        .ok_or_else(too_many_connections)?;
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        // Every push is flushed as soon as it is sent: nothing to gather in a write buffer.
        .write_buffer_size(0)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(state, subscription, socket)))
}

async fn serve(state: AppState, mut subscription: Subscription, socket: WebSocket) {
    let (mut sink, mut incoming) = socket.split();
    let mut heartbeat = tokio::time::interval(state.realtime.heartbeat);
    heartbeat.tick().await;
    let mut silent_beats = 0;
    let close = loop {
        tokio::select! {
            push = subscription.receiver.recv() => match push {
                Some(push) => {
                    let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(push.json.clone().into()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break Some((close_code::AGAIN, "too slow"));
                    }
                    if push.last {
                        break Some((close_code::NORMAL, "account deleted"));
                    }
                }
                // The hub dropped us: our queue filled up faster than the client read it.
                None => break Some((close_code::AGAIN, "too slow")),
            },
            _ = heartbeat.tick() => {
                if silent_beats >= MISSED_HEARTBEATS {
                    break None;
                }
                silent_beats += 1;
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break None;
                }
            }
            message = incoming.next() => match message {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                // Any frame (pong, or a client's own ping/text) proves the client is alive.
                Some(Ok(_)) => silent_beats = 0,
            },
            () = state.closing.cancelled() => break Some((close_code::AWAY, "server shutting down")),
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    }
}
