"""Synthetic task factory: 230 seeded tasks in seven families for training the parameter generator.

The generator maps a batch of a task's prompts (user turn only, no system instruction) to a LoRA, so
every task but the bare questions states what it wants in the prompt itself: the operation, the
answer format, the label set or the output wrapper is written in the prompt text, and the response
is a deterministic function of the prompt. Tasks of one family share a behaviour type; tasks within a family differ in behaviour
(operation, answer format, label vocabulary, output wrapper), never only in wording, and each task
has its own instruction text, so no prompt occurs in two tasks.

Families (``FAMILIES`` has one line each):

- ``synth-transform`` (42): word-level rewrites of a short generated sentence (capitals, small letters,
  title case, reverse or sort the words, 2nd / last / longest word, first three words, acronym,
  hyphen / underscore joins, swap first and last) x wrapper (plain, ``[...]``, ``"..."``), and the
  word count in three answer formats (kind math); the rest are generation.
- ``synth-arith`` (40): small-number arithmetic (add, subtract, multiply, max / min of three,
  difference, sum of three, average, two word problems) x answer format (``The answer is N.``,
  ``#### N``, ``Answer: N``, a worked line then ``The answer is N.``) x prompt style (symbols or
  numbers in words); each operation has all four formats. Kind math.
- ``synth-label`` (42): rule-based labels of generated sentences (contains a digit, mentions an
  animal / food / colour / sport / person, is a question, is long, positive or negative, negated,
  past or future, plural subject, 4-way topic) x label vocabulary named in the prompt (``[yes]/[no]``,
  ``[1]/[0]``, rule words like ``[past]/[future]``; four rules also as yesno ``[True]/[False]``).
  Classes are balanced in every split. Kind classification (yesno for those four).
- ``synth-extract`` (31): one field out of a templated purchase sentence (person, city, day, count,
  colour, items, price) x wrapper (plain, ``[...]``, ``Field: value``), four two-field answers, and
  date / time / place out of an appointment sentence (plain or ``[...]``). Generation, except the
  bracketed colour and day (closed label sets: classification).
- ``synth-choice`` (40): multiple choice with ``A: ...`` option lines (longest / shortest word,
  largest / smallest / even number, which is an animal / food / colour / city, odd one out) x answer
  format (``[B]`` with four or three options: kind mcq; ``(B)`` or the copied ``B: word`` line: kind
  generation, since only ``[B]`` is scored as mcq). Gold letters are balanced.
- ``synth-question`` (17): bare yes/no questions, as BoolQ and StrategyQA are in the app's setting: no
  instruction, every task answers ``[True]`` / ``[False]``, and the tasks differ in what they ask
  (number comparisons, sums, products, multiples, digit sums, categories, list membership, alphabet
  order, word lengths, letters, word counts, a fact stated before the question). Half the rows in
  BoolQ's lower case, half capitalised like StrategyQA. Kind yesno, classes balanced.
- ``synth-format`` (18): lay out a short text (JSON object or list, numbered or bullet lines, one word
  a line, commas, repeated, HTML / XML / Markdown wrappers, proper sentence, each word bracketed or
  quoted, word count as JSON, a name and city as JSON or CSV). Generation.

Kinds follow ``trainer.tasks.staged``: every accuracy-kind response parses back to its own gold with
``Task.parse``. The math formats without "The answer is" / "####" (``Answer: N`` and the plain word
count) end with the answer, so ``parse_number`` still finds it, but ``staged.infer_kind`` reads such a
task as generation: write the kind to the datasets' ``manifest.json``.

Seeding: each task draws from ``random.Random(f"{seed}-{task name}")`` (string seeds go through
SHA-512, so the rows are the same bytes in every process whatever PYTHONHASHSEED is; no ``hash()``
and no set iteration decide anything). A different seed gives different rows; the task list (names,
kinds, descriptions, instructions) does not depend on the seed.

Sizes: ``train_rows`` and ``test_rows`` rows per task (defaults 300 / 60). Prompts are distinct within
a task and test prompts never occur in that task's train rows. Each task can supply at least 2,000
distinct prompts (the multiplication tasks hold the fewest, 2,156; most hold tens of thousands);
``synthetic_tasks`` raises ``ValueError`` when asked for more than a task holds.
Texts are short for a 26.5M-parameter model trained at up to 256 tokens. Measured at the defaults
(seed 0) with the base model's tokenizer: prompts 27 tokens median, 55 at most (under 200
characters); responses 3 tokens median, 36 at most (under 100 characters), 99.7 % under 30.
Pure code: no files, no network, standard library only.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

FAMILIES: Dict[str, str] = {
    "synth-transform": "word-level rewrites of a short sentence (case, order, selection, acronym, joins, word count), wrapper named in the prompt",
    "synth-arith": "small-number arithmetic and word problems in symbols or words, answer format named in the prompt",
    "synth-label": "rule-based labels of a generated sentence (keywords, form, tense, sentiment, topic), label set named in the prompt",
    "synth-extract": "one or two fields out of a templated sentence (person, city, day, count, colour, items, price, date, time, place)",
    "synth-choice": "multiple choice over A:/B:/C: option lines (lengths, numbers, categories, odd one out), answer format named in the prompt",
    "synth-format": "lay a short text out as JSON, CSV, lists, lines, HTML/XML/Markdown, proper sentence",
    "synth-question": "bare yes/no questions (numbers, words, categories, a stated fact) answered [True]/[False] with no instruction",
}


@dataclass
class SyntheticTask:
    name: str  # "synth/<family>/<variant>"
    family: str  # "synth-<family>"
    kind: str  # mcq | yesno | classification | math | generation
    description: str  # one line: what the task asks
    train: List[dict]  # {"prompt", "response", "system": ""}
    test: List[dict]


# (rng, index of the row in its split) -> (prompt, response), or None to draw again. The index lets a
# task balance its classes / gold letters exactly (class = index % number of classes).
Draw = Callable[[random.Random, int], Optional[Tuple[str, str]]]


@dataclass(frozen=True)
class _Spec:
    family: str  # without the "synth-" prefix
    variant: str
    kind: str
    description: str
    draw: Draw

    @property
    def name(self) -> str:
        return f"synth/{self.family}/{self.variant}"


def synthetic_tasks(seed: int = 0, train_rows: int = 300, test_rows: int = 60) -> List[SyntheticTask]:
    """All synthetic tasks, in a fixed order, with ``train_rows`` / ``test_rows`` rows each."""
    if int(train_rows) < 1 or int(test_rows) < 1:
        raise ValueError(f"train_rows and test_rows must be at least 1 (got {train_rows}, {test_rows})")
    return [_build(s, seed, int(train_rows), int(test_rows)) for s in _specs()]


def _build(spec: _Spec, seed: int, n_train: int, n_test: int) -> SyntheticTask:
    rng = random.Random(f"{seed}-{spec.name}")
    seen = set()  # membership only: iteration order never reaches the output
    splits = []
    for n in (n_train, n_test):
        rows: List[dict] = []
        tries = 0
        while len(rows) < n:
            tries += 1
            if tries > 50 * n + 2000:
                raise ValueError(f"{spec.name}: could not draw {n_train + n_test} distinct prompts "
                                 f"(got {len(seen)}); ask for fewer rows")
            pair = spec.draw(rng, len(rows))
            if pair is None or pair[0] in seen:
                continue
            seen.add(pair[0])
            rows.append({"prompt": pair[0], "response": pair[1], "system": ""})
        rng.shuffle(rows)  # rows were drawn class after class
        splits.append(rows)
    return SyntheticTask(spec.name, f"synth-{spec.family}", spec.kind, spec.description, splits[0], splits[1])


# --------------------------------------------------------------------------------------------------
# Word lists. Categories are disjoint; nouns take a regular plural (see _plural).

ANIMALS = ("cat", "dog", "horse", "rabbit", "tiger", "lion", "bear", "fox", "goat", "duck", "owl", "frog",
           "snake", "whale", "shark", "eagle", "monkey", "zebra", "camel", "otter", "turtle", "pig", "cow",
           "hen", "bee", "parrot", "donkey", "spider", "panda", "kitten")
FOODS = ("apple", "cake", "banana", "carrot", "pizza", "cookie", "egg", "lemon", "grape", "pear", "mango",
         "melon", "onion", "bean", "noodle", "pie", "sandwich", "pancake", "muffin", "biscuit", "pickle",
         "waffle", "radish", "cupcake", "donut", "bagel", "pretzel", "taco", "burger", "walnut")
COLOURS = ("red", "blue", "green", "yellow", "black", "white", "purple", "pink", "brown", "grey", "silver",
           "golden")
SPORTS = ("tennis", "soccer", "golf", "hockey", "rugby", "boxing", "netball", "baseball", "basketball",
          "skiing", "cycling", "rowing", "swimming", "volleyball", "surfing", "karate", "judo", "badminton",
          "archery", "sailing")
OBJECTS = ("table", "chair", "window", "door", "book", "lamp", "house", "road", "box", "bottle", "cup", "hat",
           "coat", "shoe", "ball", "bag", "car", "boat", "train", "bridge", "tree", "stone", "letter", "key",
           "clock", "bell", "basket", "spoon", "drum", "map", "pen", "rope", "tent", "wall", "candle", "plate",
           "shirt", "ladder", "bucket", "mirror")
PLACES = ("library", "park", "station", "museum", "market", "school", "harbour", "garden", "bakery", "cinema",
          "hospital", "airport", "theatre", "stadium", "zoo", "beach", "castle", "church", "office", "cafe",
          "bank", "hotel", "farm", "gallery")
NAMES = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jack", "Kate", "Leo",
         "Maya", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wendy", "Xena",
         "Yara", "Zoe", "Omar", "Lucy", "Mark", "Nina", "Oscar", "Pedro", "Ruth", "Simon", "Tom", "Alice",
         "Carl", "Diana", "Eric", "Fiona")
CITIES = ("Paris", "London", "Berlin", "Madrid", "Rome", "Vienna", "Dublin", "Oslo", "Lisbon", "Prague",
          "Warsaw", "Athens", "Cairo", "Tokyo", "Seoul", "Delhi", "Lima", "Boston", "Chicago", "Denver",
          "Sydney", "Toronto", "Moscow", "Nairobi", "Bangkok", "Hanoi", "Quito", "Riga", "Milan", "Munich")
ADJECTIVES = ("small", "big", "old", "young", "quiet", "tall", "short", "round", "soft", "heavy", "warm",
              "cold", "fast", "slow", "clean", "new", "wild", "busy", "tiny", "huge", "calm", "loud",
              "strong", "sleepy", "empty", "flat", "thin", "wide", "dusty", "shiny")
POSITIVE = ("lovely", "wonderful", "happy", "excellent", "delightful", "pleasant", "amazing", "brilliant",
            "cheerful", "fantastic", "superb", "joyful", "perfect", "charming", "beautiful")
NEGATIVE = ("terrible", "awful", "sad", "horrible", "dreadful", "miserable", "boring", "nasty", "ugly",
            "gloomy", "dull", "broken", "angry", "rude", "dirty")
VERBS = (("see", "saw"), ("find", "found"), ("carry", "carried"), ("push", "pushed"), ("paint", "painted"),
         ("move", "moved"), ("watch", "watched"), ("like", "liked"), ("clean", "cleaned"), ("open", "opened"),
         ("follow", "followed"), ("drop", "dropped"), ("lift", "lifted"), ("wash", "washed"), ("hide", "hid"),
         ("kick", "kicked"), ("pull", "pulled"), ("touch", "touched"), ("chase", "chased"), ("hold", "held"),
         ("fix", "fixed"), ("want", "wanted"), ("bring", "brought"), ("take", "took"), ("keep", "kept"),
         ("hear", "heard"), ("draw", "drew"))
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_DETS = ("the", "my", "her", "his", "our", "this", "that", "one")
_NOUNS = OBJECTS + ANIMALS + FOODS
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _words(n: int) -> str:
    """0..999 in English words ("forty-two", "three hundred five")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    rest = n % 100
    return f"{_ONES[n // 100]} hundred" + ("" if rest == 0 else " " + _words(rest))


