//! CRUD, selectors, patches, status subresource, discovery, faults and audit through kube::Api.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::json;
use testkit::{Fault, Testkit, Verb};

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()},
        "data": {"k": "v"},
    }))
    .unwrap()
}

fn api_code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.dev"},
        "spec": {
            "group": "example.dev",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList", "shortNames": ["wd"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}}
            }]
        }
    }))
    .unwrap()
}

async fn widgets(client: &Client) -> Api<DynamicObject> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crds.create(&PostParams::default(), &widget_crd()).await.unwrap();
    let established = crd.status.unwrap().conditions.unwrap();
    assert!(
        established
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
    let gvk = GroupVersionKind::gvk("example.dev", "v1", "Widget");
    Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, "widgets"),
    )
}

#[tokio::test]
async fn crud_round_trip() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());

    let created = cms
        .create(&PostParams::default(), &cm("a", &[("app", "web")]))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some() && meta.resource_version.is_some());
    assert_eq!(meta.generation, Some(1));
    assert_eq!(meta.namespace.as_deref(), Some("default"));

    assert_eq!(
        api_code(cms.create(&PostParams::default(), &cm("a", &[])).await.unwrap_err()),
        409
    );

    let got = cms.get("a").await.unwrap();
    assert_eq!(got.data.as_ref().unwrap()["k"], "v");
    let list = cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());

    let mut changed = got.clone();
    changed.data.as_mut().unwrap().insert("k".into(), "w".into());
    let replaced = cms.replace("a", &PostParams::default(), &changed).await.unwrap();
    assert_eq!(replaced.data.unwrap()["k"], "w");
    assert_eq!(replaced.metadata.generation, Some(2));
    assert_ne!(replaced.metadata.resource_version, got.metadata.resource_version);

    let deleted = cms.delete("a", &DeleteParams::default()).await.unwrap();
    assert!(deleted.is_left());
    assert_eq!(api_code(cms.get("a").await.unwrap_err()), 404);
    assert_eq!(
        api_code(cms.delete("a", &DeleteParams::default()).await.unwrap_err()),
        404
    );
    assert!(cms.get_opt("a").await.unwrap().is_none());

    // Cluster-scoped resources and the pre-created namespaces.
    let nss: Api<Namespace> = Api::all(tk.client());
    let names: Vec<String> = nss
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .map(|n| n.name_any())
        .collect();
    assert!(names.contains(&"default".to_string()));

    // generateName
    let mut gen_cm = cm("", &[]);
    gen_cm.metadata.name = None;
    gen_cm.metadata.generate_name = Some("gen-".into());
    let g = cms.create(&PostParams::default(), &gen_cm).await.unwrap();
    assert!(g.name_any().starts_with("gen-") && g.name_any().len() == 9);
}

#[tokio::test]
async fn stale_replace_conflicts() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    let first = cms.create(&PostParams::default(), &cm("a", &[])).await.unwrap();
    let mut newer = first.clone();
    newer.data.as_mut().unwrap().insert("x".into(), "1".into());
    cms.replace("a", &PostParams::default(), &newer).await.unwrap();

    let mut stale = first.clone();
    stale.data.as_mut().unwrap().insert("x".into(), "2".into());
    let err = cms.replace("a", &PostParams::default(), &stale).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("{other:?}"),
    }
    // A stale resourceVersion in a merge patch conflicts too.
    let p = json!({"metadata": {"resourceVersion": first.metadata.resource_version}, "data": {"y": "1"}});
    assert_eq!(
        api_code(
            cms.patch("a", &PatchParams::default(), &Patch::Merge(&p))
                .await
                .unwrap_err()
        ),
        409
    );
}

