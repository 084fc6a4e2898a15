//! Helpers for the end-to-end tests: a client of the local API (started by `infra/test.sh`),
//! the SES stand-in's mailbox and a DynamoDB client to check what was (not) written.
use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

pub struct Stack {
    pub api: String,
    pub mailbox: String,
    pub http: reqwest::Client,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the suite with `bash infra/test.sh`"))
}

/// A fresh handle per test: each `#[tokio::test]` has its own runtime, and clients must not
/// outlive theirs.
pub async fn stack() -> Stack {
    let sdk = roster::config::aws_config().await;
    Stack {
        api: env("ROSTER_API_URL"),
        mailbox: env("ROSTER_MAILBOX_URL"),
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        dynamo: aws_sdk_dynamodb::Client::new(&sdk),
        table: env("ROSTER_TABLE"),
    }
}

/// Tests that put a heavy load on the local stack hold this shared; a test that measures time
/// holds it alone, so its samples are not taken while another test floods the stand-ins.
static LOAD: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Held by a test that loads the stack heavily (many writes at once, large fixtures).
pub async fn heavy_load() -> tokio::sync::RwLockReadGuard<'static, ()> {
    LOAD.read().await
}

/// Held by a test that measures time: no heavy test runs meanwhile.
pub async fn quiet_stack() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    LOAD.write().await
}