# Phrase patterns: D determiner, A adjective or colour, N noun, V past-tense verb, P preposition.
_PHRASE_PATTERNS = ("DNVDN", "DANVDN", "DNVDAN", "DANVDAN", "DNVDNPDN")
_SHORT_PATTERN = "DAN"
_SLOTS = {"D": _DETS, "A": ADJECTIVES + COLOURS, "N": _NOUNS, "V": tuple(p for _, p in VERBS),
          "P": ("near", "under", "behind", "with")}


def _phrase(rng: random.Random, short: bool = False) -> List[str]:
    """A lowercase sentence without punctuation as a word list: 5-8 words, or 3-8 when ``short``."""
    patterns = _PHRASE_PATTERNS + ((_SHORT_PATTERN,) if short else ())
    return [rng.choice(_SLOTS[c]) for c in rng.choice(patterns)]


def _wrap(kind: str, text: str) -> str:
    return {"plain": text, "brackets": f"[{text}]", "quotes": f'"{text}"'}[kind]


_WRAP_CUES = {"plain": "", "brackets": "Put the answer in square brackets.", "quotes": "Put the answer in double quotes."}
_WRAP_WORDS = {"plain": "plain", "brackets": "in square brackets", "quotes": "in double quotes"}


def _join(*lines: str) -> str:
    return "\n".join(x for x in lines if x)


