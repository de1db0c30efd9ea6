//! Outgoing mail through a durable outbox.
//!
//! A message is sealed by the keyring (it holds an address and often a single-use link) and
//! written to the `outbox` table in the same request that caused it; a worker delivers it with
//! retries and exponential back-off, then erases the payload. Transports: SMTP (lettre) and,
//! by default in development, `.eml` files under `data_dir/mail`.

use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{MailConfig, MailTransportKind, SmtpSecurity};
use crate::services::ServiceError;
use crate::state::AppState;

const OUTBOX_AAD: &[u8] = b"portcullis/outbox/v1";

/// A message waiting in the outbox.
#[derive(Serialize, Deserialize)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The link the mail carries, echoed in the development log.
    pub link: Option<String>,
}

/// Queues `mail` and wakes the worker.
///
/// # Errors
/// Sealing or storage failure.
#[tracing::instrument(skip_all)]
pub async fn enqueue(state: &AppState, mail: &Mail) -> Result<(), ServiceError> {
    let json = serde_json::to_vec(mail)?;
    let sealed = state.keyring().seal_secret(&json, OUTBOX_AAD)?;
    let id = uuid::Uuid::now_v7().to_string();
    state
        .store
        .outbox
        .enqueue(&id, &sealed, state.now())
        .await?;
    state.mail_notify.notify_one();
    Ok(())
}

/// Where messages go.
pub enum Transport {
    /// `.eml` files in a directory.
    Files(PathBuf),
    /// An SMTP relay.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Transport {
    /// Builds the configured transport.
    ///
    /// # Errors
    /// Bad SMTP settings.
    pub fn from_config(cfg: &MailConfig, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        Ok(match cfg.transport {
            MailTransportKind::File => Transport::Files(data_dir.join("mail")),
            MailTransportKind::Smtp => {
                let tls = match cfg.smtp_security {
                    SmtpSecurity::None => Tls::None,
                    SmtpSecurity::Starttls => {
                        Tls::Required(TlsParameters::new(cfg.smtp_host.clone())?)
                    }
                    SmtpSecurity::Tls => Tls::Wrapper(TlsParameters::new(cfg.smtp_host.clone())?),
                };
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.smtp_host)
                        .port(cfg.smtp_port)
                        .tls(tls)
                        .timeout(Some(Duration::from_secs(20)));
                if let (Some(user), Some(pass)) = (&cfg.smtp_username, &cfg.smtp_password) {
                    use secrecy::ExposeSecret;
                    builder = builder.credentials(
                        lettre::transport::smtp::authentication::Credentials::new(
                            user.clone(),
                            pass.expose_secret().to_owned(),
                        ),
                    );
                }
                Transport::Smtp(builder.build())
            }
        })
    }

    async fn send(&self, id: &str, message: Message, link: Option<&str>) -> Result<(), String> {
        match self {
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| e.to_string())?;
                let path = dir.join(format!("{id}.eml"));
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| e.to_string())?;
                // Development transport only: the link is printed so a newcomer can click it.
                tracing::info!(path = %path.display(), link = link.unwrap_or(""), "development mail written");
                Ok(())
            }
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

fn build(from: &str, mail: &Mail) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("bad sender: {e}"))?;
    let to: Mailbox = mail.to.parse().map_err(|e| format!("bad recipient: {e}"))?;
    // 7bit keeps links intact for people and scripts that read the raw message (quoted-printable
    // would turn `token=` into `token=3D`). RFC 5322 allows lines up to 998 octets; lettre's
    // automatic choice wraps at 76, so ASCII bodies are passed pre-encoded. Anything else
    // falls back to the automatic choice.
    let seven_bit = mail.body.is_ascii() && mail.body.lines().all(|l| l.len() <= 998);
    let body = if seven_bit {
        let crlf = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(mail.body.clone())
    };
    Message::builder()
        .from(from)
        .to(to)
        .subject(&mail.subject)
        .message_id(None)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())
}

/// Delivers due messages until the task is dropped.
pub async fn run_worker(state: AppState, transport: Transport) {
    loop {
        match deliver_due(&state, &transport).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox delivery pass failed"),
        }
        tokio::select! {
            _ = state.mail_notify.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One delivery pass; returns how many messages were handled.
///
/// # Errors
/// Storage failure.
#[tracing::instrument(skip_all)]
pub async fn deliver_due(state: &AppState, transport: &Transport) -> Result<usize, ServiceError> {
    let now = state.now();
    let items = state.store.outbox.claim_due(now, now + 60, 16).await?;
    let n = items.len();
    for item in items {
        let outcome = match state.keyring().open_secret(&item.payload, OUTBOX_AAD) {
            Ok(bytes) => match serde_json::from_slice::<Mail>(&bytes) {
                Ok(mail) => match build(&state.config.mail.from, &mail) {
                    Ok(msg) => transport.send(&item.id, msg, mail.link.as_deref()).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(format!("undecodable payload: {e}")),
            },
            Err(e) => Err(format!("cannot open payload: {e}")),
        };
        match outcome {
            Ok(()) => {
                state.store.outbox.mark_sent(&item.id, state.now()).await?;
                metrics::counter!("portcullis_mail_sent_total").increment(1);
            }
            Err(error) => {
                let dead = item.attempts >= state.config.mail.max_attempts;
                let delay = 2i64
                    .saturating_pow(u32::try_from(item.attempts).unwrap_or(30).min(20))
                    .min(3600);
                tracing::warn!(id = %item.id, attempts = item.attempts, dead, error = %error, "mail delivery failed");
                metrics::counter!("portcullis_mail_failed_total").increment(1);
                state
                    .store
                    .outbox
                    .mark_failed(&item.id, state.now() + delay, &error, dead)
                    .await?;
            }
        }
    }
    Ok(n)
}
