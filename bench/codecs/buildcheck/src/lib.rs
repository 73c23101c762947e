#[path = "../../src/pipeline_proto.rs"]
pub mod pipeline_proto;
