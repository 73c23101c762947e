//! The accept loop: HTTP/1.1 and HTTP/2 (h2c, prior knowledge) on one port, a cap on
//! open connections, slow-client timeouts, and graceful shutdown.
//!
//! Each connection is a task. A permit from a semaphore is taken *before* `accept`, so
//! when the cap is reached new clients wait in the kernel's backlog instead of being
//! accepted and then starved. On shutdown the listener is dropped first, then every
//! open connection is told to finish its in-flight requests, for at most the grace
//! period.

mod cdn;
mod handler;
mod processed;
mod produce;
pub(crate) mod resolved;
mod router;
pub mod threads;
mod warm;

pub use handler::parse_image_path;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::state::App;

/// The HTTP/2 client preface; hyper-util decides the protocol by comparing against it.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves `app` on `listener` until `shutdown` resolves, then drains. Runs on the
/// caller's runtime (tests and embedders); the binary uses [`threads::serve_per_core`].
pub async fn serve(listener: TcpListener, app: App, shutdown: impl Future<Output = ()>) {
    let permits = Arc::new(Semaphore::new(app.config.server.max_connections));
    accept_loop(listener, Arc::new(app), permits, shutdown).await;
}

/// One accept loop: `permits` caps open connections across every loop sharing it.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    app: Arc<App>,
    permits: Arc<Semaphore>,
    shutdown: impl Future<Output = ()>,
) {
    let cfg = app.config.server.clone();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        .keep_alive(true)
        // Hard cap well above our own 414/431 checks, which answer with a body;
        // hyper's own answer past this cap has none.
        .max_buf_size((cfg.max_header_bytes + cfg.max_url_bytes).max(8192) * 2);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(cfg.keepalive_timeout)
        .keep_alive_timeout(Duration::from_secs(20))
        .max_concurrent_streams(256)
        .max_header_list_size((cfg.max_header_bytes + cfg.max_url_bytes) as u32 * 2);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = Arc::clone(&app);
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let header_timeout = cfg.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let _open = OpenConnection::new(&app.metrics.open_connections);
            // hyper-util's protocol sniffing has no timeout of its own: a client that
            // connects and sends nothing would hold the connection forever.
            if !wait_for_preface(&stream, header_timeout).await {
                return;
            }
            let service = service_fn(move |req| {
                let app = Arc::clone(&app);
                async move { Ok::<_, std::convert::Infallible>(router::route(&app, req).await) }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }

    drop(listener);
    tracing::info!(
        event_loop = crate::io_lane::current(),
        open = graceful.count(),
        "shutting down: draining this event loop's open connections"
    );
    let grace = cfg.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(?grace, "grace period over; closing remaining connections");
    }
}

/// Counts a connection as open for as long as it lives.
struct OpenConnection(Gauge);

impl OpenConnection {
    fn new(gauge: &Gauge) -> OpenConnection {
        gauge.inc();
        OpenConnection(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Waits until the client has sent enough to tell HTTP/1 from HTTP/2, or gives up at
/// `timeout`. Returns false when the connection should be dropped.
async fn wait_for_preface(stream: &TcpStream, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = [0u8; 24];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return false,
            Ok(Ok(n)) => n,
        };
        if n == H2_PREFACE.len() || buf[..n] != H2_PREFACE[..n] {
            return true;
        }
        // A partial preface: peek returns at once while those bytes are buffered,
        // so wait for more to arrive before looking again.
        if tokio::time::timeout_at(deadline, stream.readable())
            .await
            .is_err()
        {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
