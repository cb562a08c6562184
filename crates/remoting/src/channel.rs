//! One TCP connection carrying commands both ways.
//!
//! A reader task splits frames and either completes a pending invocation (responses) or
//! hands the request to the [`Router`] on a task of its own, so a slow processor (a held
//! long-poll pull) never blocks the connection. A writer task owns the socket's write half and
//! coalesces whatever is queued into one vectored write (`batch`). Either task closing the
//! channel fails every pending invocation.

use crate::batch::Batch;
use crate::{RemotingError, Router};
use bytes::BytesMut;
use ferrocket_protocol::{frame, RemotingCommand};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

/// Java numbers requests from one process-wide counter; so do we.
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(0);

/// Commands queued for the writer before senders wait.
const WRITE_QUEUE: usize = 4096;
/// The writer flushes once this much is buffered.
const WRITE_BATCH_BYTES: usize = 256 * 1024;
const READ_BUFFER: usize = 64 * 1024;

/// Per-connection settings.
#[derive(Debug, Clone)]
pub(crate) struct ChannelOptions {
    /// Close after this long without reading anything (Java: 120 s).
    pub idle_timeout: Duration,
    /// When this turns true the connection stops reading, gives its in-flight requests up to
    /// `grace` to be answered, flushes and closes.
    pub shutdown: Option<watch::Receiver<bool>>,
    pub grace: Duration,
    /// Held until the connection has closed, so a server can wait for all of them.
    pub alive: Option<mpsc::Sender<()>>,
}

/// A handle to one connection; cheap to clone.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

struct Inner {
    peer: SocketAddr,
    local: SocketAddr,
    tx: mpsc::Sender<RemotingCommand>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    closed: watch::Sender<bool>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("peer", &self.inner.peer)
            .field("local", &self.inner.local)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Channel {
    /// Starts the reader and writer tasks of `stream`; incoming requests go to `router`.
    pub(crate) fn spawn(
        stream: TcpStream,
        router: Arc<Router>,
        options: ChannelOptions,
    ) -> std::io::Result<Channel> {
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr()?;
        let local = stream.local_addr()?;
        let (read_half, write_half) = stream.into_split();
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let (closed, _) = watch::channel(false);
        let channel = Channel {
            inner: Arc::new(Inner {
                peer,
                local,
                tx,
                pending: Mutex::new(HashMap::new()),
                closed,
            }),
        };
        tokio::spawn(write_loop(channel.clone(), write_half, rx));
        tokio::spawn(read_loop(channel.clone(), read_half, router, options));
        Ok(channel)
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    pub fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    /// Resolves once the connection is closed.
    pub async fn closed(&self) {
        let mut rx = self.inner.closed.subscribe();
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Closes the connection; pending invocations fail with `ConnectionClosed`.
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
        // Dropping the senders wakes every waiter with an error.
        self.inner.pending.lock().expect("pending lock").clear();
    }

    /// Queues a command as it is (a response, or a request built by the caller).
    pub async fn send(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        self.inner
            .tx
            .send(cmd)
            .await
            .map_err(|_| self.closed_error())
    }

    /// Sends a request and waits for its response.
    pub async fn invoke(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let opaque = NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        request.flag &= !(ferrocket_protocol::FLAG_RESPONSE | ferrocket_protocol::FLAG_ONEWAY);
        let (done_tx, done_rx) = oneshot::channel();
        self.inner
            .pending
            .lock()
            .expect("pending lock")
            .insert(opaque, done_tx);
        if self.is_closed() {
            self.forget(opaque);
            return Err(self.closed_error());
        }
        let result = tokio::time::timeout(timeout, async {
            self.send(request).await?;
            done_rx.await.map_err(|_| self.closed_error())
        })
        .await;
        match result {
            Ok(outcome) => {
                if outcome.is_err() {
                    self.forget(opaque);
                }
                outcome
            }
            Err(_) => {
                self.forget(opaque);
                Err(RemotingError::Timeout {
                    addr: self.inner.peer.to_string(),
                    opaque,
                    timeout,
                })
            }
        }
    }

    /// Sends a request that must not be answered.
    pub async fn invoke_oneway(&self, mut request: RemotingCommand) -> Result<(), RemotingError> {
        request.opaque = NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed);
        request.flag =
            (request.flag & !ferrocket_protocol::FLAG_RESPONSE) | ferrocket_protocol::FLAG_ONEWAY;
        self.send(request).await
    }

    fn forget(&self, opaque: i32) {
        self.inner
            .pending
            .lock()
            .expect("pending lock")
            .remove(&opaque);
    }

    fn closed_error(&self) -> RemotingError {
        RemotingError::ConnectionClosed(self.inner.peer.to_string())
    }

    fn complete(&self, response: RemotingCommand) {
        let waiter = self
            .inner
            .pending
            .lock()
            .expect("pending lock")
            .remove(&response.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(response);
            }
            None => tracing::debug!(
                peer = %self.inner.peer,
                opaque = response.opaque,
                "response for an unknown or expired request dropped"
            ),
        }
    }
}