# --------------------------------------------------------------------------------------------------
# synth-transform

def _longest(w: Sequence[str]) -> Optional[str]:
    top = max(len(x) for x in w)
    hits = [x for x in w if len(x) == top]
    return hits[0] if len(set(hits)) == 1 else None  # a repeated longest word is still one answer


# key, instruction ({t} = the text), what it does, the answer from the word list (None: redraw), input case
_TRANSFORMS = (
    ("upper", "Rewrite in capital letters: {t}", "rewrite in capital letters", lambda w: " ".join(w).upper(), "lower"),
    ("lower", "Rewrite in small letters: {t}", "rewrite a capitalised text in small letters", lambda w: " ".join(w), "upper"),
    ("title", "{t}\nCapitalize the first letter of every word.", "capitalise every word", lambda w: " ".join(x.capitalize() for x in w), "lower"),
    ("reverse", "Reverse the order of the words: {t}", "reverse the word order", lambda w: " ".join(reversed(w)), "lower"),
    ("sort", "{t}\nSort the words alphabetically.", "sort the words alphabetically", lambda w: " ".join(sorted(w)), "lower"),
    ("second", "What is the second word? {t}", "give the second word", lambda w: w[1], "lower"),
    ("last", "{t}\nWhat is the last word?", "give the last word", lambda w: w[-1], "lower"),
    ("first-three", "Keep only the first three words: {t}", "keep the first three words", lambda w: " ".join(w[:3]), "lower"),
    ("longest", "Which word is the longest? {t}", "give the longest word", _longest, "lower"),
    ("acronym", "Write the first letter of each word, in capitals: {t}", "acronym of the first letters",
     lambda w: "".join(x[0] for x in w).upper(), "lower"),
    ("hyphens", "Join the words with hyphens: {t}", "join the words with hyphens", lambda w: "-".join(w), "lower"),
    ("underscores", "{t}\nJoin the words with underscores.", "join the words with underscores", lambda w: "_".join(w), "lower"),
    ("swap", "Swap the first and the last word: {t}", "swap the first and last word", lambda w: " ".join([w[-1]] + list(w[1:-1]) + [w[0]]), "lower"),
)

# math answer formats: key -> (cue in the prompt, response)
_COUNT_FORMATS = {
    "plain": ("Reply with just the number.", lambda r: str(r)),
    "answer": ("End with: The answer is <number>.", lambda r: f"The answer is {r}."),
    "hash": ("Give the number after ####.", lambda r: f"#### {r}"),
}


def _transform_draw(template: str, fn, case: str, wrapper: str) -> Draw:
    def draw(rng: random.Random, i: int):
        w = _phrase(rng)
        out = fn(w)
        if out is None:
            return None
        text = " ".join(w).upper() if case == "upper" else " ".join(w)
        return _join(template.format(t=text), _WRAP_CUES[wrapper]), _wrap(wrapper, out)
    return draw


def _count_draw(fmt: str) -> Draw:
    cue, resp = _COUNT_FORMATS[fmt]

    def draw(rng: random.Random, i: int):
        w = _phrase(rng)
        return _join(f"How many words are in this text? {' '.join(w)}", cue), resp(len(w))
    return draw


def _transform_specs() -> List[_Spec]:
    out = []
    for key, template, what, fn, case in _TRANSFORMS:
        for wrapper in ("plain", "brackets", "quotes"):
            out.append(_Spec("transform", f"{key}-{wrapper}", "generation",
                             f"Short sentence: {what}; answer {_WRAP_WORDS[wrapper]}.",
                             _transform_draw(template, fn, case, wrapper)))
    for fmt in _COUNT_FORMATS:
        out.append(_Spec("transform", f"count-words-{fmt}", "math",
                         f"Short sentence: count its words; answer format '{_COUNT_FORMATS[fmt][1]('N')}'.", _count_draw(fmt)))
    return out


# --------------------------------------------------------------------------------------------------
# synth-arith. An operation draws (symbol prompt, prompt in words, result, worked line).

ArithDraw = Callable[[random.Random], Optional[Tuple[str, str, int, str]]]


def _op_add(rng):
    a, b = rng.randint(1, 99), rng.randint(1, 99)
    return f"{a} + {b} =", f"What is {_words(a)} plus {_words(b)}?", a + b, f"{a} + {b} = {a + b}."


def _op_sub(rng):
    a = rng.randint(10, 99)
    b = rng.randint(1, a - 1)
    return f"{a} - {b} =", f"What is {_words(a)} minus {_words(b)}?", a - b, f"{a} - {b} = {a - b}."


def _op_mul(rng):
    a, b = rng.randint(2, 99), rng.randint(2, 12)
    sym, word = rng.choice((("x", "times"), ("*", "multiplied by")))
    return f"{a} {sym} {b} =", f"What is {_words(a)} {word} {_words(b)}?", a * b, f"{a} x {b} = {a * b}."


def _extreme(fn, word):
    def op(rng):
        xs = rng.sample(range(1, 100), 3)
        r = fn(xs)
        name = fn.__name__
        return (f"{name}({xs[0]}, {xs[1]}, {xs[2]}) =", f"Which is {word}: {_words(xs[0])}, {_words(xs[1])} or {_words(xs[2])}?",
                r, f"{name}({xs[0]}, {xs[1]}, {xs[2]}) = {r}.")
    return op


