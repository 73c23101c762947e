//! Admission control: how much work may be in flight at once, and for how long a
//! request may wait for it.
//!
//! - [`budget`]: the memory budget (`APERTURE_MEMORY_BUDGET_MB`) that every decode
//!   reserves its estimated peak from, FIFO, before touching pixels;
//! - [`admission`]: the CPU worker slots (`APERTURE_WORKERS`), the bounded waiting
//!   queue, the low-priority warm-up lane, and running jobs with panics caught;
//! - [`workers`]: the dedicated CPU threads jobs run on (why not tokio's blocking pool);
//! - [`deadline`]: the per-request deadline;
//! - [`warm_queue`]: how many `POST /warm` paths may be pending and running.
//!
//! Every refusal is a [`Rejected`], which converts into the service's one
//! [`Error`](crate::error::Error). Estimating a job's peak bytes is the pipeline's
//! plan's job, not this module's; sizing the limits is config's.

pub mod admission;
pub mod budget;
pub mod deadline;
pub mod warm_queue;
pub mod workers;

use std::time::Duration;

use crate::error::{Error, Kind};

pub use admission::{Admission, AdmissionConfig, AdmissionStats, Lane, WaitObserver};
pub use budget::{MemoryBudget, Reservation};
pub use deadline::Deadline;
pub use warm_queue::WarmQueue;

/// How long clients are told to wait before retrying an overload refusal. Short on
/// purpose: queues drain in well under a second, and a request refused at its deadline
/// usually finds its variant cached on the retry (the work went on in the background).
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why a job was not (or not successfully) run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The job's estimated peak exceeds the whole memory budget: it could never run.
    #[error("job needs {requested} bytes, more than the whole budget of {budget} bytes")]
    TooLarge { requested: u64, budget: u64 },
    /// The waiting queue is full; refused without waiting.
    #[error("admission queue full")]
    QueueFull,
    /// Waited `queue_timeout` for memory or a worker without getting both.
    #[error("timed out waiting in the admission queue")]
    QueueTimeout,
    /// The request's deadline passed (while waiting, or while the work ran).
    #[error("request deadline exceeded")]
    DeadlineExceeded,
    /// The job panicked on its worker (or its task was cancelled at shutdown); the
    /// message is for the log only.
    #[error("job panicked: {0}")]
    Panicked(String),
}

impl Rejected {
    /// The `reason` label of `aperture_rejected_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejected::TooLarge { .. } => "too_large",
            Rejected::QueueFull => "queue_full",
            Rejected::QueueTimeout => "queue_timeout",
            Rejected::DeadlineExceeded => "deadline",
            Rejected::Panicked(_) => "panicked",
        }
    }
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Error {
        // Deadline refusals are 503 + Retry-After rather than 504 (issue 5): the work
        // goes on into the cache, so telling the client "retry shortly" is accurate,
        // and a CDN treats 503 + Retry-After as a transient refusal, not an outage.
        let (kind, message) = match &r {
            Rejected::TooLarge { .. } => (Kind::UnsupportedSource, "image too large to process"),
            Rejected::QueueFull | Rejected::QueueTimeout => (
                Kind::Overloaded {
                    retry_after: RETRY_AFTER,
                },
                "server busy: try again shortly",
            ),
            Rejected::DeadlineExceeded => (
                Kind::Overloaded {
                    retry_after: RETRY_AFTER,
                },
                "processing took too long: try again shortly",
            ),
            Rejected::Panicked(_) => (Kind::Internal, "internal error"),
        };
        Error::new(kind, message).with_cause(r)
    }
}

/// The message of a caught panic, for the log.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_map_to_statuses_with_one_line_messages() {
        let cases = [
            (
                Rejected::TooLarge {
                    requested: 2,
                    budget: 1,
                },
                422,
            ),
            (Rejected::QueueFull, 503),
            (Rejected::QueueTimeout, 503),
            (Rejected::DeadlineExceeded, 503),
            (Rejected::Panicked("boom".into()), 500),
        ];
        for (r, status) in cases {
            let e = Error::from(r.clone());
            assert_eq!(e.status().as_u16(), status, "{r:?}");
            assert!(!e.public_message().contains('\n'));
            assert!(!e.public_message().contains("boom"), "cause leaked");
            let retry = e
                .kind
                .extra_headers()
                .into_iter()
                .any(|(h, v)| h == http::header::RETRY_AFTER && v == "1");
            assert_eq!(retry, status == 503, "{r:?}");
        }
    }

    #[test]
    fn reasons_are_metric_labels() {
        assert_eq!(Rejected::DeadlineExceeded.reason(), "deadline");
        assert_eq!(Rejected::QueueTimeout.reason(), "queue_timeout");
    }
}
