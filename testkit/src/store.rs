//! The object store, resourceVersions and the bounded event history.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::resources::{ResourceDef, builtins};
use crate::selector::Selectors;
use crate::util::{Rng, now};

/// How many events the watch history keeps.
pub const HISTORY_CAP: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Event {
    pub rv: u64,
    pub typ: EventType,
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub object: Arc<Value>,
    /// The object before a modification (to turn selector transitions into ADDED/DELETED).
    pub prev: Option<Arc<Value>>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    group: String,
    plural: String,
    namespace: String,
    name: String,
}

impl Key {
    fn new(def: &ResourceDef, ns: &str, name: &str) -> Self {
        Key {
            group: def.group.clone(),
            plural: def.plural.clone(),
            namespace: if def.namespaced { ns.to_string() } else { String::new() },
            name: name.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Main,
    Status,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Update,
    Apply,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Update => "Update",
            Op::Apply => "Apply",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct WriteOpts<'a> {
    pub field_manager: Option<&'a str>,
    pub op: Op,
    pub dry_run: bool,
    /// The fields the request sets (patches and applies), recorded in managedFields.
    pub fields: Option<Value>,
}

pub(crate) struct Store {
    resources: Vec<ResourceDef>,
    /// Shared with the events of `history` that hold the same version.
    objects: BTreeMap<Key, Arc<Value>>,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    /// Every event with a resourceVersion above this is still in `history`.
    floor: u64,
    cap: usize,
    rng: Rng,
    notify: watch::Sender<u64>,
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj["metadata"][field].as_str().filter(|s| !s.is_empty())
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    obj["metadata"].as_object_mut().expect("metadata is an object")
}

/// Whether two objects are equal leaving out the top-level `skip` keys: without metadata and
/// status, what `generation` tracks. Compares in place, without copying either object.
fn equal_but(a: &Value, b: &Value, skip: &[&str]) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let kept = |(k, _): &(&String, &Value)| !skip.contains(&k.as_str());
    a.iter().filter(kept).count() == b.iter().filter(kept).count()
        && a.iter().filter(kept).all(|(k, v)| b.get(k) == Some(v))
}

/// Whether two objects say the same: equal but for `metadata.managedFields`, compared in place.
fn same_but_managed_fields(a: &Value, b: &Value) -> bool {
    const SKIP: &[&str] = &["metadata"];
    equal_but(a, b, SKIP) && equal_but(&a["metadata"], &b["metadata"], &["managedFields"])
}

fn has_finalizers(obj: &Value) -> bool {
    obj["metadata"]["finalizers"].as_array().is_some_and(|a| !a.is_empty())
}

/// `present` sets apiVersion and kind to the version a client asked for.
pub(crate) fn present(def: &ResourceDef, obj: &Value) -> Value {
    presented(def, obj.clone())
}

/// [`present`], in place.
pub(crate) fn presented(def: &ResourceDef, mut obj: Value) -> Value {
    if !is_presented(def, &obj) {
        obj["apiVersion"] = json!(def.api_version());
        obj["kind"] = json!(def.kind);
    }
    obj
}

/// Whether `obj` already shows `def`'s apiVersion and kind (so [`present`] would copy it for
/// nothing).
pub(crate) fn is_presented(def: &ResourceDef, obj: &Value) -> bool {
    obj["kind"].as_str() == Some(def.kind.as_str())
        && obj["apiVersion"].as_str().is_some_and(|v| {
            let (group, version) = v.split_once('/').unwrap_or(("", v));
            group == def.group && version == def.version
        })
}

impl Store {
    pub(crate) fn new() -> Self {
        let (notify, _) = watch::channel(0);
        let mut store = Store {
            resources: builtins(),
            objects: BTreeMap::new(),
            rv: 0,
            history: VecDeque::new(),
            floor: 0,
            cap: HISTORY_CAP,
            rng: Rng::new(),
            notify,
        };
        let ns_def = store.find("", "v1", "namespaces").expect("namespaces is built in");
        let opts = WriteOpts {
            field_manager: None,
            op: Op::Update,
            dry_run: false,
            fields: None,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"metadata": {"name": ns}});
            store.create(&ns_def, "", obj, &opts).expect("fresh namespace");
        }
        store
    }

    pub(crate) fn set_history_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }

    pub(crate) fn rv(&self) -> u64 {
        self.rv
    }

    pub(crate) fn resources(&self) -> &[ResourceDef] {
        &self.resources
    }

    pub(crate) fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        self.resources
            .iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .cloned()
    }

    /// Adds or replaces a resource definition.
    pub(crate) fn register(&mut self, def: ResourceDef) {
        self.resources
            .retain(|d| !(d.group == def.group && d.version == def.version && d.plural == def.plural));
        self.resources.push(def);
    }

    /// Events after `after`, or `None` if some of them are no longer kept.
    pub(crate) fn events_since(&self, after: u64) -> Option<Vec<Arc<Event>>> {
        if after < self.floor {
            return None;
        }
        let start = self.history.partition_point(|e| e.rv <= after);
        Some(self.history.range(start..).cloned().collect())
    }

    pub(crate) fn history_floor(&self) -> u64 {
        self.floor
    }

    pub(crate) fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&Key::new(def, ns, name))
            .map(|o| present(def, o))
            .ok_or_else(|| ApiError::not_found(def, name))
    }

    /// Objects of `def` (in `ns`, or everywhere) that match `sel`, in key order.
    pub(crate) fn list(&self, def: &ResourceDef, ns: Option<&str>, sel: &Selectors) -> Vec<Value> {
        // Keys sort by group, plural, namespace and name: only this resource's range is read.
        let first = Key {
            group: def.group.clone(),
            plural: def.plural.clone(),
            namespace: ns.unwrap_or_default().to_string(),
            name: String::new(),
        };
        self.objects
            .range(first..)
            .take_while(|(k, _)| {
                k.group == def.group && k.plural == def.plural && ns.is_none_or(|ns| k.namespace == ns)
            })
            .filter(|(_, o)| sel.matches(o))
            .map(|(_, o)| present(def, o))
            .collect()
    }

    /// Every stored object of a group and plural (any version), for test assertions.
    pub(crate) fn dump(&self, group: &str, plural: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == group && k.plural == plural)
            .map(|(_, o)| Value::clone(o))
            .collect()
    }

    fn commit(&mut self, key: Key, typ: EventType, mut obj: Value, prev: Option<Arc<Value>>) -> Arc<Value> {
        self.rv += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let obj = Arc::new(obj);
        if typ == EventType::Deleted {
            self.objects.remove(&key);
        } else {
            self.objects.insert(key.clone(), obj.clone());
        }
        self.history.push_back(Arc::new(Event {
            rv: self.rv,
            typ,
            group: key.group,
            plural: key.plural,
            namespace: key.namespace,
            object: obj.clone(),
            prev,
        }));
        while self.history.len() > self.cap {
            if let Some(e) = self.history.pop_front() {
                self.floor = e.rv;
            }
        }
        self.notify.send_replace(self.rv);
        obj
    }

    fn managed_entry(def: &ResourceDef, manager: &str, op: Op, target: Target, fields: Option<&Value>) -> Value {
        let mut e = json!({
            "manager": manager,
            "operation": op.as_str(),
            "apiVersion": def.api_version(),
            "time": now(),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields.cloned().unwrap_or_else(|| json!({})),
        });
        if target == Target::Status {
            e["subresource"] = json!("status");
        }
        e
    }

    fn has_managed_entry(obj: &Value, manager: &str, op: Op, target: Target) -> bool {
        let sub = if target == Target::Status { Some("status") } else { None };
        obj["metadata"]["managedFields"].as_array().is_some_and(|a| {
            a.iter().any(|e| {
                e["manager"].as_str() == Some(manager)
                    && e["operation"].as_str() == Some(op.as_str())
                    && e["subresource"].as_str() == sub
            })
        })
    }

    fn upsert_managed(def: &ResourceDef, obj: &mut Value, manager: &str, opts: &WriteOpts, target: Target) {
        let op = opts.op;
        let sub = if target == Target::Status { Some("status") } else { None };
        let entry = Self::managed_entry(def, manager, op, target, opts.fields.as_ref());
        let meta = meta_mut(obj);
        let list = meta.entry("managedFields").or_insert_with(|| json!([]));
        if !list.is_array() {
            *list = json!([]);
        }
        let arr = list.as_array_mut().expect("array");
        arr.retain(|e| {
            !(e["manager"].as_str() == Some(manager)
                && e["operation"].as_str() == Some(op.as_str())
                && e["subresource"].as_str() == sub)
        });
        // Whoever writes a field owns it from then on: other managers lose it.
        if let Some(fields) = &opts.fields {
            for other in arr.iter_mut() {
                if other["manager"].as_str() != Some(manager) && other["subresource"].as_str() == sub {
                    other["fieldsV1"] = crate::patch::subtract_fields(&other["fieldsV1"], fields);
                }
            }
        }
        arr.push(entry);
    }

    /// Kind-specific server-side state.
    fn server_defaults(def: &ResourceDef, obj: &mut Value, creating: bool) {
        if def.is_crd_kind() {
            let spec = &obj["spec"];
            let stored: Vec<Value> = spec["versions"]
                .as_array()
                .map(|vs| {
                    vs.iter()
                        .filter(|v| v["storage"].as_bool() == Some(true))
                        .map(|v| v["name"].clone())
                        .collect()
                })
                .unwrap_or_default();
            let names = spec["names"].clone();
            if !obj["status"]["conditions"].is_array() {
                let t = now();
                obj["status"]["conditions"] = json!([
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                     "message": "no conflicts found", "lastTransitionTime": t},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted", "lastTransitionTime": t},
                ]);
            }
            obj["status"]["acceptedNames"] = names;
            obj["status"]["storedVersions"] = json!(stored);
        } else if creating && def.is_namespace_kind() {
            obj["status"] = json!({"phase": "Active"});
        } else if creating && def.group.is_empty() && def.plural == "pods" {
            obj["status"] = json!({"phase": "Pending"});
        } else if def.group.is_empty() && def.plural == "secrets" {
            Self::merge_string_data(obj);
        }
    }

    /// As the API server does: a Secret's write-only `stringData` is merged into `data`
    /// (base64-encoded, winning over `data`'s keys) and never stored.
    fn merge_string_data(obj: &mut Value) {
        let Some(map) = obj.as_object_mut() else {
            return;
        };
        let Some(Value::Object(strings)) = map.remove("stringData") else {
            return;
        };
        if !map.get("data").is_some_and(Value::is_object) {
            map.insert("data".into(), json!({}));
        }
        if let Some(Value::Object(data)) = map.get_mut("data") {
            for (key, value) in strings {
                let bytes = value.as_str().unwrap_or_default().as_bytes().to_vec();
                let encoded = serde_json::to_value(k8s_openapi::ByteString(bytes)).unwrap_or(Value::Null);
                data.insert(key, encoded);
            }
        }
    }

    pub(crate) fn create(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("the request body must be a JSON object"));
        }
        let meta = meta_mut(&mut obj);
        if def.namespaced {
            match meta.get("namespace").and_then(Value::as_str) {
                Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {
                    meta.insert("namespace".into(), json!(ns));
                }
            }
        } else {
            meta.remove("namespace");
        }
        let mut name = meta.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        if name.is_empty() {
            let generate = meta
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if generate.is_empty() {
                return Err(ApiError::invalid(
                    def,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
            loop {
                name = format!("{generate}{}", self.rng.name_suffix());
                if !self.objects.contains_key(&Key::new(def, ns, &name)) {
                    break;
                }
            }
        }
        if name.contains('/') || name == "." || name == ".." {
            return Err(ApiError::invalid(
                def,
                &name,
                "metadata.name: Invalid value: may not contain '/'",
            ));
        }
        let key = Key::new(def, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(def, &name));
        }
        let uid = self.rng.uid();
        let meta = meta_mut(&mut obj);
        meta.insert("name".into(), json!(name));
        meta.insert("uid".into(), json!(uid));
        meta.insert("creationTimestamp".into(), json!(now()));
        meta.insert("generation".into(), json!(1));
        for f in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
            "resourceVersion",
        ] {
            meta.remove(f);
        }
        if def.status_subresource
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        Self::server_defaults(def, &mut obj, true);
        if let Some(manager) = opts.field_manager {
            Self::upsert_managed(def, &mut obj, manager, opts, Target::Main);
        }
        let obj = presented(def, obj);
        if opts.dry_run {
            return Ok(obj);
        }
        let obj = self.commit(key, EventType::Added, obj, None);
        if def.is_crd_kind() {
            self.register_crd(&obj);
        }
        Ok(Value::clone(&obj))
    }

    /// Replaces, patches or applies an object (or its status). `mutate` turns the current
    /// object into the requested one; when the object is missing and `create_if_missing`
    /// is set, it is given an empty object and the result is created.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        target: Target,
        opts: &WriteOpts,
        create_if_missing: bool,
        mutate: &mut dyn FnMut(Value) -> Result<Value, ApiError>,
    ) -> Result<(Value, bool), ApiError> {
        let key = Key::new(def, ns, name);
        let Some(cur) = self.objects.get(&key).cloned() else {
            if !create_if_missing || target == Target::Status {
                return Err(ApiError::not_found(def, name));
            }
            let mut fresh = json!({"apiVersion": def.api_version(), "kind": def.kind, "metadata": {"name": name}});
            if def.namespaced {
                fresh["metadata"]["namespace"] = json!(ns);
            }
            let mut obj = mutate(fresh)?;
            Self::check_identity(def, ns, name, &mut obj)?;
            if meta_str(&obj, "resourceVersion").is_some() {
                return Err(ApiError::not_found(def, name));
            }
            return self.create(def, ns, obj, opts).map(|o| (o, true));
        };
        let mut cand = mutate(present(def, &cur))?;
        Self::check_identity(def, ns, name, &mut cand)?;
        if let Some(rv) = meta_str(&cand, "resourceVersion")
            && Some(rv) != meta_str(&cur, "resourceVersion")
        {
            return Err(ApiError::conflict(def, name));
        }
        if let Some(uid) = meta_str(&cand, "uid")
            && Some(uid) != meta_str(&cur, "uid")
        {
            return Err(ApiError::conflict(def, name));
        }
        let mut new = match target {
            Target::Status => {
                let mut n = Value::clone(&cur);
                match cand.get("status") {
                    Some(s) if !s.is_null() => n["status"] = s.clone(),
                    _ => {
                        if let Some(m) = n.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                n
            }
            Target::Main => {
                let mut n = cand;
                if def.status_subresource
                    && let Some(m) = n.as_object_mut()
                {
                    match cur.get("status") {
                        Some(s) => m.insert("status".into(), s.clone()),
                        None => m.remove("status"),
                    };
                }
                let cur_meta = cur["metadata"].as_object().cloned().unwrap_or_default();
                let meta = meta_mut(&mut n);
                for f in [
                    "uid",
                    "creationTimestamp",
                    "generation",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "managedFields",
                    "resourceVersion",
                ] {
                    match cur_meta.get(f) {
                        Some(v) => meta.insert(f.into(), v.clone()),
                        None => meta.remove(f),
                    };
                }
                meta.remove("selfLink");
                n
            }
        };
        let mut new = {
            Self::server_defaults(def, &mut new, false);
            presented(def, new)
        };
        const NOT_SPEC: &[&str] = &["metadata", "status", "apiVersion", "kind"];
        if target == Target::Main && !equal_but(&new, &cur, NOT_SPEC) {
            let generation = cur["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            meta_mut(&mut new).insert("generation".into(), json!(generation));
        }
        let needs_entry = opts
            .field_manager
            .is_some_and(|m| !Self::has_managed_entry(&cur, m, opts.op, target));
        if !needs_entry && same_but_managed_fields(&new, &present(def, &cur)) {
            // A no-op write: no new resourceVersion, no event.
            return Ok((present(def, &cur), false));
        }
        if let Some(manager) = opts.field_manager {
            Self::upsert_managed(def, &mut new, manager, opts, target);
        }
        if opts.dry_run {
            return Ok((new, false));
        }
        if meta_str(&new, "deletionTimestamp").is_some() && !has_finalizers(&new) {
            let obj = self.remove_object(def, key, new, Some(cur));
            return Ok((present(def, &obj), false));
        }
        let obj = self.commit(key, EventType::Modified, new, Some(cur));
        if def.is_crd_kind() {
            self.register_crd(&obj);
        }
        Ok((present(def, &obj), false))
    }

    fn check_identity(def: &ResourceDef, ns: &str, name: &str, obj: &mut Value) -> Result<(), ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("the request body must be a JSON object"));
        }
        if let Some(n) = meta_str(obj, "name")
            && n != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        if def.namespaced
            && let Some(n) = meta_str(obj, "namespace")
            && n != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let meta = meta_mut(obj);
        meta.insert("name".into(), json!(name));
        if def.namespaced {
            meta.insert("namespace".into(), json!(ns));
        }
        Ok(())
    }

    pub(crate) fn delete(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        preconditions: &Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let key = Key::new(def, ns, name);
        let cur = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(def, name))?;
        if let Some(rv) = preconditions["resourceVersion"].as_str()
            && Some(rv) != meta_str(&cur, "resourceVersion")
        {
            return Err(ApiError::conflict(def, name));
        }
        if let Some(uid) = preconditions["uid"].as_str()
            && Some(uid) != meta_str(&cur, "uid")
        {
            return Err(ApiError::conflict(def, name));
        }
        if dry_run {
            return Ok(present(def, &cur));
        }
        if has_finalizers(&cur) {
            if meta_str(&cur, "deletionTimestamp").is_some() {
                return Ok(present(def, &cur));
            }
            let mut n = Value::clone(&cur);
            let generation = cur["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            let meta = meta_mut(&mut n);
            meta.insert("deletionTimestamp".into(), json!(now()));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            meta.insert("generation".into(), json!(generation));
            let obj = self.commit(key, EventType::Modified, n, Some(cur));
            return Ok(present(def, &obj));
        }
        let obj = self.remove_object(def, key, Value::clone(&cur), Some(cur));
        Ok(present(def, &obj))
    }

    /// Deletes an object for good, then what depends on it: a CRD's objects, a
    /// namespace's contents, and objects whose owners are all gone.
    fn remove_object(&mut self, def: &ResourceDef, key: Key, obj: Value, prev: Option<Arc<Value>>) -> Arc<Value> {
        let obj = self.commit(key.clone(), EventType::Deleted, obj, prev);
        if def.is_crd_kind() {
            let defs = ResourceDef::from_crd_object(&obj);
            if let Some(d) = defs.first() {
                let (g, p) = (d.group.clone(), d.plural.clone());
                self.resources
                    .retain(|r| !(r.from_crd && r.group == g && r.plural == p));
                let doomed: Vec<Key> = self
                    .objects
                    .keys()
                    .filter(|k| k.group == g && k.plural == p)
                    .cloned()
                    .collect();
                for k in doomed {
                    if let Some(o) = self.objects.get(&k).cloned() {
                        self.commit(k, EventType::Deleted, Value::clone(&o), Some(o));
                    }
                }
            }
        }
        if def.is_namespace_kind() {
            let doomed: Vec<Key> = self
                .objects
                .keys()
                .filter(|k| k.namespace == key.name)
                .cloned()
                .collect();
            for k in doomed {
                if let Some(o) = self.objects.get(&k).cloned() {
                    self.commit(k, EventType::Deleted, Value::clone(&o), Some(o));
                }
            }
        }
        self.collect_garbage();
        obj
    }

    /// Background-style garbage collection: delete objects all of whose owners are gone.
    fn collect_garbage(&mut self) {
        loop {
            let live: HashSet<String> = self
                .objects
                .values()
                .filter_map(|o| meta_str(o, "uid").map(str::to_string))
                .collect();
            let orphans: Vec<Key> = self
                .objects
                .iter()
                .filter(|(_, o)| {
                    o["metadata"]["ownerReferences"].as_array().is_some_and(|refs| {
                        !refs.is_empty() && refs.iter().all(|r| r["uid"].as_str().is_none_or(|u| !live.contains(u)))
                    })
                })
                .filter(|(_, o)| meta_str(o, "deletionTimestamp").is_none())
                .map(|(k, _)| k.clone())
                .collect();
            if orphans.is_empty() {
                return;
            }
            for k in orphans {
                let Some(o) = self.objects.get(&k).cloned() else {
                    continue;
                };
                if has_finalizers(&o) {
                    let mut n = Value::clone(&o);
                    meta_mut(&mut n).insert("deletionTimestamp".into(), json!(now()));
                    self.commit(k, EventType::Modified, n, Some(o));
                } else {
                    self.commit(k, EventType::Deleted, Value::clone(&o), Some(o));
                }
            }
        }
    }

    fn register_crd(&mut self, crd: &Value) {
        let defs = ResourceDef::from_crd_object(crd);
        if let Some(d) = defs.first() {
            let (g, p) = (d.group.clone(), d.plural.clone());
            self.resources
                .retain(|r| !(r.from_crd && r.group == g && r.plural == p));
        }
        for d in defs {
            self.register(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> WriteOpts<'static> {
        WriteOpts {
            field_manager: None,
            op: Op::Update,
            dry_run: false,
            fields: None,
        }
    }

    #[test]
    fn history_is_bounded() {
        let mut s = Store::new();
        s.cap = 5;
        let cm = s.find("", "v1", "configmaps").unwrap();
        for i in 0..10 {
            s.create(&cm, "default", json!({"metadata": {"name": format!("c{i}")}}), &opts())
                .unwrap();
        }
        assert_eq!(s.history.len(), 5);
        assert!(s.events_since(s.rv() - 6).is_none());
        assert_eq!(s.events_since(s.rv() - 5).unwrap().len(), 5);
        assert_eq!(s.history_floor(), s.rv() - 5);
    }

    #[test]
    fn secret_string_data_is_stored_as_data() {
        let mut s = Store::new();
        let secrets = s.find("", "v1", "secrets").unwrap();
        let o = s
            .create(
                &secrets,
                "default",
                json!({"metadata": {"name": "s"}, "data": {"a": "eA==", "b": "eA=="}, "stringData": {"b": "hi"}}),
                &opts(),
            )
            .unwrap();
        assert_eq!(o["data"], json!({"a": "eA==", "b": "aGk="}));
        assert!(o.get("stringData").is_none());
    }

    #[test]
    fn generation_and_noop() {
        let mut s = Store::new();
        let cm = s.find("", "v1", "configmaps").unwrap();
        let o = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"name": "a"}, "data": {"k": "v"}}),
                &opts(),
            )
            .unwrap();
        assert_eq!(o["metadata"]["generation"], 1);
        let rv = s.rv();
        let mut same = |c: Value| Ok(c);
        let (o2, _) = s
            .update(&cm, "default", "a", Target::Main, &opts(), false, &mut same)
            .unwrap();
        assert_eq!(s.rv(), rv, "no-op write bumps nothing");
        assert_eq!(o2["metadata"]["resourceVersion"], o["metadata"]["resourceVersion"]);
        let mut label = |mut c: Value| {
            c["metadata"]["labels"] = json!({"x": "y"});
            Ok(c)
        };
        let (o3, _) = s
            .update(&cm, "default", "a", Target::Main, &opts(), false, &mut label)
            .unwrap();
        assert_eq!(o3["metadata"]["generation"], 1);
        let mut data = |mut c: Value| {
            c["data"]["k"] = json!("w");
            Ok(c)
        };
        let (o4, _) = s
            .update(&cm, "default", "a", Target::Main, &opts(), false, &mut data)
            .unwrap();
        assert_eq!(o4["metadata"]["generation"], 2);
    }

    #[test]
    fn finalizers_and_owner_gc() {
        let mut s = Store::new();
        let cm = s.find("", "v1", "configmaps").unwrap();
        let owner = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"name": "owner", "finalizers": ["x/y"]}}),
                &opts(),
            )
            .unwrap();
        let uid = owner["metadata"]["uid"].clone();
        s.create(
            &cm,
            "default",
            json!({"metadata": {"name": "child", "ownerReferences": [{"uid": uid, "name": "owner", "kind": "ConfigMap", "apiVersion": "v1"}]}}),
            &opts(),
        )
        .unwrap();
        let d = s.delete(&cm, "default", "owner", &Value::Null, false).unwrap();
        assert!(d["metadata"]["deletionTimestamp"].is_string());
        assert!(s.get(&cm, "default", "owner").is_ok());
        let mut unfinalize = |mut c: Value| {
            c["metadata"]["finalizers"] = json!([]);
            Ok(c)
        };
        s.update(&cm, "default", "owner", Target::Main, &opts(), false, &mut unfinalize)
            .unwrap();
        assert!(s.get(&cm, "default", "owner").is_err());
        assert!(s.get(&cm, "default", "child").is_err(), "dependent collected");
    }
}