#[tokio::test]
async fn label_and_field_selectors() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    for (name, app) in [("a", Some("web")), ("b", Some("db")), ("c", Some("cache")), ("d", None)] {
        let labels: Vec<(&str, &str)> = app.map(|a| vec![("app", a)]).unwrap_or_default();
        cms.create(&PostParams::default(), &cm(name, &labels)).await.unwrap();
    }
    let names = |sel: &'static str| {
        let cms = cms.clone();
        async move {
            let mut v: Vec<String> = cms
                .list(&ListParams::default().labels(sel))
                .await
                .unwrap()
                .iter()
                .map(|c| c.name_any())
                .collect();
            v.sort();
            v
        }
    };
    assert_eq!(names("app in (web,db)").await, ["a", "b"]);
    assert_eq!(names("app notin (web,db)").await, ["c", "d"]);
    assert_eq!(names("app=web").await, ["a"]);
    assert_eq!(names("app==db").await, ["b"]);
    assert_eq!(names("app!=web").await, ["b", "c", "d"]);
    assert_eq!(names("app").await, ["a", "b", "c"]);
    assert_eq!(names("!app").await, ["d"]);
    assert_eq!(names("app in (web, cache),app!=cache").await, ["a"]);

    let by_name = cms
        .list(&ListParams::default().fields("metadata.name=c"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    let other_ns: Api<ConfigMap> = Api::namespaced(tk.client(), "other");
    other_ns
        .create(&PostParams::default(), &cm("e", &[("app", "web")]))
        .await
        .unwrap();
    let all: Api<ConfigMap> = Api::all(tk.client());
    assert_eq!(
        all.list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let in_other = all
        .list(&ListParams::default().fields("metadata.namespace=other"))
        .await
        .unwrap();
    assert_eq!(in_other.items.len(), 1);

    // Pagination.
    let page = cms.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let token = page.metadata.continue_.clone().unwrap();
    let rest = cms
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.metadata.continue_.is_none_or(|c| c.is_empty()));

    assert_eq!(
        api_code(
            cms.list(&ListParams::default().labels("app foo (x)"))
                .await
                .unwrap_err()
        ),
        400
    );
}

#[tokio::test]
async fn merge_json_patch_and_server_side_apply() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    cms.create(&PostParams::default(), &cm("a", &[("keep", "1"), ("drop", "1")]))
        .await
        .unwrap();

    let p = json!({"metadata": {"labels": {"drop": null, "new": "2"}}, "data": {"k2": "v2"}});
    let patched = cms
        .patch("a", &PatchParams::default(), &Patch::Merge(&p))
        .await
        .unwrap();
    let labels = patched.labels();
    assert_eq!(labels.get("keep").map(String::as_str), Some("1"));
    assert_eq!(labels.get("new").map(String::as_str), Some("2"));
    assert!(!labels.contains_key("drop"));
    assert_eq!(patched.data.as_ref().unwrap().len(), 2);

    let client = tk.client();
    let raw_patch = |ct: &'static str, query: &'static str, body: serde_json::Value| {
        let client = client.clone();
        async move {
            let req = http::Request::patch(format!("/api/v1/namespaces/default/configmaps/a{query}"))
                .header("content-type", ct)
                .body(serde_json::to_vec(&body).unwrap())
                .unwrap();
            client.request::<ConfigMap>(req).await
        }
    };
    let jp = json!([
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "replace", "path": "/data/k", "value": "v3"},
        {"op": "remove", "path": "/data/k2"},
        {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}},
    ]);
    let patched = raw_patch("application/json-patch+json", "", jp).await.unwrap();
    assert_eq!(patched.data.as_ref().unwrap().get("k").map(String::as_str), Some("v3"));
    assert!(!patched.data.as_ref().unwrap().contains_key("k2"));
    assert_eq!(patched.annotations()["a"], "b");
    let failing = json!([{"op": "test", "path": "/data/k", "value": "nope"}]);
    assert_eq!(
        api_code(raw_patch("application/json-patch+json", "", failing).await.unwrap_err()),
        422
    );
    // Server-side apply without a field manager is refused; unknown patch types too.
    assert_eq!(
        api_code(
            raw_patch("application/apply-patch+yaml", "", json!({}))
                .await
                .unwrap_err()
        ),
        400
    );
    assert_eq!(api_code(raw_patch("text/plain", "", json!({})).await.unwrap_err()), 415);
    // Apply bodies may be YAML.
    let req = http::Request::patch("/api/v1/namespaces/default/configmaps/y?fieldManager=kubectl")
        .header("content-type", "application/apply-patch+yaml")
        .body(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: b\n".to_vec())
        .unwrap();
    let y: ConfigMap = client.request(req).await.unwrap();
    assert_eq!(y.data.unwrap()["a"], "b");

    // Strategic merge patch (approximated as a merge patch).
    let sp = json!({"data": {"s": "1"}});
    let patched = cms
        .patch("a", &PatchParams::default(), &Patch::Strategic(&sp))
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["s"], "1");

    // Patching a missing object is a 404; applying it creates it.
    assert_eq!(
        api_code(
            cms.patch("nope", &PatchParams::default(), &Patch::Merge(&p))
                .await
                .unwrap_err()
        ),
        404
    );
    let deploys: Api<Deployment> = Api::default_namespaced(tk.client());
    let applied = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "img:1"}]}}}
    });
    let pp = PatchParams::apply("prow-operator").force();
    let created = deploys.patch("web", &pp, &Patch::Apply(&applied)).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let mf = created.metadata.managed_fields.clone().unwrap();
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].manager.as_deref(), Some("prow-operator"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));

    // Re-applying the same object is a no-op: same resourceVersion.
    let again = deploys.patch("web", &pp, &Patch::Apply(&applied)).await.unwrap();
    assert_eq!(again.metadata.resource_version, created.metadata.resource_version);

    let mut updated = applied.clone();
    updated["spec"]["replicas"] = json!(3);
    let updated = deploys.patch("web", &pp, &Patch::Apply(&updated)).await.unwrap();
    assert_eq!(updated.spec.replicas, Some(3));
    assert_eq!(updated.metadata.generation, Some(2));
    assert_eq!(updated.metadata.managed_fields.unwrap().len(), 1);

    let audit = tk.audit();
    assert!(audit.iter().any(|r| r.verb == Verb::Patch
        && r.patch_type.as_deref() == Some("application/apply-patch+yaml")
        && r.field_manager.as_deref() == Some("prow-operator")));
}

