//! End-to-end tests: the real server on 127.0.0.1:0, spoken to over real HTTP.
//! One binary, one module per topic.

mod support;

mod builders;
mod cache;
mod docs;
mod errors;
mod headers;
mod health_cli;
mod process;
mod raw;
mod s3;
mod s3_faults;
mod security;
mod server;
mod serving_threads;
mod sign_cli;
mod streaming;
mod warm;
mod watermark;
