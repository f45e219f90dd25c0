"""What one DICE-FT iteration asks each agent's policy to become: mirror target and advantages."""

from dice_jax.ft.target.advantages import joint_advantages, normal_form_advantages
from dice_jax.ft.target.mirror_target import masked_log_softmax, mirror_target

__all__ = ["joint_advantages", "masked_log_softmax", "mirror_target", "normal_form_advantages"]
