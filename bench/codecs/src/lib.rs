//! Codec study for aperture: the prototype pipeline plus the benchmark candidates.
pub mod candidates;
pub mod pipeline_proto;
pub mod ssim;

#[cfg(all(feature = "mozjpeg", feature = "turbojpeg"))]
compile_error!("features `mozjpeg` and `turbojpeg` are exclusive: both static archives export jpeg_* and the linker would mix them");
