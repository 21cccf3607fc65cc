//! The outbox worker: delivers queued mail jobs over SMTP.
//!
//! A job row is written in the same transaction as the event that causes the mail, so a
//! crash can delay a message but never lose it. Delivery is at least once: a worker that
//! dies after the SMTP server accepted a message but before it marked the job done gets
//! the job re-claimed when its lease expires. The message keeps the Message-ID it was
//! given at enqueue time, so a receiver (and our own threading) sees a re-send as the same
//! message.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lettre::address::Envelope;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{Address, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use vulndesk_store::{JobRow, NewJob, Store, StoreError};

/// The job kind of outgoing mail.
pub const MAIL_JOB: &str = "mail";

/// What a mail job carries: the finished message, exactly as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailJob {
    /// SMTP envelope sender (bounces go here).
    pub envelope_from: String,
    /// SMTP envelope recipients.
    pub to: Vec<String>,
    /// The message's Message-ID, without angle brackets; stable across retries.
    pub message_id: String,
    /// The RFC 5322 message. Composed messages are 7-bit text (MIME encodes the rest).
    pub raw: String,
}

/// Why a mail job could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The message has 8-bit bytes; the composer MIME-encodes, so this is a caller bug.
    #[error("the composed message is not 7-bit text; compose it with MIME encodings")]
    NotText,
    /// An envelope address does not parse.
    #[error("{0:?} is not an e-mail address")]
    Address(String),
    /// The SMTP URL is unusable.
    #[error("SMTP configuration: {0}")]
    Config(String),
    /// The job store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The message could not be encrypted to its recipient.
    #[error("cannot encrypt: {0}")]
    OpenPgp(#[from] crate::openpgp::OpenPgpError),
}

impl MailJob {
    /// A job for `raw`, checked: 7-bit text and parseable envelope addresses.
    pub fn new(
        envelope_from: &str,
        to: &[String],
        message_id: &str,
        raw: Vec<u8>,
    ) -> Result<MailJob, OutboxError> {
        let raw = String::from_utf8(raw).map_err(|_| OutboxError::NotText)?;
        if !raw.is_ascii() {
            return Err(OutboxError::NotText);
        }
        let job = MailJob {
            envelope_from: envelope_from.to_owned(),
            to: to.to_vec(),
            message_id: message_id.to_owned(),
            raw,
        };
        job.envelope()?;
        Ok(job)
    }

    /// The job row to write with the event that causes this mail.
    pub fn into_job(self, run_after: Timestamp) -> NewJob {
        NewJob {
            kind: MAIL_JOB.to_owned(),
            payload: serde_json::to_value(&self).expect("a mail job serializes"),
            run_after,
        }
    }

    fn envelope(&self) -> Result<Envelope, OutboxError> {
        let parse = |a: &str| {
            a.parse::<Address>()
                .map_err(|_| OutboxError::Address(a.to_owned()))
        };
        let to = self
            .to
            .iter()
            .map(|a| parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        Envelope::new(Some(parse(&self.envelope_from)?), to)
            .map_err(|e| OutboxError::Address(e.to_string()))
    }
}

/// How often and how long a failing delivery is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// After this many failed attempts the job is dead (visible on its case, never sent).
    pub max_attempts: i64,
    /// Wait after the first failure; doubled after each further one.
    pub first_delay: Duration,
    /// Longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// Wait before the attempt after `attempts` failed ones (exponential, capped).
    pub fn delay(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.first_delay
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max_delay)
    }
}

/// What one pass of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Accepted by the SMTP server.
    pub sent: usize,
    /// Failed and rescheduled.
    pub retried: usize,
    /// Failed for good.
    pub dead: usize,
}

/// Claims due mail jobs and sends them.
pub struct Worker {
    store: Store,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    retry: RetryPolicy,
    /// How long a claimed job is ours before another worker may take it over.
    lease: Duration,
    batch: i64,
}

impl Worker {
    /// `smtp_url`: `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS)
    /// or `smtps://host:port` (implicit TLS); credentials as `smtp://user:pass@host`.
    pub fn new(store: Store, smtp_url: &str, retry: RetryPolicy) -> Result<Worker, OutboxError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            // The URL may carry a password: name the problem, not the URL.
            .map_err(|e| OutboxError::Config(format!("invalid SMTP URL: {e}")))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Worker {
            store,
            transport,
            retry,
            lease: Duration::from_secs(300),
            batch: 20,
        })
    }

    /// Sends every due job once; failures are rescheduled or, after the last attempt, dead.
    pub async fn run_once(&self) -> Result<Pass, OutboxError> {
        let mut pass = Pass::default();
        loop {
            let jobs = self
                .store
                .claim_jobs(MAIL_JOB, Timestamp::now(), self.batch, self.lease)
                .await?;
            if jobs.is_empty() {
                return Ok(pass);
            }
            for job in jobs {
                self.deliver(job, &mut pass).await?;
            }
        }
    }

    async fn deliver(&self, job: JobRow, pass: &mut Pass) -> Result<(), OutboxError> {
        let outcome = match serde_json::from_value::<MailJob>(job.payload.clone()) {
            Err(e) => Err((true, format!("unreadable mail job: {e}"))),
            Ok(mail) => match mail.envelope() {
                Err(e) => Err((true, e.to_string())),
                Ok(envelope) => self
                    .transport
                    .send_raw(&envelope, mail.raw.as_bytes())
                    .await
                    .map(|_| ())
                    .map_err(|e| (e.is_permanent(), e.to_string())),
            },
        };
        let now = Timestamp::now();
        match outcome {
            Ok(()) => {
                self.store.complete_job(job.id, now).await?;
                pass.sent += 1;
            }
            Err((permanent, error)) if permanent || job.attempts >= self.retry.max_attempts => {
                tracing::warn!(job = job.id, attempts = job.attempts, %error, "mail job dead");
                self.store.kill_job(job.id, now, &error).await?;
                pass.dead += 1;
            }
            Err((_, error)) => {
                let wait = self.retry.delay(job.attempts);
                tracing::info!(job = job.id, attempts = job.attempts, ?wait, %error, "mail delivery failed; will retry");
                let run_after = now
                    .checked_add(SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX))
                    .unwrap_or(Timestamp::MAX);
                self.store.retry_job(job.id, now, &error, run_after).await?;
                pass.retried += 1;
            }
        }
        Ok(())
    }

    /// Runs passes every `poll` until `shutdown` resolves. Storage errors are logged and
    /// retried at the next poll: the jobs are safe in the database meanwhile.
    pub async fn run(self, poll: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.run_once().await {
                tracing::error!(error = %e, "outbox pass failed");
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests;
