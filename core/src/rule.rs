//! Rule names: upstream checkconfig's where it has the check, ours otherwise. The findings of
//! `check` and the errors of `podspec` are filed under them.

/// A plugin that exists in another upstream version than the deployed one.
pub const PLUGIN_VERSION: &str = "plugin-version";
/// A job field the deployed upstream version refuses and another accepts.
pub const FIELD_VERSION: &str = "field-version";
/// A key upstream Prow does not accept (checkconfig's name).
pub const UNKNOWN_FIELDS: &str = "unknown-fields";
/// A kubernetes-agent job without the pod utilities (checkconfig's name).
pub const NON_DECORATED_JOBS: &str = "non-decorated-jobs";
/// A periodic with top-level clone settings, which have no effect (checkconfig's name).
pub const PERIODIC_DEFAULT_CLONE: &str = "periodic-default-clone-config";
/// A tide query honouring a label whose plugin is off, or the reverse (checkconfig's name).
pub const MISMATCHED_TIDE: &str = "mismatched-tide";
/// A job name over 63 characters (checkconfig's name).
pub const LONG_JOB_NAMES: &str = "long-job-names";
/// A repository cloned twice by one job (checkconfig's name).
pub const DUPLICATE_JOB_REFS: &str = "duplicate-job-refs";
/// A job name with characters upstream refuses.
pub const JOB_NAME: &str = "job-name";
/// A `presubmits`/`postsubmits` key that is not `org/repo`.
pub const REPO_KEY: &str = "job-repo";
/// A negative `max_concurrency`.
pub const MAX_CONCURRENCY: &str = "max-concurrency";
/// A regex that does not compile.
pub const INVALID_REGEX: &str = "invalid-regex";
/// `trigger` and `rerun_command` not set together, or not matching.
pub const TRIGGER: &str = "trigger-rerun-command";
/// `always_run` and the changed-file filters combined.
pub const CHANGE_MATCHERS: &str = "change-matchers";
/// The same job twice on overlapping branches.
pub const DUPLICATE_JOB: &str = "duplicate-job";
/// Two jobs reporting to one GitHub context on overlapping branches.
pub const DUPLICATE_CONTEXT: &str = "duplicate-context";
/// A periodic without exactly one schedule, or a schedule that does not parse.
pub const SCHEDULE: &str = "periodic-schedule";
/// A Go duration that does not parse.
pub const DURATION: &str = "invalid-duration";
/// The agent and the fields it needs.
pub const AGENT: &str = "agent";
/// `namespace` on a job whose agent cannot use it.
pub const NAMESPACE: &str = "job-namespace";
/// Decoration settings.
pub const DECORATION: &str = "decoration";
/// Pod spec rules (containers, env, volumes, mounts).
pub const POD_SPEC: &str = "pod-spec";
/// A value of the wrong type in an embedded Kubernetes object.
pub const INVALID_VALUE: &str = "invalid-value";
/// A name reserved for decoration or for Prow.
pub const RESERVED: &str = "reserved-name";
/// Kubernetes label and annotation syntax.
pub const LABELS: &str = "job-labels";
/// `job_queue_name` naming no queue.
pub const JOB_QUEUE: &str = "job-queue-name";
/// A job's `cluster` that is not a build cluster of the instance (upstream's plank ends such
/// jobs in `error` when they run).
pub const BUILD_CLUSTER: &str = "build-cluster";
/// `rerun_auth_config`.
pub const RERUN_AUTH: &str = "rerun-auth-config";
/// `reporter_config`.
pub const REPORTER: &str = "reporter-config";
/// Clone settings (`clone_uri` with an OAuth token).
pub const CLONE: &str = "clone-config";
/// Presets: duplicates, and values clashing with a job's.
pub const PRESET: &str = "presets";
/// An unknown plugin name.
pub const UNKNOWN_PLUGIN: &str = "unknown-plugin";
/// A plugin enabled twice for one repository.
pub const DUPLICATE_PLUGIN: &str = "duplicate-plugin";
/// hook's `trigger` plugin while the native trigger runs.
pub const NATIVE_TRIGGER: &str = "native-trigger";
/// label_sync rules.
pub const LABEL_SYNC: &str = "labels";
/// A native function and its upstream counterpart both enabled.
pub const NATIVE_CONFLICT: &str = "native-conflict";
/// Instance settings that must be set one way (auth, storage).
pub const INSTANCE: &str = "instance";
/// Jobs in the instance's `config` overlay.
pub const JOBS_IN_CONFIG: &str = "jobs-in-config";
/// A job too large for a job-config ConfigMap.
pub const TOO_LARGE: &str = "too-large";
