"""Near-duplicate sketch: MinHash signatures and LSH band keys (pure, no database).

A syndicated copy (same story at another URL, with a new headline, an added
attribution line, a cut last paragraph, typo fixes or another dateline) shares
most of its word 3-shingles with the original; an independent report of the
same event shares names and numbers but hardly any 3-word runs. The store keeps
``to_bytes(signature(text))`` per article and one ``band_keys`` row per band;
a lookup selects the articles sharing any (band, band_hash) with the new text
(index lookups, so the cost does not grow with the table) and keeps those for
which ``is_near_duplicate`` holds. Pass both texts to it: the number check is
what keeps same-template bulletins of different days apart (see below).

Measured on tests/dedup_eval.py (213 labelled copies, 101 hard negatives; run
``python tests/dedup_eval.py``) and bench/similarity_speed.py.

Cross-language copies (one wire story in English and in Russian) are out of
scope: their shingles share nothing. The way to catch them would be a second,
language-independent sketch: embed the lede with a multilingual sentence model
(or machine-translate it to English and shingle that), compare only articles
published within a day or two of each other, and require the numbers and
named places to agree, since translation keeps those and embeddings blur them.
"""
from __future__ import annotations

import re
import zlib
from collections import defaultdict
from itertools import groupby

import numpy as np

# 3-word shingles separate best (exact Jaccard over the eval set): the 1st
# percentile of copies over the highest negative is 0.52/0.18 for k=3,
# 0.55/0.20 for k=2, 0.47/0.17 for k=4, 0.39/0.16 for k=5.
SHINGLE_WORDS = 3

# Estimated Jaccard in the eval: copies p5 0.64, median 0.92; same-site,
# same-template and same-event negatives at most 0.20, and any two of the 181
# corpus articles and 24 same-event reports at most 0.16. 0.5 lies in that gap,
# 8 standard errors of the estimate (0.036 at 192 permutations) above the
# highest negative: recall 0.991 (2 misses: a short copy that lost a third of
# its text, one cut below MIN_TEXT_CHARS) with zero false merges; over SEEDs
# 1-8, recall 0.981-0.991 and never a false merge. Same-template bulletins of
# different days score 0.52-0.71: the number check rejects them.
NEAR_DUPLICATE_THRESHOLD = 0.5

# LSH S-curve P(candidate) = 1 - (1 - J**ROWS)**BANDS: 0.955 at J = 0.5, 0.990
# at 0.55, 0.999 at 0.6 (copies are at p5 0.64), so a copy above the threshold
# is almost never missed by the band filter (no miss in the eval, over 8
# seeds). ROWS = 4 rather than 3 keeps boilerplate-sharing neighbours out of
# the candidates: 0.5% at J = 0.1 and 7% at 0.2, against 4% and 29% for
# 42 bands of 3. 128 permutations with 32 bands of 4 reach only 0.87 at 0.5.
BANDS = 48
ROWS = 4
NUM_PERM = BANDS * ROWS

# Below about 30 words a changed headline or an attribution line rewrites half
# the shingles, and two bodies of 150 characters in the same 2-3 sentence site
# template reach 0.56 (200 characters: 0.49). Title-only feed entries are left
# to the exact (URL, GUID, content hash) deduplication. Counted on the
# normalized words, so markup and whitespace do not count.
MIN_TEXT_CHARS = 200

# Persisted signatures and band keys are only comparable under the same SEED,
# NUM_PERM and shingle hash: changing any of them needs a re-sketch of the table.
SEED = 1

# Shingles are hashed and permuted in blocks of this many, so that a huge text
# needs NUM_PERM x 4096 x 8 bytes (6 MB) of scratch memory, not more.
SHINGLES_PER_BLOCK = 4096

