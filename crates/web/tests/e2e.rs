//! Browser end to end: Debian's `chromium` + `chromium-driver`, driven by fantoccini, against
//! the real app on a loopback port. Runs only with `FAMILIAR_E2E=1` (CI installs the browser);
//! screenshots go to `$FAMILIAR_E2E_SCREENSHOTS` (default: a folder under Cargo's target tmp).
//!
//! Flow: open the public dashboard; open a neighbor (redirected to log in with TOTP); approve a
//! review pair; see the decision in the audit log; log out.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use familiar_store::{AccessStore, Store};
use fantoccini::{ClientBuilder, Locator};

/// chromedriver in its own process group, so the browser it starts goes with it even when the
/// test fails before closing the session.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.exists())
}

#[tokio::test]
async fn browser_flow() {
    if std::env::var("FAMILIAR_E2E").as_deref() != Ok("1") {
        eprintln!("skipped: set FAMILIAR_E2E=1 (needs chromium and chromium-driver)");
        return;
    }
    let chromedriver =
        which("chromedriver").expect("chromedriver on PATH (apt-get install chromium-driver)");
    let chromium = ["chromium", "chromium-browser"]
        .iter()
        .find_map(|n| which(n))
        .expect("chromium on PATH (apt-get install chromium)");
    let shots = std::env::var_os("FAMILIAR_E2E_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots"));
    std::fs::create_dir_all(&shots).unwrap();

    // The app on a loopback port.
    let f = fixture().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = f.app.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let base = format!("http://{addr}");

    // chromedriver on another.
    let port = free_port();
    let _driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1600",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("connect to chromedriver");
    let shot = |name: &'static str| {
        let c = c.clone();
        let path = shots.join(name);
        async move {
            let png = c.screenshot().await.unwrap();
            std::fs::write(&path, png).unwrap();
        }
    };

    // 1. The public dashboard, with its stylesheet and script allowed by the CSP.
    c.goto(&format!("{base}/")).await.unwrap();
    let h1 = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(h1.contains("familiar neighbors"), "{h1}");
    let js_ran = c
        .execute(
            "return document.documentElement.classList.contains('js')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(js_ran, serde_json::json!(true), "app.js ran under the CSP");
    let band = c
        .execute(
            "return getComputedStyle(document.querySelector('header.site')).backgroundColor",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        band,
        serde_json::json!("rgb(29, 53, 87)"),
        "app.css applied"
    );
    c.find(Locator::Css("figure.chart svg")).await.unwrap();
    shot("01-dashboard.png").await;

    // 2. A neighbor's page needs a login: password + TOTP.
    c.goto(&format!("{base}/people/P1")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("admin")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    let code = f.code("admin");
    c.find(Locator::Id("totp"))
        .await
        .unwrap()
        .send_keys(&code)
        .await
        .unwrap();
    shot("02-login.png").await;
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("svg.timeline"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/people/P1");
    let title = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        title.contains("<script>"),
        "the name is shown as text: {title}"
    );
    shot("03-person.png").await;

    // 3. The ranked list.
    c.goto(&format!("{base}/neighbors")).await.unwrap();
    let rows = c
        .find_all(Locator::Css("table#neighbors tbody tr"))
        .await
        .unwrap();
    assert!(!rows.is_empty());
    shot("04-neighbors.png").await;

    // 4. Approve a review pair.
    c.goto(&format!("{base}/review")).await.unwrap();
    c.find(Locator::Css("form.decide input[name=reason]"))
        .await
        .unwrap()
        .send_keys("same name and date of birth")
        .await
        .unwrap();
    shot("05-review.png").await;
    c.find(Locator::Css("form.decide button.approve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().query(), Some("done=1"));
    let decisions = f.store.decisions().await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].kind, "match");
    assert_eq!(decisions[0].actor, "admin");

    // 5. The decision is in the audit log.
    c.goto(&format!("{base}/audit")).await.unwrap();
    let log = c
        .find(Locator::Css("table#audit"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains("review.decide"), "{log}");
    assert!(log.contains("person.view"));
    let chain = c
        .find(Locator::Id("chain"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(chain.contains("intact"), "{chain}");
    shot("06-audit.png").await;

    // 6. Log out.
    c.find(Locator::Css("header form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("header.site .who a[href='/login']"))
        .await
        .unwrap();
    c.goto(&format!("{base}/neighbors")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    shot("07-logged-out.png").await;
    c.close().await.unwrap();

    let actions: Vec<String> = f
        .store
        .audit_entries(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "admin")
        .map(|e| e.action)
        .collect();
    for a in [
        "login",
        "person.view",
        "review.decide",
        "audit.view",
        "logout",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
    eprintln!("screenshots in {}", shots.display());
}
