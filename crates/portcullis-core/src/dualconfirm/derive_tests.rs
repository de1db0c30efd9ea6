//! Vectors computed independently with Python's `hmac` and `hashlib` (the script is in the
//! comment of each test), so a change in the byte layout of the MAC input shows here.

use super::*;

fn secret() -> PairSecret {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = i as u8;
    }
    PairSecret::from_bytes(bytes)
}

const SCHEDULE: Schedule = Schedule {
    window_secs: 60,
    grace_secs: 10,
};

/// `hmac.new(bytes(range(32)), role + b"\0" + w.to_bytes(8, "big"), sha256)`, first two
/// bytes mod 2048.
#[test]
fn fixed_vectors() {
    let s = secret();
    let cases = [
        (0u64, 753, 1810),
        (1, 13, 1838),
        (29_000_000, 1827, 701),
        (1 << 40, 734, 322),
    ];
    for (window, client, advisor) in cases {
        assert_eq!(
            s.words(window, 2048),
            WordPair { client, advisor },
            "window {window}"
        );
    }
}

/// Window 2117 is the first where both MACs give 1494; the advisor's word moves to
/// `(1494 + 1 + u32(mac[2..6]) % 2047) % 2048` = 554.
#[test]
fn a_collision_moves_the_advisor_word() {
    assert_eq!(
        secret().words(2117, 2048),
        WordPair {
            client: 1494,
            advisor: 554
        }
    );
    assert_eq!(
        secret().words(16, 4),
        WordPair {
            client: 0,
            advisor: 3
        }
    );
}

#[test]
fn the_two_words_of_a_window_always_differ() {
    let s = secret();
    for n in [2u16, 3, 4, 2048] {
        for window in 0..5_000 {
            let pair = s.words(window, n);
            assert_ne!(pair.client, pair.advisor, "n {n} window {window}");
            assert!(pair.client < n && pair.advisor < n);
        }
    }
}

#[test]
fn indices_spread_evenly_over_the_list() {
    // 204,800 windows over 2,048 words: 100 expected per word. A chi-square statistic over
    // 2,047 degrees of freedom lies within 2047 ± 6σ (σ = √4094 ≈ 64) unless biased.
    let s = secret();
    let mut counts = vec![0u32; 2048];
    let windows = 204_800u64;
    for w in 0..windows {
        let pair = s.words(w, 2048);
        counts[usize::from(pair.client)] += 1;
        counts[usize::from(pair.advisor)] += 1;
    }
    let expected = (2 * windows) as f64 / 2048.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum();
    assert!(
        (2047.0 - 6.0 * 64.0..2047.0 + 6.0 * 64.0).contains(&chi2),
        "chi² {chi2}"
    );
}

#[test]
fn different_secrets_give_different_words() {
    let a = secret();
    let b = PairSecret::from_bytes([7; 32]);
    let same = (0..200)
        .filter(|&w| a.words(w, 2048) == b.words(w, 2048))
        .count();
    assert!(same < 3, "{same} of 200 windows agree");
}

#[test]
fn window_edges() {
    assert_eq!(SCHEDULE.window_at(0), 0);
    assert_eq!(SCHEDULE.window_at(59), 0);
    assert_eq!(SCHEDULE.window_at(60), 1);
    assert_eq!(SCHEDULE.next_rotation(0), 60);
    assert_eq!(SCHEDULE.next_rotation(59), 60);
    assert_eq!(SCHEDULE.next_rotation(60), 120);
    assert_eq!(SCHEDULE.accepted_windows(120), (2, Some(1)));
    assert_eq!(SCHEDULE.accepted_windows(129), (2, Some(1)));
    assert_eq!(SCHEDULE.accepted_windows(130), (2, None));
    assert_eq!(
        SCHEDULE.accepted_windows(5),
        (0, None),
        "no window before the first"
    );
}

fn word(i: u16) -> String {
    format!("word{i:04}")
}

#[test]
fn check_accepts_the_current_word_and_the_previous_one_during_the_grace() {
    let s = secret();
    let now = 600 + 5; // window 10, 5 s in
    let current = word(s.words(10, 2048).client);
    let previous = word(s.words(9, 2048).client);
    let older = word(s.words(8, 2048).client);
    let advisor = word(s.words(10, 2048).advisor);
    let check = |heard: &str, now: i64| check(&s, &SCHEDULE, 2048, Role::Client, heard, now, word);
    assert_eq!(check(&current, now), Check::Match { window: 10 });
    assert_eq!(check(&previous, now), Check::Match { window: 9 });
    assert_eq!(check(&previous, 600 + 10), Check::Mismatch, "grace is over");
    assert_eq!(check(&older, now), Check::Mismatch);
    assert_eq!(
        check(&advisor, now),
        Check::Mismatch,
        "the other side's word"
    );
    assert_eq!(check("", now), Check::Mismatch);
    assert_eq!(check(&"x".repeat(100), now), Check::Mismatch);
    assert_eq!(check(&format!("{current}x"), now), Check::Mismatch);
}

#[test]
fn secrets_do_not_print() {
    assert_eq!(format!("{:?}", secret()), "PairSecret(<redacted>)");
}