_WORD = re.compile(r"\w+")
# A signature keeps the top 32 bits of each permuted 64-bit hash: 4 bytes each.
_SIGNATURE_DTYPE = np.dtype("<u4")
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer, in place: every input bit flips about half the output bits."""
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


def _fixed_constants(count: int) -> np.ndarray:
    """The splitmix64 stream from SEED. Not numpy's random generators: their
    streams may change between numpy versions, and these values are persisted."""
    counter = np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN_GAMMA + np.uint64(SEED)
    return _mix(counter)


# Odd multipliers make every permutation x -> a * x + b (mod 2**64) a bijection;
# with well-mixed inputs its minimum is as good as datasketch's (a * x + b) mod
# (2**61 - 1): the same bias and spread of the estimate on the evaluation pairs.
_CONSTANTS = _fixed_constants(2 * NUM_PERM + max(SHINGLE_WORDS, ROWS))
_PERMUTE_MULTIPLY = (_CONSTANTS[:NUM_PERM] | np.uint64(1)).reshape(NUM_PERM, 1)
_PERMUTE_ADD = _CONSTANTS[NUM_PERM : 2 * NUM_PERM].reshape(NUM_PERM, 1)
_COLUMN_WEIGHTS = _CONSTANTS[2 * NUM_PERM :] | np.uint64(1)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _shingles_of(words: list[str]) -> set[bytes]:
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {
        " ".join(words[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def shingles(text: str) -> set[bytes]:
    """Word 3-shingles over casefolded Unicode words (Latin, Cyrillic, Armenian...):
    the set whose Jaccard similarity a signature estimates.
    Scripts written without spaces (Chinese, Japanese) give clause-long words:
    copies still match, with less tolerance for edits."""
    return _shingles_of(_words(text))


def signature(text: str) -> np.ndarray | None:
    """MinHash of the text's shingles, or None when the text is too short to sketch.

    Hashes each word once (CRC-32, a C call) and every shingle and permutation
    with numpy: 0.18 ms for 3 KB of text, against 0.59 ms for datasketch's
    SHA-1 per shingle and modulo per permutation (bench/similarity_speed.py)."""
    words = _words(text)
    if sum(map(len, words)) + len(words) - 1 < MIN_TEXT_CHARS:
        return None
    shingle_hashes = _shingle_hashes(words)
    minimum = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(shingle_hashes), SHINGLES_PER_BLOCK):
        permuted = _PERMUTE_MULTIPLY * shingle_hashes[start : start + SHINGLES_PER_BLOCK]
        permuted += _PERMUTE_ADD
        np.minimum(minimum, permuted.min(axis=1), out=minimum)
    # The top bits of a multiply-add are its well-mixed ones.
    return (minimum >> np.uint64(32)).astype(_SIGNATURE_DTYPE)


def _shingle_hashes(words: list[str]) -> np.ndarray:
    """One 64-bit hash per word 3-shingle; a repeated shingle repeats its hash,
    which cannot change a minimum."""
    word_hashes = np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words))
    if len(word_hashes) < SHINGLE_WORDS:  # a text of fewer words is one shingle, as in shingles()
        word_hashes = np.pad(word_hashes, (0, SHINGLE_WORDS - len(word_hashes)))
    count = len(word_hashes) - SHINGLE_WORDS + 1
    return _hash_columns([word_hashes[i : i + count] for i in range(SHINGLE_WORDS)])


def _hash_columns(columns: list[np.ndarray]) -> np.ndarray:
    """One 64-bit hash per position of equally long uint64 columns."""
    combined = np.zeros(len(columns[0]), dtype=np.uint64)
    for column, weight in zip(columns, _COLUMN_WEIGHTS):
        combined += column * weight
    return _mix(combined)


def to_bytes(sig: np.ndarray) -> bytes:
    return np.asarray(sig, dtype=_SIGNATURE_DTYPE).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=_SIGNATURE_DTYPE).copy()


def many_from_bytes(blobs: list[bytes]) -> np.ndarray:
    """Stored signatures as the rows of one array (one copy for all, not one each)."""
    return np.frombuffer(b"".join(blobs), dtype=_SIGNATURE_DTYPE).reshape(len(blobs), NUM_PERM)


def band_keys(sig: np.ndarray) -> list[tuple[int, int]]:
    """(band index, signed 64-bit hash of the band's rows): fits SMALLINT, BIGINT.
    A stable hash, unlike hash(): keys are persisted and shared by processes."""
    rows = np.asarray(sig, dtype=_SIGNATURE_DTYPE).reshape(BANDS, ROWS).astype(np.uint64)
    keys = _hash_columns(list(rows.T)).view(np.int64)
    return list(enumerate(keys.tolist()))


def estimated_similarity(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def is_near_duplicate(
    sig_a: np.ndarray, sig_b: np.ndarray, text_a: str | None = None, text_b: str | None = None
) -> bool:
    """Same story copy: estimated Jaccard at the threshold and, when both texts
    are given, no sentence frame carrying different numbers in the two."""
    if estimated_similarity(sig_a, sig_b) < NEAR_DUPLICATE_THRESHOLD:
        return False
    if text_a is None or text_b is None:
        return True
    return not _numbers_conflict(text_a, text_b)


def _numbers_conflict(text_a: str, text_b: str) -> bool:
    """True when a number between the same two words differs ("On October 3,
    from" vs "On October 5, from"): the mark of one template filled in for
    another day, place or toll. Copies only lose or gain numbers (a cut
    paragraph, a dateline), they do not change them. An updated toll at
    another URL is therefore kept as its own article."""
    numbers_a, numbers_b = _numbers_by_frame(text_a), _numbers_by_frame(text_b)
    return any(
        numbers_a[frame].isdisjoint(numbers_b[frame])
        for frame in numbers_a.keys() & numbers_b.keys()
    )


def _numbers_by_frame(text: str) -> dict[tuple[str, str], set[str]]:
    """Each run of number words ("18 10" from 18:10, "1 960" from 1,960) under
    the words just before and after it."""
    runs = [(is_number, list(words)) for is_number, words in groupby(_words(text), key=str.isdecimal)]
    frames: dict[tuple[str, str], set[str]] = defaultdict(set)
    for i, (is_number, numbers) in enumerate(runs):
        if is_number:
            before = runs[i - 1][1][-1] if i > 0 else ""
            after = runs[i + 1][1][0] if i + 1 < len(runs) else ""
            frames[before, after].add(" ".join(numbers))
    return frames
