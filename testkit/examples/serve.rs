//! Runs the fake API server until Ctrl-C, for poking at it with kubectl:
//! `cargo run -p testkit --example serve -- /tmp/kubeconfig` then `KUBECONFIG=/tmp/kubeconfig kubectl get ns`.

#[tokio::main]
async fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "testkit.kubeconfig".to_string());
    let tk = testkit::Testkit::start().await;
    tk.write_kubeconfig(&path).expect("write kubeconfig");
    println!("serving {} (kubeconfig: {path})", tk.base_url());
    tokio::signal::ctrl_c().await.expect("ctrl-c");
}
