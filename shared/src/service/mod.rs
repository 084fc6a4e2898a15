//! Use cases: one function per operation. Each checks the caller's permission, applies the
//! domain rules and hands the store one atomic unit of work (the change plus its audit entry).
pub mod accounts;
pub mod agent_ids;
pub mod api_keys;
pub mod assignments;
pub mod audit;
pub mod auth;
mod caller;
pub mod custom_fields;
pub mod deletion;
pub mod directories;
pub mod directory_sync;
mod error;
pub mod exports;
pub mod groups;
pub mod invitation_jobs;
pub mod invitations;
pub mod invite_rows;
mod job_input;
pub mod jobs;
pub mod links;
pub mod members;
pub mod organization_deletion;
pub mod organizations;
pub mod outbox;
pub mod paging;
pub mod remap;
pub mod roles;
pub mod sealing;
pub mod secrets;
pub mod settings;
pub mod user_import;
pub mod usergroups;
pub mod users;

pub use caller::{Caller, Principal};
pub use error::{Error, Result};

use crate::config::Config;
use crate::files::Files;
use crate::mail::Mailer;
use crate::store::Store;
use secrets::Keys;

/// Everything a request needs, built once per process (outside the Lambda handler).
pub struct Services {
    pub config: Config,
    pub store: Store,
    pub mailer: Mailer,
    pub keys: Keys,
    pub files: Files,
    /// The bind passwords of directory connections.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Directory connections a run keeps open between its steps.
    pub directory_sessions: crate::directory::Sessions,
}

impl Services {
    /// Build the clients, fetch the signing secret and warm the table connection.
    pub async fn from_env() -> std::result::Result<Self, String> {
        let config = Config::from_env()?;
        let sdk = crate::config::aws_config().await;
        let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone());
        let mailer = Mailer::new(crate::mail::ses_client(&sdk), config.mail_from.clone());
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let files = Files::new(&sdk, config.export_bucket.clone());
        let (keys, ()) = tokio::join!(Keys::fetch(&secrets, &config.signing_secret_id), store.warm_up());
        Ok(Self { config, store, mailer, keys: keys?, files, secrets, directory_sessions: Default::default() })
    }
}
