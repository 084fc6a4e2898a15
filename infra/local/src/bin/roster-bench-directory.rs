//! Benchmark of directory sync (issue 13): N people (default 100,000) in the local slapd,
//! loaded with `slapadd -q` before it starts. Each run goes through the API (a connection, a
//! run started like a client starts one) and is worked by a child process whose DynamoDB client
//! counts every request by operation, so its peak RSS is the runner's alone:
//!   (a) the first full sync, (b) a full pass with nothing changed, (b') a scheduled
//!   (incremental) run with nothing changed, (c) an incremental run after 1% were changed.
//! The floor is a bare paged search of the same entries plus one item per person written with
//! bare BatchWriteItem calls (25 each), against the same servers in the same run.
//! Run it with `bash infra/bench-directory.sh [PEOPLE]`.
use futures::StreamExt;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use roster_local::bench::{
    Count, Fallible, account, bare_batch_writes, bench_item, counted_services, login, peak_rss_kb, run_to_end,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

const ATTRIBUTES: [&str; 6] = ["entryUUID", "mail", "cn", "givenName", "sn", "memberOf"];

#[tokio::main]
async fn main() -> Fallible<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--ldif") => {
            let n = args.get(1).ok_or("--ldif N BASE")?.parse()?;
            return ldif(n, args.get(2).ok_or("--ldif N BASE")?);
        }
        Some("--run") => {
            return run_child(args.get(1).ok_or("--run ACCOUNT JOB")?, args.get(2).ok_or("--run ACCOUNT JOB")?).await;
        }
        _ => {}
    }
    let people: u64 = args.first().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let env = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set: run bash infra/bench-directory.sh"));
    let (api, url, base) = (env("ROSTER_API_URL")?, env("ROSTER_TEST_LDAP_URL")?, env("ROSTER_TEST_LDAP_BASE")?);
    let (admin, password) = (env("ROSTER_TEST_LDAP_ADMIN")?, env("ROSTER_TEST_LDAP_PASSWORD")?);
    let unit = format!("ou=people,{base}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let (account, token, domain) = account(&http, &api).await?;
    let web = domain.trim_end_matches(".test").to_owned();
    let body = json!({
        "name": "Bench directory", "url": url, "security": "plain", "allow_insecure": true,
        "bind_dn": admin, "bind_password": password, "base_dns": [unit], "preset": "openldap",
        "deletion_threshold": { "percent": 100, "at_least": 1_000_000 },
    });
    let created: Value =
        http.post(format!("{api}/v1/directories")).bearer_auth(&token).json(&body).send().await?.json().await?;
    let dir = created["id"].as_str().ok_or_else(|| format!("connection: {created}"))?.to_owned();
    let ctx = Ctx { http, api, web, account, dir };

    let (search, found) = bare_search(&url, &admin, &password, &unit).await?;
    if found != people {
        return Err(format!("the directory has {found} people, not {people}").into());
    }
    let writes = bare_writes(people).await?;
    let floor = search + writes;
    eprintln!("floor: {:.1} s", secs(floor));

    let first = ctx.run("(a)", json!({ "full": true })).await?;
    first.expect("created", people)?;
    let no_change = ctx.run("(b)", json!({ "full": true })).await?;
    no_change.expect("unchanged", people)?;
    let scheduled = ctx.run("(b')", json!({})).await?;
    scheduled.expect("read", 0)?;
    let changed = people / 100;
    change(&url, &admin, &password, &unit, changed).await?;
    let incremental = ctx.run("(c)", json!({})).await?;
    incremental.expect("updated", changed)?;

    println!("directory sync, {people} people in slapd, against the local stack (moto)");
    println!(
        "  floor: bare paged search {:.1} s + bare BatchWriteItem ×25 {:.1} s = {:.1} s",
        secs(search),
        secs(writes),
        secs(floor)
    );
    println!("  {:<34} {:>8} {:>7} {:>9} {:>8} {:>9}", "run", "wall s", "pages", "DynamoDB", "writes", "peak RSS");
    for (name, r) in [
        ("(a) first full sync", &first),
        ("(b) full pass, nothing changed", &no_change),
        ("(b') scheduled run, nothing changed", &scheduled),
        ("(c) incremental, 1% changed", &incremental),
    ] {
        println!(
            "  {name:<34} {:>8.1} {:>7} {:>9} {:>8} {:>6.1} MB",
            secs(r.wall),
            r.count("ldap_pages"),
            r.requests.values().sum::<u64>(),
            r.writes(),
            r.peak_rss_kb as f64 / 1024.0
        );
    }
    println!("  (a) wall / floor        {:>6.2}   (goal ≤ 2)", secs(first.wall) / secs(floor));
    // moto's time goes by items written; a real table's mostly by round trips: both shown.
    let floor_requests = people.div_ceil(25);
    let first_requests = first.requests.values().sum::<u64>();
    println!(
        "  (a) round trips / floor's {:>5.2}   ({first_requests} DynamoDB requests vs {floor_requests} BatchWriteItem)",
        first_requests as f64 / floor_requests as f64
    );
    println!("  (b) people/entry writes {:>6}   (goal 0; TransactWriteItems + BatchWriteItem)", no_change.writes());
    println!(
        "  (c) DynamoDB requests   {:>6}   (goal ≤ 2 × {changed} / 25 + 10 = {})",
        incremental.requests.values().sum::<u64>(),
        2 * changed / 25 + 10
    );
    println!("  peak RSS goal ≤ 100 MB in every case");
    for (name, r) in [("(a)", &first), ("(b)", &no_change), ("(c)", &incremental)] {
        println!("  {name} requests by operation: {:?}", r.requests);
    }
    println!("reproduce: bash infra/bench-directory.sh {people}");
    Ok(())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

struct Ctx {
    http: reqwest::Client,
    api: String,
    /// The account's web address: each run logs in again (a run can outlast a token).
    web: String,
    account: String,
    dir: String,
}

/// One run as measured: wall time of the child that worked it, its progress and requests.
struct Measured {
    wall: Duration,
    progress: Value,
    requests: BTreeMap<String, u64>,
    peak_rss_kb: u64,
}

impl Measured {
    fn count(&self, k: &str) -> u64 {
        self.progress[k].as_u64().unwrap_or(0)
    }

    fn expect(&self, k: &str, n: u64) -> Fallible<()> {
        if self.count(k) == n { Ok(()) } else { Err(format!("expected {k} = {n}: {}", self.progress).into()) }
    }

    /// Writes of people and entry states (the job's own bookkeeping is UpdateItem / PutItem).
    fn writes(&self) -> u64 {
        ["TransactWriteItems", "BatchWriteItem"].iter().filter_map(|k| self.requests.get(*k)).sum()
    }
}

impl Ctx {
    async fn run(&self, name: &str, body: Value) -> Fallible<Measured> {
        let (api, dir) = (&self.api, &self.dir);
        let token = login(&self.http, api, &self.web).await?;
        let started: Value = self
            .http
            .post(format!("{api}/v1/directories/{dir}/runs"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = started["id"].as_str().ok_or_else(|| format!("run: {started}"))?.to_owned();
        let clock = Instant::now();
        let out =
            tokio::process::Command::new(std::env::current_exe()?).args(["--run", &self.account, &id]).output().await?;
        let wall = clock.elapsed();
        if !out.status.success() {
            return Err(format!("the runner failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        let report: Value = serde_json::from_slice(&out.stdout)?;
        let token = login(&self.http, api, &self.web).await?;
        let run: Value = self
            .http
            .get(format!("{api}/v1/directories/{dir}/runs/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if run["status"] != "succeeded" {
            return Err(format!("the run did not succeed: {run}").into());
        }
        let m = Measured {
            wall,
            progress: run["progress"].clone(),
            requests: serde_json::from_value(report["requests"].clone())?,
            peak_rss_kb: report["peak_rss_kb"].as_u64().unwrap_or(0),
        };
        eprintln!(
            "{name}: {:.1} s, {} DynamoDB requests, progress {}",
            secs(wall),
            m.requests.values().sum::<u64>(),
            m.progress
        );
        Ok(m)
    }
}

/// The child: work the run to its end with a counting client; report on stdout.
async fn run_child(account: &str, job: &str) -> Fallible<()> {
    let account = roster::domain::ids::AccountId::parse(account).ok_or("account id")?;
    let job = roster::domain::ids::JobId::parse(job).ok_or("job id")?;
    let (dynamo, ses) = (Count::default(), Count::default());
    let services = counted_services(&dynamo, &ses).await?;
    run_to_end(&services, account, roster::jobs::Kind::DirectorySync, job).await?;
    println!("{}", json!({ "requests": dynamo.by_operation(), "peak_rss_kb": peak_rss_kb() }));
    Ok(())
}

/// The people as LDIF for `slapadd` (it adds entryUUID and entryCSN itself).
fn ldif(n: u64, base: &str) -> Fallible<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "dn: ou=people,{base}\nobjectClass: organizationalUnit\nou: people\n")?;
    for i in 0..n {
        writeln!(
            out,
            "dn: uid=p{i},ou=people,{base}\nobjectClass: inetOrgPerson\nuid: p{i}\ncn: Person {i}\n\
             givenName: Person\nsn: Number {i}\nmail: p{i}@bench-directory.test\n"
        )?;
    }
    Ok(())
}

async fn bind(url: &str, admin: &str, password: &str) -> Fallible<ldap3::Ldap> {
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(url).await?;
    ldap3::drive!(conn);
    ldap.simple_bind(admin, password).await?.success()?;
    Ok(ldap)
}

/// A bare paged search (1,000 a page) of the people, reading what a run reads.
async fn bare_search(url: &str, admin: &str, password: &str, unit: &str) -> Fallible<(Duration, u64)> {
    let started = Instant::now();
    let mut ldap = bind(url, admin, password).await?;
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(1000))];
    let mut search = ldap
        .streaming_search_with(
            adapters,
            unit,
            ldap3::Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            ATTRIBUTES.to_vec(),
        )
        .await?;
    let mut found = 0;
    while search.next().await?.is_some() {
        found += 1;
    }
    search.finish().await.success()?;
    Ok((started.elapsed(), found))
}

/// One item per person, of a person's size, written 25 at a time.
async fn bare_writes(n: u64) -> Fallible<Duration> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let items = (0..n)
        .map(|i| {
            let attributes = [
                ("email", format!("p{i}@bench-directory.test")),
                ("name", format!("Person {i}")),
                ("padding", "x".repeat(300)),
            ];
            bench_item(&run, i, &attributes)
        })
        .collect();
    bare_batch_writes(items).await?;
    Ok(started.elapsed())
}

/// Change the name of `n` people spread over the directory.
async fn change(url: &str, admin: &str, password: &str, unit: &str, n: u64) -> Fallible<()> {
    let ldap = bind(url, admin, password).await?;
    let step = 100;
    let results: Vec<Result<(), String>> = futures::stream::iter((0..n).map(|k| k * step))
        .map(|i| {
            let mut ldap = ldap.clone();
            let dn = format!("uid=p{i},{unit}");
            async move {
                let m = vec![ldap3::Mod::Replace("cn", HashSet::from(["Changed person"]))];
                ldap.modify(&dn, m).await.and_then(|r| r.success()).map(|_| ()).map_err(|e| format!("{dn}: {e}"))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    Ok(())
}
