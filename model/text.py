"""Text normalisation: one canonical form of a comment for the classifier, whatever the script.

``clean`` undoes the encodings that hide words (HTML entities, zero-width characters, full-width and
mathematical letters); link detection runs on its output. ``normalise`` then folds case, look-alike
letters and repeated characters, and turns links, e-mail addresses, phone numbers and numbers into tokens
(``xurl``, ``xemail`` ...) that the classifier can learn without memorising each one. Devanagari and every
other script pass through unchanged apart from NFKC.

Every pattern here has bounded quantifiers, so each function is linear in the length of its input.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

# Zero-width and invisible characters used to split words past filters (ZWSP, ZWNJ, ZWJ, word joiner,
# BOM, soft hyphen, Mongolian vowel separator, bidi marks).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# A numeric character reference too long for any code point ("&#" + 5000 digits) makes html.unescape
# raise; such a reference is replaced by U+FFFD first.
_HUGE_REFERENCE = re.compile(r"&#(?:[xX][0-9a-fA-F]{9,}|[0-9]{9,});?")
_TAG = re.compile(r"<[^<>]{0,2048}>")
# Runs of three or more of one character, digits excepted ("99999 00000" is a phone number). Possessive,
# so a run of a million is one step, not a million stack frames.
_REPEAT = re.compile(r"(\D)\1{2,}+")
_RUN = re.compile(r"(.)\1++", re.DOTALL)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# A phone number: 8 to 15 digits, optionally grouped by spaces, dashes or brackets (+91 98765 43210).
# Dots and commas are left out: "1.000.000.000 views" is a count, not a number to call.
_PHONE = re.compile(r"(?<![\w+.,])\+?\d(?:[ ()-]{0,2}\d){7,14}(?![\w.,]\d)")
_NUMBER = re.compile(r"\d++(?:[.,]\d++){0,8}+")
# ISO dates are dates, not phone numbers.
_DATE = re.compile(r"(?<!\d)(?:19|20)\d\d-[01]\d-[0-3]\d(?!\d)")
# Dates, phone numbers and numbers all hold a digit; three-quarters of comments hold none, and finding
# that out is one fast scan instead of three slow ones.
_ANY_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+")

# Cyrillic and Greek letters drawn like Latin ones, swapped in to dodge word filters ("vіsіt", "cаsino").
# Applied only inside a word that also has Latin letters, so Russian or Greek text is left as written.
_LOOKALIKE_PAIRS = {
    # Cyrillic
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "к": "k", "м": "m", "т": "t", "в": "b", "н": "h",
    # Greek (after case folding)
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
}
_LOOKALIKES = str.maketrans(_LOOKALIKE_PAIRS)
_LOOKALIKE_CHARS = re.compile("[" + "".join(_LOOKALIKE_PAIRS) + "]")
_LATIN = re.compile("[a-z]")
# Digits and symbols inside a Latin word ("v1agra", "fr33k", "c@sino").
_LEET = re.compile(r"(?<=[a-z])[0134579@$]{1,3}(?=[a-z])")
_LEET_CHARS = re.compile(r"[0134579@$]")  # found much faster than _LEET, which must try every position
_LEET_MAP = str.maketrans("0134579@$", "oieastgas")


def clean(text: str) -> str:
    """Decode HTML entities, drop invisible characters and apply Unicode NFKC. Case is kept."""
    if "&#" in text:
        text = _HUGE_REFERENCE.sub("\ufffd", text)
    text = html.unescape(text)
    if not text.isascii():  # every invisible character is outside ASCII, as are half the comments
        text = _INVISIBLE.sub("", text)
    return unicodedata.normalize("NFKC", text)


def strip_tags(text: str) -> str:
    return _TAG.sub(" ", text) if "<" in text else text


def fold(text: str) -> str:
    """Case-fold, undo look-alike letters and leetspeak in Latin words, and cap repeats at two."""
    text = text.casefold()
    if _LOOKALIKE_CHARS.search(text):
        text = _WORD.sub(_unmask_lookalikes, text)
    if _LEET_CHARS.search(text):
        text = _LEET.sub(_unleet, text)
    return _REPEAT.sub(r"\1\1", text)


def _unmask_lookalikes(m: re.Match) -> str:
    word = m.group(0)
    if _LATIN.search(word) and _LOOKALIKE_CHARS.search(word):
        return word.translate(_LOOKALIKES)
    return word


def _unleet(m: re.Match) -> str:
    return m.group(0).translate(_LEET_MAP)


def replace_emails(text: str) -> tuple[str, int]:
    """Replace e-mail addresses by ``xemail``; done before ``fold``, whose leetspeak rule would read the
    "@" of "name@gmail.com" as an "a". Returns the text and the number replaced."""
    if "@" not in text:  # as in most comments; the pattern would try every position to find that out
        return text, 0
    return _EMAIL.subn(" xemail ", text)


def replace_numbers(text: str) -> tuple[str, list[str]]:
    """Replace phone numbers by ``xphone``, dates by ``xdate`` and other numbers by ``xnum<digits>``.
    Returns the text and the phone numbers as written."""
    if not _ANY_DIGIT.search(text):
        return text, []
    text = _DATE.sub(" xdate ", text)
    phones = []

    def phone(m: re.Match) -> str:
        number = m.group(0)
        groups = number.split()
        # "10 000 000 views" is a count grouped in thousands, not a phone number; a "+" or a bracket
        # ("+34 612 345 678", "(022) 234 567") says phone whatever the grouping.
        if not any(c in number for c in "+()-") and len(groups) > 1 and all(len(g) == 3 for g in groups[1:]):
            return number
        phones.append(number)
        return " xphone "

    text = _PHONE.sub(phone, text)
    return _NUMBER.sub(_number_token, text), phones


# Where a number written without a country code is read as from: our users' country first.
PHONE_REGIONS = ("IN", "GB", "US")


def valid_phone_numbers(candidates: list[str]) -> tuple[str, ...]:
    """The candidates that ``phonenumbers`` knows as real, dialable numbers (E.164, e.g. "+919876543210")."""
    # A comment with more than 20 is spam whatever they are; bound the work.
    found = [number for number in map(_valid_phone, candidates[:20]) if number is not None]
    return tuple(dict.fromkeys(found))


# Parsing a number costs about 80 us, and spam campaigns repeat theirs: the 983 candidates of the shared
# data are 340 distinct numbers.
@functools.lru_cache(maxsize=4096)
def _valid_phone(candidate: str) -> str | None:
    """``candidate`` in E.164 if it is a real number, else None. A candidate can run into the next number
    ("08712460324 10p/min"), so its last group is dropped before giving up on it."""
    import phonenumbers

    tries = [candidate]
    if " " in candidate.strip():
        tries.append(candidate.strip().rsplit(" ", 1)[0])
    number = next((n for text in tries for region in PHONE_REGIONS if (n := _parse_phone(text, region))), None)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_phone(text: str, region: str):
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _number_token(m: re.Match) -> str:
    # The number of digits says more than the value: "2 billion views" is not "text 87121 to win".
    digits = sum(c.isdigit() for c in m.group(0))
    return f" xnum{min(digits, 6)} "


def squeeze(text: str) -> str:
    # str.split's whitespace is re's \s (both are Py_UNICODE_ISSPACE), and splitting is three times faster.
    return " ".join(text.split())


def longest_run(text: str) -> int:
    """Length of the longest run of one repeated character (for "soooo good!!!!!")."""
    return max((m.end() - m.start() for m in _RUN.finditer(text)), default=1 if text else 0)
