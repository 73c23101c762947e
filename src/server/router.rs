//! Routes a request, and wraps every route with the same epilogue: errors become
//! responses in one place, the never-empty rule is enforced, the request id and the
//! CDN headers are added (`cdn`), and the request's log record rides on the body
//! until the last byte is sent.

use std::sync::Arc;
use std::time::Instant;

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::{cdn, handler, warm};
use crate::delivery::body::{ResponseBody, enforce_never_empty};
use crate::delivery::headers::error_response;
use crate::error::{Error, Fault, Kind};
use crate::state::App;
use crate::telemetry::metrics::ErrorLabels;
use crate::telemetry::timing::Timing;
use crate::telemetry::{RequestLog, request_id};

const GET_HEAD: &str = "GET, HEAD";
const GET_HEAD_OPTIONS: &str = "GET, HEAD, OPTIONS";

pub async fn route(app: &Arc<App>, req: Request<Incoming>) -> Response<ResponseBody> {
    let started = Instant::now();
    let method = req.method().clone();
    let name = route_name(req.uri().path());
    let request_id = request_id::from_headers(req.headers());
    let cors = app.config.delivery.cors_allow_origin.is_some();
    let log = RequestLog::new(
        app.metrics.clone(),
        request_id.clone(),
        name,
        method.clone(),
        req.uri().clone(),
        started,
    );

    let result = match check_limits(app, &req).and_then(|()| check_host(&req)) {
        Err(e) => Err(e),
        Ok(()) => match (name, &method) {
            ("warm", &Method::POST) => warm::handle(app, req).await,
            ("warm", m) => Err(Error::new(
                Kind::MethodNotAllowed { allow: "POST" },
                format!("method {m} not allowed; use POST"),
            )),
            ("image", &Method::OPTIONS) if cors => Ok(cdn::preflight()),
            (_, m) if *m != Method::GET && *m != Method::HEAD => Err(Error::new(
                Kind::MethodNotAllowed {
                    allow: if cors && name == "image" {
                        GET_HEAD_OPTIONS
                    } else {
                        GET_HEAD
                    },
                },
                format!("method {m} not allowed; use GET or HEAD"),
            )),
            ("health", _) => Ok(text(
                &method,
                StatusCode::OK,
                "text/plain; charset=utf-8",
                "ok\n".into(),
            )),
            ("metrics", _) => {
                app.sync_metrics().await;
                Ok(text(
                    &method,
                    StatusCode::OK,
                    // what prometheus-client writes (OpenMetrics 1.0, not the 0.0.4
                    // text format: its counter families are named without `_total`)
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    app.metrics.encode(),
                ))
            }
            ("image", _) => handler::image(app, &req).await,
            _ => Err(Error::new(Kind::RouteNotFound, "no such route")),
        },
    };

    let error_cc = &app.config.delivery.error_cache_control;
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            record_error(app, &e, &request_id);
            strip_for_head(&method, error_response(&e, error_cc))
        }
    };
    let mut response = enforce_never_empty(&method, response, || {
        error_response(
            &Error::internal("internal error: empty response body"),
            error_cc,
        )
    });
    let timing = response.extensions_mut().remove::<Timing>();
    cdn::finish(
        response.headers_mut(),
        &app.config.delivery,
        name == "image",
        &request_id,
        timing.as_ref(),
        started.elapsed(),
    );
    let mut log = log;
    log.set_status(response.status().as_u16());
    log.set_timing(timing.unwrap_or_default());
    response.body_mut().attach_log(log);
    response
}

fn route_name(path: &str) -> &'static str {
    match path {
        "/health" => "health",
        "/metrics" => "metrics",
        "/warm" => "warm",
        "/" | "/favicon.ico" | "/robots.txt" => "other",
        p if p.get(1..).unwrap_or("").contains('/') => "image",
        _ => "other",
    }
}

/// 414 and 431 with a body, before any parsing; hyper's own hard caps sit above these.
fn check_limits(app: &App, req: &Request<Incoming>) -> Result<(), Error> {
    let limits = &app.config.server;
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > limits.max_url_bytes {
        return Err(Error::new(
            Kind::UriTooLong,
            format!("request URL longer than {} bytes", limits.max_url_bytes),
        ));
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > limits.max_header_bytes {
        return Err(Error::new(
            Kind::HeadersTooLarge,
            format!(
                "request headers larger than {} bytes",
                limits.max_header_bytes
            ),
        ));
    }
    Ok(())
}

/// RFC 9112 section 3.2: an HTTP/1.1 request without exactly one Host header is a 400.
/// (HTTP/1.0 may omit it; HTTP/2 carries `:authority` instead.)
fn check_host(req: &Request<Incoming>) -> Result<(), Error> {
    if req.version() != http::Version::HTTP_11 {
        return Ok(());
    }
    match req.headers().get_all(http::header::HOST).iter().count() {
        1 => Ok(()),
        0 => Err(Error::new(Kind::BadRequest, "missing Host header")),
        _ => Err(Error::new(Kind::BadRequest, "more than one Host header")),
    }
}

fn record_error(app: &App, e: &Error, request_id: &str) {
    let fault = e.kind.fault();
    let kind = format!("{:?}", e.kind);
    let kind = kind.split([' ', '{', '(']).next().unwrap_or("").to_string();
    app.metrics
        .errors
        .get_or_create(&ErrorLabels {
            kind,
            fault: fault.as_str(),
        })
        .inc();
    let status = e.status().as_u16();
    let cause = e.cause_chain();
    match fault {
        Fault::Client => tracing::debug!(request_id, status, error = %e, cause, "client error"),
        Fault::Source => tracing::warn!(request_id, status, error = %e, cause, "source error"),
        Fault::Server => tracing::error!(request_id, status, error = %e, cause, "server error"),
    }
}

fn text(
    method: &Method,
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::full(body.clone()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    strip_for_head(method, r)
}

/// HEAD gets the GET answer's headers (Content-Length included) and no body.
fn strip_for_head(method: &Method, mut r: Response<ResponseBody>) -> Response<ResponseBody> {
    if *method == Method::HEAD {
        *r.body_mut() = ResponseBody::empty();
    }
    r
}
