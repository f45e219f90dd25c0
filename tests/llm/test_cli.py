"""``dice-jax llm generate|logits`` (run in-process through :func:`dice_jax.cli.main`)."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest
import torch

from dice_jax.llm import load_tokenizer
from dice_jax.cli import main
from dice_jax.cli.llm import register
from tests.llm.reference import save_word_tokenizer


@pytest.fixture(scope="module")
def ckpt_with_tokenizer(tiny_checkpoints, tmp_path_factory):
  directory, ref = tiny_checkpoints["qwen2"]
  d = tmp_path_factory.mktemp("qwen2_tok")
  shutil.copytree(directory, d, dirs_exist_ok=True)
  save_word_tokenizer(str(d))
  return str(d), ref


def _run(capsys, argv):
  code = main(argv)
  out = capsys.readouterr()
  return code, out.out, out.err


def test_logits_json_equals_pytorch_last_row(ckpt_with_tokenizer, capsys):
  d, ref = ckpt_with_tokenizer
  code, out, _ = _run(
    capsys, ["llm", "logits", "--model", d, "--prompt", "what is the capital of france ?", "--json"]
  )
  assert code == 0
  rec = json.loads(out)
  assert (
    rec["prompt_token_ids"] == load_tokenizer(d)("what is the capital of france ?")["input_ids"]
  )
  with torch.no_grad():
    want = ref(torch.tensor([rec["prompt_token_ids"]])).logits[0, -1].numpy()
  assert len(rec["last_logits"]) == 97
  assert np.abs(np.array(rec["last_logits"]) - want).max() < 1e-4


def test_generate_json_greedy_chat_equals_transformers(ckpt_with_tokenizer, capsys):
  d, ref = ckpt_with_tokenizer
  code, out, _ = _run(
    capsys,
    [
      "llm",
      "generate",
      "--model",
      d,
      "--prompt",
      "hello world",
      "--chat",
      "--max-new-tokens",
      "12",
      "--greedy",
      "--json",
    ],
  )
  assert code == 0
  rec = json.loads(out)
  tok = load_tokenizer(d)
  assert (
    rec["prompt_token_ids"]
    == tok("user : hello world . assistant :", add_special_tokens=False)["input_ids"]
  )
  ids = torch.tensor([rec["prompt_token_ids"]])
  with torch.no_grad():
    full = ref.generate(
      input_ids=ids,
      attention_mask=torch.ones_like(ids),
      max_new_tokens=12,
      do_sample=False,
      eos_token_id=2,
      pad_token_id=0,
    )
  assert rec["token_ids"] == full[0, ids.shape[1] :].tolist()[: len(rec["token_ids"])]
  assert rec["num_generated"] == len(rec["token_ids"]) == len(rec["logprobs"])
  assert rec["text"] == tok.decode([t for t in rec["token_ids"] if t != 2])


def test_sampling_depends_on_seed(ckpt_with_tokenizer, capsys):
  d, _ = ckpt_with_tokenizer
  outs = []
  for seed in ("1", "1", "2"):
    code, out, _ = _run(
      capsys,
      [
        "llm",
        "generate",
        "--model",
        d,
        "--prompt",
        "the cat",
        "--max-new-tokens",
        "10",
        "--temperature",
        "2.0",
        "--seed",
        seed,
        "--json",
      ],
    )
    assert code == 0
    outs.append(json.loads(out)["token_ids"])
  assert outs[0] == outs[1] and outs[0] != outs[2]


def test_bad_model_path_exits_2_with_the_path(tmp_path, capsys):
  code, _, err = _run(
    capsys, ["llm", "logits", "--model", str(tmp_path / "missing"), "--prompt", "x"]
  )
  assert code == 2 and "missing" in err and err.startswith("dice-jax llm: error:")
  assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_register_adds_llm_subcommands():
  parser = argparse.ArgumentParser()
  register(parser.add_subparsers(dest="command"))
  args = parser.parse_args(["llm", "generate", "--model", "m", "--prompt", "p", "--greedy"])
  assert (args.command, args.llm_command, args.greedy, args.max_new_tokens) == (
    "llm",
    "generate",
    True,
    64,
  )
  with pytest.raises(SystemExit):
    parser.parse_args(["llm"])
