//! The one error type of the service and its mapping to HTTP.
//!
//! Every module has its own small error enum; each converts into [`Error`], and the
//! single `match` in [`Kind::status`] decides the status code, the fault (whose side
//! the problem is on, which sets the log level) and any extra header. No other module
//! picks a status code for an error. Clients only ever see the short public message;
//! the cause chain goes to the log.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// What went wrong, in terms a client or operator cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The URL does not follow the grammar (400).
    InvalidUrl,
    /// A processing option is unknown or malformed (400).
    InvalidOption,
    /// A request body is malformed or names something it may not (400).
    BadRequest,
    /// A request body larger than its route accepts (413).
    PayloadTooLarge,
    /// The caller is sending work faster than it can be queued: the warm-up queue
    /// is full (429 + Retry-After).
    TooManyRequests { retry_after: Duration },
    /// Signature missing, wrong or tampered (403).
    BadSignature,
    /// The URL carried `expires` and that time has passed (410).
    Expired,
    /// The source may not be served: bucket not allowed, path escapes the root (403).
    SourceNotAllowed,
    /// No such source object (404).
    SourceNotFound,
    /// The source exists but holds zero bytes: never answered with an empty 2xx (422).
    SourceEmpty,
    /// The source cannot be handled (scheme not supported, not a file) (422).
    UnsupportedSource,
    /// The source image cannot be processed: undecodable, unknown or unsupported
    /// format, over the size limits; or the output format cannot be written (422).
    Unprocessable,
    /// The request asks for something this build cannot do yet (501).
    NotImplemented,
    /// No range of the request overlaps the resource (416, `Content-Range: bytes */len`).
    RangeNotSatisfiable { len: u64 },
    /// `If-Match` / `If-Unmodified-Since` failed (412).
    PreconditionFailed,
    /// The origin refused our credentials (502).
    SourceRefused,
    /// The origin could not be reached or failed (502).
    SourceUnavailable,
    /// The origin is throttling us (503 + Retry-After).
    SourceThrottled,
    /// The origin did not answer in time (504).
    SourceTimeout,
    /// Too busy right now; try again shortly (503 + Retry-After).
    Overloaded { retry_after: Duration },
    /// No route for this path (404).
    RouteNotFound,
    /// The route exists but not for this method (405 + Allow).
    MethodNotAllowed { allow: &'static str },
    /// Request target longer than the configured limit (414).
    UriTooLong,
    /// Request headers larger than the configured limit (431).
    HeadersTooLarge,
    /// A bug or an unexpected failure on our side (500).
    Internal,
}

/// Whose fault an error is; decides the log level and the `fault` metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Client,
    Source,
    Server,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Client => "client",
            Fault::Source => "source",
            Fault::Server => "server",
        }
    }
}

