//! HTTP: routing, verbs, discovery and watch streams.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::audit::{Request as AuditRequest, Verb};
use crate::error::ApiError;
use crate::faults::{self, Fault, FaultAction};
use crate::patch::{field_set, json_patch, merge_patch, remove_fields, subtract_fields};
use crate::resources::{ResourceDef, version_priority};
use crate::selector::Selectors;
use crate::store::{EventType, Op, Store, Target, WriteOpts, is_presented, present};
use crate::util::parse_query;

pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub faults: Mutex<Vec<Fault>>,
    pub audit: Mutex<Vec<AuditRequest>>,
    pub drop_watches: watch::Sender<u64>,
    pub shutdown: watch::Sender<bool>,
    pub addr: SocketAddr,
    /// How often an idle watch with `allowWatchBookmarks` gets a BOOKMARK.
    pub bookmark_interval: Duration,
}

impl Shared {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Shared {
            store: Mutex::new(Store::new()),
            faults: Mutex::new(Vec::new()),
            audit: Mutex::new(Vec::new()),
            drop_watches: watch::channel(0).0,
            shutdown: watch::channel(false).0,
            addr,
            bookmark_interval: Duration::from_secs(1),
        }
    }

    pub(crate) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        let shared = shared.clone();
        let mut shutdown = shared.shutdown.subscribe();
        tokio::spawn(async move {
            let svc_shared = shared.clone();
            let svc = service_fn(move |req| handle(svc_shared.clone(), req));
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
}

fn full(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("content type"),
    );
    r
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    full(code, "application/json", serde_json::to_vec(v).unwrap_or_default())
}

fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(e.code, &e.status());
    if let Some(secs) = e.retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

async fn handle(shared: Arc<Shared>, req: http::Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let query = parse_query(parts.uri.query());
    let path = parts.uri.path().to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let ctx = Ctx {
        shared: &shared,
        method: &parts.method,
        headers: &parts.headers,
        query: &query,
        body: &body,
    };
    let resp = match segs.as_slice() {
        [] => json_response(
            200,
            &json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/readyz", "/livez", "/version"]}),
        ),
        ["healthz" | "readyz" | "livez", ..] => full(200, "text/plain", "ok"),
        ["version"] => json_response(
            200,
            &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-testkit", "gitCommit": "testkit",
                    "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24",
                    "compiler": "gc", "platform": "linux/amd64"}),
        ),
        ["api"] => json_response(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}]}),
        ),
        ["api", "v1"] => resource_list(&shared, "", "v1"),
        ["api", "v1", rest @ ..] => resource_request(&ctx, "", "v1", rest).await,
        ["apis"] => group_list(&shared),
        ["apis", group] => group_info(&shared, group),
        ["apis", group, version] => resource_list(&shared, group, version),
        ["apis", group, version, rest @ ..] => resource_request(&ctx, group, version, rest).await,
        _ => error_response(&ApiError::resource_not_found()),
    };
    Ok(resp)
}

/// A SelfSubjectAccessReview, answered as the fake authorizes: everything is allowed.
fn self_subject_access_review(body: &[u8]) -> Response<Body> {
    let Ok(mut review) = serde_json::from_slice::<Value>(body) else {
        return error_response(&ApiError::new(400, "the request body is not a SelfSubjectAccessReview"));
    };
    review["status"] = json!({"allowed": true, "reason": "testkit authorizes every request"});
    json_response(201, &review)
}

// ---------------------------------------------------------------------------------------------
// Discovery