#[tokio::test]
async fn status_subresource_isolation() {
    let tk = Testkit::start().await;
    let client = tk.client();
    let w = widgets(&client).await;

    let mut obj = DynamicObject::new(
        "w1",
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("example.dev", "v1", "Widget"), "widgets"),
    );
    obj.data = json!({"spec": {"size": 1}, "status": {"phase": "Forged"}});
    let created = w.create(&PostParams::default(), &obj).await.unwrap();
    assert!(created.data.get("status").is_none(), "status is dropped on create");
    assert_eq!(created.data["spec"]["size"], 1);

    // Status writes change only status.
    let sp = json!({"spec": {"size": 99}, "metadata": {"labels": {"x": "y"}}, "status": {"phase": "Ready", "observedGeneration": 1}});
    let after_status = w
        .patch_status("w1", &PatchParams::default(), &Patch::Merge(&sp))
        .await
        .unwrap();
    assert_eq!(after_status.data["status"]["phase"], "Ready");
    assert_eq!(after_status.data["spec"]["size"], 1);
    assert!(after_status.metadata.labels.is_none());
    assert_eq!(after_status.metadata.generation, Some(1));
    assert_ne!(
        after_status.metadata.resource_version,
        created.metadata.resource_version
    );
    let got_status = w.get_status("w1").await.unwrap();
    assert_eq!(got_status.data["status"]["phase"], "Ready");

    // Main-resource writes ignore status.
    let mp = json!({"spec": {"size": 2}, "status": {"phase": "Hacked"}});
    let after_main = w
        .patch("w1", &PatchParams::default(), &Patch::Merge(&mp))
        .await
        .unwrap();
    assert_eq!(after_main.data["status"]["phase"], "Ready");
    assert_eq!(after_main.data["spec"]["size"], 2);
    assert_eq!(after_main.metadata.generation, Some(2));

    // replace_status with the full object.
    let mut full = after_main.clone();
    full.data["status"] = json!({"phase": "Done"});
    full.data["spec"] = json!({"size": 1000});
    let replaced = w.replace_status("w1", &PostParams::default(), &full).await.unwrap();
    assert_eq!(replaced.data["status"]["phase"], "Done");
    assert_eq!(replaced.data["spec"]["size"], 2);

    // SSA on status records a status-subresource manager.
    let ap = json!({"apiVersion": "example.dev/v1", "kind": "Widget", "metadata": {"name": "w1"}, "status": {"phase": "Applied"}});
    let applied = w
        .patch_status("w1", &PatchParams::apply("ctrl").force(), &Patch::Apply(&ap))
        .await
        .unwrap();
    assert_eq!(applied.data["status"]["phase"], "Applied");
    let mf = applied.metadata.managed_fields.unwrap();
    assert!(
        mf.iter()
            .any(|m| m.manager.as_deref() == Some("ctrl") && m.subresource.as_deref() == Some("status"))
    );

    // Built-ins: a Pod's status is reset on create and flipped through /status.
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Succeeded"}})).unwrap();
    let pod = pods.create(&PostParams::default(), &pod).await.unwrap();
    assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Pending"));
    let pod = pods
        .patch_status(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running"}})),
        )
        .await
        .unwrap();
    assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Running"));

    // A status subresource on a kind without one is a 404.
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.create(&PostParams::default(), &cm("c", &[])).await.unwrap();
    assert_eq!(api_code(cms.get_status("c").await.unwrap_err()), 404);

    // Deleting the CRD stops serving it.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.delete("widgets.example.dev", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_code(w.get("w1").await.unwrap_err()), 404);
    assert!(tk.objects("example.dev", "widgets").is_empty());
}

