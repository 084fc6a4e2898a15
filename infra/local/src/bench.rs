//! What the benchmarks share: a bench account, clients that count the requests they send (by
//! operation), the services built on them, and the process's peak RSS.
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// Requests sent, by operation (DynamoDB's `X-Amz-Target`, else the path).
#[derive(Debug, Clone, Default)]
pub struct Count(Arc<Mutex<BTreeMap<String, u64>>>);

impl Count {
    pub fn total(&self) -> u64 {
        self.0.lock().map(|m| m.values().sum()).unwrap_or(0)
    }

    pub fn by_operation(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Intercept for Count {
    fn name(&self) -> &'static str {
        "count-requests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let r = context.request();
        let op = r
            .headers()
            .get("x-amz-target")
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
            .unwrap_or_else(|| r.uri().rsplit('/').next().unwrap_or("").to_owned());
        if let Ok(mut m) = self.0.lock() {
            *m.entry(op).or_default() += 1;
        }
        Ok(())
    }
}

/// Services whose DynamoDB and SES clients count their requests.
pub async fn counted_services(dynamo: &Count, ses: &Count) -> Fallible<roster::service::Services> {
    let sdk = roster::config::aws_config().await;
    let config = roster::config::Config::from_env()?;
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(dynamo.clone()).build(),
    );
    let ses =
        aws_sdk_sesv2::Client::from_conf(aws_sdk_sesv2::config::Builder::from(&sdk).interceptor(ses.clone()).build());
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let keys = roster::service::secrets::Keys::fetch(&secrets, &config.signing_secret_id).await?;
    Ok(roster::service::Services {
        store: roster::store::Store::new(dynamo, config.table.clone()),
        mailer: roster::mail::Mailer::new(ses, config.mail_from.clone()),
        keys,
        files: roster::files::Files::new(&sdk, config.export_bucket.clone()),
        config,
        secrets,
        directory_sessions: Default::default(),
    })
}

/// Run one job to its end, as the scheduled runner would (turn after turn).
pub async fn run_to_end(
    s: &roster::service::Services,
    account: roster::domain::ids::AccountId,
    kind: roster::jobs::Kind,
    job: roster::domain::ids::JobId,
) -> Fallible<roster::jobs::Job> {
    loop {
        let j = s.store.get_job_of(Some(account), kind, job).await?.ok_or("the job is gone")?;
        if j.status.is_final() || j.status == roster::jobs::Status::AwaitingApproval {
            return Ok(j);
        }
        roster::jobs::run_one(s, &j).await?;
    }
}

/// A new account whose owner is verified and may invite 10,000 an hour: (id, token, domain);
/// its web address is the domain's first label (`login` takes it).
pub async fn account(http: &reqwest::Client, api: &str) -> Fallible<(String, String, String)> {
    let web = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let email = format!("owner@{web}.test");
    let password = PASSWORD;
    let body = json!({
        "web_address": web, "company_name": "Bench", "first_name": "Ben", "last_name": "Ch",
        "email": email, "password": password,
    });
    let created: Value = http.post(format!("{api}/v1/accounts")).json(&body).send().await?.json().await?;
    let account = created["account"]["id"].as_str().ok_or_else(|| format!("sign-up: {created}"))?.to_owned();
    let sdk = roster::config::aws_config().await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .update_item()
        .table_name(std::env::var("ROSTER_TABLE")?)
        .key("pk", AttributeValue::S(format!("ACCOUNT#{account}")))
        .key("sk", AttributeValue::S("ACCOUNT".into()))
        .update_expression("SET email_verified_at = :now")
        .expression_attribute_values(":now", AttributeValue::S(chrono::Utc::now().to_rfc3339()))
        .send()
        .await?;
    let token = login(http, api, &web).await?;
    http.patch(format!("{api}/v1/account/preferences"))
        .bearer_auth(&token)
        .json(&json!({ "invitations_per_hour": 10000 }))
        .send()
        .await?
        .error_for_status()?;
    Ok((account, token, format!("{web}.test")))
}

/// A fresh access token of the bench account on `web` (a long run outlives the first one).
pub async fn login(http: &reqwest::Client, api: &str, web: &str) -> Fallible<String> {
    let body = json!({ "web_address": web, "email": format!("owner@{web}.test"), "password": PASSWORD });
    let tokens: Value = http.post(format!("{api}/v1/auth/login")).json(&body).send().await?.json().await?;
    Ok(tokens["access_token"].as_str().ok_or_else(|| format!("login: {tokens}"))?.to_owned())
}

const PASSWORD: &str = "a long bench password";

/// This process's peak resident set, in KiB.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Write `items` (one per person, built by the caller) with bare BatchWriteItem calls, 25 at a
/// time, again for what comes back unprocessed: the floor the benchmarks compare against.
pub async fn bare_batch_writes(items: Vec<std::collections::HashMap<String, AttributeValue>>) -> Fallible<()> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let sdk = roster::config::aws_config().await;
    let table = std::env::var("ROSTER_TABLE")?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            PutRequest::builder().set_item(Some(item)).build().map(|p| WriteRequest::builder().put_request(p).build())
        })
        .collect::<Result<_, _>>()?;
    for chunk in requests.chunks(25) {
        let mut pending = Some(std::collections::HashMap::from([(table.clone(), chunk.to_vec())]));
        while let Some(requests) = pending.take().filter(|r| !r.is_empty()) {
            let out = dynamo.batch_write_item().set_request_items(Some(requests)).send().await?;
            pending = out.unprocessed_items.filter(|u| u.values().any(|v| !v.is_empty()));
        }
    }
    Ok(())
}

/// A bench item: its key under `BENCH#run` and these attributes.
pub fn bench_item(
    run: &str,
    i: u64,
    attributes: &[(&str, String)],
) -> std::collections::HashMap<String, AttributeValue> {
    let mut item = std::collections::HashMap::from([
        ("pk".to_owned(), AttributeValue::S(format!("BENCH#{run}"))),
        ("sk".to_owned(), AttributeValue::S(format!("{i:08}"))),
    ]);
    for (k, v) in attributes {
        item.insert((*k).to_owned(), AttributeValue::S(v.clone()));
    }
    item
}