fn groups(shared: &Shared) -> BTreeMap<String, Vec<String>> {
    let store = shared.store();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in store.resources().iter().filter(|d| !d.group.is_empty()) {
        let vs = groups.entry(d.group.clone()).or_default();
        if !vs.contains(&d.version) {
            vs.push(d.version.clone());
        }
    }
    for vs in groups.values_mut() {
        vs.sort_by_key(|v| version_priority(v));
    }
    groups
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

fn group_list(shared: &Shared) -> Response<Body> {
    let groups: Vec<Value> = groups(shared).iter().map(|(g, vs)| group_json(g, vs)).collect();
    json_response(
        200,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

fn group_info(shared: &Shared, group: &str) -> Response<Body> {
    match groups(shared).get(group) {
        Some(vs) => {
            let mut g = group_json(group, vs);
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            json_response(200, &g)
        }
        None => error_response(&ApiError::resource_not_found()),
    }
}

const ALL_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn resource_list(shared: &Shared, group: &str, version: &str) -> Response<Body> {
    let store = shared.store();
    let defs: Vec<&ResourceDef> = store
        .resources()
        .iter()
        .filter(|d| d.group == group && d.version == version)
        .collect();
    if defs.is_empty() {
        return error_response(&ApiError::resource_not_found());
    }
    let mut resources = Vec::new();
    for d in defs {
        let mut r = json!({
            "name": d.plural, "singularName": d.singular, "namespaced": d.namespaced, "kind": d.kind,
            "verbs": ALL_VERBS,
        });
        if !d.short_names.is_empty() {
            r["shortNames"] = json!(d.short_names);
        }
        if !d.categories.is_empty() {
            r["categories"] = json!(d.categories);
        }
        resources.push(r);
        if d.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", d.plural), "singularName": "", "namespaced": d.namespaced,
                "kind": d.kind, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json_response(
        200,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

// ---------------------------------------------------------------------------------------------
// Resource requests

struct Ctx<'a> {
    shared: &'a Arc<Shared>,
    method: &'a Method,
    headers: &'a http::HeaderMap,
    query: &'a HashMap<String, String>,
    body: &'a Bytes,
}

impl Ctx<'_> {
    fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str).filter(|s| !s.is_empty())
    }

    fn flag(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1"))
    }

    /// `Accept: application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1`.
    fn metadata_only(&self) -> bool {
        self.headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("as=PartialObjectMetadata"))
    }

    fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .unwrap_or_default()
    }

    fn json_body(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(self.body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }

    /// JSON or YAML (server-side apply bodies, kubectl).
    fn any_body(&self) -> Result<Value, ApiError> {
        let ct = self.content_type();
        if ct.contains("protobuf") || ct.contains("cbor") {
            return Err(ApiError::new(
                415,
                format!(
                    "the body of the request was in an unknown format ({ct}) - accepted media types include: application/json, application/yaml"
                ),
            ));
        }
        serde_json::from_slice(self.body).or_else(|_| {
            let text = std::str::from_utf8(self.body).map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
            serde_saphyr::from_str::<Value>(text).map_err(|e| ApiError::bad_request(format!("invalid YAML body: {e}")))
        })
    }
}

struct ResPath<'a> {
    ns: Option<&'a str>,
    plural: &'a str,
    name: Option<&'a str>,
    sub: Option<&'a str>,
    watch_path: bool,
}

fn parse_target<'a>(rest: &[&'a str]) -> Option<ResPath<'a>> {
    let (watch_path, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let (ns, rest) = match rest {
        ["namespaces", ns, p, tail @ ..] if !(tail.is_empty() && matches!(*p, "status" | "finalize")) => {
            (Some(*ns), &rest[2..])
        }
        _ => (None, rest),
    };
    let (plural, more) = rest.split_first()?;
    if more.len() > 2 {
        return None;
    }
    Some(ResPath {
        ns,
        plural,
        name: more.first().copied(),
        sub: more.get(1).copied(),
        watch_path,
    })
}

