//! A small TCP fault proxy on 127.0.0.1 between a client and an HTTP upstream (the S3 test
//! server). Requests are passed through byte for byte (so SigV4 signatures, which cover the
//! Host header with the proxy's port, still verify); the fault applies to the response.
//!
//! Everything it spawns lives in one task; dropping the proxy aborts it and every
//! connection. Each wait is bounded.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Longest any connection is kept stalled or delayed.
const MAX_HOLD: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub enum Fault {
    /// transparent
    None,
    /// hold the upstream's response for this long before its first byte
    DelayFirstByte(Duration),
    /// forward this many response bytes (headers included), then reset (RST) both sides
    ResetAfter(usize),
    /// forward this many response bytes, then forward nothing more (connection kept open)
    StallAfter(usize),
    /// answer every request itself, without contacting the upstream
    Respond {
        status: u16,
        reason: &'static str,
        content_type: &'static str,
        body: String,
    },
}

impl Fault {
    /// S3's throttling answer.
    pub fn slow_down() -> Fault {
        Fault::Respond {
            status: 503,
            reason: "Slow Down",
            content_type: "application/xml",
            body: s3_error_xml("SlowDown", "Please reduce your request rate."),
        }
    }

    pub fn internal_error() -> Fault {
        Fault::Respond {
            status: 500,
            reason: "Internal Server Error",
            content_type: "application/xml",
            body: s3_error_xml("InternalError", "We encountered an internal error."),
        }
    }
}

pub fn s3_error_xml(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>FAULTPROXY</RequestId>\
         <HostId>faultproxy</HostId></Error>"
    )
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    connections: Arc<AtomicUsize>,
    /// response bytes forwarded from the upstream, headers included
    forwarded: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listen on 127.0.0.1 (a free port) and proxy to `upstream` with `fault`.
    pub async fn start(upstream: SocketAddr, fault: Fault) -> FaultProxy {
        assert!(
            upstream.ip().is_loopback(),
            "the proxy only targets loopback"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let fault = Arc::new(Mutex::new(fault));
        let connections = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicU64::new(0));
        let (f, n, fw) = (fault.clone(), connections.clone(), forwarded.clone());
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        n.fetch_add(1, Ordering::SeqCst);
                        let fault = f.lock().unwrap().clone();
                        let fw = fw.clone();
                        conns.spawn(async move {
                            let _ = tokio::time::timeout(MAX_HOLD, handle(client, upstream, fault, fw)).await;
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        FaultProxy {
            addr,
            fault,
            connections,
            forwarded,
            task,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// connections accepted so far (= attempts made by the client, absent pooling)
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// response bytes forwarded from the upstream so far (headers included)
    pub fn forwarded_bytes(&self) -> u64 {
        self.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    client: TcpStream,
    upstream: SocketAddr,
    fault: Fault,
    forwarded: Arc<AtomicU64>,
) -> std::io::Result<()> {
    if let Fault::Respond {
        status,
        reason,
        content_type,
        body,
    } = &fault
    {
        return respond(client, *status, reason, content_type, body).await;
    }
    let server = TcpStream::connect(upstream).await?;
    if let Fault::ResetAfter(_) = fault {
        // SO_LINGER 0: the close below sends RST instead of FIN
        client.set_zero_linger()?;
        server.set_zero_linger()?;
    }
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    let requests = async move {
        let _ = tokio::io::copy(&mut client_rd, &mut server_wr).await;
        let _ = server_wr.shutdown().await;
        // keep client_rd alive (dropping it would close the client socket) until the
        // response side is done
        std::future::pending::<()>().await;
    };
    let responses = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut sent = 0usize;
        let mut first = true;
        loop {
            let n = server_rd.read(&mut buf).await?;
            if n == 0 {
                client_wr.shutdown().await?;
                return Ok::<_, std::io::Error>(());
            }
            if first {
                first = false;
                if let Fault::DelayFirstByte(d) = fault {
                    tokio::time::sleep(d).await;
                }
            }
            let cap = match fault {
                Fault::ResetAfter(k) | Fault::StallAfter(k) => Some(k),
                _ => None,
            };
            let limit = cap.map_or(n, |k| k.saturating_sub(sent).min(n));
            client_wr.write_all(&buf[..limit]).await?;
            forwarded.fetch_add(limit as u64, Ordering::SeqCst);
            sent += limit;
            if cap.is_some_and(|k| sent >= k) {
                break;
            }
        }
        client_wr.flush().await?;
        if let Fault::ResetAfter(_) = fault {
            // no FIN from the write half; the read half's drop (when `requests` is dropped
            // right after this returns) closes the socket with RST
            client_wr.forget();
            return Ok(());
        }
        tokio::time::sleep(MAX_HOLD).await; // StallAfter
        Ok(())
    };
    tokio::select! {
        _ = requests => Ok(()),
        r = responses => r,
    }
}

async fn respond(
    mut client: TcpStream,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    // read the request head (bounded), to answer HEAD without a body
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let is_head = head.starts_with(b"HEAD ");
    let mut resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         x-amz-request-id: FAULTPROXY\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !is_head {
        resp.push_str(body);
    }
    client.write_all(resp.as_bytes()).await?;
    client.shutdown().await
}