/// Run the job runner (as the schedule does, in this process) until `done` answers something.
/// Other tests' jobs run too: runners share the work safely, which is what they are for.
pub async fn run_jobs_until<T, F, Fut>(services: &roster::service::Services, done: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..120 {
        if let Some(found) = done().await {
            return found;
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        // Boxed: the runner's future holds every job kind's, too big for a test thread's stack.
        Box::pin(roster::jobs::run_due(services, deadline)).await.expect("a job run");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("the jobs did not get there in 120 runs");
}

/// A web address no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Response {
    pub status: StatusCode,
    pub content_type: String,
    pub etag: Option<String>,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Response {
    /// A problem+json answer with this status; returns its `code`.
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", self.text);
        assert_eq!(self.body["status"], status);
        self.body["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        &self.body
    }
}

#[derive(Clone)]
pub struct Account {
    pub id: String,
    pub web_address: String,
    pub owner_id: String,
    pub owner_email: String,
    pub token: String,
    pub refresh_token: String,
}

impl Stack {
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Response {
        let res = req.send().await.expect("request reaches the API");
        let status = res.status();
        let content_type =
            res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let etag = res.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response { status, content_type, etag, body, text, headers }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.call(Method::GET, path, token, None).await
    }

    pub fn sign_up_body(&self, web_address: &str, email: &str) -> Value {
        json!({
            "web_address": web_address, "company_name": "Acme Support", "first_name": "Olive",
            "last_name": "Owner", "email": email, "password": PASSWORD,
        })
    }

    /// Sign up a new account (with optional extra fields) and log its owner in. The owner's
    /// email counts as confirmed (written straight to the table, to spare every test the mail
    /// round trip; `verification::` tests the real flow through the emailed link).
    pub async fn account_with(&self, extra: Value) -> Account {
        let account = self.unverified_account_with(extra).await;
        self.dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("ACCOUNT#{}", account.id)))
            .key("sk", AttributeValue::S("ACCOUNT".into()))
            .update_expression("SET email_verified_at = :now")
            .expression_attribute_values(":now", AttributeValue::S(chrono::Utc::now().to_rfc3339()))
            .send()
            .await
            .unwrap();
        account
    }

    /// Sign up a new account whose owner has not confirmed their email yet.
    pub async fn unverified_account(&self) -> Account {
        self.unverified_account_with(json!({})).await
    }

    async fn unverified_account_with(&self, extra: Value) -> Account {
        let web_address = unique("acme");
        let owner_email = format!("owner@{web_address}.test");
        let mut body = self.sign_up_body(&web_address, &owner_email);
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let created = self.post("/v1/accounts", None, body).await;
        let created = created.ok(201);
        let tokens = self.login(&web_address, &owner_email, PASSWORD).await;
        let tokens = tokens.ok(200);
        Account {
            id: created["account"]["id"].as_str().unwrap().to_owned(),
            web_address,
            owner_id: created["owner"]["id"].as_str().unwrap().to_owned(),
            owner_email,
            token: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn account(&self) -> Account {
        self.account_with(json!({})).await
    }

    pub async fn login(&self, web_address: &str, email: &str, password: &str) -> Response {
        self.post("/v1/auth/login", None, json!({ "web_address": web_address, "email": email, "password": password }))
            .await
    }

    pub async fn invite(&self, account: &Account, email: &str, role: &str) -> Response {
        let body = json!({ "email": email, "first_name": "Ivy", "last_name": "Invitee", "role": role });
        self.post("/v1/invitations", Some(&account.token), body).await
    }

    /// The newest email the SES stand-in holds for this address (waits briefly for it).
    pub async fn mail_to(&self, address: &str) -> Value {
        self.mail_matching(address, "").await
    }

    /// The link token of a newer email (with `needle`) than the one carrying `previous`.
    pub async fn newer_token(&self, address: &str, needle: &str, previous: &str) -> String {
        for _ in 0..50 {
            let t = token_from(&self.mail_matching(address, needle).await);
            if t != previous {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no newer email to {address} with {needle:?} reached the mailbox");
    }

    /// The newest email to this address with `needle` anywhere in it (waits briefly for it).
    pub async fn mail_matching(&self, address: &str, needle: &str) -> Value {
        for _ in 0..50 {
            let store: Value =
                self.http.get(format!("{}/store", self.mailbox)).send().await.unwrap().json().await.unwrap();
            let found = store["emails"].as_array().into_iter().flatten().rev().find(|m| {
                m["destination"]["to"].as_array().is_some_and(|to| to.iter().any(|t| t.as_str() == Some(address)))
                    && m.to_string().contains(needle)
            });
            if let Some(mail) = found {
                return mail.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no email to {address} with {needle:?} reached the mailbox");
    }

    /// Invite someone, accept the invitation through the page and log them in:
    /// (member id, access token, refresh token).
    pub async fn active_member(&self, account: &Account, email: &str, role: &str) -> (String, String, String) {
        let invited = self.invite(account, email, role).await;
        let id = invited.ok(201)["member"]["id"].as_str().unwrap().to_owned();
        let token = token_from(&self.mail_to(email).await);
        assert_eq!(self.accept(&token, "member passphrase 42", "member passphrase 42").await.status, 200);
        let tokens = self.login(&account.web_address, email, "member passphrase 42").await;
        let tokens = tokens.ok(200);
        (id, tokens["access_token"].as_str().unwrap().to_owned(), tokens["refresh_token"].as_str().unwrap().to_owned())
    }

    /// Send any request with a JSON body and optional extra header.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        header: Option<(&str, &str)>,
    ) -> Response {
        let mut req = self.http.request(method, format!("{}{path}", self.api)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        self.send(req).await
    }

    /// Submit the accept page's form, as a browser would.
    pub async fn accept(&self, token: &str, password: &str, confirmation: &str) -> Response {
        let form = [("token", token), ("password", password), ("password_confirmation", confirmation)];
        self.send(self.http.post(format!("{}/invitations/accept", self.api)).form(&form)).await
    }

    /// Mail to `domain` goes down (the proxy in front of the SES stand-in answers 503) or back up.
    pub async fn mail_outage(&self, domain: &str, down: bool) {
        let proxy = env("ROSTER_SES_PROXY_URL");
        let url = format!("{proxy}/__outage/{domain}");
        let req = if down { self.http.post(url) } else { self.http.delete(url) };
        assert!(req.send().await.unwrap().status().is_success());
    }

    /// Emails to this address holding `needle`.
    pub async fn mails_matching(&self, address: &str, needle: &str) -> usize {
        let store: Value = self.http.get(format!("{}/store", self.mailbox)).send().await.unwrap().json().await.unwrap();
        store["emails"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["destination"]["to"][0].as_str() == Some(address) && m.to_string().contains(needle))
            .count()
    }

    pub async fn mails_to(&self, address: &str) -> usize {
        let store: Value = self.http.get(format!("{}/store", self.mailbox)).send().await.unwrap().json().await.unwrap();
        store["emails"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["destination"]["to"][0].as_str() == Some(address))
            .count()
    }

    /// Every item of an account's partition, read straight from DynamoDB.
    pub async fn partition(&self, account_id: &str) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self.partition_query(account_id).set_exclusive_start_key(start).send().await.unwrap();
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    fn partition_query(&self, account_id: &str) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let pk = roster::store::keys::account_pk(roster::domain::ids::AccountId::parse(account_id).unwrap());
        self.dynamo
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
    }

    /// How many items the partition holds (counted by DynamoDB, not shipped here).
    pub async fn partition_count(&self, account_id: &str) -> usize {
        let (mut count, mut start) = (0, None);
        loop {
            let out = self
                .partition_query(account_id)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            count += out.count as usize;
            start = out.last_evaluated_key;
            if start.is_none() {
                return count;
            }
        }
    }

    /// Sort keys of the partition, for before/after comparisons.
    /// The sort keys of what requests wrote in the account's partition. The sealing job's own
    /// items (digests, the verification state) are left out: it may run at any moment, in
    /// another test's job runner, and says nothing about what a request did.
    pub async fn partition_keys(&self, account_id: &str) -> Vec<String> {
        let upkeep = |sk: &String| sk.starts_with(roster::store::keys::DIGEST_PREFIX) || sk == "VERIFICATION";
        let mut keys: Vec<String> = self
            .partition(account_id)
            .await
            .iter()
            .filter_map(|i| i.get("sk")?.as_s().ok().cloned())
            .filter(|sk| !upkeep(sk))
            .collect();
        keys.sort();
        keys
    }

    /// The audit actions recorded for an account, oldest first.
    pub async fn audit_actions(&self, account_id: &str) -> Vec<String> {
        self.partition(account_id)
            .await
            .iter()
            .filter(|i| {
                i.get("sk")
                    .and_then(|s| s.as_s().ok())
                    .is_some_and(|s| s.starts_with(roster::store::keys::AUDIT_PREFIX))
            })
            .filter_map(|i| i.get("action")?.as_s().ok().cloned())
            .collect()
    }

    /// `count` invited members created through the store (the same code the invite endpoint
    /// runs, against the local DynamoDB) so a test does not send thousands of emails. Each is
    /// `user{i}@bulk.test`, First{i} Last{i}, agent, unless `shape` changes it. Their ids.
    pub async fn seed_members(
        &self,
        account: &Account,
        count: usize,
        shape: impl Fn(usize, &mut roster::domain::member::Member),
    ) -> Vec<String> {
        use futures::stream::{self, StreamExt};
        use roster::domain::{audit, email::Email, ids, invitation::Invitation, member, permissions::BasicRole};
        let store = roster::store::Store::new(self.dynamo.clone(), self.table.clone());
        let a = ids::AccountId::parse(&account.id).unwrap();
        let inviter = ids::MemberId::parse(&account.owner_id).unwrap();
        let now = chrono::Utc::now();
        let members: Vec<member::Member> = (0..count)
            .map(|i| {
                let email = Email::parse("email", &format!("user{i:04}@bulk.test")).unwrap();
                let (first, last) = (format!("First{i}"), format!("Last{i}"));
                let role = BasicRole::Agent.into();
                let mut m = member::Member::new(a, email, first, last, role, member::MemberStatus::Invited, now);
                shape(i, &mut m);
                m
            })
            .collect();
        stream::iter(members)
            .map(|m| {
                let store = store.clone();
                async move {
                    let inv = Invitation::new(a, m.id, Some(inviter), format!("bulk{}", m.id), now, 7);
                    let entry =
                        audit::AuditEntry::new(audit::Actor::System, "invitation.created", "member", m.id, json!({}));
                    store.create_invitation(&m, &inv, &[], &entry).await.unwrap();
                    m.id.to_string()
                }
            })
            .buffer_unordered(8)
            .collect()
            .await
    }

    /// `count` end users with no organization, written in batches as the store stores them
    /// (`store::user_records`), for tests about accounts with many people. User `i` is
    /// "Person {i}" at `email(i)`.
    pub async fn seed_users(&self, account: &Account, count: usize, email: impl Fn(usize) -> String) {
        use roster::domain::{email::Email, ids, user};
        let a = ids::AccountId::parse(&account.id).unwrap();
        let now = chrono::Utc::now();
        let mut items = Vec::with_capacity(count * 2);
        for i in 0..count {
            let u = user::User {
                id: ids::UserId::new(),
                account_id: a,
                name: format!("Person {i}"),
                emails: vec![Email::parse("email", &email(i)).unwrap()],
                phone: None,
                source: user::UserSource::Import,
                external_id: None,
                memberships: vec![],
                usergroups: vec![],
                custom_fields: Default::default(),
                deactivated_at: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            items.extend(roster::store::user_records(&u).unwrap().into_iter().map(|(_, item)| item));
        }
        self.put_raw(items).await;
    }

    /// Write raw items straight into the table, 25 per request, 8 requests at a time.
    pub async fn put_raw(&self, items: Vec<std::collections::HashMap<String, AttributeValue>>) {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        use futures::stream::{self, StreamExt};
        let batches: Vec<Vec<WriteRequest>> = items
            .chunks(25)
            .map(|c| {
                c.iter()
                    .map(|i| {
                        WriteRequest::builder()
                            .put_request(PutRequest::builder().set_item(Some(i.clone())).build().unwrap())
                            .build()
                    })
                    .collect()
            })
            .collect();
        stream::iter(batches)
            .for_each_concurrent(8, |mut batch| async move {
                while !batch.is_empty() {
                    let out = self.dynamo.batch_write_item().request_items(&self.table, batch).send().await.unwrap();
                    batch = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
                }
            })
            .await;
    }

    pub async fn item_exists(&self, key: &roster::store::keys::Key) -> bool {
        self.item(key).await.is_some()
    }

    /// One item, read straight from DynamoDB.
    pub async fn item(
        &self,
        key: &roster::store::keys::Key,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }
}

/// The accept link's token from an invitation email.
pub fn token_from(mail: &Value) -> String {
    let text = mail["body"]["text"].as_str().unwrap();
    let start = text.find("token=").expect("the email has a link") + "token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

pub mod ad;
pub mod ldap;