def _op_absdiff(rng):
    a, b = rng.sample(range(1, 100), 2)
    r = abs(a - b)
    return f"|{a} - {b}| =", f"What is the difference between {_words(a)} and {_words(b)}?", r, f"|{a} - {b}| = {r}."


def _op_sum3(rng):
    a, b, c = (rng.randint(1, 30) for _ in range(3))
    r = a + b + c
    return f"{a} + {b} + {c} =", f"Add {_words(a)}, {_words(b)} and {_words(c)}.", r, f"{a} + {b} + {c} = {r}."


def _op_avg2(rng):
    a, b = rng.sample(range(1, 100), 2)
    if (a + b) % 2:
        return None
    r = (a + b) // 2
    return f"({a} + {b}) / 2 =", f"What is the average of {_words(a)} and {_words(b)}?", r, f"({a} + {b}) / 2 = {r}."


def _story(sub: bool):
    def op(rng):
        name, item = rng.choice(NAMES), _plural(rng.choice(OBJECTS + FOODS))
        a = rng.randint(5, 40)
        b = rng.randint(1, a - 1) if sub else rng.randint(1, 40)
        r = a - b if sub else a + b
        def text(x, y):
            if sub:
                return f"{name} had {x} {item} and gave away {y}. How many {item} are left?"
            return f"{name} has {x} {item} and gets {y} more. How many {item} does {name} have now?"
        return text(a, b), text(_words(a), _words(b)), r, f"{a} {'-' if sub else '+'} {b} = {r}."
    return op


_ARITH_OPS: Tuple[Tuple[str, str, ArithDraw], ...] = (
    ("add", "add two numbers", _op_add),
    ("sub", "subtract two numbers", _op_sub),
    ("mul", "multiply two numbers", _op_mul),
    ("max3", "largest of three numbers", _extreme(max, "largest")),
    ("min3", "smallest of three numbers", _extreme(min, "smallest")),
    ("absdiff", "difference between two numbers", _op_absdiff),
    ("sum3", "add three numbers", _op_sum3),
    ("avg2", "average of two numbers", _op_avg2),
    ("story-add", "word problem: someone gets more items", _story(False)),
    ("story-sub", "word problem: someone gives items away", _story(True)),
)
# key -> (cue in the prompt, response from (result, worked line)); every response ends with the answer
# or names it after "The answer is" / "####", so parse_number recovers it.
_ARITH_FORMATS = {
    "answer": ("End with: The answer is <number>.", lambda r, w: f"The answer is {r}."),
    "hash": ("Give the result after ####.", lambda r, w: f"#### {r}"),
    "colon": ("Reply as Answer: <number>.", lambda r, w: f"Answer: {r}"),
    "worked": ("Show the working, then say: The answer is <number>.", lambda r, w: f"{w} The answer is {r}."),
}
_FORMAT_ORDER = ("answer", "hash", "colon", "worked")


def _arith_draw(op: ArithDraw, style: str, fmt: str) -> Draw:
    cue, resp = _ARITH_FORMATS[fmt]

    def draw(rng: random.Random, i: int):
        got = op(rng)
        if got is None:
            return None
        sym, words, r, worked = got
        return _join(sym if style == "digits" else words, cue), resp(r, worked)
    return draw


def _arith_specs() -> List[_Spec]:
    out = []
    for i, (key, what, op) in enumerate(_ARITH_OPS):
        for k in range(4):  # every operation gets all four formats, two with digits, two in words
            fmt, style = _FORMAT_ORDER[(i + k) % 4], ("digits", "words")[k % 2]
            out.append(_Spec("arith", f"{key}-{style}-{fmt}", "math",
                             f"Arithmetic ({what}), numbers in {style}; answer format '{_ARITH_FORMATS[fmt][1]('N', '<working>')}'.",
                             _arith_draw(op, style, fmt)))
    return out


# --------------------------------------------------------------------------------------------------
# synth-label. One sentence grammar with independent features; a rule forces one feature and leaves
# the others random, so that only the named rule decides the label.

_FEATURE_P = (("animal", 0.35), ("food", 0.35), ("colour", 0.35), ("sport", 0.3), ("number", 0.3),
              ("name", 0.25), ("plural", 0.3), ("question", 0.25), ("negation", 0.25), ("future", 0.3))
_LONG_WORDS = 10  # "long" = more than this many words (about the median of the grammar)


def _np(rng: random.Random, noun: str, adjs: List[str], det: Optional[str] = None) -> str:
    return " ".join([det or rng.choice(("the", "my", "her", "his", "our", "their"))] + adjs + [noun])


def _label_sentence(rng: random.Random, forced: Dict[str, object]) -> str:
    f = {k: bool(forced[k]) if k in forced else rng.random() < p for k, p in _FEATURE_P}
    if f["name"] and f["plural"]:  # a name subject is singular
        f["plural" if "plural" not in forced else "name"] = False
    sentiment = forced["sentiment"] if "sentiment" in forced else rng.choice((None, None, None, "pos", "neg"))
    needed = [c for c in ("animal", "food") if f[c]]
    slots = ["object"] + ([] if f["name"] else ["subject"])
    if len(needed) > len(slots) or rng.random() < 0.5:
        slots.append("pp")
    cats = {s: OBJECTS for s in slots}
    for c, s in zip(needed, rng.sample(slots, len(needed))):
        cats[s] = ANIMALS if c == "animal" else FOODS
    adjs: Dict[str, List[str]] = {s: ([rng.choice(ADJECTIVES)] if rng.random() < 0.4 else []) for s in slots}
    if f["colour"]:
        adjs[rng.choice(slots)].append(rng.choice(COLOURS))
    if sentiment:
        adjs[rng.choice(slots)].insert(0, rng.choice(POSITIVE if sentiment == "pos" else NEGATIVE))
    phrase = {s: _np(rng, rng.choice(cats[s]), adjs[s]) for s in slots}
    if "subject" in phrase and f["plural"]:
        phrase["subject"] = _np(rng, _plural(rng.choice(cats["subject"])), adjs["subject"])
    subj = rng.choice(NAMES) if f["name"] else phrase["subject"]
    base, past = rng.choice(VERBS)
    tail = [phrase["object"]]
    if "pp" in phrase:
        tail.append(f"{rng.choice(('near', 'behind', 'under', 'next to', 'with'))} {phrase['pp']}")
    if f["sport"]:
        tail.append(f"{rng.choice(('after', 'before', 'during'))} {rng.choice(SPORTS)}")
    if f["number"]:
        n = rng.randint(2, 12)
        tail.append(rng.choice((f"for {n} days", f"at {n} pm", f"{n} times")))
    elif not f["sport"] and rng.random() < 0.3:
        tail.append(rng.choice(("again", "at night", "in the morning", "in the rain")))
    aux = "will" if f["future"] else "did"
    neg = " not" if f["negation"] else ""
    if f["question"]:
        head = f"{aux} {subj}{neg} {base}"
    elif f["future"] or f["negation"]:
        head = f"{subj} {aux}{neg} {base}"
    else:
        head = f"{subj} {past}"
    text = " ".join([head] + tail)
    return text[0].upper() + text[1:] + ("?" if f["question"] else ".")


