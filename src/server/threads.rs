//! The binary's serving model: one single-threaded tokio runtime per core, each
//! accepting on its own `SO_REUSEPORT` listener bound to the same address (nginx's
//! model). The kernel spreads new connections over the listeners, and a connection's
//! requests then run start to finish on one thread: no work stealing and no cross-thread
//! wake-ups on the cache-hit path, which a shared multi-threaded runtime paid on every
//! request (bench/README.md, "The hit path").
//!
//! What stays shared: the [`App`] (caches, budget, metrics are thread-safe), the cap on
//! open connections, and the image workers, which run on blocking threads under the
//! admission's permits whichever runtime asked. Background work a request starts (a
//! miss that outlives its deadline, a warm-up) lives on the runtime that started it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::state::App;

/// Pending connections each listener's kernel queue holds (tokio's own default).
const BACKLOG: i32 = 1024;

/// Binds `count` listeners to `addr`, with `SO_REUSEPORT` when there are several. Port 0
/// picks a free port for the first; the others join it.
///
/// `SO_REUSEPORT` would also let this process join another one's listeners on the port
/// (same user, the option set on both), silently taking part of its traffic. So the
/// address is first bound once without the option: a port that anyone holds fails
/// there with `AddrInUse`.
pub fn bind(addr: SocketAddr, count: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let count = count.max(1);
    let mut addr = addr;
    if count > 1 {
        let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        probe.set_reuse_address(true)?;
        probe.bind(&addr.into())?;
        addr = probe
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("the probe socket has no inet address"))?;
    }
    let mut listeners = Vec::with_capacity(count);
    for _ in 0..count {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if count > 1 {
            socket.set_reuse_port(true)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        let listener = std::net::TcpListener::from(socket);
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Serves `app` with one thread and runtime per listener until `shutdown` resolves,
/// then lets every thread drain its connections (for the configured grace) and returns.
/// A thread that stops early (its runtime failed to start, a panic) stops the others.
pub async fn serve_per_core(
    listeners: Vec<std::net::TcpListener>,
    app: App,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let app = Arc::new(app);
    let permits = Arc::new(Semaphore::new(app.config.server.max_connections));
    let (stop, stopped) = watch::channel(false);
    let (done, mut finished) = mpsc::unbounded_channel::<io::Result<()>>();
    let threads = listeners.len();
    crate::io_lane::set_count(threads);
    for (i, listener) in listeners.into_iter().enumerate() {
        let (app, permits) = (Arc::clone(&app), Arc::clone(&permits));
        let (stopped, done) = (stopped.clone(), done.clone());
        std::thread::Builder::new()
            .name(format!("aperture-io-{i}"))
            .spawn(move || {
                crate::io_lane::enter(i);
                let served = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    serve_one(listener, app, permits, stopped)
                }));
                let _ = done.send(served.unwrap_or_else(|panic| {
                    let message = crate::limits::panic_message(panic.as_ref());
                    Err(io::Error::other(format!(
                        "a serving thread panicked: {message}"
                    )))
                }));
            })?;
    }
    drop(done);
    let mut outcome = Ok(());
    let mut remaining = threads;
    tokio::select! {
        () = shutdown => {}
        early = finished.recv() => {
            remaining -= 1;
            outcome = early.unwrap_or(Ok(())).and(Err(io::Error::other(
                "a serving thread stopped on its own",
            )));
        }
    }
    let _ = stop.send(true);
    while remaining > 0 {
        match finished.recv().await {
            Some(Err(e)) if outcome.is_ok() => outcome = Err(e),
            Some(_) => {}
            None => break,
        }
        remaining -= 1;
    }
    outcome
}

/// One serving thread: its own current-thread runtime around one accept loop.
fn serve_one(
    listener: std::net::TcpListener,
    app: Arc<App>,
    permits: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener)?;
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        super::accept_loop(listener, app, permits, shutdown).await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_listeners_share_one_port() {
        let listeners = bind("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        assert_eq!(listeners.len(), 3);
        let port = listeners[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        for l in &listeners {
            assert_eq!(l.local_addr().unwrap().port(), port);
        }
    }

    #[test]
    fn a_port_held_by_another_socket_is_refused() {
        // A plain listener (no SO_REUSEPORT), as another program would hold it: joining
        // it must fail, not silently split its traffic.
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = bind(other.local_addr().unwrap(), 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let err = bind(other.local_addr().unwrap(), 1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn a_port_held_by_another_reuseport_group_is_refused() {
        // another aperture (or anything with SO_REUSEPORT) already serving the port
        let other = bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let addr = other[0].local_addr().unwrap();
        let err = bind(addr, 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let err = bind(addr, 1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn zero_threads_still_binds_one() {
        assert_eq!(bind("127.0.0.1:0".parse().unwrap(), 0).unwrap().len(), 1);
    }
}
