//! DynamoDB requests per API call. A counting proxy sits between a Roster local API server and
//! the local DynamoDB; each API call is made alone and the DynamoDB operations it caused are
//! counted by their `X-Amz-Target`. Run it with `bash infra/bench-requests.sh`.
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    counts: Arc<Mutex<BTreeMap<String, u32>>>,
}

async fn forward(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Bytes) {
    let op = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .rsplit('.')
        .next()
        .unwrap_or("?")
        .to_owned();
    if let Ok(mut c) = p.counts.lock() {
        *c.entry(op).or_default() += 1;
    }
    let mut req = p.http.request(method, format!("{}{}", p.upstream, uri.path_and_query().map_or("/", |x| x.as_str())));
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    match req.body(body).send().await {
        Ok(res) => {
            let status = res.status();
            let mut out = HeaderMap::new();
            for (k, v) in res.headers() {
                if k != "content-length" && k != "transfer-encoding" {
                    out.insert(k.clone(), v.clone());
                }
            }
            (status, out, res.bytes().await.unwrap_or_default())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::from(e.to_string())),
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| e.to_string())?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() { Ok(body) } else { Err(format!("{path} answered {status}: {body}")) }
    }
}

/// The `id` of what a creating call answered.
fn id_of(v: &Value) -> Result<String, String> {
    v["id"].as_str().map(str::to_owned).ok_or_else(|| format!("no id in {v}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let local = std::env::args().nth(1).ok_or("usage: roster-requests ROSTER_LOCAL_BINARY [IMPORT_ROWS]")?;
    let rows: usize = std::env::args().nth(2).map(|r| r.parse()).transpose()?.unwrap_or(10_000);
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").map_err(|_| "run via infra/bench-requests.sh")?;
    let proxy = Proxy { upstream, http: reqwest::Client::new(), counts: Arc::default() };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let proxy_url = format!("http://{}", listener.local_addr()?);
    // DynamoDB takes requests up to 16 MB (a batch of job input); axum would stop at 2 MB.
    let app =
        Router::new().fallback(forward).with_state(proxy.clone()).layer(axum::extract::DefaultBodyLimit::disable());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let port = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
    let mut server = tokio::process::Command::new(&local)
        .args(["--init", "--port", &port.to_string()])
        .env("AWS_ENDPOINT_URL_DYNAMODB", &proxy_url)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()?;
    let api = Api { base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
    for _ in 0..100 {
        if api.call(reqwest::Method::GET, "/openapi.json", None, None).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let slug = format!("req{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let (email, password) = (format!("owner@{slug}.test"), "request count benchmark");
    let signup = json!({ "web_address": slug, "company_name": "Bench", "first_name": "O", "last_name": "Wner", "email": email, "password": password });
    let login = json!({ "web_address": slug, "email": email, "password": password });
    api.call(reqwest::Method::POST, "/v1/accounts", None, Some(signup)).await?;
    let token = api.call(reqwest::Method::POST, "/v1/auth/login", None, Some(login.clone())).await?["access_token"]
        .as_str()
        .ok_or("no token")?
        .to_owned();
    let agent = api
        .call(
            reqwest::Method::POST,
            "/v1/invitations",
            Some(&token),
            Some(json!({ "email": format!("a@{slug}.test"), "first_name": "A", "last_name": "Gent", "role": "agent" })),
        )
        .await?["member"]["id"]
        .as_str()
        .ok_or("no member")?
        .to_owned();

    let role = api
        .call(
            reqwest::Method::POST,
            "/v1/roles",
            Some(&token),
            Some(json!({ "name": "Bench", "permissions": ["members_read"], "agent_like": true })),
        )
        .await?["id"]
        .as_str()
        .ok_or("no role")?
        .to_owned();

    // A group whose only member is the (active) owner, for the assignment rows.
    let me = api.call(reqwest::Method::GET, "/v1/me", Some(&token), None).await?["member"]["id"]
        .as_str()
        .ok_or("no me")?
        .to_owned();
    let group = api
        .call(reqwest::Method::POST, "/v1/groups", Some(&token), Some(json!({ "name": "Bench", "auto_assign": true })))
        .await?["id"]
        .as_str()
        .ok_or("no group")?
        .to_owned();
    api.call(reqwest::Method::POST, &format!("/v1/groups/{group}/members"), Some(&token), Some(json!({ "add": [me] })))
        .await?;

    // Customer organizations (issue 12): a parent with a child that owns the bench's domain,
    // usergroups given at every level, a person linked by the domain, and 50 members.
    api.call(
        reqwest::Method::PATCH,
        "/v1/account/preferences",
        Some(&token),
        Some(json!({ "usergroups_from_parent_organizations": true, "managers_see_child_organizations": true })),
    )
    .await?;
    let post = |path: &'static str, body: Value| api.call(reqwest::Method::POST, path, Some(&token), Some(body));
    let parent = id_of(&post("/v1/organizations", json!({ "name": "Bench Holding" })).await?)?;
    let org = id_of(&post("/v1/organizations", json!({ "name": "Bench Ltd", "parent_id": parent })).await?)?;
    let domain = format!("{slug}-customers.test");
    api.call(reqwest::Method::PUT, &format!("/v1/organizations/{org}/domains/{domain}"), Some(&token), None).await?;
    let person =
        id_of(&post("/v1/users", json!({ "name": "Pat Person", "emails": [format!("pat@{domain}")] })).await?)?;
    for (i, holder) in [format!("organizations/{parent}"), format!("organizations/{org}"), format!("users/{person}")]
        .iter()
        .enumerate()
    {
        let g = id_of(
            &post("/v1/usergroups", json!({ "name": format!("Portal {i}"), "permissions": ["kb.read"] })).await?,
        )?;
        api.call(reqwest::Method::PUT, &format!("/v1/{holder}/usergroups/{g}"), Some(&token), None).await?;
    }
    for i in 0..50 {
        post("/v1/users", json!({ "name": format!("Member {i}"), "emails": [format!("m{i}@{domain}")] })).await?;
    }
    let manager = id_of(
        &post("/v1/users", json!({ "name": "Mo Manager", "emails": [format!("mo@{slug}-elsewhere.test")] })).await?,
    )?;
    api.call(
        reqwest::Method::PUT,
        &format!("/v1/organizations/{parent}/members/{manager}"),
        Some(&token),
        Some(json!({ "role": "manager" })),
    )
    .await?;

    let calls: Vec<(&str, reqwest::Method, String, Option<Value>, bool)> = vec![
        (
            "POST /v1/users (linked by domain)",
            reqwest::Method::POST,
            "/v1/users".into(),
            Some(json!({ "name": "New Person", "emails": [format!("new@{domain}")] })),
            true,
        ),
        ("GET /v1/users/{id}", reqwest::Method::GET, format!("/v1/users/{person}"), None, true),
        ("GET /v1/users/{id}/usergroups", reqwest::Method::GET, format!("/v1/users/{person}/usergroups"), None, true),
        (
            "GET …/can-view-tickets-of/{other}",
            reqwest::Method::GET,
            format!("/v1/users/{manager}/can-view-tickets-of/{person}"),
            None,
            true,
        ),
        (
            "GET /v1/organizations/{id}/members",
            reqwest::Method::GET,
            format!("/v1/organizations/{org}/members?limit=50"),
            None,
            true,
        ),
        ("GET /v1/users?q=mem", reqwest::Method::GET, "/v1/users?q=mem&limit=50".into(), None, true),
        (
            "POST /v1/groups/{id}/assignments",
            reqwest::Method::POST,
            format!("/v1/groups/{group}/assignments"),
            Some(json!({ "ref": "bench-1" })),
            true,
        ),
        (
            "same again (same ref)",
            reqwest::Method::POST,
            format!("/v1/groups/{group}/assignments"),
            Some(json!({ "ref": "bench-1" })),
            true,
        ),
        ("GET /v1/me", reqwest::Method::GET, "/v1/me".into(), None, true),
        ("GET /v1/members?limit=50", reqwest::Method::GET, "/v1/members?limit=50".into(), None, true),
        ("GET /v1/members?q=gent", reqwest::Method::GET, "/v1/members?q=gent".into(), None, true),
        ("GET /v1/members/{id}", reqwest::Method::GET, format!("/v1/members/{agent}"), None, true),
        ("GET /v1/members/stats", reqwest::Method::GET, "/v1/members/stats".into(), None, true),
        (
            "POST /v1/invitations",
            reqwest::Method::POST,
            "/v1/invitations".into(),
            Some(json!({ "email": format!("b@{slug}.test"), "first_name": "B", "last_name": "B", "role": "viewer" })),
            true,
        ),
        (
            "PATCH /v1/members/{id} (role)",
            reqwest::Method::PATCH,
            format!("/v1/members/{agent}"),
            Some(json!({ "role": "pro_agent" })),
            true,
        ),
        (
            "PUT /v1/members/{id}/agent-ids/{x}",
            reqwest::Method::PUT,
            format!("/v1/members/{agent}/agent-ids/voice-1"),
            None,
            true,
        ),
        ("GET /v1/invitations", reqwest::Method::GET, "/v1/invitations".into(), None, true),
        ("GET /v1/roles", reqwest::Method::GET, "/v1/roles".into(), None, true),
        (
            "POST /v1/roles",
            reqwest::Method::POST,
            "/v1/roles".into(),
            Some(json!({ "name": "Bench 2", "permissions": ["members_read"] })),
            true,
        ),
        (
            "PATCH /v1/roles/{id}",
            reqwest::Method::PATCH,
            format!("/v1/roles/{role}"),
            Some(json!({ "description": "edited" })),
            true,
        ),
        (
            "PATCH /v1/members/{id} (custom role)",
            reqwest::Method::PATCH,
            format!("/v1/members/{agent}"),
            Some(json!({ "role": role })),
            true,
        ),
        (
            "DELETE /v1/invitations/{id} (cancel)",
            reqwest::Method::DELETE,
            format!("/v1/invitations/{agent}"),
            None,
            true,
        ),
        ("GET /v1/account/design", reqwest::Method::GET, "/v1/account/design".into(), None, true),
        (
            "PATCH /v1/account/preferences",
            reqwest::Method::PATCH,
            "/v1/account/preferences".into(),
            Some(json!({ "language": "ko" })),
            true,
        ),
        ("GET /v1/audit/verify", reqwest::Method::GET, "/v1/audit/verify".into(), None, true),
        (
            "POST /v1/account/find-web-address",
            reqwest::Method::POST,
            "/v1/account/find-web-address".into(),
            Some(json!({ "email": format!("b@{slug}.test") })),
            false,
        ),
        ("POST /v1/auth/login", reqwest::Method::POST, "/v1/auth/login".into(), Some(login), false),
    ];
    println!("{:36} {:>6} {:>6}  operations", "API call", "reads", "writes");
    for (name, method, path, body, authed) in calls {
        proxy.counts.lock().map_err(|_| "lock")?.clear();
        api.call(method, &path, authed.then_some(token.as_str()), body).await?;
        let counts = proxy.counts.lock().map_err(|_| "lock")?.clone();
        let is_read = |op: &str| matches!(op, "GetItem" | "BatchGetItem" | "Query");
        let reads: u32 = counts.iter().filter(|(op, _)| is_read(op)).map(|(_, n)| n).sum();
        let writes: u32 = counts.iter().filter(|(op, _)| !is_read(op)).map(|(_, n)| n).sum();
        let ops: Vec<String> = counts.iter().map(|(op, n)| format!("{op}×{n}")).collect();
        println!("{name:36} {reads:>6} {writes:>6}  {}", ops.join(", "));
    }

    // Throughput: 600 assignments, 16 at a time, through the local API.
    let api = std::sync::Arc::new(api);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (api, next, token, path) =
            (api.clone(), next.clone(), token.clone(), format!("/v1/groups/{group}/assignments"));
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= 600 {
                    return Ok::<(), String>(());
                }
                api.call(reqwest::Method::POST, &path, Some(&token), Some(json!({ "ref": format!("t{i}") }))).await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("600 assignments at concurrency 16: {secs:.1} s, {:.0} assignments/s", 600.0 / secs);

    import(&api, &token, &slug, &domain, &proxy, &proxy_url, rows).await?;
    println!("reproduce with: bash infra/bench-requests.sh [IMPORT_ROWS]");
    let _ = server.kill().await;
    Ok(())
}

/// A user import of `rows` rows (half at the domain, so linked to its organization; one in
/// ten naming an organization by name), its job run to the end here, through the counting
/// proxy, as the scheduled runner would run it.
async fn import(
    api: &Api,
    token: &str,
    slug: &str,
    domain: &str,
    proxy: &Proxy,
    proxy_url: &str,
    rows: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut csv = String::from("name,email,organization\n");
    for i in 0..rows {
        let (at, org) = if i % 2 == 0 { (domain.to_owned(), "") } else { (format!("{slug}-other.test"), "") };
        let org = if i % 10 == 1 { "Bench Holding" } else { org };
        csv.push_str(&format!("Imported {i},i{i}@{at},{org}\n"));
    }
    let job: Value = api
        .http
        .post(format!("{}/v1/users/import", api.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?
        .json()
        .await?;
    let id = roster::domain::ids::JobId::parse(&id_of(&job)?).ok_or("job id")?;
    let account = api.call(reqwest::Method::GET, "/v1/me", Some(token), None).await?["account"]["id"]
        .as_str()
        .and_then(roster::domain::ids::AccountId::parse)
        .ok_or("account id")?;
    let mut services = roster::service::Services::from_env().await?;
    let sdk = roster::config::aws_config().await;
    let via_proxy = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk).endpoint_url(proxy_url).build(),
    );
    services.store = roster::store::Store::new(via_proxy, services.config.table.clone());
    proxy.counts.lock().map_err(|_| "lock")?.clear();
    let started = std::time::Instant::now();
    let done = loop {
        let j = services.store.get_job(Some(account), id).await?.ok_or("the job is gone")?;
        if j.status.is_final() {
            break j;
        }
        roster::jobs::run_one(&services, &j).await?;
    };
    let secs = started.elapsed().as_secs_f64();
    let counts = proxy.counts.lock().map_err(|_| "lock")?.clone();
    let total: u32 = counts.values().sum();
    let ops: Vec<String> = counts.iter().map(|(op, n)| format!("{op}×{n}")).collect();
    println!(
        "import of {rows} users: {:?}, {:?} in {secs:.1} s ({:.0} users/s)",
        done.status,
        done.progress,
        rows as f64 / secs
    );
    println!(
        "  DynamoDB requests: {total} ({:.2} per user): {}",
        f64::from(total) / rows.max(1) as f64,
        ops.join(", ")
    );
    Ok(())
}