# key, forced feature values for the (true, false) classes, question, condition, own labels (true, false)
_RULES = (
    ("digit", ({"number": True}, {"number": False}), "Does the sentence contain a digit?", "it contains a digit", ("[number]", "[none]")),
    ("animal", ({"animal": True}, {"animal": False}), "Does the sentence mention an animal?", "it mentions an animal", ("[animal]", "[other]")),
    ("food", ({"food": True}, {"food": False}), "Does the sentence mention a food?", "it mentions a food", ("[food]", "[nofood]")),
    ("colour", ({"colour": True}, {"colour": False}), "Does the sentence mention a colour?", "it mentions a colour", ("[colour]", "[plain]")),
    ("sport", ({"sport": True}, {"sport": False}), "Does the sentence mention a sport?", "it mentions a sport", ("[sport]", "[nosport]")),
    ("person", ({"name": True}, {"name": False}), "Does the sentence name a person?", "it names a person", ("[person]", "[noperson]")),
    ("question", ({"question": True}, {"question": False}), "Is the sentence a question?", "it is a question", ("[question]", "[statement]")),
    ("long", ({"long": True}, {"long": False}), f"Does the sentence have more than {_words(_LONG_WORDS)} words?",
     f"it has more than {_words(_LONG_WORDS)} words", ("[long]", "[short]")),
    ("sentiment", ({"sentiment": "pos", "negation": False}, {"sentiment": "neg", "negation": False}),  # "not lovely" would blur it
     "Is the sentence positive?", "it is positive", ("[positive]", "[negative]")),
    ("negation", ({"negation": True}, {"negation": False}), "Does the sentence contain the word not?",
     "it contains the word not", ("[negated]", "[affirmed]")),
    ("tense", ({"future": True}, {"future": False}), "Is the sentence about the future?", "it is about the future", ("[future]", "[past]")),
    ("plural", ({"plural": True}, {"plural": False, "name": False}), "Is the subject plural?", "the subject is plural", ("[plural]", "[singular]")),
)
_YESNO_RULES = ("animal", "question", "digit", "negation")
_TOPICS = (("animal", "an animal"), ("food", "a food"), ("sport", "a sport"), ("colour", "a colour"))


def _rule_sentence(rng: random.Random, forced: Dict[str, object]) -> Optional[str]:
    want_long = forced.get("long")
    s = _label_sentence(rng, {k: v for k, v in forced.items() if k != "long"})
    if want_long is not None and (len(s.split()) > _LONG_WORDS) != want_long:
        return None
    return s


def _label_draw(forced: Tuple[dict, dict], labels: Tuple[str, str], make_prompt: Callable[[str], str]) -> Draw:
    def draw(rng: random.Random, i: int):
        s = _rule_sentence(rng, forced[i % 2])
        return None if s is None else (make_prompt(s), labels[i % 2])
    return draw


def _topic_draw(labels: Sequence[str], make_prompt: Callable[[str], str]) -> Draw:
    def draw(rng: random.Random, i: int):
        k = i % len(_TOPICS)
        s = _label_sentence(rng, {t: j == k for j, (t, _) in enumerate(_TOPICS)})
        return make_prompt(s), labels[k]
    return draw


def _label_specs() -> List[_Spec]:
    out = []
    for key, forced, question, cond, own in _RULES:
        vocabularies = (
            ("yes-no", ("[yes]", "[no]"), lambda s, q=question: f"{q} Answer [yes] or [no].\n{s}"),
            ("one-zero", ("[1]", "[0]"), lambda s, c=cond: f"{s}\nReply [1] if {c}, otherwise [0]."),
            ("words", own, lambda s, c=cond, o=own: f"Label the sentence {o[0]} if {c}, else {o[1]}.\n{s}"),
        )
        for vkey, labels, prompt in vocabularies:
            out.append(_Spec("label", f"{key}-{vkey}", "classification",
                             f"Label a sentence by whether {cond}: {labels[0]} or {labels[1]}.", _label_draw(forced, labels, prompt)))
        if key in _YESNO_RULES:
            out.append(_Spec("label", f"{key}-true-false", "yesno", f"True or False: {cond}.",
                             _label_draw(forced, ("[True]", "[False]"), lambda s, c=cond: f"True or False: {c}.\n{s}")))
    names = [f"[{t}]" for t, _ in _TOPICS]
    listed = ", ".join(names[:-1]) + " or " + names[-1]
    out.append(_Spec("label", "topic-words", "classification", f"Topic of a sentence: {listed}.",
                     _topic_draw(names, lambda s: f"Which topic does the sentence mention: {listed}?\n{s}")))
    numbers = [f"[{j + 1}]" for j in range(len(_TOPICS))]
    legend = ", ".join(f"{n} {w}" for n, (_, w) in zip(numbers, _TOPICS))
    out.append(_Spec("label", "topic-numbers", "classification", f"Topic of a sentence as a number: {legend}.",
                     _topic_draw(numbers, lambda s: f"{s}\nWhat does it mention? Reply {legend}.")))
    return out


# --------------------------------------------------------------------------------------------------
# synth-extract

