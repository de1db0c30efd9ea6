//! The DualConfirm word lists, one per language, chosen per user.
//!
//! Each list holds exactly 2,048 common words of 6–9 letters, so an index taken from two MAC
//! bytes modulo the length is unbiased. They are built by `scripts/wordlists/build.py` (see its
//! README for the rules: no names, no offensive or alarming words, no homophones, no two words
//! one letter or one sound apart) and committed; this module only reads them. French words keep
//! their accents for display, while a heard word is compared on [`normalise`]d forms, which the
//! build keeps unique within a list.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// The language of a word list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    /// English: letters a–z only.
    En,
    /// French: accented spellings for display.
    Fr,
}

impl Language {
    /// Every language that has a list.
    pub const ALL: [Language; 2] = [Language::En, Language::Fr];

    /// The code stored with a user's preference: `"en"` or `"fr"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
        }
    }
}

/// A language code that has no word list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLanguage;

impl fmt::Display for UnknownLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no DualConfirm word list for this language")
    }
}

impl std::error::Error for UnknownLanguage {}

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        match code {
            "en" => Ok(Language::En),
            "fr" => Ok(Language::Fr),
            _ => Err(UnknownLanguage),
        }
    }
}

/// One language's words, in the committed file's order (an index must mean the same word on
/// every server, so the files are never reordered without rotating every pair's words).
#[derive(Debug)]
pub struct WordList {
    language: Language,
    words: Vec<&'static str>,
}

static EN: LazyLock<WordList> =
    LazyLock::new(|| WordList::parse(Language::En, include_str!("words/en.txt")));
static FR: LazyLock<WordList> =
    LazyLock::new(|| WordList::parse(Language::Fr, include_str!("words/fr.txt")));

impl WordList {
    /// The list for `language`, parsed once from the text compiled into the binary.
    pub fn get(language: Language) -> &'static WordList {
        match language {
            Language::En => &EN,
            Language::Fr => &FR,
        }
    }

    fn parse(language: Language, text: &'static str) -> Self {
        let words = text
            .lines()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        WordList { language, words }
    }

    /// The language of this list.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The word at `index` modulo the list's length, spelt for display.
    pub fn word(&self, index: u16) -> &'static str {
        let i = usize::from(index) % self.words.len().max(1);
        self.words.get(i).copied().unwrap_or_default()
    }

    /// How many words the list holds (2,048), as the `u16` the derivation takes.
    pub fn len(&self) -> u16 {
        u16::try_from(self.words.len()).unwrap_or(u16::MAX)
    }

    /// Whether the list is empty (never, for a committed list).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// The form heard words are compared on: lowercase, accents and ligatures spelt out in plain
/// letters, spaces, hyphens and apostrophes dropped. Typing what one heard should not fail on
/// "Élégant", "elegant " or "élé-gant"; decomposed accents (e + U+0301) are dropped too.
pub fn normalise(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars().flat_map(char::to_lowercase) {
        match c {
            c if c.is_whitespace() => {}
            '-' | '\'' | '\u{2010}'..='\u{2015}' | '\u{2019}' | '\u{0300}'..='\u{036f}' => {}
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const DENY: [(Language, &str); 2] = [
        (
            Language::En,
            include_str!("../../../../scripts/wordlists/deny_en.txt"),
        ),
        (
            Language::Fr,
            include_str!("../../../../scripts/wordlists/deny_fr.txt"),
        ),
    ];

    /// The denylist syntax of `build.py`: `stem` a prefix, `*frag` anywhere, `=word` exact;
    /// entries are returned normalised, with their marker.
    fn deny_entries(deny: &str) -> Vec<(char, String)> {
        deny.lines()
            .map(|l| l.split('#').next().unwrap_or_default().trim())
            .filter(|l| !l.is_empty())
            .map(|l| match l.chars().next() {
                Some(m @ ('*' | '=')) => (m, normalise(&l[1..])),
                _ => (' ', normalise(l)),
            })
            .collect()
    }

    fn denied(entries: &[(char, String)], word: &str) -> Option<String> {
        let word = normalise(word);
        let hit = |(m, e): &&(char, String)| match m {
            '*' => word.contains(e.as_str()),
            '=' => word == *e,
            _ => word.starts_with(e.as_str()),
        };
        entries.iter().find(hit).map(|(_, e)| e.clone())
    }

    #[test]
    fn each_list_has_2048_unique_words_of_6_to_9_letters() {
        for lang in Language::ALL {
            let list = WordList::get(lang);
            assert_eq!(list.len(), 2048, "{lang:?}");
            assert_eq!(list.language(), lang);
            let unique: HashSet<_> = list.words.iter().collect();
            assert_eq!(unique.len(), 2048, "{lang:?} has duplicates");
            for w in &list.words {
                assert!((6..=9).contains(&w.chars().count()), "{w}");
                let letters_ok = match lang {
                    Language::En => w.chars().all(|c| c.is_ascii_lowercase()),
                    Language::Fr => w
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || "àâäçéèêëîïôöùûüÿ".contains(c)),
                };
                assert!(letters_ok, "{lang:?}: {w}");
            }
        }
    }

    #[test]
    fn normalised_forms_are_unique_and_plain() {
        for lang in Language::ALL {
            let mut seen = HashSet::new();
            for w in &WordList::get(lang).words {
                let n = normalise(w);
                assert!(n.chars().all(|c| c.is_ascii_lowercase()), "{w} -> {n}");
                assert!(seen.insert(n), "{lang:?}: {w} collides once normalised");
            }
        }
    }

    #[test]
    fn no_listed_word_is_denied() {
        for (lang, deny) in DENY {
            let entries = deny_entries(deny);
            assert!(entries.len() > 300, "{lang:?}");
            for w in &WordList::get(lang).words {
                assert_eq!(denied(&entries, w), None, "{lang:?}: {w}");
            }
        }
        assert!(denied(&deny_entries(DENY[0].1), "killers").is_some());
        assert!(denied(&deny_entries(DENY[1].1), "Décès").is_some());
        assert!(denied(&deny_entries(DENY[1].1), "violon").is_none());
    }

    #[test]
    fn word_wraps_around_the_list() {
        let list = WordList::get(Language::Fr);
        assert_eq!(list.word(2048), list.word(0));
        assert_eq!(list.word(u16::MAX), list.word(u16::MAX % 2048));
        assert_ne!(list.word(0), list.word(1));
    }

    #[test]
    fn normalise_forgives_case_accents_spaces_and_hyphens() {
        assert_eq!(normalise("  Élégant "), "elegant");
        assert_eq!(normalise("ÉLÉGANT"), "elegant");
        assert_eq!(normalise("e\u{301}le\u{301}gant"), "elegant");
        assert_eq!(normalise("Cœur"), "coeur");
        assert_eq!(normalise("arc-en-ciel"), "arcenciel");
        assert_eq!(normalise("week end\u{a0}"), "weekend");
        assert_eq!(normalise("Garçon"), "garcon");
        assert_eq!(normalise("Window"), "window");
    }

    #[test]
    fn language_codes_round_trip() {
        for lang in Language::ALL {
            assert_eq!(lang.as_str().parse::<Language>(), Ok(lang));
        }
        assert_eq!("de".parse::<Language>(), Err(UnknownLanguage));
        assert_eq!("EN".parse::<Language>(), Err(UnknownLanguage));
    }
}
