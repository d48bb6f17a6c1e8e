//! A watch stream run in a task of its own, for the caches of every replica and the job loops'
//! feeds alike.

use futures::{Stream, StreamExt};
use kube::runtime::watcher::{self, Event};
use tracing::warn;

/// Runs a watch stream in a task of its own, handing each event to `handle`; errors are logged
/// (the stream's backoff retries them).
pub(super) fn drive<K, S>(stream: S, mut handle: impl FnMut(&Event<K>) + Send + 'static) -> tokio::task::JoinHandle<()>
where
    K: Send + 'static,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => handle(&event),
                Err(error) => warn!(error = %super::api_error::watch_cause(&error), "watch failed; retrying"),
            }
        }
    })
}