_ITEMS = tuple(_plural(x) for x in OBJECTS)
_PURCHASES = (
    "On {day}, {name} bought {count} {colour} {items} in {city} for {price}.",
    "{name} paid {price} for {count} {colour} {items} in {city} on {day}.",
    "In {city} on {day}, {name} sold {count} {colour} {items} for {price}.",
    "{name} ordered {count} {colour} {items} from {city} on {day} and paid {price}.",
)
# field -> (question, label for "Label: value")
_FIELDS = {
    "name": ("Who is the person?", "Name"),
    "city": ("Which city is it?", "City"),
    "day": ("Which day is it?", "Day"),
    "count": ("How many items are there?", "Count"),
    "colour": ("What colour are the items?", "Colour"),
    "items": ("What kind of items are they?", "Items"),
    "price": ("What is the price?", "Price"),
}
_CLOSED = {"colour": COLOURS, "day": DAYS}  # bracketed answers from these closed sets are classification
_PAIRS = (
    ("name-city", "Give the person and the city, separated by a comma.", "{name}, {city}"),
    ("count-items", "Give the number and the items.", "{count} {items}"),
    ("colour-items", "Give the colour and the items.", "{colour} {items}"),
    ("day-price", "Give the day and the price, separated by a comma.", "{day}, {price}"),
)
_APPOINTMENTS = (
    "{name} meets {name2} at the {place} on {date} at {time}.",
    "On {date}, {name} and {name2} visit the {place} at {time}.",
    "At {time} on {date}, {name} waits for {name2} at the {place}.",
)
_APPOINTMENT_FIELDS = (("date", "On which date?"), ("time", "At what time?"), ("place", "Where is it?"))


def _purchase(rng: random.Random, forced: Dict[str, str]) -> Tuple[str, Dict[str, str]]:
    v = {"name": rng.choice(NAMES), "city": rng.choice(CITIES), "day": rng.choice(DAYS),
         "count": str(rng.randint(2, 40)), "colour": rng.choice(COLOURS), "items": rng.choice(_ITEMS),
         "price": f"${rng.randint(21, 99)}"}
    v.update(forced)
    return rng.choice(_PURCHASES).format(**v), v


def _extract_draw(field: str, wrapper: str, closed: bool) -> Draw:
    question, label = _FIELDS[field]
    cue = {"plain": "", "brackets": _WRAP_CUES["brackets"], "label": f"Reply as {label}: <{field}>."}[wrapper]

    def draw(rng: random.Random, i: int):
        forced = {field: _CLOSED[field][i % len(_CLOSED[field])]} if closed else {}
        s, v = _purchase(rng, forced)
        out = f"{label}: {v[field]}" if wrapper == "label" else _wrap(wrapper, v[field])
        return _join(s, question, cue), out
    return draw


def _pair_draw(question: str, answer: str) -> Draw:
    def draw(rng: random.Random, i: int):
        s, v = _purchase(rng, {})
        return _join(s, question), answer.format(**v)
    return draw


def _appointment_draw(field: str, question: str, wrapper: str) -> Draw:
    def draw(rng: random.Random, i: int):
        name, name2 = rng.sample(NAMES, 2)
        v = {"name": name, "name2": name2, "place": rng.choice(PLACES),
             "date": f"{rng.choice(MONTHS)} {rng.randint(1, 28)}",
             "time": f"{rng.randint(1, 12)}:{rng.choice(('00', '15', '30', '45'))} pm"}
        return _join(rng.choice(_APPOINTMENTS).format(**v), question, _WRAP_CUES[wrapper]), _wrap(wrapper, v[field])
    return draw


def _extract_specs() -> List[_Spec]:
    out = []
    for field in _FIELDS:
        for wrapper in ("plain", "brackets", "label"):
            closed = wrapper == "brackets" and field in _CLOSED
            how = {"plain": "plain", "brackets": "in square brackets", "label": f"as '{_FIELDS[field][1]}: ...'"}[wrapper]
            out.append(_Spec("extract", f"{field}-{wrapper}", "classification" if closed else "generation",
                             f"Purchase sentence: extract the {field}, {how}.", _extract_draw(field, wrapper, closed)))
    for key, question, answer in _PAIRS:
        out.append(_Spec("extract", key, "generation", f"Purchase sentence: answer '{answer}'.", _pair_draw(question, answer)))
    for field, question in _APPOINTMENT_FIELDS:
        for wrapper in ("plain", "brackets"):
            out.append(_Spec("extract", f"appointment-{field}-{wrapper}", "generation",
                             f"Appointment sentence: extract the {field}, {_WRAP_WORDS[wrapper]}.",
                             _appointment_draw(field, question, wrapper)))
    return out


# --------------------------------------------------------------------------------------------------
# synth-choice. A question draws (options, index of the gold); the draw then moves the gold to the
# balanced position.

def _q_length(longest: bool):
    def q(rng, n):
        opts = rng.sample(_NOUNS, n)
        lens = [len(x) for x in opts]
        best = max(lens) if longest else min(lens)
        return (opts, lens.index(best)) if lens.count(best) == 1 else None
    return q


def _q_number(largest: bool):
    def q(rng, n):
        opts = rng.sample(range(1, 100), n)
        best = max(opts) if largest else min(opts)
        return [str(x) for x in opts], opts.index(best)
    return q


def _q_category(target: Sequence[str], unlike: Sequence[Sequence[str]] = ()):
    """One word of ``target`` among words of the other categories except ``unlike`` (those that could
    also pass: a duck is food to some, a lemon is a colour to some)."""
    pool = [w for c in (ANIMALS, FOODS, COLOURS, CITIES, SPORTS, OBJECTS)
            if c is not target and all(c is not u for u in unlike) for w in c]

    def q(rng, n):
        return [rng.choice(target)] + rng.sample(pool, n - 1), 0
    return q


def _q_odd(rng, n):
    main, odd = rng.sample((ANIMALS, FOODS, COLOURS, CITIES, SPORTS), 2)
    if (main, odd) in ((FOODS, ANIMALS), (COLOURS, FOODS)):  # the odd word could pass as one of them
        return None
    return [rng.choice(odd)] + rng.sample(main, n - 1), 0


