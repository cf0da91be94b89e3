//! A running server over a test database, and browser-like HTTP clients with their
//! own cookie jars.

use std::net::SocketAddr;

use reqwest::StatusCode;

use app::db::Db;
use server::config::{self, Config};
use server::AppState;

/// Starts the app on a free port; `tweak` adjusts the default configuration.
pub async fn start(db: &Db, tweak: impl FnOnce(&mut Config)) -> SocketAddr {
    let mut config =
        config::load(std::path::Path::new("/nonexistent"), &|_| None).expect("defaults");
    config.site_addr = "127.0.0.1:0".parse().expect("addr");
    config.rate_limit_per_minute = 100_000;
    config.storage_path =
        std::env::temp_dir().join(format!("medisync-test-{}", uuid::Uuid::now_v7()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Links in emails carry the port people reach the server on.
    config.public_port = addr.port();
    tweak(&mut config);
    let state = AppState::new(db.clone(), config).expect("state");
    tokio::spawn(server::serve_on(listener, state, std::future::pending()));
    addr
}

/// One browser: a cookie jar, no automatic redirects. A clone shares the jar.
#[derive(Clone)]
pub struct Browser {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::String(self.body.clone()))
    }

    /// `name=value` of the session cookie this reply set (for replaying it from
    /// another client or instance).
    pub fn session_cookie(&self) -> String {
        self.headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("the reply sets a session cookie")
            .to_owned()
    }

    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        // A response that never ends fails its test within two minutes, naming
        // the request, instead of holding the whole run.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .expect("client");
        Self { addr, client }
    }

    async fn reply(res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.expect("body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET `path` as if addressed to `host` (the server's port is added).
    pub async fn get(&self, host: &str, path: &str) -> Reply {
        let res = self
            .client
            .get(format!("http://{}{path}", self.addr))
            .header("host", format!("{host}:{}", self.addr.port()))
            .send()
            .await
            .expect("request");
        Self::reply(res).await
    }

    /// POSTs a form to a server function, as the browser's hydrated page would.
    pub async fn call(&self, host: &str, path: &str, form: &[(&str, &str)]) -> Reply {
        let res = self
            .client
            .post(format!("http://{}{path}", self.addr))
            .header("host", format!("{host}:{}", self.addr.port()))
            .header("origin", format!("http://{host}:{}", self.addr.port()))
            .form(form)
            .send()
            .await
            .expect("request");
        Self::reply(res).await
    }

    /// Calls the server function `name` of the clinic `slug` (reached by path).
    pub async fn api(&self, slug: &str, name: &str, form: &[(&str, &str)]) -> Reply {
        self.call("localhost", &format!("/t/{slug}/api/{name}"), form)
            .await
    }

    /// [`Browser::api`] that must succeed; answers its JSON.
    pub async fn api_ok(&self, slug: &str, name: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let r = self.api(slug, name, form).await;
        assert_eq!(r.status, reqwest::StatusCode::OK, "{name}: {}", r.body);
        r.json()
    }

    /// POSTs a form as a browser does before the page's code runs (or without
    /// JavaScript): accepting HTML, from the page at `referer`.
    pub async fn post_plainly(
        &self,
        host: &str,
        path: &str,
        referer: &str,
        form: &[(&str, &str)],
    ) -> Reply {
        let origin = format!("http://{host}:{}", self.addr.port());
        let res = self
            .client
            .post(format!("http://{}{path}", self.addr))
            .header("host", format!("{host}:{}", self.addr.port()))
            .header("origin", &origin)
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .header("referer", format!("{origin}{referer}"))
            .form(form)
            .send()
            .await
            .expect("request");
        Self::reply(res).await
    }

    /// Signs in as the owner of the fixture clinic at `{slug}.localhost`; returns
    /// the session cookie (`name=value`).
    pub async fn sign_in_owner(&self, slug: &str) -> String {
        let email = super::fixtures::staff_email(app::identity::Role::Owner, slug);
        let host = format!("{slug}.localhost");
        let reply = self
            .sign_in(&host, "", &email, super::fixtures::PASSWORD, "staff")
            .await;
        assert!(
            reply.status.is_success(),
            "sign-in at {slug}: {}",
            reply.body
        );
        reply.session_cookie()
    }

    /// Signs in through the public server function; returns its reply.
    pub async fn sign_in(
        &self,
        host: &str,
        base: &str,
        email: &str,
        password: &str,
        audience: &str,
    ) -> Reply {
        self.call(
            host,
            &format!("{base}/api/sign_in"),
            &[
                ("email", email),
                ("password", password),
                ("audience", audience),
                ("next", ""),
            ],
        )
        .await
    }
}

/// GET `path` at `addr` as addressed to `host`, carrying only `cookie` (a client
/// with no cookie jar: another device, another instance).
pub async fn get_with_cookie(addr: SocketAddr, host: &str, path: &str, cookie: &str) -> StatusCode {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("http://{addr}{path}"))
        .header("host", format!("{host}:{}", addr.port()))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request")
        .status()
}
