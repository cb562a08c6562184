//! A real server and client on 127.0.0.1 exchanging every kind of call.

use ferrocket_protocol::header::{GetMaxOffsetRequestHeader, OffsetResponseHeader};
use ferrocket_protocol::{frame, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferrocket_remoting::{
    Channel, ClientConfig, RemotingClient, RemotingError, RemotingServer, Router, ServerConfig,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const T: Duration = Duration::from_secs(5);

struct TestServer {
    addr: SocketAddr,
    oneway_seen: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl TestServer {
    async fn start(config: ServerConfig) -> TestServer {
        let oneway_seen = Arc::new(AtomicUsize::new(0));
        let seen = oneway_seen.clone();
        let router = Router::new()
            // Echo the typed header back as a typed response.
            .route(
                RequestCode::GET_MAX_OFFSET,
                |_ch: Channel, req: RemotingCommand| async move {
                    let h: GetMaxOffsetRequestHeader = req.decode_header()?;
                    let resp = RemotingCommand::response_with_header(
                        ResponseCode::SUCCESS,
                        &OffsetResponseHeader {
                            offset: i64::from(h.queue_id) * 10,
                        },
                    )
                    .with_remark(h.topic);
                    Ok(Some(resp))
                },
            )
            // Counts calls and answers — an answer that must be dropped for oneway calls.
            .route(
                RequestCode::UPDATE_CONSUMER_OFFSET,
                move |_ch: Channel, _req: RemotingCommand| {
                    let seen = seen.clone();
                    async move {
                        seen.fetch_add(1, Ordering::SeqCst);
                        Ok(Some(RemotingCommand::response(ResponseCode::SUCCESS, None)))
                    }
                },
            )
            // Long-polling style: answer later through the channel.
            .route(
                RequestCode::PULL_MESSAGE,
                |ch: Channel, req: RemotingCommand| async move {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        let resp = RemotingCommand::response(
                            ResponseCode::PULL_NOT_FOUND,
                            Some("held".into()),
                        )
                        .answering(&req);
                        ch.send(resp).await.unwrap();
                    });
                    Ok(None)
                },
            )
            // Never answers.
            .route(
                RequestCode::QUERY_MESSAGE,
                |_ch: Channel, _req: RemotingCommand| async move { Ok(None) },
            )
            // Slow but answers in the processor's own future.
            .route(
                RequestCode::HEART_BEAT,
                |_ch: Channel, _req: RemotingCommand| async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok(Some(RemotingCommand::response(
                        ResponseCode::SUCCESS,
                        Some("slow".into()),
                    )))
                },
            )
            // Calls the client back on the same connection, then answers with what it said.
            .route(
                RequestCode::GET_CONSUMER_RUNNING_INFO,
                |ch: Channel, _req: RemotingCommand| async move {
                    let mut notify =
                        RemotingCommand::request(RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT);
                    notify.ext_mut().push("group", "G");
                    let answer = ch.invoke(notify, T).await?;
                    Ok(Some(RemotingCommand::response(
                        ResponseCode::SUCCESS,
                        answer.remark,
                    )))
                },
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = RemotingServer::new(router, config);
        let done = tokio::spawn(server.run(listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            oneway_seen,
            stop: Some(stop),
            done,
        }
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(T, self.done)
            .await
            .expect("server stops")
            .unwrap();
    }
}

fn client() -> RemotingClient {
    let router = Router::new().route(
        RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT,
        |_ch: Channel, req: RemotingCommand| async move {
            let group = req.ext("group").unwrap_or("?").to_owned();
            Ok(Some(RemotingCommand::response(
                ResponseCode::SUCCESS,
                Some(format!("client saw {group}")),
            )))
        },
    );
    RemotingClient::new(ClientConfig::default(), router)
}

fn max_offset_request(topic: &str, queue_id: i32, serialize: SerializeType) -> RemotingCommand {
    let mut cmd = RemotingCommand::request_with_header(
        RequestCode::GET_MAX_OFFSET,
        &GetMaxOffsetRequestHeader {
            topic: topic.into(),
            queue_id,
            bname: None,
        },
    );
    cmd.serialize_type = serialize;
    cmd
}

#[tokio::test]
async fn sync_calls_in_both_header_formats() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = client();
    let addr = server.addr.to_string();
    for serialize in [SerializeType::Json, SerializeType::RocketMq] {
        let resp = client
            .invoke(&addr, max_offset_request("T", 7, serialize), T)
            .await
            .unwrap();
        assert!(resp.is_response());
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
        assert_eq!(
            resp.serialize_type, serialize,
            "answered in the request's format"
        );
        assert_eq!(resp.remark.as_deref(), Some("T"));
        assert_eq!(
            resp.decode_header::<OffsetResponseHeader>().unwrap().offset,
            70
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn pipelined_calls_are_matched_by_opaque() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = client();
    let addr = server.addr.to_string();
    let calls = (0..1000).map(|i| {
        let client = client.clone();
        let addr = addr.clone();
        async move {
            let resp = client
                .invoke(&addr, max_offset_request("T", i, SerializeType::Json), T)
                .await
                .unwrap();
            assert_eq!(
                resp.decode_header::<OffsetResponseHeader>().unwrap().offset,
                i64::from(i) * 10
            );
        }
    });
    let handles: Vec<_> = calls.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn async_call_with_callback() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = client();
    let (tx, rx) = oneshot::channel();
    client.invoke_with_callback(
        &server.addr.to_string(),
        max_offset_request("A", 2, SerializeType::Json),
        T,
        move |r| {
            let _ = tx.send(r);
        },
    );
    let resp = rx.await.unwrap().unwrap();
    assert_eq!(
        resp.decode_header::<OffsetResponseHeader>().unwrap().offset,
        20
    );
    server.shutdown().await;
}

#[tokio::test]
async fn oneway_requests_get_no_response() {
    let server = TestServer::start(ServerConfig::default()).await;
    // A raw socket sees exactly what the server writes.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    let mut oneway = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET);
    oneway.mark_oneway();
    raw.write_all(&frame::encode(&oneway).unwrap())
        .await
        .unwrap();
    let deadline = Instant::now() + T;
    while server.oneway_seen.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "oneway request never processed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(300), raw.read(&mut buf)).await;
    assert!(read.is_err(), "server answered a oneway request: {read:?}");

    // The client API marks oneway itself.
    client()
        .invoke_oneway(
            &server.addr.to_string(),
            RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + T;
    while server.oneway_seen.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn delayed_answer_arrives_on_the_same_opaque() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = client();
    let start = Instant::now();
    let resp = client
        .invoke(
            &server.addr.to_string(),
            RemotingCommand::request(RequestCode::PULL_MESSAGE),
            T,
        )
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(resp.response_code(), ResponseCode::PULL_NOT_FOUND);
    assert_eq!(resp.remark.as_deref(), Some("held"));
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_code_and_bad_header_get_java_answers() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = client();
    let addr = server.addr.to_string();
    let resp = client
        .invoke(&addr, RemotingCommand::request(RequestCode(9999)), T)
        .await
        .unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED
    );
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
    // A missing required field is a processor error: SYSTEM_ERROR naming the field.
    let resp = client
        .invoke(
            &addr,
            RemotingCommand::request(RequestCode::GET_MAX_OFFSET),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("the custom field <topic> is null")
    );
    server.shutdown().await;
}

async fn assert_closed_by_server(raw: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(T, raw.read(&mut buf))
        .await
        .expect("server closes the connection");
    assert!(matches!(n, Ok(0) | Err(_)), "expected EOF, got {n:?}");
}

#[tokio::test]
async fn malformed_and_oversized_frames_close_only_that_connection() {
    let server = TestServer::start(ServerConfig::default()).await;
    // Unknown serialize type.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(&[0, 0, 0, 6, 7, 0, 0, 2, b'{', b'}'])
        .await
        .unwrap();
    assert_closed_by_server(&mut raw).await;
    // Broken JSON header.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(&[0, 0, 0, 7, 0, 0, 0, 3, b'{', b'x', b'}'])
        .await
        .unwrap();
    assert_closed_by_server(&mut raw).await;
    // A length word over 16 MiB: closed before any body is sent.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(&(16 * 1024 * 1024u32).to_be_bytes())
        .await
        .unwrap();
    assert_closed_by_server(&mut raw).await;
    // The server still serves everyone else.
    let resp = client()
        .invoke(
            &server.addr.to_string(),
            max_offset_request("ok", 1, SerializeType::Json),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    server.shutdown().await;
}

#[tokio::test]
async fn timeouts_fail_the_call_not_the_connection() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = client();
    let addr = server.addr.to_string();
    let start = Instant::now();
    let err = client
        .invoke(
            &addr,
            RemotingCommand::request(RequestCode::QUERY_MESSAGE),
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RemotingError::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
    let resp = client
        .invoke(&addr, max_offset_request("T", 1, SerializeType::Json), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    // Nothing listens here: a connect error, not a hang.
    let closed_port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let err = client
        .invoke(
            &closed_port.to_string(),
            RemotingCommand::request(RequestCode::HEART_BEAT),
            T,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RemotingError::Connect { .. }), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn server_calls_the_client_back_on_its_connection() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = client();
    let resp = client
        .invoke(
            &server.addr.to_string(),
            RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.remark.as_deref(), Some("client saw G"));
    server.shutdown().await;
}

#[tokio::test]
async fn connection_limit_closes_extra_connections() {
    let server = TestServer::start(ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    })
    .await;
    let client = client();
    let addr = server.addr.to_string();
    client
        .invoke(&addr, max_offset_request("T", 1, SerializeType::Json), T)
        .await
        .unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    assert_closed_by_server(&mut second).await;
    // The first connection is unaffected.
    client
        .invoke(&addr, max_offset_request("T", 2, SerializeType::Json), T)
        .await
        .unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_answers_in_flight_requests() {
    let server = TestServer::start(ServerConfig::default()).await;
    let client = client();
    let addr = server.addr.to_string();
    let slow = {
        let client = client.clone();
        let addr = addr.clone();
        tokio::spawn(async move {
            client
                .invoke(&addr, RemotingCommand::request(RequestCode::HEART_BEAT), T)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let server_addr = server.addr;
    server.shutdown().await;
    let resp = slow
        .await
        .unwrap()
        .expect("in-flight request answered before close");
    assert_eq!(resp.remark.as_deref(), Some("slow"));
    assert!(
        TcpStream::connect(server_addr).await.is_err(),
        "listener closed"
    );
}