def _q_even(rng, n):
    evens, odds = list(range(2, 100, 2)), list(range(1, 100, 2))
    return [str(rng.choice(evens))] + [str(x) for x in rng.sample(odds, n - 1)], 0


_QUESTIONS = (
    ("longest", "Which word is the longest?", _q_length(True)),
    ("shortest", "Which word is the shortest?", _q_length(False)),
    ("largest", "Which number is the largest?", _q_number(True)),
    ("smallest", "Which number is the smallest?", _q_number(False)),
    ("animal", "Which one is an animal?", _q_category(ANIMALS)),
    ("food", "Which one is a food?", _q_category(FOODS, unlike=(ANIMALS,))),
    ("colour", "Which one is a colour?", _q_category(COLOURS, unlike=(FOODS,))),
    ("city", "Which one is a city?", _q_category(CITIES)),
    ("odd-one-out", "Which one does not belong with the others?", _q_odd),
    ("even", "Which number is even?", _q_even),
)
# key -> (kind, number of options, cue, response from (letter, option))
_CHOICE_FORMATS = {
    "mcq4": ("mcq", 4, "Answer with the letter in square brackets.", lambda L, o: f"[{L}]"),
    "mcq3": ("mcq", 3, "Reply with [A], [B] or [C].", lambda L, o: f"[{L}]"),
    "paren": ("generation", 4, "Answer with the letter in parentheses.", lambda L, o: f"({L})"),
    "line": ("generation", 4, "Copy the line of the correct option.", lambda L, o: f"{L}: {o}"),
}


def _choice_draw(question: str, q, fmt: str) -> Draw:
    _, n, cue, resp = _CHOICE_FORMATS[fmt]

    def draw(rng: random.Random, i: int):
        got = q(rng, n)
        if got is None:
            return None
        opts, gold = got
        others = opts[:gold] + opts[gold + 1:]
        rng.shuffle(others)
        pos = i % n
        opts = others[:pos] + [opts[gold]] + others[pos:]
        letter = "ABCDEFGHIJ"[pos]
        lines = [f"{'ABCDEFGHIJ'[j]}: {o}" for j, o in enumerate(opts)]
        return _join(question, *lines, cue), resp(letter, opts[pos])
    return draw


def _choice_specs() -> List[_Spec]:
    out = []
    for key, question, q in _QUESTIONS:
        for fmt, (kind, n, _, resp) in _CHOICE_FORMATS.items():
            out.append(_Spec("choice", f"{key}-{fmt}", kind,
                             f"'{question}' over {n} options; answer as '{resp('B', 'word')}'.", _choice_draw(question, q, fmt)))
    return out


# --------------------------------------------------------------------------------------------------
# synth-format

_PEOPLE = ("{name} lives in {city}.", "{name} moved to {city}.", "{name} works in {city}.", "{name} was born in {city}.")
# key, instruction ({t} = the text), what it does, the response from the word list
_LAYOUTS = (
    ("json-text", 'Wrap the text in JSON under the key "text": {t}', "JSON object with key text", lambda w: json.dumps({"text": " ".join(w)})),
    ("json-list", "Write the words as a JSON list: {t}", "JSON list of the words", lambda w: json.dumps(w)),
    ("numbered-lines", "Number the words, one per line: {t}", "numbered lines", lambda w: "\n".join(f"{j + 1}. {x}" for j, x in enumerate(w))),
    ("numbered-inline", "Number the words on one line: {t}", "(1) word (2) word", lambda w: " ".join(f"({j + 1}) {x}" for j, x in enumerate(w))),
    ("bullets", "Make a bullet list of the words: {t}", "bullet list", lambda w: "\n".join(f"- {x}" for x in w)),
    ("lines", "Put each word on its own line: {t}", "one word per line", lambda w: "\n".join(w)),
    ("commas", "Separate the words with commas: {t}", "comma-separated words", lambda w: ", ".join(w)),
    ("twice", 'Write the text twice, separated by " | ": {t}', "text | text", lambda w: f"{' '.join(w)} | {' '.join(w)}"),
    ("html-bold", "Wrap the text in HTML bold tags: {t}", "<b>text</b>", lambda w: f"<b>{' '.join(w)}</b>"),
    ("xml-tag", "Wrap the text in <text> tags: {t}", "<text>text</text>", lambda w: f"<text>{' '.join(w)}</text>"),
    ("md-bold", "Make the text bold in Markdown: {t}", "**text**", lambda w: f"**{' '.join(w)}**"),
    ("md-heading", "Turn the text into a Markdown heading: {t}", "# text", lambda w: f"# {' '.join(w)}"),
    ("sentence", "Turn this into a proper sentence: {t}", "capital first letter and a full stop", lambda w: " ".join(w).capitalize() + "."),
    ("bracket-each", "Put each word in square brackets: {t}", "[word] [word]", lambda w: " ".join(f"[{x}]" for x in w)),
    ("quote-each", "Put each word in double quotes: {t}", '"word" "word"', lambda w: " ".join(f'"{x}"' for x in w)),
    ("count-json", "Give JSON with the number of words: {t}", 'JSON {"words": N}', lambda w: json.dumps({"words": len(w)})),
)
_PERSON_LAYOUTS = (
    ("person-json", 'Give JSON with "name" and "city": {t}', 'JSON {"name", "city"}', lambda v: json.dumps({"name": v["name"], "city": v["city"]})),
    ("person-csv", "Write it as CSV with the header name,city: {t}", "CSV with header name,city", lambda v: f"name,city\n{v['name']},{v['city']}"),
)


def _layout_draw(template: str, fn) -> Draw:
    def draw(rng: random.Random, i: int):
        w = _phrase(rng, short=True)
        return template.format(t=" ".join(w)), fn(w)
    return draw


def _person_draw(template: str, fn) -> Draw:
    def draw(rng: random.Random, i: int):
        v = {"name": rng.choice(NAMES), "city": rng.choice(CITIES)}
        return template.format(t=rng.choice(_PEOPLE).format(**v)), fn(v)
    return draw


def _format_specs() -> List[_Spec]:
    out = [_Spec("format", key, "generation", f"Lay out a short text: {what}.", _layout_draw(t, fn)) for key, t, what, fn in _LAYOUTS]
    out += [_Spec("format", key, "generation", f"A person and a city: {what}.", _person_draw(t, fn)) for key, t, what, fn in _PERSON_LAYOUTS]
    return out


