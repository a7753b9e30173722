"""The splitter: nothing lost, every segment within budget, cues whole, sentence rules in every language."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bark_cli.constants import MAX_TEXT_TOKENS
from bark_cli.text.segmenter import CUE_SPAN, Splitter, split_text
from bark_cli.text.normalize import count_tokens, estimate_seconds


@pytest.fixture(scope="session")
def count(tiny_checkpoint):
    from transformers import BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(tiny_checkpoint)
    return lambda text: count_tokens(tokenizer, text)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


WORDS = st.sampled_from(
    "hello my name is suno and uh I like pizza Dr. e.g. 3.14 the water sound — ... "
    "你好 我叫苏诺 こんにちは 안녕하세요 नमस्ते Привет MAN: WOMAN: supercalifragilisticexpialidocious".split()
)
PUNCT = st.sampled_from([". ", "! ", "? ", ", ", "; ", "。", "！", "।", " ", " ", " ", "\n", "\n\n", "... "])
CUES = st.sampled_from(["[laughs]", "[sighs]", "[music]", "[clears throat]", "♪ la la la ♪", "♪ In the jungle. The mighty jungle ♪"])
PIECES = st.one_of(WORDS, PUNCT, CUES.map(lambda c: f" {c} "))


# derandomize: the same 80 examples on every run, so CI never fails on a case nobody has seen; change the
# seed locally (--hypothesis-seed, with derandomize off) to explore further.
@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(PIECES, min_size=1, max_size=120), seconds=st.sampled_from([2.0, 5.0, 12.0]))
# Found by hypothesis: tag and cue together are too long, the cue alone fits.
@example(pieces=["MAN:", " ♪ In the jungle. The mighty jungle ♪ "], seconds=2.0)
def test_split_loses_nothing_fits_budget_and_keeps_cues(count, pieces, seconds):
    text = "".join(pieces)
    segments = split_text(text, count, seconds)
    assert squash("".join(s.text for s in segments)) == squash(text)
    for segment in segments:
        assert segment.text == segment.text.strip() and segment.text
        assert segment.tokens == count(segment.text) <= MAX_TEXT_TOKENS
        assert segment.seconds == estimate_seconds(segment.text) <= seconds
    cues_in = [c for c in CUE_SPAN.findall(text) if estimate_seconds(c) <= seconds]
    cues_out = [c for s in segments for c in CUE_SPAN.findall(s.text)]
    for cue in cues_in:
        assert cues_out.count(cue) >= cues_in.count(cue), f"cue {cue!r} was split"


def test_huge_token_counts_are_split_never_truncated(count):
    text = "supercalifragilisticexpialidocious " * 60  # many tokens per word in the tiny vocabulary
    segments = split_text(text, count, 15.0)
    assert len(segments) > 1 and all(s.tokens <= MAX_TEXT_TOKENS for s in segments)
    assert squash("".join(s.text for s in segments)) == squash(text)


SENTENCES = {
    "en": ["Dr. Smith paid $3.50, e.g. for tea. ", 'He said "Wait..." and left! ', "Did he? ", "[laughs] MAN: Yes."],
    "de": ["Dr. Müller kam z.B. um 15.30 Uhr. ", "„Hallo!“ sagte er. ", "Wie geht's?"],
    "es": ["El Sr. García llegó a las 3.15. ", "¿Qué tal? ", "¡Muy bien!"],
    "fr": ["Mme Dupont a payé 3,50 €. ", "« Bonjour ! » dit-elle. ", "Et après ?"],
    "hi": ["नमस्ते। ", "मेरा नाम सुनो है। ", "क्या आपको पिज़्ज़ा पसंद है?"],
    "it": ["Il dott. Rossi è arrivato alle 3.15. ", "Ciao! ", "Come stai?"],
    "ja": ["こんにちは。", "私の名前はスノです！", "ピザが好きですか？"],
    "ko": ["안녕하세요. ", "제 이름은 수노입니다! ", "피자 좋아하세요?"],
    "pl": ["Prof. Nowak przyszedł o 3.15. ", "Dzień dobry! ", "Jak się masz?"],
    "pt": ["O Sr. Silva chegou às 3.15. ", "Olá! ", "Tudo bem?"],
    "ru": ["Д-р Иванов пришёл в 3.15, т.е. рано. ", "Привет! ", "Как дела?"],
    "tr": ["Dr. Yılmaz saat 3.15'te geldi. ", "Merhaba! ", "Nasılsın?"],
    "zh": ["你好。", "我叫苏诺！", "你喜欢披萨吗？", "圆周率是3.14。"],
}


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_sentences_in_every_bark_language(language):
    expected = SENTENCES[language]
    assert Splitter(lambda t: 0, 12.0).sentences("".join(expected), language) == expected


def test_merging_paragraphs_and_speaker_tags(count):
    text = "Hello there. I like pizza. MAN: Do you? WOMAN: Yes.\n\nA new paragraph. And more."
    segments = split_text(text, count, 12.0)
    assert [s.text for s in segments] == [
        "Hello there. I like pizza. MAN: Do you? WOMAN: Yes.",
        "A new paragraph. And more.",
    ]
    assert [s.paragraph_end for s in segments] == [True, False]
    # Forced small: the tag never ends a segment on its own.
    for segment in split_text(text, count, 1.0):
        assert not re.search(r"\b(MAN|WOMAN):$", segment.text)


def test_long_sentence_splits_at_clauses_first(count):
    text = "First clause here, second clause there, third clause everywhere, and the fourth clause at last."
    pieces = [s.text for s in split_text(text, count, 3.0)]
    assert pieces[0].endswith(",") and len(pieces) >= 3


def test_cue_across_sentence_end_stays_whole(count):
    text = "♪ In the jungle. The mighty jungle ♪ the lion sleeps tonight. Then quiet."
    segments = split_text(text, count, 3.5)
    assert any("♪ In the jungle. The mighty jungle ♪" in s.text for s in segments)
