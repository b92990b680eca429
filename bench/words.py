"""Text like chat for the benches: messages of 3 to 20 words from a vocabulary of 20,000 made-up words
whose frequencies follow Zipf's law (the most common word is in about half the messages, as "the" is),
the same for a given seed. `bench/search_bench.py` searches it; `bench/append_bench.py --words` appends it.
"""

from __future__ import annotations

import itertools
import random

SYLLABLES = tuple(f"{consonant}{vowel}" for consonant in "bdfgkl" for vowel in "aeiou")
VOCABULARY_SIZE = 20_000
# A word no message has, planted `RARE_EVERY` events apart: the rare word searches find.
RARE_WORD = "zanzibar"
RARE_EVERY = 100_000


def vocabulary(seed: int = 1) -> list[str]:
    """The words, most common first."""
    chooser = random.Random(seed)
    words: set[str] = set()
    while len(words) < VOCABULARY_SIZE:
        words.add("".join(chooser.choice(SYLLABLES) for _ in range(chooser.randint(1, 4))))
    return sorted(words, key=lambda word: (len(word), word))


class Messages:
    """An endless supply of messages; `message(n)` is the n-th (the rare word in every `RARE_EVERY`-th)."""

    def __init__(self, seed: int = 2) -> None:
        self.words = vocabulary()
        self._weights = list(itertools.accumulate(1 / rank for rank in range(1, len(self.words) + 1)))
        self._random = random.Random(seed)

    def message(self, n: int) -> str:
        chosen = self._random.choices(self.words, cum_weights=self._weights, k=self._random.randint(3, 20))
        if n % RARE_EVERY == RARE_EVERY // 2:
            chosen.append(RARE_WORD)
        return " ".join(chosen)
