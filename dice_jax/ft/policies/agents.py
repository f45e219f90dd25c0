"""Several LoRA agents on one frozen base model, sharing its arrays without copies.

DICE-FT agents (DESIGN §7) differ only by their adapters and role prompts. With Flax NNX a
model splits into a graph definition and states (``nnx.split(model, ADAPTER, ...)``), and
``nnx.merge(graphdef, adapters_i, frozen)`` builds agent ``i``'s model around the *same* frozen
``jax.Array`` objects: the base weights are held once however many agents there are. The
training step (:func:`dice_jax.ft.ft_steps`) only writes the adapters and the optimizer state
back, so the sharing survives training.

Each agent's adapters are initialised as LoRA prescribes (Hu et al. 2021, arXiv:2106.09685):
``A`` random (He-uniform, an independent key per agent), ``B = 0``, so every agent starts as the
base model.
"""

from __future__ import annotations

from typing import List, Sequence, Union

import jax
import jax.numpy as jnp
from flax import nnx

from dice_jax.ft.policies.ft_step import split_adapters
from dice_jax.llm.lora import apply_lora, lora_modules

__all__ = ["shared_lora_agents", "shares_base"]


def _fresh_adapters(lora, key):
  leaves, treedef = jax.tree_util.tree_flatten_with_path(lora)
  init = nnx.initializers.he_uniform()
  out = []
  for n, (path, leaf) in enumerate(leaves):
    name = "/".join(str(getattr(p, "key", getattr(p, "name", p))) for p in path)
    if "lora_a" in name:
      out.append(init(jax.random.fold_in(key, n), leaf.shape, leaf.dtype))
    else:
      out.append(jnp.zeros_like(leaf))
  return jax.tree_util.tree_unflatten(treedef, out)


def shared_lora_agents(
  model,
  num_agents: int,
  *,
  rank: int = 8,
  alpha: float = 16.0,
  targets: Union[Sequence[str], str] = ("q_proj", "v_proj"),
  seed: int = 0,
  use_rslora: bool = False,
) -> List[nnx.Module]:
  """``num_agents`` models with their own LoRA adapters around ``model``'s frozen weights.

  Args:
    model: an NNX causal LM. Adapters are applied to it in place (it becomes agent 0) unless it
      already carries some (then their rank/targets are kept and the arguments below ignored).
    num_agents: ``>= 1``.
    rank, alpha, targets, use_rslora: as :func:`dice_jax.llm.apply_lora`.
    seed: agent ``i``'s ``A`` matrices come from ``seed + i``.

  Returns:
    The agents' models; ``shares_base(agents[i], agents[j])`` holds for every pair.

  Raises:
    ValueError: ``num_agents`` is not a positive integer.

  Example::

      agents = shared_lora_agents(model, 2, rank=8, alpha=16.0, targets=("q_proj", "v_proj"))
  """
  if isinstance(num_agents, bool) or int(num_agents) != num_agents or num_agents < 1:
    raise ValueError(f"num_agents must be a positive integer; got {num_agents!r}.")
  if not lora_modules(model):
    apply_lora(
      model, rank=rank, alpha=alpha, targets=targets, rngs=nnx.Rngs(seed), use_rslora=use_rslora
    )
  graphdef, lora, frozen = split_adapters(model)
  agents = [model]
  for i in range(1, int(num_agents)):
    agents.append(nnx.merge(graphdef, _fresh_adapters(lora, jax.random.key(seed + i)), frozen))
  return agents


def shares_base(a, b) -> bool:
  """True when every frozen (non-adapter) array of ``a`` is the very same object in ``b``."""
  ga, _, fa = split_adapters(a)
  gb, _, fb = split_adapters(b)
  la, lb = jax.tree_util.tree_leaves(fa), jax.tree_util.tree_leaves(fb)
  return ga == gb and len(la) == len(lb) and all(x is y for x, y in zip(la, lb))
