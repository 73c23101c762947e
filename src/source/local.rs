//! `local:///path` sources: files below one root folder.
//!
//! Confinement is this module's job. A path is split on `/` after URL decoding (so an
//! encoded `%2f` is a separator like any other), `..` is refused outright, and the
//! joined path is canonicalized (following symlinks) and must still lie below the
//! canonical root, so a symlink pointing out of the root is refused too. Symlinks
//! that stay inside the root are fine. (The check and the open are two steps; a
//! writer of the root who swaps a symlink in between could win that race. Anyone
//! who can write the root can already serve what they like, so we accept it.)
//!
//! File I/O is blocking, so every call runs on tokio's blocking pool, one chunk per
//! hop, which keeps memory per stream at one chunk whatever the file size.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::{BlobMeta, BodyStream, SourceError};
use crate::delivery::range::ByteRange;
use crate::delivery::sniff;

/// Bytes read per blocking hop. Big enough that the hop's overhead vanishes next to the
/// copy, small enough that many concurrent streams stay cheap.
const CHUNK: u64 = 256 * 1024;

#[derive(Debug, Clone)]
pub struct LocalSource {
    root: PathBuf,
}

impl LocalSource {
    /// `root` must exist; it is canonicalized once here.
    pub fn new(root: &Path) -> std::io::Result<LocalSource> {
        Ok(LocalSource {
            root: root.canonicalize()?,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub async fn head(&self, path: &str) -> Result<BlobMeta, SourceError> {
        let file = self.resolve(path)?;
        blocking(move || {
            let f = File::open(&file).map_err(map_open)?;
            meta_of(&f)
        })
        .await
    }

    pub async fn read(
        &self,
        path: &str,
        range: Option<ByteRange>,
    ) -> Result<BodyStream, SourceError> {
        let file = self.resolve(path)?;
        let (f, len) = blocking(move || {
            let f = File::open(&file).map_err(map_open)?;
            let len = f.metadata()?.len();
            Ok((f, len))
        })
        .await?;
        let (start, end) = match range {
            Some(r) => (r.start, r.end.saturating_add(1)),
            None => (0, len),
        };
        Ok(stream_file(Arc::new(f), start, end))
    }

    /// Maps a decoded `local://` path to a file below the root, or refuses it.
    fn resolve(&self, path: &str) -> Result<PathBuf, SourceError> {
        if path.contains('\0') {
            return Err(SourceError::InvalidPath(
                "source path contains a NUL byte".into(),
            ));
        }
        let mut joined = self.root.clone();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    return Err(SourceError::InvalidPath(
                        "source path must not contain `..`".into(),
                    ));
                }
                p => joined.push(p),
            }
        }
        // push() of a component cannot climb, but be explicit about what we accept.
        debug_assert!(
            joined
                .components()
                .all(|c| !matches!(c, Component::ParentDir))
        );
        let canonical = match joined.canonicalize() {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SourceError::NotFound);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                return Err(SourceError::NotFound);
            }
            Err(e) => return Err(SourceError::Io(e)),
        };
        if !canonical.starts_with(&self.root) {
            return Err(SourceError::NotAllowed(
                "source path resolves outside the local root".into(),
            ));
        }
        Ok(canonical)
    }
}

fn meta_of(f: &File) -> Result<BlobMeta, SourceError> {
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(SourceError::NotFound);
    }
    let mut head = [0u8; sniff::SNIFF_LEN];
    let mut n = 0;
    // read() may return short counts; loop until the sniff window is full or EOF.
    let mut reader = f;
    while n < head.len() {
        match reader.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let mtime_ns = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
    Ok(BlobMeta {
        len: m.len(),
        // Strong validator from what changes whenever the bytes do (as nginx does),
        // plus the inode so a replaced file with equal size and time differs.
        etag: Some(format!("\"{:x}-{:x}-{:x}\"", m.len(), mtime_ns, m.ino())),
        last_modified: m.modified().ok(),
        content_type: Some(sniff::content_type(&head[..n]).to_string()),
    })
}

fn map_open(e: std::io::Error) -> SourceError {
    match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound,
        std::io::ErrorKind::PermissionDenied => {
            SourceError::NotAllowed("source file is not readable".into())
        }
        _ => SourceError::Io(e),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SourceError> + Send + 'static,
) -> Result<T, SourceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SourceError::Io(std::io::Error::other(e)))?
}

/// Streams bytes `start..end` of `file`, one chunk per blocking hop. A file that
/// shrank underneath us ends the stream with an error, never with a short success.
fn stream_file(file: Arc<File>, start: u64, end: u64) -> BodyStream {
    Box::pin(futures_util::stream::try_unfold(
        (file, start),
        move |(file, pos)| async move {
            if pos >= end {
                return Ok(None);
            }
            let want = (end - pos).min(CHUNK) as usize;
            let f = Arc::clone(&file);
            let chunk = blocking(move || {
                let mut buf = vec![0u8; want];
                let mut filled = 0;
                while filled < want {
                    match f.read_at(&mut buf[filled..], pos + filled as u64)? {
                        0 => {
                            return Err(SourceError::Io(std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "file shrank while it was being read",
                            )));
                        }
                        k => filled += k,
                    }
                }
                Ok(Bytes::from(buf))
            })
            .await?;
            Ok(Some((chunk, (file, pos + want as u64))))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    fn fixture() -> (tempfile::TempDir, LocalSource) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.txt"), b"hello world").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("sub/in")).unwrap();
        let src = LocalSource::new(&root).unwrap();
        (dir, src)
    }

    async fn read_all(src: &LocalSource, p: &str, r: Option<ByteRange>) -> Vec<u8> {
        let s = src.read(p, r).await.unwrap();
        let chunks: Vec<Bytes> = s.try_collect().await.unwrap();
        chunks.concat()
    }

    #[tokio::test]
    async fn reads_whole_and_ranges() {
        let (_d, src) = fixture();
        assert_eq!(read_all(&src, "/a.txt", None).await, b"hello world");
        let r = ByteRange { start: 6, end: 10 };
        assert_eq!(read_all(&src, "/a.txt", Some(r)).await, b"world");
        let m = src.head("/a.txt").await.unwrap();
        assert_eq!(m.len, 11);
        assert!(m.etag.unwrap().starts_with('"'));
    }

    #[tokio::test]
    async fn confinement() {
        let (_d, src) = fixture();
        assert!(matches!(
            src.head("/../secret.txt").await,
            Err(SourceError::InvalidPath(_))
        ));
        assert!(matches!(
            src.head("/sub/../../secret.txt").await,
            Err(SourceError::InvalidPath(_))
        ));
        assert!(matches!(
            src.head("/out").await,
            Err(SourceError::NotAllowed(_))
        ));
        assert!(src.head("/sub/in").await.is_ok(), "symlink inside the root");
        assert!(matches!(
            src.head("/missing").await,
            Err(SourceError::NotFound)
        ));
        assert!(matches!(src.head("/sub").await, Err(SourceError::NotFound)));
        assert!(matches!(
            src.head("/a.txt/x").await,
            Err(SourceError::NotFound)
        ));
        assert!(matches!(
            src.head("/a\0b").await,
            Err(SourceError::InvalidPath(_))
        ));
    }

    #[tokio::test]
    async fn shrinking_file_ends_with_an_error() {
        let (d, src) = fixture();
        let s = src.read("/a.txt", None).await.unwrap();
        std::fs::write(d.path().join("root/a.txt"), b"hi").unwrap();
        let r: Result<Vec<Bytes>, _> = s.try_collect().await;
        assert!(r.is_err());
    }
}