#[tokio::test]
async fn finalizers_delay_deletion() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    let mut c = cm("f", &[]);
    c.metadata.finalizers = Some(vec!["example.dev/cleanup".into()]);
    cms.create(&PostParams::default(), &c).await.unwrap();
    cms.delete("f", &DeleteParams::default()).await.unwrap();
    let deleting = cms.get("f").await.unwrap();
    assert!(deleting.metadata.deletion_timestamp.is_some());
    let p = json!({"metadata": {"finalizers": null}});
    cms.patch("f", &PatchParams::default(), &Patch::Merge(&p))
        .await
        .unwrap();
    assert!(cms.get_opt("f").await.unwrap().is_none());
}

#[tokio::test]
async fn discovery_finds_builtins_and_crds() {
    let tk = Testkit::start().await;
    let client = tk.client();
    widgets(&client).await;
    let discovery = kube::discovery::Discovery::new(client.clone()).run().await.unwrap();
    let groups: Vec<String> = discovery.groups().map(|g| g.name().to_string()).collect();
    assert!(groups.contains(&"".to_string()) && groups.contains(&"apps".to_string()));
    assert!(groups.contains(&"example.dev".to_string()));
    let gvk = GroupVersionKind::gvk("example.dev", "v1", "Widget");
    let (ar, caps) = discovery.resolve_gvk(&gvk).unwrap();
    assert_eq!(ar.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(
        caps.subresources
            .iter()
            .any(|(s, _)| s.plural == "widgets/status" || s.plural == "status")
    );
    let (cm_ar, _) = kube::discovery::pinned_kind(&client, &GroupVersionKind::gvk("", "v1", "ConfigMap"))
        .await
        .unwrap();
    assert_eq!(cm_ar.plural, "configmaps");
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");
}

#[tokio::test]
async fn injected_faults_then_success() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    tk.faults()
        .inject(Fault::status(500).verb(Verb::Create).resource("configmaps"));
    assert_eq!(
        api_code(cms.create(&PostParams::default(), &cm("a", &[])).await.unwrap_err()),
        500
    );
    cms.create(&PostParams::default(), &cm("a", &[])).await.unwrap();
    assert_eq!(tk.faults().pending(), 0);

    // kube's default client retries 429s, honouring Retry-After.
    tk.clear_audit();
    tk.faults().inject(Fault::too_many_requests(1).verb(Verb::Get).times(2));
    let start = Instant::now();
    cms.get("a").await.unwrap();
    let codes: Vec<u16> = tk.audit().iter().map(|r| r.code).collect();
    assert_eq!(codes, [429, 429, 200]);
    assert!(start.elapsed() >= Duration::from_secs(1));

    // Faults only hit the resource they name.
    tk.faults().inject(Fault::status(409).resource("pods"));
    cms.get("a").await.unwrap();
    assert_eq!(tk.faults().pending(), 1);
    tk.faults().clear();

    tk.faults()
        .inject(Fault::delay(Duration::from_millis(300)).verb(Verb::List));
    let start = Instant::now();
    cms.list(&ListParams::default()).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn audit_records_requests() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(tk.client(), "ns1");
    cms.create(&PostParams::default(), &cm("a", &[])).await.unwrap();
    cms.get("a").await.unwrap();
    cms.list(&ListParams::default()).await.unwrap();
    cms.replace("a", &PostParams::default(), &cms.get("a").await.unwrap())
        .await
        .unwrap();
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(tk.client(), "ns1");
    let _ = pods.get_status("missing").await;
    let audit = tk.audit();
    let verbs: Vec<Verb> = audit.iter().map(|r| r.verb).collect();
    assert_eq!(
        verbs,
        [
            Verb::Create,
            Verb::Get,
            Verb::List,
            Verb::Get,
            Verb::Update,
            Verb::Delete,
            Verb::Get
        ]
    );
    assert!(
        audit[..6]
            .iter()
            .all(|r| r.resource == "configmaps" && r.group.is_empty() && r.namespace.as_deref() == Some("ns1"))
    );
    assert_eq!(audit[6].rbac_resource(), "pods/status");
    assert_eq!(audit[6].code, 404);
    tk.clear_audit();
    assert!(tk.audit().is_empty());
}

#[tokio::test]
async fn kubeconfig_client_works() {
    let tk = Testkit::start().await;
    let dir = std::env::temp_dir().join(format!("testkit-kubeconfig-{}", tk.addr().port()));
    tk.write_kubeconfig(&dir).unwrap();
    let kc = kube::config::Kubeconfig::read_from(&dir).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, "default");
    let client = Client::try_from(config).unwrap();
    let nss: Api<Namespace> = Api::all(client);
    nss.get("default").await.unwrap();
    std::fs::remove_file(&dir).unwrap();
}
