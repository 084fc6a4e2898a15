//! An outbox entry: one mail a change caused, delivered once (`service::outbox`).
use super::{Outcome, Step, Work};
use crate::jobs::Job;
use crate::service::outbox::{self, Sent};
use crate::service::{Result, Services};

pub(crate) struct SendMail;

impl Work for SendMail {
    type Checkpoint = ();

    async fn step(s: &Services, job: &Job, _: ()) -> Result<Step<()>> {
        let outcome = match outbox::send(s, job).await? {
            Sent::Delivered => "sent",
            Sent::Moot => "not_needed",
        };
        Ok(Step::to(None, vec![Outcome { outcome, detail: serde_json::Value::Null }], vec![(outcome, 1)]))
    }
}
