//! Running the core's blocking network calls off the caller's thread.
//!
//! The core is synchronous (std sockets with a timeout on every operation). Hosts must not
//! block a UI thread, so every network call is exported as an `async fn`: Kotlin sees a
//! `suspend fun`, Swift an `async` function. The future runs the blocking call on a thread of
//! its own and completes when the call returns, through a oneshot channel; it needs no async
//! runtime on either side (UniFFI polls it from the host's coroutine or task).
//!
//! Dropping the future (a cancelled coroutine or task) does not stop the call already running:
//! it ends by itself within its timeouts, and its result is dropped.

use crate::error::{MailSettingsError, Result};

/// Runs `work` on a new thread named `mail-settings-{name}` and waits for it without blocking.
pub(crate) async fn run_blocking<T, F>(name: &str, work: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("mail-settings-{name}"))
        .spawn(move || {
            // The receiver is gone when the caller stopped waiting: nothing to do then.
            let _ = tx.send(work());
        })
        .map_err(|e| MailSettingsError::internal(format!("could not start a thread: {e}")))?;
    rx.await.map_err(|_| {
        MailSettingsError::internal(format!("the {name} thread stopped without an answer"))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::Thread;

    /// A minimal executor: parks the test thread until the future's waker unparks it.
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    #[test]
    fn runs_on_another_thread_and_returns_its_result() {
        let caller = std::thread::current().id();
        let (id, name) = block_on(run_blocking("test", || {
            let t = std::thread::current();
            Ok((t.id(), t.name().map(str::to_owned)))
        }))
        .unwrap();
        assert_ne!(id, caller);
        assert_eq!(name.as_deref(), Some("mail-settings-test"));
    }

    #[test]
    fn errors_and_panics_come_back_as_errors() {
        let e = block_on(run_blocking::<(), _>("fails", || {
            Err(MailSettingsError::Timeout {
                detail: "slow".into(),
            })
        }));
        assert!(matches!(e, Err(MailSettingsError::Timeout { .. })));
        let p = block_on(run_blocking::<(), _>("panics", || panic!("boom")));
        match p {
            Err(MailSettingsError::Unexpected { detail, .. }) => {
                assert!(detail.contains("panics"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }
}
