"""Hindi, Hinglish and English comments of the same meaning get verdicts of the same kind, and a
genuine comment is never blocked for its script. These comments are written for the tests and are
not in the training data."""

import pytest

PAIRS = [
    # (English, Hindi, expected kind: "ham" = allow, "spam" = review or block)
    ("Very good article, thank you for writing it.", "बहुत अच्छा लेख है, इसे लिखने के लिए धन्यवाद।", "ham"),
    ("I agree with the author, the government should act on this.",
     "मैं लेखक से सहमत हूं, सरकार को इस पर कार्रवाई करनी चाहिए।", "ham"),
    ("When will the next part of this news come?", "इस खबर का अगला भाग कब आएगा?", "ham"),
    ("Congratulations! You have won a free prize of Rs 50000. Call 9876543210 now to claim.",
     "बधाई हो! आपने 50000 रुपये का मुफ्त इनाम जीता है। दावा करने के लिए अभी 9876543210 पर कॉल करें।", "spam"),
    ("Earn money from home, visit http://bit.ly/earn-fast now!",
     "घर बैठे पैसे कमाएं, अभी http://bit.ly/earn-fast पर जाएं!", "spam"),
]

GENUINE = [
    "बहुत बढ़िया खबर, धन्यवाद",
    "Bahut accha post hai bhai, keep it up",
    "Sahi baat hai, sarkar ko kuch karna chahiye.",
    "Yeh news padh ke dukh hua. भगवान उनकी आत्मा को शांति दे।",
    "Aaj ka match bahut exciting tha!! India ne kamaal kar diya",
    "Mujhe lagta hai ki ye rule galat hai. Aap kya sochte ho?",
    "पुलिस को इस मामले की जांच करनी चाहिए",
    "Bhai ye news galat hai, asli khabar yahan padho https://www.bbc.com/hindi/india-12345678",
    "बहुत बढ़िया लेख। मैंने इस पर अपने ब्लॉग पर भी लिखा है: https://merablog.blogspot.com/2024/01/post.html",
]


def kind(verdict):
    return "ham" if verdict == "allow" else "spam"


@pytest.mark.parametrize("english, hindi, expected", PAIRS)
def test_hindi_and_english_of_the_same_meaning_get_the_same_kind_of_verdict(scorer, english, hindi, expected):
    assert kind(scorer.check(english)["verdict"]) == expected
    assert kind(scorer.check(hindi)["verdict"]) == expected


@pytest.mark.parametrize("text", GENUINE)
def test_genuine_hindi_and_hinglish_comments_are_not_blocked(scorer, text):
    assert scorer.check(text)["verdict"] != "block"
