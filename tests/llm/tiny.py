"""One tiny random llama configuration shared by the tests that need a model but not a family's
details (DICE-FT, the rollout sampler): built in well under a second, compiled quickly."""

from dice_jax.llm import LMConfig, RopeConfig

TINY_LLAMA = LMConfig(
  family="llama",
  model_type="llama",
  vocab_size=32,
  hidden_size=16,
  intermediate_size=32,
  num_layers=1,
  num_heads=2,
  num_kv_heads=1,
  head_dim=8,
  max_position_embeddings=64,
  norm_eps=1e-5,
  rope=RopeConfig(),
)
