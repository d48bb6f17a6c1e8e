//! Leader election over a `coordination.k8s.io/v1` Lease, so that several operator replicas can
//! run and exactly one of them drives the singleton loops.
//!
//! The module is split the way the rest of the operator is:
//!
//! * [`decide`] and [`release`] are pure: given the Lease as observed, our identity and the
//!   time, they say what to write. No client calls, fully unit-tested.
//! * [`LeaderElector`] is the thin async adapter: it reads the Lease, applies [`decide`], writes
//!   the result back with optimistic concurrency (the resourceVersion it read), and publishes
//!   "am I the leader" on a [`tokio::sync::watch`] channel ([`LeaderElector::subscribe`]).
//!
//! Safety rules the adapter follows:
//!
//! * Any `409 Conflict` on a write (someone else wrote the Lease between our read and our
//!   write, or raced us creating it) means we are not the leader this round.
//! * A leader that cannot renew (API errors, hung requests) keeps acting only until
//!   `last successful renew + lease duration - renew period`, measured on its own monotonic
//!   clock from *before* the renew request was sent, so it steps down a full renew period
//!   before any other replica may consider the Lease expired.
//! * On shutdown the leader first publishes `false`, then releases the Lease (clears
//!   `holderIdentity`, as client-go's `ReleaseOnCancel` does) so another replica takes over
//!   within one renew period instead of waiting for the Lease to expire.
//!
//! Expiry is judged from the Lease's own `renewTime` (or `acquireTime` when `renewTime` is
//! missing) plus its `leaseDurationSeconds`, against the local wall clock, so replicas'
//! clocks must agree to within the renew period (the leader's safety margin).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

/// How long a Lease stays valid after its last renewal unless configured otherwise.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

/// How often the holder renews, and followers retry, unless configured otherwise.
pub const DEFAULT_RENEW_PERIOD: Duration = Duration::from_secs(5);

/// What to do about the Lease, as decided by [`decide`].
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// The Lease is missing, free (no holder) or expired: write `spec` to take it.
    Acquire {
        /// The spec to write.
        spec: LeaseSpec,
    },
    /// We hold a live Lease: write `spec` (a fresh `renewTime`) to keep it.
    Renew {
        /// The spec to write.
        spec: LeaseSpec,
    },
    /// Someone else holds a live Lease: write nothing.
    Follow {
        /// The current holder's identity.
        holder: String,
        /// When the holder's Lease expires unless renewed.
        expires_at: Timestamp,
    },
}

/// Decides whether `identity` should acquire, renew or leave alone the Lease whose spec is
/// `observed` (`None` when the Lease, or its spec, does not exist yet), at time `now`.
///
/// A Lease is live while `now <= renewTime + leaseDurationSeconds` (expiry is strictly after
/// that instant). When `renewTime` is missing `acquireTime` stands in for it; a Lease with
/// neither cannot be shown to be live and counts as expired. When `leaseDurationSeconds` is
/// missing our own `lease_duration_seconds` is used. An empty `holderIdentity` means the Lease
/// was released and is free.
///
/// Written specs carry our identity, our duration and `renewTime = now`; acquiring also sets
/// `acquireTime = now` and increments `leaseTransitions` when the holder changes (including
/// from no holder, as client-go does). Other fields are preserved.
pub fn decide(observed: Option<&LeaseSpec>, identity: &str, lease_duration_seconds: i32, now: Timestamp) -> Decision {
    let Some(observed) = observed else {
        return Decision::Acquire {
            spec: LeaseSpec {
                holder_identity: Some(identity.to_string()),
                lease_duration_seconds: Some(lease_duration_seconds),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            },
        };
    };
    let holder = observed.holder_identity.as_deref().filter(|h| !h.is_empty());
    match (holder, expiry(observed, lease_duration_seconds)) {
        (Some(holder), Some(expires_at)) if now <= expires_at => {
            if holder == identity {
                Decision::Renew {
                    spec: LeaseSpec {
                        lease_duration_seconds: Some(lease_duration_seconds),
                        renew_time: Some(MicroTime(now)),
                        ..observed.clone()
                    },
                }
            } else {
                Decision::Follow {
                    holder: holder.to_string(),
                    expires_at,
                }
            }
        }
        _ => {
            let transitions = observed.lease_transitions.unwrap_or(0);
            let transitions = if holder == Some(identity) {
                transitions
            } else {
                transitions.saturating_add(1)
            };
            Decision::Acquire {
                spec: LeaseSpec {
                    holder_identity: Some(identity.to_string()),
                    lease_duration_seconds: Some(lease_duration_seconds),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(transitions),
                    ..observed.clone()
                },
            }
        }
    }
}

