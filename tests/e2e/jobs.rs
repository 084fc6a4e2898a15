//! The jobs platform (issue 11) against the real table: claims are exclusive, a runner that
//! lost its lease can write nothing, cancelled jobs are never picked up, and failed steps come
//! back later with growing waits until the job fails for good.
use chrono::{Duration, Utc};
use roster::domain::ids::AccountId;
use roster::jobs::{Job, Kind, LEASE, MAX_ATTEMPTS, Status, run_due};
use roster::service::Services;
use roster::store::{JOB_LOST, JOB_NOT_ACTIVE, keys};
use roster_tests::{heavy_load, run_jobs_until};
use serde_json::json;

/// A purge job for an account that does not exist: a real kind whose steps end at once.
async fn purge_job(services: &Services) -> Job {
    let input = json!({ "account_id": AccountId::new(), "requested_at": Utc::now() });
    let job = Job::new(Kind::PurgeAccount, None, input, Utc::now());
    services.store.create_job(&job).await.unwrap();
    job
}

#[tokio::test]
async fn a_claim_is_exclusive_and_a_runner_that_lost_its_lease_writes_nothing() {
    let services = Services::from_env().await.unwrap();
    let job = purge_job(&services).await;
    let key = keys::job(None, job.id);
    let now = Utc::now();
    // Two runners at once: exactly one gets it.
    let (a, b) = tokio::join!(
        services.store.claim_job(&key, "runner-a", now, now + LEASE),
        services.store.claim_job(&key, "runner-b", now, now + LEASE)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_some() != b.is_some(), "one claim each: {a:?} / {b:?}");
    let (held, holder, other) = match (a, b) {
        (Some(j), None) => (j, "runner-a", "runner-b"),
        (None, Some(j)) => (j, "runner-b", "runner-a"),
        _ => unreachable!(),
    };
    assert_eq!((held.status, held.lease_holder.as_deref()), (Status::Running, Some(holder)));
    // The other cannot write it either.
    assert!(services.store.save_held_job(&held, other).await.unwrap_err().is_conflict(JOB_LOST));
    // Once the lease has run out (the holder died), the other takes it over, and the first
    // holder's late checkpoint is refused.
    let later = now + LEASE + Duration::seconds(1);
    let taken = services.store.claim_job(&key, other, later, later + LEASE).await.unwrap().expect("claimable again");
    assert_eq!(taken.lease_holder.as_deref(), Some(other));
    assert!(services.store.save_held_job(&held, holder).await.unwrap_err().is_conflict(JOB_LOST));
    services.store.save_held_job(&taken, other).await.unwrap();
}

#[tokio::test]
async fn a_cancelled_job_is_never_picked_up_and_its_runner_stops() {
    let services = Services::from_env().await.unwrap();
    let job = purge_job(&services).await;
    let key = keys::job(None, job.id);
    let now = Utc::now();
    let held = services.store.claim_job(&key, "runner-c", now, now + LEASE).await.unwrap().unwrap();
    let cancelled = services.store.set_job_status(&held, Status::Cancelled).await.unwrap();
    assert!(cancelled.finished_at.is_some());
    // The runner's next checkpoint fails: it stops without writing.
    assert!(services.store.save_held_job(&held, "runner-c").await.unwrap_err().is_conflict(JOB_LOST));
    // It is out of the due list and cannot be claimed, cancelled again or run now.
    let later = now + LEASE + Duration::seconds(1);
    assert!(!services.store.due_jobs(later, 1000).await.unwrap().contains(&key));
    assert!(services.store.claim_job(&key, "runner-d", later, later + LEASE).await.unwrap().is_none());
    let again = services.store.set_job_status(&cancelled, Status::Cancelled).await;
    assert!(again.unwrap_err().is_conflict(JOB_NOT_ACTIVE));
    assert!(services.store.run_job_now(None, job.id).await.unwrap_err().is_conflict(JOB_NOT_ACTIVE));
    let stored = services.store.get_job(None, job.id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Cancelled);
}

#[tokio::test]
async fn a_job_runs_to_its_end_and_a_failing_one_retries_with_growing_waits_then_fails() {
    // Its runs may do a whole sealing round: heavy work, kept away from the timing test.
    let _load = heavy_load().await;
    let services = Services::from_env().await.unwrap();
    let good = purge_job(&services).await;
    // Input the kind cannot read: every step fails.
    let bad = Job::new(Kind::PurgeAccount, None, json!({ "unexpected": true }), Utc::now());
    services.store.create_job(&bad).await.unwrap();
    let deadline = || tokio::time::Instant::now() + std::time::Duration::from_secs(30);

    // Other jobs may be due too (the sealing round, other tests' purges): they take turns.
    let done = run_jobs_until(&services, || async {
        let job = services.store.get_job(None, good.id).await.unwrap()?;
        job.status.is_final().then_some(job)
    })
    .await;
    assert_eq!((done.status, done.lease_holder.clone()), (Status::Succeeded, None));
    assert!(done.finished_at.is_some());

    let mut waits = Vec::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let job = loop {
            let job = services.store.get_job(None, bad.id).await.unwrap().unwrap();
            if job.attempts == attempt {
                break job;
            }
            // Another test's runner may hold it for a moment; then bring its retry forward.
            let _ = services.store.run_job_now(None, bad.id).await;
            run_due(&services, deadline()).await.unwrap();
        };
        assert!(job.error.as_deref().is_some_and(|e| e.contains("purge input")), "{:?}", job.error);
        if attempt < MAX_ATTEMPTS {
            assert_eq!(job.status, Status::Queued, "attempt {attempt}");
            waits.push((job.run_at - job.updated_at).num_seconds());
        } else {
            assert_eq!(job.status, Status::Failed);
            assert!(job.finished_at.is_some());
        }
    }
    assert_eq!(waits, [30, 60, 120, 240]);
    // A failed job is out of the due list for good.
    let later = Utc::now() + Duration::days(1);
    assert!(!services.store.due_jobs(later, 1000).await.unwrap().contains(&keys::job(None, bad.id)));
}