# --------------------------------------------------------------------------------------------------
# synth-question. Bare yes/no questions, as BoolQ and StrategyQA are in the app's setting (the user
# turn alone): no instruction names the answer format; every task answers [True] / [False], and the
# tasks differ in what the question asks. Half of the rows are written like BoolQ (lower case, no
# capital), half like StrategyQA (a capital); class = row index % 2 (True first).

_WORD_POOL = tuple(sorted(set(_NOUNS + PLACES + SPORTS)))


def _qa_styled(rng: random.Random, text: str) -> str:
    return text if rng.random() < 0.5 else text[0].upper() + text[1:]


def _q_greater(rng, yes):
    a, b = rng.sample(range(1, 1000), 2)
    return f"is {a} greater than {b}?", a > b


def _q_even_number(rng, yes):
    n = rng.randrange(1, 5000)
    return f"is {n} an even number?", n % 2 == 0


def _q_sum(rng, yes):
    a, b = rng.randrange(2, 100), rng.randrange(2, 100)
    c = a + b if yes else a + b + rng.choice((-10, -2, -1, 1, 2, 10))
    return f"is {a} plus {b} equal to {c}?", c == a + b


def _q_product(rng, yes):
    a, b = rng.randrange(2, 30), rng.randrange(2, 30)
    c = a * b if yes else a * b + rng.choice((-a, -1, 1, b))
    return f"does {a} times {b} make {c}?", c == a * b


def _q_multiple(rng, yes):
    b = rng.randrange(3, 13)
    a = b * rng.randrange(2, 90) if yes else rng.randrange(10, 1000)
    return f"is {a} a multiple of {b}?", a % b == 0


def _q_digit_sum(rng, yes):
    n = rng.randrange(100, 10000)
    total = sum(int(d) for d in str(n))
    c = total if yes else total + rng.choice((-2, -1, 1, 2))
    return f"do the digits of {n} add up to {c}?", c == total


def _q_category_word(target: Sequence[str], word: str):
    others = tuple(w for c in (OBJECTS, SPORTS, PLACES, COLOURS) for w in c)

    def q(rng, yes):
        noun = rng.choice(target) if yes else rng.choice(others)
        return f"is {rng.choice(NAMES)}'s {rng.choice(ADJECTIVES)} {noun} {word}?", noun in target
    return q


def _q_in_list(rng, yes):
    items = rng.sample(_WORD_POOL, 5)
    w = items[rng.randrange(4)] if yes else items[4]
    return f"is {w} one of {', '.join(items[:3])} and {items[3]}?", w in items[:4]


def _q_before(rng, yes):
    a, b = rng.sample(_WORD_POOL, 2)
    return f"does {a} come before {b} in the alphabet?", a < b


def _q_longer(rng, yes):
    a, b = rng.sample(_WORD_POOL, 2)
    if len(a) == len(b):
        return None
    return f"is the word {a} longer than the word {b}?", len(a) > len(b)


def _q_same_length(rng, yes):
    a, b = rng.sample(_WORD_POOL, 2)
    return f"do {a} and {b} have the same number of letters?", len(a) == len(b)


def _q_letter(rng, yes):
    w = rng.choice(_WORD_POOL)
    letter = rng.choice(w) if yes else rng.choice([c for c in "abcdefghijklmnoprstuvwy" if c not in w] or ["q"])
    return f"is there a letter {letter} in {w}?", letter in w


def _q_more_words(rng, yes):
    words = _phrase(rng)
    k = rng.randrange(3, 10)
    return f"does \"{' '.join(words)}\" have more than {k} words?", len(words) > k


def _q_lives_in(rng, yes):
    name = rng.choice(NAMES)
    home, asked = rng.choice(CITIES), rng.choice(CITIES)
    return f"{name} lives in {home} and works as a {rng.choice(('baker', 'teacher', 'nurse', 'driver', 'painter', 'cook'))}. does {name} live in {asked}?", home == asked


def _q_has_more(rng, yes):
    name, noun = rng.choice(NAMES), rng.choice(FOODS + OBJECTS)
    have, asked = rng.randrange(1, 20), rng.randrange(1, 20)
    if have == asked:
        return None
    return f"{name} has {have} {_plural(noun)}. does {name} have more than {asked} {_plural(noun)}?", have > asked


def _q_weekday(rng, yes):
    i = rng.randrange(7)
    j = (i + 1) % 7 if yes else rng.choice([x for x in range(7) if x != (i + 1) % 7])
    return f"{rng.choice(NAMES)} {rng.choice(('arrives', 'leaves', 'calls', 'visits'))} on {DAYS[i]} at {rng.randrange(1, 12)} o'clock. is the next day {DAYS[j]}?", j == (i + 1) % 7


# key -> question draw (rng, wanted answer) -> (question, its answer) or None to draw again
_YES_NO_QUESTIONS = (
    ("greater", _q_greater), ("even-number", _q_even_number), ("sum", _q_sum), ("product", _q_product),
    ("multiple", _q_multiple), ("digit-sum", _q_digit_sum), ("is-animal", _q_category_word(ANIMALS, "an animal")),
    ("is-food", _q_category_word(FOODS, "something to eat")), ("in-list", _q_in_list), ("alphabet", _q_before),
    ("longer-word", _q_longer), ("same-length", _q_same_length), ("has-letter", _q_letter),
    ("more-words", _q_more_words), ("lives-in", _q_lives_in), ("has-more", _q_has_more), ("next-day", _q_weekday),
)


def _question_draw(q) -> Draw:
    def draw(rng: random.Random, i: int):
        yes = i % 2 == 0
        got = q(rng, yes)
        if got is None or got[1] != yes:
            return None
        return _qa_styled(rng, got[0]), "[True]" if yes else "[False]"
    return draw


def _question_specs() -> List[_Spec]:
    return [_Spec("question", key, "yesno", f"A bare yes/no question ({key}), answered [True] or [False] with no instruction.",
                  _question_draw(q)) for key, q in _YES_NO_QUESTIONS]


def _specs() -> List[_Spec]:
    return (_transform_specs() + _arith_specs() + _label_specs() + _extract_specs() + _choice_specs() + _format_specs()
            + _question_specs())
