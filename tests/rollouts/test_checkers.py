"""Exact checkers on hand-made responses, odd formats included."""

from decimal import Decimal

import pytest

from dice_jax.rollouts.checkers import (
  Verdict,
  check,
  check_number,
  check_order,
  check_text,
  checker_of,
  count_orders,
  extract_number,
  extract_order,
  format_number,
)
from dice_jax.rollouts.tasks import Task

# (response, expected extracted number or None) -- the documented final-answer convention.
NUMBER_CASES = [
  ("The answer is 1,234.", "1234"),
  ("**42**", "42"),
  ("\\boxed{42}", "42"),
  ("So the total is $\\boxed{1,000}$ dollars.", "1000"),
  ("42.0", "42"),
  ("42.50", "42.5"),
  ("-7", "-7"),
  ("x = \u22127", "-7"),
  ("#### 42", "42"),
  ("Natalia sold 48/2 = 24 clips in May.\n48+24 = 72\n#### 72", "72"),
  ("She has 12 apples.", "12"),
  ("It weighs 3.5kg", "3.5"),
  ("The price is $1,234,567 in total", "1234567"),
  ("I had 3 apples, got 5 more, so I have 8", "8"),
  ("First 2 + 3 = 5, then 5 * 4 = 20.", "20"),
  ("10-3=7", "7"),
  ("Answer: 5 + 3 = 8", "8"),
  ("The answer is 12, which is 3 more than 9.", "12"),
  ("The final answer is 17.\nCheck: 10 + 7 = 17, and 2 more is 19.", "17"),
  ("answer: -3", "-3"),
  ("The ANSWER IS 0", "0"),
  ("The total is **42** apples shared by 3 friends.", "42"),
  ("The answer is: **56**", "56"),
  ("The answer is below.\n\n56", "56"),
  ("#### 5\nThe answer is 6", "5"),  # #### outranks an answer phrase
  ("50%", "50"),
  ("no number here", None),
  ("", None),
  ("The answer is unclear.", None),
  ("v2 of the model", None),  # a digit glued to a word is not a number
]


@pytest.mark.parametrize("text,expected", NUMBER_CASES)
def test_extract_number(text, expected):
  got = extract_number(text)
  assert (None if got is None else format_number(got)) == expected


@pytest.mark.parametrize(
  "text,reference,correct",
  [
    ("The answer is 1,234.", 1234, True),
    ("The answer is 1,234.", "1234", True),
    ("**42**", 42, True),
    ("42.0", 42, True),
    ("42.0", 42.0, True),
    ("42.01", 42, False),
    ("-7", 7, False),
    ("-7", -7, True),
    ("#### 42", "Some steps.\n#### 42", True),  # a GSM8K solution as the reference
    ("The answer is 41.", 42, False),
    ("There are 42 cookies", 42, True),
    ("no number", 42, False),
  ],
)
def test_check_number(text, reference, correct):
  v = check_number(text, reference)
  assert isinstance(v, Verdict)
  assert v.correct is correct
  assert bool(v.reason) is (not correct)


def test_check_number_reference_errors():
  with pytest.raises(ValueError, match="reference"):
    check_number("42", "forty-two")
  with pytest.raises(ValueError, match="reference"):
    check_number("42", True)
  with pytest.raises(TypeError, match="text"):
    extract_number(42)


ITEMS = ["wash", "dry", "fold", "iron"]
RULES = [("wash", "dry"), ("dry", "fold"), ("wash", "iron")]


@pytest.mark.parametrize(
  "text,correct,answer",
  [
    ("Answer: wash, dry, fold, iron", True, "wash, dry, fold, iron"),
    ("Answer: wash, iron, dry, fold", True, "wash, iron, dry, fold"),  # another valid order
    ("**Answer:** Wash, Dry, Iron, Fold.", True, "wash, dry, iron, fold"),
    (
      "We must wash first.\nThe order is:\nwash -> dry -> fold -> iron",
      True,
      "wash, dry, fold, iron",
    ),
    ("First dry, then wash...\nAnswer: wash, dry, fold, iron", True, "wash, dry, fold, iron"),
    ("\\boxed{wash, iron, dry, fold}", True, "wash, iron, dry, fold"),
    (
      "The order:\n1. wash\n2. dry\n3. fold\n4. iron",
      True,
      "wash, dry, fold, iron",
    ),  # one per line
    (
      "Steps: wash then dry.\n- Iron (after washing)\n- fold",
      False,
      "iron, fold",
    ),  # run of single-item lines
    ("Answer:\n1. wash\n2. iron\n3. dry\n4. fold", True, "wash, iron, dry, fold"),
    ("Answer: dry, wash, fold, iron", False, "dry, wash, fold, iron"),  # breaks wash < dry
    ("Answer: wash, dry, fold", False, "wash, dry, fold"),  # iron missing
    ("Answer: wash, dry, dry, fold, iron", False, "wash, dry, dry, fold, iron"),
    ("Answer: washing, dryer", False, None),  # not whole words
    ("I cannot do this.", False, None),
  ],
)
def test_check_order(text, correct, answer):
  v = check_order(text, ITEMS, RULES)
  assert v.correct is correct, v
  assert v.answer == answer


def test_check_order_reason_names_the_rule():
  v = check_order("Answer: dry, wash, fold, iron", ITEMS, RULES)
  assert "wash" in v.reason and "dry" in v.reason
  assert "missing" in check_order("Answer: wash, dry, fold", ITEMS, RULES).reason


def test_extract_order_last_line_without_marker():
  assert extract_order("dry wash\n\nwash, dry, fold, iron\n", ITEMS) == [
    "wash",
    "dry",
    "fold",
    "iron",
  ]
  assert extract_order("nothing", ITEMS) is None


def test_count_orders():
  assert count_orders(["a", "b", "c"], []) == 6
  assert count_orders(["a", "b", "c"], [("a", "b"), ("b", "c")]) == 1
  assert count_orders(ITEMS, RULES) == 3  # wash first; iron anywhere after wash


@pytest.mark.parametrize(
  "text,reference,correct",
  [
    ("The answer is Paris.", "paris", True),
    ("Answer: the Pacific Ocean", "Pacific Ocean", True),
    ("Let me think.\nParis", "Paris", True),
    ("Answer: Lyon", "Paris", False),
    ("", "Paris", False),
  ],
)
def test_check_text(text, reference, correct):
  assert check_text(text, reference).correct is correct


def test_dispatch_by_kind_and_meta():
  arith = Task("q", 5, kind="arithmetic")
  plan = Task(
    "q", "wash, dry, fold, iron", kind="planning", meta={"items": ITEMS, "constraints": RULES}
  )
  jnum = Task("q", "#### 12", kind="jsonl")
  jtxt = Task("q", "Paris", kind="jsonl")
  assert [checker_of(t) for t in (arith, plan, jnum, jtxt)] == ["number", "order", "number", "text"]
  assert check(arith, "The answer is 5").correct
  assert check(plan, "Answer: wash, iron, dry, fold").correct
  assert check(jnum, "so 12").correct
  assert check(jtxt, "Answer: paris").correct
  with pytest.raises(ValueError, match="checker"):
    checker_of(Task("q", 1, kind="jsonl", meta={"checker": "regex"}))
  with pytest.raises(ValueError, match="items"):
    check(Task("q", "a", kind="planning"), "a")
  assert format_number(Decimal("1E+2")) == "100"
