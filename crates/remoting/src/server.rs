//! Accepts connections and serves each with a [`Channel`] whose requests go to the router.

use crate::channel::ChannelOptions;
use crate::{Channel, Router};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Connections beyond this are closed as soon as they are accepted.
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed (`serverChannelMaxIdleTimeSeconds`).
    pub idle_timeout: Duration,
    /// On shutdown, how long in-flight requests get to be answered.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 16_384,
            idle_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// A remoting server: a router and its settings.
#[derive(Debug)]
pub struct RemotingServer {
    router: Arc<Router>,
    config: ServerConfig,
}

impl RemotingServer {
    pub fn new(router: Router, config: ServerConfig) -> Self {
        RemotingServer {
            router: Arc::new(router),
            config,
        }
    }

    /// Serves `listener` until `shutdown` resolves, then stops accepting, lets every
    /// connection answer its in-flight requests (up to the grace period) and returns once all
    /// are closed.
    pub async fn run(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
        let limit = Arc::new(Semaphore::new(self.config.max_connections));
        let local = listener.local_addr().ok();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = &mut shutdown => break,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(?local, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = limit.clone().try_acquire_owned() else {
                tracing::warn!(%peer, max = self.config.max_connections, "connection limit reached; closing new connection");
                drop(stream);
                continue;
            };
            let options = ChannelOptions {
                idle_timeout: self.config.idle_timeout,
                shutdown: Some(stop_rx.clone()),
                grace: self.config.shutdown_grace,
                alive: Some(alive_tx.clone()),
            };
            match Channel::spawn(stream, self.router.clone(), options) {
                Ok(channel) => {
                    tracing::debug!(%peer, "connection accepted");
                    tokio::spawn(async move {
                        channel.closed().await;
                        drop(permit);
                    });
                }
                Err(e) => tracing::warn!(%peer, "could not set up connection: {e}"),
            }
        }
        drop(listener);
        stop_tx.send_replace(true);
        drop(alive_tx);
        // Every connection holds a sender until it has closed.
        let _ = alive_rx.recv().await;
        tracing::debug!(?local, "remoting server stopped");
    }
}
