//! Watches: kube-runtime's watcher, bookmarks, dropped streams, selectors and timeouts.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde_json::json;
use testkit::{Options, Testkit, Verb};
use tokio::time::timeout;

fn cm(name: &str, app: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": app}}, "data": {"k": "v"}})).unwrap()
}

const WAIT: Duration = Duration::from_secs(10);

/// The next watcher event that is not Init/InitDone, as ("apply"|"delete", name, data.k).
async fn next_change<S>(stream: &mut S) -> (String, String, String)
where
    S: futures::Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
{
    loop {
        let ev = timeout(WAIT, stream.try_next())
            .await
            .expect("watch event in time")
            .unwrap()
            .unwrap();
        let (kind, obj) = match ev {
            watcher::Event::Apply(o) | watcher::Event::InitApply(o) => ("apply", o),
            watcher::Event::Delete(o) => ("delete", o),
            watcher::Event::Init | watcher::Event::InitDone => continue,
        };
        let k = obj.data.as_ref().and_then(|d| d.get("k").cloned()).unwrap_or_default();
        return (kind.to_string(), obj.name_any(), k);
    }
}

fn t(kind: &str, name: &str, k: &str) -> (String, String, String) {
    (kind.to_string(), name.to_string(), k.to_string())
}

#[tokio::test]
async fn watcher_sees_add_modify_delete() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    cms.create(&PostParams::default(), &cm("pre", "web")).await.unwrap();

    let mut stream = watcher(cms.clone(), watcher::Config::default()).boxed();
    assert_eq!(next_change(&mut stream).await, t("apply", "pre", "v"));

    cms.create(&PostParams::default(), &cm("a", "web")).await.unwrap();
    assert_eq!(next_change(&mut stream).await, t("apply", "a", "v"));
    let p = json!({"data": {"k": "w"}});
    cms.patch("a", &PatchParams::default(), &Patch::Merge(&p))
        .await
        .unwrap();
    assert_eq!(next_change(&mut stream).await, t("apply", "a", "w"));
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(next_change(&mut stream).await, t("delete", "a", "w"));

    let verbs: Vec<Verb> = tk.audit().iter().map(|r| r.verb).collect();
    assert!(verbs.contains(&Verb::List) && verbs.contains(&Verb::Watch));
}

#[tokio::test]
async fn streaming_list_watcher() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    cms.create(&PostParams::default(), &cm("pre", "web")).await.unwrap();
    let mut stream = watcher(cms.clone(), watcher::Config::default().streaming_lists()).boxed();
    assert_eq!(next_change(&mut stream).await, t("apply", "pre", "v"));
    cms.create(&PostParams::default(), &cm("a", "web")).await.unwrap();
    assert_eq!(next_change(&mut stream).await, t("apply", "a", "v"));
}

#[tokio::test]
async fn bookmark_arrives() {
    let tk = Testkit::start_with(Options {
        bookmark_interval: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    let created = cms.create(&PostParams::default(), &cm("a", "web")).await.unwrap();
    let rv = created.resource_version().unwrap();
    let mut stream = cms.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    match timeout(WAIT, stream.try_next()).await.unwrap().unwrap().unwrap() {
        WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, rv),
        other => panic!("expected a bookmark, got {other:?}"),
    }
    // Bookmarks also come with the default 1s interval.
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    let mut stream = cms.watch(&WatchParams::default(), "0").await.unwrap().boxed();
    assert!(matches!(
        timeout(Duration::from_secs(3), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap(),
        WatchEvent::Bookmark(_)
    ));
}

#[tokio::test]
async fn raw_watch_semantics() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    let a = cms.create(&PostParams::default(), &cm("a", "web")).await.unwrap();
    cms.create(&PostParams::default(), &cm("b", "db")).await.unwrap();

    // From "0": synthetic ADDED for what exists, filtered by the selector.
    let wp = WatchParams::default().labels("app=web").disable_bookmarks();
    let mut s = cms.watch(&wp, "0").await.unwrap().boxed();
    match timeout(WAIT, s.try_next()).await.unwrap().unwrap().unwrap() {
        WatchEvent::Added(o) => assert_eq!(o.name_any(), "a"),
        other => panic!("{other:?}"),
    }
    // Relabelling out of the selector reads as DELETED, into it as ADDED.
    let relabel = |app: &str| json!({"metadata": {"labels": {"app": app}}});
    cms.patch("b", &PatchParams::default(), &Patch::Merge(&relabel("web")))
        .await
        .unwrap();
    assert!(
        matches!(timeout(WAIT, s.try_next()).await.unwrap().unwrap().unwrap(), WatchEvent::Added(o) if o.name_any() == "b")
    );
    cms.patch("a", &PatchParams::default(), &Patch::Merge(&relabel("db")))
        .await
        .unwrap();
    assert!(
        matches!(timeout(WAIT, s.try_next()).await.unwrap().unwrap().unwrap(), WatchEvent::Deleted(o) if o.name_any() == "a")
    );

    // From a resourceVersion: only later events.
    let rv = a.resource_version().unwrap();
    let mut s = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .unwrap()
        .boxed();
    match timeout(WAIT, s.try_next()).await.unwrap().unwrap().unwrap() {
        WatchEvent::Added(o) => assert_eq!(o.name_any(), "b"),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(timeout(WAIT, s.try_next()).await.unwrap().unwrap().unwrap(), WatchEvent::Modified(o) if o.name_any() == "b")
    );

    // timeoutSeconds ends the stream.
    let mut s = cms
        .watch(&WatchParams::default().timeout(1).disable_bookmarks(), "0")
        .await
        .unwrap()
        .boxed();
    let mut n = 0;
    while let Some(ev) = timeout(WAIT, s.try_next()).await.expect("stream ends").unwrap() {
        assert!(matches!(ev, WatchEvent::Added(_)));
        n += 1;
    }
    assert_eq!(n, 2);

    // Watching a single object by name.
    let mut s = cms
        .watch(
            &WatchParams::default().fields("metadata.name=b").disable_bookmarks(),
            "0",
        )
        .await
        .unwrap()
        .boxed();
    assert!(
        matches!(timeout(WAIT, s.try_next()).await.unwrap().unwrap().unwrap(), WatchEvent::Added(o) if o.name_any() == "b")
    );
}

#[tokio::test]
async fn dropped_watch_recovers() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    let mut stream = watcher(cms.clone(), watcher::Config::default()).boxed();
    cms.create(&PostParams::default(), &cm("a", "web")).await.unwrap();
    assert_eq!(next_change(&mut stream).await, t("apply", "a", "v"));

    let watches = || tk.audit().iter().filter(|r| r.verb == Verb::Watch).count();
    let before = watches();
    tk.faults().drop_watches();
    cms.create(&PostParams::default(), &cm("b", "web")).await.unwrap();
    assert_eq!(next_change(&mut stream).await, t("apply", "b", "v"));
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(next_change(&mut stream).await, t("delete", "a", "v"));
    assert!(watches() > before, "the watcher re-watched");
}

