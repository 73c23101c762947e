//! The headers every answer gets on its way out, for CDNs and browsers: the request
//! id on all of them; on image routes `Server-Timing` (when enabled) and the CORS
//! pair `Access-Control-Allow-Origin` / `Timing-Allow-Origin` (when configured); and
//! the 204 answer to a CORS preflight. See docs/cdn.md for every response class.
//!
//! The CORS origin is one fixed value, so image answers need no `Vary: Origin`: the
//! same bytes and headers suit every requester, and a CDN keeps one copy.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};

use crate::config::DeliveryConfig;
use crate::delivery::body::ResponseBody;
use crate::delivery::headers::set;
use crate::telemetry::request_id;
use crate::telemetry::timing::{self, Timing};

/// How long a browser may reuse a preflight answer (Chromium caps this at 2 h).
const PREFLIGHT_MAX_AGE: &str = "86400";
/// Cache-Control of the preflight: shorter than the browser's, so a CDN holding it
/// follows a change of `cors_allow_origin` within the hour.
const PREFLIGHT_CACHE_CONTROL: &str = "public, max-age=3600";
/// Request headers a cross-origin image request may send (conditionals, ranges, the
/// request id); anything else is refused by the browser, not by us.
const ALLOW_HEADERS: &str = "Accept, Range, If-Match, If-None-Match, If-Modified-Since, \
                             If-Unmodified-Since, If-Range, X-Request-Id";
/// Response headers cross-origin scripts may read besides the CORS-safelisted ones.
const EXPOSE_HEADERS: &str = "Content-Length, Content-Range, ETag, X-Cache, X-Request-Id";

/// The 204 answer to `OPTIONS` on an image path when CORS is configured.
pub fn preflight() -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(PREFLIGHT_CACHE_CONTROL),
    );
    r
}

/// Adds the outgoing headers; `image_route` selects the CDN/browser ones.
pub fn finish(
    h: &mut HeaderMap,
    delivery: &DeliveryConfig,
    image_route: bool,
    request_id: &str,
    timing: Option<&Timing>,
    total: Duration,
) {
    set(h, HeaderName::from_static(request_id::HEADER), request_id);
    if !image_route {
        return;
    }
    if delivery.server_timing {
        let value = timing::server_timing(&timing.copied().unwrap_or_default(), total);
        set(h, HeaderName::from_static("server-timing"), &value);
    }
    if let Some(origin) = &delivery.cors_allow_origin {
        set(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        set(h, HeaderName::from_static("timing-allow-origin"), origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
}
