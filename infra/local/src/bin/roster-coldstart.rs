//! Cold-start benchmark. A stand-in for the Lambda Runtime API on 127.0.0.1 starts a function
//! binary as a fresh process, hands it one invocation and measures process start → init done
//! (first `next` call) → response. It compares Roster's `bootstrap` (route `me-get`: verify a
//! JWT, one DynamoDB batch read) against an empty `lambda_runtime` function in the same run.
//!
//! Run it with `bash infra/bench-coldstart.sh` (builds release binaries, starts the local stack).
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Debug)]
enum Signal {
    Ready(Instant),
    Response(Instant, Value),
    Failed(String),
}

struct Runtime {
    /// Events still to hand out, in order.
    events: Mutex<Vec<Value>>,
    signals: mpsc::UnboundedSender<Signal>,
}

type Shared = Arc<Runtime>;

async fn next(State(rt): State<Shared>) -> Result<(HeaderMap, String), axum::http::StatusCode> {
    let _ = rt.signals.send(Signal::Ready(Instant::now()));
    let event = rt.events.lock().ok().and_then(|mut e| if e.is_empty() { None } else { Some(e.remove(0)) });
    let Some(event) = event else {
        // Two invocations per process: later polls wait until the process is stopped.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return Err(axum::http::StatusCode::GATEWAY_TIMEOUT);
    };
    let mut headers = HeaderMap::new();
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    headers.insert("lambda-runtime-aws-request-id", axum::http::HeaderValue::from_static("bench-request"));
    headers.insert("lambda-runtime-deadline-ms", axum::http::HeaderValue::from(deadline as u64));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        axum::http::HeaderValue::from_static("arn:aws:lambda:us-east-1:000000000000:function:bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        axum::http::HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
    );
    Ok((headers, event.to_string()))
}

async fn response(State(rt): State<Shared>, Path(_id): Path<String>, body: String) -> &'static str {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = rt.signals.send(Signal::Response(Instant::now(), value));
    "{}"
}

async fn error(State(rt): State<Shared>, body: String) -> &'static str {
    let _ = rt.signals.send(Signal::Failed(body));
    "{}"
}

struct Sample {
    /// Process start → first `next` call (the function's init).
    init_ms: f64,
    /// Process start → first response (the cold start a client sees).
    total_ms: f64,
    /// Second invocation, same process: `next` → response.
    warm_ms: f64,
}

async fn invoke_once(
    binary: &str,
    handler: &str,
    event: &Value,
    rt: &Shared,
    signals: &mut mpsc::UnboundedReceiver<Signal>,
    api: &str,
) -> Result<Sample, String> {
    while signals.try_recv().is_ok() {}
    if let Ok(mut e) = rt.events.lock() {
        *e = vec![event.clone(), event.clone()];
    }
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("_HANDLER", handler)
        .env("AWS_LAMBDA_FUNCTION_NAME", handler)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {binary}: {e}"))?;
    let (mut ready, mut responses) = (Vec::new(), Vec::new());
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        while responses.len() < 2 {
            match signals.recv().await {
                Some(Signal::Ready(at)) => ready.push(at),
                Some(Signal::Response(at, body)) => responses.push((at, body)),
                Some(Signal::Failed(e)) => return Err(format!("function reported an error: {e}")),
                None => return Err("runtime stand-in stopped".to_owned()),
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| format!("{binary} did not answer twice within 20 s"))?;
    let _ = child.kill().await;
    outcome?;
    for (_, body) in &responses {
        let status = body.get("statusCode").and_then(Value::as_i64).unwrap_or(0);
        if status != 200 {
            return Err(format!("{handler} answered {status}: {body}"));
        }
    }
    let ms = |from: Instant, to: Instant| to.duration_since(from).as_secs_f64() * 1000.0;
    match (ready.as_slice(), responses.as_slice()) {
        ([first_ready, second_ready, ..], [(first, _), (second, _)]) => Ok(Sample {
            init_ms: ms(started, *first_ready),
            total_ms: ms(started, *first),
            warm_ms: ms(*second_ready, *second),
        }),
        _ => Err("the function did not poll for its second invocation".to_owned()),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

/// Sign up a throwaway account through the local API and log in, for a real bearer token.
async fn bearer(api: &str) -> Result<String, Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();
    let slug = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let email = format!("owner@{slug}.test");
    let password = "cold start benchmark";
    http.post(format!("{api}/v1/accounts"))
        .json(&json!({ "web_address": slug, "company_name": "Bench", "first_name": "B", "last_name": "B", "email": email, "password": password }))
        .send()
        .await?
        .error_for_status()?;
    let tokens: Value = http
        .post(format!("{api}/v1/auth/login"))
        .json(&json!({ "web_address": slug, "email": email, "password": password }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(tokens["access_token"].as_str().ok_or("no access token")?.to_owned())
}

fn me_event(token: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "GET /v1/me", "rawPath": "/v1/me", "rawQueryString": "",
        "headers": { "authorization": format!("Bearer {token}"), "host": "bench.local", "accept": "application/json" },
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.local", "domainPrefix": "bench",
            "http": { "method": "GET", "path": "/v1/me", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench" },
            "requestId": "bench", "routeKey": "GET /v1/me", "stage": "$default",
            "time": "23/Nov/2026:00:00:00 +0000", "timeEpoch": 0
        },
        "isBase64Encoded": false
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(bootstrap), Some(hello)) = (args.get(1), args.get(2)) else {
        return Err("usage: roster-coldstart BOOTSTRAP_BINARY HELLO_BINARY [RUNS]".into());
    };
    let runs: usize = args.get(3).map(|r| r.parse()).transpose()?.unwrap_or(20);
    let api_url =
        std::env::var("ROSTER_API_URL").map_err(|_| "ROSTER_API_URL is not set (run via infra/bench-coldstart.sh)")?;
    let token = bearer(&api_url).await?;

    let (tx, mut rx) = mpsc::unbounded_channel();
    let rt: Shared = Arc::new(Runtime { events: Mutex::new(Vec::new()), signals: tx });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let runtime_api = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut results = Vec::new();
    for (name, binary, handler, event) in [
        ("hello (empty lambda_runtime)", hello.as_str(), "hello", json!({ "ping": true })),
        ("roster bootstrap, GET /v1/me", bootstrap.as_str(), "me-get", me_event(&token)),
    ] {
        // One unmeasured start so the binary is in the page cache for both alike.
        invoke_once(binary, handler, &event, &rt, &mut rx, &runtime_api).await?;
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(invoke_once(binary, handler, &event, &rt, &mut rx, &runtime_api).await?);
        }
        let init: Vec<f64> = samples.iter().map(|s| s.init_ms).collect();
        let total: Vec<f64> = samples.iter().map(|s| s.total_ms).collect();
        let first_request: Vec<f64> = samples.iter().map(|s| s.total_ms - s.init_ms).collect();
        let warm: Vec<f64> = samples.iter().map(|s| s.warm_ms).collect();
        println!(
            "{name:30} start→response median {:6.2} ms  p90 {:6.2} ms | init {:6.2} ms | first request {:6.2} ms | warm request {:6.2} ms",
            median(total.clone()),
            percentile(total.clone(), 0.9),
            median(init),
            median(first_request),
            median(warm)
        );
        results.push(median(total));
    }
    if let [hello_ms, roster_ms] = results[..] {
        println!("ratio roster/hello (median start→response): {:.2}  (goal ≤ 1.5)", roster_ms / hello_ms);
    }
    println!("medians of {runs} fresh processes each; reproduce with: bash infra/bench-coldstart.sh [RUNS]");
    Ok(())
}
