//! A pass over many repositories or orgs that stops asking GitHub once it rate limits: label
//! sync and managed webhooks both visit their targets this way.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt;

/// Runs `visit` on every item, `concurrency` at a time; the results come back in the items'
/// order. Once a result asks to wait (`wait_of`: GitHub rate limits beyond the client's wait
/// budget), the items not started yet are not visited: `skipped(item, wait)` stands for each, so
/// that a pass never hammers a limit.
pub async fn throttled_pass<'a, I, R, Fut>(
    items: &'a [I],
    concurrency: usize,
    visit: impl Fn(&'a I) -> Fut,
    wait_of: impl Fn(&R) -> Option<Duration>,
    skipped: impl Fn(&'a I, Duration) -> R,
) -> Vec<R>
where
    Fut: Future<Output = R>,
{
    let throttled: Mutex<Option<Duration>> = Mutex::new(None);
    let (throttle, visit, wait_of, skipped) = (&throttled, &visit, &wait_of, &skipped);
    futures::stream::iter(items)
        .map(|item| async move {
            let wait = *throttle.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(wait) = wait {
                return skipped(item, wait);
            }
            let result = visit(item).await;
            if let Some(wait) = wait_of(&result) {
                throttle.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(wait);
            }
            result
        })
        .buffered(concurrency)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_after_a_rate_limit_are_not_visited_and_the_order_is_kept() {
        let visited = Mutex::new(Vec::new());
        let items: Vec<u32> = (0..10).collect();
        let results = throttled_pass(
            &items,
            1,
            async |item: &u32| {
                visited.lock().unwrap().push(*item);
                if *item == 3 {
                    Err(Duration::from_secs(60))
                } else {
                    Ok(*item)
                }
            },
            |result| result.err(),
            |item, wait| Err(Duration::from_secs(wait.as_secs() + u64::from(*item))),
        )
        .await;
        assert_eq!(*visited.lock().unwrap(), [0, 1, 2, 3]);
        assert_eq!(results[..3], [Ok(0), Ok(1), Ok(2)]);
        assert_eq!(results[3], Err(Duration::from_secs(60)));
        assert_eq!(
            results[9],
            Err(Duration::from_secs(69)),
            "each skipped item gets the wait"
        );
        assert_eq!(results.len(), 10);
    }
}
