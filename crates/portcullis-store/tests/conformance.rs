//! Conformance suite: every repository behaviour the rest of Portcullis relies on, written once
//! (one module per repository under `conformance/`) and run against both backends as
//! `sqlite::<group>::<check>` and `postgres::<group>::<check>`, each on a fresh, migrated
//! database. The PostgreSQL half needs `PORTCULLIS_TEST_PG_URL` (`scripts/test` starts a
//! throw-away cluster and sets it) and fails without it; it never skips. `upgrade` checks a
//! migration against a database that already holds data, once per backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "conformance/fixtures.rs"]
mod fixtures;

#[path = "conformance/accounts.rs"]
mod accounts;
#[path = "conformance/api_keys.rs"]
mod api_keys;
#[path = "conformance/audit.rs"]
mod audit;
#[path = "conformance/cascade.rs"]
mod cascade;
#[path = "conformance/challenges.rs"]
mod challenges;
#[path = "conformance/clients.rs"]
mod clients;
#[path = "conformance/cooldown.rs"]
mod cooldown;
#[path = "conformance/email_tokens.rs"]
mod email_tokens;
#[path = "conformance/factors.rs"]
mod factors;
#[path = "conformance/health.rs"]
mod health;
#[path = "conformance/invitations.rs"]
mod invitations;
#[path = "conformance/otp.rs"]
mod otp;
#[path = "conformance/outbox.rs"]
mod outbox;
#[path = "conformance/pairs.rs"]
mod pairs;
#[path = "conformance/refresh.rs"]
mod refresh;
#[path = "conformance/sessions.rs"]
mod sessions;
#[path = "conformance/throttle.rs"]
mod throttle;
#[path = "conformance/upgrade.rs"]
mod upgrade;
#[path = "conformance/webhooks.rs"]
mod webhooks;
#[path = "conformance/word_checks.rs"]
mod word_checks;

conformance! {
    accounts: [
        create_get_and_find,
        duplicate_email_index_conflicts,
        list_oldest_first_with_limit_and_offset,
        update_pii,
        password_status_roles,
        mark_verified_only_from_pending,
        shred,
        data_keys,
    ],
    email_tokens: [single_use, invalidate, concurrent_consume_once, peek_does_not_spend, shredding_spends_outstanding_tokens],
    sessions: [create_get_list_live, touch, touch_never_revives_an_expired_session, revoke_and_revoke_all, elevate_only_live_sessions, revoked_since_feeds_revocations_in_order],
    refresh: [rotation_and_reuse, invalid_tokens, concurrent_presentation_rotates_once],
    factors: [
        confirm_and_replay_guard,
        concurrent_use_of_one_code_succeeds_once,
        unconfirmed_leftovers_are_purged,
        recovery_codes_are_single_use,
        secrets_replaced_on_confirmation_and_use,
    ],
    otp: [
        single_use_bounded_attempts_and_expiry,
        a_code_is_accepted_once_under_concurrency,
        concurrent_wrong_codes_are_compared_at_most_max_times,
    ],
    challenges: [
        versioned_updates,
        concurrent_updates,
        purge_expired,
        attempts_are_taken_before_answers_are_checked,
    ],
    throttle: [counts_failures, concurrent_failures],
    cooldown: [counts_per_recipient_and_kind_in_a_window, concurrent_sends_are_each_counted],
    outbox: [claims_and_retries, concurrent_claims, erases_payloads(with_db)],
    audit: [chain, concurrent_appends, by_actor_returns_the_latest_in_order],
    health: [ping_and_backend(with_db)],
    api_keys: [
        create_get_find_and_list,
        revocation_is_kept_and_happens_once,
        use_is_recorded_once_per_interval,
    ],
    clients: [create_get_list_and_conflicts, rotate_disable_and_delete, refresh_tokens_name_their_session],
    pairs: [each_side_sees_its_own_pairs, invitations_are_accepted_and_pairs_removed, shredding_an_account_removes_its_pairs, a_batch_lookup_tells_which_pairs_still_exist],
    word_checks: [
        counts_are_bounded_per_pair_side_and_window,
        concurrent_checks_are_counted_up_to_the_bound,
    ],
    invitations: [bounds_are_checked_by_the_insert, the_invited_address_finds_them_and_one_close_wins, a_batch_tells_where_the_parties_of_pairs_stand_and_names_are_kept],
    webhooks: [
        subscriptions_are_stored_rotated_and_removed,
        events_are_written_with_their_change_and_fanned_out_by_type,
        one_account_in_order_others_side_by_side,
        concurrent_claims_hand_out_each_delivery_once,
        payloads_are_erased_once_nothing_waits_for_them(with_db),
    ],
    cascade: [
        shredding_removes_credentials(with_db),
        shredded_accounts_take_no_credentials,
        audit_records_survive_shredding,
    ],
}
