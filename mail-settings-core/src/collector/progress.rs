//! Progress reports and cancellation, shared with other threads (and, through the bindings,
//! with Python and Kotlin/Swift callers).

use crate::model::RecordId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where a run is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The account being collected.
    pub account_id: RecordId,
    /// Its name.
    pub account_name: String,
    /// Messages handled so far in this run.
    pub done: u64,
    /// Messages this run is to fetch.
    pub total: u64,
    /// Bytes received so far.
    pub bytes: u64,
    /// Bytes this run is to fetch (as the server announced them).
    pub total_bytes: u64,
}

/// Hears about runs as they go. Called from the thread doing the run (any thread): keep it
/// quick, and do not call back into the collector for the same account from inside it.
pub trait ProgressListener: Send + Sync {
    /// A run started (`done == 0`), handled one more message, or ended.
    fn on_progress(&self, progress: &Progress);
}

impl<F: Fn(&Progress) + Send + Sync> ProgressListener for F {
    fn on_progress(&self, progress: &Progress) {
        self(progress)
    }
}

/// Stops a run at the next message boundary: what was fetched is committed (and, without keep
/// copy, removed from the server), the session is closed, and the run reports `cancelled`.
/// Cheap to clone; every clone cancels the same run.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelToken")
            .field(&self.is_cancelled())
            .finish()
    }
}

/// The name [`CancelToken`] had before this release (the bindings always called it
/// `CancelToken`).
#[deprecated(note = "renamed CancelToken, the name the bindings use")]
pub type CancelHandle = CancelToken;

impl CancelToken {
    /// A token not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether it was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
