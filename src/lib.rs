//! aperture: an image proxy and CDN origin that answers signed, imgproxy-compatible
//! URLs, streams source blobs with full Range and conditional-request support, and
//! never answers with an empty body.
//!
//! Module map (one concern each):
//!
//! ```text
//! config/     default.toml + APERTURE_* + CLI, layered by figment, validated
//! error.rs    the one Error type; the single kind -> HTTP status mapping
//! state.rs    App: the shared state built once from Config
//! io_lane.rs  which per-core event loop a thread runs (per-loop S3 connection pools)
//! server/     accept loop (HTTP/1.1 + h2c), limits, graceful shutdown; threads.rs: the
//!             binary's one runtime + SO_REUSEPORT listener per core; router; handlers;
//!             POST /warm (validated like GETs, queued in the low-priority lane);
//!             processed answers: negotiate, cache lookup, produce under admission;
//!             resolved.rs remembers parsed paths (the hit path's biggest saving)
//! url/        path grammar, signatures (HMAC-SHA256, key rotation), source references
//! options/    imgproxy processing options -> typed, canonical ProcessingOptions
//! pipeline/   probe, plan, decode (shrink-on-load), orient, resize, encode: the variant
//! source/     blob backends (local folder, S3): head + ranged streaming reads;
//!             versions.rs remembers sources' versions for APERTURE_SOURCE_VERSION_TTL
//! delivery/   ranges, conditionals, headers, multipart, the never-empty body type,
//!             S3 one-round-trip opening, presigned redirects
//! cache/      variant cache (moka, byte-weighted, coalesced misses); decoded.rs keeps
//!             decoded sources so sibling variants skip the decode
//! limits/     memory budget, CPU admission queue, deadlines
//! telemetry/  tracing setup, per-request log record, Prometheus metrics
//! cli.rs      the `aperture` command line (serve, sign)
//! ```
//!
//! Tests and embedders start the same server the binary runs:
//! `App::new(config)` then `serve(listener, app, shutdown)` on their own runtime; the
//! binary runs the same accept loop on one thread per core (`server::threads`).

pub mod cache;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod error;
pub mod io_lane;
pub mod limits;
pub mod options;
pub mod pipeline;
pub mod server;
pub mod source;
pub mod state;
pub mod telemetry;
pub mod url;

pub use config::Config;
pub use server::serve;
pub use state::App;
