//! The transforms of recently seen profiles, shared by all jobs: building a moxcms
//! transform (~2 ms, mostly its 16-bit gamma table) costs several times more than
//! applying it to a thumbnail (~0.3 ms for 300x200), and a site's photos share a few
//! profiles (every iPhone's Display P3). The verdict "nothing to do" (sRGB, unusable)
//! is kept too, so an sRGB-tagged source costs a comparison, not a parse.
//!
//! Keyed by the profile's bytes themselves, not a hash: a crafted collision must not
//! give other sources its transform. At most [`ENTRIES`] profiles of at most
//! [`MAX_KEY`] bytes (display profiles are 0.5-4 KB; print profiles, which are large,
//! are only used for CMYK and not cached): a few MB at worst, for the process.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use moxcms::{Layout, Transform8BitExecutor};

pub type Transform = Arc<Transform8BitExecutor>;

const ENTRIES: usize = 16;
const MAX_KEY: usize = 64 * 1024;

struct Entry {
    icc: Vec<u8>,
    layout: Layout,
    transform: Option<Transform>,
}

static RECENT: Mutex<VecDeque<Entry>> = Mutex::new(VecDeque::new());

/// The transform for `icc` on `layout` pixels (`None`: leave them alone), from the
/// cache or else made by `build` (outside the lock: two jobs may build the same one).
pub fn get_or_build(
    icc: &[u8],
    layout: Layout,
    build: impl FnOnce() -> Option<Transform>,
) -> Option<Transform> {
    // a panic while holding the lock cannot leave an entry half-written
    let lock = || RECENT.lock().unwrap_or_else(|e| e.into_inner());
    {
        let mut recent = lock();
        if let Some(i) = recent
            .iter()
            .position(|e| e.layout == layout && e.icc == icc)
        {
            let entry = recent.remove(i)?;
            let found = entry.transform.clone();
            recent.push_front(entry);
            return found;
        }
    }
    let transform = build();
    if icc.len() <= MAX_KEY {
        let mut recent = lock();
        if recent.iter().any(|e| e.layout == layout && e.icc == icc) {
            return transform; // another job built it meanwhile
        }
        recent.push_front(Entry {
            icc: icc.to_vec(),
            layout,
            transform: transform.clone(),
        });
        recent.truncate(ENTRIES);
    }
    transform
}
