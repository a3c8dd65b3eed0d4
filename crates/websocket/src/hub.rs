//! The per-replica fan-out: which connections belong to which user, what was pushed recently,
//! and which event ids were already pushed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// One message for a user's connections, serialized once for all of them.
#[derive(Debug)]
pub struct Push {
    /// The event id; pushes with an id seen before are dropped.
    pub event_id: String,
    /// Whose connections receive it.
    pub user_id: String,
    /// The JSON text sent as is.
    pub json: String,
    /// The last message of the connection: it is closed after this (the account was deleted).
    pub last: bool,
}

/// Limits of the hub.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Messages queued per connection before it counts as slow and is dropped.
    pub queue_per_connection: usize,
    /// Recent pushes kept per user for SSE `Last-Event-ID` replay.
    pub replay_per_user: usize,
    /// Event ids remembered for de-duplication.
    pub remembered_event_ids: usize,
    /// A user with no connection keeps their replay buffer this long.
    pub idle_user_retention: Duration,
    /// Open connections one user may hold on this replica (tabs and devices); more are refused
    /// so one account cannot exhaust the replica's sockets and memory.
    pub connections_per_user: usize,
}

impl Default for HubLimits {
    fn default() -> Self {
        Self {
            queue_per_connection: 256,
            replay_per_user: 200,
            remembered_event_ids: 50_000,
            idle_user_retention: Duration::from_secs(120),
            connections_per_user: 20,
        }
    }
}

struct UserSlot {
    connections: Vec<(u64, mpsc::Sender<Arc<Push>>)>,
    recent: VecDeque<Arc<Push>>,
    last_activity: Instant,
}

#[derive(Default)]
struct Inner {
    users: HashMap<String, UserSlot>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    next_connection: u64,
}

/// What a publish did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fanout {
    /// The event id was pushed before; nothing was sent.
    pub duplicate: bool,
    /// Connections the message was queued for.
    pub delivered: usize,
    /// Connections dropped because their queue was full.
    pub dropped_slow: usize,
}

/// Connections per user and the push history of this replica.
pub struct Hub {
    inner: Mutex<Inner>,
    limits: HubLimits,
}

/// A registered connection; unregisters itself when dropped.
pub struct Subscription {
    hub: Arc<Hub>,
    user_id: String,
    id: u64,
    /// Messages for this connection. `None` from `recv` means the hub dropped the connection
    /// (too slow) or is gone.
    pub receiver: mpsc::Receiver<Arc<Push>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unregister(&self.user_id, self.id);
    }
}

impl Hub {
    /// An empty hub.
    pub fn new(limits: HubLimits) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            limits,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Poisoning means a panic mid-update of plain bookkeeping; the data is still consistent
        // enough to keep serving pushes.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a connection of `user_id` unless the user already holds
    /// [`HubLimits::connections_per_user`] connections here.
    pub fn try_subscribe(self: &Arc<Self>, user_id: &str) -> Option<Subscription> {
        let open = self
            .lock()
            .users
            .get(user_id)
            .map_or(0, |slot| slot.connections.len());
        // Checked and registered under two locks: a burst of concurrent connects can pass the
        // cap by a few, which bounds the harm just the same.
        (open < self.limits.connections_per_user).then(|| self.subscribe(user_id))
    }

    /// Registers a connection of `user_id`.
    pub fn subscribe(self: &Arc<Self>, user_id: &str) -> Subscription {
        let (sender, receiver) = mpsc::channel(self.limits.queue_per_connection);
        let mut inner = self.lock();
        inner.next_connection += 1;
        let id = inner.next_connection;
        let slot = inner
            .users
            .entry(user_id.to_owned())
            .or_insert_with(|| UserSlot {
                connections: Vec::new(),
                recent: VecDeque::new(),
                last_activity: Instant::now(),
            });
        slot.connections.push((id, sender));
        slot.last_activity = Instant::now();
        drop(inner);
        metrics::gauge!("realtime_connections").increment(1.0);
        Subscription {
            hub: self.clone(),
            user_id: user_id.to_owned(),
            id,
            receiver,
        }
    }

    fn unregister(&self, user_id: &str, id: u64) {
        let mut inner = self.lock();
        if let Some(slot) = inner.users.get_mut(user_id) {
            slot.connections.retain(|(conn, _)| *conn != id);
            slot.last_activity = Instant::now();
        }
        drop(inner);
        metrics::gauge!("realtime_connections").decrement(1.0);
    }

