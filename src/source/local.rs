//! `local:///path` sources: files below one root folder.
//!
//! Confinement is this module's job. A path is split on `/` after URL decoding (so an
//! encoded `%2f` is a separator like any other) and `..` is refused outright with a
//! 400. The file is then opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`
//! relative to the root directory, so the kernel itself refuses any resolution that
//! leaves the root, symlinks included, atomically (no check-then-open race). Relative
//! symlinks that stay inside the root work. RESOLVE_BENEATH treats every absolute
//! symlink as an escape, so when it refuses one the path is canonicalized and, if that
//! lands inside the root, the canonical path is opened beneath the root again: a symlink
//! swapped in between is still refused by the kernel. Kernels older than 5.6 lack
//! openat2; there we fall back to canonicalizing and checking the prefix, which has the
//! usual race against a writer of the root.
//!
//! Files are opened non-blocking, so a FIFO or device node in the root cannot stall an
//! event loop in `open`; anything but a regular file is then answered as not found.
//!
//! I/O placement: opening, `fstat` and reads of up to [`INLINE_MAX`] bytes run on the
//! async worker itself, as nginx does in its event loop, because a hop to the blocking
//! pool costs two thread wake-ups, which measured as most of the CPU time of serving a
//! small file. Bigger bodies stream one [`CHUNK`] per blocking-pool hop, where the hop
//! is cheap next to the copy, and memory per stream stays at one chunk.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::{BlobMeta, BodyStream, SourceError};
use crate::delivery::range::ByteRange;
use crate::delivery::sniff;

/// Bytes read per blocking hop when streaming big bodies.
const CHUNK: u64 = 256 * 1024;
/// Reads up to this size happen inline on the async worker (page-cache speed).
const INLINE_MAX: u64 = 128 * 1024;

#[derive(Debug)]
pub struct LocalSource {
    root: PathBuf,
    root_fd: Arc<OwnedFd>,
}

impl Clone for LocalSource {
    fn clone(&self) -> Self {
        LocalSource {
            root: self.root.clone(),
            root_fd: Arc::clone(&self.root_fd),
        }
    }
}

