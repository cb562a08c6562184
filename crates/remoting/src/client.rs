//! Keeps one connection per address and invokes requests over it.

use crate::channel::ChannelOptions;
use crate::{Channel, RemotingError, Router};
use ferrocket_protocol::RemotingCommand;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `connectTimeoutMillis` (Java: 3 s).
    pub connect_timeout: Duration,
    /// `clientChannelMaxIdleTimeSeconds` (Java: 120 s).
    pub idle_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Channel>>>;

/// A remoting client: one shared connection per `host:port`, created on first use and
/// replaced once closed. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RemotingClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    router: Arc<Router>,
    slots: Mutex<HashMap<String, Slot>>,
}

impl RemotingClient {
    /// `router` serves requests the peer sends back down a connection (broker → client).
    pub fn new(config: ClientConfig, router: Router) -> Self {
        RemotingClient {
            inner: Arc::new(Inner {
                config,
                router: Arc::new(router),
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The open connection to `addr`, connecting if there is none.
    pub async fn channel(&self, addr: &str) -> Result<Channel, RemotingError> {
        let slot = self
            .inner
            .slots
            .lock()
            .expect("slots lock")
            .entry(addr.to_owned())
            .or_default()
            .clone();
        // Only one task connects to an address at a time; the others wait and reuse it.
        let mut guard = slot.lock().await;
        if let Some(channel) = guard.as_ref().filter(|c| !c.is_closed()) {
            return Ok(channel.clone());
        }
        let timeout = self.inner.config.connect_timeout;
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => {
                return Err(RemotingError::Connect {
                    addr: addr.to_owned(),
                    source,
                })
            }
            Err(_) => {
                return Err(RemotingError::ConnectTimeout {
                    addr: addr.to_owned(),
                    timeout,
                })
            }
        };
        let options = ChannelOptions {
            idle_timeout: self.inner.config.idle_timeout,
            shutdown: None,
            grace: Duration::ZERO,
            alive: None,
        };
        let channel = Channel::spawn(stream, self.inner.router.clone(), options)?;
        *guard = Some(channel.clone());
        Ok(channel)
    }

    /// Sends `request` to `addr` and waits up to `timeout` for the response.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let channel = self.channel(addr).await?;
        channel.invoke(request, timeout).await
    }

    /// Sends `request` to `addr` on a task of its own and hands the outcome to `callback`.
    pub fn invoke_with_callback(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
        callback: impl FnOnce(Result<RemotingCommand, RemotingError>) + Send + 'static,
    ) {
        let client = self.clone();
        let addr = addr.to_owned();
        tokio::spawn(async move { callback(client.invoke(&addr, request, timeout).await) });
    }

    /// Sends `request` to `addr` with the oneway flag; no response comes.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.channel(addr).await?.invoke_oneway(request).await
    }

    /// Closes the connection to `addr`, if any.
    pub async fn close_channel(&self, addr: &str) {
        let slot = self.inner.slots.lock().expect("slots lock").remove(addr);
        if let Some(slot) = slot {
            if let Some(channel) = slot.lock().await.take() {
                channel.close();
            }
        }
    }

    /// Closes every connection.
    pub async fn shutdown(&self) {
        let slots: Vec<Slot> = self
            .inner
            .slots
            .lock()
            .expect("slots lock")
            .drain()
            .map(|(_, s)| s)
            .collect();
        for slot in slots {
            if let Some(channel) = slot.lock().await.take() {
                channel.close();
            }
        }
    }
}
