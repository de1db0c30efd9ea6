//! `portcullis-wallet`: make a software wallet, run it, and talk to a wallet.
//!
//! PINs come from an environment variable named by `--pin-env`, or from one line of stdin;
//! never from the command line, where `ps` would show them.

use std::io::{BufRead, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use k256::ecdsa::SigningKey;
use portcullis_core::eth;
use portcullis_wallet::Client;
use portcullis_wallet::device::{Device, KdfParams};
use portcullis_wallet::driver::{self, Ended, LoginRequest};
use portcullis_wallet::transport::{self, Timers};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(
    name = "portcullis-wallet",
    version,
    about = "The Portcullis wallet: device and driver"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new software wallet: a key sealed under a PIN in a state file.
    Init {
        /// The state file to create (refused if it exists).
        #[arg(long)]
        state: PathBuf,
        #[command(flatten)]
        pin: PinArg,
        /// Seal this key (64 hex digits, from the named environment variable) instead of a
        /// fresh random one: for tests with known vectors.
        #[arg(long, value_name = "VAR")]
        import_key_env: Option<String>,
        /// Argon2id memory in KiB.
        #[arg(long, default_value_t = KdfParams::DEFAULT.m_kib)]
        kdf_memory_kib: u32,
        /// Argon2id passes.
        #[arg(long, default_value_t = KdfParams::DEFAULT.t)]
        kdf_passes: u32,
    },
    /// Run the software wallet on a serial port or a TCP address.
    Device {
        /// Its state file (a missing file is an uninitialised wallet).
        #[arg(long)]
        state: PathBuf,
        #[command(flatten)]
        line: DeviceLine,
        /// Milliseconds of silence after which a partial frame is dropped.
        #[arg(long, default_value_t = 2000)]
        frame_timeout_ms: u64,
        /// Seconds without a request after which an unlock ends.
        #[arg(long, default_value_t = 300)]
        idle_lock_s: u64,
    },
    /// Print a wallet's state.
    Info {
        #[command(flatten)]
        wallet: WalletArg,
    },
    /// Unlock a wallet and print its address.
    Address {
        #[command(flatten)]
        wallet: WalletArg,
        #[command(flatten)]
        pin: PinArg,
    },
    /// Unlock a wallet and print its signature of a text.
    Sign {
        #[command(flatten)]
        wallet: WalletArg,
        #[command(flatten)]
        pin: PinArg,
        /// The text to sign.
        #[arg(long)]
        text: String,
        /// Which request carries it.
        #[arg(long, value_enum, default_value_t = Kind::Message)]
        kind: Kind,
    },
    /// Sign in to a Portcullis server with the password and the wallet, then keep the
    /// session's presence (the wallet signs every challenge) until it ends; then lock the
    /// wallet. Exits 0 after a logout, 3 when the session ended otherwise.
    Login {
        #[command(flatten)]
        wallet: WalletArg,
        #[command(flatten)]
        pin: PinArg,
        /// The server's base URL (its public URL).
        #[arg(long)]
        server: String,
        /// The account's e-mail.
        #[arg(long)]
        email: String,
        /// The environment variable holding the account's password.
        #[arg(long, value_name = "VAR")]
        password_env: String,
        /// Where to keep the session (tokens and the session key; written owner-only).
        #[arg(long)]
        session: PathBuf,
    },
    /// Send one request of the session, signed with its key (DPoP); print the status and
    /// the body. Exits 0 for a 2xx answer, 4 otherwise.
    Call {
        /// The session file `login` wrote.
        #[arg(long)]
        session: PathBuf,
        /// A path on the server, or a full URL of a service behind the guard.
        target: String,
        /// The method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// A JSON body.
        #[arg(long)]
        json: Option<String>,
    },
    /// End the session (`login` then locks the wallet and exits).
    Logout {
        /// The session file `login` wrote.
        #[arg(long)]
        session: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Message,
    Delegation,
    Presence,
}

#[derive(Args)]
struct PinArg {
    /// The environment variable holding the PIN (else one line of stdin).
    #[arg(long, value_name = "VAR")]
    pin_env: Option<String>,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct DeviceLine {
    /// Serve on this serial port or pty.
    #[arg(long)]
    serial: Option<PathBuf>,
    /// Serve on this TCP address (port 0: any; the bound address is printed).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

/// Which wallet to talk to: one of `--serial` and `--connect` (not a clap group, which
/// would take `--timeout-s` in too and refuse it beside either).
#[derive(Args)]
struct WalletArg {
    /// The wallet's serial port or pty.
    #[arg(long, conflicts_with = "connect", required_unless_present = "connect")]
    serial: Option<PathBuf>,
    /// The wallet's TCP address.
    #[arg(long)]
    connect: Option<String>,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
}

impl WalletArg {
    fn open(&self) -> Result<Client> {
        let timeout = Duration::from_secs(self.timeout_s);
        Ok(match (&self.serial, &self.connect) {
            (Some(path), _) => Client::serial(path, timeout)?,
            (None, Some(addr)) => Client::tcp(addr.as_str(), timeout)?,
            (None, None) => bail!("name the wallet with --serial or --connect"),
        })
    }
}

impl PinArg {
    fn read(&self) -> Result<Zeroizing<String>> {
        let pin = match &self.pin_env {
            Some(var) => {
                Zeroizing::new(std::env::var(var).with_context(|| format!("${var} is not set"))?)
            }
            None => {
                let mut line = Zeroizing::new(String::new());
                std::io::stdin().lock().read_line(&mut line)?;
                Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
            }
        };
        Ok(pin)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Login {
            wallet,
            pin,
            server,
            email,
            password_env,
            session,
        } => {
            let password = Zeroizing::new(
                std::env::var(&password_env)
                    .with_context(|| format!("${password_env} is not set"))?,
            );
            let mut client = wallet.open()?;
            client.unlock(pin.read()?.as_bytes())?;
            let wallet = Arc::new(Mutex::new(client));
            let request = LoginRequest {
                server: &server,
                email: &email,
                password: &password,
                session_file: &session,
            };
            let ended = runtime()?.block_on(async {
                let file = driver::login(&wallet, &request).await?;
                // Scripts and tests wait for this line.
                println!("signed in: session {}", file.session_id);
                driver::keep_presence(&wallet, &file).await
            });
            if let Ok(mut w) = wallet.lock() {
                // The wallet may be gone (that may be why the session ended).
                let _ = w.lock();
            }
            // Whoever started the driver may have stopped reading; the exit code says it all.
            let mut stdout = std::io::stdout();
            match ended? {
                Ended::Server(reason) if reason == "session_ended" => {
                    let _ = writeln!(stdout, "session ended");
                    Ok(())
                }
                other => {
                    let _ = writeln!(stdout, "session lost: {other:?}");
                    std::process::exit(3)
                }
            }
        }
        Command::Call {
            session,
            target,
            method,
            json,
        } => {
            let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .context("not an HTTP method")?;
            let body = json
                .map(|j| serde_json::from_str::<serde_json::Value>(&j))
                .transpose()
                .context("--json is not JSON")?;
            let (status, text) =
                runtime()?.block_on(driver::call(&session, method, &target, body.as_ref()))?;
            println!("{status}\n{text}");
            if (200..300).contains(&status) {
                Ok(())
            } else {
                std::process::exit(4)
            }
        }
        Command::Logout { session } => runtime()?.block_on(driver::logout(&session)),
        Command::Init {
            state,
            pin,
            import_key_env,
            kdf_memory_kib,
            kdf_passes,
        } => init(
            &state,
            &pin,
            import_key_env.as_deref(),
            kdf_memory_kib,
            kdf_passes,
        ),
        Command::Device {
            state,
            line,
            frame_timeout_ms,
            idle_lock_s,
        } => {
            let timers = Timers {
                frame_timeout: Duration::from_millis(frame_timeout_ms),
                idle_lock: Duration::from_secs(idle_lock_s),
            };
            device(&state, &line, timers)
        }
        Command::Info { wallet } => {
            let info = wallet.open()?.get_info()?;
            println!(
                "{} protocol {} {:?}, {} PIN tries left",
                info.firmware, info.protocol, info.state, info.tries_left
            );
            Ok(())
        }
        Command::Address { wallet, pin } => {
            let mut client = wallet.open()?;
            client.unlock(pin.read()?.as_bytes())?;
            let address = client.get_address()?;
            client.lock()?;
            println!("{}", eth::checksummed(&address));
            Ok(())
        }
        Command::Sign {
            wallet,
            pin,
            text,
            kind,
        } => {
            let mut client = wallet.open()?;
            client.unlock(pin.read()?.as_bytes())?;
            let signature = match kind {
                Kind::Message => client.sign_message(&text)?,
                Kind::Delegation => client.sign_delegation(&text)?,
                Kind::Presence => client.sign_presence(&text)?,
            };
            client.lock()?;
            println!("{signature}");
            Ok(())
        }
    }
}

fn init(state: &Path, pin: &PinArg, import: Option<&str>, m_kib: u32, t: u32) -> Result<()> {
    let key = match import {
        Some(var) => {
            let digits =
                Zeroizing::new(std::env::var(var).with_context(|| format!("${var} is not set"))?);
            let mut bytes = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(digits.trim_start_matches("0x"), bytes.as_mut())
                .context("the key is not 64 hex digits")?;
            Some(SigningKey::from_slice(bytes.as_ref()).context("not a secp256k1 key")?)
        }
        None => None,
    };
    let kdf = KdfParams { m_kib, t, p: 1 };
    let address = Device::create(state, pin.read()?.as_bytes(), kdf, key)?;
    println!("{}", eth::checksummed(&address));
    Ok(())
}

fn device(state: &Path, line: &DeviceLine, timers: Timers) -> Result<()> {
    let device = Arc::new(Mutex::new(Device::open(state)?));
    match (&line.serial, line.listen) {
        (Some(path), _) => {
            // `serve_serial` says "serving on" once the port is open and cleared.
            transport::serve_serial(path, &device, timers)
                .with_context(|| format!("serial port {}", path.display()))
        }
        (None, Some(addr)) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (listener, local) = transport::bind(addr).await?;
                // Tests and scripts read the bound address (port 0) from this line.
                println!("listening on {local}");
                transport::serve_tcp(listener, device, timers).await
            })
        }
        (None, None) => bail!("name the line with --serial or --listen"),
    }
}
