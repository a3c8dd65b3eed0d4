//! A TCP proxy that can cut a connection path on demand, to inject outages of a real
//! dependency (Postgres) in front of real clients: [`FaultProxy::cut`] closes every live
//! connection and refuses new ones (each accepted connection is closed at once), as a
//! restarting or unreachable server does; [`FaultProxy::restore`] lets connections through
//! again. [`FaultProxy::stall`] holds every byte instead, as a server or network gone silent
//! does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The proxy; dropping it stops accepting (live connections end at the next cut or close).
pub struct FaultProxy {
    address: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped on every cut: live connections watch it and close.
    generation: watch::Sender<u64>,
    /// While true, connections carry nothing either way.
    stalled: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("binding the fault proxy");
        let address = listener.local_addr().expect("the fault proxy's address");
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let (stalled, _) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(
            listener,
            target,
            up.clone(),
            generation.clone(),
            stalled.clone(),
        ));
        Self {
            address,
            up,
            generation,
            stalled,
            accept,
        }
    }

    /// A proxy in front of the server of `url` (`scheme://[user@]host[:port]/...`, port 5432
    /// by default) and the same URL through the proxy.
    pub async fn in_front_of(url: &str) -> (Self, String) {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => (format!("{user}@"), host_port),
            None => (String::new(), authority),
        };
        let host_port = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:5432")
        };
        let target = tokio::net::lookup_host(&host_port)
            .await
            .expect("resolving the database host")
            .next()
            .expect("an address for the database host");
        let proxy = Self::start(target).await;
        let through = format!("{scheme}://{user}127.0.0.1:{}{path}", proxy.address.port());
        (proxy, through)
    }

    /// Closes every live connection and refuses new ones until [`Self::restore`].
    pub fn cut(&self) {
        self.up.store(false, Ordering::Release);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::Release);
    }

    /// While `stalled`, holds every byte either way on live and new connections, which stay
    /// open: nothing arrives and nothing fails. Unstalled, what was held goes on.
    pub fn stall(&self, stalled: bool) {
        self.stalled.send_replace(stalled);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.generation.send_modify(|g| *g += 1);
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    stalled: watch::Sender<bool>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, say: do not spin.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        if !up.load(Ordering::Acquire) {
            drop(client);
            continue;
        }
        let (mut cut, stalled) = (generation.subscribe(), stalled.subscribe());
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else {
                return;
            };
            // A cut first: bytes held by a stall that ends after it are dropped with it.
            tokio::select! {
                biased;
                _ = cut.changed() => {}
                () = carry(client, server, stalled) => {}
            }
        });
    }
}

/// Copies bytes both ways, each way on its own (one side's writes never hold up the other's),
/// holding them while stalled; a side's end of input is passed on, and it ends when both have.
async fn carry(client: TcpStream, server: TcpStream, stalled: watch::Receiver<bool>) {
    let (client_in, client_out) = client.into_split();
    let (server_in, server_out) = server.into_split();
    tokio::join!(
        pipe(client_in, server_out, stalled.clone()),
        pipe(server_in, client_out, stalled),
    );
}

/// Copies `from` to `to`, holding the bytes while stalled, and shuts `to` down at the end.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut stalled: watch::Receiver<bool>) {
    let mut buffer = [0u8; 8192];
    loop {
        let Ok(n @ 1..) = from.read(&mut buffer).await else {
            let _ = to.shutdown().await;
            return;
        };
        if stalled.wait_for(|stalled| !stalled).await.is_err()
            || to.write_all(&buffer[..n]).await.is_err()
        {
            return;
        }
    }
}
