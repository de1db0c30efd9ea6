//! Portcullis wallet: the protocol between a hardware wallet and the host that drives it,
//! a software wallet that speaks it, and the host's client.
//!
//! Portcullis signs a user in with an Ethereum wallet (SIWE), then lets that wallet delegate
//! the session to an ephemeral key and answer presence challenges while the session lives.
//! The wallet is meant to be a small device on a serial line (an ESP32-S3); this crate
//! defines what travels on that line ([`codec`], documented for firmware authors in
//! `PROTOCOL.md`), implements a software wallet that keeps its secp256k1 key sealed under
//! a PIN and wipes it after ten wrong PINs ([`device`]), serves it over a serial port or
//! TCP ([`transport`]), and gives the host a [`Client`].
//!
//! Without its default `wallet` feature the crate is `#![no_std]` and holds only [`codec`],
//! so the fuzz target (and anyone porting the codec) builds nothing else.

#![cfg_attr(not(feature = "wallet"), no_std)]
#![warn(missing_docs)]

pub mod codec;

#[cfg(feature = "wallet")]
mod client;
#[cfg(feature = "wallet")]
pub mod device;
#[cfg(feature = "wallet")]
pub mod driver;
#[cfg(feature = "wallet")]
pub mod transport;

#[cfg(feature = "wallet")]
pub use client::{Client, ClientError, WalletInfo};