impl Kind {
    /// The single place where error kinds become HTTP statuses.
    pub fn status(&self) -> StatusCode {
        match self {
            Kind::InvalidUrl | Kind::InvalidOption | Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Kind::BadSignature | Kind::SourceNotAllowed => StatusCode::FORBIDDEN,
            Kind::Expired => StatusCode::GONE,
            Kind::SourceNotFound | Kind::RouteNotFound => StatusCode::NOT_FOUND,
            Kind::SourceEmpty | Kind::UnsupportedSource | Kind::Unprocessable => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Kind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            Kind::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::SourceRefused | Kind::SourceUnavailable => StatusCode::BAD_GATEWAY,
            Kind::SourceThrottled | Kind::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Kind::SourceTimeout => StatusCode::GATEWAY_TIMEOUT,
            Kind::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Kind::UriTooLong => StatusCode::URI_TOO_LONG,
            Kind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn fault(&self) -> Fault {
        match self {
            Kind::SourceEmpty
            | Kind::UnsupportedSource
            | Kind::Unprocessable
            | Kind::SourceRefused
            | Kind::SourceUnavailable
            | Kind::SourceThrottled
            | Kind::SourceTimeout => Fault::Source,
            Kind::Overloaded { .. } | Kind::Internal | Kind::NotImplemented => Fault::Server,
            _ => Fault::Client,
        }
    }

    /// Headers an error of this kind must carry besides the common ones.
    pub fn extra_headers(&self) -> Vec<(http::HeaderName, String)> {
        use http::header;
        match self {
            Kind::RangeNotSatisfiable { len } => {
                vec![(header::CONTENT_RANGE, format!("bytes */{len}"))]
            }
            Kind::SourceThrottled => vec![(header::RETRY_AFTER, "1".to_string())],
            Kind::Overloaded { retry_after } | Kind::TooManyRequests { retry_after } => vec![(
                header::RETRY_AFTER,
                retry_after.as_secs().max(1).to_string(),
            )],
            Kind::MethodNotAllowed { allow } => vec![(header::ALLOW, allow.to_string())],
            _ => Vec::new(),
        }
    }
}

/// An error on its way to becoming a response: a kind, a public one-line message, and
/// optionally the private cause for the log.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    message: String,
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.cause = Some(Box::new(cause));
        self
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Kind::Internal, message)
    }

    /// The one-line text sent to the client.
    pub fn public_message(&self) -> &str {
        &self.message
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The cause chain, for the log only. Links that only repeat the public message or
    /// the link before them (an error wrapping another with the same text) are left
    /// out, so the log line says each thing once.
    pub fn cause_chain(&self) -> String {
        let mut out = String::new();
        let mut last = self.message.clone();
        let mut next: Option<&(dyn std::error::Error + 'static)> = match &self.cause {
            Some(c) => Some(c.as_ref()),
            None => None,
        };
        while let Some(e) = next {
            let text = e.to_string();
            if text != last && text != self.message {
                if !out.is_empty() {
                    out.push_str(": ");
                }
                out.push_str(&text);
            }
            last = text;
            next = e.source();
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Some(c) => Some(c.as_ref()),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_an_error_status() {
        let kinds = [
            (Kind::InvalidUrl, 400),
            (Kind::InvalidOption, 400),
            (Kind::BadRequest, 400),
            (Kind::PayloadTooLarge, 413),
            (
                Kind::TooManyRequests {
                    retry_after: Duration::from_secs(5),
                },
                429,
            ),
            (Kind::BadSignature, 403),
            (Kind::Expired, 410),
            (Kind::SourceNotAllowed, 403),
            (Kind::SourceNotFound, 404),
            (Kind::SourceEmpty, 422),
            (Kind::UnsupportedSource, 422),
            (Kind::Unprocessable, 422),
            (Kind::NotImplemented, 501),
            (Kind::RangeNotSatisfiable { len: 5 }, 416),
            (Kind::PreconditionFailed, 412),
            (Kind::SourceRefused, 502),
            (Kind::SourceUnavailable, 502),
            (Kind::SourceThrottled, 503),
            (Kind::SourceTimeout, 504),
            (
                Kind::Overloaded {
                    retry_after: Duration::from_secs(2),
                },
                503,
            ),
            (Kind::RouteNotFound, 404),
            (Kind::MethodNotAllowed { allow: "GET" }, 405),
            (Kind::UriTooLong, 414),
            (Kind::HeadersTooLarge, 431),
            (Kind::Internal, 500),
        ];
        for (kind, status) in kinds {
            assert_eq!(kind.status().as_u16(), status, "{kind:?}");
        }
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let h = Kind::Overloaded {
            retry_after: Duration::from_millis(10),
        }
        .extra_headers();
        assert_eq!(h[0].1, "1");
        let h = Kind::SourceThrottled.extra_headers();
        assert_eq!(h[0].0, http::header::RETRY_AFTER);
        let h = Kind::TooManyRequests {
            retry_after: Duration::from_secs(5),
        }
        .extra_headers();
        assert_eq!(h[0], (http::header::RETRY_AFTER, "5".to_string()));
    }

    #[test]
    fn unsatisfiable_range_names_the_length() {
        let h = Kind::RangeNotSatisfiable { len: 42 }.extra_headers();
        assert_eq!(h[0].1, "bytes */42");
    }

    #[test]
    fn cause_chain_says_each_thing_once() {
        let io = std::io::Error::other("source is 60000x60000, over the limit");
        let e =
            Error::new(Kind::Unprocessable, "source is 60000x60000, over the limit").with_cause(io);
        assert_eq!(e.cause_chain(), "");
        let io = std::io::Error::other("disk on fire");
        let e = Error::new(Kind::SourceUnavailable, "origin unavailable").with_cause(io);
        assert_eq!(e.cause_chain(), "disk on fire");
    }

    #[test]
    fn cause_chain_is_kept_out_of_the_public_message() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::new(Kind::SourceUnavailable, "origin unavailable").with_cause(io);
        assert_eq!(e.public_message(), "origin unavailable");
        assert!(e.cause_chain().contains("disk on fire"));
    }
}
