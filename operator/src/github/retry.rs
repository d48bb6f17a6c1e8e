//! When to retry a GitHub request: a pure function of the outcome, the attempt number and the
//! time already spent waiting.
//!
//! Retried, while attempts and the total wait budget last:
//! - rate limits: 429, and 403 carrying `Retry-After` or `X-RateLimit-Remaining: 0`. The wait is
//!   `Retry-After` (seconds; GitHub's secondary limits send it), else until `X-RateLimit-Reset`
//!   (plus one second) when the remaining quota is 0, else the exponential backoff;
//!   a 403 whose body names a secondary rate limit without `Retry-After` waits 60 s;
//! - 5xx answers (but 501 and 505, which will not change) and transport failures, with exponential
//!   backoff (or `Retry-After` when a 5xx sends one). Only idempotent requests retry these: a
//!   non-idempotent POST (a new comment) that got a 502 may have been applied, so it is not
//!   repeated.
//!
//! A wait that would overrun the total budget is not started: the error goes back to the caller at
//! once (a primary rate limit resets within the hour; the caller retries later).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::http::{HeaderMap, HeaderValue, StatusCode};

/// Whether repeating a request after an ambiguous failure (5xx, transport) is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, PUT, PATCH, DELETE, and POSTs whose repetition changes nothing more (adding a label,
    /// setting a commit status).
    Idempotent,
    /// A POST that creates something each time (an issue comment).
    NonIdempotent,
}

/// What one attempt produced.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// GitHub answered.
    Response {
        /// The response status.
        status: StatusCode,
        /// The response headers.
        headers: &'a HeaderMap,
    },
    /// No answer: connect, TLS, read or timeout failure.
    Transport,
}

/// The policy's verdict for one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop and hand the outcome to the caller.
    GiveUp,
}

/// Bounded retries: how many attempts, how long in total, and the backoff curve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The most time spent sleeping between attempts of one request.
    pub max_total_wait: Duration,
    /// The backoff after the first failed attempt; it doubles after each further one.
    pub base_backoff: Duration,
    /// The largest single backoff (rate-limit waits asked for by GitHub are not capped by it,
    /// only by `max_total_wait`).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, at most 60 s of waiting, backoff 1 s, 2 s, ... up to 16 s.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            max_total_wait: Duration::from_secs(60),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(16),
        }
    }
}

impl RetryPolicy {
    /// Decides what to do after attempt number `attempt` (1-based) produced `outcome`, given the
    /// time already `waited` for this request and the current wall-clock time `now` (used for
    /// `X-RateLimit-Reset`). Successes and definitive answers (2xx, 3xx, most 4xx) give up, that
    /// is, go back to the caller as they are.
    pub fn decide(
        &self,
        outcome: Outcome<'_>,
        idempotency: Idempotency,
        attempt: u32,
        waited: Duration,
        now: SystemTime,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let wait = match outcome {
            Outcome::Transport => {
                if idempotency == Idempotency::NonIdempotent {
                    return RetryDecision::GiveUp;
                }
                self.backoff(attempt)
            }
            Outcome::Response { status, headers } => {
                if is_rate_limited(status, headers) {
                    requested_wait(headers, now).unwrap_or_else(|| self.backoff(attempt))
                } else if is_retryable_server_error(status) {
                    if idempotency == Idempotency::NonIdempotent {
                        return RetryDecision::GiveUp;
                    }
                    retry_after_header(headers).unwrap_or_else(|| self.backoff(attempt))
                } else {
                    return RetryDecision::GiveUp;
                }
            }
        };
        match waited.checked_add(wait) {
            Some(total) if total <= self.max_total_wait => RetryDecision::RetryAfter(wait),
            _ => RetryDecision::GiveUp,
        }
    }

    /// The exponential backoff after failed attempt `attempt` (1-based): `base_backoff *
    /// 2^(attempt-1)`, at most `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        self.base_backoff
            .checked_mul(1u32 << exponent)
            .map_or(self.max_backoff, |d| d.min(self.max_backoff))
    }
}

/// How long to wait after a secondary rate limit that sends no `Retry-After`: GitHub's
/// documentation says to wait at least one minute.
pub const SECONDARY_RATE_LIMIT_WAIT_SECS: u64 = 60;