async fn resource_request(ctx: &Ctx<'_>, group: &str, version: &str, rest: &[&str]) -> Response<Body> {
    let Some(t) = parse_target(rest) else {
        return error_response(&ApiError::resource_not_found());
    };
    let watch = t.watch_path || ctx.flag("watch");
    let verb = match (ctx.method.clone(), t.name.is_some()) {
        (Method::GET, _) if watch => Verb::Watch,
        (Method::GET, true) => Verb::Get,
        (Method::GET, false) => Verb::List,
        (Method::POST, false) => Verb::Create,
        (Method::PUT, true) => Verb::Update,
        (Method::PATCH, true) => Verb::Patch,
        (Method::DELETE, true) => Verb::Delete,
        (Method::DELETE, false) => Verb::DeleteCollection,
        _ => {
            return error_response(&ApiError::new(
                405,
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    let mut record = AuditRequest {
        verb,
        group: group.to_string(),
        version: version.to_string(),
        resource: t.plural.to_string(),
        subresource: t.sub.map(str::to_string),
        namespace: t.ns.map(str::to_string),
        name: t.name.map(str::to_string),
        field_manager: ctx.q("fieldManager").map(str::to_string),
        patch_type: (verb == Verb::Patch).then(|| ctx.content_type()),
        user_agent: ctx
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        code: 0,
    };
    let resp = serve_resource(ctx, group, version, &t, verb).await;
    record.code = resp.status().as_u16();
    ctx.shared.audit.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    resp
}

async fn serve_resource(ctx: &Ctx<'_>, group: &str, version: &str, t: &ResPath<'_>, verb: Verb) -> Response<Body> {
    match faults::take(ctx.shared, verb, t.plural, t.sub, t.ns) {
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::Status { code, retry_after }) => {
            let mut e = ApiError::new(code, format!("injected fault: {code}"));
            e.retry_after = retry_after;
            return error_response(&e);
        }
        None => {}
    }
    if (group, t.plural, verb) == ("authorization.k8s.io", "selfsubjectaccessreviews", Verb::Create) {
        return self_subject_access_review(ctx.body);
    }
    let Some(def) = ctx.shared.store().find(group, version, t.plural) else {
        return error_response(&ApiError::resource_not_found());
    };
    if (!def.namespaced && t.ns.is_some()) || (def.namespaced && t.ns.is_none() && t.name.is_some()) {
        return error_response(&ApiError::resource_not_found());
    }
    let target = match t.sub {
        None => Target::Main,
        Some("status") if def.status_subresource => Target::Status,
        Some(_) => return error_response(&ApiError::resource_not_found()),
    };
    if target == Target::Status && !matches!(verb, Verb::Get | Verb::Update | Verb::Patch) {
        return error_response(&ApiError::new(
            405,
            "the server does not allow this method on the requested resource",
        ));
    }
    let result = match verb {
        Verb::Watch => return start_watch(ctx, def, t),
        Verb::Get => get(ctx, &def, t),
        Verb::List => list(ctx, &def, t),
        Verb::Create => create(ctx, &def, t),
        Verb::Update => update(ctx, &def, t, target),
        Verb::Patch => patch(ctx, &def, t, target),
        Verb::Delete => delete(ctx, &def, t),
        Verb::DeleteCollection => delete_collection(ctx, &def, t),
    };
    match result {
        Ok((code, v)) if ctx.metadata_only() => json_response(code, &partial_metadata(&v)),
        Ok((code, v)) => json_response(code, &v),
        Err(e) => error_response(&e),
    }
}

/// An object (or list) as `PartialObjectMetadata` (or `PartialObjectMetadataList`).
fn partial_metadata(v: &Value) -> Value {
    if let Some(items) = v["items"].as_array() {
        let items: Vec<Value> = items.iter().map(partial_metadata).collect();
        return json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": v["metadata"], "items": items});
    }
    json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": v["metadata"]})
}

type Outcome = Result<(u16, Value), ApiError>;
type Mutator = Box<dyn FnMut(Value) -> Result<Value, ApiError>>;

fn selectors(ctx: &Ctx<'_>) -> Result<Selectors, ApiError> {
    Selectors::parse(ctx.q("labelSelector"), ctx.q("fieldSelector")).map_err(ApiError::bad_request)
}

fn write_opts<'a>(ctx: &'a Ctx<'_>, op: Op) -> WriteOpts<'a> {
    WriteOpts {
        field_manager: ctx.q("fieldManager"),
        op,
        dry_run: ctx.q("dryRun") == Some("All"),
        fields: None,
    }
}

fn get(ctx: &Ctx<'_>, def: &ResourceDef, t: &ResPath<'_>) -> Outcome {
    let name = t.name.unwrap_or_default();
    Ok((200, ctx.shared.store().get(def, t.ns.unwrap_or_default(), name)?))
}

fn list(ctx: &Ctx<'_>, def: &ResourceDef, t: &ResPath<'_>) -> Outcome {
    let sel = selectors(ctx)?;
    let (items, rv) = {
        let store = ctx.shared.store();
        (store.list(def, t.ns, &sel), store.rv())
    };
    let offset: usize = match ctx.q("continue") {
        Some(c) => c
            .parse()
            .map_err(|_| ApiError::bad_request("invalid continue token").with_reason("BadRequest"))?,
        None => 0,
    };
    let limit: usize = ctx
        .q("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    let end = offset.saturating_add(page.len());
    if end < total {
        meta["continue"] = json!(end.to_string());
        meta["remainingItemCount"] = json!(total - end);
    }
    Ok((
        200,
        json!({"apiVersion": def.api_version(), "kind": def.list_kind, "metadata": meta, "items": page}),
    ))
}

fn create(ctx: &Ctx<'_>, def: &ResourceDef, t: &ResPath<'_>) -> Outcome {
    if def.namespaced && t.ns.is_none() {
        return Err(ApiError::new(405, "create requires a namespace in the URL"));
    }
    let body = ctx.any_body()?;
    let obj = ctx
        .shared
        .store()
        .create(def, t.ns.unwrap_or_default(), body, &write_opts(ctx, Op::Update))?;
    Ok((201, obj))
}

fn update(ctx: &Ctx<'_>, def: &ResourceDef, t: &ResPath<'_>, target: Target) -> Outcome {
    let body = ctx.any_body()?;
    let name = t.name.unwrap_or_default();
    let mut mutate = |_cur: Value| Ok(body.clone());
    let (obj, _) = ctx.shared.store().update(
        def,
        t.ns.unwrap_or_default(),
        name,
        target,
        &write_opts(ctx, Op::Update),
        false,
        &mut mutate,
    )?;
    Ok((200, obj))
}

fn patch(ctx: &Ctx<'_>, def: &ResourceDef, t: &ResPath<'_>, target: Target) -> Outcome {
    let name = t.name.unwrap_or_default();
    let ns = t.ns.unwrap_or_default();
    let ct = ctx.content_type();
    let mut fields = None;
    let (op, create_if_missing, mut mutate): (Op, bool, Mutator) = match ct.as_str() {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let p = ctx.json_body()?;
            fields = Some(field_set(&p));
            (
                Op::Update,
                false,
                Box::new(move |mut cur| {
                    merge_patch(&mut cur, &p);
                    Ok(cur)
                }),
            )
        }
        "application/json-patch+json" => {
            let p = ctx.json_body()?;
            let d = def.clone();
            let n = name.to_string();
            (
                Op::Update,
                false,
                Box::new(move |mut cur| {
                    json_patch(&mut cur, &p).map_err(|e| ApiError::invalid(&d, &n, e))?;
                    Ok(cur)
                }),
            )
        }
        "application/apply-patch+yaml" | "application/apply-patch+json" => {
            if ctx.q("fieldManager").is_none() {
                return Err(ApiError::bad_request(
                    "PATCH requests with apply content type must specify fieldManager",
                ));
            }
            let mut p = ctx.any_body()?;
            if let Some(m) = p["metadata"].as_object_mut() {
                m.remove("managedFields");
            }
            let applied = field_set(&p);
            fields = Some(applied.clone());
            let manager = ctx.q("fieldManager").unwrap_or_default().to_string();
            let subresource = (target == Target::Status).then_some("status");
            (
                Op::Apply,
                true,
                Box::new(move |mut cur| {
                    // Fields this manager applied before and no longer applies are removed, as
                    // server-side apply does.
                    let before = cur["metadata"]["managedFields"].as_array().and_then(|entries| {
                        entries
                            .iter()
                            .find(|e| {
                                e["manager"].as_str() == Some(manager.as_str())
                                    && e["operation"] == "Apply"
                                    && e["subresource"].as_str() == subresource
                            })
                            .map(|e| e["fieldsV1"].clone())
                    });
                    if let Some(before) = before {
                        remove_fields(&mut cur, &subtract_fields(&before, &applied));
                    }
                    merge_patch(&mut cur, &p);
                    Ok(cur)
                }),
            )
        }
        other => {
            return Err(ApiError::new(
                415,
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"
                ),
            ));
        }
    };
    let (obj, created) = ctx.shared.store().update(
        def,
        ns,
        name,
        target,
        &WriteOpts {
            fields,
            ..write_opts(ctx, op)
        },
        create_if_missing,
        &mut *mutate,
    )?;
    Ok((if created { 201 } else { 200 }, obj))
}

fn delete(ctx: &Ctx<'_>, def: &ResourceDef, t: &ResPath<'_>) -> Outcome {
    let opts: Value = if ctx.body.is_empty() {
        Value::Null
    } else {
        ctx.json_body()?
    };
    let dry_run =
        ctx.q("dryRun") == Some("All") || opts["dryRun"].as_array().is_some_and(|a| a.iter().any(|v| v == "All"));
    let obj = ctx.shared.store().delete(
        def,
        t.ns.unwrap_or_default(),
        t.name.unwrap_or_default(),
        &opts["preconditions"],
        dry_run,
    )?;
    Ok((200, obj))
}

fn delete_collection(ctx: &Ctx<'_>, def: &ResourceDef, t: &ResPath<'_>) -> Outcome {
    let sel = selectors(ctx)?;
    let mut store = ctx.shared.store();
    let mut deleted = Vec::new();
    for obj in store.list(def, t.ns, &sel) {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        if let Ok(o) = store.delete(def, &ns, &name, &Value::Null, false) {
            deleted.push(o);
        }
    }
    let rv = store.rv().to_string();
    Ok((
        200,
        json!({"apiVersion": def.api_version(), "kind": def.list_kind, "metadata": {"resourceVersion": rv}, "items": deleted}),
    ))
}

// ---------------------------------------------------------------------------------------------
// Watch

struct WatchSpec {
    def: ResourceDef,
    ns: Option<String>,
    sel: Selectors,
    rv: Option<String>,
    bookmarks: bool,
    send_initial: Option<bool>,
    deadline: Option<Instant>,
    metadata_only: bool,
}

fn start_watch(ctx: &Ctx<'_>, def: ResourceDef, t: &ResPath<'_>) -> Response<Body> {
    let sel = match selectors(ctx) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    let sel = match t.name {
        Some(n) => sel.with_name(n),
        None => sel,
    };
    let spec = WatchSpec {
        def,
        ns: t.ns.map(str::to_string),
        sel,
        rv: ctx.q("resourceVersion").map(str::to_string),
        bookmarks: ctx.flag("allowWatchBookmarks"),
        send_initial: ctx.q("sendInitialEvents").map(|v| v == "true"),
        deadline: ctx
            .q("timeoutSeconds")
            .and_then(|s| s.parse::<u64>().ok())
            .map(|s| Instant::now() + Duration::from_secs(s)),
        metadata_only: ctx.metadata_only(),
    };
    let (tx, rx) = futures::channel::mpsc::channel::<Bytes>(64);
    tokio::spawn(run_watch(ctx.shared.clone(), spec, tx));
    let body = StreamBody::new(rx.map(|b| Ok::<_, Infallible>(Frame::data(b))));
    let mut r = Response::new(BodyExt::boxed_unsync(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn line(typ: &str, object: &Value) -> Bytes {
    // Written out rather than built as a `Value`, which would copy the object first.
    let mut v = Vec::with_capacity(4096);
    v.extend_from_slice(b"{\"type\":");
    let _ = serde_json::to_writer(&mut v, typ);
    v.extend_from_slice(b",\"object\":");
    let _ = serde_json::to_writer(&mut v, object);
    v.extend_from_slice(b"}\n");
    Bytes::from(v)
}

fn bookmark(def: &ResourceDef, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        &json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": meta}),
    )
}

fn gone(rv: &str, floor: u64) -> Bytes {
    let e = ApiError::new(410, format!("too old resource version: {rv} ({floor})"));
    line("ERROR", &e.status())
}

async fn run_watch(shared: Arc<Shared>, spec: WatchSpec, mut tx: futures::channel::mpsc::Sender<Bytes>) {
    let _ = watch_loop(&shared, &spec, &mut tx).await;
}

async fn watch_loop(
    shared: &Shared,
    spec: &WatchSpec,
    tx: &mut futures::channel::mpsc::Sender<Bytes>,
) -> Result<(), futures::channel::mpsc::SendError> {
    let mut dropped = shared.drop_watches.subscribe();
    let mut shutdown = shared.shutdown.subscribe();
    if *shutdown.borrow_and_update() {
        return Ok(());
    }
    let def = &spec.def;
    let rv_param = spec.rv.as_deref().filter(|s| !s.is_empty());
    let send_initial = spec.send_initial.unwrap_or(matches!(rv_param, None | Some("0")));
    enum Start {
        From(watch::Receiver<u64>, u64, Vec<Value>),
        Fail(Bytes),
    }
    let start = {
        let store = shared.store();
        let mut notify = store.subscribe();
        notify.borrow_and_update();
        if send_initial {
            Start::From(notify, store.rv(), store.list(def, spec.ns.as_deref(), &spec.sel))
        } else {
            let param = rv_param.unwrap_or("0");
            match param.parse::<u64>() {
                Err(_) => {
                    let e = ApiError::bad_request(format!("invalid resource version {param:?}"));
                    Start::Fail(line("ERROR", &e.status()))
                }
                Ok(after) if after < store.history_floor() => Start::Fail(gone(param, store.history_floor())),
                Ok(after) => Start::From(notify, after, Vec::new()),
            }
        }
    };
    let (mut notify, mut last, initial) = match start {
        Start::From(n, l, i) => (n, l, i),
        Start::Fail(b) => return tx.send(b).await,
    };
    fn shape<'a>(metadata_only: bool, obj: &'a Value) -> Cow<'a, Value> {
        if metadata_only {
            Cow::Owned(partial_metadata(obj))
        } else {
            Cow::Borrowed(obj)
        }
    }
    for obj in &initial {
        tx.send(line("ADDED", &shape(spec.metadata_only, obj))).await?;
    }
    if spec.send_initial == Some(true) && spec.bookmarks {
        tx.send(bookmark(def, last, true)).await?;
    }
    let mut ticker = tokio::time::interval_at(Instant::now() + shared.bookmark_interval, shared.bookmark_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let events = {
            let store = shared.store();
            notify.borrow_and_update();
            let evs = store.events_since(last);
            if evs.is_some() {
                last = last.max(store.rv());
            }
            evs.ok_or_else(|| store.history_floor())
        };
        let events = match events {
            Ok(evs) => evs,
            Err(floor) => return tx.send(gone(&last.to_string(), floor)).await,
        };
        for ev in events {
            if ev.group != def.group || ev.plural != def.plural {
                continue;
            }
            if spec.ns.as_deref().is_some_and(|ns| ns != ev.namespace) {
                continue;
            }
            let now_match = spec.sel.matches(&ev.object);
            let was_match = ev.prev.as_ref().is_some_and(|p| spec.sel.matches(p));
            let typ = match (ev.typ, was_match, now_match) {
                (EventType::Added, _, true) => EventType::Added,
                (EventType::Modified, true, true) => EventType::Modified,
                (EventType::Modified, false, true) => EventType::Added,
                (EventType::Modified, true, false) => EventType::Deleted,
                (EventType::Deleted, _, true) => EventType::Deleted,
                _ => continue,
            };
            let presented = if is_presented(def, &ev.object) {
                Cow::Borrowed(&*ev.object)
            } else {
                Cow::Owned(present(def, &ev.object))
            };
            tx.send(line(typ.as_str(), &shape(spec.metadata_only, &presented)))
                .await?;
        }
        let deadline = spec.deadline;
        tokio::select! {
            r = notify.changed() => if r.is_err() { return Ok(()) },
            _ = ticker.tick() => {
                if tx.is_closed() {
                    return Ok(());
                }
                if spec.bookmarks {
                    tx.send(bookmark(def, last, false)).await?;
                }
            }
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => return Ok(()),
            _ = dropped.changed() => return Ok(()),
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = parse_target(&["namespaces", "ns", "configmaps", "a"]).unwrap();
        assert_eq!(
            (t.ns, t.plural, t.name, t.sub),
            (Some("ns"), "configmaps", Some("a"), None)
        );
        let t = parse_target(&["namespaces", "ns"]).unwrap();
        assert_eq!((t.ns, t.plural, t.name), (None, "namespaces", Some("ns")));
        let t = parse_target(&["namespaces", "ns", "status"]).unwrap();
        assert_eq!(
            (t.ns, t.plural, t.name, t.sub),
            (None, "namespaces", Some("ns"), Some("status"))
        );
        let t = parse_target(&["watch", "namespaces", "ns", "pods"]).unwrap();
        assert!(t.watch_path && t.ns == Some("ns") && t.plural == "pods" && t.name.is_none());
        let t = parse_target(&["configmaps"]).unwrap();
        assert_eq!((t.ns, t.plural, t.name), (None, "configmaps", None));
        assert!(parse_target(&["namespaces", "ns", "pods", "a", "status", "x"]).is_none());
    }
}
