//! A real server on loopback cuts off clients whose request headers do not arrive in time
//! (slowloris), still answers normal requests, and still shuts down gracefully.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gvpie_exec::Engine;
use gvpie_server::{AppState, Limits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::test_limits;

/// The header (and body) timeout of these tests.
const TIMEOUT: Duration = Duration::from_millis(300);

/// Reads until the server closes the connection (or resets it); returns what came and when.
async fn read_to_close(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server closes the connection within 30 s; got {:?}", String::from_utf8_lossy(&received));
    (received, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_normal_requests_still_work() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let limits = Limits { body_timeout: TIMEOUT, ..test_limits() };
    let state = AppState::new(Arc::new(Engine::cpu_only())).with_limits(limits);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));

    // Slowloris: half a request line, then nothing.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /health HT").await.expect("write");
    let (_, elapsed) = read_to_close(&mut slow).await;
    // Closed (within `read_to_close`'s generous bound), and not before the timeout; no upper timing bound
    // beyond that, which a busy machine could break.
    assert!(elapsed >= TIMEOUT - Duration::from_millis(50), "not cut off before the timeout: {elapsed:?}");

    // A connection that sends nothing at all is closed too.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let (received, _) = read_to_close(&mut silent).await;
    assert!(!String::from_utf8_lossy(&received).contains("200 OK"));

    // A normal request on a new connection is answered.
    let mut normal = TcpStream::connect(addr).await.expect("connect");
    normal.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.expect("write");
    let (received, _) = read_to_close(&mut normal).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("\"healthy\""), "{text}");

    // Graceful shutdown with an idle keep-alive connection open: it is closed, the server ends.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.expect("write");
    let mut first = [0u8; 64];
    let n = idle.read(&mut first).await.expect("read");
    assert!(first[..n].starts_with(b"HTTP/1.1 200 OK"), "{:?}", String::from_utf8_lossy(&first[..n]));
    stop.send(()).expect("server running");
    let finished = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))), "the server shuts down cleanly: {finished:?}");
    assert!(TcpStream::connect(addr).await.is_err(), "no longer listening");
}
