//! The body of a GetObject as aperture's [`BodyStream`]: exactly the requested bytes or an
//! error item (connection lost, stall longer than the idle timeout, short or long body).

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use crate::source::{BodyStream, SourceError};

struct BodyState {
    body: ByteStream,
    idle: Duration,
    /// bytes the response still owes by its Content-Length (`None`: not declared)
    unread: Option<u64>,
    /// bytes to drop first (only when the server ignored Range)
    skip: u64,
    /// bytes still to yield
    remaining: u64,
    done: bool,
}

pub(super) fn body_stream(
    body: ByteStream,
    content_length: Option<u64>,
    skip: u64,
    take: u64,
    idle: Duration,
) -> BodyStream {
    let state = BodyState {
        body,
        idle,
        unread: content_length,
        skip,
        remaining: take,
        done: take == 0,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            let item = match tokio::time::timeout(st.idle, st.body.next()).await {
                Err(_) => Err(SourceError::Timeout),
                Ok(None) => Err(SourceError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "S3 body ended {} bytes early",
                        st.unread.unwrap_or(st.remaining)
                    ),
                ))),
                Ok(Some(Err(e))) => Err(SourceError::Io(std::io::Error::other(e))),
                Ok(Some(Ok(chunk))) => Ok(chunk),
            };
            let mut chunk: Bytes = match item {
                Ok(c) => c,
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            let n = chunk.len() as u64;
            if let Some(unread) = st.unread {
                if n > unread {
                    st.done = true;
                    let e = std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "S3 body longer than its Content-Length",
                    );
                    return Some((Err(SourceError::Io(e)), st));
                }
                st.unread = Some(unread - n);
            }
            if st.skip > 0 {
                let k = st.skip.min(n);
                st.skip -= k;
                chunk = chunk.slice(k as usize..);
            }
            if chunk.len() as u64 > st.remaining {
                chunk.truncate(st.remaining as usize);
            }
            st.remaining -= chunk.len() as u64;
            if st.remaining == 0 {
                st.done = true;
            }
            if !chunk.is_empty() {
                return Some((Ok(chunk), st));
            }
        }
    }))
}