/// Gives a 403 whose body says it is a secondary rate limit, and that carries no `Retry-After`,
/// the `Retry-After` GitHub's documentation prescribes (60 s), so that it is retried or handed
/// back as a rate limit rather than read as a permission error.
pub fn mark_secondary_rate_limit(status: StatusCode, headers: &mut HeaderMap, body: &[u8]) {
    if status != StatusCode::FORBIDDEN || headers.contains_key("retry-after") {
        return;
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    if text.contains("secondary rate limit") || text.contains("abuse detection") {
        headers.insert("retry-after", HeaderValue::from(SECONDARY_RATE_LIMIT_WAIT_SECS));
    }
}

/// Whether GitHub is rate limiting: a 429, or a 403 with `Retry-After` or with
/// `X-RateLimit-Remaining: 0` (a 403 without them is a permission error).
pub fn is_rate_limited(status: StatusCode, headers: &HeaderMap) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && (headers.contains_key("retry-after") || quota_exhausted(headers)))
}

/// How long GitHub asks us to wait: `Retry-After` in seconds, else the time until
/// `X-RateLimit-Reset` (epoch seconds) plus one second when `X-RateLimit-Remaining` is 0.
pub fn requested_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(wait) = retry_after_header(headers) {
        return Some(wait);
    }
    if !quota_exhausted(headers) {
        return None;
    }
    let reset = header_u64(headers, "x-ratelimit-reset")?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now) + 1))
}

fn is_retryable_server_error(status: StatusCode) -> bool {
    status.is_server_error()
        && status != StatusCode::NOT_IMPLEMENTED
        && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED
}

fn quota_exhausted(headers: &HeaderMap) -> bool {
    header_u64(headers, "x-ratelimit-remaining") == Some(0)
}

