//! A TCP proxy that can cut a connection path on demand, to inject outages of a real
//! dependency (Postgres) in front of real clients: [`FaultProxy::cut`] closes every live
//! connection and refuses new ones (each accepted connection is closed at once), as a
//! restarting or unreachable server does; [`FaultProxy::restore`] lets connections through
//! again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The proxy; dropping it stops accepting (live connections end at the next cut or close).
pub struct FaultProxy {
    address: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped on every cut: live connections watch it and close.
    generation: watch::Sender<u64>,
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
        let accept = tokio::spawn(accept_loop(
            listener,
            target,
            up.clone(),
            generation.clone(),
        ));
        Self {
            address,
            up,
            generation,
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
        let mut cut = generation.subscribe();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(target).await else {
                return;
            };
            let mut client = client;
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cut.changed() => {}
            }
        });
    }
}