    /// Queues `push` for every connection of its user, once per event id. A connection whose
    /// queue is full is dropped: its client is too slow, and waiting for it would delay everyone.
    pub fn publish(&self, push: Push) -> Fanout {
        let mut inner = self.lock();
        if !inner.seen.insert(push.event_id.clone()) {
            return Fanout {
                duplicate: true,
                ..Fanout::default()
            };
        }
        inner.seen_order.push_back(push.event_id.clone());
        while inner.seen_order.len() > self.limits.remembered_event_ids {
            if let Some(old) = inner.seen_order.pop_front() {
                inner.seen.remove(&old);
            }
        }
        let push = Arc::new(push);
        let mut fanout = Fanout::default();
        let limits = self.limits;
        let Some(slot) = inner.users.get_mut(&push.user_id) else {
            return fanout;
        };
        slot.last_activity = Instant::now();
        slot.recent.push_back(push.clone());
        while slot.recent.len() > limits.replay_per_user {
            slot.recent.pop_front();
        }
        slot.connections
            .retain(|(_, sender)| match sender.try_send(push.clone()) {
                Ok(()) => {
                    fanout.delivered += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    fanout.dropped_slow += 1;
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        drop(inner);
        metrics::counter!("realtime_pushes_total").increment(fanout.delivered as u64);
        metrics::counter!("realtime_slow_connections_dropped_total")
            .increment(fanout.dropped_slow as u64);
        fanout
    }

    /// Whether a push to `user_id` would reach or be kept by anything here: an open
    /// connection of theirs, or the replay buffer of one that closed less than
    /// [`HubLimits::idle_user_retention`] ago (until [`Hub::prune_idle`]).
    pub fn has_user(&self, user_id: &str) -> bool {
        self.lock().users.contains_key(user_id)
    }

    /// Sends `push` (marked [`Push::last`]) to every connection of its user and then forgets
    /// the user: each connection closes once its queue is sent, and nothing is kept to replay.
    pub fn end_user(&self, mut push: Push) -> Fanout {
        push.last = true;
        let user_id = push.user_id.clone();
        let fanout = self.publish(push);
        // Dropping the senders ends each connection's stream after what is queued.
        self.lock().users.remove(&user_id);
        fanout
    }

    /// The pushes of `user_id` after `last_event_id`, oldest first; `None` when that id is no
    /// longer (or was never) buffered, so the client must re-sync from the API instead.
    pub fn replay_after(&self, user_id: &str, last_event_id: &str) -> Option<Vec<Arc<Push>>> {
        let inner = self.lock();
        let slot = inner.users.get(user_id)?;
        let position = slot
            .recent
            .iter()
            .position(|p| p.event_id == last_event_id)?;
        Some(slot.recent.iter().skip(position + 1).cloned().collect())
    }

    /// Forgets users without connections whose last activity is older than the retention.
    pub fn prune_idle(&self) {
        let retention = self.limits.idle_user_retention;
        self.lock().users.retain(|_, slot| {
            !slot.connections.is_empty() || slot.last_activity.elapsed() < retention
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn push(id: &str, user: &str) -> Push {
        Push {
            event_id: id.to_owned(),
            user_id: user.to_owned(),
            json: format!("{{\"event_id\":\"{id}\"}}"),
            last: false,
        }
    }

    #[tokio::test]
    async fn a_push_reaches_every_connection_of_its_user_only_and_only_once() {
        let hub = Hub::new(HubLimits::default());
        let mut a1 = hub.subscribe("alice");
        let mut a2 = hub.subscribe("alice");
        let mut b = hub.subscribe("bob");
        assert_eq!(hub.publish(push("e1", "alice")).delivered, 2);
        assert!(hub.publish(push("e1", "alice")).duplicate);
        assert_eq!(a1.receiver.recv().await.unwrap().event_id, "e1");
        assert_eq!(a2.receiver.recv().await.unwrap().event_id, "e1");
        assert!(a1.receiver.try_recv().is_err(), "pushed twice");
        assert!(b.receiver.try_recv().is_err(), "bob saw alice's event");
    }

    #[tokio::test]
    async fn a_connection_that_does_not_keep_up_is_dropped_and_the_others_keep_receiving() {
        let hub = Hub::new(HubLimits {
            queue_per_connection: 4,
            ..HubLimits::default()
        });
        let mut slow = hub.subscribe("alice");
        let mut fast = hub.subscribe("alice");
        for n in 0..10 {
            let fanout = hub.publish(push(&format!("e{n}"), "alice"));
            assert_eq!(
                fast.receiver.recv().await.unwrap().event_id,
                format!("e{n}")
            );
            if n == 4 {
                assert_eq!(fanout.dropped_slow, 1);
            }
        }
        let mut queued = 0;
        while slow.receiver.recv().await.is_some() {
            queued += 1;
        }
        assert_eq!(
            queued, 4,
            "the slow connection is closed after what was queued"
        );
    }

    #[test]
    fn replay_returns_what_followed_a_known_id_and_none_for_an_unknown_one() {
        let hub = Hub::new(HubLimits {
            replay_per_user: 3,
            ..HubLimits::default()
        });
        let _connection = hub.subscribe("alice");
        for n in 0..5 {
            hub.publish(push(&format!("e{n}"), "alice"));
        }
        let ids = |pushes: Vec<Arc<Push>>| {
            pushes
                .iter()
                .map(|p| p.event_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(hub.replay_after("alice", "e2").unwrap()), ["e3", "e4"]);
        assert!(
            hub.replay_after("alice", "e0").is_none(),
            "e0 fell out of the buffer"
        );
        assert!(hub.replay_after("bob", "e2").is_none());
    }
}