/// `Retry-After` as delay-seconds (the form GitHub sends); an HTTP-date is ignored.
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    header_u64(headers, "retry-after").map(Duration::from_secs)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn decide(status: u16, h: &HeaderMap, attempt: u32, waited: Duration) -> RetryDecision {
        RetryPolicy::default().decide(
            Outcome::Response {
                status: StatusCode::from_u16(status).unwrap(),
                headers: h,
            },
            Idempotency::Idempotent,
            attempt,
            waited,
            now(),
        )
    }

    const ZERO: Duration = Duration::ZERO;

    #[test]
    fn success_and_client_errors_give_up() {
        let h = HeaderMap::new();
        for status in [200, 201, 204, 302, 400, 401, 403, 404, 422, 501] {
            assert_eq!(decide(status, &h, 1, ZERO), RetryDecision::GiveUp, "{status}");
        }
    }

    #[test]
    fn too_many_requests_honours_retry_after() {
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(
            decide(429, &h, 1, ZERO),
            RetryDecision::RetryAfter(Duration::from_secs(7))
        );
        // Without headers a 429 still retries, with backoff.
        assert_eq!(
            decide(429, &HeaderMap::new(), 2, ZERO),
            RetryDecision::RetryAfter(Duration::from_secs(2))
        );
    }

    #[test]
    fn secondary_rate_limit_403_with_retry_after() {
        let h = headers(&[("retry-after", "30")]);
        assert_eq!(
            decide(403, &h, 1, ZERO),
            RetryDecision::RetryAfter(Duration::from_secs(30))
        );
    }

    #[test]
    fn primary_rate_limit_403_waits_until_reset() {
        let reset = (1_700_000_000u64 + 20).to_string();
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset)]);
        assert_eq!(
            decide(403, &h, 1, ZERO),
            RetryDecision::RetryAfter(Duration::from_secs(21))
        );
        // A reset already in the past still waits one second.
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "5")]);
        assert_eq!(
            decide(403, &h, 1, ZERO),
            RetryDecision::RetryAfter(Duration::from_secs(1))
        );
        // Quota left: a plain permission 403.
        let h = headers(&[("x-ratelimit-remaining", "12"), ("x-ratelimit-reset", &reset)]);
        assert_eq!(decide(403, &h, 1, ZERO), RetryDecision::GiveUp);
    }

    #[test]
    fn a_reset_beyond_the_budget_gives_up_at_once() {
        let reset = (1_700_000_000u64 + 3600).to_string();
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset)]);
        assert_eq!(decide(403, &h, 1, ZERO), RetryDecision::GiveUp);
        assert_eq!(decide(429, &h, 1, ZERO), RetryDecision::GiveUp);
    }

    #[test]
    fn server_errors_back_off_exponentially_then_give_up() {
        let h = HeaderMap::new();
        assert_eq!(
            decide(502, &h, 1, ZERO),
            RetryDecision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            decide(503, &h, 2, Duration::from_secs(1)),
            RetryDecision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(decide(500, &h, 3, Duration::from_secs(3)), RetryDecision::GiveUp);
        // A 503 that says how long to wait is believed.
        let h = headers(&[("retry-after", "4")]);
        assert_eq!(
            decide(503, &h, 1, ZERO),
            RetryDecision::RetryAfter(Duration::from_secs(4))
        );
    }

    #[test]
    fn the_total_wait_is_capped() {
        let h = headers(&[("retry-after", "45")]);
        assert_eq!(
            decide(429, &h, 1, ZERO),
            RetryDecision::RetryAfter(Duration::from_secs(45))
        );
        assert_eq!(decide(429, &h, 2, Duration::from_secs(45)), RetryDecision::GiveUp);
        let h = headers(&[("retry-after", "61")]);
        assert_eq!(decide(429, &h, 1, ZERO), RetryDecision::GiveUp);
    }

    #[test]
    fn non_idempotent_requests_only_retry_rate_limits() {
        let policy = RetryPolicy::default();
        let empty = HeaderMap::new();
        let outcome = |status: u16, h| Outcome::Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: h,
        };
        let non = Idempotency::NonIdempotent;
        assert_eq!(
            policy.decide(outcome(502, &empty), non, 1, ZERO, now()),
            RetryDecision::GiveUp
        );
        assert_eq!(
            policy.decide(Outcome::Transport, non, 1, ZERO, now()),
            RetryDecision::GiveUp
        );
        let h = headers(&[("retry-after", "1")]);
        assert_eq!(
            policy.decide(outcome(429, &h), non, 1, ZERO, now()),
            RetryDecision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            policy.decide(Outcome::Transport, Idempotency::Idempotent, 1, ZERO, now()),
            RetryDecision::RetryAfter(Duration::from_secs(1))
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let secs: Vec<u64> = (1..=7).map(|a| policy.backoff(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 16, 16]);
        assert_eq!(policy.backoff(200), Duration::from_secs(16));
    }

    #[test]
    fn one_attempt_never_retries() {
        let policy = RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        };
        let h = HeaderMap::new();
        let outcome = Outcome::Response {
            status: StatusCode::BAD_GATEWAY,
            headers: &h,
        };
        assert_eq!(
            policy.decide(outcome, Idempotency::Idempotent, 1, ZERO, now()),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn a_secondary_rate_limit_without_retry_after_waits_a_minute() {
        let body = br#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
        let mut h = HeaderMap::new();
        mark_secondary_rate_limit(StatusCode::FORBIDDEN, &mut h, body);
        assert!(is_rate_limited(StatusCode::FORBIDDEN, &h));
        assert_eq!(requested_wait(&h, now()), Some(Duration::from_secs(60)));
        // A Retry-After GitHub sent is kept; a permission 403 stays one.
        let mut h = headers(&[("retry-after", "5")]);
        mark_secondary_rate_limit(StatusCode::FORBIDDEN, &mut h, body);
        assert_eq!(requested_wait(&h, now()), Some(Duration::from_secs(5)));
        let mut h = HeaderMap::new();
        mark_secondary_rate_limit(
            StatusCode::FORBIDDEN,
            &mut h,
            br#"{"message":"Must have admin rights"}"#,
        );
        assert!(!is_rate_limited(StatusCode::FORBIDDEN, &h));
    }

    #[test]
    fn requested_wait_reads_headers() {
        assert_eq!(requested_wait(&HeaderMap::new(), now()), None);
        assert_eq!(
            requested_wait(&headers(&[("retry-after", " 3 ")]), now()),
            Some(Duration::from_secs(3))
        );
        // An HTTP-date Retry-After is ignored rather than misread.
        assert_eq!(
            requested_wait(&headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]), now()),
            None
        );
        assert!(is_rate_limited(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new()));
        assert!(!is_rate_limited(StatusCode::FORBIDDEN, &HeaderMap::new()));
    }
}