/// The spec that gives up a Lease `identity` holds (holder cleared, everything else kept),
/// or `None` when `identity` is not the holder and there is nothing to release.
pub fn release(observed: &LeaseSpec, identity: &str) -> Option<LeaseSpec> {
    (observed.holder_identity.as_deref() == Some(identity)).then(|| LeaseSpec {
        holder_identity: None,
        ..observed.clone()
    })
}

/// When a Lease expires: its `renewTime` (else `acquireTime`) plus its duration (else
/// `default_seconds`); `None` when it has neither timestamp.
fn expiry(spec: &LeaseSpec, default_seconds: i32) -> Option<Timestamp> {
    let base = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let seconds = spec.lease_duration_seconds.unwrap_or(default_seconds).max(0);
    Some(
        base.checked_add(SignedDuration::from_secs(i64::from(seconds)))
            .unwrap_or(Timestamp::MAX),
    )
}

/// The identity a replica uses by default: the `HOSTNAME` environment variable (the pod name
/// in Kubernetes), else the machine's host name with the process id and a clock-derived
/// suffix. Identities must be unique per replica: two processes sharing one would both lead.
pub fn default_identity() -> String {
    if let Ok(name) = std::env::var("HOSTNAME")
        && !name.trim().is_empty()
    {
        return name.trim().to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "prow-operator".to_string());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{host}-{}-{nanos:08x}", std::process::id())
}

/// Settings for a [`LeaderElector`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// Who we are; must be unique per replica (see [`default_identity`]).
    pub identity: String,
    /// How long the Lease is valid after each renewal: whole seconds, at least one.
    pub lease_duration: Duration,
    /// How often the leader renews and followers retry: non-zero and less than half of
    /// `lease_duration`. It is also the leader's safety margin: a leader that cannot renew
    /// steps down this long before its Lease expires.
    pub renew_period: Duration,
}

impl ElectionConfig {
    /// The Lease `namespace/name`, with [`default_identity`], [`DEFAULT_LEASE_DURATION`] and
    /// [`DEFAULT_RENEW_PERIOD`].
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ElectionConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: default_identity(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_period: DEFAULT_RENEW_PERIOD,
        }
    }
}

/// Errors from leader election: invalid settings (from [`LeaderElector::new`]) and failed API
/// rounds (logged by [`LeaderElector::run`], never fatal).
#[derive(Debug, thiserror::Error)]
pub enum ElectionError {
    /// A required setting is empty.
    #[error("leader election {0} must not be empty")]
    Empty(&'static str),
    /// The lease duration is not a whole, positive number of seconds that fits an `i32`.
    #[error("leader election lease duration {0:?} must be a whole number of seconds, at least 1s")]
    LeaseDuration(Duration),
    /// The renew period is zero or not shorter than half the lease duration.
    #[error(
        "leader election renew period {renew_period:?} must be non-zero and less than half the lease duration {lease_duration:?}"
    )]
    RenewPeriod {
        /// The configured renew period.
        renew_period: Duration,
        /// The configured lease duration.
        lease_duration: Duration,
    },
    /// The API server refused or failed a request.
    #[error("lease request failed: {}", crate::controller::api_error::cause(.0))]
    Api(#[from] kube::Error),
    /// The API server did not answer in time.
    #[error("lease request did not finish within {0:?}")]
    Timeout(Duration),
}