#[tokio::test]
async fn too_old_resource_version_is_gone() {
    let tk = Testkit::start_with(Options {
        history_cap: 5,
        ..Options::default()
    })
    .await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    let first = cms.create(&PostParams::default(), &cm("first", "web")).await.unwrap();
    let mut stream = watcher(cms.clone(), watcher::Config::default()).boxed();
    assert_eq!(next_change(&mut stream).await, t("apply", "first", "v"));
    for i in 0..10 {
        cms.create(&PostParams::default(), &cm(&format!("c{i}"), "web"))
            .await
            .unwrap();
    }
    let rv = first.resource_version().unwrap();
    let mut s = cms.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    match timeout(WAIT, s.try_next()).await.unwrap().unwrap().unwrap() {
        WatchEvent::Error(e) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }
    // The running watcher kept up; after its stream is dropped it resumes (or re-lists).
    tk.faults().drop_watches();
    for i in 0..10 {
        cms.create(&PostParams::default(), &cm(&format!("d{i}"), "web"))
            .await
            .unwrap();
    }
    cms.create(&PostParams::default(), &cm("last", "web")).await.unwrap();
    let mut seen = Vec::new();
    let mut errors = Vec::new();
    while !seen.contains(&"last".to_string()) {
        match timeout(WAIT, stream.next()).await.expect("event in time") {
            Some(Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))) => seen.push(o.name_any()),
            Some(Err(e)) => errors.push(e.to_string()),
            Some(_) => {}
            None => panic!("watcher ended"),
        }
    }
    eprintln!("errors seen by the watcher: {errors:?}");
}

#[tokio::test]
async fn drop_shuts_down_and_ends_watches() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    let mut s = cms
        .watch(&WatchParams::default().disable_bookmarks(), "0")
        .await
        .unwrap()
        .boxed();
    let addr = tk.addr();
    drop(tk);
    let end = timeout(WAIT, async { while let Some(Ok(_)) = s.next().await {} }).await;
    assert!(end.is_ok(), "the watch stream ended");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn metadata_watcher_and_partial_objects() {
    let tk = Testkit::start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(tk.client());
    cms.create(&PostParams::default(), &cm("a", "web")).await.unwrap();
    let meta = cms.get_metadata("a").await.unwrap();
    assert_eq!(meta.types.as_ref().unwrap().kind, "PartialObjectMetadata");
    assert_eq!(meta.metadata.labels.unwrap()["app"], "web");
    let list = cms.list_metadata(&kube::api::ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);

    let metas: Api<kube::core::PartialObjectMeta<ConfigMap>> = Api::default_namespaced(tk.client());
    let mut stream = watcher(metas, watcher::Config::default()).boxed();
    cms.create(&PostParams::default(), &cm("b", "web")).await.unwrap();
    let mut names = Vec::new();
    while names.len() < 2 {
        match timeout(WAIT, stream.try_next()).await.unwrap().unwrap().unwrap() {
            watcher::Event::Apply(o) | watcher::Event::InitApply(o) => names.push(o.name_any()),
            _ => {}
        }
    }
    names.sort();
    assert_eq!(names, ["a", "b"]);
}
