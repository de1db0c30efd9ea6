//! Redis, when `redis_url` is set: rate-limit counters shared by every node, and the channels
//! of cross-node events: a node announces that it revoked sessions so every other node looks
//! at once, and DualConfirm nodes tell each other where the parties of a pair are.
//!
//! Rate limits run GCRA (the algorithm `governor` uses on one node) as one Lua script, so a
//! check is a single atomic round trip and every node reads the same clock: Redis's own
//! `TIME`, not the nodes' clocks, which may disagree.

use futures_util::StreamExt as _;
use redis::aio::ConnectionManager;
use std::time::Duration;

/// GCRA over one key. ARGV: emission interval (ms per request), burst (requests).
/// Returns -1 when the request is admitted, else the milliseconds until it would be.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then return allow_at - now end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return -1
";

/// A connection to Redis shared by the node's tasks (it reconnects by itself).
pub struct RedisLink {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    gcra: redis::Script,
}

/// Why a Redis command gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum RedisFailure {
    /// The server answered with an error or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// No answer within the configured time.
    #[error("redis did not answer in time")]
    Timeout,
}

impl RedisLink {
    /// Connects (and checks the server answers) before the node starts serving.
    ///
    /// # Errors
    /// Bad URL or unreachable server.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let mut conn =
            tokio::time::timeout(Duration::from_secs(10), client.get_connection_manager())
                .await
                .map_err(|_| anyhow::anyhow!("redis did not answer within 10 s"))??;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_owned(),
            timeout,
            gcra: redis::Script::new(GCRA),
        })
    }

    /// Counts one request against `per_minute` (burst of the same size) for `scope`/`key`.
    /// `Ok(None)` admits it; `Ok(Some(ms))` refuses it for that long.
    ///
    /// # Errors
    /// Redis failed or was too slow; the caller decides what to do without it.
    pub async fn admit(
        &self,
        scope: &str,
        key: &[u8],
        per_minute: u32,
    ) -> Result<Option<u64>, RedisFailure> {
        let per_minute = per_minute.max(1);
        let interval_ms = 60_000f64 / f64::from(per_minute);
        let redis_key = format!("{}rl:{scope}:{}", self.prefix, hex::encode(key));
        let mut conn = self.conn.clone();
        let mut call = self.gcra.key(redis_key);
        call.arg(interval_ms.ceil() as u64).arg(per_minute);
        let wait: i64 = tokio::time::timeout(self.timeout, call.invoke_async(&mut conn))
            .await
            .map_err(|_| RedisFailure::Timeout)??;
        Ok((wait >= 0).then_some(wait.unsigned_abs()))
    }

    /// Tells every node (this one included) that sessions were revoked.
    ///
    /// # Errors
    /// Redis failed or was too slow; other nodes then learn it at their next poll.
    pub async fn announce_revocation(&self) -> Result<(), RedisFailure> {
        self.publish("revocations", "revoked").await
    }

    /// Calls `on_announcement` for every revocation announcement, from any node, until the
    /// task is aborted, and after each (re)subscription too (announcements may have been
    /// missed while it was down).
    pub async fn follow_announcements(&self, on_announcement: impl Fn()) {
        self.follow("revocations", |_| on_announcement()).await;
    }

    /// Adds one to the counter `<prefix><name>` and returns the count; the counter expires
    /// `ttl_secs` after its first count.
    ///
    /// # Errors
    /// Redis failed or was too slow.
    pub async fn count(&self, name: &str, ttl_secs: u64) -> Result<u64, RedisFailure> {
        let mut conn = self.conn.clone();
        let key = format!("{}{name}", self.prefix);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .incr(&key, 1)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(ttl_secs)
            .arg("NX")
            .ignore();
        let (count,): (u64,) = tokio::time::timeout(self.timeout, pipe.query_async(&mut conn))
            .await
            .map_err(|_| RedisFailure::Timeout)??;
        Ok(count)
    }

    /// Publishes `payload` on the channel `<prefix><topic>`.
    ///
    /// # Errors
    /// Redis failed or was too slow.
    pub async fn publish(&self, topic: &str, payload: &str) -> Result<(), RedisFailure> {
        let mut conn = self.conn.clone();
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(format!("{}{topic}", self.prefix)).arg(payload);
        tokio::time::timeout(self.timeout, publish.query_async::<i64>(&mut conn))
            .await
            .map_err(|_| RedisFailure::Timeout)??;
        Ok(())
    }

    /// Calls `on_message` with every message on the channel `<prefix><topic>`, from any node,
    /// until the task is aborted; reconnects with a short back-off when the subscription
    /// drops, and calls `on_message(None)` after each (re)subscription, so the caller can
    /// catch up on what it may have missed.
    pub async fn follow(&self, topic: &str, on_message: impl Fn(Option<&str>)) {
        let channel = format!("{}{topic}", self.prefix);
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(100);
                        on_message(None);
                        let mut messages = pubsub.on_message();
                        while let Some(message) = messages.next().await {
                            match message.get_payload::<String>() {
                                Ok(text) => on_message(Some(&text)),
                                Err(e) => tracing::warn!(error = %e, "unreadable redis message"),
                            }
                        }
                        tracing::warn!(channel, "redis subscription ended; resubscribing");
                    }
                    Err(e) => tracing::warn!(error = %e, "redis subscribe failed"),
                },
                Err(e) => tracing::warn!(error = %e, "redis is unreachable for announcements"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}