impl LocalSource {
    /// `root` must exist; it is canonicalized and opened once here.
    pub fn new(root: &Path) -> std::io::Result<LocalSource> {
        let root = root.canonicalize()?;
        let dir = File::open(&root)?;
        if !dir.metadata()?.is_dir() {
            return Err(std::io::Error::other("not a directory"));
        }
        Ok(LocalSource {
            root,
            root_fd: Arc::new(OwnedFd::from(dir)),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub async fn head(&self, path: &str) -> Result<BlobMeta, SourceError> {
        let f = self.open(path)?;
        meta_of(&f)
    }

    /// Metadata plus, for files up to [`INLINE_MAX`] bytes, the whole content: one
    /// open and one read serve a small file's request (measured: the second open and
    /// stat of a head-then-read flow cost a fifth of a small-file request).
    pub async fn open_small(&self, path: &str) -> Result<(BlobMeta, Option<Bytes>), SourceError> {
        let f = self.open(path)?;
        let m = f.metadata()?;
        if !m.is_file() || m.len() > INLINE_MAX {
            return Ok((meta_of(&f)?, None));
        }
        let bytes = read_exact_at(&f, 0, m.len() as usize)?;
        let sniff_len = sniff::SNIFF_LEN.min(bytes.len());
        let meta = meta_from(&m, &bytes[..sniff_len]);
        Ok((meta, Some(bytes)))
    }

    pub async fn read(
        &self,
        path: &str,
        range: Option<ByteRange>,
    ) -> Result<BodyStream, SourceError> {
        self.read_pinned(path, range, None).await
    }

    /// [`LocalSource::read`], refused with `Changed` unless the file opened has `etag`.
    pub async fn read_pinned(
        &self,
        path: &str,
        range: Option<ByteRange>,
        etag: Option<&str>,
    ) -> Result<BodyStream, SourceError> {
        let f = self.open(path)?;
        let m = f.metadata()?;
        if etag.is_some_and(|want| want != etag_of(&m)) {
            return Err(SourceError::Changed);
        }
        let len = m.len();
        let (start, end) = match range {
            Some(r) => (r.start, r.end.saturating_add(1)),
            None => (0, len),
        };
        if end.saturating_sub(start) <= INLINE_MAX {
            let bytes = read_exact_at(&f, start, (end - start) as usize);
            return Ok(Box::pin(futures_util::stream::once(async move { bytes })));
        }
        Ok(stream_file(Arc::new(f), start, end))
    }

    /// Opens a decoded `local://` path below the root, or refuses it.
    fn open(&self, path: &str) -> Result<File, SourceError> {
        let relative = relative_path(path)?;
        // `a.jpg/` names a folder, as open(2) would have it: not the file `a.jpg`
        if relative.is_empty() || path.ends_with('/') {
            return Err(SourceError::NotFound);
        }
        match open_beneath(&self.root_fd, Path::new(&relative)) {
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => self.open_checked(&relative),
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => self.open_canonical(&relative),
            Err(e) => Err(map_open(e)),
            Ok(f) => Ok(f),
        }
    }

    /// An absolute symlink on the way: follow it, and open the result beneath the root
    /// again if it lies there.
    fn open_canonical(&self, relative: &str) -> Result<File, SourceError> {
        let canonical = self.root.join(relative).canonicalize().map_err(map_open)?;
        let inside = canonical.strip_prefix(&self.root).map_err(|_| {
            SourceError::NotAllowed("source path resolves outside the local root".into())
        })?;
        open_beneath(&self.root_fd, inside).map_err(map_open)
    }

    /// Fallback for kernels without openat2: canonicalize, check, open.
    fn open_checked(&self, relative: &str) -> Result<File, SourceError> {
        let canonical = self.root.join(relative).canonicalize().map_err(map_open)?;
        if !canonical.starts_with(&self.root) {
            return Err(SourceError::NotAllowed(
                "source path resolves outside the local root".into(),
            ));
        }
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(canonical)
            .map_err(map_open)
    }
}

/// `/a//b/./c` -> `a/b/c`; refuses `..` and NUL.
fn relative_path(path: &str) -> Result<String, SourceError> {
    if path.contains('\0') {
        return Err(SourceError::InvalidPath(
            "source path contains a NUL byte".into(),
        ));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(SourceError::InvalidPath(
                    "source path must not contain `..`".into(),
                ));
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn open_beneath(root: &OwnedFd, relative: &Path) -> std::io::Result<File> {
    let c_path = CString::new(relative.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: open_how is plain integers; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 reads `c_path` (NUL-terminated, alive for the call) and `how`
    // (a valid open_how of the size we pass); it returns a new fd or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this fd, and nothing else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

fn meta_of(f: &File) -> Result<BlobMeta, SourceError> {
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(SourceError::NotFound);
    }
    let sniff_len = (sniff::SNIFF_LEN as u64).min(m.len()) as usize;
    let head = read_exact_at(f, 0, sniff_len)?;
    Ok(meta_from(&m, &head))
}

fn meta_from(m: &std::fs::Metadata, head: &[u8]) -> BlobMeta {
    BlobMeta {
        len: m.len(),
        etag: Some(etag_of(m)),
        last_modified: m.modified().ok(),
        content_type: Some(sniff::content_type(head).to_string()),
    }
}

/// Strong validator from what changes whenever the bytes do (as nginx does), plus the
/// inode so a replaced file with equal size and time differs.
fn etag_of(m: &std::fs::Metadata) -> String {
    let mtime_ns = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
    format!("\"{:x}-{:x}-{:x}\"", m.len(), mtime_ns, m.ino())
}

fn map_open(e: std::io::Error) -> SourceError {
    match e.raw_os_error() {
        Some(libc::EXDEV) => {
            return SourceError::NotAllowed("source path resolves outside the local root".into());
        }
        Some(libc::ELOOP) => {
            return SourceError::NotAllowed(
                "source path has too many symbolic links (a loop?)".into(),
            );
        }
        Some(libc::ENOTDIR) | Some(libc::EISDIR) => return SourceError::NotFound,
        _ => {}
    }
    match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound,
        std::io::ErrorKind::PermissionDenied => {
            SourceError::NotAllowed("source file is not readable".into())
        }
        _ => SourceError::Io(e),
    }
}

/// Exactly `len` bytes at `pos`; a file that shrank is an error, never a short read.
fn read_exact_at(f: &File, pos: u64, len: usize) -> Result<Bytes, SourceError> {
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
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
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SourceError> + Send + 'static,
) -> Result<T, SourceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SourceError::Io(std::io::Error::other(e)))?
}

/// Streams bytes `start..end` of `file`, one chunk per blocking hop.
fn stream_file(file: Arc<File>, start: u64, end: u64) -> BodyStream {
    Box::pin(futures_util::stream::try_unfold(
        (file, start),
        move |(file, pos)| async move {
            if pos >= end {
                return Ok(None);
            }
            let want = (end - pos).min(CHUNK) as usize;
            let f = Arc::clone(&file);
            let chunk = blocking(move || read_exact_at(&f, pos, want)).await?;
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
        std::os::unix::fs::symlink("../a.txt", root.join("sub/in")).unwrap();
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("abs")).unwrap();
        std::os::unix::fs::symlink("loop2", root.join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", root.join("loop2")).unwrap();
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
        assert!(
            src.head("/sub/in").await.is_ok(),
            "relative symlink inside the root"
        );
        assert!(
            src.head("/abs").await.is_ok(),
            "an absolute symlink to a file inside the root"
        );
        assert!(
            matches!(src.head("/loop1").await, Err(SourceError::NotAllowed(m)) if m.contains("loop")),
            "a symlink loop"
        );
        assert!(matches!(
            src.head("/missing").await,
            Err(SourceError::NotFound)
        ));
        assert!(matches!(src.head("/sub").await, Err(SourceError::NotFound)));
        assert!(matches!(
            src.head("/a.txt/").await,
            Err(SourceError::NotFound)
        ));
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
    async fn a_pinned_read_refuses_another_version() {
        let (d, src) = fixture();
        let etag = src.head("/a.txt").await.unwrap().etag.unwrap();
        assert!(src.read_pinned("/a.txt", None, Some(&etag)).await.is_ok());
        // replaced: another inode, whatever its size and time
        let path = d.path().join("root/a.txt");
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"hello world").unwrap();
        assert!(matches!(
            src.read_pinned("/a.txt", None, Some(&etag)).await,
            Err(SourceError::Changed)
        ));
        assert!(src.read_pinned("/a.txt", None, None).await.is_ok());
    }

    #[tokio::test]
    async fn a_fifo_is_not_found_without_waiting_for_a_writer() {
        let (d, src) = fixture();
        let fifo =
            std::ffi::CString::new(d.path().join("root/pipe").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), src.head("/pipe"))
            .await
            .expect("open must not block on a FIFO");
        assert!(matches!(answer, Err(SourceError::NotFound)));
    }

    #[tokio::test]
    async fn shrinking_file_ends_with_an_error() {
        let (d, src) = fixture();
        let big = d.path().join("root/big.bin");
        std::fs::write(&big, vec![7u8; 4 * CHUNK as usize]).unwrap();
        let s = src.read("/big.bin", None).await.unwrap();
        std::fs::write(&big, b"hi").unwrap();
        let r: Result<Vec<Bytes>, _> = s.try_collect().await;
        assert!(r.is_err());
    }
}