/// What one read-decide-write round found.
enum Round {
    /// We wrote the Lease as its holder.
    Leading,
    /// Someone else holds a live Lease.
    Following { holder: String, expires_at: Timestamp },
    /// Our write got a 409: someone else wrote first.
    Conflict,
}

/// Lease-based leader election for one replica. Build it with [`LeaderElector::new`], take
/// receivers with [`LeaderElector::subscribe`], then spawn [`LeaderElector::run`].
pub struct LeaderElector {
    api: Api<Lease>,
    config: ElectionConfig,
    lease_duration_seconds: i32,
    /// How long after a renew request was sent the leader may keep acting without renewing.
    leader_window: Duration,
    leader: watch::Sender<bool>,
}

impl LeaderElector {
    /// An elector for the Lease `config.namespace/config.name`; fails on invalid settings.
    pub fn new(client: Client, config: ElectionConfig) -> Result<Self, ElectionError> {
        for (what, value) in [
            ("namespace", &config.namespace),
            ("lease name", &config.name),
            ("identity", &config.identity),
        ] {
            if value.is_empty() {
                return Err(ElectionError::Empty(what));
            }
        }
        let lease_duration_seconds = i32::try_from(config.lease_duration.as_secs())
            .ok()
            .filter(|s| *s >= 1 && config.lease_duration.subsec_nanos() == 0)
            .ok_or(ElectionError::LeaseDuration(config.lease_duration))?;
        if config.renew_period.is_zero() || config.renew_period.saturating_mul(2) >= config.lease_duration {
            return Err(ElectionError::RenewPeriod {
                renew_period: config.renew_period,
                lease_duration: config.lease_duration,
            });
        }
        Ok(LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            lease_duration_seconds,
            leader_window: config.lease_duration - config.renew_period,
            config,
            leader: watch::channel(false).0,
        })
    }

    /// Our identity, as written to the Lease's `holderIdentity`.
    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// A receiver of "this replica is the leader". It starts `false`; singleton loops should
    /// act only while it reads `true` and stop as soon as it changes to `false`. When
    /// [`LeaderElector::run`] returns the value is `false` and the channel is closed.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leader.subscribe()
    }

    /// Runs the election until `shutdown` completes: every renew period, read the Lease,
    /// [`decide`], and write. On shutdown, publishes `false` and, if it was the leader,
    /// releases the Lease. API errors are logged and retried, never returned.
    ///
    /// Complete `shutdown` only once the singleton loops stopped: the release lets another
    /// replica take over within one renew period, and it must not act beside this one.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let span = tracing::info_span!(
            "leader_election",
            namespace = %self.config.namespace,
            lease = %self.config.name,
            identity = %self.config.identity,
        );
        self.elect(shutdown).instrument(span).await;
    }

    async fn elect(self, shutdown: impl Future<Output = ()>) {
        let renew_period = self.config.renew_period;
        let mut shutdown = std::pin::pin!(shutdown);
        // While leading: the instant we must stop acting unless we renew before it.
        let mut leading_until: Option<Instant> = None;
        let mut following: Option<String> = None;
        let mut last_conflicted = false;
        loop {
            let started = Instant::now();
            leading_until = self.settle(leading_until, started);
            // A leader's request must not outlive its right to act.
            let budget = leading_until.map_or(renew_period, |until| {
                until.saturating_duration_since(started).min(renew_period)
            });
            let outcome = tokio::select! {
                biased;
                () = &mut shutdown => break,
                outcome = tokio::time::timeout(budget, self.round()) => {
                    outcome.unwrap_or(Err(ElectionError::Timeout(budget)))
                }
            };
            let mut conflicted = false;
            match outcome {
                Ok(Round::Leading) => {
                    leading_until = Some(started + self.leader_window);
                    following = None;
                }
                Ok(Round::Following { holder, expires_at }) => {
                    leading_until = None;
                    if following.as_deref() != Some(holder.as_str()) {
                        tracing::info!(%holder, %expires_at, "following the current leader");
                        following = Some(holder);
                    }
                }
                Ok(Round::Conflict) => {
                    tracing::debug!("lease write conflicted with another writer; re-reading");
                    leading_until = None;
                    conflicted = true;
                }
                Err(error) => tracing::warn!(%error, "leader election round failed"),
            }
            let now = Instant::now();
            leading_until = self.settle(leading_until, now);
            // Re-read at once after a conflict (but not after two in a row).
            let mut next = if conflicted && !last_conflicted {
                now
            } else {
                started + renew_period
            };
            last_conflicted = conflicted;
            if let Some(until) = leading_until {
                next = next.min(until);
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = tokio::time::sleep_until(next) => {}
            }
        }
        if self.leader.send_replace(false) {
            tracing::info!("lost leadership: shutting down");
            let released = tokio::time::timeout(renew_period, self.release_lease())
                .await
                .unwrap_or(Err(ElectionError::Timeout(renew_period)));
            match released {
                Ok(true) => tracing::info!("released the lease"),
                Ok(false) => tracing::debug!("the lease was no longer ours; nothing to release"),
                Err(error) => tracing::warn!(%error, "could not release the lease; it will expire"),
            }
        }
    }

    /// Drops leadership whose deadline has passed, publishes the result and returns it.
    fn settle(&self, leading_until: Option<Instant>, now: Instant) -> Option<Instant> {
        let leading_until = match leading_until {
            Some(until) if until <= now => {
                tracing::warn!("could not renew the lease in time; stepping down before it expires");
                None
            }
            other => other,
        };
        let leading = leading_until.is_some();
        if self.leader.send_replace(leading) != leading {
            if leading {
                tracing::info!("became leader");
            } else {
                tracing::info!("lost leadership");
            }
        }
        leading_until
    }

    /// One read-decide-write round.
    async fn round(&self) -> Result<Round, ElectionError> {
        let name = &self.config.name;
        let observed = self.api.get_opt(name).await?;
        let decision = decide(
            observed.as_ref().and_then(|lease| lease.spec.as_ref()),
            &self.config.identity,
            self.lease_duration_seconds,
            Timestamp::now(),
        );
        let spec = match decision {
            Decision::Follow { holder, expires_at } => return Ok(Round::Following { holder, expires_at }),
            Decision::Acquire { spec } => {
                tracing::debug!(transitions = ?spec.lease_transitions, "trying to acquire the lease");
                spec
            }
            Decision::Renew { spec } => spec,
        };
        let written = match observed {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Some(mut lease) => {
                // Keeps the resourceVersion we read: a concurrent writer makes this a 409.
                lease.spec = Some(spec);
                self.api.replace(name, &PostParams::default(), &lease).await
            }
        };
        match written {
            Ok(_) => Ok(Round::Leading),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Round::Conflict),
            Err(error) => Err(error.into()),
        }
    }

    /// Clears `holderIdentity` if we still hold the Lease; `Ok(false)` when it is not ours.
    async fn release_lease(&self) -> Result<bool, ElectionError> {
        let name = &self.config.name;
        let Some(mut lease) = self.api.get_opt(name).await? else {
            return Ok(false);
        };
        let Some(spec) = lease
            .spec
            .as_ref()
            .and_then(|spec| release(spec, &self.config.identity))
        else {
            return Ok(false);
        };
        lease.spec = Some(spec);
        self.api.replace(name, &PostParams::default(), &lease).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    const ME: &str = "me";
    const OTHER: &str = "other";

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn held(holder: &str, renew: &str, seconds: i32, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_string()),
            lease_duration_seconds: Some(seconds),
            acquire_time: Some(MicroTime(t("2025-01-01T00:00:00Z"))),
            renew_time: Some(MicroTime(t(renew))),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    fn acquired(identity: &str, seconds: i32, transitions: i32, now: Timestamp) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(identity.to_string()),
            lease_duration_seconds: Some(seconds),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn missing_lease_is_acquired_with_zero_transitions() {
        let now = t("2025-01-01T00:05:00Z");
        assert_eq!(
            decide(None, ME, 15, now),
            Decision::Acquire {
                spec: acquired(ME, 15, 0, now)
            }
        );
    }

    #[test]
    fn released_lease_is_acquired_and_counts_a_transition() {
        let now = t("2025-01-01T00:00:01Z");
        for holder in [None, Some(String::new())] {
            let observed = LeaseSpec {
                holder_identity: holder,
                strategy: Some("OldestEmulationVersion".to_string()),
                ..held(OTHER, "2025-01-01T00:00:00Z", 10, 4)
            };
            let mut want = acquired(ME, 15, 5, now);
            want.strategy = Some("OldestEmulationVersion".to_string());
            assert_eq!(decide(Some(&observed), ME, 15, now), Decision::Acquire { spec: want });
        }
    }

    #[test]
    fn live_lease_of_another_is_followed_using_its_own_duration() {
        let observed = held(OTHER, "2025-01-01T00:00:00Z", 10, 2);
        assert_eq!(
            decide(Some(&observed), ME, 15, t("2025-01-01T00:00:09Z")),
            Decision::Follow {
                holder: OTHER.to_string(),
                expires_at: t("2025-01-01T00:00:10Z"),
            }
        );
    }

    #[test]
    fn lease_is_still_live_exactly_at_expiry() {
        let observed = held(OTHER, "2025-01-01T00:00:00Z", 10, 2);
        assert_eq!(
            decide(Some(&observed), ME, 15, t("2025-01-01T00:00:10Z")),
            Decision::Follow {
                holder: OTHER.to_string(),
                expires_at: t("2025-01-01T00:00:10Z"),
            }
        );
    }

    #[test]
    fn lease_of_another_just_past_expiry_is_taken_over() {
        let observed = held(OTHER, "2025-01-01T00:00:00Z", 10, 2);
        let now = t("2025-01-01T00:00:10.000001Z");
        assert_eq!(
            decide(Some(&observed), ME, 15, now),
            Decision::Acquire {
                spec: acquired(ME, 15, 3, now)
            }
        );
    }

    #[test]
    fn own_live_lease_is_renewed_keeping_acquire_time_and_transitions() {
        let observed = held(ME, "2025-01-01T00:00:00Z", 10, 7);
        let now = t("2025-01-01T00:00:05Z");
        let want = LeaseSpec {
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(now)),
            ..observed.clone()
        };
        assert_eq!(decide(Some(&observed), ME, 15, now), Decision::Renew { spec: want });
    }

    #[test]
    fn own_expired_lease_is_reacquired_without_a_transition() {
        let observed = held(ME, "2025-01-01T00:00:00Z", 10, 7);
        let now = t("2025-01-01T00:00:11Z");
        assert_eq!(
            decide(Some(&observed), ME, 15, now),
            Decision::Acquire {
                spec: acquired(ME, 15, 7, now)
            }
        );
    }

    #[test]
    fn missing_renew_time_falls_back_to_acquire_time() {
        let observed = LeaseSpec {
            renew_time: None,
            ..held(OTHER, "2025-01-01T00:00:00Z", 10, 1)
        };
        // acquireTime is 2025-01-01T00:00:00Z.
        assert_eq!(
            decide(Some(&observed), ME, 15, t("2025-01-01T00:00:10Z")),
            Decision::Follow {
                holder: OTHER.to_string(),
                expires_at: t("2025-01-01T00:00:10Z"),
            }
        );
        let now = t("2025-01-01T00:00:11Z");
        assert_eq!(
            decide(Some(&observed), ME, 15, now),
            Decision::Acquire {
                spec: acquired(ME, 15, 2, now)
            }
        );
    }

    #[test]
    fn lease_without_any_timestamp_counts_as_expired() {
        let observed = LeaseSpec {
            renew_time: None,
            acquire_time: None,
            ..held(OTHER, "2025-01-01T00:00:00Z", 10, 1)
        };
        let now = t("2025-01-01T00:00:01Z");
        assert_eq!(
            decide(Some(&observed), ME, 15, now),
            Decision::Acquire {
                spec: acquired(ME, 15, 2, now)
            }
        );
    }

    #[test]
    fn missing_duration_and_transitions_use_our_defaults() {
        let observed = LeaseSpec {
            lease_duration_seconds: None,
            lease_transitions: None,
            ..held(OTHER, "2025-01-01T00:00:00Z", 10, 1)
        };
        assert_eq!(
            decide(Some(&observed), ME, 15, t("2025-01-01T00:00:12Z")),
            Decision::Follow {
                holder: OTHER.to_string(),
                expires_at: t("2025-01-01T00:00:15Z"),
            }
        );
        let now = t("2025-01-01T00:00:16Z");
        assert_eq!(
            decide(Some(&observed), ME, 15, now),
            Decision::Acquire {
                spec: acquired(ME, 15, 1, now)
            }
        );
    }

    #[test]
    fn release_clears_only_our_own_holder() {
        let ours = held(ME, "2025-01-01T00:00:00Z", 10, 3);
        let released = release(&ours, ME).unwrap();
        assert_eq!(released.holder_identity, None);
        assert_eq!(
            LeaseSpec {
                holder_identity: Some(ME.to_string()),
                ..released
            },
            ours
        );
        assert_eq!(release(&held(OTHER, "2025-01-01T00:00:00Z", 10, 3), ME), None);
    }

    #[tokio::test]
    async fn invalid_settings_are_refused() {
        // Never contacted: construction does no I/O.
        let client = Client::try_from(kube::Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap();
        let base = ElectionConfig {
            identity: ME.to_string(),
            ..ElectionConfig::new("default", "lease")
        };
        let check = |config: ElectionConfig| LeaderElector::new(client.clone(), config).err();
        assert!(check(base.clone()).is_none());
        assert!(matches!(
            check(ElectionConfig {
                identity: String::new(),
                ..base.clone()
            }),
            Some(ElectionError::Empty("identity"))
        ));
        assert!(matches!(
            check(ElectionConfig {
                lease_duration: Duration::from_millis(1500),
                ..base.clone()
            }),
            Some(ElectionError::LeaseDuration(_))
        ));
        assert!(matches!(
            check(ElectionConfig {
                renew_period: Duration::from_millis(7500),
                ..base.clone()
            }),
            Some(ElectionError::RenewPeriod { .. })
        ));
        assert!(matches!(
            check(ElectionConfig {
                renew_period: Duration::ZERO,
                ..base
            }),
            Some(ElectionError::RenewPeriod { .. })
        ));
    }

    // --- against the testkit fake ---

    const LEASE_SECONDS: i32 = 2;
    const RENEW: Duration = Duration::from_millis(250);

    fn test_config(name: &str, identity: &str) -> ElectionConfig {
        ElectionConfig {
            identity: identity.to_string(),
            lease_duration: Duration::from_secs(LEASE_SECONDS as u64),
            renew_period: RENEW,
            ..ElectionConfig::new("default", name)
        }
    }

    /// A spawned elector; dropping `stop` shuts it down.
    struct Running {
        leader: watch::Receiver<bool>,
        stop: oneshot::Sender<()>,
        task: JoinHandle<()>,
    }

    impl Running {
        fn spawn(client: &Client, config: ElectionConfig) -> Running {
            let elector = LeaderElector::new(client.clone(), config).unwrap();
            let leader = elector.subscribe();
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(elector.run(async move {
                let _ = stopped.await;
            }));
            Running { leader, stop, task }
        }

        fn is_leader(&self) -> bool {
            *self.leader.borrow()
        }

        async fn wait_leader(&mut self, want: bool, within: Duration) {
            tokio::time::timeout(within, self.leader.wait_for(|v| *v == want))
                .await
                .unwrap_or_else(|_| panic!("leadership did not become {want} within {within:?}"))
                .unwrap();
        }

        async fn shutdown(self) {
            drop(self.stop);
            tokio::time::timeout(Duration::from_secs(2), self.task)
                .await
                .unwrap()
                .unwrap();
        }
    }

    /// Watches two leadership channels until both close; returns whether both were ever
    /// `true` at once.
    fn watch_pair(mut a: watch::Receiver<bool>, mut b: watch::Receiver<bool>) -> JoinHandle<bool> {
        tokio::spawn(async move {
            let (mut a_open, mut b_open, mut both) = (true, true, false);
            while a_open || b_open {
                tokio::select! {
                    r = a.changed(), if a_open => a_open = r.is_ok(),
                    r = b.changed(), if b_open => b_open = r.is_ok(),
                }
                both |= *a.borrow() && *b.borrow();
            }
            both
        })
    }

    async fn lease_spec(client: &Client, name: &str) -> LeaseSpec {
        let api: Api<Lease> = Api::namespaced(client.clone(), "default");
        api.get(name).await.unwrap().spec.unwrap()
    }

    async fn wait_any_leader(electors: [&Running; 2], within: Duration) -> usize {
        tokio::time::timeout(within, async {
            loop {
                if let Some(i) = electors.iter().position(|e| e.is_leader()) {
                    return i;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("no leader elected in time")
    }

    #[tokio::test]
    async fn single_elector_leads_renews_and_releases() {
        let kit = testkit::Testkit::start().await;
        let client = kit.client();
        let mut a = Running::spawn(&client, test_config("solo", "replica-a"));
        a.wait_leader(true, Duration::from_secs(2)).await;

        let first = lease_spec(&client, "solo").await;
        assert_eq!(first.holder_identity.as_deref(), Some("replica-a"));
        assert_eq!(first.lease_duration_seconds, Some(LEASE_SECONDS));
        assert_eq!(first.lease_transitions, Some(0));
        assert!(first.acquire_time.is_some());

        tokio::time::sleep(RENEW * 2).await;
        let later = lease_spec(&client, "solo").await;
        assert!(a.is_leader());
        assert_eq!(later.holder_identity.as_deref(), Some("replica-a"));
        assert!(later.renew_time > first.renew_time, "the leader renews");
        assert_eq!(later.acquire_time, first.acquire_time);

        a.shutdown().await;
        let released = lease_spec(&client, "solo").await;
        assert_eq!(released.holder_identity, None);
    }

    #[tokio::test]
    async fn two_electors_one_leader_and_fast_failover_on_release() {
        let kit = testkit::Testkit::start().await;
        let client = kit.client();
        // Both start on a missing Lease: they race to create it.
        let a = Running::spawn(&client, test_config("pair", "replica-a"));
        let b = Running::spawn(&client, test_config("pair", "replica-b"));
        let both_ever = watch_pair(a.leader.clone(), b.leader.clone());

        let first = wait_any_leader([&a, &b], Duration::from_secs(2)).await;
        let names = ["replica-a", "replica-b"];
        // Sample for a few renew periods: exactly one leader, always the same one.
        for _ in 0..20 {
            let leaders = [a.is_leader(), b.is_leader()];
            assert_eq!(leaders.iter().filter(|l| **l).count(), 1, "leaders: {leaders:?}");
            assert!(leaders[first]);
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        let before = lease_spec(&client, "pair").await;
        assert_eq!(before.holder_identity.as_deref(), Some(names[first]));

        let (leader, mut follower) = if first == 0 { (a, b) } else { (b, a) };
        leader.shutdown().await;
        // Well under the 2 s lease duration: the takeover came from the release, not expiry.
        follower.wait_leader(true, Duration::from_millis(1500)).await;

        let after = lease_spec(&client, "pair").await;
        assert_eq!(after.holder_identity.as_deref(), Some(names[1 - first]));
        assert_eq!(after.lease_transitions, before.lease_transitions.map(|t| t + 1));

        follower.shutdown().await;
        assert!(!both_ever.await.unwrap(), "two leaders at once");
    }

    #[tokio::test]
    async fn conflict_on_update_does_not_make_two_leaders() {
        let kit = testkit::Testkit::start().await;
        let client = kit.client();
        let mut a = Running::spawn(&client, test_config("conflict", "replica-a"));
        a.wait_leader(true, Duration::from_secs(2)).await;
        let b = Running::spawn(&client, test_config("conflict", "replica-b"));
        let both_ever = watch_pair(a.leader.clone(), b.leader.clone());

        kit.faults().inject(
            testkit::Fault::status(409)
                .verb(testkit::Verb::Update)
                .resource("leases"),
        );
        tokio::time::timeout(Duration::from_secs(2), async {
            while kit.faults().pending() > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the injected 409 was never hit");

        // The holder recovers (its re-read shows the Lease is still its own); b keeps following.
        a.wait_leader(true, Duration::from_secs(1)).await;
        tokio::time::sleep(RENEW * 2).await;
        assert!(a.is_leader());
        assert!(!b.is_leader());
        let spec = lease_spec(&client, "conflict").await;
        assert_eq!(spec.holder_identity.as_deref(), Some("replica-a"));
        assert_eq!(spec.lease_transitions, Some(0));

        let updates: Vec<u16> = kit
            .audit()
            .iter()
            .filter(|r| r.resource == "leases" && r.verb == testkit::Verb::Update)
            .map(|r| r.code)
            .collect();
        let conflict = updates.iter().position(|c| *c == 409).expect("a 409 update");
        assert!(
            updates[conflict + 1..].contains(&200),
            "renewed after the conflict: {updates:?}"
        );

        a.shutdown().await;
        b.shutdown().await;
        assert!(!both_ever.await.unwrap(), "two leaders at once");
    }

    #[tokio::test]
    async fn conflict_on_create_is_re_read_and_recovered() {
        let kit = testkit::Testkit::start().await;
        let client = kit.client();
        kit.faults().inject(
            testkit::Fault::status(409)
                .verb(testkit::Verb::Create)
                .resource("leases"),
        );
        let mut a = Running::spawn(&client, test_config("race", "replica-a"));
        a.wait_leader(true, Duration::from_secs(2)).await;
        let creates: Vec<u16> = kit
            .audit()
            .iter()
            .filter(|r| r.resource == "leases" && r.verb == testkit::Verb::Create)
            .map(|r| r.code)
            .collect();
        assert_eq!(creates, [409, 201]);
        a.shutdown().await;
    }

    #[tokio::test]
    async fn leader_that_cannot_renew_steps_down_before_its_lease_expires() {
        let kit = testkit::Testkit::start().await;
        let client = kit.client();
        let mut a = Running::spawn(&client, test_config("hang", "replica-a"));
        a.wait_leader(true, Duration::from_secs(2)).await;

        // Every Lease request now hangs far longer than the lease lasts.
        kit.faults().inject(
            testkit::Fault::delay(Duration::from_secs(5))
                .resource("leases")
                .times(1000),
        );
        a.wait_leader(false, Duration::from_secs(LEASE_SECONDS as u64)).await;
        let stepped_down = Timestamp::now();

        // The store, read directly (no faults), still has the last successful renewal.
        let stored = kit.objects("coordination.k8s.io", "leases");
        let spec: LeaseSpec = serde_json::from_value(stored[0]["spec"].clone()).unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("replica-a"));
        let expires = expiry(&spec, LEASE_SECONDS).unwrap();
        assert!(
            stepped_down < expires,
            "stepped down at {stepped_down}, after the lease expired at {expires}"
        );

        kit.faults().clear();
        // Still the holder of a live or expired-but-unclaimed Lease: it takes it back.
        a.wait_leader(true, Duration::from_secs(2)).await;
        a.shutdown().await;
    }
}