async fn write_loop(
    channel: Channel,
    mut socket: OwnedWriteHalf,
    mut rx: mpsc::Receiver<RemotingCommand>,
) {
    let mut closed = channel.inner.closed.subscribe();
    let mut batch = Batch::with_capacity(64 * 1024);
    loop {
        let first = tokio::select! {
            cmd = rx.recv() => cmd,
            // Flush what was queued before the close, then stop.
            _ = closed.wait_for(|c| *c) => rx.try_recv().ok(),
        };
        let Some(first) = first else { break };
        if rx.is_empty() {
            // Let the request tasks that are ready run first: their answers then share this
            // write. One syscall per answer costs more than the answers themselves.
            tokio::task::yield_now().await;
        }
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            if let Err(e) = batch.push(&cmd) {
                tracing::warn!(peer = %channel.inner.peer, code = cmd.code, "dropping unencodable command: {e}");
            }
            if batch.len() < WRITE_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        if let Err(e) = batch.write_to(&mut socket).await {
            tracing::debug!(peer = %channel.inner.peer, "write failed: {e}");
            break;
        }
    }
    channel.close();
    let _ = socket.shutdown().await;
}

async fn read_loop(
    channel: Channel,
    mut socket: OwnedReadHalf,
    router: Arc<Router>,
    options: ChannelOptions,
) {
    let _alive = options.alive.clone();
    let mut closed = channel.inner.closed.subscribe();
    let (mut shutdown, can_shut_down) = match options.shutdown.clone() {
        Some(rx) => (rx, true),
        None => (watch::channel(false).1, false),
    };
    // Every request task holds a clone; the receiver sees `None` once all have finished.
    let (requests_tx, mut requests_rx) = mpsc::channel::<()>(1);
    let mut stopping = false;
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    'read: loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(READ_BUFFER);
        }
        let read = tokio::select! {
            r = tokio::time::timeout(options.idle_timeout, socket.read_buf(&mut buf)) => r,
            _ = closed.wait_for(|c| *c) => break,
            _ = shutdown.wait_for(|s| *s), if can_shut_down => {
                stopping = true;
                break;
            }
        };
        match read {
            Err(_) => {
                tracing::debug!(peer = %channel.inner.peer, "closing idle connection");
                break;
            }
            Ok(Err(e)) => {
                tracing::debug!(peer = %channel.inner.peer, "read failed: {e}");
                break;
            }
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
        }
        loop {
            let cmd = match frame::split(&mut buf).and_then(|f| f.map(frame::decode).transpose()) {
                Ok(Some(cmd)) => cmd,
                Ok(None) => break,
                Err(e) => {
                    // Java's decoder closes the channel on any exception; so do we.
                    tracing::warn!(peer = %channel.inner.peer, "closing connection after an undecodable frame: {e}");
                    break 'read;
                }
            };
            if cmd.is_response() {
                channel.complete(cmd);
                continue;
            }
            let channel = channel.clone();
            let router = router.clone();
            let request_guard = requests_tx.clone();
            let mut request = Box::pin(async move {
                let _request_guard = request_guard;
                if let Some(response) = router.dispatch(channel.clone(), cmd).await {
                    let _ = channel.send(response).await;
                }
            });
            // Most requests (a send under ASYNC_FLUSH, a pull that finds messages) finish
            // without waiting: run them here, in order, and give a task of their own only to
            // those that wait (long polls, sync flushes, calls to other servers).
            let finished =
                std::future::poll_fn(|cx| Poll::Ready(request.as_mut().poll(cx).is_ready())).await;
            if !finished {
                tokio::spawn(request);
            }
        }
    }
    drop(requests_tx);
    if stopping {
        // Graceful shutdown: let in-flight requests answer before the close flushes them.
        let _ = tokio::time::timeout(options.grace, requests_rx.recv()).await;
    }
    channel.close();
}
